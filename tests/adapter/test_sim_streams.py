"""Market and user streams against the simulator over real loopback sockets."""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Callable

import aiohttp
import pytest

from phoenix.config import PhoenixConfig, SymbolConfig
from phoenix.core.store import Store
from phoenix.core.types import (
    BookDelta,
    BookSnapshot,
    Event,
    MarketDataStatus,
    MarkPriceUpdated,
    OrderFilled,
    OrderStatus,
    OrderUpdated,
    PlaceOrder,
    Side,
    TopOfBook,
    TradePrinted,
)
from phoenix.exchange.binance.backoff import Backoff
from phoenix.exchange.binance.gateway import OrderGateway, Outcome
from phoenix.exchange.binance.market_stream import MarketDataStream
from phoenix.exchange.binance.rest import BinanceRestClient
from phoenix.exchange.binance.signing import HmacSigner
from phoenix.exchange.binance.urls import Endpoints, endpoints_for
from phoenix.exchange.binance.user_stream import UserDataStream
from phoenix.exchange.sim.server import SimServer

SYMBOL = "ETHUSDC"


def endpoints_of(sim: SimServer) -> Endpoints:
    return endpoints_for(
        "sim", rest=sim.rest_url, ws_public=sim.ws_public_url, ws_market=sim.ws_market_url,
        ws_private=sim.ws_private_url, ws_api=sim.ws_api_url,
    )  # fmt: skip


def fast_backoff() -> Backoff:
    return Backoff(base_s=0.05, cap_s=0.5, rng=random.Random(1))


