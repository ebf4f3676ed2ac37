"""Server-side feed driver: pushes feed events into the engine at real time × speed.

Feeds stamp events in their own exchange time; the driver maps feed time onto the server clock
(``server_ms = start_server_ms + (ts_ms - first_ts_ms) / speed``), sleeps until each event is due and
hands it to ``apply``. Tests can pause it and step it event by event for determinism.
"""

from __future__ import annotations

import asyncio
import heapq
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

from phoenix.core.types import SymbolFilters
from phoenix.exchange.sim.engine import SimExchange
from phoenix.exchange.sim.feeds import (
    FeedDelta,
    FeedEvent,
    FeedMarkPrice,
    FeedSnapshot,
    FeedTrade,
    MidCsvFeed,
    RecordedFeed,
    SyntheticFeed,
)
from phoenix.exchange.sim.sim_types import SimEvent

DEFAULT_MIDS: dict[str, float] = {"ETHUSDC": 3000.0, "BTCUSDC": 90000.0, "SOLUSDC": 140.0, "XRPUSDC": 2.2}

ApplyFeedEvent = Callable[[FeedEvent, Callable[[int], int]], None]
"""``apply(event, to_server_ms)``: apply one feed event; ``to_server_ms`` maps a feed time to server ms."""


class FeedDriver:
    """Paces a feed iterator against the server clock.

    Args:
        events: The (merged) feed, ordered by ``ts_ms``.
        apply: Applies one event to the engine and publishes the results.
        clock_ms: Server clock (ms).
        speed: Feed-time ms per server-time ms (1 = real time, 10 = ten times faster).
        paused: Start paused (advance only with :meth:`step`).
    """

    def __init__(
        self,
        events: Iterator[FeedEvent],
        apply: ApplyFeedEvent,
        clock_ms: Callable[[], int],
        *,
        speed: float = 1.0,
        paused: bool = False,
    ) -> None:
        if speed <= 0:
            raise ValueError("speed must be > 0")
        self._events = events
        self._apply = apply
        self._clock_ms = clock_ms
        self.speed = speed
        self.paused = paused
        self.applied = 0
        self.exhausted = False
        self._pending: FeedEvent | None = None
        self._origin: tuple[int, int] | None = None  # (first feed ts, server ms at that point)
        self._resume = asyncio.Event()
        if not paused:
            self._resume.set()

    def to_server_ms(self, feed_ms: int) -> int:
        """Server time at which feed time ``feed_ms`` is due."""
        if self._origin is None:
            return self._clock_ms()
        feed0, server0 = self._origin
        return server0 + int((feed_ms - feed0) / self.speed)

    def _next(self) -> FeedEvent | None:
        if self._pending is not None:
            ev, self._pending = self._pending, None
            return ev
        try:
            ev = next(self._events)
        except StopIteration:
            self.exhausted = True
            return None
        if self._origin is None:
            self._origin = (ev.ts_ms, self._clock_ms())
        return ev

    def step(self, count: int = 1) -> int:
        """Apply the next ``count`` events now, whatever their due time; returns how many were applied."""
        done = 0
        for _ in range(count):
            ev = self._next()
            if ev is None:
                break
            self._apply(ev, self.to_server_ms)
            self.applied += 1
            done += 1
        if done and self._origin is not None and self._pending is None:
            # re-anchor so that real-time pacing continues from "now" after manual steps
            self._origin = None
        return done

    def pause(self) -> None:
        """Stop pacing (``step`` still works)."""
        self.paused = True
        self._resume.clear()

    def resume(self) -> None:
        """Resume pacing from the current server time."""
        self.paused = False
        self._origin = None
        self._resume.set()

    async def run(self) -> None:
        """Pace events until the feed is exhausted or the task is cancelled."""
        while True:
            await self._resume.wait()
            ev = self._next()
            if ev is None:
                return
            if self._origin is None:
                self._origin = (ev.ts_ms, self._clock_ms())
            wait_ms = self.to_server_ms(ev.ts_ms) - self._clock_ms()
            if wait_ms > 0:
                self._pending = ev
                await asyncio.sleep(wait_ms / 1000)
                if self.paused or self._pending is not ev:
                    continue  # paused meanwhile, or a manual step consumed it
                self._pending = None
            self._apply(ev, self.to_server_ms)
            self.applied += 1
            if self.applied % 256 == 0:
                await asyncio.sleep(0)  # let sockets breathe when far behind schedule


def build_feed(
    kind: str,
    filters: Mapping[str, SymbolFilters],
    *,
    seed: int,
    start_ms: int,
    replay_file: Path | None = None,
) -> Iterator[FeedEvent]:
    """The server's feed: one seeded ``SyntheticFeed`` per symbol merged by time, or a replay.

    A replay (``.csv`` = mid-only CSV, anything else = Binance raw recording) drives the first symbol.
    Synthetic symbol ``i`` uses seed ``seed + i`` and starts at ``DEFAULT_MIDS`` (100 if unknown).
    """
    if kind == "replay":
        if replay_file is None:
            raise ValueError("a replay feed needs replay_file")
        first = next(iter(filters.values()))
        if replay_file.suffix == ".csv":
            return iter(MidCsvFeed(replay_file, first))
        return iter(RecordedFeed(replay_file, first))
    feeds = [
        iter(SyntheticFeed(symbol, f, seed=seed + i, mid=DEFAULT_MIDS.get(symbol, 100.0), start_ms=start_ms))
        for i, (symbol, f) in enumerate(filters.items())
    ]
    return heapq.merge(*feeds, key=lambda ev: ev.ts_ms)


def apply_feed_event(
    engine: SimExchange, ev: FeedEvent, now_ms: int, to_server_ms: Callable[[int], int]
) -> list[SimEvent]:
    """Apply one feed event at server time ``now_ms`` (funding times mapped with ``to_server_ms``)."""
    match ev:
        case FeedSnapshot():
            return engine.apply_market_snapshot(ev.symbol, ev.bids, ev.asks, now_ms)
        case FeedDelta():
            return engine.apply_market_delta(ev.symbol, ev.bids, ev.asks, now_ms)
        case FeedTrade():
            return engine.apply_market_trade(ev.symbol, ev.price_ticks, ev.qty, ev.aggressor, now_ms)
        case FeedMarkPrice():
            return engine.apply_mark_price(
                ev.symbol, ev.mark_price, ev.funding_rate, to_server_ms(ev.next_funding_ms), now_ms,
                index_price=ev.index_price,
            )  # fmt: skip
    return []
