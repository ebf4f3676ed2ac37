"""User data stream over loopback: listenKey, ORDER_TRADE_UPDATE / TRADE_LITE / ACCOUNT_UPDATE
(incl. FUNDING_FEE), listenKeyExpired and the ``events`` allow-list."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import orjson
import pytest

from phoenix.core.types import Side
from phoenix.exchange.sim.server import SimServer
from phoenix.exchange.sim.testing import running_sim
from tests.sim.server.rest_client import RestClient

PLACE = {"symbol": "ETHUSDC", "side": "BUY", "type": "LIMIT", "timeInForce": "GTX", "quantity": "0.010",
         "price": "3000.00", "newClientOrderId": "u-1"}  # fmt: skip
pytestmark = pytest.mark.timeout(30)


@dataclass
class ManualClock:
    now_ms: int = 1_795_600_000_000

    def __call__(self) -> int:
        return self.now_ms


async def next_event(ws: aiohttp.ClientWebSocketResponse, timeout_s: float = 5.0) -> dict[str, object]:
    msg = await asyncio.wait_for(ws.receive(), timeout_s)
    assert msg.type is aiohttp.WSMsgType.TEXT, msg
    return orjson.loads(msg.data)  # type: ignore[no-any-return]


async def no_event(ws: aiohttp.ClientWebSocketResponse, within_s: float = 0.2) -> bool:
    try:
        await asyncio.wait_for(ws.receive(), within_s)
    except TimeoutError:
        return True
    return False


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def csim(clock: ManualClock) -> AsyncIterator[SimServer]:
    async with running_sim(clock_ms=clock, listen_key_validity_ms=60_000) as server:
        yield server


async def _open_user_stream(rest: RestClient, query: str = "") -> aiohttp.ClientWebSocketResponse:
    _, body, _ = await rest.request("POST", "/fapi/v1/listenKey", signed=False)
    return await rest.http.ws_connect(f"{rest.sim.ws_private_url}/ws?listenKey={body['listenKey']}{query}")


async def test_order_fill_and_funding_event_sequence(csim: SimServer, clock: ManualClock) -> None:
    async with aiohttp.ClientSession() as http:
        rest = RestClient(csim, http)
        ws = await _open_user_stream(rest)
        status, placed, _ = await rest.request("POST", "/fapi/v1/order", PLACE)
        assert status == 200, placed
        new = await next_event(ws)
        assert new["e"] == "ORDER_TRADE_UPDATE"
        o = new["o"]
        assert (o["x"], o["X"], o["c"], o["i"], o["f"], o["l"], o["t"]) == (
            "NEW",
            "NEW",
            "u-1",
            placed["orderId"],
            "GTX",
            "0.000",
            0,
        )  # type: ignore[index]
        csim.apply_trade("ETHUSDC", 300000, 100.0, Side.SELL)
        lite, fill, account = await next_event(ws), await next_event(ws), await next_event(ws)
        assert lite["e"] == "TRADE_LITE" and lite["l"] == "0.010" and lite["m"] is True
        assert fill["e"] == "ORDER_TRADE_UPDATE"
        f = fill["o"]
        assert (f["x"], f["X"], f["l"], f["z"], f["L"], f["m"], f["N"]) == (
            "TRADE",
            "FILLED",
            "0.010",
            "0.010",
            "3000.00",
            True,
            "USDC",
        )  # type: ignore[index]
        assert f["t"] == lite["t"] and f["t"] > 0  # type: ignore[index]
        assert account["e"] == "ACCOUNT_UPDATE" and account["a"]["m"] == "ORDER"  # type: ignore[index]
        assert account["a"]["P"][0]["pa"] == "0.010"  # type: ignore[index]
        # funding: long 0.010 at mark 3000, rate +0.0001 → pays 0.003 USDC at the funding time
        funding_at = clock.now_ms + 1000
        csim.apply_mark_price("ETHUSDC", 3000.0, 0.0001, next_funding_ms=funding_at)
        clock.now_ms = funding_at + 1
        csim.advance_timers()
        funding = await next_event(ws)
        while funding["e"] != "ACCOUNT_UPDATE":
            funding = await next_event(ws)
        a = funding["a"]
        assert a["m"] == "FUNDING_FEE" and a["P"] == []  # type: ignore[index]
        assert float(a["B"][0]["bc"]) == pytest.approx(-0.003)  # type: ignore[index]
        _, income, _ = await rest.request("GET", "/fapi/v1/income", {"incomeType": "FUNDING_FEE"})
        assert [float(r["income"]) for r in income] == [pytest.approx(-0.003)]
        await ws.close()


async def test_cancel_emits_canceled_without_account_update(sim: SimServer, rest: RestClient) -> None:
    ws = await _open_user_stream(rest)
    _, placed, _ = await rest.request("POST", "/fapi/v1/order", {**PLACE, "price": "2990.00"})
    assert (await next_event(ws))["o"]["x"] == "NEW"  # type: ignore[index]
    await rest.request(
        "DELETE", "/fapi/v1/order", {"symbol": "ETHUSDC", "orderId": placed["orderId"]}, in_body=False
    )
    ev = await next_event(ws)
    assert (ev["o"]["x"], ev["o"]["X"]) == ("CANCELED", "CANCELED")  # type: ignore[index]
    assert await no_event(ws)
    await ws.close()


async def test_listen_key_lapses_without_keepalive(csim: SimServer, clock: ManualClock) -> None:
    async with aiohttp.ClientSession() as http:
        rest = RestClient(csim, http)
        ws = await _open_user_stream(rest)
        clock.now_ms += 61_000  # validity is 60 s in this fixture
        ev = await next_event(ws)
        assert ev["e"] == "listenKeyExpired"
        await rest.request("POST", "/fapi/v1/order", PLACE)
        assert await no_event(ws)  # silence after expiry
        status, body, _ = await rest.request("PUT", "/fapi/v1/listenKey", signed=False)
        assert (status, body["code"]) == (400, -1125)
        await ws.close()


async def test_injected_expiry_and_events_filter(sim: SimServer, rest: RestClient) -> None:
    filtered = await _open_user_stream(rest, "&events=ACCOUNT_UPDATE")
    full = await _open_user_stream(rest)
    await rest.request("POST", "/fapi/v1/order", {**PLACE, "price": "2990.00"})
    assert (await next_event(full))["e"] == "ORDER_TRADE_UPDATE"
    assert sim.faults.expire_listen_key(sim.api_key) == 1
    assert (await next_event(full))["e"] == "listenKeyExpired"
    assert await no_event(filtered)  # neither the order update nor listenKeyExpired is in its allow-list
    await full.close()
    await filtered.close()


async def test_connecting_with_unknown_listen_key_fails(sim: SimServer, http: aiohttp.ClientSession) -> None:
    with pytest.raises(aiohttp.WSServerHandshakeError):
        await http.ws_connect(f"{sim.ws_private_url}/ws?listenKey=deadbeef")


async def test_legacy_ws_listen_key_path_delivers_unless_strict(sim: SimServer, rest: RestClient) -> None:
    _, body, _ = await rest.request("POST", "/fapi/v1/listenKey", signed=False)
    legacy = await rest.http.ws_connect(f"{sim.ws_url}/ws/{body['listenKey']}")
    sim.faults.set_strict_routes(True)
    strict = await rest.http.ws_connect(f"{sim.ws_url}/ws/{body['listenKey']}")
    await rest.request("POST", "/fapi/v1/order", {**PLACE, "price": "2990.00"})
    assert (await next_event(legacy))["e"] == "ORDER_TRADE_UPDATE"
    assert await no_event(strict)
    await legacy.close()
    await strict.close()
