"""A client following Binance's USDⓈ-M local-book algorithm reproduces the engine's book exactly.

The client only sees what a real one would: diff events (U/u/pu, absolute level quantities) and a
``depth()`` snapshot taken while it is buffering. 10,000 random updates mix market deltas, market
trades, participant orders (resting, crossing, IOC), cancels and amendments from two accounts.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from phoenix.core.types import OrderType, Side, TimeInForce
from phoenix.exchange.sim.engine import SimExchange
from phoenix.exchange.sim.feeds import RecordedFeed
from phoenix.exchange.sim.sim_types import (
    AccountId,
    BookTickerPublished,
    DepthDiffPublished,
    OrderRequest,
    SimError,
    SimEvent,
)
from phoenix.exchange.sim.symbols import default_filters

SYM = "ETHUSDC"
MID = 300_000
N_UPDATES = 10_000


class GapDetected(Exception):
    """The client saw a ``pu`` that does not chain: its book is invalid."""


@dataclass
class SyncClient:
    """Binance §6.3: buffer diffs, snapshot, drop u < L, first U ≤ L ≤ u, then pu == previous u."""

    bids: dict[int, float] = field(default_factory=dict)
    asks: dict[int, float] = field(default_factory=dict)
    buffer: list[DepthDiffPublished] = field(default_factory=list)
    last_u: int | None = None
    synced: bool = False

    def on_diff(self, ev: DepthDiffPublished) -> None:
        if not self.synced:
            self.buffer.append(ev)
            return
        self._apply(ev)

    def on_snapshot(
        self, last_update_id: int, bids: tuple[tuple[int, float], ...], asks: tuple[tuple[int, float], ...]
    ) -> None:
        self.bids = dict(bids)
        self.asks = dict(asks)
        pending = [ev for ev in self.buffer if ev.last_id >= last_update_id]
        self.buffer.clear()
        self.last_u = last_update_id
        self.synced = True
        first = True
        for ev in pending:
            if first:
                if not (ev.first_id <= last_update_id <= ev.last_id or ev.prev_id == last_update_id):
                    raise GapDetected("snapshot too old")
                self._set_levels(ev)
                self.last_u = ev.last_id
                first = False
            else:
                self._apply(ev)

    def _apply(self, ev: DepthDiffPublished) -> None:
        if ev.prev_id != self.last_u:
            raise GapDetected(f"pu {ev.prev_id} != last u {self.last_u}")
        self._set_levels(ev)
        self.last_u = ev.last_id

    def _set_levels(self, ev: DepthDiffPublished) -> None:
        for side, levels in ((self.bids, ev.bids), (self.asks, ev.asks)):
            for price, qty in levels:
                if qty == 0.0:
                    side.pop(price, None)
                else:
                    side[price] = qty

    def book(self) -> tuple[tuple[tuple[int, float], ...], tuple[tuple[int, float], ...]]:
        return tuple(sorted(self.bids.items(), reverse=True)), tuple(sorted(self.asks.items()))


class RandomMarket:
    """Seeded random driver of one engine: returns the events of each update."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.ex = SimExchange(default_filters([SYM]))
        self.accounts: list[AccountId] = [self.ex.add_account("a", 1e9), self.ex.add_account("b", 1e9)]
        self.now = 1_700_000_000_000
        self.ex.apply_market_snapshot(
            SYM,
            [(MID - i, 1.0 + i) for i in range(30)],
            [(MID + 1 + i, 1.0 + i) for i in range(30)],
            self.now,
        )
        self.open: list[tuple[AccountId, int]] = []

    def step(self) -> list[SimEvent]:
        rng = self.rng
        self.now += rng.randint(0, 50)
        op = rng.random()
        ex = self.ex
        try:
            if op < 0.55:
                bids = [(MID - rng.randint(0, 60), self._qty()) for _ in range(rng.randint(1, 6))]
                asks = [(MID + 1 + rng.randint(0, 60), self._qty()) for _ in range(rng.randint(1, 6))]
                return ex.apply_market_delta(SYM, bids, asks, self.now)
            if op < 0.65:
                side = Side.BUY if rng.random() < 0.5 else Side.SELL
                depth = ex.depth(SYM, 1)
                top = depth.asks if side is Side.BUY else depth.bids
                if not top:
                    return []
                return ex.apply_market_trade(
                    SYM, top[0][0], round(rng.uniform(0.001, 3.0), 3), side, self.now
                )
            if op < 0.85:
                acct = rng.choice(self.accounts)
                side = Side.BUY if rng.random() < 0.5 else Side.SELL
                offset = rng.randint(-3, 20)
                price = MID - offset if side is Side.BUY else MID + 1 + offset
                tif = rng.choice([TimeInForce.GTC, TimeInForce.GTX, TimeInForce.IOC])
                kind = OrderType.MARKET if rng.random() < 0.05 else OrderType.LIMIT
                req = OrderRequest(symbol=SYM, side=side, qty_steps=rng.randint(10, 2000), price_ticks=price,
                                   time_in_force=tif, order_type=kind)  # fmt: skip
                view, events = ex.place_order(acct, req, self.now)
                if view.status.is_open:
                    self.open.append((acct, view.order_id))
                return events
            if not self.open:
                return []
            acct, oid = self.open.pop(rng.randrange(len(self.open)))
            if op < 0.93:
                return ex.cancel_order(acct, SYM, order_id=oid, now_ms=self.now)[1]
            order = ex.get_order(acct, SYM, order_id=oid)
            price = order.price_ticks + rng.randint(-2, 2)
            view, events = ex.modify_order(acct, SYM, order_id=oid, price_ticks=price,
                                           qty_steps=rng.randint(10, 2000), now_ms=self.now)  # fmt: skip
            if view.status.is_open:
                self.open.append((acct, oid))
            return events
        except SimError:
            return []  # rejections (GTX would take, unknown order after a fill...) publish nothing

    def _qty(self) -> float:
        return 0.0 if self.rng.random() < 0.25 else round(self.rng.uniform(0.001, 10.0), 3)


