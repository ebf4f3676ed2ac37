"""Order placements per second through the simulator's REST and WebSocket API paths over loopback.

Server and client share one process and one event loop (uvloop when available), so each figure is the
CPU cost of both ends: client signing + HTTP/WS framing, server parsing, HMAC verification, rate-limit
accounting, matching-engine placement, user-stream fan-out and JSON encoding. Each placement is a
resting GTX order; the book is cleared in-process (outside the timed region) every 150 orders to stay
under MAX_NUM_ORDERS.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from urllib.parse import urlencode

import aiohttp
import orjson

from phoenix.exchange.sim.auth import sign_hmac, ws_payload
from phoenix.exchange.sim.ratelimit import RateLimits
from phoenix.exchange.sim.server import SimServer
from phoenix.exchange.sim.testing import running_sim

ROUND = 150
ROUNDS = 40
REST_CONCURRENCY = 8
WS_PIPELINE = 32
LIMITS = RateLimits(weight_per_minute=10**9, orders_per_10s=10**9, orders_per_minute=10**9)


def _order_params(i: int, now_ms: int) -> dict[str, object]:
    return {
        "symbol": "ETHUSDC", "side": "BUY", "type": "LIMIT", "timeInForce": "GTX", "quantity": "0.010",
        "price": f"{2900 + i % 90}.00", "newClientOrderId": f"bench-{i}", "timestamp": now_ms,
    }  # fmt: skip


def _clear(sim: SimServer) -> None:
    sim.engine.cancel_all(sim.account_id(), "ETHUSDC", sim.now_ms())


async def _rest(sim: SimServer) -> float:
    counter = itertools.count()
    headers = {"X-MBX-APIKEY": sim.api_key, "Content-Type": "application/x-www-form-urlencoded"}
    url = f"{sim.rest_url}/fapi/v1/order"
    connector = aiohttp.TCPConnector(limit=REST_CONCURRENCY)
    elapsed = 0.0
    placed = 0
    async with aiohttp.ClientSession(connector=connector) as http:

        async def worker(n: int) -> None:
            for _ in range(n):
                body = urlencode(_order_params(next(counter), sim.now_ms()))
                body += "&signature=" + sign_hmac(sim.api_secret, body)
                async with http.post(url, data=body, headers=headers) as r:
                    await r.read()
                    assert r.status == 200, await r.text()

        await worker(5)  # warm-up: connections, caches
        _clear(sim)
        for _ in range(ROUNDS):
            t0 = time.perf_counter()
            await asyncio.gather(*(worker(ROUND // REST_CONCURRENCY) for _ in range(REST_CONCURRENCY)))
            elapsed += time.perf_counter() - t0
            placed += (ROUND // REST_CONCURRENCY) * REST_CONCURRENCY
            _clear(sim)
    return placed / elapsed


async def _wsapi(sim: SimServer) -> float:
    counter = itertools.count()
    elapsed = 0.0
    placed = 0
    async with aiohttp.ClientSession() as http, http.ws_connect(sim.ws_api_url) as ws:

        async def burst(n: int) -> None:
            in_flight = 0
            sent = 0
            while sent < n or in_flight:
                while sent < n and in_flight < WS_PIPELINE:
                    i = next(counter)
                    params = {**_order_params(i, sim.now_ms()), "apiKey": sim.api_key}
                    params["signature"] = sign_hmac(sim.api_secret, ws_payload(params))
                    await ws.send_str(
                        orjson.dumps({"id": i, "method": "order.place", "params": params}).decode()
                    )
                    sent += 1
                    in_flight += 1
                msg = await ws.receive()
                reply = orjson.loads(msg.data)
                assert reply["status"] == 200, reply
                in_flight -= 1

        await burst(5)
        _clear(sim)
        for _ in range(ROUNDS):
            t0 = time.perf_counter()
            await burst(ROUND)
            elapsed += time.perf_counter() - t0
            placed += ROUND
            _clear(sim)
    return placed / elapsed


async def _main() -> dict[str, float]:
    async with running_sim(limits=LIMITS, seed_book=True) as sim:
        rest = await _rest(sim)
        ws = await _wsapi(sim)
    return {"sim.rest_orders_per_s": round(rest, 1), "sim.wsapi_orders_per_s": round(ws, 1)}


def run() -> dict[str, float]:
    """Measure ``sim.rest_orders_per_s`` and ``sim.wsapi_orders_per_s`` (higher is better)."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover
        return asyncio.run(_main())
    return uvloop.run(_main())


if __name__ == "__main__":
    print(run())
