"""REST API of the simulator: routing table, the request pipeline and the endpoint handlers.

Pipeline per request (as Binance orders its checks): injected faults (5xx/429 storms) → REQUEST_WEIGHT
per IP (429, then 418 if ignored) → API key (``-2015``) → signature (``-1022``) → timestamp window
(``-1021``) → ORDERS counters (``-1015``) → handler → injected latency / lost acknowledgement.
Every response carries ``X-MBX-USED-WEIGHT-1M``; order requests also the ``X-MBX-ORDER-COUNT-*`` headers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any
from urllib.parse import parse_qsl

import orjson
from aiohttp import web

from phoenix.exchange.sim import auth, wire
from phoenix.exchange.sim.auth import AuthFailure, KeyRing
from phoenix.exchange.sim.faults import FaultInjector
from phoenix.exchange.sim.params import Params
from phoenix.exchange.sim.ratelimit import (
    RateLimited,
    RateLimiter,
    Usage,
    endpoint_weight,
    order_count_cost,
    usage_headers,
)
from phoenix.exchange.sim.sim_types import AccountId, SimError
from phoenix.exchange.sim.trading import TradingApi
from phoenix.exchange.sim.userstream import UserStreamHub

Json = Any
LOST_ACK_HANG_S = 30.0


class Security(Enum):
    """Endpoint security types (protocol doc §2.1)."""

    NONE = "NONE"
    MARKET_DATA = "MARKET_DATA"
    USER_STREAM = "USER_STREAM"
    SIGNED = "SIGNED"


@dataclass(frozen=True, slots=True)
class Call:
    """One authenticated request as handlers see it."""

    params: Params
    account: AccountId  # AccountId(-1) for unauthenticated endpoints
    api_key: str
    now_ms: int


Handler = Callable[[Call], Json]


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A routed REST endpoint."""

    method: str
    path: str
    security: Security
    handler: Handler
    places_orders: bool = False  # subject to lost-ack fault injection