def test_sync_client_reproduces_engine_book_through_10000_updates() -> None:
    market = RandomMarket(seed=7)
    client = SyncClient()
    diffs = tickers = 0
    for i in range(N_UPDATES):
        events = market.step()
        for ev in events:
            if isinstance(ev, DepthDiffPublished) and i >= 200:  # subscribed at update 200
                client.on_diff(ev)
                diffs += 1
            elif isinstance(ev, BookTickerPublished) and client.synced:
                tickers += 1
                assert ev.update_id == client.last_u
                best_bid = max(client.bids) if client.bids else None
                best_ask = min(client.asks) if client.asks else None
                assert (ev.bid_ticks, ev.ask_ticks) == (best_bid, best_ask)
        if i == 300:  # the REST snapshot is taken while diffs are being buffered ...
            snap = market.ex.depth(SYM, 1000)
        if i == 320:  # ... and its response arrives 20 updates later
            client.on_snapshot(snap.last_update_id, snap.bids, snap.asks)
        if client.synced and i % 500 == 0:
            engine = market.ex.depth(SYM, 10_000)
            assert client.last_u == engine.last_update_id
            assert client.book() == (engine.bids, engine.asks)
    engine = market.ex.depth(SYM, 10_000)
    assert client.book() == (engine.bids, engine.asks)
    assert client.last_u == engine.last_update_id
    assert diffs > 5_000 and tickers > 1_000
    # the run really exercised participants' orders and fills
    trades = market.ex.user_trades(market.accounts[0], SYM) + market.ex.user_trades(market.accounts[1], SYM)
    assert len(trades) > 100
    bids, asks = client.book()
    assert bids[0][0] < asks[0][0]


def test_sync_client_detects_an_injected_gap() -> None:
    market = RandomMarket(seed=11)
    client = SyncClient()
    snap = market.ex.depth(SYM, 1000)
    client.on_snapshot(snap.last_update_id, snap.bids, snap.asks)
    dropped = False
    with pytest.raises(GapDetected):
        for i in range(2_000):
            for ev in market.step():
                if isinstance(ev, DepthDiffPublished):
                    if i >= 1_000 and not dropped:
                        dropped = True  # lost in transit
                        continue
                    client.on_diff(ev)
    assert dropped


def test_snapshot_older_than_buffer_is_detected() -> None:
    market = RandomMarket(seed=3)
    old = market.ex.depth(SYM, 1000)
    client = SyncClient()
    for _ in range(50):
        for ev in market.step():
            if isinstance(ev, DepthDiffPublished):
                client.buffer.append(ev)
    first_kept = market.ex.depth(SYM, 1000).last_update_id
    client.buffer = [ev for ev in client.buffer if ev.first_id > old.last_update_id + 1]
    assert first_kept > old.last_update_id
    with pytest.raises(GapDetected):
        client.on_snapshot(old.last_update_id, old.bids, old.asks)


def test_update_ids_chain_and_match_depth() -> None:
    market = RandomMarket(seed=5)
    prev = market.ex.depth(SYM, 1).last_update_id
    for _ in range(500):
        for ev in market.step():
            if isinstance(ev, DepthDiffPublished):
                assert ev.prev_id == prev
                assert ev.first_id == prev + 1
                assert ev.last_id >= ev.first_id
                prev = ev.last_id
        assert market.ex.depth(SYM, 1).last_update_id == prev


def test_sync_client_follows_the_real_recording_replayed_through_the_engine(btcusdt_recording: Path) -> None:
    filters = default_filters(["BTCUSDC"])
    ex = SimExchange(filters)
    client = SyncClient()
    for n, ev in enumerate(RecordedFeed(btcusdt_recording, filters["BTCUSDC"])):
        for out in ex.apply_feed_event(ev):
            if isinstance(out, DepthDiffPublished):
                client.on_diff(out)
        if n == 500:
            snap = ex.depth("BTCUSDC", 1000)  # a 1000-level window, like a real client's snapshot
            client.on_snapshot(snap.last_update_id, snap.bids, snap.asks)
    engine = ex.depth("BTCUSDC", 1000)
    bids, asks = client.book()
    assert client.last_u == engine.last_update_id
    assert bids[:50] == engine.bids[:50] and asks[:50] == engine.asks[:50]  # far edge: outside the window
    assert (bids[0][0], asks[0][0]) == (281_551, 281_552)
