"""Market streams (routes, SUBSCRIBE protocol, strict mis-route) and fault injection over loopback."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import orjson
import pytest
from typer.testing import CliRunner

from phoenix.core.types import Side
from phoenix.exchange.sim.cli import sim_app
from phoenix.exchange.sim.server import SimServer
from tests.sim.server.rest_client import RestClient

pytestmark = pytest.mark.timeout(30)
PLACE = {"symbol": "ETHUSDC", "side": "BUY", "type": "LIMIT", "timeInForce": "GTX", "quantity": "0.010",
         "price": "2990.00", "newClientOrderId": "f-1"}  # fmt: skip


async def recv_json(ws: aiohttp.ClientWebSocketResponse, timeout_s: float = 5.0) -> dict[str, object]:
    msg = await asyncio.wait_for(ws.receive(), timeout_s)
    assert msg.type is aiohttp.WSMsgType.TEXT, msg
    return orjson.loads(msg.data)  # type: ignore[no-any-return]


async def silent(ws: aiohttp.ClientWebSocketResponse, within_s: float = 0.2) -> bool:
    try:
        await asyncio.wait_for(ws.receive(), within_s)
    except TimeoutError:
        return True
    return False


async def test_routed_raw_and_combined_streams(sim: SimServer, http: aiohttp.ClientSession) -> None:
    ticker = await http.ws_connect(f"{sim.ws_public_url}/ws/ethusdc@bookTicker")
    agg = await http.ws_connect(f"{sim.ws_market_url}/ws/ethusdc@aggTrade")
    combined = await http.ws_connect(
        f"{sim.ws_market_url}/stream?streams=ethusdc@markPrice@1s/ethusdc@aggTrade"
    )
    sim.apply_delta("ETHUSDC", [(300000, 2.5)], [])
    bt = await recv_json(ticker)
    assert (bt["e"], bt["s"], bt["b"], bt["B"]) == ("bookTicker", "ETHUSDC", "3000.00", "2.500")
    assert bt["u"] == sim.engine.depth("ETHUSDC", 5).last_update_id
    sim.apply_trade("ETHUSDC", 300001, 0.5, Side.BUY)
    trade = await recv_json(agg)
    assert (trade["e"], trade["p"], trade["q"], trade["m"]) == ("aggTrade", "3000.01", "0.500", False)
    wrapped = await recv_json(combined)
    assert wrapped["stream"] == "ethusdc@aggTrade" and wrapped["data"]["e"] == "aggTrade"  # type: ignore[index]
    sim.apply_mark_price("ETHUSDC", 3000.5, 0.0002)
    wrapped = await recv_json(combined)
    assert wrapped["stream"] == "ethusdc@markPrice@1s"
    assert wrapped["data"]["r"] == "0.00020000"  # type: ignore[index]
    for ws in (ticker, agg, combined):
        await ws.close()


async def test_plain_mark_price_stream_is_throttled_to_3s(
    sim: SimServer, http: aiohttp.ClientSession
) -> None:
    slow = await http.ws_connect(f"{sim.ws_market_url}/ws/ethusdc@markPrice")
    fast = await http.ws_connect(f"{sim.ws_market_url}/ws/ethusdc@markPrice@1s")
    for i in range(3):
        sim.apply_mark_price("ETHUSDC", 3000.0 + i, 0.0001)
    assert [(await recv_json(fast))["p"] for _ in range(3)] == [
        "3000.00000000",
        "3001.00000000",
        "3002.00000000",
    ]
    assert (await recv_json(slow))["p"] == "3000.00000000"
    assert await silent(slow)


async def test_subscribe_protocol(sim: SimServer, http: aiohttp.ClientSession) -> None:
    ws = await http.ws_connect(f"{sim.ws_public_url}/ws/1")  # ccxt style: a token, then SUBSCRIBE
    await ws.send_str('{"method":"SUBSCRIBE","params":["ethusdc@depth@100ms","ethusdc@bookTicker"],"id":7}')
    assert await recv_json(ws) == {"result": None, "id": 7}
    await ws.send_str('{"method":"LIST_SUBSCRIPTIONS","id":8}')
    assert await recv_json(ws) == {"result": ["ethusdc@depth@100ms", "ethusdc@bookTicker"], "id": 8}
    await ws.send_str('{"method":"SET_PROPERTY","params":["combined",true],"id":9}')
    assert await recv_json(ws) == {"result": None, "id": 9}
    await ws.send_str('{"method":"GET_PROPERTY","params":["combined"],"id":10}')
    assert await recv_json(ws) == {"result": True, "id": 10}
    await ws.send_str('{"method":"UNSUBSCRIBE","params":["ethusdc@bookTicker"],"id":11}')
    assert await recv_json(ws) == {"result": None, "id": 11}
    await ws.send_str('{"method":"SUBSCRIBE","params":["x"],"id":"abc"}')
    assert (await recv_json(ws))["code"] == 2
    await ws.send_str("not json")
    assert (await recv_json(ws))["code"] == 3
    sim.apply_delta("ETHUSDC", [(299990, 1.0)], [])
    sim.flush_streams()
    frame = await recv_json(ws)
    assert frame["stream"] == "ethusdc@depth@100ms" and frame["data"]["e"] == "depthUpdate"  # type: ignore[index]
    await ws.close()


async def test_partial_depth_stream_carries_top_levels(sim: SimServer, http: aiohttp.ClientSession) -> None:
    ws = await http.ws_connect(f"{sim.ws_public_url}/ws/ethusdc@depth5@100ms")
    sim.apply_delta("ETHUSDC", [(300000, 3.0)], [])
    frame = await recv_json(ws)
    assert len(frame["b"]) == 5 and frame["b"][0] == ["3000.00", "3.000"]  # type: ignore[index,arg-type]


async def test_strict_mode_misrouted_stream_is_acknowledged_but_silent(
    sim: SimServer, http: aiohttp.ClientSession
) -> None:
    sim.faults.set_strict_routes(True)
    wrong = await http.ws_connect(f"{sim.ws_market_url}/ws/1")
    right = await http.ws_connect(f"{sim.ws_public_url}/ws/1")
    for ws in (wrong, right):
        await ws.send_str('{"method":"SUBSCRIBE","params":["ethusdc@bookTicker"],"id":1}')
        assert await recv_json(ws) == {"result": None, "id": 1}
    sim.apply_delta("ETHUSDC", [(300000, 4.0)], [])
    assert (await recv_json(right))["e"] == "bookTicker"
    assert await silent(wrong)
    # lenient (default) mode serves any stream on any route
    sim.faults.set_strict_routes(False)
    lenient = await http.ws_connect(f"{sim.ws_market_url}/ws/ethusdc@bookTicker")
    sim.apply_delta("ETHUSDC", [(300000, 5.0)], [])
    assert (await recv_json(lenient))["e"] == "bookTicker"


async def test_drop_and_freeze_connections(sim: SimServer, http: aiohttp.ClientSession) -> None:
    ws = await http.ws_connect(f"{sim.ws_public_url}/ws/ethusdc@bookTicker")
    await asyncio.sleep(0.05)
    assert sim.faults.drop_ws("public", refuse_s=0.3) == 1
    msg = await asyncio.wait_for(ws.receive(), 5)
    assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING)
    with pytest.raises(aiohttp.WSServerHandshakeError):
        await http.ws_connect(f"{sim.ws_public_url}/ws/ethusdc@bookTicker")
    await asyncio.sleep(0.35)
    ws = await http.ws_connect(f"{sim.ws_public_url}/ws/ethusdc@bookTicker")
    sim.faults.freeze_ws(0.4, route="public")
    t0 = time.monotonic()
    sim.apply_delta("ETHUSDC", [(300000, 6.0)], [])
    frame = await recv_json(ws)
    assert time.monotonic() - t0 >= 0.3
    assert frame["B"] == "6.000"  # held, not lost


async def test_rest_faults_storms_latency_lost_ack(sim: SimServer, rest: RestClient) -> None:
    sim.faults.error_storm(kind="unknown", count=2)
    for _ in range(2):
        status, body, _ = await rest.request("GET", "/fapi/v1/time", signed=False, key=False)
        assert (status, body["code"]) == (503, -1007)
    status, _, _ = await rest.request("GET", "/fapi/v1/time", signed=False, key=False)
    assert status == 200
    sim.faults.rate_limit_storm(count=1, retry_after_s=3)
    status, body, headers = await rest.request("GET", "/fapi/v1/time", signed=False, key=False)
    assert (status, body["code"], headers["Retry-After"]) == (429, -1003, "3")
    sim.limiter.reset()
    sim.faults.add_latency(150)
    t0 = time.monotonic()
    await rest.request("GET", "/fapi/v1/time", signed=False, key=False)
    assert time.monotonic() - t0 >= 0.14
    sim.faults.add_latency(0)
    sim.faults.lose_order_acks(1)
    with pytest.raises(aiohttp.ClientError):
        await rest.request("POST", "/fapi/v1/order", PLACE)
    _, open_orders, _ = await rest.request("GET", "/fapi/v1/openOrders", {"symbol": "ETHUSDC"})
    assert [o["clientOrderId"] for o in open_orders] == ["f-1"]  # accepted although the ack was lost


async def test_admin_endpoint_and_cli(sim: SimServer, http: aiohttp.ClientSession) -> None:
    async with http.post(f"{sim.admin_url}/faults/depth_gap", json={"symbol": "ETHUSDC", "count": 2}) as r:
        assert r.status == 200
        assert (await r.json())["faults"]["depth_gaps"] == {"ETHUSDC": 2}
    async with http.post(f"{sim.admin_url}/faults/nonsense", json={}) as r:
        assert r.status == 404
    async with http.post(f"{sim.admin_url}/faults/clock_skew", json={"bogus": 1}) as r:
        assert r.status == 400
    result = await asyncio.to_thread(
        CliRunner().invoke, sim_app, ["fault", "clock_skew", "ms=-2500", "--admin-url", sim.admin_url]
    )
    assert result.exit_code == 0, result.output
    assert sim.faults.state.clock_skew_ms == -2500
    async with http.post(f"{sim.admin_url}/faults/reset") as r:
        assert r.status == 200
    async with http.get(f"{sim.admin_url}/faults") as r:
        state = await r.json()
    assert state["clock_skew_ms"] == 0 and state["depth_gaps"] == {}
    async with http.get(f"{sim.admin_url}/state") as r:
        assert (await r.json())["urls"]["rest"] == sim.rest_url


async def test_stream_message_rate_limit_disconnects(sim: SimServer, http: aiohttp.ClientSession) -> None:
    ws = await http.ws_connect(f"{sim.ws_public_url}/ws/1")
    for i in range(12):
        await ws.send_str(orjson.dumps({"method": "LIST_SUBSCRIPTIONS", "id": i}).decode())
    kinds = []
    while True:
        msg = await asyncio.wait_for(ws.receive(), 5)
        kinds.append(msg.type)
        if msg.type is not aiohttp.WSMsgType.TEXT:
            break
    assert kinds.count(aiohttp.WSMsgType.TEXT) <= 10


async def test_stream_latency_is_real_time_whatever_the_clock_skew(
    sim: SimServer, http: aiohttp.ClientSession
) -> None:
    ws = await http.ws_connect(f"{sim.ws_public_url}/ws/ethusdc@bookTicker")
    sim.faults.set_clock_skew(-5000)
    sim.faults.add_latency(0, streams_ms=120)
    t0 = time.monotonic()
    sim.apply_delta("ETHUSDC", [(300000, 7.0)], [])
    frame = await recv_json(ws)
    elapsed = time.monotonic() - t0
    assert frame["B"] == "7.000"
    assert 0.11 <= elapsed < 2.0
