"""Data loaders: every supported file becomes a time-ordered stream of ``feeds.FeedEvent``, streamed.

Formats (``open_data`` detects them):
- Binance raw WebSocket recording (hftbacktest ``.dat.gz``): ``phoenix.exchange.sim.feeds.RecordedFeed``.
- Mid-only CSV with ``ts`` and ``mid`` columns (e.g. the ETHUSDC file): ``feeds.MidCsvFeed``.
- Mid-only CSV without timestamps (``mid`` column, else the first column): one row per
  ``mid_interval_ms``, through the same synthetic book as ``MidCsvFeed``.
- Tardis.dev CSV exports (optionally ``.gz``): ``incremental_book_L2``, ``trades``, ``quotes``,
  ``derivative_ticker`` (recognised by their header).
- Parquet files holding the same columns as one of those Tardis exports (read in batches with pyarrow).
Tardis timestamps are µs since the epoch (exchange time ``timestamp``); events carry ms.
"""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from phoenix.core.types import Side, SymbolFilters
from phoenix.exchange.sim.feeds import (
    FeedDelta,
    FeedEvent,
    FeedMarkPrice,
    FeedSnapshot,
    FeedTrade,
    MidCsvFeed,
    RecordedFeed,
    _diff,
    next_funding_after,
)

TARDIS_L2 = ("timestamp", "is_snapshot", "side", "price", "amount")
TARDIS_TRADES = ("timestamp", "side", "price", "amount")
TARDIS_QUOTES = ("timestamp", "ask_amount", "ask_price", "bid_price", "bid_amount")
TARDIS_TICKER = ("timestamp", "funding_timestamp", "funding_rate", "mark_price", "index_price")


def _open_text(path: Path) -> io.TextIOBase:
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8", newline="")
    return path.open("r", encoding="utf-8", newline="")


def _first_line(path: Path) -> str:
    with _open_text(path) as fh:
        return fh.readline()


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "t", "yes")
    return bool(value)


def _kind_of(columns: Sequence[str]) -> str | None:
    cols = set(columns)
    if {"is_snapshot", "side", "price", "amount"} <= cols:
        return "l2"
    if {"ask_price", "bid_price", "ask_amount", "bid_amount"} <= cols:
        return "quotes"
    if {"side", "price", "amount"} <= cols:
        return "trades"
    if {"mark_price", "funding_rate"} <= cols:
        return "ticker"
    return None


_COLUMNS = {"l2": TARDIS_L2, "trades": TARDIS_TRADES, "quotes": TARDIS_QUOTES, "ticker": TARDIS_TICKER}


# --------------------------------------------------------------------------- row → event converters


def _l2_events(rows: Iterable[Sequence[Any]], symbol: str, filters: SymbolFilters) -> Iterator[FeedEvent]:
    """incremental_book_L2 rows (ts_us, is_snapshot, side, price, amount), grouped by timestamp."""
    inv_tick = 1.0 / filters.tick
    snap_b: dict[int, float] = {}
    snap_a: dict[int, float] = {}
    in_snapshot = False
    cur_ts = -1
    bids: list[tuple[int, float]] = []
    asks: list[tuple[int, float]] = []

    def flush_delta() -> FeedDelta | None:
        if not bids and not asks:
            return None
        ev = FeedDelta(symbol, cur_ts, tuple(bids), tuple(asks))
        bids.clear()
        asks.clear()
        return ev

    def flush_snapshot() -> FeedSnapshot:
        ev = FeedSnapshot(
            symbol,
            cur_ts,
            tuple(sorted(snap_b.items(), reverse=True)),
            tuple(sorted(snap_a.items())),
        )
        snap_b.clear()
        snap_a.clear()
        return ev

    for ts_raw, snap_raw, side_raw, price_raw, amount_raw in rows:
        ts = int(ts_raw) // 1000
        is_snap = _truthy(snap_raw)
        price = round(float(price_raw) * inv_tick)
        qty = float(amount_raw)
        is_bid = str(side_raw).lower() in ("bid", "buy", "b")
        if is_snap:
            if not in_snapshot:
                d = flush_delta()
                if d is not None:
                    yield d
                in_snapshot = True
            cur_ts = max(cur_ts, ts)
            if qty > 0:
                (snap_b if is_bid else snap_a)[price] = qty
            continue
        if in_snapshot:
            yield flush_snapshot()
            in_snapshot = False
        if ts != cur_ts:
            d = flush_delta()
            if d is not None:
                yield d
            cur_ts = max(cur_ts, ts)
        (bids if is_bid else asks).append((price, qty))
    if in_snapshot:
        yield flush_snapshot()
    d = flush_delta()
    if d is not None:
        yield d


