"""User data stream: listenKey lifecycle and ORDER_TRADE_UPDATE / ACCOUNT_UPDATE decoding into core events.

Lifecycle: POST a listenKey, connect ``<private>/ws?listenKey=<key>``, then call ``on_reconnect`` (the
runner reconciles open orders and positions by REST, so events missed while disconnected are not lost);
PUT keep-alive every ``keepalive_interval_s``; on ``-1125``, a failed keep-alive streak or a
``listenKeyExpired`` event the socket is closed and a new key is created. Reconnects forever with capped,
jittered backoff and before the 24 h cut-off.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping

import aiohttp
import msgspec

from phoenix.core.types import Event, SymbolFilters
from phoenix.errors import ExchangeError
from phoenix.exchange.binance import codec, wire
from phoenix.exchange.binance.backoff import Backoff
from phoenix.exchange.binance.rest import BinanceRestClient
from phoenix.exchange.binance.urls import Endpoints

log = logging.getLogger(__name__)

EventHandler = Callable[[Event], Awaitable[None]]
ReconnectHandler = Callable[[], Awaitable[None]]

INVALID_LISTEN_KEY = -1125
_VITAL_EVENTS = frozenset({"ORDER_TRADE_UPDATE", "ACCOUNT_UPDATE", "listenKeyExpired"})


class _EventType(msgspec.Struct):
    e: str = ""


_event_type_decoder = msgspec.json.Decoder(_EventType)


def _event_type(data: bytes | str) -> str:
    """The ``e`` field of a frame ("" if it is not a JSON object with a string ``e``)."""
    try:
        return _event_type_decoder.decode(data).e
    except (msgspec.DecodeError, msgspec.ValidationError):
        return ""


class UserDataStream:
    """One account's private stream: fills, order states, funding, balances, positions (core events)."""

    def __init__(
        self,
        endpoints: Endpoints,
        rest: BinanceRestClient,
        filters: Mapping[str, SymbolFilters],
        on_event: EventHandler,
        *,
        on_reconnect: ReconnectHandler | None = None,
        keepalive_interval_s: float = 1800.0,
        keepalive_retry_s: float = 60.0,
        max_keepalive_failures: int = 3,
        max_connection_age_s: float = 23.5 * 3600,
        healthy_after_s: float = 10.0,
        margin_asset: str = "USDC",
        backoff: Callable[[], Backoff] = Backoff,
        session: aiohttp.ClientSession | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        on_invalid: Callable[[str], None] | None = None,
    ) -> None:
        """``on_invalid(event_type)`` is called for an ORDER_TRADE_UPDATE / ACCOUNT_UPDATE frame that fails
        validation (the runner counts it in a metric and reconciles)."""
        self._on_invalid = on_invalid
        self.invalid_events = 0
        self.endpoints = endpoints
        self.rest = rest
        self.filters = dict(filters)
        self._on_event = on_event
        self._on_reconnect = on_reconnect
        self.keepalive_interval_s = keepalive_interval_s
        self.keepalive_retry_s = keepalive_retry_s
        self.max_keepalive_failures = max_keepalive_failures
        self.max_connection_age_s = max_connection_age_s
        self.healthy_after_s = healthy_after_s
        self.margin_asset = margin_asset
        self._backoff = backoff
        self._session = session
        self._own_session = session is None
        self._now = monotonic
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self.listen_key: str | None = None
        self.connected = asyncio.Event()
        self.connects = 0
        self.keys_created = 0  # successful POST /listenKey calls (Binance returns the active key if valid)
        self.expirations = 0
        self.keepalives = 0
        self.last_message_at = 0.0
        self.unknown_symbol_events = 0
        self.handler_errors = 0

    def last_message_age_s(self) -> float:
        """Seconds since the last frame (a quiet stream with open orders is an incident for the runner)."""
        return self._now() - self.last_message_at if self.last_message_at else float("inf")

    async def start(self) -> None:
        """Start the stream task (returns immediately; ``connected`` is set once the socket is up)."""
        if self._session is None:
            self._session = aiohttp.ClientSession()
        self._stopping = False
        self._task = asyncio.create_task(self._run())

    async def stop(self, *, close_key: bool = True) -> None:
        """Stop reconnecting, close the socket and (by default) delete the listenKey."""
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
        if close_key and self.listen_key is not None:
            with contextlib.suppress(ExchangeError):
                await self.rest.close_listen_key(self.listen_key)
        if self._session is not None and self._own_session:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> UserDataStream:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _run(self) -> None:
        backoff = self._backoff()
        assert self._session is not None
        while not self._stopping:
            lived_s = 0.0  # how long the connection that just ended was up (0 if the connect failed)
            try:
                self.listen_key = await self.rest.create_listen_key()
                self.keys_created += 1
            except ExchangeError as exc:
                log.warning("listenKey create failed: %s", exc)
                await asyncio.sleep(backoff.next_delay_s())
                continue
            url = f"{self.endpoints.ws_private}/ws?listenKey={self.listen_key}"
            try:
                async with self._session.ws_connect(url, autoping=True, max_msg_size=0) as ws:
                    self.connects += 1
                    connected_at = self.last_message_at = self._now()
                    keepalive = asyncio.create_task(self._keepalive(ws, self.listen_key, connected_at))
                    try:
                        self.connected.set()
                        if self._on_reconnect is not None:
                            await self._on_reconnect()
                        async for msg in ws:
                            self.last_message_at = self._now()
                            is_data = msg.type in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY)
                            if is_data and await self._on_frame(msg.data):
                                break
                    finally:
                        self.connected.clear()
                        keepalive.cancel()
                        lived_s = self._now() - connected_at
            except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                log.warning("user stream error: %s", type(exc).__name__)
            except Exception:
                # never stop the user stream for a bug downstream: reconnect (and reconcile) instead
                self.handler_errors += 1
                log.exception("user stream: unexpected error; reconnecting")
            if self._stopping:
                break
            if lived_s >= self.healthy_after_s:
                backoff.reset()  # only a connection that stayed up counts as healthy
            await asyncio.sleep(backoff.next_delay_s())

    async def _keepalive(self, ws: aiohttp.ClientWebSocketResponse, key: str, connected_at: float) -> None:
        failures = 0
        while not ws.closed:
            wait = self.keepalive_interval_s if failures == 0 else self.keepalive_retry_s
            remaining_life = self.max_connection_age_s - (self._now() - connected_at)
            if remaining_life <= wait:
                await asyncio.sleep(max(0.0, remaining_life))
                log.info("user stream reached its max age: scheduled reconnect")
                await ws.close()
                return
            await asyncio.sleep(wait)
            try:
                await self.rest.keepalive_listen_key(key)
                self.keepalives += 1
                failures = 0
            except ExchangeError as exc:
                failures += 1
                log.warning("listenKey keep-alive failed (%d): %s", failures, exc)
                if exc.code == INVALID_LISTEN_KEY or failures >= self.max_keepalive_failures:
                    await ws.close()
                    return

    async def _on_frame(self, data: bytes | str) -> bool:
        """Handle one frame; returns True when the key expired and the socket must be replaced."""
        try:
            ev = wire.user_decoder.decode(data)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            # other event types (ACCOUNT_CONFIG_UPDATE, MARGIN_CALL, ALGO_UPDATE...) are ignored; one we rely
            # on that does not validate is an incident (reconciliation recovers its content): say so
            kind = _event_type(data)
            if kind in _VITAL_EVENTS:
                self.invalid_events += 1
                log.error("user stream: invalid %s dropped: %s", kind, exc)
                if self._on_invalid is not None:
                    self._on_invalid(kind)
            return False
        if isinstance(ev, wire.OrderTradeUpdate):
            f = self.filters.get(ev.o.s)
            if f is None:
                self.unknown_symbol_events += 1
                return False
            for event in codec.order_events(ev, f):
                await self._on_event(event)
        elif isinstance(ev, wire.AccountUpdate):
            for event in codec.account_events(ev, self.margin_asset):
                await self._on_event(event)
            for position in codec.positions_from_account_update(ev, self.filters):
                await self._on_event(position)
        elif isinstance(ev, wire.ListenKeyExpired):
            self.expirations += 1
            log.warning("listenKey expired: creating a new key and reconnecting")
            return True
        return False
