"""Append-only SQLite ledger of intents, order updates, fills, funding, balances, risk events and snapshots.

Writes never block the event loop: ``record_*`` only enqueue a row; one writer thread owns the write
connection, batches rows into transactions (WAL, ``synchronous=NORMAL``) and commits. Rows are never
updated or deleted (SQL triggers refuse it). Fills are de-duplicated by ``(symbol, trade_id)`` and funding
by its reference, so replaying the same facts after a restart (REST backfill) never double counts.
Readers open their own connections (``LedgerReader``), from any thread or process.
"""

from __future__ import annotations

import contextlib
import json
import queue
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from phoenix.core.types import (
    Action,
    CancelAll,
    CancelOrder,
    Fill,
    Flatten,
    ModifyOrder,
    OrderUpdated,
    PlaceOrder,
    SymbolFilters,
)
from phoenix.errors import StateError

LEDGER_FILE_NAME = "ledger.sqlite3"
SCHEMA_VERSION = 1

_APPEND_ONLY_TABLES = (
    "runs",
    "intents",
    "order_updates",
    "fills",
    "funding",
    "balances",
    "risk_events",
    "snapshots",
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY, started_ns INTEGER NOT NULL, pid INTEGER NOT NULL, venue TEXT NOT NULL,
    symbols TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS intents (
    id INTEGER PRIMARY KEY, run_id INTEGER NOT NULL, ts_ns INTEGER NOT NULL, kind TEXT NOT NULL,
    symbol TEXT NOT NULL, client_order_id TEXT, side TEXT, price_ticks INTEGER, qty_steps INTEGER,
    order_type TEXT, time_in_force TEXT, reduce_only INTEGER, layer INTEGER, reason TEXT
);
CREATE INDEX IF NOT EXISTS intents_coid ON intents (client_order_id);
CREATE TABLE IF NOT EXISTS order_updates (
    id INTEGER PRIMARY KEY, run_id INTEGER NOT NULL, ts_ns INTEGER NOT NULL, symbol TEXT NOT NULL,
    client_order_id TEXT NOT NULL, exchange_order_id INTEGER, status TEXT NOT NULL, side TEXT NOT NULL,
    price_ticks INTEGER NOT NULL, qty_steps INTEGER NOT NULL, filled_steps INTEGER NOT NULL,
    error_code INTEGER
);
CREATE INDEX IF NOT EXISTS order_updates_coid ON order_updates (client_order_id);
CREATE TABLE IF NOT EXISTS fills (
    id INTEGER PRIMARY KEY, run_id INTEGER NOT NULL, ts_ns INTEGER NOT NULL, symbol TEXT NOT NULL,
    client_order_id TEXT NOT NULL, trade_id INTEGER NOT NULL, side TEXT NOT NULL,
    price_ticks INTEGER NOT NULL, qty_steps INTEGER NOT NULL, price REAL NOT NULL, qty REAL NOT NULL,
    maker INTEGER NOT NULL, fee_usdc REAL NOT NULL, realized_pnl_usdc REAL NOT NULL, source TEXT NOT NULL,
    UNIQUE (symbol, trade_id)
);
CREATE TABLE IF NOT EXISTS funding (
    id INTEGER PRIMARY KEY, run_id INTEGER NOT NULL, ts_ns INTEGER NOT NULL, symbol TEXT NOT NULL,
    amount_usdc REAL NOT NULL, ref TEXT NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS balances (
    id INTEGER PRIMARY KEY, run_id INTEGER NOT NULL, ts_ns INTEGER NOT NULL, wallet_usdc REAL NOT NULL,
    reason TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS risk_events (
    id INTEGER PRIMARY KEY, run_id INTEGER NOT NULL, ts_ns INTEGER NOT NULL, symbol TEXT NOT NULL,
    kind TEXT NOT NULL, detail TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS snapshots (
    id INTEGER PRIMARY KEY, run_id INTEGER NOT NULL, ts_ns INTEGER NOT NULL, data TEXT NOT NULL
);
"""


def _append_only_triggers() -> str:
    parts = []
    for table in _APPEND_ONLY_TABLES:
        for op in ("UPDATE", "DELETE"):
            parts.append(
                f"CREATE TRIGGER IF NOT EXISTS {table}_no_{op.lower()} BEFORE {op} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END;"
            )
    return "\n".join(parts)


def _connect(path: Path, *, readonly: bool = False) -> sqlite3.Connection:
    if readonly:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10.0, check_same_thread=False)
    else:
        conn = sqlite3.connect(path, timeout=10.0, check_same_thread=False, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA busy_timeout=10000")
    return conn


def init_schema(path: Path) -> None:
    """Create the ledger file and its schema if needed (idempotent)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = _connect(path)
    try:
        conn.executescript(_SCHEMA + _append_only_triggers())
        row = conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        if row is None:
            conn.execute("INSERT INTO meta (key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
        elif int(row[0]) != SCHEMA_VERSION:
            raise StateError(f"ledger {path} has schema version {row[0]}, expected {SCHEMA_VERSION}")
    finally:
        conn.close()


@dataclass(frozen=True, slots=True)
class _Flush:
    done: threading.Event


_STOP = object()
_Row = tuple[str, tuple[Any, ...]]


class Ledger:
    """Writer side of the ledger: ``record_*`` enqueue rows for a background thread (non-blocking).

    Args:
        path: SQLite file (created with its schema if missing).
        venue: Label stored in the ``runs`` row of this process.
        symbols: Symbols of this run (stored in the ``runs`` row).
        started_ns: Start time of this run (wall clock ns, from the driver).
        pid: Process id stored with the run.
    """

    def __init__(
        self, path: str | Path, *, venue: str, symbols: Sequence[str], started_ns: int, pid: int
    ) -> None:
        self.path = Path(path)
        init_schema(self.path)
        conn = _connect(self.path)
        try:
            cur = conn.execute(
                "INSERT INTO runs (started_ns, pid, venue, symbols) VALUES (?, ?, ?, ?)",
                (started_ns, pid, venue, ",".join(symbols)),
            )
            run_id = cur.lastrowid
        finally:
            conn.close()
        if run_id is None:
            raise StateError(f"could not create a run row in {self.path}")
        self.run_id: int = run_id
        self._queue: queue.SimpleQueue[_Row | _Flush | object] = queue.SimpleQueue()
        self._error: BaseException | None = None
        self.rows_written = 0
        self._thread = threading.Thread(target=self._writer, name="ledger-writer", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------ writer thread

    def _writer(self) -> None:
        conn = _connect(self.path)
        try:
            while True:
                item = self._queue.get()
                batch: list[_Row] = []
                flushes: list[_Flush] = []
                stop = False
                while True:
                    if item is _STOP:
                        stop = True
                    elif isinstance(item, _Flush):
                        flushes.append(item)
                    elif isinstance(item, tuple):
                        batch.append(item)
                    if stop or len(batch) >= 500:
                        break
                    try:
                        item = self._queue.get_nowait()
                    except queue.Empty:
                        break
                if batch:
                    self._write_batch(conn, batch)
                for f in flushes:
                    f.done.set()
                if stop:
                    return
        finally:
            conn.close()

    def _write_batch(self, conn: sqlite3.Connection, batch: list[_Row]) -> None:
        try:
            conn.execute("BEGIN")
            for sql, params in batch:
                conn.execute(sql, params)
            conn.execute("COMMIT")
            self.rows_written += len(batch)
        except sqlite3.Error as exc:  # keep the thread alive; surface the error to the driver
            self._error = exc
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")

    def _put(self, sql: str, params: tuple[Any, ...]) -> None:
        self._queue.put((sql, params))

    @property
    def error(self) -> BaseException | None:
        """The last write error of the writer thread, if any (the driver should alert and halt)."""
        return self._error

    def flush(self, timeout_s: float = 10.0) -> bool:
        """Block until every row enqueued so far is committed; False on timeout. Not for the hot path."""
        done = threading.Event()
        self._queue.put(_Flush(done))
        return done.wait(timeout_s)

    def close(self, timeout_s: float = 10.0) -> None:
        """Flush and stop the writer thread."""
        if not self._thread.is_alive():
            return
        self._queue.put(_STOP)
        self._thread.join(timeout_s)

    # ------------------------------------------------------------------ records

    def record_action(self, action: Action, ts_ns: int) -> None:
        """Journal an intent before it is sent (place / cancel / modify / cancel-all / flatten)."""
        sql = (
            "INSERT INTO intents (run_id, ts_ns, kind, symbol, client_order_id, side, price_ticks, qty_steps,"
            " order_type, time_in_force, reduce_only, layer, reason) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)"
        )
        rid = self.run_id
        if isinstance(action, PlaceOrder):
            params: tuple[Any, ...] = (
                rid,
                ts_ns,
                "place",
                action.symbol,
                action.client_order_id,
                action.side.value,
                action.price_ticks,
                action.qty_steps,
                action.order_type.value,
                action.time_in_force.value,
                int(action.reduce_only),
                action.layer,
                None,
            )
        elif isinstance(action, CancelOrder):
            params = (rid, ts_ns, "cancel", action.symbol, action.client_order_id) + (None,) * 8
        elif isinstance(action, ModifyOrder):
            params = (
                rid,
                ts_ns,
                "modify",
                action.symbol,
                action.client_order_id,
                action.side.value,
                action.price_ticks,
                action.qty_steps,
                None,
                None,
                None,
                None,
                None,
            )
        elif isinstance(action, CancelAll):
            params = (rid, ts_ns, "cancel_all", action.symbol) + (None,) * 8 + (action.reason,)
        elif isinstance(action, Flatten):
            params = (rid, ts_ns, "flatten", action.symbol) + (None,) * 8 + (action.reason,)
        else:  # pragma: no cover - exhaustive over Action
            raise TypeError(f"not an action: {action!r}")
        self._put(sql, params)

    def record_order_update(self, update: OrderUpdated) -> None:
        """Journal an exchange-reported (or driver-derived) own-order state."""
        self._put(
            "INSERT INTO order_updates (run_id, ts_ns, symbol, client_order_id, exchange_order_id, status,"
            " side, price_ticks, qty_steps, filled_steps, error_code) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (
                self.run_id,
                update.ts_ns,
                update.symbol,
                update.client_order_id,
                update.exchange_order_id,
                update.status.value,
                update.side.value,
                update.price_ticks,
                update.qty_steps,
                update.filled_steps,
                update.error_code,
            ),
        )

    def record_fill(self, fill: Fill, filters: SymbolFilters, source: str = "stream") -> None:
        """Journal a fill (ignored if its ``(symbol, trade_id)`` is already recorded)."""
        self._put(
            "INSERT OR IGNORE INTO fills (run_id, ts_ns, symbol, client_order_id, trade_id, side,"
            " price_ticks, qty_steps, price, qty, maker, fee_usdc, realized_pnl_usdc, source)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                self.run_id,
                fill.ts_ns,
                fill.symbol,
                fill.client_order_id,
                fill.trade_id,
                fill.side.value,
                fill.price_ticks,
                fill.qty_steps,
                filters.ticks_to_price(fill.price_ticks),
                filters.steps_to_qty(fill.qty_steps),
                int(fill.maker),
                fill.fee_usdc,
                fill.realized_pnl_usdc,
                source,
            ),
        )

    def record_funding(self, symbol: str, ts_ns: int, amount_usdc: float, ref: str | None = None) -> None:
        """Journal a funding payment (positive = received); de-duplicated by ``ref``."""
        self._put(
            "INSERT OR IGNORE INTO funding (run_id, ts_ns, symbol, amount_usdc, ref) VALUES (?,?,?,?,?)",
            (self.run_id, ts_ns, symbol, amount_usdc, ref or f"{symbol}:{ts_ns}"),
        )

    def record_balance(self, ts_ns: int, wallet_usdc: float, reason: str) -> None:
        """Journal the wallet balance reported by the exchange."""
        self._put(
            "INSERT INTO balances (run_id, ts_ns, wallet_usdc, reason) VALUES (?,?,?,?)",
            (self.run_id, ts_ns, wallet_usdc, reason),
        )

    def record_risk_event(self, ts_ns: int, symbol: str, kind: str, detail: dict[str, Any]) -> None:
        """Journal a risk event (state change, halt, stop-loss, mismatch, stale data...)."""
        self._put(
            "INSERT INTO risk_events (run_id, ts_ns, symbol, kind, detail) VALUES (?,?,?,?,?)",
            (self.run_id, ts_ns, symbol, kind, json.dumps(detail, default=str, sort_keys=True)),
        )

    def record_snapshot(self, ts_ns: int, data: dict[str, Any]) -> None:
        """Store a state snapshot (JSON) for recovery."""
        self._put(
            "INSERT INTO snapshots (run_id, ts_ns, data) VALUES (?,?,?)",
            (self.run_id, ts_ns, json.dumps(data, default=str)),
        )


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True, slots=True)
class FillRow:
    """One recorded fill."""

    ts_ns: int
    symbol: str
    client_order_id: str
    trade_id: int
    side: str
    price: float
    qty: float
    maker: bool
    fee_usdc: float
    realized_pnl_usdc: float


@dataclass(frozen=True, slots=True)
class BalanceRow:
    """One recorded wallet balance."""

    ts_ns: int
    wallet_usdc: float
    reason: str


class LedgerReader:
    """Read-only queries over a ledger file (safe while a writer is running: WAL)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.exists():
            raise StateError(f"no ledger at {self.path}")
        self._conn = _connect(self.path, readonly=True)

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()

    def __enter__(self) -> LedgerReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _all(self, sql: str, params: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
        return list(self._conn.execute(sql, tuple(params)).fetchall())

    def fills(
        self, symbol: str | None = None, since_ns: int = 0, until_ns: int | None = None
    ) -> list[FillRow]:
        """Fills in time order, optionally for one symbol and a ``[since_ns, until_ns]`` window."""
        sql = (
            "SELECT ts_ns, symbol, client_order_id, trade_id, side, price, qty, maker, fee_usdc,"
            " realized_pnl_usdc FROM fills WHERE ts_ns >= ?"
        )
        params: list[Any] = [since_ns]
        if until_ns is not None:
            sql += " AND ts_ns <= ?"
            params.append(until_ns)
        if symbol is not None:
            sql += " AND symbol = ?"
            params.append(symbol)
        rows = self._all(sql + " ORDER BY ts_ns, id", params)
        return [FillRow(r[0], r[1], r[2], r[3], r[4], r[5], r[6], bool(r[7]), r[8], r[9]) for r in rows]

    def funding(self, since_ns: int = 0, until_ns: int | None = None) -> list[tuple[int, str, float]]:
        """Funding payments ``(ts_ns, symbol, amount_usdc)`` in time order."""
        sql = "SELECT ts_ns, symbol, amount_usdc FROM funding WHERE ts_ns >= ?"
        params: list[Any] = [since_ns]
        if until_ns is not None:
            sql += " AND ts_ns <= ?"
            params.append(until_ns)
        return [(int(r[0]), str(r[1]), float(r[2])) for r in self._all(sql + " ORDER BY ts_ns, id", params)]

    def balances(self) -> list[BalanceRow]:
        """Recorded wallet balances in time order."""
        rows = self._all("SELECT ts_ns, wallet_usdc, reason FROM balances ORDER BY ts_ns, id")
        return [BalanceRow(int(r[0]), float(r[1]), str(r[2])) for r in rows]

    def placed_order_ids(self, symbol: str | None = None) -> list[str]:
        """Client order ids of every journalled place intent, in journal order (duplicates kept)."""
        sql = "SELECT client_order_id FROM intents WHERE kind='place'"
        params: list[Any] = []
        if symbol is not None:
            sql += " AND symbol = ?"
            params.append(symbol)
        return [str(r[0]) for r in self._all(sql + " ORDER BY id", params)]

    def placed_orders(self) -> list[tuple[str, str]]:
        """``(client_order_id, symbol)`` of every journalled place intent."""
        rows = self._all("SELECT client_order_id, symbol FROM intents WHERE kind='place' ORDER BY id")
        return [(str(r[0]), str(r[1])) for r in rows]

    def count_intents(self, kind: str, symbol: str | None = None) -> int:
        """Number of journalled intents of one kind (``place``, ``cancel``, ``modify``...)."""
        sql = "SELECT COUNT(*) FROM intents WHERE kind = ?"
        params: list[Any] = [kind]
        if symbol is not None:
            sql += " AND symbol = ?"
            params.append(symbol)
        return int(self._all(sql, params)[0][0])

    def last_order_states(self) -> dict[str, tuple[str, str]]:
        """Latest journalled status per client order id: ``{coid: (symbol, status)}``."""
        rows = self._all(
            "SELECT client_order_id, symbol, status FROM order_updates WHERE id IN"
            " (SELECT MAX(id) FROM order_updates GROUP BY client_order_id)"
        )
        return {str(r[0]): (str(r[1]), str(r[2])) for r in rows}

    def last_fill_ts_ns(self, symbol: str) -> int:
        """Time of the newest recorded fill of ``symbol`` (0 if none)."""
        row = self._all("SELECT MAX(ts_ns) FROM fills WHERE symbol = ?", (symbol,))[0]
        return int(row[0]) if row[0] is not None else 0

    def latest_snapshot(self) -> tuple[int, dict[str, Any]] | None:
        """The newest snapshot ``(ts_ns, data)``, if any."""
        rows = self._all("SELECT ts_ns, data FROM snapshots ORDER BY id DESC LIMIT 1")
        if not rows:
            return None
        return int(rows[0][0]), json.loads(rows[0][1])

    def risk_events(self, kind: str | None = None) -> list[tuple[int, str, str, dict[str, Any]]]:
        """Risk events ``(ts_ns, symbol, kind, detail)`` in time order."""
        sql = "SELECT ts_ns, symbol, kind, detail FROM risk_events"
        params: list[Any] = []
        if kind is not None:
            sql += " WHERE kind = ?"
            params.append(kind)
        rows = self._all(sql + " ORDER BY id", params)
        return [(int(r[0]), str(r[1]), str(r[2]), json.loads(r[3])) for r in rows]

    def first_run_started_ns(self) -> int:
        """Start time of the first recorded run (0 if none)."""
        row = self._all("SELECT MIN(started_ns) FROM runs")[0]
        return int(row[0]) if row[0] is not None else 0

    def run_count(self) -> int:
        """Number of runs (process starts) recorded."""
        return int(self._all("SELECT COUNT(*) FROM runs")[0][0])
