"""REST client and order gateway against the simulator over real loopback sockets."""

from __future__ import annotations

import asyncio
import time

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from phoenix.core.types import CancelOrder, ModifyOrder, OrderStatus, PlaceOrder, Side, SymbolFilters
from phoenix.errors import AuthError, ExchangeUnavailable, RateLimitError, UnknownOrderError
from phoenix.exchange.binance.gateway import OrderGateway, Outcome
from phoenix.exchange.binance.rest import BinanceRestClient
from phoenix.exchange.binance.signing import Ed25519Signer, HmacSigner
from phoenix.exchange.binance.urls import Endpoints, endpoints_for
from phoenix.exchange.sim.server import SimAccount, SimServer

SYMBOL = "ETHUSDC"


async def _best(rest: BinanceRestClient, f: SymbolFilters) -> tuple[int, int]:
    d = await rest.fetch_depth(SYMBOL, 5)
    return round(d.bids[0][0] / f.tick), round(d.asks[0][0] / f.tick)


def _buy(cid: str, ticks: int, f: SymbolFilters) -> PlaceOrder:
    return PlaceOrder(
        symbol=SYMBOL, client_order_id=cid, side=Side.BUY, price_ticks=ticks, qty_steps=f.min_steps_at(ticks)
    )


async def test_rest_queries(endpoints: Endpoints, signer: HmacSigner) -> None:
    async with BinanceRestClient(endpoints, signer) as rest:
        filters = await rest.fetch_exchange_filters([SYMBOL])
        f = filters[SYMBOL]
        assert f.tick_size == f.tick_size.__class__("0.01") and f.min_notional > 0
        bid, ask = await _best(rest, f)
        assert 0 < bid < ask
        account = await rest.fetch_account()
        assert any(a.asset == "USDC" and a.walletBalance > 0 for a in account.assets)
        assert all(p.positionAmt in ("0", "0.000") for p in await rest.fetch_positions())  # flat account
        assert (await rest.fetch_balances())[0].asset
        fee = await rest.fetch_commission_rate(SYMBOL)
        assert fee.symbol == SYMBOL and fee.takerCommissionRate >= 0
        premium = await rest.fetch_premium_index(SYMBOL)
        assert premium.markPrice > 0 and premium.nextFundingTime > 0
        assert (await rest.countdown_cancel_all(SYMBOL, 60_000)).countdownTime == 60_000
        key = await rest.create_listen_key()
        await rest.keepalive_listen_key(key)
        await rest.close_listen_key(key)
        with pytest.raises(UnknownOrderError):
            await rest.fetch_order(SYMBOL, "never-sent")
        assert rest.limiter.usage()["weight_60000ms"] > 0  # headers were read


async def test_wrong_secret_is_auth_error_without_leaking_secret(
    endpoints: Endpoints, sim: SimServer
) -> None:
    secret = "definitely-wrong-secret-value"
    async with BinanceRestClient(endpoints, HmacSigner(sim.api_key, secret)) as rest:
        with pytest.raises(AuthError) as ei:
            await rest.fetch_account()
        assert secret not in str(ei.value) and sim.api_key not in str(ei.value)


async def test_clock_skew_gives_1021_then_resync_and_success(
    endpoints: Endpoints, signer: HmacSigner, sim: SimServer
) -> None:
    async with BinanceRestClient(endpoints, signer) as rest:
        assert abs(rest.clock.offset_ms) < 200
        sim.faults.set_clock_skew(-30_000)  # server 30 s behind: our timestamps are "ahead"
        account = await rest.fetch_account()
        assert account.assets
        assert rest.resyncs == 1
        assert abs(rest.clock.offset_ms + 30_000) < 200
        sim.faults.set_clock_skew(+45_000)  # now outside recvWindow the other way, via the WS API
        f = (await rest.fetch_exchange_filters([SYMBOL]))[SYMBOL]
        bid, _ = await _best(rest, f)
        async with OrderGateway(endpoints, rest, signer, {SYMBOL: f}) as gw:
            assert gw.ws_ready
            res = await gw.place(_buy("skew-1", bid - 20, f))
            assert res.outcome is Outcome.CONFIRMED and res.via == "ws"
        assert rest.resyncs == 2 and abs(rest.clock.offset_ms - 45_000) < 200


