"""Market data over combined streams on the correct routes, with exact per-symbol book sync.

One connection per route (and per ``max_streams_per_connection`` chunk). Depth diffs feed a ``BookSync``
per symbol; the REST snapshot is fetched after the stream is open. Emits core events through an async
callback: ``BookSnapshot`` whenever a book (re)enters sync, then ``BookDelta`` per applied diff, and
``TopOfBook``, ``TradePrinted``, ``MarkPriceUpdated``. Reconnects forever with capped jittered backoff and
replaces each connection before Binance's 24 h cut-off (make-before-break: the new socket opens first and
overlapping events are skipped by id, so books stay in sync). A watchdog closes a connection whose last
message is older than its configured age (all its books leave sync first).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass

import aiohttp
import msgspec

from phoenix.core.types import BookDelta, Event, MarketDataStatus, SymbolFilters
from phoenix.errors import ExchangeError
from phoenix.exchange.binance import codec, wire
from phoenix.exchange.binance.backoff import Backoff
from phoenix.exchange.binance.book import BookSync, Diff, DiffResult, SnapshotResult
from phoenix.exchange.binance.rest import BinanceRestClient
from phoenix.exchange.binance.routes import combined_url, route_for_stream, stream_names
from phoenix.exchange.binance.urls import Endpoints

log = logging.getLogger(__name__)

EventHandler = Callable[[Event], Awaitable[None]]


@dataclass(slots=True)
class StreamConnection:
    """State of one combined-stream connection."""

    route: str
    streams: list[str]
    url: str
    depth_symbols: list[str]
    connected: bool = False
    connected_at: float = 0.0
    last_message_at: float = 0.0
    messages: int = 0
    connects: int = 0
    watchdog_trips: int = 0
    scheduled_reconnects: int = 0
    ws: aiohttp.ClientWebSocketResponse | None = None
    successor: aiohttp.ClientWebSocketResponse | None = None  # scheduled make-before-break replacement


class MarketDataStream:
    """Routed combined market streams for many symbols with book sync, watchdog and reconnect."""

    def __init__(
        self,
        endpoints: Endpoints,
        rest: BinanceRestClient,
        filters: Mapping[str, SymbolFilters],
        symbols: Sequence[str],
        on_event: EventHandler,
        *,
        depth_stream: str | None = "depth@100ms",
        book_ticker: bool = True,
        trades: str | None = "trade",
        mark_price: str | None = "markPrice@1s",
        max_message_age_s: Mapping[str, float] | None = None,
        max_connection_age_s: float = 23.5 * 3600,
        healthy_after_s: float = 10.0,
        max_streams_per_connection: int = 200,
        snapshot_limit: int = 1000,
        backoff: Callable[[], Backoff] = Backoff,
        session: aiohttp.ClientSession | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.endpoints = endpoints
        self.rest = rest
        self.filters = dict(filters)
        self.symbols = [s.upper() for s in symbols]
        missing = [s for s in self.symbols if s not in self.filters]
        if missing:
            raise ValueError(f"no filters for symbols {missing}")
        if depth_stream is not None and depth_stream.split("@", 1)[0] != "depth":
            raise ValueError(
                f"depth_stream must be a diff stream (depth, depth@100ms...), not {depth_stream!r}"
            )
        self._on_event = on_event
        self.max_message_age_s = {"public": 5.0, "market": 10.0, **(max_message_age_s or {})}
        self.max_connection_age_s = max_connection_age_s
        self.healthy_after_s = healthy_after_s
        self.snapshot_limit = snapshot_limit
        self._backoff = backoff
        self._session = session
        self._own_session = session is None
        self._now = monotonic
        self.books: dict[str, BookSync] = {s: BookSync(s) for s in self.symbols} if depth_stream else {}
        self._snapshot_tasks: dict[str, asyncio.Task[None]] = {}
        self._stopping = False
        self._tasks: list[asyncio.Task[None]] = []
        self.decode_errors = 0
        self.duplicates_skipped = 0
        self._last_trade_id: dict[str, int] = {}
        self._last_ticker_id: dict[str, int] = {}
        self._book_update_at: dict[str, float] = {}
        self.sync_changes = 0
        self.resyncs = 0  # books dropped and rebuilt on request (resync)
        self.handler_errors = 0
        self.connections = self._plan(
            depth_stream, book_ticker, trades, mark_price, max_streams_per_connection
        )

    def _plan(
        self, depth: str | None, book_ticker: bool, trades: str | None, mark: str | None, chunk: int
    ) -> list[StreamConnection]:
        by_route: dict[str, list[str]] = {}
        for s in self.symbols:
            for name in stream_names(s, depth=depth, book_ticker=book_ticker, trades=trades, mark_price=mark):
                by_route.setdefault(route_for_stream(name), []).append(name)
        conns = []
        for route, names in sorted(by_route.items()):
            for i in range(0, len(names), chunk):
                part = names[i : i + chunk]
                depth_syms = sorted({n.split("@", 1)[0].upper() for n in part if "@depth" in n})
                conns.append(
                    StreamConnection(
                        route=route,
                        streams=part,
                        url=combined_url(self.endpoints.stream_base(route), part),
                        depth_symbols=depth_syms,
                    )
                )
        return conns

    # ------------------------------------------------------------------ public state

    def in_sync(self, symbol: str) -> bool:
        """True when the local book of ``symbol`` follows the exchange exactly (safe to quote from)."""
        b = self.books.get(symbol)
        return b is not None and b.in_sync

    def book_age_s(self, symbol: str) -> float:
        """Seconds since the last depth diff or bookTicker of ``symbol`` arrived (inf if none yet).

        A quiet market also ages the book; the runner combines this with ``in_sync`` for its staleness rule.
        """
        at = self._book_update_at.get(symbol)
        return self._now() - at if at is not None else float("inf")

    def last_message_age_s(self, route: str = "public") -> float:
        """Age of the newest message over the connections of ``route`` (inf if never connected)."""
        ages = [self._now() - c.last_message_at for c in self.connections if c.route == route and c.connected]
        return min(ages) if ages else float("inf")

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Start one task per connection (returns immediately)."""
        if self._session is None:
            self._session = aiohttp.ClientSession()
        self._stopping = False
        self._tasks = [asyncio.create_task(self._connection_loop(c)) for c in self.connections]

    async def stop(self) -> None:
        """Close every connection and stop reconnecting."""
        self._stopping = True
        for t in [*self._tasks, *self._snapshot_tasks.values()]:
            t.cancel()
        for t in [*self._tasks, *self._snapshot_tasks.values()]:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        self._tasks.clear()
        self._snapshot_tasks.clear()
        if self._session is not None and self._own_session:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> MarketDataStream:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ------------------------------------------------------------------ connection loop

    async def _connect(self, conn: StreamConnection) -> aiohttp.ClientWebSocketResponse:
        assert self._session is not None
        return await self._session.ws_connect(conn.url, autoping=True, max_msg_size=0)

    async def _connection_loop(self, conn: StreamConnection) -> None:
        backoff = self._backoff()
        ws: aiohttp.ClientWebSocketResponse | None = None
        while not self._stopping:
            handover = False
            lived_s = 0.0  # how long the connection that just ended was up (0 if the connect failed)
            try:
                fresh = ws is None
                if ws is None:
                    ws = await self._connect(conn)
                conn.ws = ws
                conn.connected = True
                conn.connects += 1
                conn.connected_at = conn.last_message_at = self._now()
                log.info("market stream %s connected (%d streams)", conn.route, len(conn.streams))
                if fresh:
                    self._forget_sequences(conn)
                    for symbol in conn.depth_symbols:
                        await self._restart_book(symbol)
                watchdog = asyncio.create_task(self._watchdog(conn, ws))
                try:
                    async for msg in ws:
                        conn.last_message_at = self._now()
                        conn.messages += 1
                        if msg.type in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
                            await self._on_frame(msg.data)
                finally:
                    watchdog.cancel()
                    lived_s = self._now() - conn.connected_at
                successor, conn.successor = conn.successor, None
                if successor is not None and not successor.closed and not self._stopping:
                    # make-before-break: the new socket has been receiving since before the old one closed;
                    # overlapping events are skipped by update/trade id, so the books stay in sync
                    await ws.close()
                    ws = successor
                    handover = True
            except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                log.warning("market stream %s error: %s", conn.route, type(exc).__name__)
            except Exception:
                # a handler or decoding bug must not end the stream forever: log it, reconnect, resync
                self.handler_errors += 1
                log.exception("market stream %s: unexpected error; reconnecting", conn.route)
            finally:
                if not handover:
                    conn.connected = False
                    conn.ws = None
                    for sock in (ws, conn.successor):
                        if sock is not None:
                            await sock.close()
                    ws = conn.successor = None
                    for symbol in conn.depth_symbols:
                        await self._lose_book(symbol)
            if handover:
                continue
            if self._stopping:
                break
            if lived_s >= self.healthy_after_s:
                backoff.reset()  # only a connection that stayed up counts as healthy
            delay = backoff.next_delay_s()
            log.info("market stream %s reconnecting in %.2fs", conn.route, delay)
            await asyncio.sleep(delay)

    async def _watchdog(self, conn: StreamConnection, ws: aiohttp.ClientWebSocketResponse) -> None:
        max_age = self.max_message_age_s.get(conn.route, 10.0)
        period = max(0.01, min(max_age / 4, 1.0))
        while not ws.closed:
            await asyncio.sleep(period)
            now = self._now()
            if now - conn.last_message_at > max_age:
                conn.watchdog_trips += 1
                log.warning(
                    "market stream %s silent for %.2fs: reconnecting", conn.route, now - conn.last_message_at
                )
                for symbol in conn.depth_symbols:
                    await self._lose_book(symbol, "stale")
                await ws.close()
                return
            if now - conn.connected_at > self.max_connection_age_s:
                conn.scheduled_reconnects += 1
                log.info("market stream %s reached its max age: opening its successor", conn.route)
                try:
                    conn.successor = await asyncio.wait_for(self._connect(conn), timeout=10.0)
                except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                    log.warning("market stream %s successor failed (%s): plain reconnect", conn.route, exc)
                await ws.close()
                return

    def _forget_sequences(self, conn: StreamConnection) -> None:
        for name in conn.streams:
            symbol = name.split("@", 1)[0].upper()
            self._last_trade_id.pop(symbol, None)
            self._last_ticker_id.pop(symbol, None)

    # ------------------------------------------------------------------ book sync

    async def resync(self, symbol: str, reason: str) -> None:
        """Drop the local book of ``symbol`` (``MarketDataStatus`` out of sync) and rebuild it from a fresh
        snapshot (e.g. after the consumer failed on one of its events: fail closed)."""
        if symbol not in self.books:
            return
        self.resyncs += 1
        await self._lose_book(symbol, reason)
        self._ensure_snapshot(symbol)

    async def _set_sync(self, symbol: str, in_sync: bool, reason: str = "") -> None:
        self.sync_changes += 1
        await self._on_event(
            MarketDataStatus(symbol=symbol, ts_ns=time.time_ns(), in_sync=in_sync, reason=reason)
        )

    async def _lose_book(self, symbol: str, reason: str = "disconnected") -> None:
        book = self.books.get(symbol)
        if book is None:
            return
        task = self._snapshot_tasks.pop(symbol, None)
        if task is not None and task is not asyncio.current_task():
            task.cancel()
        was = book.in_sync
        book.reset()
        if was:
            await self._set_sync(symbol, False, reason)

    async def _restart_book(self, symbol: str) -> None:
        await self._lose_book(symbol)
        self._ensure_snapshot(symbol)

    def _ensure_snapshot(self, symbol: str) -> None:
        task = self._snapshot_tasks.get(symbol)
        if task is None or task.done():
            self._snapshot_tasks[symbol] = asyncio.create_task(self._fetch_snapshot(symbol))

    async def _fetch_snapshot(self, symbol: str) -> None:
        book = self.books[symbol]
        f = self.filters[symbol]
        backoff = self._backoff()
        while not self._stopping:
            try:
                snap = await self.rest.fetch_depth(symbol, self.snapshot_limit)
            except (ExchangeError, msgspec.ValidationError, msgspec.DecodeError) as exc:
                log.warning("depth snapshot %s failed: %s", symbol, exc)
                await asyncio.sleep(backoff.next_delay_s())
                continue
            result = book.on_snapshot(
                snap.lastUpdateId,
                codec.levels_to_ticks(snap.bids, f.tick),
                codec.levels_to_ticks(snap.asks, f.tick),
            )
            if result is SnapshotResult.SYNCED:
                self._snapshot_tasks.pop(symbol, None)
                await self._emit_snapshot(symbol, snap.T or snap.E)
                return
            if result is SnapshotResult.AWAITING_DIFF:
                self._snapshot_tasks.pop(symbol, None)
                return
            # too old or gap while catching up: fetch again shortly
            await asyncio.sleep(min(0.05 * (1 + backoff.attempt), 1.0))
            backoff.attempt += 1

    async def _emit_snapshot(self, symbol: str, exchange_ms: int) -> None:
        bids, asks = self.books[symbol].book.levels()
        await self._set_sync(symbol, True)
        await self._on_event(codec.snapshot_event(symbol, bids, asks, exchange_ms * codec.MS_NS))

    # ------------------------------------------------------------------ frames

    async def _on_frame(self, data: bytes | str) -> None:
        try:
            ev = wire.stream_decoder.decode(data).data
        except (msgspec.DecodeError, msgspec.ValidationError):
            self._on_other_frame(data)
            return
        if isinstance(ev, wire.DepthUpdate):
            await self._on_depth(ev)
            return
        f = self.filters.get(ev.s)
        if f is None:
            return
        if isinstance(ev, wire.BookTicker):
            if ev.u and ev.u <= self._last_ticker_id.get(ev.s, 0):
                self.duplicates_skipped += 1  # overlap during a handover, or older than what we have
                return
            self._last_ticker_id[ev.s] = ev.u
            self._book_update_at[ev.s] = self._now()
            await self._on_event(codec.top_of_book(ev, f))
        elif isinstance(ev, wire.Trade | wire.AggTrade):
            trade_id = ev.t if isinstance(ev, wire.Trade) else ev.a
            if trade_id and trade_id <= self._last_trade_id.get(ev.s, 0):
                self.duplicates_skipped += 1
                return
            self._last_trade_id[ev.s] = trade_id
            await self._on_event(codec.trade_printed(ev, f))
        else:
            await self._on_event(codec.mark_price(ev))

    def _on_other_frame(self, data: bytes | str) -> None:
        try:
            reply = wire.control_decoder.decode(data)
        except (msgspec.DecodeError, msgspec.ValidationError):
            self.decode_errors += 1
            return
        if reply.code is not None:
            log.warning("market stream control error %s: %s", reply.code, reply.msg)

    async def _on_depth(self, ev: wire.DepthUpdate) -> None:
        book = self.books.get(ev.s)
        if book is None:
            return
        self._book_update_at[ev.s] = self._now()
        tick = self.filters[ev.s].tick
        diff = Diff(
            ev.U, ev.u, ev.pu, codec.levels_to_ticks(ev.b, tick), codec.levels_to_ticks(ev.a, tick), ev.E
        )
        result = book.on_diff(diff)
        if result is DiffResult.DUPLICATE:
            self.duplicates_skipped += 1
        elif result is DiffResult.APPLIED:
            await self._on_event(
                BookDelta(symbol=ev.s, ts_ns=ev.E * codec.MS_NS, bids=diff.bids, asks=diff.asks)
            )
        elif result is DiffResult.SYNCED:
            await self._emit_snapshot(ev.s, ev.E)
        elif result is DiffResult.GAP:
            log.warning("depth gap on %s (pu chain broken or book crossed): rebuilding", ev.s)
            await self._set_sync(ev.s, False, "gap")
            self._ensure_snapshot(ev.s)
        elif result is DiffResult.SNAPSHOT_TOO_OLD:
            self._ensure_snapshot(ev.s)