class RestApi:
    """Builds the aiohttp routes of every REST endpoint the simulator serves.

    Args:
        trading: Operations on the engine.
        keys: API keys → accounts.
        limiter: Rate limiter.
        faults: Fault injector.
        users: ListenKey registry.
        clock_ms: Server clock including skew (ms).
        exchange_info: Callable producing the exchangeInfo JSON.
    """

    def __init__(
        self,
        trading: TradingApi,
        keys: KeyRing,
        limiter: RateLimiter,
        faults: FaultInjector,
        users: UserStreamHub,
        clock_ms: Callable[[], int],
        exchange_info: Callable[[int], Json],
    ) -> None:
        self._t = trading
        self._keys = keys
        self._limiter = limiter
        self._faults = faults
        self._users = users
        self._clock_ms = clock_ms
        self._exchange_info = exchange_info
        self.endpoints = self._table()

    # ------------------------------------------------------------------ table

    def _table(self) -> list[Endpoint]:
        t = self._t
        N, U, S = Security.NONE, Security.USER_STREAM, Security.SIGNED
        e = Endpoint
        return [
            # market data
            e("GET", "/fapi/v1/ping", N, lambda c: {}),
            e("GET", "/fapi/v1/time", N, lambda c: {"serverTime": c.now_ms}),
            e("GET", "/fapi/v1/exchangeInfo", N, lambda c: self._exchange_info(c.now_ms)),
            e("GET", "/fapi/v1/depth", N, lambda c: t.depth(c.params, c.now_ms)),
            e("GET", "/fapi/v1/trades", N, lambda c: t.recent_trades(c.params)),
            e("GET", "/fapi/v1/aggTrades", N, lambda c: t.agg_trades(c.params)),
            e("GET", "/fapi/v1/ticker/bookTicker", N, lambda c: t.book_ticker(c.params)),
            e("GET", "/fapi/v1/ticker/price", N, lambda c: t.ticker_price(c.params)),
            e("GET", "/fapi/v2/ticker/price", N, lambda c: t.ticker_price(c.params)),
            e("GET", "/fapi/v1/ticker/24hr", N, lambda c: t.ticker_24hr(c.params)),
            e("GET", "/fapi/v1/premiumIndex", N, lambda c: t.premium_index(c.params)),
            e("GET", "/fapi/v1/fundingRate", N, lambda c: t.funding_rate(c.params)),
            e("GET", "/fapi/v1/fundingInfo", N, lambda c: t.funding_info()),
            # trading
            e("POST", "/fapi/v1/order", S, lambda c: t.place(c.account, c.params, c.now_ms),
              places_orders=True),
            e("PUT", "/fapi/v1/order", S, lambda c: t.modify(c.account, c.params, c.now_ms)),
            e("DELETE", "/fapi/v1/order", S, lambda c: t.cancel(c.account, c.params, c.now_ms)),
            e("GET", "/fapi/v1/order", S, lambda c: t.query_order(c.account, c.params)),
            e("POST", "/fapi/v1/batchOrders", S, lambda c: t.batch_place(c.account, c.params, c.now_ms),
              places_orders=True),
            e("PUT", "/fapi/v1/batchOrders", S, lambda c: t.batch_modify(c.account, c.params, c.now_ms)),
            e("DELETE", "/fapi/v1/batchOrders", S, lambda c: t.batch_cancel(c.account, c.params, c.now_ms)),
            e("DELETE", "/fapi/v1/allOpenOrders", S, lambda c: t.cancel_all(c.account, c.params, c.now_ms)),
            e("POST", "/fapi/v1/countdownCancelAll", S, lambda c: t.countdown(c.account, c.params, c.now_ms)),
            e("GET", "/fapi/v1/openOrders", S, lambda c: t.open_orders(c.account, c.params)),
            e("GET", "/fapi/v1/openOrder", S, lambda c: t.open_order(c.account, c.params)),
            e("GET", "/fapi/v1/allOrders", S, lambda c: t.all_orders(c.account, c.params)),
            e("GET", "/fapi/v1/userTrades", S, lambda c: t.user_trades(c.account, c.params)),
            e("POST", "/fapi/v1/algoOrder", S, _algo_unsupported),
            e("DELETE", "/fapi/v1/algoOrder", S, _algo_unknown),
            e("GET", "/fapi/v1/openAlgoOrders", S, lambda c: []),
            e("GET", "/fapi/v1/algoOpenOrders", S, lambda c: []),
            e("DELETE", "/fapi/v1/algoOpenOrders", S, lambda c: {"code": 200, "msg": "success"}),
            # account
            e("GET", "/fapi/v2/account", S, lambda c: t.account(c.account, v2=True)),
            e("GET", "/fapi/v3/account", S, lambda c: t.account(c.account, v2=False)),
            e("GET", "/fapi/v2/balance", S, lambda c: t.balance(c.account)),
            e("GET", "/fapi/v3/balance", S, lambda c: t.balance(c.account)),
            e("GET", "/fapi/v2/positionRisk", S, lambda c: t.positions_v2(c.account, c.params)),
            e("GET", "/fapi/v3/positionRisk", S, lambda c: t.positions_v3(c.account, c.params)),
            e("GET", "/fapi/v1/commissionRate", S, lambda c: t.commission_rate(c.params)),
            e("GET", "/fapi/v1/income", S, lambda c: t.income(c.account, c.params)),
            e("POST", "/fapi/v1/leverage", S, lambda c: t.set_leverage(c.account, c.params, c.now_ms)),
            e("POST", "/fapi/v1/marginType", S, lambda c: t.set_margin_type(c.params)),
            e("GET", "/fapi/v1/positionSide/dual", S, lambda c: {"dualSidePosition": False}),
            e("POST", "/fapi/v1/positionSide/dual", S, lambda c: t.set_dual_side(c.params)),
            e("GET", "/fapi/v1/multiAssetsMargin", S, lambda c: {"multiAssetsMargin": False}),
            e("POST", "/fapi/v1/multiAssetsMargin", S, lambda c: t.set_multi_assets(c.params)),
            e("GET", "/fapi/v1/leverageBracket", S, lambda c: t.leverage_brackets(c.params)),
            e("GET", "/fapi/v1/symbolConfig", S, lambda c: t.symbol_config(c.account, c.params)),
            e("GET", "/fapi/v1/accountConfig", S, lambda c: t.account_config()),
            # user data stream keys
            e("POST", "/fapi/v1/listenKey", U,
              lambda c: {"listenKey": self._users.create(c.account, c.api_key)}),
            e("PUT", "/fapi/v1/listenKey", U,
              lambda c: {"listenKey": self._users.keepalive(c.account, c.params.get("listenKey"))}),
            e("DELETE", "/fapi/v1/listenKey", U, self._delete_listen_key),
            # spot shims some clients touch (§11.4)
            e("GET", "/api/v3/ping", N, lambda c: {}),
            e("GET", "/sapi/v1/capital/config/getall", N, lambda c: []),
            e("GET", "/sapi/v1/margin/allPairs", N, lambda c: []),
        ]  # fmt: skip

    def _delete_listen_key(self, c: Call) -> Json:
        self._users.delete(c.account, c.params.get("listenKey"))
        return {}

    def routes(self) -> list[web.RouteDef]:
        """aiohttp route definitions for every endpoint."""
        return [web.route(ep.method, ep.path, self._bind(ep)) for ep in self.endpoints]

    def _bind(self, ep: Endpoint) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def handle(request: web.Request) -> web.StreamResponse:
            return await self.handle(request, ep)

        return handle

    # ------------------------------------------------------------------ pipeline

    async def handle(self, request: web.Request, ep: Endpoint) -> web.StreamResponse:
        """Run one request through the pipeline."""
        now = self._clock_ms()
        ip = request.remote or "127.0.0.1"
        raw_query = request.rel_url.raw_query_string
        raw_body = await request.text() if request.body_exists else ""
        params: Params = dict(parse_qsl(raw_body, keep_blank_values=True)) if raw_body else {}
        params.update(parse_qsl(raw_query, keep_blank_values=True))
        usage: Usage | None = None
        try:
            injected = self._faults.take_injected_error()
            if injected is not None:
                headers = {}
                if injected.status == 429:
                    self._limiter.note_external_429(ip, now, injected.retry_after_s)
                    headers["Retry-After"] = str(injected.retry_after_s)
                return await self._respond(wire.error(injected.code, injected.msg), injected.status, headers)
            usage = self._limiter.charge_weight(ip, endpoint_weight(ep.method, ep.path, params), now)
            account = AccountId(-1)
            api_key = ""
            if ep.security is not Security.NONE:
                api_key = request.headers.get("X-MBX-APIKEY", "")
                credential, account_id = self._keys.lookup(api_key)
                account = AccountId(account_id)
                if ep.security is Security.SIGNED:
                    auth.verify_rest(credential, raw_query, raw_body)
                    auth.check_timestamp(params.get("timestamp"), params.get("recvWindow"), now)
            cost_10s, cost_1m = order_count_cost(ep.method, ep.path)
            if cost_10s or cost_1m:
                usage = self._limiter.charge_orders(ip, account, cost_10s, cost_1m, now)
            result = ep.handler(Call(params=params, account=account, api_key=api_key, now_ms=now))
        except RateLimited as exc:
            headers = {"Retry-After": str(exc.retry_after_s)}
            headers.update(usage_headers(usage or self._limiter.usage(ip, None, now)))
            return await self._respond(wire.error(exc.code, exc.msg), exc.http_status, headers)
        except AuthFailure as exc:
            return await self._respond(wire.error(exc.code, exc.msg), exc.http_status, _headers(usage))
        except SimError as exc:
            status = exc.http_status or 400
            return await self._respond(wire.error(exc.code, exc.msg), status, _headers(usage))
        if ep.places_orders:
            lost = self._faults.take_lost_ack()
            if lost is not None:
                return await _lose_response(request, lost)
        return await self._respond(result, 200, _headers(usage))

    async def _respond(self, body: Json, status: int, headers: dict[str, str]) -> web.Response:
        latency_ms = self._faults.state.latency_ms
        if latency_ms:
            await asyncio.sleep(latency_ms / 1000)
        return web.Response(
            body=orjson.dumps(body), status=status, headers=headers, content_type="application/json"
        )


def _headers(usage: Usage | None) -> dict[str, str]:
    return usage_headers(usage) if usage is not None else {}


async def _lose_response(request: web.Request, mode: str) -> web.StreamResponse:
    if mode == "hang":
        await asyncio.sleep(LOST_ACK_HANG_S)
    if request.transport is not None:
        request.transport.close()
    return web.Response(status=503)  # never reaches the peer: its connection is already closed


def _algo_unsupported(c: Call) -> Json:
    raise SimError(-1116, "Invalid orderType. (the simulator does not run conditional algo orders)")


def _algo_unknown(c: Call) -> Json:
    raise SimError(-2011, "Unknown order sent.")
