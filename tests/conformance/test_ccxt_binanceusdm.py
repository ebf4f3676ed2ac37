"""Conformance: unmodified ccxt ``binanceusdm`` 4.5.90 against the simulator (URLs per protocol doc §11.1)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import ccxt
import ccxt.pro as ccxtpro
import pytest

from phoenix.core.types import Side
from phoenix.exchange.sim.server import SimServer
from phoenix.exchange.sim.testing import running_sim

SYMBOL = "ETH/USDC:USDC"
pytestmark = pytest.mark.timeout(60)


def make_client(sim: SimServer, *, secret: str | None = None, api_key: str | None = None) -> Any:
    ex = ccxtpro.binanceusdm(
        {
            "apiKey": api_key or sim.api_key,
            "secret": secret or sim.api_secret,
            "options": {"fetchCurrencies": False, "adjustForTimeDifference": False},
        }
    )
    apis = [("fapiPublic", "v1"), ("fapiPublicV2", "v2"), ("fapiPublicV3", "v3"),
            ("fapiPrivate", "v1"), ("fapiPrivateV2", "v2"), ("fapiPrivateV3", "v3")]  # fmt: skip
    for name, version in apis:
        ex.urls["api"][name] = f"{sim.rest_url}/fapi/{version}"
    ex.urls["api"]["fapiData"] = f"{sim.rest_url}/futures/data"
    ex.urls["api"]["ws"]["linear"] = f"{sim.ws_url}/ws"
    ex.urls["api"]["ws"]["ws-api"]["linear"] = sim.ws_api_url
    return ex


@pytest.fixture
async def sim() -> AsyncIterator[SimServer]:
    async with running_sim(symbols=["ETHUSDC", "SOLUSDC"]) as server:
        yield server


@pytest.fixture
async def client(sim: SimServer) -> AsyncIterator[Any]:
    ex = make_client(sim)
    try:
        yield ex
    finally:
        await asyncio.sleep(0.05)  # let ccxt's background position snapshot finish
        await ex.close()


async def test_load_markets_and_order_book(sim: SimServer, client: Any) -> None:
    markets = await client.load_markets()
    eth = markets[SYMBOL]
    assert eth["active"] and eth["swap"] and eth["settle"] == "USDC"
    assert eth["precision"]["price"] == 0.01 and eth["precision"]["amount"] == 0.001
    assert eth["limits"]["cost"]["min"] == 20
    assert "SOL/USDC:USDC" in markets
    book = await client.fetch_order_book(SYMBOL, 5)
    depth = sim.engine.depth("ETHUSDC", 5)
    assert book["nonce"] == depth.last_update_id
    assert book["bids"][0][0] == pytest.approx(depth.bids[0][0] * 0.01)
    assert book["asks"][0][0] > book["bids"][0][0]
    assert len(book["bids"]) == 5


async def test_post_only_order_lifecycle(sim: SimServer, client: Any) -> None:
    order = await client.create_order(SYMBOL, "limit", "buy", 0.01, 2990.0, {"postOnly": True})
    assert order["status"] == "open" and order["postOnly"] is True
    assert order["amount"] == pytest.approx(0.01) and order["price"] == pytest.approx(2990.0)
    open_orders = await client.fetch_open_orders(SYMBOL)
    assert [o["id"] for o in open_orders] == [order["id"]]
    canceled = await client.cancel_order(order["id"], SYMBOL)
    assert canceled["status"] == "canceled"
    assert await client.fetch_open_orders(SYMBOL) == []
    with pytest.raises(ccxt.OrderNotFound):
        await client.cancel_order(order["id"], SYMBOL)


async def test_post_only_that_would_cross_is_rejected_as_invalid_order(client: Any) -> None:
    with pytest.raises(ccxt.InvalidOrder, match="-5022"):
        await client.create_order(SYMBOL, "limit", "buy", 0.01, 3000.01, {"postOnly": True})


async def test_fill_shows_in_my_trades_positions_and_balance(sim: SimServer, client: Any) -> None:
    balance = await client.fetch_balance()
    assert balance["USDC"]["total"] == pytest.approx(100_000.0)
    assert await client.fetch_positions() == []
    order = await client.create_order(SYMBOL, "limit", "buy", 0.02, 3000.0, {"postOnly": True})
    # a market sell sweeps the bid level, queue ahead included
    sim.apply_trade("ETHUSDC", 300000, 50.0, Side.SELL)
    trades = await client.fetch_my_trades(SYMBOL)
    assert len(trades) == 1
    assert trades[0]["order"] == order["id"]
    assert trades[0]["side"] == "buy" and trades[0]["takerOrMaker"] == "maker"
    assert trades[0]["amount"] == pytest.approx(0.02) and trades[0]["price"] == pytest.approx(3000.0)
    positions = await client.fetch_positions()
    assert len(positions) == 1
    assert positions[0]["symbol"] == SYMBOL and positions[0]["side"] == "long"
    assert positions[0]["contracts"] == pytest.approx(0.02)
    assert positions[0]["entryPrice"] == pytest.approx(3000.0)
    balance = await client.fetch_balance()
    assert balance["USDC"]["used"] > 0


async def test_bad_secret_is_authentication_error(sim: SimServer) -> None:
    ex = make_client(sim, secret="wrong-secret")
    try:
        with pytest.raises(ccxt.AuthenticationError, match="-1022"):
            await ex.fetch_balance()
    finally:
        await ex.close()


async def test_unknown_key_is_authentication_error(sim: SimServer) -> None:
    ex = make_client(sim, api_key="nobody")
    try:
        with pytest.raises(ccxt.AuthenticationError, match="-2015"):
            await ex.fetch_open_orders(SYMBOL)
    finally:
        await ex.close()


async def test_watch_order_book_follows_depth_updates(sim: SimServer, client: Any) -> None:
    await _watch_order_book_follows_depth_updates(sim, client)


async def test_watch_order_book_with_100ms_windows() -> None:
    async with running_sim(symbols=["ETHUSDC"], immediate_depth=False) as sim:
        ex = make_client(sim)
        try:
            await _watch_order_book_follows_depth_updates(sim, ex)
        finally:
            await ex.close()


async def _watch_order_book_follows_depth_updates(sim: SimServer, client: Any) -> None:
    book = await client.watch_order_book(SYMBOL)
    assert book["nonce"] >= sim.engine.depth("ETHUSDC", 5).last_update_id - 1
    sim.apply_delta("ETHUSDC", [(300000, 1.25)], [(300001, 0.0)])
    for _ in range(20):
        book = await asyncio.wait_for(client.watch_order_book(SYMBOL), 5)
        if book["bids"][0][1] == pytest.approx(1.25):
            break
    assert book["bids"][0] == [3000.0, pytest.approx(1.25)]
    assert book["asks"][0][0] == pytest.approx(3000.02)  # 3000.01 was removed
    assert book["nonce"] == sim.engine.depth("ETHUSDC", 5).last_update_id


async def test_watch_orders_receives_order_trade_updates(sim: SimServer, client: Any) -> None:
    watcher = asyncio.ensure_future(client.watch_orders(SYMBOL))
    for _ in range(100):  # wait until the user stream is connected
        if sim.users._conns:
            break
        await asyncio.sleep(0.02)
    order = await client.create_order(SYMBOL, "limit", "sell", 0.01, 3010.0, {"postOnly": True})
    updates = await asyncio.wait_for(watcher, 5)
    assert [(o["id"], o["status"]) for o in updates] == [(order["id"], "open")]
    watcher = asyncio.ensure_future(client.watch_orders(SYMBOL))
    await client.cancel_order(order["id"], SYMBOL)
    updates = await asyncio.wait_for(watcher, 5)
    assert updates[-1]["id"] == order["id"] and updates[-1]["status"] == "canceled"


async def test_create_order_ws_through_ws_api(client: Any) -> None:
    await client.load_markets()
    order = await client.create_order_ws(SYMBOL, "limit", "sell", 0.01, 3011.0, {"postOnly": True})
    assert order["status"] == "open" and order["price"] == pytest.approx(3011.0)
    open_orders = await client.fetch_open_orders(SYMBOL)
    assert [o["id"] for o in open_orders] == [order["id"]]


async def test_more_unified_methods(sim: SimServer, client: Any) -> None:
    await client.load_markets()
    ticker = await client.fetch_ticker(SYMBOL)
    assert ticker["symbol"] == SYMBOL
    funding = await client.fetch_funding_rate(SYMBOL)
    assert funding["fundingRate"] == pytest.approx(0.0001) and funding["markPrice"] == pytest.approx(3000.005)
    assert (await client.set_leverage(5, SYMBOL))["leverage"] == 5
    fee = await client.fetch_trading_fee(SYMBOL)
    assert (fee["maker"], fee["taker"]) == (0.0, pytest.approx(0.0004))
    order = await client.create_order(SYMBOL, "limit", "buy", 0.01, 2990.0, {"postOnly": True})
    fetched = await client.fetch_order(order["id"], SYMBOL)
    assert fetched["status"] == "open" and fetched["clientOrderId"] == order["clientOrderId"]
    edited = await client.edit_order(order["id"], SYMBOL, "limit", "buy", 0.02, 2991.0)
    assert (edited["id"], edited["price"], edited["amount"]) == (order["id"], 2991.0, 0.02)
    batch = await client.create_orders(
        [
            {"symbol": SYMBOL, "type": "limit", "side": "sell", "amount": 0.01, "price": 3020.0},
            {"symbol": SYMBOL, "type": "limit", "side": "sell", "amount": 0.01, "price": 3021.0},
        ]
    )
    assert [o["status"] for o in batch] == ["open", "open"]
    await client.cancel_all_orders(SYMBOL)
    assert await client.fetch_open_orders(SYMBOL) == []
    taker = await client.create_order(SYMBOL, "market", "buy", 0.01)
    assert taker["status"] == "closed" and taker["average"] == pytest.approx(3000.01)
    public = await client.fetch_trades(SYMBOL)
    assert public and public[-1]["price"] == pytest.approx(3000.01)
    mine = await client.fetch_my_trades(SYMBOL)
    assert mine[-1]["takerOrMaker"] == "taker" and mine[-1]["fee"]["cost"] == pytest.approx(
        3000.01 * 0.01 * 0.0004
    )


async def test_ed25519_key_signs_rest_and_ws_api_requests() -> None:
    async with running_sim(ed25519=True) as sim:
        assert sim.ed25519_api_key is not None and sim.ed25519_private_pem is not None
        ex = make_client(sim, api_key=sim.ed25519_api_key, secret=sim.ed25519_private_pem)
        try:
            balance = await ex.fetch_balance()
            assert balance["USDC"]["total"] == pytest.approx(100_000.0)
            order = await ex.create_order(SYMBOL, "limit", "buy", 0.01, 2990.0, {"postOnly": True})
            ws_order = await ex.create_order_ws(SYMBOL, "limit", "sell", 0.01, 3012.0, {"postOnly": True})
            ed_account = sim.account_id(sim.ed25519_api_key)
            assert {str(o.order_id) for o in sim.engine.open_orders(ed_account)} == {
                order["id"],
                ws_order["id"],
            }
        finally:
            await asyncio.sleep(0.05)
            await ex.close()
