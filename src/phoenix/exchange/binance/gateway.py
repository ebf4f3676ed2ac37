"""Order entry: the WebSocket API (``order.place/cancel/modify``) with REST fallback (incl. ``batchOrders``).

Every outcome is classified:
- ``CONFIRMED``: the exchange answered with the order object;
- ``REJECTED``: the exchange answered with an error code that means "not done" (e.g. -5022, -2011, 429);
- ``UNKNOWN``: no answer (timeout, disconnect after sending, 5xx, -1006/-1007): the order may exist;
  resolve it with ``resolve``/``query`` by client order id, never by guessing.

Auth on the WS API: ``session.logon`` once for Ed25519 keys, otherwise every request is signed (HMAC).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import aiohttp
import msgspec

from phoenix.core.types import CancelOrder, ModifyOrder, OrderUpdated, PlaceOrder, SymbolFilters
from phoenix.errors import (
    ExchangeError,
    ExchangeUnavailable,
    RateLimitError,
    TimestampError,
    UnknownOrderError,
    exchange_error_for,
)
from phoenix.exchange.binance import codec, wire
from phoenix.exchange.binance.backoff import Backoff
from phoenix.exchange.binance.rest import UNKNOWN_OUTCOME_CODES, BinanceRestClient
from phoenix.exchange.binance.signing import Signer, ws_api_payload
from phoenix.exchange.binance.urls import Endpoints

log = logging.getLogger(__name__)

OrderAction = PlaceOrder | CancelOrder | ModifyOrder


class Outcome(StrEnum):
    """Classification of one order request."""

    CONFIRMED = "confirmed"
    REJECTED = "rejected"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderResult:
    """Outcome of one order request. ``order`` is the exchange's view when known; ``code`` on rejection."""

    outcome: Outcome
    symbol: str
    client_order_id: str
    order: OrderUpdated | None = None
    code: int | None = None
    msg: str = ""
    via: str = "ws"  # "ws" or "rest"
    error: ExchangeError | None = None


def _retry_after_s(resp: wire.WsApiResponse, now_ms: int) -> float | None:
    # the spot WS API puts an epoch-ms ``retryAfter`` in ``error.data``; USDⓈ-M may omit it
    data = resp.error.data if resp.error is not None else None
    retry_at = data.get("retryAfter") if isinstance(data, dict) else None
    if isinstance(retry_at, int) and retry_at > now_ms:
        return (retry_at - now_ms) / 1000
    return None


class _NotSent(Exception):
    """The WS API could not take the request before anything was written (safe to fall back to REST)."""