async def test_429_storm_backs_off_without_ban_and_resumes(
    endpoints: Endpoints, signer: HmacSigner, sim: SimServer
) -> None:
    async with BinanceRestClient(endpoints, signer) as rest:
        sim.faults.rate_limit_storm(count=3, retry_after_s=1)
        outcomes: list[str] = []
        started = time.monotonic()
        for _ in range(12):
            try:
                await rest.fetch_positions()
                outcomes.append("ok")
            except RateLimitError as exc:
                assert exc.http_status == 429, exc  # never 418
                outcomes.append("429")
        elapsed = time.monotonic() - started
        assert outcomes.count("429") == 3
        assert outcomes[-9:] == ["ok"] * 9
        assert elapsed >= 3.0  # each Retry-After (1 s) was honoured before sending again
        assert rest.limiter.rejections_418 == 0 and rest.limiter.rejections_429 == 3
        assert all(s.violations == 0 and s.bans == 0 for s in sim.limiter._ips.values())


async def test_gateway_ws_place_modify_cancel_and_classification(
    endpoints: Endpoints, signer: HmacSigner
) -> None:
    async with BinanceRestClient(endpoints, signer) as rest:
        filters = await rest.fetch_exchange_filters([SYMBOL])
        f = filters[SYMBOL]
        bid, ask = await _best(rest, f)
        async with OrderGateway(endpoints, rest, signer, filters) as gw:
            placed = await gw.place(_buy("g-1", bid - 5, f))
            assert placed.outcome is Outcome.CONFIRMED and placed.via == "ws"
            assert placed.order is not None and placed.order.status is OrderStatus.NEW
            assert placed.order.price_ticks == bid - 5
            moved = await gw.modify(
                ModifyOrder(
                    symbol=SYMBOL,
                    client_order_id="g-1",
                    side=Side.BUY,
                    price_ticks=bid - 6,
                    qty_steps=placed.order.qty_steps,
                )
            )
            assert moved.outcome is Outcome.CONFIRMED and moved.order is not None
            assert moved.order.price_ticks == bid - 6
            crossing = await gw.place(_buy("g-2", ask + 1, f))  # post-only through the ask
            assert crossing.outcome is Outcome.REJECTED and crossing.code == -5022
            gone = await gw.cancel(CancelOrder(symbol=SYMBOL, client_order_id="g-1"))
            assert gone.outcome is Outcome.CONFIRMED and gone.order is not None
            assert gone.order.status is OrderStatus.CANCELED
            again = await gw.cancel(CancelOrder(symbol=SYMBOL, client_order_id="g-1"))
            assert again.outcome is Outcome.REJECTED and again.code == -2011


async def test_rest_fallback_with_batch_orders_when_ws_api_is_down(
    endpoints: Endpoints, signer: HmacSigner, sim: SimServer
) -> None:
    async with BinanceRestClient(endpoints, signer) as rest:
        filters = await rest.fetch_exchange_filters([SYMBOL])
        f = filters[SYMBOL]
        bid, ask = await _best(rest, f)
        async with OrderGateway(endpoints, rest, signer, filters, request_timeout_s=2.0) as gw:
            assert gw.ws_ready
            sim.faults.drop_ws("ws-api", refuse_s=10.0)
            for _ in range(100):
                if not gw.ws_ready:
                    break
                await asyncio.sleep(0.01)
            assert not gw.ws_ready
            orders = [_buy(f"fb-{i}", bid - 10 - i, f) for i in range(6)] + [_buy("fb-cross", ask + 2, f)]
            results = await gw.place_many(orders)
            assert [r.via for r in results] == ["rest"] * 7
            assert [r.outcome for r in results[:6]] == [Outcome.CONFIRMED] * 6
            assert results[6].outcome is Outcome.REJECTED and results[6].code == -5022
            single = await gw.cancel(CancelOrder(symbol=SYMBOL, client_order_id="fb-0"))
            assert single.outcome is Outcome.CONFIRMED and single.via == "rest"
            assert gw.rest_fallbacks >= 2
            open_ids = {o.clientOrderId for o in await rest.fetch_open_orders(SYMBOL)}
            assert open_ids == {f"fb-{i}" for i in range(1, 6)}
            await rest.cancel_all_orders(SYMBOL)
            assert await rest.fetch_open_orders(SYMBOL) == []


@pytest.mark.parametrize(("via_ws", "mode"), [(True, "hang"), (False, "disconnect")])
async def test_lost_ack_is_unknown_and_resolved_by_query(
    endpoints: Endpoints, signer: HmacSigner, sim: SimServer, via_ws: bool, mode: str
) -> None:
    async with BinanceRestClient(endpoints, signer, timeout_s=3.0) as rest:
        filters = await rest.fetch_exchange_filters([SYMBOL])
        f = filters[SYMBOL]
        bid, _ = await _best(rest, f)
        async with OrderGateway(
            endpoints, rest, signer, filters, use_ws_api=via_ws, request_timeout_s=0.5
        ) as gw:
            sim.faults.lose_order_acks(1, mode=mode)
            res = await gw.place(_buy("lost-1", bid - 3, f))
            assert res.outcome is Outcome.UNKNOWN, res
            assert res.via == ("ws" if via_ws else "rest")
            resolved = await gw.resolve(res)
            assert resolved.outcome is Outcome.CONFIRMED
            assert resolved.order is not None and resolved.order.status is OrderStatus.NEW
            assert resolved.order.price_ticks == bid - 3
            never = await gw.query(SYMBOL, "lost-never-sent")
            assert never.outcome is Outcome.REJECTED and never.code == -2013