def _trade_events(rows: Iterable[Sequence[Any]], symbol: str, filters: SymbolFilters) -> Iterator[FeedEvent]:
    """trades rows (ts_us, side = taker side, price, amount); trades of unknown side are skipped."""
    inv_tick = 1.0 / filters.tick
    for ts_raw, side_raw, price_raw, amount_raw in rows:
        side = str(side_raw).lower()
        if side not in ("buy", "sell"):
            continue
        yield FeedTrade(
            symbol,
            int(ts_raw) // 1000,
            round(float(price_raw) * inv_tick),
            float(amount_raw),
            Side.BUY if side == "buy" else Side.SELL,
        )


def _quote_events(rows: Iterable[Sequence[Any]], symbol: str, filters: SymbolFilters) -> Iterator[FeedEvent]:
    """quotes rows (ts_us, ask_amount, ask_price, bid_price, bid_amount) → one-level snapshots on change."""
    inv_tick = 1.0 / filters.tick
    last: tuple[int, float, int, float] | None = None
    for ts_raw, ask_amt, ask_px, bid_px, bid_amt in rows:
        if ask_px in ("", None) or bid_px in ("", None):
            continue
        cur = (
            round(float(bid_px) * inv_tick),
            float(bid_amt or 0.0),
            round(float(ask_px) * inv_tick),
            float(ask_amt or 0.0),
        )
        if cur == last or cur[0] >= cur[2]:
            continue
        last = cur
        yield FeedSnapshot(symbol, int(ts_raw) // 1000, ((cur[0], cur[1]),), ((cur[2], cur[3]),))


def _ticker_events(rows: Iterable[Sequence[Any]], symbol: str, filters: SymbolFilters) -> Iterator[FeedEvent]:
    """derivative_ticker rows (ts_us, funding_timestamp_us, funding_rate, mark_price, index_price)."""
    for ts_raw, fts_raw, rate_raw, mark_raw, index_raw in rows:
        if mark_raw in ("", None):
            continue
        ts = int(ts_raw) // 1000
        mark = float(mark_raw)
        fts = int(fts_raw) // 1000 if fts_raw not in ("", None) else next_funding_after(ts)
        yield FeedMarkPrice(
            symbol,
            ts,
            mark,
            float(index_raw) if index_raw not in ("", None) else mark,
            float(rate_raw) if rate_raw not in ("", None) else 0.0,
            fts,
        )


_CONVERTERS = {"l2": _l2_events, "trades": _trade_events, "quotes": _quote_events, "ticker": _ticker_events}


# --------------------------------------------------------------------------- file readers


class TardisCsvFeed:
    """A Tardis.dev CSV export (``.csv`` or ``.csv.gz``), streamed row by row.

    Args:
        path: The file.
        filters: Filters of the symbol the rows are replayed as.
        symbol: Only rows of this recorded symbol (None = all rows); events are named ``filters.symbol``.
    """

    def __init__(self, path: Path, filters: SymbolFilters, symbol: str | None = None) -> None:
        self.path = Path(path)
        self.filters = filters
        self.recorded_symbol = symbol
        header = next(csv.reader([_first_line(self.path)]), [])
        kind = _kind_of(header)
        if kind is None:
            raise ValueError(f"{self.path}: not a Tardis export (columns {header})")
        self.kind = kind

    def _rows(self) -> Iterator[tuple[Any, ...]]:
        with _open_text(self.path) as fh:
            reader = csv.reader(fh)
            header = next(reader)
            idx = [header.index(c) if c in header else -1 for c in _COLUMNS[self.kind]]
            sym_i = header.index("symbol") if "symbol" in header else -1
            want = self.recorded_symbol.upper() if self.recorded_symbol else None
            for row in reader:
                if not row:
                    continue
                if want is not None and sym_i >= 0 and row[sym_i].upper() != want:
                    continue
                yield tuple(row[i] if i >= 0 else "" for i in idx)

    def __iter__(self) -> Iterator[FeedEvent]:
        return _CONVERTERS[self.kind](self._rows(), self.filters.symbol, self.filters)


class ParquetFeed:
    """A Parquet file with the columns of a Tardis export, read in record batches (pyarrow).

    Args:
        path: The file.
        filters: Filters of the symbol the rows are replayed as.
        symbol: Only rows of this recorded symbol (None = all rows).
        batch_rows: Rows per batch (memory bound).
    """

    def __init__(
        self, path: Path, filters: SymbolFilters, symbol: str | None = None, batch_rows: int = 65_536
    ) -> None:
        import pyarrow.parquet as pq  # type: ignore[import-untyped]

        self.path = Path(path)
        self.filters = filters
        self.recorded_symbol = symbol
        self.batch_rows = batch_rows
        names = pq.ParquetFile(self.path).schema_arrow.names
        kind = _kind_of(names)
        if kind is None:
            raise ValueError(f"{self.path}: Parquet columns {names} match no supported layout")
        self.kind = kind
        self._has_symbol = "symbol" in names

    def _rows(self) -> Iterator[tuple[Any, ...]]:
        import pyarrow.parquet as pq

        wanted = list(_COLUMNS[self.kind])
        pf = pq.ParquetFile(self.path)
        present = set(pf.schema_arrow.names)
        cols = [c for c in wanted if c in present]
        if self._has_symbol and self.recorded_symbol:
            cols.append("symbol")
        want = self.recorded_symbol.upper() if self.recorded_symbol else None
        for batch in pf.iter_batches(batch_size=self.batch_rows, columns=cols):
            data = {name: batch.column(name).to_pylist() for name in cols}
            n = batch.num_rows
            columns = [data.get(c, [""] * n) for c in wanted]
            syms = data.get("symbol") if want is not None else None
            for i, row in enumerate(zip(*columns, strict=True)):
                if syms is not None and str(syms[i]).upper() != want:
                    continue
                yield _normalise_ts(row)

    def __iter__(self) -> Iterator[FeedEvent]:
        return _CONVERTERS[self.kind](self._rows(), self.filters.symbol, self.filters)


def _normalise_ts(row: tuple[Any, ...]) -> tuple[Any, ...]:
    # Parquet may store timestamps as datetime; convert to µs since the epoch
    ts = row[0]
    if hasattr(ts, "timestamp"):
        return (int(ts.timestamp() * 1_000_000), *row[1:])
    return row


class MidColumnFeed:
    """Mid-only CSV without timestamps: the ``mid`` column (else the first), one row every ``interval_ms``.

    The book around each mid is the same synthetic one ``MidCsvFeed`` builds (1 tick wide when the mid
    sits on a half tick).
    """

    def __init__(
        self,
        path: Path,
        filters: SymbolFilters,
        *,
        interval_ms: int = 1000,
        start_ms: int = 1_700_000_000_000,
        funding_rate: float = 0.0001,
    ) -> None:
        self.path = Path(path)
        self.filters = filters
        self.interval_ms = interval_ms
        self.start_ms = start_ms
        self._shape = MidCsvFeed(path, filters, funding_rate=funding_rate)

    def __iter__(self) -> Iterator[FeedEvent]:
        sym = self.filters.symbol
        bids: dict[int, float] = {}
        asks: dict[int, float] = {}
        last_mid = -1.0
        ts = self.start_ms
        col = 0
        with _open_text(self.path) as fh:
            for n, row in enumerate(csv.reader(fh)):
                if not row:
                    continue
                if n == 0:
                    try:
                        float(row[0])
                    except ValueError:
                        col = row.index("mid") if "mid" in row else 0
                        continue
                mid = float(row[col])
                if mid > 0 and mid != last_mid:
                    new_b, new_a = self._shape._book(mid)
                    if last_mid < 0:
                        yield FeedSnapshot(
                            sym, ts, tuple(sorted(new_b.items(), reverse=True)), tuple(sorted(new_a.items()))
                        )
                    else:
                        yield FeedDelta(sym, ts, _diff(bids, new_b), _diff(asks, new_a))
                    bids, asks, last_mid = new_b, new_a, mid
                if mid > 0:
                    yield FeedMarkPrice(sym, ts, mid, mid, self._shape.funding_rate, next_funding_after(ts))
                ts += self.interval_ms


def detect_format(path: Path) -> str:
    """``recording``, ``mid_csv``, ``mid_column``, ``tardis_csv`` or ``parquet``."""
    name = path.name.lower()
    if name.endswith(".parquet") or name.endswith(".pq"):
        return "parquet"
    if name.endswith(".dat.gz") or name.endswith(".dat"):
        return "recording"
    line = _first_line(path).strip()
    if line[:1].isdigit() and " {" in line:
        return "recording"
    header = next(csv.reader([line]), [])
    if _kind_of(header) is not None:
        return "tardis_csv"
    if "ts" in header and "mid" in header:
        return "mid_csv"
    return "mid_column"


def open_data(
    path: Path | str,
    filters: SymbolFilters,
    *,
    recorded_symbol: str | None = None,
    mid_interval_ms: int = 1000,
) -> Iterable[FeedEvent]:
    """A streamed feed of ``path`` with prices on ``filters``' grid and events named ``filters.symbol``.

    ``recorded_symbol`` restricts multi-symbol files (recordings, Tardis exports) to that symbol.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"data file not found: {path}")
    fmt = detect_format(path)
    if fmt == "recording":
        if recorded_symbol is None:
            return RecordedFeed(path, filters)
        return RecordedFeed(path, filters, {recorded_symbol.upper(): filters.symbol})
    if fmt == "mid_csv":
        return MidCsvFeed(path, filters)
    if fmt == "tardis_csv":
        return TardisCsvFeed(path, filters, recorded_symbol)
    if fmt == "parquet":
        return ParquetFeed(path, filters, recorded_symbol)
    return MidColumnFeed(path, filters, interval_ms=mid_interval_ms)


def is_mid_only(path: Path | str) -> bool:
    """True for data without sizes or trades (mid CSVs): such data needs the intensity fill model."""
    return detect_format(Path(path)) in ("mid_csv", "mid_column")