async def wait_for(cond: Callable[[], bool], timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


async def step_until_in_sync(sim: SimServer, md: MarketDataStream) -> None:
    """With a paused feed the book syncs on the first diff after the snapshot: keep the market moving."""
    for _ in range(100):
        if md.in_sync(SYMBOL):
            return
        sim.step_feed(3)
        await asyncio.sleep(0.05)
    raise AssertionError("book never synced")


class Recorder:
    """Collects emitted events with their local arrival time."""

    def __init__(self) -> None:
        self.events: list[tuple[float, Event]] = []

    async def __call__(self, ev: Event) -> None:
        self.events.append((time.monotonic(), ev))

    def of(self, typ: type) -> list:  # type: ignore[type-arg]
        return [e for _, e in self.events if isinstance(e, typ)]

    def kinds(self) -> Counter[str]:
        return Counter(type(e).__name__ for _, e in self.events)


def assert_book_matches(md: MarketDataStream, sim: SimServer) -> None:
    view = sim.engine.depth(SYMBOL, 1000)
    sync = md.books[SYMBOL]
    assert sync.in_sync and sync.last_update_id == view.last_update_id
    bids, asks = sync.book.levels()
    assert [p for p, _ in bids] == [p for p, _ in view.bids]
    assert [p for p, _ in asks] == [p for p, _ in view.asks]
    assert all(abs(q - vq) < 1e-9 for (_, q), (_, vq) in zip(bids, view.bids, strict=True))
    assert all(abs(q - vq) < 1e-9 for (_, q), (_, vq) in zip(asks, view.asks, strict=True))


async def test_book_identical_to_simulator_through_long_random_run() -> None:
    rng = random.Random(42)
    async with SimServer(feed="synthetic", seed=11, feed_paused=True) as sim:
        e = endpoints_of(sim)
        signer = HmacSigner(sim.api_key, sim.api_secret)
        rec = Recorder()
        async with BinanceRestClient(e, signer) as rest:
            filters = await rest.fetch_exchange_filters([SYMBOL])
            f = filters[SYMBOL]
            md = MarketDataStream(e, rest, filters, [SYMBOL], rec, backoff=fast_backoff)
            async with md, OrderGateway(e, rest, signer, filters) as gw:
                await step_until_in_sync(sim, md)
                checks = 0
                own = 0
                for _ in range(50):
                    sim.step_feed(rng.randint(1, 60))
                    if rng.random() < 0.3:  # our own resting orders are part of the public book
                        best = md.books[SYMBOL].book.best_bid()
                        assert best is not None
                        ticks = best[0] - rng.randint(0, 5)
                        res = await gw.place(
                            PlaceOrder(
                                symbol=SYMBOL,
                                client_order_id=f"own-{own}",
                                side=Side.BUY,
                                price_ticks=ticks,
                                qty_steps=f.min_steps_at(ticks),
                            )
                        )
                        assert res.outcome is not Outcome.UNKNOWN
                        own += 1
                    target = sim.engine.depth(SYMBOL, 1000).last_update_id
                    await wait_for(lambda t=target: md.books[SYMBOL].last_update_id >= t)  # type: ignore[misc]
                    if md.books[SYMBOL].last_update_id == sim.engine.depth(SYMBOL, 1000).last_update_id:
                        assert_book_matches(md, sim)
                        checks += 1
                assert checks >= 45
                assert md.book_age_s(SYMBOL) < 5.0 and md.book_age_s("NOPEUSDC") == float("inf")
                assert md.books[SYMBOL].gaps == 0
                assert len(rec.of(BookDelta)) >= 45
                assert len(rec.of(BookSnapshot)) == 1


async def test_injected_gap_triggers_rebuild() -> None:
    async with SimServer(feed="synthetic", seed=5, feed_paused=True) as sim:
        e = endpoints_of(sim)
        rec = Recorder()
        async with BinanceRestClient(e) as rest:
            filters = await rest.fetch_exchange_filters([SYMBOL])
            async with MarketDataStream(e, rest, filters, [SYMBOL], rec, backoff=fast_backoff) as md:
                await step_until_in_sync(sim, md)
                sim.faults.depth_gap(SYMBOL, 1)
                for _ in range(30):  # keep the book moving until the dropped diff shows up as a gap
                    sim.step_feed(20)
                    await asyncio.sleep(0.05)
                    if md.books[SYMBOL].gaps:
                        break
                statuses = rec.of(MarketDataStatus)
                assert [(s.in_sync, s.reason) for s in statuses][:2] == [(True, ""), (False, "gap")]
                await step_until_in_sync(sim, md)
                sim.step_feed(10)
                target = sim.engine.depth(SYMBOL, 1000).last_update_id
                await wait_for(lambda: md.books[SYMBOL].last_update_id >= target)
                assert_book_matches(md, sim)
                assert md.books[SYMBOL].gaps == 1
                assert len(rec.of(BookSnapshot)) == 2  # initial sync + rebuild


async def test_watchdog_detects_frozen_stream_within_configured_age() -> None:
    async with SimServer(feed="synthetic", seed=3, speed=1.0) as sim:
        e = endpoints_of(sim)
        rec = Recorder()
        async with BinanceRestClient(e) as rest:
            filters = await rest.fetch_exchange_filters([SYMBOL])
            md = MarketDataStream(
                e, rest, filters, [SYMBOL], rec, max_message_age_s={"public": 0.4, "market": 5.0},
                backoff=fast_backoff,
            )  # fmt: skip
            async with md:
                await wait_for(lambda: md.in_sync(SYMBOL))
                await asyncio.sleep(0.3)
                frozen_at = time.monotonic()
                sim.faults.freeze_ws(2.0, "public")
                await wait_for(lambda: not md.in_sync(SYMBOL), timeout_s=2.0)
                lost = [(t, s) for t, s in rec.events if isinstance(s, MarketDataStatus) and not s.in_sync]
                detected_after = lost[0][0] - frozen_at
                assert lost[0][1].reason == "stale"
                assert detected_after <= 0.4 + 0.1 + 0.25  # age + watchdog period + scheduling slack
                public = next(c for c in md.connections if c.route == "public")
                assert public.watchdog_trips >= 1
                await wait_for(lambda: md.in_sync(SYMBOL), timeout_s=6.0)  # recovers after the freeze


async def test_routing_with_strict_misroute_mode() -> None:
    async with SimServer(feed="synthetic", seed=9, speed=2.0) as sim:
        sim.faults.set_strict_routes(True)
        e = endpoints_of(sim)
        rec = Recorder()
        async with BinanceRestClient(e) as rest, aiohttp.ClientSession() as session:
            filters = await rest.fetch_exchange_filters([SYMBOL])
            md = MarketDataStream(e, rest, filters, [SYMBOL], rec, backoff=fast_backoff)
            assert {c.route: c.streams for c in md.connections} == {
                "public": ["ethusdc@depth@100ms", "ethusdc@bookTicker", "ethusdc@trade"],
                "market": ["ethusdc@markPrice@1s"],
            }
            # negative control: the same streams on the wrong routes are accepted and stay silent
            wrong = [
                f"{e.ws_market}/stream?streams=ethusdc@depth@100ms/ethusdc@bookTicker",
                f"{e.ws_public}/stream?streams=ethusdc@markPrice@1s",
            ]
            silent = [await session.ws_connect(u) for u in wrong]
            async with md:
                await wait_for(lambda: md.in_sync(SYMBOL))
                await wait_for(lambda: bool(rec.of(MarkPriceUpdated)) and bool(rec.of(TradePrinted)), 6.0)
                for ws in silent:
                    with pytest.raises(TimeoutError):
                        await ws.receive(timeout=0.3)
            for ws in silent:
                await ws.close()
            kinds = rec.kinds()
            assert kinds["BookSnapshot"] >= 1 and kinds["BookDelta"] > 0 and kinds["TopOfBook"] > 0
            top = rec.of(TopOfBook)[-1]
            assert top.bid_ticks < top.ask_ticks


async def test_fill_only_via_user_stream_changes_core_position() -> None:
    async with SimServer(feed="manual") as sim:
        e = endpoints_of(sim)
        signer = HmacSigner(sim.api_key, sim.api_secret)
        async with BinanceRestClient(e, signer) as rest:
            filters = await rest.fetch_exchange_filters([SYMBOL])
            f = filters[SYMBOL]
            config = PhoenixConfig(symbols=(SymbolConfig(symbol=SYMBOL, net_max=1.0),))
            store = Store(config, filters, wallet_usdc=100_000.0)
            rec = Recorder()

            async def on_event(ev: Event) -> None:
                await rec(ev)
                store.apply(ev)

            async with UserDataStream(e, rest, filters, on_event, backoff=fast_backoff) as us:
                await asyncio.wait_for(us.connected.wait(), 5.0)
                async with OrderGateway(e, rest, signer, filters) as gw:
                    depth = await rest.fetch_depth(SYMBOL, 5)
                    bid = round(depth.bids[0][0] / f.tick)
                    steps = f.min_steps_at(bid)
                    res = await gw.place(
                        PlaceOrder(
                            symbol=SYMBOL,
                            client_order_id="fill-1",
                            side=Side.BUY,
                            price_ticks=bid,
                            qty_steps=steps,
                        )
                    )
                    assert res.outcome is Outcome.CONFIRMED and res.order is not None
                    assert res.order.filled_steps == 0  # the reply says nothing about the later fill
                assert store.symbols[SYMBOL].position.qty_steps == 0
                # the market sells through our bid: only the user stream can tell us
                sim.apply_trade(SYMBOL, bid, 1000.0, Side.SELL)
                await wait_for(lambda: bool(rec.of(OrderFilled)))
                fill = rec.of(OrderFilled)[0].fill
                assert (fill.client_order_id, fill.side, fill.price_ticks, fill.qty_steps, fill.maker) == (
                    "fill-1", Side.BUY, bid, steps, True,
                )  # fmt: skip
                await wait_for(lambda: any(u.status is OrderStatus.FILLED for u in rec.of(OrderUpdated)))
                assert store.symbols[SYMBOL].position.qty_steps == steps
                exchange = [p for p in await rest.fetch_positions(SYMBOL) if p.symbol == SYMBOL]
                assert round(float(exchange[0].positionAmt) / f.step) == steps


async def test_listen_key_expiry_new_key_and_reconcile() -> None:
    async with SimServer(feed="manual") as sim:
        e = endpoints_of(sim)
        signer = HmacSigner(sim.api_key, sim.api_secret)
        async with BinanceRestClient(e, signer) as rest:
            filters = await rest.fetch_exchange_filters([SYMBOL])
            f = filters[SYMBOL]
            rec = Recorder()
            reconciled: list[set[str]] = []

            async def reconcile() -> None:
                reconciled.append({o.clientOrderId for o in await rest.fetch_open_orders(SYMBOL)})

            us = UserDataStream(e, rest, filters, rec, on_reconnect=reconcile, backoff=fast_backoff)
            async with us, OrderGateway(e, rest, signer, filters, use_ws_api=False) as gw:
                await wait_for(lambda: len(reconciled) == 1)
                first_key = us.listen_key
                bid = round((await rest.fetch_depth(SYMBOL, 5)).bids[0][0] / f.tick)

                def order(cid: str, ticks: int) -> PlaceOrder:
                    return PlaceOrder(symbol=SYMBOL, client_order_id=cid, side=Side.BUY, price_ticks=ticks,
                                      qty_steps=f.min_steps_at(ticks))  # fmt: skip

                assert (await gw.place(order("lk-1", bid - 1))).outcome is Outcome.CONFIRMED
                await wait_for(lambda: any(u.client_order_id == "lk-1" for u in rec.of(OrderUpdated)))
                assert sim.faults.expire_listen_key() >= 1
                # an order placed while the key is dead: its event may be lost, reconciliation must see it
                assert (await gw.place(order("lk-2", bid - 2))).outcome is Outcome.CONFIRMED
                await wait_for(lambda: len(reconciled) == 2)
                assert us.expirations == 1 and us.keys_created == 2
                assert us.listen_key is not None and us.listen_key != first_key
                assert {"lk-1", "lk-2"} <= reconciled[1]
                # events flow again on the new key
                assert (await gw.place(order("lk-3", bid - 3))).outcome is Outcome.CONFIRMED
                await wait_for(lambda: any(u.client_order_id == "lk-3" for u in rec.of(OrderUpdated)))
