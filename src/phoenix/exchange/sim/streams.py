"""Market streams of the simulator: connections, subscriptions, routing and depth aggregation.

One :class:`StreamConnection` per WebSocket (raw ``/…/ws/<stream>``, combined ``/…/stream?streams=``,
live ``SUBSCRIBE``); frames go through a per-connection queue drained by a writer task, which is where
freeze and latency faults act. Depth diffs from the engine are merged per (symbol, cadence) window:
``U`` = first id, ``u`` = last id, ``pu`` = the engine's ``pu`` of the first diff, i.e. the ``u`` of the
previous window of the same stream — so a client following Binance's sync rules reproduces the book.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import orjson
from aiohttp import WSMsgType, web

from phoenix.core.types import SymbolFilters
from phoenix.exchange.sim import wire
from phoenix.exchange.sim.faults import FaultInjector
from phoenix.exchange.sim.sim_types import (
    BookTickerPublished,
    DepthDiffPublished,
    DepthView,
    MarkPricePublished,
    TradePublished,
)

MAX_QUEUED_FRAMES = 20_000
MARK_PRICE_SLOW_MS = 3000  # cadence of <symbol>@markPrice without @1s
DEPTH_CADENCES_MS: dict[str, int] = {"": 250, "@100ms": 100, "@250ms": 250, "@500ms": 500, "@0ms": 0}
PUBLIC_CHANNELS = ("depth", "bookticker", "trade", "rpidepth")
_DEPTH_RE = re.compile(r"^depth(?P<levels>5|10|20)?(?P<cadence>@(?:0|100|250|500)ms)?$")


def route_of_stream(name: str) -> str:
    """The route (``public`` or ``market``) Binance serves a stream name on (protocol doc §1)."""
    channel = name.split("@", 1)[1] if "@" in name else name
    channel = channel.lower()
    return "public" if channel.startswith(PUBLIC_CHANNELS) else "market"


def normalise_stream(name: str) -> str:
    """Lower-case key of a stream name (Binance names are case-insensitive on the wire)."""
    return name.strip().lower()


@dataclass(slots=True, eq=False)
class StreamConnection:
    """One WebSocket connection on a market or user-data route."""

    ws: web.WebSocketResponse
    route: str  # public | market | private | legacy
    combined: bool
    conn_id: int
    opened_ms: int = 0
    subs: dict[str, str] = field(default_factory=dict)  # normalised key -> name as subscribed
    queue: deque[tuple[float, bytes]] = field(default_factory=deque)  # (monotonic s, frame)
    wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    closed: bool = False
    # user-data connections only
    listen_key: str | None = None
    events_allowed: frozenset[str] | None = None
    silenced: bool = False  # after listenKeyExpired (or a mis-routed private stream in strict mode)

    def enqueue(self, frame: bytes) -> None:
        """Queue one text frame; a consumer too slow to keep up is disconnected."""
        if self.closed:
            return
        if len(self.queue) >= MAX_QUEUED_FRAMES:
            self.closed = True
            self.queue.clear()
        else:
            self.queue.append((time.monotonic(), frame))
        self.wakeup.set()


async def run_writer(
    conn: StreamConnection, faults: FaultInjector, route_key: str, clock_ms: Callable[[], int]
) -> None:
    """Drain ``conn.queue`` to the socket, honouring freeze/latency faults; ends when the socket closes."""
    ws = conn.ws
    while not conn.closed and not ws.closed:
        if not conn.queue:
            conn.wakeup.clear()
            await conn.wakeup.wait()
            continue
        frozen_until = faults.frozen_until(route_key)
        if frozen_until:
            await asyncio.sleep(max(0.001, (frozen_until - clock_ms()) / 1000))
            continue
        latency_ms = faults.state.stream_latency_ms
        if latency_ms:
            wait_s = conn.queue[0][0] + latency_ms / 1000 - time.monotonic()
            if wait_s > 0:
                await asyncio.sleep(wait_s)
                continue
        _, frame = conn.queue.popleft()
        try:
            await ws.send_frame(frame, WSMsgType.TEXT)
        except (ConnectionError, RuntimeError):
            conn.closed = True
    if conn.closed and not ws.closed:
        with contextlib.suppress(ConnectionError, RuntimeError):
            await ws.close(code=1008, message=b"slow consumer or dropped")


@dataclass(slots=True)
class _DepthWindow:
    """Pending merged diff of one (symbol, cadence) stream."""

    first_id: int = 0
    last_id: int = 0
    prev_id: int = 0
    transaction_ms: int = 0
    bids: dict[int, float] = field(default_factory=dict)
    asks: dict[int, float] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return self.first_id == 0

    def add(self, ev: DepthDiffPublished) -> None:
        if self.first_id == 0:
            self.first_id = ev.first_id
            self.prev_id = ev.prev_id
        self.last_id = ev.last_id
        self.transaction_ms = ev.event_ms
        for price, qty in ev.bids:
            self.bids[price] = qty
        for price, qty in ev.asks:
            self.asks[price] = qty


class MarketStreamHub:
    """Subscriptions and fan-out of public market streams.

    Args:
        filters: Filters per symbol (for exact decimal strings).
        faults: Fault injector (strict routing, depth gaps).
        clock_ms: Server clock (ms).
        depth_snapshot: ``(symbol, limit) -> DepthView`` for partial-depth streams.
        immediate_depth: Publish every engine diff at once instead of per-cadence windows (tests).
    """

    def __init__(
        self,
        filters: dict[str, SymbolFilters],
        faults: FaultInjector,
        clock_ms: Callable[[], int],
        depth_snapshot: Callable[[str, int], DepthView],
        *,
        immediate_depth: bool = False,
    ) -> None:
        self._filters = filters
        self._faults = faults
        self._clock_ms = clock_ms
        self._depth_snapshot = depth_snapshot
        self.immediate_depth = immediate_depth
        self.connections: set[StreamConnection] = set()
        self._subscribers: dict[str, set[StreamConnection]] = {}
        self._windows: dict[tuple[str, int], _DepthWindow] = {}  # (symbol, cadence ms) -> pending
        self._agg_ids: dict[str, int] = {}
        self._mark_sent_ms: dict[str, int] = {}  # last plain @markPrice (3 s cadence) per symbol
        self._next_conn_id = 1

    # ------------------------------------------------------------------ connections

    def new_connection(self, ws: web.WebSocketResponse, route: str, combined: bool) -> StreamConnection:
        """Register a connection."""
        conn = StreamConnection(
            ws=ws, route=route, combined=combined, conn_id=self._next_conn_id, opened_ms=self._clock_ms()
        )
        self._next_conn_id += 1
        self.connections.add(conn)
        return conn

    def remove_connection(self, conn: StreamConnection) -> None:
        """Forget a closed connection and its subscriptions."""
        conn.closed = True
        conn.wakeup.set()
        self.connections.discard(conn)
        for key in list(conn.subs):
            self._unsubscribe_key(conn, key)

    def subscribe(self, conn: StreamConnection, names: Iterable[str]) -> None:
        """Add streams to a connection. Unknown names are accepted and simply never deliver.

        In strict-route mode a stream sent to the wrong route is accepted but never delivers either.
        """
        for name in names:
            key = normalise_stream(name)
            conn.subs[key] = name
            if self._faults.state.strict_routes and not _route_serves(conn.route, key):
                continue
            self._subscribers.setdefault(key, set()).add(conn)
            cadence = _depth_cadence(key)
            if cadence is not None:
                symbol = key.split("@", 1)[0].upper()
                self._windows.setdefault((symbol, cadence), _DepthWindow())

    def unsubscribe(self, conn: StreamConnection, names: Iterable[str]) -> None:
        """Remove streams from a connection."""
        for name in names:
            key = normalise_stream(name)
            conn.subs.pop(key, None)
            self._unsubscribe_key(conn, key)

    def _unsubscribe_key(self, conn: StreamConnection, key: str) -> None:
        subs = self._subscribers.get(key)
        if subs is None:
            return
        subs.discard(conn)
        if not subs:
            del self._subscribers[key]

    def close_older_than(self, max_age_ms: int) -> int:
        """Close connections open for ``max_age_ms`` or longer (Binance closes them after 24 h)."""
        now = self._clock_ms()
        victims = [c for c in self.connections if now - c.opened_ms >= max_age_ms]
        for conn in victims:
            conn.closed = True
            conn.queue.clear()
            conn.wakeup.set()
        return len(victims)

    def drop(self, route: str | None) -> int:
        """Close connections of ``route`` (all when None)."""
        victims = [c for c in self.connections if route is None or c.route == route]
        for conn in victims:
            conn.closed = True
            conn.queue.clear()
            conn.wakeup.set()
        return len(victims)

    # ------------------------------------------------------------------ publishing

    def _send(self, key: str, payload: dict[str, object], now_ms: int) -> None:
        subs = self._subscribers.get(key)
        if not subs:
            return
        raw = orjson.dumps(payload)
        for conn in subs:
            if conn.combined:
                name = conn.subs.get(key, key)
                conn.enqueue(b'{"stream":' + orjson.dumps(name) + b',"data":' + raw + b"}")
            else:
                conn.enqueue(raw)

    def on_depth(self, ev: DepthDiffPublished) -> None:
        """Feed an engine diff into the pending windows of the symbol (flushes at once if immediate)."""
        hit = False
        for (symbol, cadence), window in self._windows.items():
            if symbol == ev.symbol:
                window.add(ev)
                hit = hit or cadence == 0
        if self.immediate_depth or hit:
            self.flush(only_symbol=ev.symbol, only_immediate=not self.immediate_depth)

    def on_book_ticker(self, ev: BookTickerPublished) -> None:
        """Publish a ``bookTicker``."""
        now = self._clock_ms()
        sym = ev.symbol.lower()
        if f"{sym}@bookticker" in self._subscribers or "!bookticker" in self._subscribers:
            payload = wire.book_ticker_event(self._filters[ev.symbol], ev, now)
            self._send(f"{sym}@bookticker", payload, now)
            self._send("!bookticker", payload, now)

    def on_trade(self, ev: TradePublished) -> None:
        """Publish ``trade`` and ``aggTrade``."""
        now = self._clock_ms()
        sym = ev.symbol.lower()
        agg_id = self._agg_ids.get(ev.symbol, 0) + 1
        self._agg_ids[ev.symbol] = agg_id
        filters = self._filters[ev.symbol]
        if f"{sym}@trade" in self._subscribers:
            self._send(f"{sym}@trade", wire.trade_event(filters, ev, now), now)
        if f"{sym}@aggtrade" in self._subscribers:
            self._send(f"{sym}@aggtrade", wire.agg_trade_event(filters, ev, agg_id, now), now)

    def on_mark_price(self, ev: MarkPricePublished) -> None:
        """Publish ``markPriceUpdate``: every update on ``@1s`` streams, at most every 3 s on plain ones."""
        now = self._clock_ms()
        sym = ev.symbol.lower()
        payload = wire.mark_price_event(ev, now)
        self._send(f"{sym}@markprice@1s", payload, now)
        if "!markprice@arr@1s" in self._subscribers:
            self._send_list("!markprice@arr@1s", [payload], now)
        slow_wanted = f"{sym}@markprice" in self._subscribers or "!markprice@arr" in self._subscribers
        if slow_wanted and now - self._mark_sent_ms.get(ev.symbol, 0) >= MARK_PRICE_SLOW_MS:
            self._mark_sent_ms[ev.symbol] = now
            self._send(f"{sym}@markprice", payload, now)
            if "!markprice@arr" in self._subscribers:
                self._send_list("!markprice@arr", [payload], now)

    def _send_list(self, key: str, payload: list[dict[str, object]], now_ms: int) -> None:
        subs = self._subscribers.get(key, set())
        raw = orjson.dumps(payload)
        for conn in subs:
            frame = (
                b'{"stream":' + orjson.dumps(conn.subs.get(key, key)) + b',"data":' + raw + b"}"
                if conn.combined
                else raw
            )
            conn.enqueue(frame)

    def flush(
        self, cadence_ms: int | None = None, *, only_symbol: str | None = None, only_immediate: bool = False
    ) -> None:
        """Emit pending depth windows (of one cadence, or all) as ``depthUpdate`` frames."""
        now = self._clock_ms()
        for (symbol, cadence), window in list(self._windows.items()):
            if cadence_ms is not None and cadence != cadence_ms:
                continue
            if only_symbol is not None and symbol != only_symbol:
                continue
            if only_immediate and cadence != 0:
                continue
            if window.empty:
                continue
            keys = _keys_for_cadence(symbol.lower(), cadence)
            live = [k for k in keys if k in self._subscribers]
            if not live:
                del self._windows[(symbol, cadence)]
                continue
            self._windows[(symbol, cadence)] = _DepthWindow()
            if self._faults.take_depth_gap(symbol):
                continue  # the window is lost: the next one's pu will not match
            filters = self._filters[symbol]
            diff_keys = [k for k in live if _partial_levels(k) is None]
            if diff_keys:
                payload = wire.depth_update(
                    filters, symbol, window.first_id, window.last_id, window.prev_id,
                    sorted(window.bids.items(), reverse=True), sorted(window.asks.items()), now,
                    window.transaction_ms,
                )  # fmt: skip
                for key in diff_keys:
                    self._send(key, payload, now)
            partial_keys = [k for k in live if _partial_levels(k) is not None]
            if partial_keys:
                view = self._depth_snapshot(symbol, 20)
                for key in partial_keys:
                    n = _partial_levels(key) or 20
                    payload = wire.depth_update(
                        filters, symbol, window.first_id, window.last_id, window.prev_id,
                        view.bids[:n], view.asks[:n], now, window.transaction_ms,
                    )  # fmt: skip
                    self._send(key, payload, now)

    def close_all(self) -> None:
        """Mark every connection closed (server shutdown)."""
        self.drop(None)


def _route_serves(route: str, key: str) -> bool:
    if route in ("public", "legacy"):
        return route_of_stream(key) == "public"
    if route == "market":
        return route_of_stream(key) == "market"
    return False


def _depth_cadence(key: str) -> int | None:
    if "@" not in key:
        return None
    channel = key.split("@", 1)[1]
    m = _DEPTH_RE.match(channel)
    if m is None:
        return None
    return DEPTH_CADENCES_MS[m.group("cadence") or ""]


def _partial_levels(key: str) -> int | None:
    channel = key.split("@", 1)[1]
    m = _DEPTH_RE.match(channel)
    if m is None or m.group("levels") is None:
        return None
    return int(m.group("levels"))


def _keys_for_cadence(sym: str, cadence: int) -> list[str]:
    suffixes = [s for s, c in DEPTH_CADENCES_MS.items() if c == cadence]
    keys = []
    for suffix in suffixes:
        keys.append(f"{sym}@depth{suffix}")
        keys.extend(f"{sym}@depth{n}{suffix}" for n in (5, 10, 20))
    return keys
