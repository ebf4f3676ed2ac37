"""REST behaviour of the simulator over loopback: auth, timestamps, rate limits, orders, account endpoints."""

from __future__ import annotations

import asyncio

import aiohttp
import orjson
import pytest

from phoenix.core.types import Side
from phoenix.exchange.sim.ratelimit import RateLimits
from phoenix.exchange.sim.testing import running_sim
from tests.sim.server.rest_client import RestClient

PLACE = {"symbol": "ETHUSDC", "side": "BUY", "type": "LIMIT", "timeInForce": "GTX", "quantity": "0.010",
         "price": "2990.00", "newClientOrderId": "t-1", "newOrderRespType": "RESULT"}  # fmt: skip


async def test_every_response_carries_weight_header_and_orders_carry_counts(rest: RestClient) -> None:
    status, _, headers = await rest.request(
        "GET", "/fapi/v1/depth", {"symbol": "ETHUSDC", "limit": 1000}, signed=False, key=False
    )
    assert status == 200 and headers["X-MBX-USED-WEIGHT-1M"] == "20"
    status, body, headers = await rest.request("POST", "/fapi/v1/order", PLACE)
    assert status == 200, body
    assert body["status"] == "NEW" and body["clientOrderId"] == "t-1" and body["price"] == "2990.00"
    assert headers["X-MBX-ORDER-COUNT-10S"] == "1" and headers["X-MBX-ORDER-COUNT-1M"] == "1"


async def test_bad_signature_is_1022_and_unknown_key_is_2015(
    sim: object, http: aiohttp.ClientSession
) -> None:
    bad = RestClient(sim, http, secret="not-the-secret")  # type: ignore[arg-type]
    status, body, _ = await bad.request("GET", "/fapi/v3/account")
    assert (status, body["code"]) == (400, -1022)
    stranger = RestClient(sim, http, api_key="who-am-i")  # type: ignore[arg-type]
    status, body, _ = await stranger.request("GET", "/fapi/v3/account")
    assert (status, body["code"]) == (401, -2015)
    status, body, _ = await bad.request("GET", "/fapi/v3/account", key=False)
    assert (status, body["code"]) == (401, -2015)


async def test_signature_over_query_plus_body_split(rest: RestClient) -> None:
    # POST with everything in the query string (python-binance style) also verifies
    status, body, _ = await rest.request("POST", "/fapi/v1/order", PLACE, in_body=False)
    assert status == 200, body


async def test_timestamp_outside_recv_window_is_1021_and_clock_skew_is_served(rest: RestClient) -> None:
    rest.clock_offset_ms = 6000  # client clock 6 s behind the server
    status, body, _ = await rest.request("GET", "/fapi/v3/account")
    assert (status, body["code"]) == (400, -1021)
    status, body, _ = await rest.request("GET", "/fapi/v3/account", {"recvWindow": 10000})
    assert status == 200
    rest.clock_offset_ms = -1500  # client 1.5 s ahead
    status, body, _ = await rest.request("GET", "/fapi/v3/account")
    assert (status, body["code"]) == (400, -1021)
    # server clock skew: /time reports the skewed clock and the window follows it
    rest.clock_offset_ms = 0
    before = rest.sim.now_ms()
    rest.sim.faults.set_clock_skew(30_000)
    _, body, _ = await rest.request("GET", "/fapi/v1/time", signed=False, key=False)
    assert body["serverTime"] >= before + 30_000
    status, body, _ = await rest.request("GET", "/fapi/v3/account", {"timestamp": before})
    assert (status, body["code"]) == (400, -1021)


async def test_429_with_retry_after_then_418_when_ignored() -> None:
    limits = RateLimits(weight_per_minute=30, violations_before_ban=2, ban_initial_ms=120_000)
    async with running_sim(limits=limits) as sim, aiohttp.ClientSession() as http:
        rest = RestClient(sim, http)
        statuses = []
        retry_after = []
        for _ in range(6):
            status, body, headers = await rest.request(
                "GET", "/fapi/v1/depth", {"symbol": "ETHUSDC", "limit": 500}, signed=False, key=False
            )
            statuses.append(status)
            retry_after.append(headers.get("Retry-After"))
            if status in (429, 418):
                assert body["code"] == -1003
        assert statuses[:3] == [200, 200, 200]
        assert statuses[3] == 429 and retry_after[3] is not None and int(retry_after[3]) >= 1
        assert statuses[4] == 429
        assert statuses[5] == 418 and int(retry_after[5]) >= 119


