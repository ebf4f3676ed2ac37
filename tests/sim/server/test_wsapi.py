"""WebSocket API (``/ws-fapi/v1``) over loopback: per-request HMAC, Ed25519 logon, errors, lost acks."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import aiohttp
import orjson
import pytest

from phoenix.exchange.sim.auth import sign_ed25519, sign_hmac, ws_payload
from phoenix.exchange.sim.server import SimServer
from tests.sim.server.rest_client import RestClient

ORDER = {"symbol": "ETHUSDC", "side": "SELL", "type": "LIMIT", "timeInForce": "GTX", "quantity": "0.010",
         "price": "3010.00", "newOrderRespType": "RESULT"}  # fmt: skip
_ids = itertools.count(1)
pytestmark = pytest.mark.timeout(30)


class WsApiClient:
    def __init__(self, sim: SimServer, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.sim = sim
        self.ws = ws

    async def call(self, method: str, params: dict[str, Any], *, sign: str | None = "hmac") -> dict[str, Any]:
        params = dict(params)
        if sign is not None:
            params.setdefault("timestamp", self.sim.now_ms())
        if sign == "hmac":
            params["apiKey"] = self.sim.api_key
            params["signature"] = sign_hmac(self.sim.api_secret, ws_payload(params))
        elif sign == "ed25519":
            assert self.sim.ed25519_private_key is not None and self.sim.ed25519_api_key is not None
            params["apiKey"] = self.sim.ed25519_api_key
            params["signature"] = sign_ed25519(self.sim.ed25519_private_key, ws_payload(params))
        elif sign == "session":
            params.setdefault("timestamp", self.sim.now_ms())
        req_id = str(next(_ids))
        await self.ws.send_str(orjson.dumps({"id": req_id, "method": method, "params": params}).decode())
        reply = orjson.loads((await asyncio.wait_for(self.ws.receive(), 5)).data)
        assert reply["id"] == req_id
        return reply  # type: ignore[no-any-return]


async def _client(sim: SimServer, http: aiohttp.ClientSession) -> WsApiClient:
    return WsApiClient(sim, await http.ws_connect(sim.ws_api_url))


async def test_hmac_signed_place_modify_status_cancel(sim: SimServer, http: aiohttp.ClientSession) -> None:
    c = await _client(sim, http)
    placed = await c.call("order.place", {**ORDER, "newClientOrderId": "w-1"})
    assert placed["status"] == 200, placed
    assert placed["result"]["status"] == "NEW" and placed["result"]["clientOrderId"] == "w-1"
    kinds = {(x["rateLimitType"], x["interval"]): x["count"] for x in placed["rateLimits"]}
    assert kinds[("ORDERS", "SECOND")] == 1
    modified = await c.call("order.modify", {"symbol": "ETHUSDC", "origClientOrderId": "w-1", "side": "SELL",
                                             "quantity": "0.010", "price": "3011.00"})  # fmt: skip
    assert modified["status"] == 200 and modified["result"]["price"] == "3011.00"
    status = await c.call("order.status", {"symbol": "ETHUSDC", "origClientOrderId": "w-1"})
    assert status["result"]["price"] == "3011.00"
    canceled = await c.call("order.cancel", {"symbol": "ETHUSDC", "origClientOrderId": "w-1",
                                             "returnRateLimits": False})  # fmt: skip
    assert canceled["result"]["status"] == "CANCELED" and "rateLimits" not in canceled
    again = await c.call("order.cancel", {"symbol": "ETHUSDC", "origClientOrderId": "w-1"})
    assert (again["status"], again["error"]["code"]) == (400, -2011)
    await c.ws.close()


async def test_bad_signature_and_post_only_errors(sim: SimServer, http: aiohttp.ClientSession) -> None:
    c = await _client(sim, http)
    params = {**ORDER, "apiKey": sim.api_key, "timestamp": sim.now_ms(), "signature": "0" * 64}
    reply = await c.call("order.place", params, sign=None)
    assert (reply["status"], reply["error"]["code"]) == (400, -1022)
    reply = await c.call("order.place", {**ORDER, "price": "2999.00", "side": "SELL", "timeInForce": "GTX",
                                         "quantity": "0.010"} | {"price": "3000.00"})  # fmt: skip
    assert (reply["status"], reply["error"]["code"]) == (400, -5022)
    reply = await c.call("order.place", ORDER, sign=None)
    assert reply["error"]["code"] == -1102
    await c.ws.close()


async def test_ed25519_session_logon_then_unsigned_requests(
    sim: SimServer, http: aiohttp.ClientSession
) -> None:
    c = await _client(sim, http)
    hmac_logon = await c.call("session.logon", {}, sign="hmac")
    assert hmac_logon["error"]["code"] == -4056
    logon = await c.call("session.logon", {}, sign="ed25519")
    assert logon["status"] == 200 and logon["result"]["apiKey"] == sim.ed25519_api_key
    placed = await c.call("order.place", {**ORDER, "newClientOrderId": "ed-1"}, sign="session")
    assert placed["status"] == 200, placed
    # the order belongs to the Ed25519 account, not the default HMAC one
    ed_account = sim.account_id(sim.ed25519_api_key)
    assert [o.client_order_id for o in sim.engine.open_orders(ed_account)] == ["ed-1"]
    assert sim.engine.open_orders(sim.account_id()) == []
    status = await c.call("session.status", {}, sign=None)
    assert status["result"]["apiKey"] == sim.ed25519_api_key
    await c.call("session.logout", {}, sign=None)
    reply = await c.call("order.status", {"symbol": "ETHUSDC", "origClientOrderId": "ed-1"}, sign="session")
    assert reply["error"]["code"] == -1102
    await c.ws.close()


async def test_ed25519_signed_rest_request(sim: SimServer, http: aiohttp.ClientSession) -> None:
    from urllib.parse import quote, urlencode

    assert sim.ed25519_private_key is not None and sim.ed25519_api_key is not None
    query = urlencode({"timestamp": sim.now_ms()})
    sig = quote(sign_ed25519(sim.ed25519_private_key, query), safe="")
    async with http.get(f"{sim.rest_url}/fapi/v3/account?{query}&signature={sig}",
                        headers={"X-MBX-APIKEY": sim.ed25519_api_key}) as r:  # fmt: skip
        assert r.status == 200, await r.text()


async def test_lost_ack_drops_response_but_order_exists(sim: SimServer, http: aiohttp.ClientSession) -> None:
    c = await _client(sim, http)
    sim.faults.lose_order_acks(1)
    await c.ws.send_str(orjson.dumps({"id": "lost", "method": "order.place", "params": _signed(sim, {
        **ORDER, "newClientOrderId": "lost-1"})}).decode())  # fmt: skip
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(c.ws.receive(), 0.3)
    assert [o.client_order_id for o in sim.engine.open_orders(sim.account_id())] == ["lost-1"]
    ok = await c.call("order.status", {"symbol": "ETHUSDC", "origClientOrderId": "lost-1"})
    assert ok["result"]["status"] == "NEW"
    await c.ws.close()


async def test_user_data_stream_start_over_ws_api(
    sim: SimServer, http: aiohttp.ClientSession, rest: RestClient
) -> None:
    c = await _client(sim, http)
    reply = await c.call("userDataStream.start", {"apiKey": sim.api_key}, sign=None)
    _, body, _ = await rest.request("POST", "/fapi/v1/listenKey", signed=False)
    assert reply["result"]["listenKey"] == body["listenKey"]
    await c.ws.close()


def _signed(sim: SimServer, params: dict[str, Any]) -> dict[str, Any]:
    params = {**params, "apiKey": sim.api_key, "timestamp": sim.now_ms()}
    params["signature"] = sign_hmac(sim.api_secret, ws_payload(params))
    return params
