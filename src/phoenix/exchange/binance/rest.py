"""Async REST client: keep-alive session, signing, time sync, rate limiting, typed errors and responses.

Every request goes through the shared ``RateLimiter`` (usage < 80 % of each limit, Retry-After honoured,
never sent into a ban). SIGNED requests carry ``timestamp`` from the ``ServerClock``; a ``-1021`` triggers a
time resync and exactly one retry. Errors become ``phoenix.errors`` types; network failures and 5xx become
``ExchangeUnavailable`` (outcome unknown). Secrets never appear in exceptions or logs.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

import aiohttp
import msgspec
from yarl import URL

from phoenix.core.types import SymbolFilters
from phoenix.errors import ExchangeError, ExchangeUnavailable, TimestampError, exchange_error_for
from phoenix.exchange.binance import wire
from phoenix.exchange.binance.clock import ServerClock
from phoenix.exchange.binance.codec import filters_from_exchange_info
from phoenix.exchange.binance.ratelimit import RateLimiter
from phoenix.exchange.binance.signing import Signer, encode_params, signed_query
from phoenix.exchange.binance.urls import Endpoints

log = logging.getLogger(__name__)

T = TypeVar("T")
Params = Mapping[str, str | int | bool] | Sequence[tuple[str, str]]

# codes whose execution status is unknown even though an error came back (protocol §3.0)
UNKNOWN_OUTCOME_CODES = frozenset({-1000, -1006, -1007})


def _to_pairs(params: Params | None) -> list[tuple[str, str]]:
    if params is None:
        return []
    items = params.items() if isinstance(params, Mapping) else params
    out = []
    for k, v in items:
        if isinstance(v, bool):
            out.append((k, "true" if v else "false"))
        else:
            out.append((k, str(v)))
    return out


class BinanceRestClient:
    """Signed REST access to ``/fapi`` with time sync and rate limiting. Use as an async context manager."""

    def __init__(
        self,
        endpoints: Endpoints,
        signer: Signer | None = None,
        *,
        clock: ServerClock | None = None,
        limiter: RateLimiter | None = None,
        session: aiohttp.ClientSession | None = None,
        recv_window_ms: int = 5000,
        timeout_s: float = 10.0,
        time_samples: int = 3,
    ) -> None:
        self.endpoints = endpoints
        self._signer = signer
        self.clock = clock or ServerClock()
        self.limiter = limiter or RateLimiter(self.clock.now_ms)
        self._session = session
        self._own_session = session is None
        self.recv_window_ms = recv_window_ms
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._time_samples = time_samples
        self._sync_lock = asyncio.Lock()
        self._sync_task: asyncio.Task[None] | None = None
        self.resyncs = 0

    async def __aenter__(self) -> BinanceRestClient:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def session(self) -> aiohttp.ClientSession:
        """The keep-alive HTTP session (created by ``start``)."""
        if self._session is None:
            raise RuntimeError("BinanceRestClient.start() was not called")
        return self._session

    async def start(self, *, sync_time: bool = True) -> None:
        """Open the session and (by default) sync the server clock."""
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=32, keepalive_timeout=60, ttl_dns_cache=300)
            )
        if sync_time:
            await self.sync_time()

    async def close(self) -> None:
        """Close the session if this client created it."""
        if self._sync_task is not None:
            self._sync_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._sync_task
            self._sync_task = None
        if self._session is not None and self._own_session:
            await self._session.close()
        self._session = None

    # ------------------------------------------------------------------ core request

    async def request(
        self,
        method: str,
        path: str,
        params: Params | None = None,
        *,
        signed: bool = False,
        api_key: bool = False,
        weight: int = 1,
        orders: int = 0,
        retry_on_timestamp: bool = True,
    ) -> bytes:
        """Send one request and return the raw JSON body of a success; raises typed ``ExchangeError``s.

        SIGNED requests also trigger a background clock resync once the resync interval has elapsed.
        """
        if signed and self.clock.needs_sync() and (self._sync_task is None or self._sync_task.done()):
            self._sync_task = asyncio.create_task(self._background_sync())
        try:
            return await self._request_once(method, path, params, signed, api_key, weight, orders)
        except TimestampError:
            if not (signed and retry_on_timestamp):
                raise
            log.warning("binance -1021 on %s %s: resyncing clock and retrying once", method, path)
            await self.sync_time(force=True)
            self.resyncs += 1
            return await self._request_once(method, path, params, signed, api_key, weight, orders)

    async def _request_once(
        self,
        method: str,
        path: str,
        params: Params | None,
        signed: bool,
        api_key: bool,
        weight: int,
        orders: int,
    ) -> bytes:
        pairs = _to_pairs(params)
        headers: dict[str, str] = {}
        if signed or api_key:
            if self._signer is None:
                raise ExchangeError(None, f"{method} {path} needs API credentials")
            headers["X-MBX-APIKEY"] = self._signer.api_key
        await self.limiter.acquire(weight, orders)
        if signed:
            assert self._signer is not None
            pairs.append(("recvWindow", str(self.recv_window_ms)))
            pairs.append(("timestamp", str(self.clock.now_ms())))
            query = signed_query(pairs, self._signer)
        else:
            query = encode_params(pairs)
        url = URL(
            f"{self.endpoints.rest}{path}?{query}" if query else f"{self.endpoints.rest}{path}", encoded=True
        )
        try:
            async with self.session.request(method, url, headers=headers, timeout=self._timeout) as resp:
                body = await resp.read()
                self.limiter.on_headers(resp.headers)
                status = resp.status
                retry_after = resp.headers.get("Retry-After")
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise ExchangeUnavailable(None, f"{method} {path}: {type(exc).__name__}") from None
        if status < 400:
            return body
        raise self._error(method, path, status, body, retry_after)

    def _error(
        self, method: str, path: str, status: int, body: bytes, retry_after: str | None
    ) -> ExchangeError:
        code: int | None = None
        msg = body[:200].decode(errors="replace")
        try:
            err = wire.error_decoder.decode(body)
            code, msg = err.code, err.msg
        except (msgspec.DecodeError, msgspec.ValidationError):
            code = None  # not a Binance error body (e.g. a proxy's HTML page): msg keeps its first bytes
        retry_s: float | None = None
        if retry_after is not None:
            try:
                retry_s = float(retry_after)
            except ValueError:
                retry_s = None
        if status in (418, 429):
            self.limiter.on_rejected(status, retry_s)
        exc = exchange_error_for(code, f"{method} {path}: {msg}", http_status=status, retry_after_s=retry_s)
        if code in UNKNOWN_OUTCOME_CODES and not isinstance(exc, ExchangeUnavailable):
            exc = ExchangeUnavailable(code, exc.msg, http_status=status)
        return exc

    async def _get(self, path: str, typ: type[T], params: Params | None = None, **kw: Any) -> T:
        body = await self.request("GET", path, params, **kw)
        return msgspec.json.decode(body, type=typ, strict=False)

    # ------------------------------------------------------------------ time

    async def fetch_server_time_ms(self) -> int:
        """``GET /fapi/v1/time``."""
        return (await self._get("/fapi/v1/time", wire.ServerTime)).serverTime

    async def sync_time(self, *, force: bool = False) -> int:
        """Estimate the server clock offset from a few ``/time`` calls (min RTT wins); returns it in ms."""
        async with self._sync_lock:
            if not force and not self.clock.needs_sync():
                return self.clock.offset_ms
            samples = []
            for _ in range(self._time_samples):
                t0 = self.clock.local_ms()
                server = await self.fetch_server_time_ms()
                t1 = self.clock.local_ms()
                samples.append((t0, server, t1))
            offset = self.clock.apply_samples(samples)
            log.info("binance clock offset %d ms (rtt %d ms)", offset, self.clock.rtt_ms)
            return offset

    async def _background_sync(self) -> None:
        try:
            await self.sync_time()
        except ExchangeError as exc:
            log.warning("binance periodic time sync failed: %s", exc)

    async def run_time_sync(self) -> None:
        """Resync forever at the clock's interval (run as a task; failures are logged and retried)."""
        while True:
            await asyncio.sleep(max(1.0, self.clock.resync_interval_ms / 1000))
            try:
                await self.sync_time(force=True)
            except ExchangeError as exc:
                log.warning("binance time sync failed: %s", exc)

    # ------------------------------------------------------------------ market data

    async def fetch_exchange_info(self) -> wire.ExchangeInfo:
        """``GET /fapi/v1/exchangeInfo``; also adopts its rate limits."""
        info = await self._get("/fapi/v1/exchangeInfo", wire.ExchangeInfo)
        if info.rateLimits:
            self.limiter.set_limits([msgspec.structs.asdict(r) for r in info.rateLimits])
        return info

    async def fetch_exchange_filters(self, symbols: Sequence[str] | None = None) -> dict[str, SymbolFilters]:
        """``{symbol: SymbolFilters}`` from live exchangeInfo (only ``symbols`` if given)."""
        filters = filters_from_exchange_info(await self.fetch_exchange_info())
        if symbols is not None:
            missing = [s for s in symbols if s not in filters]
            if missing:
                raise ExchangeError(None, f"symbols not trading on the exchange: {missing}")
            return {s: filters[s] for s in symbols}
        return filters

    async def fetch_depth(self, symbol: str, limit: int = 1000) -> wire.DepthSnapshot:
        """``GET /fapi/v1/depth`` (weight 2–20 by limit)."""
        weight = 2 if limit <= 50 else 5 if limit <= 100 else 10 if limit <= 500 else 20
        return await self._get(
            "/fapi/v1/depth", wire.DepthSnapshot, {"symbol": symbol, "limit": limit}, weight=weight
        )

    async def fetch_premium_index(self, symbol: str) -> wire.PremiumIndex:
        """``GET /fapi/v1/premiumIndex``: mark price and the predicted funding rate."""
        return await self._get("/fapi/v1/premiumIndex", wire.PremiumIndex, {"symbol": symbol})

    async def fetch_funding_rates(self, symbol: str, limit: int = 100) -> list[wire.FundingRateRow]:
        """``GET /fapi/v1/fundingRate``: settled funding history (own 500/5 min budget)."""
        return await self._get(
            "/fapi/v1/fundingRate", list[wire.FundingRateRow], {"symbol": symbol, "limit": limit}
        )

    # ------------------------------------------------------------------ account

    async def fetch_positions(self, symbol: str | None = None) -> list[wire.PositionRisk]:
        """``GET /fapi/v3/positionRisk``."""
        params = {"symbol": symbol} if symbol else None
        return await self._get(
            "/fapi/v3/positionRisk", list[wire.PositionRisk], params, signed=True, weight=5
        )

    async def fetch_account(self) -> wire.AccountInfo:
        """``GET /fapi/v3/account``."""
        return await self._get("/fapi/v3/account", wire.AccountInfo, signed=True, weight=5)

    async def fetch_balances(self) -> list[wire.BalanceRow]:
        """``GET /fapi/v3/balance``."""
        return await self._get("/fapi/v3/balance", list[wire.BalanceRow], signed=True, weight=5)

    async def fetch_commission_rate(self, symbol: str) -> wire.CommissionRate:
        """``GET /fapi/v1/commissionRate`` (weight 20: call at start-up and daily, not in a loop)."""
        return await self._get(
            "/fapi/v1/commissionRate", wire.CommissionRate, {"symbol": symbol}, signed=True, weight=20
        )

    async def fetch_income(
        self,
        *,
        income_type: str | None = None,
        symbol: str | None = None,
        start_ms: int | None = None,
        end_ms: int | None = None,
        limit: int = 1000,
    ) -> list[wire.IncomeRow]:
        """``GET /fapi/v1/income`` (weight 30: for ledger audits, never in a tight loop)."""
        params: dict[str, str | int] = {"limit": limit}
        if income_type:
            params["incomeType"] = income_type
        if symbol:
            params["symbol"] = symbol
        if start_ms is not None:
            params["startTime"] = start_ms
        if end_ms is not None:
            params["endTime"] = end_ms
        return await self._get("/fapi/v1/income", list[wire.IncomeRow], params, signed=True, weight=30)

    async def fetch_open_orders(self, symbol: str | None = None) -> list[wire.OrderResponse]:
        """``GET /fapi/v1/openOrders`` (weight 1 with symbol, 40 without)."""
        params = {"symbol": symbol} if symbol else None
        return await self._get(
            "/fapi/v1/openOrders", list[wire.OrderResponse], params, signed=True, weight=1 if symbol else 40
        )

    async def fetch_order(self, symbol: str, client_order_id: str) -> wire.OrderResponse:
        """``GET /fapi/v1/order`` by client order id; ``UnknownOrderError`` (-2013) if it never existed."""
        return await self._get(
            "/fapi/v1/order",
            wire.OrderResponse,
            {"symbol": symbol, "origClientOrderId": client_order_id},
            signed=True,
        )

    # ------------------------------------------------------------------ trading

    async def place_order(self, params: Mapping[str, str]) -> wire.OrderResponse:
        """``POST /fapi/v1/order``."""
        body = await self.request("POST", "/fapi/v1/order", params, signed=True, weight=0, orders=1)
        return wire.order_decoder.decode(body)

    async def modify_order(self, params: Mapping[str, str]) -> wire.OrderResponse:
        """``PUT /fapi/v1/order`` (amend price/qty; loses queue priority)."""
        body = await self.request("PUT", "/fapi/v1/order", params, signed=True, weight=0, orders=1)
        return wire.order_decoder.decode(body)

    async def cancel_order(self, symbol: str, client_order_id: str) -> wire.OrderResponse:
        """``DELETE /fapi/v1/order`` by client order id."""
        body = await self.request(
            "DELETE", "/fapi/v1/order", {"symbol": symbol, "origClientOrderId": client_order_id}, signed=True
        )
        return wire.order_decoder.decode(body)

    async def place_batch_orders(
        self, orders: Sequence[Mapping[str, str]]
    ) -> list[wire.OrderResponse | ExchangeError]:
        """``POST /fapi/v1/batchOrders`` (≤ 5 orders); one result or typed error per item, in order."""
        if not 0 < len(orders) <= 5:
            raise ValueError("batchOrders takes 1 to 5 orders")
        payload = json.dumps([dict(o) for o in orders], separators=(",", ":"))
        body = await self.request(
            "POST", "/fapi/v1/batchOrders", {"batchOrders": payload}, signed=True, weight=5, orders=5
        )
        out: list[wire.OrderResponse | ExchangeError] = []
        for raw in msgspec.json.decode(body, type=list[msgspec.Raw]):
            try:
                out.append(wire.order_decoder.decode(raw))
            except msgspec.ValidationError:
                err = wire.error_decoder.decode(raw)
                out.append(exchange_error_for(err.code, f"batchOrders: {err.msg}", http_status=400))
        return out

    async def cancel_all_orders(self, symbol: str) -> None:
        """``DELETE /fapi/v1/allOpenOrders``."""
        await self.request("DELETE", "/fapi/v1/allOpenOrders", {"symbol": symbol}, signed=True)

    async def countdown_cancel_all(self, symbol: str, countdown_ms: int) -> wire.CountdownResponse:
        """``POST /fapi/v1/countdownCancelAll`` (dead-man switch; 0 disables)."""
        body = await self.request(
            "POST",
            "/fapi/v1/countdownCancelAll",
            {"symbol": symbol, "countdownTime": countdown_ms},
            signed=True,
            weight=10,
        )
        return msgspec.json.decode(body, type=wire.CountdownResponse, strict=False)

    # ------------------------------------------------------------------ user stream keys

    async def create_listen_key(self) -> str:
        """``POST /fapi/v1/listenKey`` (returns the active key, extended, if one exists)."""
        body = await self.request("POST", "/fapi/v1/listenKey", api_key=True)
        key = msgspec.json.decode(body, type=wire.ListenKeyResponse).listenKey
        if not key:
            raise ExchangeError(None, "listenKey missing in response")
        return key

    async def keepalive_listen_key(self, listen_key: str) -> None:
        """``PUT /fapi/v1/listenKey``; ``-1125`` (unknown key) surfaces as ``ExchangeError``."""
        await self.request("PUT", "/fapi/v1/listenKey", {"listenKey": listen_key}, api_key=True)

    async def close_listen_key(self, listen_key: str) -> None:
        """``DELETE /fapi/v1/listenKey``."""
        await self.request("DELETE", "/fapi/v1/listenKey", {"listenKey": listen_key}, api_key=True)