class OrderGateway:
    """Places, cancels and amends orders; WebSocket API first, REST when the socket is down."""

    def __init__(
        self,
        endpoints: Endpoints,
        rest: BinanceRestClient,
        signer: Signer,
        filters: Mapping[str, SymbolFilters],
        *,
        use_ws_api: bool = True,
        session_logon: bool = True,
        request_timeout_s: float = 5.0,
        connect_timeout_s: float = 5.0,
        max_connection_age_s: float = 23.5 * 3600,
        backoff: Callable[[], Backoff] = Backoff,
        session: aiohttp.ClientSession | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.endpoints = endpoints
        self.rest = rest
        self._signer = signer
        self.filters = dict(filters)
        self.use_ws_api = use_ws_api
        self.session_logon = session_logon and signer.supports_session_logon
        self.request_timeout_s = request_timeout_s
        self.connect_timeout_s = connect_timeout_s
        self.max_connection_age_s = max_connection_age_s
        self._backoff = backoff
        self._session = session
        self._own_session = session is None
        self._now = monotonic
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._logged_on = False
        self._ready = asyncio.Event()
        self._pending: dict[str, asyncio.Future[wire.WsApiResponse]] = {}
        self._ids = itertools.count(1)
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self.ws_connects = 0
        self.rest_fallbacks = 0
        self.timeouts = 0

    # ------------------------------------------------------------------ lifecycle

    @property
    def ws_ready(self) -> bool:
        """True while the WS API connection is up (and logged on, for Ed25519 sessions)."""
        return self._ready.is_set()

    async def start(self, *, wait_ready_s: float | None = 5.0) -> None:
        """Start the WS API connection task; optionally wait until it is ready (REST works regardless)."""
        if self._session is None:
            self._session = aiohttp.ClientSession()
        self._stopping = False
        if self.use_ws_api:
            self._task = asyncio.create_task(self._connection_loop())
            if wait_ready_s:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._ready.wait(), wait_ready_s)

    async def close(self) -> None:
        """Close the WS API connection."""
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
        if self._session is not None and self._own_session:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> OrderGateway:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _connection_loop(self) -> None:
        backoff = self._backoff()
        assert self._session is not None
        while not self._stopping:
            try:
                async with self._session.ws_connect(
                    self.endpoints.ws_api,
                    autoping=True,
                    max_msg_size=0,
                    timeout=aiohttp.ClientWSTimeout(ws_close=2.0),
                ) as ws:
                    self._ws = ws
                    self.ws_connects += 1
                    connected_at = self._now()
                    reader = asyncio.create_task(self._reader(ws))
                    try:
                        if self.session_logon:
                            await self._logon()
                        self._ready.set()
                        backoff.reset()
                        while not ws.closed and not reader.done():
                            age = self._now() - connected_at
                            if age >= self.max_connection_age_s:
                                log.info("ws-api reached its max age: scheduled reconnect")
                                break
                            await asyncio.wait({reader}, timeout=min(60.0, self.max_connection_age_s - age))
                    finally:
                        self._ready.clear()
                        self._logged_on = False
                        self._ws = None
                        await ws.close()
                        reader.cancel()
                        with contextlib.suppress(asyncio.CancelledError, Exception):
                            await reader
                        self._fail_pending()
            except (aiohttp.ClientError, OSError, TimeoutError, ExchangeError) as exc:
                log.warning("ws-api connection error: %s", type(exc).__name__)
            except Exception:
                log.exception("ws-api: unexpected error; reconnecting")
            if self._stopping:
                break
            await asyncio.sleep(backoff.next_delay_s())

    async def _reader(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for msg in ws:
            if msg.type not in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
                continue
            try:
                resp = wire.ws_api_decoder.decode(msg.data)
            except (msgspec.DecodeError, msgspec.ValidationError):
                log.warning("ws-api: undecodable frame")
                continue
            fut = self._pending.pop(str(resp.id), None)
            if fut is not None and not fut.done():
                fut.set_result(resp)

    def _fail_pending(self) -> None:
        for fut in self._pending.values():
            if not fut.done():
                fut.set_exception(ConnectionResetError("ws-api connection closed"))
        self._pending.clear()

    async def _logon(self) -> None:
        for attempt in (0, 1):
            params: dict[str, Any] = {"apiKey": self._signer.api_key, "timestamp": self.rest.clock.now_ms()}
            params["signature"] = self._signer.sign(ws_api_payload(params))
            resp = await self._send("session.logon", params, signed=False)
            if resp.status == 200:
                self._logged_on = True
                return
            code = resp.error.code if resp.error else None
            if code == -1021 and attempt == 0:
                await self.rest.sync_time(force=True)
                self.rest.resyncs += 1
                continue
            raise exchange_error_for(code, "session.logon failed", http_status=resp.status)

    # ------------------------------------------------------------------ WS request

    async def _send(self, method: str, params: dict[str, Any], *, signed: bool) -> wire.WsApiResponse:
        ws = self._ws
        if ws is None or ws.closed:
            raise _NotSent()
        if signed:
            params["timestamp"] = self.rest.clock.now_ms()
            params["recvWindow"] = self.rest.recv_window_ms
            if not self._logged_on:
                params["apiKey"] = self._signer.api_key
                params["signature"] = self._signer.sign(ws_api_payload(params))
        req_id = str(next(self._ids))
        fut: asyncio.Future[wire.WsApiResponse] = asyncio.get_running_loop().create_future()
        self._pending[req_id] = fut
        frame = msgspec.json.encode({"id": req_id, "method": method, "params": params}).decode()
        try:
            await ws.send_str(frame)
        except (ConnectionError, RuntimeError, aiohttp.ClientError) as exc:
            self._pending.pop(req_id, None)
            raise _NotSent() from exc
        try:
            return await asyncio.wait_for(fut, self.request_timeout_s)
        finally:
            self._pending.pop(req_id, None)

    async def _ws_call(
        self, method: str, params: Mapping[str, str], weight: int, orders: int
    ) -> wire.OrderResponse:
        """One signed WS API call returning an order; -1021 ⇒ resync + one retry. Raises typed errors."""
        for attempt in (0, 1):
            await self.rest.limiter.acquire(weight, orders)
            resp = await self._send(method, dict(params), signed=True)
            if resp.rateLimits:
                self.rest.limiter.on_ws_rate_limits([msgspec.structs.asdict(r) for r in resp.rateLimits])
            if resp.status == 200 and len(resp.result):
                return wire.order_decoder.decode(resp.result)
            code = resp.error.code if resp.error else None
            msg = resp.error.msg if resp.error else f"status {resp.status}"
            if resp.status in (418, 429):
                self.rest.limiter.on_rejected(resp.status, _retry_after_s(resp, self.rest.clock.now_ms()))
            exc = exchange_error_for(code, f"{method}: {msg}", http_status=resp.status)
            if isinstance(exc, TimestampError) and attempt == 0:
                await self.rest.sync_time(force=True)
                self.rest.resyncs += 1
                continue
            raise exc
        raise AssertionError("unreachable")

    # ------------------------------------------------------------------ classification

    def _result(
        self, symbol: str, cid: str, via: str, order: wire.OrderResponse | None, exc: BaseException | None
    ) -> OrderResult:
        if order is not None:
            f = self.filters[symbol]
            upd = codec.order_updated_from_rest(order, f, time.time_ns())
            return OrderResult(
                outcome=Outcome.CONFIRMED, symbol=symbol, client_order_id=cid, order=upd, via=via
            )
        if isinstance(exc, ExchangeError):
            unknown = isinstance(exc, ExchangeUnavailable) or exc.code in UNKNOWN_OUTCOME_CODES
            if isinstance(exc, RateLimitError) and exc.http_status is None:
                unknown = False  # our own limiter refused before sending
            return OrderResult(
                outcome=Outcome.UNKNOWN if unknown else Outcome.REJECTED,
                symbol=symbol,
                client_order_id=cid,
                code=exc.code,
                msg=exc.msg,
                via=via,
                error=exc,
            )
        self.timeouts += isinstance(exc, TimeoutError)
        return OrderResult(
            outcome=Outcome.UNKNOWN,
            symbol=symbol,
            client_order_id=cid,
            msg=f"no answer: {type(exc).__name__}",
            via=via,
        )

    async def _execute(
        self,
        symbol: str,
        cid: str,
        ws_method: str,
        params: Mapping[str, str],
        weight: int,
        orders: int,
        rest_call: Any,
    ) -> OrderResult:
        if self.use_ws_api and self.ws_ready:
            try:
                order = await self._ws_call(ws_method, params, weight, orders)
                return self._result(symbol, cid, "ws", order, None)
            except _NotSent:
                pass  # fall through to REST: nothing reached the exchange
            except (ExchangeError, TimeoutError, ConnectionError) as exc:
                return self._result(symbol, cid, "ws", None, exc)
            except Exception as exc:  # e.g. an undecodable reply: sent, so the outcome is unknown
                log.exception("ws-api %s %s: unexpected error", ws_method, cid)
                return self._result(symbol, cid, "ws", None, exc)
        if self.use_ws_api:
            self.rest_fallbacks += 1
        try:
            order = await rest_call()
            return self._result(symbol, cid, "rest", order, None)
        except (ExchangeError, TimeoutError, ConnectionError) as exc:
            return self._result(symbol, cid, "rest", None, exc)
        except Exception as exc:
            log.exception("rest %s %s: unexpected error", ws_method, cid)
            return self._result(symbol, cid, "rest", None, exc)

    # ------------------------------------------------------------------ public API

    async def place(self, action: PlaceOrder) -> OrderResult:
        """Place one order (``order.place`` / ``POST /fapi/v1/order``)."""
        params = codec.place_params(action, self.filters[action.symbol])
        return await self._execute(
            action.symbol,
            action.client_order_id,
            "order.place",
            params,
            0,
            1,
            lambda: self.rest.place_order(params),
        )

    async def cancel(self, action: CancelOrder) -> OrderResult:
        """Cancel one order by client id; ``-2011`` (already gone) comes back as ``REJECTED``."""
        params = codec.cancel_params(action)
        return await self._execute(
            action.symbol,
            action.client_order_id,
            "order.cancel",
            params,
            1,
            0,
            lambda: self.rest.cancel_order(action.symbol, action.client_order_id),
        )

    async def modify(self, action: ModifyOrder) -> OrderResult:
        """Amend price/qty in place (``order.modify`` / ``PUT /fapi/v1/order``)."""
        params = codec.modify_params(action, self.filters[action.symbol])
        return await self._execute(
            action.symbol,
            action.client_order_id,
            "order.modify",
            params,
            0,
            1,
            lambda: self.rest.modify_order(params),
        )

    async def place_many(self, actions: Sequence[PlaceOrder]) -> list[OrderResult]:
        """Place several orders: pipelined over the WS API, or ``batchOrders`` (5 per call) over REST."""
        if self.use_ws_api and self.ws_ready:
            return list(await asyncio.gather(*(self.place(a) for a in actions)))
        if self.use_ws_api:
            self.rest_fallbacks += 1
        chunks = [list(actions[i : i + 5]) for i in range(0, len(actions), 5)]
        results = await asyncio.gather(*(self._rest_batch(c) for c in chunks))
        return [r for chunk in results for r in chunk]

    async def _rest_batch(self, actions: list[PlaceOrder]) -> list[OrderResult]:
        params = [codec.place_params(a, self.filters[a.symbol]) for a in actions]
        try:
            items = await self.rest.place_batch_orders(params)
        except Exception as exc:  # typed errors classify themselves; anything else after sending is unknown
            if not isinstance(exc, ExchangeError | TimeoutError | ConnectionError):
                log.exception("batchOrders: unexpected error")
            return [self._result(a.symbol, a.client_order_id, "rest", None, exc) for a in actions]
        out = []
        for a, item in zip(actions, items, strict=True):
            if isinstance(item, ExchangeError):
                out.append(self._result(a.symbol, a.client_order_id, "rest", None, item))
            else:
                out.append(self._result(a.symbol, a.client_order_id, "rest", item, None))
        return out

    async def query(self, symbol: str, client_order_id: str) -> OrderResult:
        """The exchange's view of an order: ``CONFIRMED`` with its state, ``REJECTED`` (-2013) if it does not
        exist, ``UNKNOWN`` if the query itself failed."""
        try:
            order = await self.rest.fetch_order(symbol, client_order_id)
            return self._result(symbol, client_order_id, "rest", order, None)
        except UnknownOrderError as exc:
            return self._result(symbol, client_order_id, "rest", None, exc)
        except (ExchangeError, TimeoutError, ConnectionError) as exc:
            return OrderResult(
                outcome=Outcome.UNKNOWN,
                symbol=symbol,
                client_order_id=client_order_id,
                code=getattr(exc, "code", None),
                msg=f"query failed: {type(exc).__name__}",
                via="rest",
            )

    async def resolve(self, result: OrderResult) -> OrderResult:
        """Resolve an ``UNKNOWN`` outcome by querying the order by client id; other outcomes pass through."""
        if result.outcome is not Outcome.UNKNOWN:
            return result
        return await self.query(result.symbol, result.client_order_id)