async def test_order_rate_limit_is_1015() -> None:
    async with running_sim(limits=RateLimits(orders_per_10s=2)) as sim, aiohttp.ClientSession() as http:
        rest = RestClient(sim, http)
        codes = []
        for i in range(3):
            status, body, _ = await rest.request(
                "POST", "/fapi/v1/order", {**PLACE, "newClientOrderId": f"r-{i}"}
            )
            codes.append(body.get("code") if status != 200 else 200)
        assert codes == [200, 200, -1015]


async def test_order_errors_carry_binance_codes(rest: RestClient) -> None:
    cases = [
        ({**PLACE, "price": "3000.01"}, -5022),  # GTX would cross the ask
        ({**PLACE, "price": "2990.005"}, -1111),
        ({**PLACE, "quantity": "0.001"}, -4164),
        ({**PLACE, "symbol": "DOGEUSDC"}, -1121),
        ({**PLACE, "type": "STOP_MARKET"}, -4120),
        ({k: v for k, v in PLACE.items() if k != "price"}, -1102),
    ]
    for params, code in cases:
        status, body, _ = await rest.request("POST", "/fapi/v1/order", params)
        assert (status, body["code"]) == (400, code), (params, body)
    status, body, _ = await rest.request("DELETE", "/fapi/v1/order", {"symbol": "ETHUSDC", "orderId": 1})
    assert (status, body["code"]) == (400, -2011)
    status, body, _ = await rest.request(
        "GET", "/fapi/v1/order", {"symbol": "ETHUSDC", "origClientOrderId": "nope"}
    )
    assert (status, body["code"]) == (400, -2013)


async def test_modify_batch_and_cancel_all(rest: RestClient) -> None:
    _, placed, _ = await rest.request("POST", "/fapi/v1/order", PLACE)
    status, body, _ = await rest.request(
        "PUT",
        "/fapi/v1/order",
        {
            "symbol": "ETHUSDC",
            "origClientOrderId": "t-1",
            "side": "BUY",
            "quantity": "0.020",
            "price": "2991.00",
        },
    )
    assert status == 200, body
    assert (body["price"], body["origQty"], body["orderId"]) == ("2991.00", "0.020", placed["orderId"])
    items = [{"symbol": "ETHUSDC", "side": "SELL", "type": "LIMIT", "timeInForce": "GTX", "quantity": "0.010",
              "price": f"{3010 + i}.00", "newClientOrderId": f"b-{i}"} for i in range(4)]  # fmt: skip
    items.append({**items[0], "price": "2999.00", "newClientOrderId": "b-cross"})
    status, body, headers = await rest.request(
        "POST", "/fapi/v1/batchOrders", {"batchOrders": orjson.dumps(items).decode()}
    )
    assert status == 200
    assert [x.get("code") for x in body] == [None, None, None, None, -5022]
    assert headers["X-MBX-ORDER-COUNT-10S"] == "7"  # 1 place + 1 modify + 5 for the batch
    ids = [x["orderId"] for x in body[:2]]
    id_list = orjson.dumps([*ids, 12345]).decode()
    status, body, _ = await rest.request(
        "DELETE", "/fapi/v1/batchOrders", {"symbol": "ETHUSDC", "orderidlist": id_list}, in_body=False
    )
    assert [x.get("status", x.get("code")) for x in body] == ["CANCELED", "CANCELED", -2011]
    _, open_orders, _ = await rest.request("GET", "/fapi/v1/openOrders", {"symbol": "ETHUSDC"})
    assert len(open_orders) == 3
    status, body, _ = await rest.request(
        "DELETE", "/fapi/v1/allOpenOrders", {"symbol": "ETHUSDC"}, in_body=False
    )
    assert body["code"] == 200
    _, open_orders, _ = await rest.request("GET", "/fapi/v1/openOrders")
    assert open_orders == []


async def test_countdown_cancel_all_really_cancels(rest: RestClient) -> None:
    await rest.request("POST", "/fapi/v1/order", PLACE)
    status, body, _ = await rest.request(
        "POST", "/fapi/v1/countdownCancelAll", {"symbol": "ETHUSDC", "countdownTime": 50}
    )
    assert (status, body) == (200, {"symbol": "ETHUSDC", "countdownTime": "50"})
    for _ in range(100):
        _, open_orders, _ = await rest.request("GET", "/fapi/v1/openOrders", {"symbol": "ETHUSDC"})
        if not open_orders:
            break
        await asyncio.sleep(0.02)
    assert open_orders == []


