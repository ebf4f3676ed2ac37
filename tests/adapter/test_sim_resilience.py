"""Resilience over loopback: many symbols, handler bugs, scheduled reconnects, periodic resync, funding."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable

from phoenix.core.types import (
    BalanceUpdated,
    BookSnapshot,
    Event,
    FundingPaid,
    MarketDataStatus,
    OrderFilled,
    OrderType,
    PlaceOrder,
    Side,
    TimeInForce,
    TopOfBook,
    TradePrinted,
)
from phoenix.exchange.binance.backoff import Backoff
from phoenix.exchange.binance.clock import ServerClock
from phoenix.exchange.binance.gateway import OrderGateway, Outcome
from phoenix.exchange.binance.market_stream import MarketDataStream
from phoenix.exchange.binance.rest import BinanceRestClient
from phoenix.exchange.binance.signing import HmacSigner
from phoenix.exchange.binance.urls import Endpoints, endpoints_for
from phoenix.exchange.binance.user_stream import UserDataStream
from phoenix.exchange.sim.server import SimServer


def endpoints_of(sim: SimServer) -> Endpoints:
    return endpoints_for(
        "sim", rest=sim.rest_url, ws_public=sim.ws_public_url, ws_market=sim.ws_market_url,
        ws_private=sim.ws_private_url, ws_api=sim.ws_api_url,
    )  # fmt: skip


def fast_backoff() -> Backoff:
    return Backoff(base_s=0.05, cap_s=0.5, rng=random.Random(2))


async def wait_for(cond: Callable[[], bool], timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


async def test_many_symbols_on_combined_streams_each_sync() -> None:
    symbols = ["ETHUSDC", "BTCUSDC", "SOLUSDC", "XRPUSDC"]
    async with SimServer(feed="synthetic", symbols=symbols, seed=4, speed=2.0) as sim:
        e = endpoints_of(sim)
        events: list[Event] = []

        async def on_event(ev: Event) -> None:
            events.append(ev)

        async with BinanceRestClient(e) as rest:
            filters = await rest.fetch_exchange_filters(symbols)
            md = MarketDataStream(e, rest, filters, symbols, on_event, max_streams_per_connection=5,
                                  backoff=fast_backoff)  # fmt: skip
            # 12 public streams in chunks of 5 → 3 public connections, 4 mark-price streams → 1 market one
            assert sorted((c.route, len(c.streams)) for c in md.connections) == [
                ("market", 4), ("public", 2), ("public", 5), ("public", 5),
            ]  # fmt: skip
            async with md:
                await wait_for(lambda: all(md.in_sync(s) for s in symbols), 8.0)
                await wait_for(lambda: {t.symbol for t in events if isinstance(t, TopOfBook)} == set(symbols))
        assert {s.symbol for s in events if isinstance(s, BookSnapshot)} == set(symbols)


async def test_handler_error_reconnects_and_resyncs() -> None:
    async with SimServer(feed="synthetic", seed=6, speed=2.0) as sim:
        e = endpoints_of(sim)
        statuses: list[MarketDataStatus] = []
        blew_up = False

        async def on_event(ev: Event) -> None:
            nonlocal blew_up
            if isinstance(ev, MarketDataStatus):
                statuses.append(ev)
            if isinstance(ev, TopOfBook) and not blew_up:
                blew_up = True
                raise RuntimeError("bug in a downstream handler")

        async with BinanceRestClient(e) as rest:
            filters = await rest.fetch_exchange_filters(["ETHUSDC"])
            async with MarketDataStream(e, rest, filters, ["ETHUSDC"], on_event, backoff=fast_backoff) as md:
                await wait_for(lambda: blew_up and md.handler_errors == 1)
                public = next(c for c in md.connections if c.route == "public")
                await wait_for(lambda: md.in_sync("ETHUSDC") and public.connects >= 2)
                assert md.handler_errors == 1
                assert statuses and statuses[-1].in_sync


async def test_scheduled_reconnect_is_make_before_break_and_keeps_books_in_sync() -> None:
    async with SimServer(feed="synthetic", seed=8, speed=3.0) as sim:
        e = endpoints_of(sim)
        events: list[Event] = []

        async def on_event(ev: Event) -> None:
            events.append(ev)

        async with BinanceRestClient(e) as rest:
            filters = await rest.fetch_exchange_filters(["ETHUSDC"])
            md = MarketDataStream(e, rest, filters, ["ETHUSDC"], on_event, max_connection_age_s=0.5,
                                  backoff=fast_backoff)  # fmt: skip
            async with md:
                public = next(c for c in md.connections if c.route == "public")
                await wait_for(lambda: md.in_sync("ETHUSDC"))
                await wait_for(lambda: public.scheduled_reconnects >= 3 and public.connects >= 4, 6.0)
                assert md.in_sync("ETHUSDC")
                statuses = [s for s in events if isinstance(s, MarketDataStatus)]
                assert [s.in_sync for s in statuses] == [True]  # never left sync across the handovers
                assert len([s for s in events if isinstance(s, BookSnapshot)]) == 1
                assert md.books["ETHUSDC"].gaps == 0 and public.watchdog_trips == 0
                assert any(isinstance(t, TradePrinted) for t in events)
                # the book still equals the simulator's
                await asyncio.sleep(0.3)
                for _ in range(50):
                    view = sim.engine.depth("ETHUSDC", 1000)
                    if md.books["ETHUSDC"].last_update_id == view.last_update_id:
                        bids, asks = md.books["ETHUSDC"].book.levels()
                        assert [p for p, _ in bids] == [p for p, _ in view.bids]
                        assert [p for p, _ in asks] == [p for p, _ in view.asks]
                        break
                    await asyncio.sleep(0.01)
                else:
                    raise AssertionError("never caught the book at the simulator's update id")


async def test_periodic_clock_resync_in_background() -> None:
    async with SimServer(feed="manual") as sim:
        e = endpoints_of(sim)
        clock = ServerClock(resync_interval_ms=200)
        async with BinanceRestClient(e, HmacSigner(sim.api_key, sim.api_secret), clock=clock) as rest:
            first = clock.synced_at_ms
            assert first is not None
            sim.faults.set_clock_skew(2_000)  # within recvWindow: no -1021, only the periodic sync sees it
            await asyncio.sleep(0.25)
            await rest.fetch_account()
            await wait_for(lambda: clock.synced_at_ms != first)
            assert abs(clock.offset_ms - 2_000) < 200 and rest.resyncs == 0


async def test_funding_fee_reaches_core_as_funding_paid() -> None:
    period_ms = 8 * 3600 * 1000
    now = [(time.time_ns() // 1_000_000 // period_ms + 1) * period_ms - 60_000]  # one minute before funding

    def sim_clock() -> int:
        return now[0]

    async with SimServer(feed="manual", clock_ms=sim_clock) as sim:
        e = endpoints_of(sim)
        signer = HmacSigner(sim.api_key, sim.api_secret)
        events: list[Event] = []

        async def on_event(ev: Event) -> None:
            events.append(ev)

        async with BinanceRestClient(e, signer) as rest:
            filters = await rest.fetch_exchange_filters(["ETHUSDC"])
            f = filters["ETHUSDC"]
            async with UserDataStream(e, rest, filters, on_event, backoff=fast_backoff) as us:
                await asyncio.wait_for(us.connected.wait(), 5.0)
                async with OrderGateway(e, rest, signer, filters) as gw:
                    res = await gw.place(
                        PlaceOrder(symbol="ETHUSDC", client_order_id="long-1", side=Side.BUY, price_ticks=0,
                                   qty_steps=100, order_type=OrderType.MARKET, time_in_force=TimeInForce.IOC)
                    )  # fmt: skip
                    assert res.outcome is Outcome.CONFIRMED
                await wait_for(lambda: any(isinstance(x, OrderFilled) for x in events))
                premium = await rest.fetch_premium_index("ETHUSDC")
                now[0] += 61_000  # past the funding time
                sim.advance_timers()
                await wait_for(lambda: any(isinstance(x, FundingPaid) for x in events))
            income = await rest.fetch_income(income_type="FUNDING_FEE", symbol="ETHUSDC")
        paid = next(x for x in events if isinstance(x, FundingPaid))
        assert [round(r.income, 8) for r in income] == [round(paid.amount_usdc, 8)]
        expected = -(100 * f.step) * premium.markPrice * premium.lastFundingRate  # long pays a positive rate
        assert paid.symbol == "ETHUSDC"
        assert abs(paid.amount_usdc - expected) < 1e-6 + abs(expected) * 0.01
        idx = events.index(paid)
        assert isinstance(events[idx + 1], BalanceUpdated)


async def test_limiter_adopts_exchange_limits_and_never_triggers_429() -> None:
    from phoenix.exchange.sim.ratelimit import RateLimits

    async with SimServer(feed="manual", limits=RateLimits(orders_per_10s=10)) as sim:
        # put the server clock ~1.2 s before a 10 s window boundary so the wait for the next window is short
        wall_ms = time.time_ns() // 1_000_000
        sim.faults.set_clock_skew((8_800 - wall_ms % 10_000) % 10_000)
        e = endpoints_of(sim)
        signer = HmacSigner(sim.api_key, sim.api_secret)
        async with BinanceRestClient(e, signer) as rest:
            filters = await rest.fetch_exchange_filters(["ETHUSDC"])
            assert any(c.kind == "orders" and c.limit == 10 for c in rest.limiter.counters)
            f = filters["ETHUSDC"]
            bid = round((await rest.fetch_depth("ETHUSDC", 5)).bids[0][0] / f.tick)
            orders = [
                PlaceOrder(
                    symbol="ETHUSDC", client_order_id=f"rl-{i}", side=Side.BUY, price_ticks=px,
                    qty_steps=f.min_steps_at(px),
                )
                for i, px in enumerate(range(bid - 10, bid - 20, -1))
            ]  # fmt: skip
            async with OrderGateway(e, rest, signer, filters) as gw:
                results = await gw.place_many(orders)
            assert [r.outcome for r in results] == [Outcome.CONFIRMED] * 10  # 8 at once, 2 after the window
            assert rest.limiter.waits >= 1 and rest.limiter.rejections_429 == 0
            assert len(await rest.fetch_open_orders("ETHUSDC")) == 10


async def test_listen_key_keepalive_and_invalid_key_recreates() -> None:
    async with SimServer(feed="manual") as sim:
        e = endpoints_of(sim)
        signer = HmacSigner(sim.api_key, sim.api_secret)
        reconnects = 0

        async def on_reconnect() -> None:
            nonlocal reconnects
            reconnects += 1

        async def on_event(ev: Event) -> None:
            return None

        async with BinanceRestClient(e, signer) as rest:
            filters = await rest.fetch_exchange_filters(["ETHUSDC"])
            us = UserDataStream(
                e, rest, filters, on_event, on_reconnect=on_reconnect, keepalive_interval_s=0.15,
                keepalive_retry_s=0.05, backoff=fast_backoff,
            )  # fmt: skip
            async with us:
                await wait_for(lambda: us.keepalives >= 2)
                first = us.listen_key
                assert first is not None
                await rest.close_listen_key(first)  # the key dies behind the stream's back
                await wait_for(lambda: us.keys_created >= 2 and reconnects >= 2)
                assert us.listen_key != first or us.expirations >= 1
                await asyncio.wait_for(us.connected.wait(), 5.0)


async def test_dropped_connections_reconnect_resync_and_reconcile() -> None:
    async with SimServer(feed="synthetic", seed=12, speed=2.0) as sim:
        e = endpoints_of(sim)
        signer = HmacSigner(sim.api_key, sim.api_secret)
        events: list[Event] = []
        reconciles = 0

        async def on_event(ev: Event) -> None:
            events.append(ev)

        async def reconcile() -> None:
            nonlocal reconciles
            reconciles += 1

        async with BinanceRestClient(e, signer) as rest:
            filters = await rest.fetch_exchange_filters(["ETHUSDC"])
            md = MarketDataStream(e, rest, filters, ["ETHUSDC"], on_event, backoff=fast_backoff)
            us = UserDataStream(e, rest, filters, on_event, on_reconnect=reconcile, backoff=fast_backoff)
            async with md, us:
                await wait_for(lambda: md.in_sync("ETHUSDC") and reconciles == 1)
                key = us.listen_key
                assert sim.faults.drop_ws(None, refuse_s=0.3) >= 2  # every socket, refused for a moment
                await wait_for(lambda: not md.in_sync("ETHUSDC"))
                await wait_for(lambda: md.in_sync("ETHUSDC") and reconciles == 2, 6.0)
                statuses = [(s.in_sync, s.reason) for s in events if isinstance(s, MarketDataStatus)]
                assert statuses == [(True, ""), (False, "disconnected"), (True, "")]
                assert us.connects == 2 and us.listen_key == key  # POST returned the still-valid key


async def test_persistent_handler_failure_backs_off_instead_of_hammering() -> None:
    async with SimServer(feed="synthetic", seed=13, speed=2.0) as sim:
        e = endpoints_of(sim)

        async def broken(ev: Event) -> None:
            if isinstance(ev, TopOfBook):
                raise RuntimeError("always broken")

        async with BinanceRestClient(e) as rest:
            filters = await rest.fetch_exchange_filters(["ETHUSDC"])
            md = MarketDataStream(e, rest, filters, ["ETHUSDC"], broken, backoff=fast_backoff)
            async with md:
                await asyncio.sleep(2.0)
                public = next(c for c in md.connections if c.route == "public")
        # backoff 0.05 s doubling to 0.5 s: about 6 attempts in 2 s, not one every 50 ms
        assert 2 <= public.connects <= 10
        assert md.handler_errors == public.connects
