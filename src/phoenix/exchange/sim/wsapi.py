"""WebSocket API of the simulator (``/ws-fapi/v1``, protocol doc §8).

Envelope ``{"id", "method", "params"}`` → ``{"id", "status", "result" | "error", "rateLimits"?}``.
Authentication: every SIGNED request carries ``apiKey``/``timestamp``/``signature`` (HMAC or Ed25519 over
the alphabetically sorted params), or the connection logs on once with an Ed25519 key
(``session.logon``; HMAC keys get ``-4056``) and later requests carry only ``timestamp``.
Same weights, order counters and engine side effects (user-stream events) as REST.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

import orjson
from aiohttp import WSMsgType, web

from phoenix.exchange.sim import auth
from phoenix.exchange.sim.auth import AuthFailure, KeyRing, KeyType
from phoenix.exchange.sim.faults import FaultInjector
from phoenix.exchange.sim.params import Params, normalise_params
from phoenix.exchange.sim.ratelimit import RateLimited, RateLimiter, Usage, rate_limits_json
from phoenix.exchange.sim.sim_types import AccountId, SimError
from phoenix.exchange.sim.trading import TradingApi
from phoenix.exchange.sim.userstream import UserStreamHub

Json = Any
CLOSE_TIMEOUT_S = 2.0  # how long a server-initiated close waits for the peer's close frame


class _Sec(Enum):
    NONE = 0
    USER_STREAM = 1
    SIGNED = 2


@dataclass(frozen=True, slots=True)
class _Method:
    security: _Sec
    weight: int
    orders: bool
    run: Callable[[AccountId, str, Params, int], Json]
    places_orders: bool = False


@dataclass(slots=True)
class _Session:
    connected_ms: int
    api_key: str | None = None
    account: AccountId | None = None
    authorized_ms: int | None = None


class WsApi:
    """Handles ``/ws-fapi/v1`` connections."""

    def __init__(
        self,
        trading: TradingApi,
        keys: KeyRing,
        limiter: RateLimiter,
        faults: FaultInjector,
        users: UserStreamHub,
        clock_ms: Callable[[], int],
    ) -> None:
        self._t = trading
        self._keys = keys
        self._limiter = limiter
        self._faults = faults
        self._users = users
        self._clock_ms = clock_ms
        self.sockets: dict[web.WebSocketResponse, int] = {}  # socket -> opened at (ms)
        self._methods = self._table()

    def _table(self) -> dict[str, _Method]:
        t = self._t
        S, U, N = _Sec.SIGNED, _Sec.USER_STREAM, _Sec.NONE
        m = _Method
        return {
            "order.place": m(S, 0, True, lambda a, k, p, now: t.place(a, p, now), places_orders=True),
            "order.modify": m(S, 0, True, lambda a, k, p, now: t.modify(a, p, now)),
            "order.cancel": m(S, 1, False, lambda a, k, p, now: t.cancel(a, p, now)),
            "order.status": m(S, 1, False, lambda a, k, p, now: t.query_order(a, p)),
            "account.position": m(S, 5, False, lambda a, k, p, now: t.positions_v2(a, p)),
            "v2/account.position": m(S, 5, False, lambda a, k, p, now: t.positions_v3(a, p)),
            "account.balance": m(S, 5, False, lambda a, k, p, now: t.balance(a)),
            "v2/account.balance": m(S, 5, False, lambda a, k, p, now: t.balance(a)),
            "account.status": m(S, 5, False, lambda a, k, p, now: t.account(a, v2=True)),
            "v2/account.status": m(S, 5, False, lambda a, k, p, now: t.account(a, v2=False)),
            "userDataStream.start": m(U, 1, False,
                                      lambda a, k, p, now: {"listenKey": self._users.create(a, k)}),
            "userDataStream.ping": m(U, 1, False,
                                     lambda a, k, p, now: {"listenKey": self._users.keepalive(a, None)}),
            "userDataStream.stop": m(U, 1, False, lambda a, k, p, now: self._stop_stream(a)),
            "depth": m(N, 2, False, lambda a, k, p, now: t.depth(p, now)),
            "ticker.book": m(N, 2, False, lambda a, k, p, now: t.book_ticker(p)),
            "ticker.price": m(N, 1, False, lambda a, k, p, now: t.ticker_price(p)),
            "time": m(N, 1, False, lambda a, k, p, now: {"serverTime": now}),
            "ping": m(N, 1, False, lambda a, k, p, now: {}),
        }  # fmt: skip

    def _stop_stream(self, account: AccountId) -> Json:
        self._users.delete(account, None)
        return {}

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Serve one ws-fapi connection until it closes."""
        if self._faults.refuses("ws-api"):
            return web.json_response({"code": -1001, "msg": "Service Unavailable."}, status=503)
        ws = web.WebSocketResponse(
            heartbeat=180.0, autoping=True, max_msg_size=1 << 20, timeout=CLOSE_TIMEOUT_S
        )
        await ws.prepare(request)
        self.sockets[ws] = self._clock_ms()
        session = _Session(connected_ms=self._clock_ms())
        ip = request.remote or "127.0.0.1"
        try:
            async for msg in ws:
                if msg.type not in (WSMsgType.TEXT, WSMsgType.BINARY):  # lenient: JSON in binary frames too
                    continue
                reply = self._dispatch(msg.data, session, ip)
                if reply is None:
                    continue
                latency_ms = self._faults.state.latency_ms
                if latency_ms:
                    await asyncio.sleep(latency_ms / 1000)
                if ws.closed:
                    break
                await ws.send_frame(orjson.dumps(reply), WSMsgType.TEXT)
        finally:
            self.sockets.pop(ws, None)
        return ws

    def _dispatch(self, text: str | bytes, session: _Session, ip: str) -> Json | None:
        try:
            req = orjson.loads(text)
        except orjson.JSONDecodeError:
            return {
                "id": None,
                "status": 400,
                "error": {"code": -1000, "msg": "Malformed request: invalid JSON."},
            }
        if not isinstance(req, dict):
            return {"id": None, "status": 400, "error": {"code": -1000, "msg": "Malformed request."}}
        req_id = req.get("id")
        method = req.get("method")
        raw_params = req.get("params") or {}
        if not isinstance(method, str) or not isinstance(raw_params, dict):
            return _error(req_id, 400, -1000, "Malformed request.", None, None)
        now = self._clock_ms()
        params = normalise_params(raw_params)
        want_limits = params.get("returnRateLimits", "true").lower() != "false"
        usage: Usage | None = None
        try:
            injected = self._faults.take_injected_error()
            if injected is not None:
                if injected.status == 429:
                    self._limiter.note_external_429(ip, now, injected.retry_after_s)
                retry = injected.retry_after_s if injected.status == 429 else None
                return _error(
                    req_id, injected.status, injected.code, injected.msg, None, None, retry_after_s=retry
                )
            if method.startswith("session."):
                return self._session(req_id, method, raw_params, params, session, now)
            spec = self._methods.get(method)
            if spec is None:
                return _error(req_id, 400, -1000, f"Unknown method '{method}'.", None, None)
            usage = self._limiter.charge_weight(ip, spec.weight, now)
            account = AccountId(-1)
            api_key = ""
            if spec.security is _Sec.USER_STREAM:
                api_key = params.get("apiKey") or session.api_key or ""
                _, account_id = self._keys.lookup(api_key)
                account = AccountId(account_id)
            elif spec.security is _Sec.SIGNED:
                account, api_key = self._authenticate(raw_params, params, session)
                auth.check_timestamp(params.get("timestamp"), params.get("recvWindow"), now)
            if spec.orders:
                usage = self._limiter.charge_orders(ip, account, 1, 1, now)
            result = spec.run(account, api_key, params, now)
        except RateLimited as exc:
            return _error(req_id, exc.http_status, exc.code, exc.msg, usage, self._limiter,
                          retry_after_s=exc.retry_after_s)  # fmt: skip
        except AuthFailure as exc:
            return _error(
                req_id, exc.http_status, exc.code, exc.msg, usage if want_limits else None, self._limiter
            )
        except SimError as exc:
            status = exc.http_status or 400
            return _error(req_id, status, exc.code, exc.msg, usage if want_limits else None, self._limiter)
        if spec.places_orders and self._faults.take_lost_ack() is not None:
            return None
        reply: dict[str, Any] = {"id": req_id, "status": 200, "result": result}
        if want_limits and usage is not None:
            reply["rateLimits"] = rate_limits_json(self._limiter.limits, usage)
        return reply

    def _authenticate(self, raw: dict[str, Any], params: Params, session: _Session) -> tuple[AccountId, str]:
        if "signature" in raw:
            api_key = params.get("apiKey", "")
            credential, account_id = self._keys.lookup(api_key)
            auth.verify_ws(credential, raw)
            return AccountId(account_id), api_key
        if session.account is not None and session.api_key is not None:
            return session.account, session.api_key
        raise AuthFailure(
            -1102, "Mandatory parameter 'signature' was not sent, was empty/null, or malformed.", 400
        )

    def _session(
        self, req_id: object, method: str, raw: dict[str, Any], params: Params, session: _Session, now: int
    ) -> Json:
        if method == "session.logon":
            api_key = params.get("apiKey", "")
            credential, account_id = self._keys.lookup(api_key)
            if credential.key_type is not KeyType.ED25519:
                raise SimError(-4056, "HMAC_SHA256 API key is not supported.")
            auth.verify_ws(credential, raw)
            auth.check_timestamp(params.get("timestamp"), params.get("recvWindow"), now)
            session.api_key = api_key
            session.account = AccountId(account_id)
            session.authorized_ms = now
        elif method == "session.logout":
            session.api_key = None
            session.account = None
            session.authorized_ms = None
        elif method != "session.status":
            return _error(req_id, 400, -1000, f"Unknown method '{method}'.", None, None)
        return {
            "id": req_id,
            "status": 200,
            "result": {
                "apiKey": session.api_key,
                "authorizedSince": session.authorized_ms,
                "connectedSince": session.connected_ms,
                "returnRateLimits": False,
                "serverTime": now,
            },
        }

    async def close_all(self) -> None:
        """Close every ws-fapi connection (shutdown or fault injection)."""
        await asyncio.gather(
            *(ws.close(code=1001, message=b"server closing") for ws in list(self.sockets)),
            return_exceptions=True,
        )


def _error(
    req_id: object,
    status: int,
    code: int,
    msg: str,
    usage: Usage | None,
    limiter: RateLimiter | None,
    *,
    retry_after_s: int | None = None,
) -> Json:
    error: dict[str, Any] = {"code": code, "msg": msg}
    if retry_after_s is not None:
        error["data"] = {"retryAfter": retry_after_s}
    out: dict[str, Any] = {"id": req_id, "status": status, "error": error}
    if usage is not None and limiter is not None:
        out["rateLimits"] = rate_limits_json(limiter.limits, usage)
    return out