async def test_fill_reflected_in_account_positions_trades_income(rest: RestClient) -> None:
    _, placed, _ = await rest.request("POST", "/fapi/v1/order", {**PLACE, "price": "3000.00"})
    rest.sim.apply_trade("ETHUSDC", 300000, 100.0, Side.SELL)
    _, trades, _ = await rest.request("GET", "/fapi/v1/userTrades", {"symbol": "ETHUSDC"})
    assert [(t["orderId"], t["qty"], t["maker"], t["buyer"]) for t in trades] == [
        (placed["orderId"], "0.010", True, True)
    ]
    _, positions, _ = await rest.request("GET", "/fapi/v3/positionRisk")
    assert [(p["symbol"], p["positionAmt"]) for p in positions] == [("ETHUSDC", "0.010")]
    _, v2, _ = await rest.request("GET", "/fapi/v2/positionRisk")
    assert {p["symbol"] for p in v2} == {"ETHUSDC", "SOLUSDC"}
    _, account, _ = await rest.request("GET", "/fapi/v3/account")
    assert account["assets"][0]["asset"] == "USDC" and account["assets"][0]["updateTime"] > 0
    assert [p["symbol"] for p in account["positions"]] == ["ETHUSDC"]
    _, order, _ = await rest.request(
        "GET", "/fapi/v1/order", {"symbol": "ETHUSDC", "orderId": placed["orderId"]}
    )
    assert order["status"] == "FILLED" and order["executedQty"] == "0.010"
    _, balance, _ = await rest.request("GET", "/fapi/v3/balance")
    assert balance[0]["asset"] == "USDC"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/fapi/v1/leverageBracket"),
        ("GET", "/fapi/v1/symbolConfig"),
        ("GET", "/fapi/v1/accountConfig"),
        ("GET", "/fapi/v1/positionSide/dual"),
        ("GET", "/fapi/v1/multiAssetsMargin"),
        ("GET", "/fapi/v2/account"),
        ("GET", "/fapi/v1/income"),
        ("GET", "/fapi/v1/allOrders?"),
        ("GET", "/fapi/v1/openAlgoOrders"),
    ],
)
async def test_must_serve_signed_endpoints_answer_200(rest: RestClient, method: str, path: str) -> None:
    params = {"symbol": "ETHUSDC"} if path.endswith("?") else {}
    status, body, _ = await rest.request(method, path.rstrip("?"), params)
    assert status == 200, body


@pytest.mark.parametrize(
    "path",
    [
        "/fapi/v1/ping",
        "/fapi/v1/exchangeInfo",
        "/fapi/v1/ticker/bookTicker",
        "/fapi/v1/ticker/price",
        "/fapi/v2/ticker/price",
        "/fapi/v1/ticker/24hr",
        "/fapi/v1/premiumIndex",
        "/fapi/v1/fundingRate",
        "/fapi/v1/fundingInfo",
        "/fapi/v1/trades?symbol=ETHUSDC",
        "/fapi/v1/aggTrades?symbol=ETHUSDC",
        "/api/v3/ping",
        "/sapi/v1/capital/config/getall",
        "/sapi/v1/margin/allPairs",
    ],
)
async def test_must_serve_public_endpoints_answer_200(rest: RestClient, path: str) -> None:
    async with rest.http.get(rest.sim.rest_url + path) as r:
        assert r.status == 200
        assert await r.json() is not None


async def test_leverage_commission_and_margin_type(rest: RestClient) -> None:
    status, body, _ = await rest.request("POST", "/fapi/v1/leverage", {"symbol": "ETHUSDC", "leverage": 7})
    assert (status, body["leverage"]) == (200, 7)
    _, body, _ = await rest.request("GET", "/fapi/v1/commissionRate", {"symbol": "ETHUSDC"})
    assert (body["makerCommissionRate"], body["takerCommissionRate"]) == ("0.000000", "0.000400")
    status, body, _ = await rest.request(
        "POST", "/fapi/v1/marginType", {"symbol": "ETHUSDC", "marginType": "CROSSED"}
    )
    assert (status, body["code"]) == (400, -4046)


async def test_listen_key_lifecycle(rest: RestClient) -> None:
    status, body, _ = await rest.request("POST", "/fapi/v1/listenKey", signed=False)
    key = body["listenKey"]
    assert status == 200 and len(key) == 64
    _, again, _ = await rest.request("POST", "/fapi/v1/listenKey", signed=False)
    assert again["listenKey"] == key
    status, body, _ = await rest.request("PUT", "/fapi/v1/listenKey", signed=False)
    assert (status, body["listenKey"]) == (200, key)
    # a signed keepalive (some clients sign it) is accepted too
    status, _, _ = await rest.request("PUT", "/fapi/v1/listenKey", signed=True)
    assert status == 200
    status, body, _ = await rest.request("DELETE", "/fapi/v1/listenKey", signed=False, in_body=False)
    assert (status, body) == (200, {})
    status, body, _ = await rest.request("PUT", "/fapi/v1/listenKey", signed=False)
    assert (status, body["code"]) == (400, -1125)