async def test_5xx_unknown_status_is_unknown(
    endpoints: Endpoints, signer: HmacSigner, sim: SimServer
) -> None:
    async with BinanceRestClient(endpoints, signer) as rest:
        filters = await rest.fetch_exchange_filters([SYMBOL])
        f = filters[SYMBOL]
        bid, _ = await _best(rest, f)
        async with OrderGateway(endpoints, rest, signer, filters, use_ws_api=False) as gw:
            sim.faults.error_storm(kind="unknown", count=1)
            res = await gw.place(_buy("u-1", bid - 3, f))
            assert res.outcome is Outcome.UNKNOWN and isinstance(res.error, ExchangeUnavailable)
            assert (await gw.resolve(res)).outcome is Outcome.REJECTED  # the storm answered before executing


async def test_ed25519_session_logon_then_unsigned_requests() -> None:
    key = Ed25519PrivateKey.generate()
    public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    account = SimAccount(api_key="ed25519-test-key", ed25519_public_key=public)
    async with SimServer(feed="manual", accounts=[account]) as sim:
        endpoints = endpoints_for(
            "sim", rest=sim.rest_url, ws_public=sim.ws_public_url, ws_market=sim.ws_market_url,
            ws_private=sim.ws_private_url, ws_api=sim.ws_api_url,
        )  # fmt: skip
        signer = Ed25519Signer("ed25519-test-key", key)
        async with BinanceRestClient(endpoints, signer) as rest:
            filters = await rest.fetch_exchange_filters([SYMBOL])
            f = filters[SYMBOL]
            bid, _ = await _best(rest, f)
            sim.faults.set_clock_skew(-20_000)  # the logon itself meets -1021 first, resyncs and retries
            async with OrderGateway(endpoints, rest, signer, filters) as gw:
                assert gw.ws_ready and gw._logged_on
                assert rest.resyncs == 1
                res = await gw.place(_buy("ed-1", bid - 2, f))
                assert res.outcome is Outcome.CONFIRMED and res.via == "ws"
            assert (await rest.fetch_order(SYMBOL, "ed-1")).status == "NEW"


async def test_account_snapshot_reports_positions_orders_and_wallet(
    endpoints: Endpoints, signer: HmacSigner
) -> None:
    from phoenix.core.types import OrderType, PositionSynced, TimeInForce
    from phoenix.exchange.binance.reconcile import fetch_account_snapshot

    async with BinanceRestClient(endpoints, signer) as rest:
        filters = await rest.fetch_exchange_filters([SYMBOL])
        f = filters[SYMBOL]
        flat = await fetch_account_snapshot(rest, filters, [SYMBOL])
        assert flat.positions == (
            PositionSynced(symbol=SYMBOL, ts_ns=flat.ts_ns, qty_steps=0, entry_price=0.0),
        )
        assert flat.open_orders == () and flat.wallet_usdc > 0
        bid, _ = await _best(rest, f)
        async with OrderGateway(endpoints, rest, signer, filters) as gw:
            taker = PlaceOrder(
                symbol=SYMBOL,
                client_order_id="snap-mkt",
                side=Side.SELL,
                price_ticks=0,
                qty_steps=20,
                order_type=OrderType.MARKET,
                time_in_force=TimeInForce.IOC,
            )
            assert (await gw.place(taker)).outcome is Outcome.CONFIRMED
            assert (await gw.place(_buy("snap-rest", bid - 4, f))).outcome is Outcome.CONFIRMED
        snap = await fetch_account_snapshot(rest, filters, [SYMBOL])
        assert snap.positions[0].qty_steps == -20 and snap.positions[0].entry_price > 0
        assert [(o.client_order_id, o.status, o.price_ticks) for o in snap.open_orders] == [
            ("snap-rest", OrderStatus.NEW, bid - 4)
        ]
        assert snap.wallet_usdc <= flat.wallet_usdc  # the taker fee was paid
        events = snap.events()
        assert events[0] == snap.positions[0] and events[-1].wallet_usdc == snap.wallet_usdc  # type: ignore[union-attr]
