"""SimServer: the simulated Binance USDⓈ-M exchange served over loopback (REST + WebSocket).

Wires the pure engine (:class:`SimExchange`) to aiohttp: REST endpoints (``rest.py``), market streams on
the routed and legacy paths (``streams.py``), user data streams (``userstream.py``), the WebSocket API
(``wsapi.py``), fault injection with its loopback admin endpoint (``faults.py``) and a feed driver
(``feed_driver.py``). One asyncio loop owns everything; the engine is called synchronously.

Usage::

    sim = SimServer(symbols=["ETHUSDC"], feed="synthetic", seed=7)
    await sim.start()
    print(sim.rest_url, sim.ws_public_url, sim.ws_api_url)
    ...
    await sim.stop()
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

from phoenix.config import SimSettings
from phoenix.core.types import Side, SymbolFilters
from phoenix.exchange.sim import wire
from phoenix.exchange.sim.auth import (
    DEFAULT_API_KEY,
    DEFAULT_API_SECRET,
    DEFAULT_ED25519_API_KEY,
    ApiCredential,
    KeyRing,
)
from phoenix.exchange.sim.engine import SimExchange
from phoenix.exchange.sim.faults import FaultInjector, admin_routes, is_loopback
from phoenix.exchange.sim.feed_driver import DEFAULT_MIDS, FeedDriver, apply_feed_event, build_feed
from phoenix.exchange.sim.feeds import (
    FeedEvent,
)
from phoenix.exchange.sim.ratelimit import RateLimiter, RateLimits
from phoenix.exchange.sim.rest import RestApi
from phoenix.exchange.sim.sim_types import (
    AccountId,
    AccountUpdatePublished,
    BookTickerPublished,
    DepthDiffPublished,
    FeeSchedule,
    MarkPricePublished,
    OrderUpdatePublished,
    SimEvent,
    TradePublished,
)
from phoenix.exchange.sim.stream_routes import StreamRoutes
from phoenix.exchange.sim.streams import MarketStreamHub
from phoenix.exchange.sim.symbols import DEFAULT_SYMBOLS, SimSymbolSpec
from phoenix.exchange.sim.trading import TradingApi
from phoenix.exchange.sim.userstream import LISTEN_KEY_VALIDITY_MS, UserStreamHub
from phoenix.exchange.sim.wsapi import WsApi

log = logging.getLogger("phoenix.sim")
TICK_INTERVAL_S = 0.02
SEED_LEVEL_NOTIONAL_USDC = 25_000.0
MAX_CONNECTION_AGE_MS = 24 * 3600 * 1000
FEEDS = ("synthetic", "replay", "manual")


def wall_clock_ms() -> int:
    """Wall-clock Unix time in ms (the simulator's default clock)."""
    return time.time_ns() // 1_000_000


@dataclass(frozen=True, slots=True, kw_only=True)
class SimAccount:
    """One account of the simulator, identified by its API key.

    Give ``api_secret`` for an HMAC key or ``ed25519_public_key`` (32 raw bytes) for an Ed25519 key.
    """

    api_key: str
    api_secret: str | None = None
    ed25519_public_key: bytes | None = None
    balance_usdc: float = 100_000.0

    def credential(self) -> ApiCredential:
        """The verification credential of this account's key."""
        if self.ed25519_public_key is not None:
            return ApiCredential.ed25519_key(self.api_key, self.ed25519_public_key)
        if self.api_secret is None:
            raise ValueError(f"account {self.api_key!r} needs an api_secret or an ed25519_public_key")
        return ApiCredential.hmac_key(self.api_key, self.api_secret)


class SimServer:
    """The simulated exchange as a server on ``host:port`` (0 = ephemeral).

    Args:
        symbols: Symbols to list (default filters from ``symbols.DEFAULT_SYMBOLS``).
        host: Bind address (loopback by default; the admin endpoint only ever answers loopback peers).
        port: TCP port, 0 = pick a free one.
        feed: ``synthetic`` (seeded random market), ``replay`` (``replay_file``: Binance raw recording
            ``.dat.gz`` or mid-only ``.csv``) or ``manual`` (no feed; tests inject market data).
        replay_file: Recording for ``feed="replay"`` (drives the first symbol).
        speed: Feed time per wall time (1 = real time).
        seed: Seed of the synthetic feed (symbol i uses ``seed + i``).
        accounts: Accounts to create; default one HMAC account with ``api_key``/``api_secret``.
        api_key: Key of the default account (documented default ``phoenix-sim-key``).
        api_secret: Secret of the default account (documented default ``phoenix-sim-secret``).
        balance_usdc: Wallet balance of the default account.
        fees: Maker/taker fee schedule.
        leverage: Initial leverage of every account and symbol.
        limits: Rate limits (tests lower them).
        immediate_depth: Publish each engine depth diff at once instead of per-cadence windows.
        clock_ms: Server clock (ms); defaults to the wall clock. Fault skew is added on top.
        listen_key_validity_ms: Lifetime of a listenKey after creation/keepalive.
        max_connection_age_ms: WebSocket connections are closed by the server after this long (24 h).
        feed_paused: Start the feed driver paused (advance it with :meth:`step_feed`).
        seed_book: For ``feed="manual"``: put a 20-level book and a mark price around ``DEFAULT_MIDS``.
        specs: Symbol specs overriding the defaults.
        ed25519_private_key: If given, an extra account with the Ed25519 key ``ed25519_api_key`` is created
            (the server keeps only the public key for verification; the private key is exposed for clients).
        ed25519_api_key: API key string of that Ed25519 account.
    """

    def __init__(
        self,
        *,
        symbols: Sequence[str] = ("ETHUSDC",),
        host: str = "127.0.0.1",
        port: int = 0,
        feed: str = "synthetic",
        replay_file: str | Path | None = None,
        speed: float = 1.0,
        seed: int = 7,
        accounts: Sequence[SimAccount] | None = None,
        api_key: str = DEFAULT_API_KEY,
        api_secret: str = DEFAULT_API_SECRET,
        balance_usdc: float = 100_000.0,
        fees: FeeSchedule | None = None,
        leverage: int = 20,
        limits: RateLimits | None = None,
        immediate_depth: bool = False,
        clock_ms: Callable[[], int] | None = None,
        listen_key_validity_ms: int = LISTEN_KEY_VALIDITY_MS,
        max_connection_age_ms: int = MAX_CONNECTION_AGE_MS,
        feed_paused: bool = False,
        seed_book: bool = True,
        specs: Mapping[str, SimSymbolSpec] | None = None,
        ed25519_private_key: Ed25519PrivateKey | None = None,
        ed25519_api_key: str = DEFAULT_ED25519_API_KEY,
    ) -> None:
        if feed not in FEEDS:
            raise ValueError(f"feed must be one of {FEEDS}, not {feed!r}")
        if feed == "replay" and replay_file is None:
            raise ValueError("feed='replay' needs replay_file")
        names = [s.upper() for s in symbols]
        all_specs = dict(DEFAULT_SYMBOLS)
        if specs:
            all_specs.update(specs)
        unknown = [s for s in names if s not in all_specs]
        if unknown:
            raise ValueError(f"unknown symbols {unknown}; known: {sorted(all_specs)}")
        self.specs: dict[str, SimSymbolSpec] = {s: all_specs[s] for s in names}
        self.filters: dict[str, SymbolFilters] = {s: spec.filters for s, spec in self.specs.items()}
        self.host = host
        self.port = port
        self.feed_kind = feed
        self.replay_file = Path(replay_file) if replay_file is not None else None
        self.speed = speed
        self.seed = seed
        self.api_key = api_key
        self.api_secret = api_secret
        self.accounts: list[SimAccount] = (
            list(accounts)
            if accounts
            else [SimAccount(api_key=api_key, api_secret=api_secret, balance_usdc=balance_usdc)]
        )
        if all(a.api_key != api_key for a in self.accounts):
            # explicit accounts without the default key: the first one becomes ``sim.api_key``
            self.api_key = self.accounts[0].api_key
            self.api_secret = self.accounts[0].api_secret or ""
        self.ed25519_private_key = ed25519_private_key
        self.ed25519_api_key: str | None = None
        if ed25519_private_key is not None:
            self.ed25519_api_key = ed25519_api_key
            public = ed25519_private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
            self.accounts.append(
                SimAccount(api_key=ed25519_api_key, ed25519_public_key=public, balance_usdc=balance_usdc)
            )
        self.fees = fees or FeeSchedule()
        self._base_clock = clock_ms or wall_clock_ms
        self._feed_paused = feed_paused
        self.max_connection_age_ms = max_connection_age_ms
        self._seed_book = seed_book

        self.faults = FaultInjector(self._base_clock)
        self.limiter = RateLimiter(limits)
        self.engine = SimExchange(self.filters, fees=self.fees, leverage=leverage, specs=self.specs)
        self.keys = KeyRing()
        self.account_ids: dict[str, AccountId] = {}
        for acct in self.accounts:
            account_id = self.engine.add_account(acct.api_key, acct.balance_usdc)
            self.keys.add(acct.credential(), int(account_id))
            self.account_ids[acct.api_key] = account_id
        self.market = MarketStreamHub(
            self.filters, self.faults, self.now_ms, self._depth_view, immediate_depth=immediate_depth
        )
        self.users = UserStreamHub(self.filters, self.now_ms, validity_ms=listen_key_validity_ms)
        self.trading = TradingApi(self.engine, self.publish, self.users.publish_raw, self.fees)
        self.rest = RestApi(
            self.trading, self.keys, self.limiter, self.faults, self.users, self.now_ms, self._exchange_info
        )
        self.wsapi = WsApi(self.trading, self.keys, self.limiter, self.faults, self.users, self.now_ms)
        self.stream_routes = StreamRoutes(self.market, self.users, self.faults, self._base_clock)
        self.feed: FeedDriver | None = None
        self._runner: web.AppRunner | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._conn_tasks: set[asyncio.Task[None]] = set()
        self._started = False

    @classmethod
    def from_settings(
        cls,
        settings: SimSettings,
        symbols: Sequence[str],
        *,
        api_key: str = DEFAULT_API_KEY,
        api_secret: str = DEFAULT_API_SECRET,
        **kwargs: Any,
    ) -> SimServer:
        """Build from the ``global.sim`` config section (fees in bps there, fractions here)."""
        return cls(
            symbols=symbols,
            host=settings.host,
            port=settings.port,
            feed=settings.feed,
            replay_file=settings.replay_file,
            speed=settings.speed,
            seed=settings.seed,
            api_key=api_key,
            api_secret=api_secret,
            balance_usdc=settings.balance_usdc,
            fees=FeeSchedule(
                maker_rate=settings.maker_fee_bps / 10_000, taker_rate=settings.taker_fee_bps / 10_000
            ),
            **kwargs,
        )

    # ------------------------------------------------------------------ clock and URLs

    def now_ms(self) -> int:
        """Server time (ms): the base clock plus any injected skew."""
        return self._base_clock() + self.faults.skew_ms()

    @property
    def rest_url(self) -> str:
        """REST base, e.g. ``http://127.0.0.1:PORT`` (paths ``/fapi/v1/...``)."""
        return f"http://{self.host}:{self.port}"

    @property
    def ws_url(self) -> str:
        """WebSocket base ``ws://127.0.0.1:PORT`` (legacy ``/ws`` and ``/stream`` hang off it)."""
        return f"ws://{self.host}:{self.port}"

    @property
    def ws_public_url(self) -> str:
        """Route for depth/bookTicker/trade streams: append ``/ws/<stream>`` or ``/stream?streams=``."""
        return f"{self.ws_url}/public"

    @property
    def ws_market_url(self) -> str:
        """Route for aggTrade/markPrice/... streams."""
        return f"{self.ws_url}/market"

    @property
    def ws_private_url(self) -> str:
        """Route for user data: append ``/ws?listenKey=<key>`` or ``/ws/<key>``."""
        return f"{self.ws_url}/private"

    @property
    def ws_api_url(self) -> str:
        """WebSocket API endpoint ``ws://…/ws-fapi/v1``."""
        return f"{self.ws_url}/ws-fapi/v1"

    @property
    def admin_url(self) -> str:
        """Fault-injection admin base (``GET {admin_url}/faults``, ``POST {admin_url}/faults/<action>``)."""
        return f"{self.rest_url}/_sim"

    def urls(self) -> dict[str, str]:
        """All endpoint URLs by name."""
        return {
            "rest": self.rest_url,
            "ws_public": self.ws_public_url,
            "ws_market": self.ws_market_url,
            "ws_private": self.ws_private_url,
            "ws_api": self.ws_api_url,
            "admin": self.admin_url,
        }

    @property
    def ed25519_private_pem(self) -> str | None:
        """PKCS#8 PEM of the Ed25519 test key (the form ccxt takes as ``secret``), if any."""
        if self.ed25519_private_key is None:
            return None
        return self.ed25519_private_key.private_bytes(
            Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()
        ).decode()

    def account_id(self, api_key: str | None = None) -> AccountId:
        """Engine account id of an API key (the default key when None)."""
        return self.account_ids[api_key or self.api_key]

    # ------------------------------------------------------------------ lifecycle

    def _app(self) -> web.Application:
        app = web.Application(client_max_size=1 << 20)
        app.add_routes(self.rest.routes())
        app.add_routes(admin_routes(self.faults))
        app.add_routes(
            [
                web.get("/_sim/state", self._admin_state),
                web.post("/_sim/feed/{action}", self._admin_feed),
            ]
        )
        app.add_routes(self.stream_routes.routes())
        app.router.add_get("/ws-fapi/v1", self.wsapi.handle)
        app.on_shutdown.append(self._on_shutdown)
        return app

    async def start(self) -> None:
        """Bind the socket, seed the book (manual feed) and start the feed and timer tasks."""
        if self._started:
            return
        self.faults.bind(self)
        if self.feed_kind == "manual":
            if self._seed_book:
                for symbol in self.specs:
                    self.seed_default_book(symbol)
        else:
            feed = build_feed(
                self.feed_kind,
                self.filters,
                seed=self.seed,
                start_ms=self.now_ms(),
                replay_file=self.replay_file,
            )
            self.feed = FeedDriver(
                feed,
                self._apply_feed_event,
                self.now_ms,
                speed=self.speed,
                paused=self._feed_paused,
            )
            # the first events (the initial snapshot) go in before anyone can connect
            self.feed.step(len(self.specs) * 2)
        runner = web.AppRunner(self._app(), access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port, reuse_address=True)
        try:
            await site.start()
        except OSError:
            await runner.cleanup()
            raise
        self._runner = runner
        for addr in runner.addresses:
            if isinstance(addr, tuple) and len(addr) >= 2:
                self.port = int(addr[1])
                break
        self._tasks.append(asyncio.create_task(self._tick_loop(), name="sim-ticks"))
        if self.feed is not None:
            self._tasks.append(asyncio.create_task(self._run_feed(self.feed), name="sim-feed"))
        for task in self._tasks:
            task.add_done_callback(_report_crash)
        self._started = True

    async def stop(self) -> None:
        """Stop tasks, close every connection and release the port."""
        if not self._started:
            return
        self._started = False
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)  # a crashed task was already logged
        self._tasks.clear()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        for task in list(self._conn_tasks):
            task.cancel()
        await asyncio.gather(*self._conn_tasks, return_exceptions=True)
        self._conn_tasks.clear()

    async def __aenter__(self) -> SimServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _on_shutdown(self, app: web.Application) -> None:
        self.market.close_all()
        self.users.drop()
        closing = [c.ws.close(code=1001, message=b"server shutdown") for c in self.market.connections]
        await asyncio.gather(*closing, self.wsapi.close_all(), return_exceptions=True)

    async def _run_feed(self, driver: FeedDriver) -> None:
        await driver.run()

    async def _tick_loop(self) -> None:
        last_flush = {100: 0, 250: 0, 500: 0}
        last_expiry_check = 0
        while True:
            await asyncio.sleep(TICK_INTERVAL_S)
            now = self.now_ms()
            self.publish(self.engine.advance(now))
            for cadence, last in last_flush.items():
                if now - last >= cadence:
                    last_flush[cadence] = now
                    self.market.flush(cadence)
            if now - last_expiry_check >= 250:
                last_expiry_check = now
                self.users.expire_due()
                self._close_old_connections()

    # ------------------------------------------------------------------ feeds and publishing

    def _apply_feed_event(self, ev: FeedEvent, to_server_ms: Callable[[int], int]) -> None:
        self.publish(apply_feed_event(self.engine, ev, self.now_ms(), to_server_ms))

    def publish(self, events: Sequence[SimEvent]) -> None:
        """Fan engine events out to market and user-data streams."""
        if self.faults.state.account_update_first:
            events = account_updates_first(events)
        for ev in events:
            match ev:
                case DepthDiffPublished():
                    self.market.on_depth(ev)
                case BookTickerPublished():
                    self.market.on_book_ticker(ev)
                case TradePublished():
                    self.market.on_trade(ev)
                case MarkPricePublished():
                    self.market.on_mark_price(ev)
                case OrderUpdatePublished():
                    self.users.on_order_update(ev)
                case AccountUpdatePublished():
                    self.users.on_account_update(ev)

    def _depth_view(self, symbol: str, limit: int) -> Any:
        return self.engine.depth(symbol, limit, self.now_ms())

    def _exchange_info(self, now_ms: int) -> Any:
        return wire.exchange_info(self.specs.values(), self.limiter.limits, now_ms)

    # ------------------------------------------------------------------ market-data injection (tests)

    def seed_default_book(
        self, symbol: str, mid: float | None = None, levels: int = 20, qty: float | None = None
    ) -> None:
        """Put a symmetric book with a one-tick spread and a mark price around ``mid``."""
        filters = self.filters[symbol]
        mid_price = mid if mid is not None else DEFAULT_MIDS.get(symbol, 100.0)
        bid0 = filters.price_to_ticks(mid_price, Side.BUY)
        ask0 = bid0 + 1
        level_qty = qty if qty is not None else max(SEED_LEVEL_NOTIONAL_USDC / mid_price, filters.step * 10)
        level_qty = round(filters.qty_to_steps(level_qty) * filters.step, filters.qty_decimals)
        bids = [(bid0 - i, level_qty) for i in range(levels)]
        asks = [(ask0 + i, level_qty) for i in range(levels)]
        self.apply_snapshot(symbol, bids, asks)
        self.apply_mark_price(symbol, (bid0 + ask0) / 2 * filters.tick)

    def apply_snapshot(
        self, symbol: str, bids: Sequence[tuple[int, float]], asks: Sequence[tuple[int, float]]
    ) -> None:
        """Replace the market book of ``symbol`` (levels are (price_ticks, qty))."""
        self.publish(self.engine.apply_market_snapshot(symbol, bids, asks, self.now_ms()))

    def apply_delta(
        self, symbol: str, bids: Sequence[tuple[int, float]], asks: Sequence[tuple[int, float]]
    ) -> None:
        """Set market levels to absolute quantities (0 removes)."""
        self.publish(self.engine.apply_market_delta(symbol, bids, asks, self.now_ms()))

    def apply_trade(self, symbol: str, price_ticks: int, qty: float, aggressor: Side) -> None:
        """Print a market trade (fills own orders it reaches)."""
        self.publish(self.engine.apply_market_trade(symbol, price_ticks, qty, aggressor, self.now_ms()))

    def apply_mark_price(
        self, symbol: str, mark_price: float, funding_rate: float = 0.0001, next_funding_ms: int | None = None
    ) -> None:
        """Set mark price and funding rate (next funding defaults to the next 8-hour boundary)."""
        now = self.now_ms()
        if next_funding_ms is None:
            period = 8 * 3600 * 1000
            next_funding_ms = (now // period + 1) * period
        self.publish(self.engine.apply_mark_price(symbol, mark_price, funding_rate, next_funding_ms, now))

    def advance_timers(self) -> None:
        """Run engine timers (dead-man switches, funding) at the current server time."""
        self.publish(self.engine.advance(self.now_ms()))

    def flush_streams(self) -> None:
        """Emit every pending depth window now."""
        self.market.flush()

    def step_feed(self, count: int = 1) -> int:
        """Apply the next ``count`` feed events now (feed modes only); returns how many were applied."""
        if self.feed is None:
            return 0
        return self.feed.step(count)

    # ------------------------------------------------------------------ fault hooks

    def drop_connections(self, route: str | None) -> int:
        """Fault hook: close WebSocket connections of a route (all when None)."""
        count = 0
        if route in (None, "public", "market", "legacy"):
            count += self.market.drop(route)
        if route in (None, "private"):
            count += self.users.drop()
        if route in (None, "ws-api"):
            for ws in list(self.wsapi.sockets):
                self._spawn(ws.close(code=1006, message=b"dropped"))
                count += 1
        return count

    def _close_old_connections(self) -> None:
        self.market.close_older_than(self.max_connection_age_ms)
        now = self.now_ms()
        for ws, opened_ms in list(self.wsapi.sockets.items()):
            if now - opened_ms >= self.max_connection_age_ms:
                self._spawn(ws.close(code=1000, message=b"connection lifetime reached"))

    def expire_listen_keys(self, api_key: str | None) -> int:
        """Fault hook: expire listenKeys now."""
        return self.users.expire_for_api_key(api_key)

    def _spawn(self, coro: Any) -> None:
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(coro, name="sim-close")
        self._conn_tasks.add(task)
        task.add_done_callback(self._conn_tasks.discard)

    # ------------------------------------------------------------------ admin extras

    async def _admin_state(self, request: web.Request) -> web.StreamResponse:
        if not is_loopback(request.remote):
            return web.json_response({"error": "admin endpoint is loopback-only"}, status=403)
        return web.json_response(
            {
                "urls": self.urls(),
                "symbols": list(self.specs),
                "feed": self.feed_kind,
                "feed_applied": self.feed.applied if self.feed else 0,
                "connections": len(self.market.connections),
                "ws_api_connections": len(self.wsapi.sockets),
            }
        )

    async def _admin_feed(self, request: web.Request) -> web.StreamResponse:
        if not is_loopback(request.remote):
            return web.json_response({"error": "admin endpoint is loopback-only"}, status=403)
        if self.feed is None:
            return web.json_response({"error": "no feed (manual mode)"}, status=400)
        action = request.match_info["action"]
        if action == "pause":
            self.feed.pause()
        elif action == "resume":
            self.feed.resume()
        elif action == "step":
            count = int(request.query.get("count", "1"))
            return web.json_response({"applied": self.feed.step(count)})
        else:
            return web.json_response({"error": f"unknown action {action!r}"}, status=404)
        return web.json_response({"ok": True, "paused": self.feed.paused})


def _report_crash(task: asyncio.Task[None]) -> None:
    # a timer or feed task must never die silently: the simulator would freeze without a trace
    if not task.cancelled() and task.exception() is not None:
        log.error("sim task %s crashed", task.get_name(), exc_info=task.exception())


def account_updates_first(events: Sequence[SimEvent]) -> list[SimEvent]:
    """Move each fill's ``ACCOUNT_UPDATE`` (reason ORDER) ahead of the order update just before it."""
    out = list(events)
    for i in range(1, len(out)):
        prev, ev = out[i - 1], out[i]
        if (
            isinstance(ev, AccountUpdatePublished)
            and ev.reason == "ORDER"
            and isinstance(prev, OrderUpdatePublished)
            and prev.account == ev.account
        ):
            out[i - 1], out[i] = ev, prev
    return out
