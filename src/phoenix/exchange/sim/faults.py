"""Fault injection for the simulated exchange, controllable in-process and over a loopback admin endpoint.

Faults: drop or freeze WebSocket connections, depth sequence gaps, added latency, 5xx and 429 storms,
server clock skew, listenKey expiry, strict (silent) mis-route mode, and lost order acknowledgements
(order accepted by the engine, response never delivered). The server consults this object on every
request/frame; actions that must happen immediately (closing sockets, expiring keys) go through hooks
the server binds with :meth:`FaultInjector.bind`.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from aiohttp import web

ROUTES = ("public", "market", "private", "ws-api", "legacy")


class FaultHooks(Protocol):
    """What the server does when a fault needs immediate action."""

    def drop_connections(self, route: str | None) -> int:
        """Close matching WebSocket connections; return how many were closed."""
        ...

    def expire_listen_keys(self, api_key: str | None) -> int:
        """Expire the listenKey(s) of one API key (all when None); return how many expired."""
        ...


@dataclass(slots=True)
class _Storm:
    status: int
    code: int
    msg: str
    remaining: int | None  # None = until ``until_ms``
    until_ms: int | None
    retry_after_s: int = 0

    def active(self, now_ms: int) -> bool:
        if self.remaining is not None and self.remaining <= 0:
            return False
        return not (self.until_ms is not None and now_ms >= self.until_ms)

    def consume(self) -> None:
        if self.remaining is not None:
            self.remaining -= 1


@dataclass(frozen=True, slots=True)
class InjectedError:
    """An HTTP error the server must answer instead of processing the request."""

    status: int
    code: int
    msg: str
    retry_after_s: int = 0


_5XX_KINDS: dict[str, tuple[int, int, str]] = {
    # kind: (http status, code, msg) — see protocol doc §3.0 on the three 503 flavours
    "unknown": (
        503,
        -1007,
        "Timeout waiting for response from backend server. Send status unknown; execution status unknown.",
    ),
    "unavailable": (503, -1001, "Service Unavailable."),
    "internal": (500, -1001, "Internal error; unable to process your request. Please try again."),
}


@dataclass(slots=True)
class FaultState:
    """Plain state of all faults; read by the server, changed through :class:`FaultInjector`."""

    latency_ms: int = 0  # added before every REST / ws-fapi response
    stream_latency_ms: int = 0  # added to every stream frame
    clock_skew_ms: int = 0
    strict_routes: bool = False
    lost_acks: int = 0
    lost_ack_mode: str = "disconnect"  # or "hang"
    account_update_first: bool = False  # a fill's ACCOUNT_UPDATE before its ORDER_TRADE_UPDATE
    depth_gaps: dict[str, int] = field(default_factory=dict)  # symbol ("*" = any) -> diffs to skip
    frozen_until_ms: dict[str, int] = field(default_factory=dict)  # route ("*" = all) -> until
    refuse_until_ms: dict[str, int] = field(default_factory=dict)  # route -> refuse new connections
    storms: list[_Storm] = field(default_factory=list)


class FaultInjector:
    """Injects faults into a running simulator. All times are server wall-clock ms from ``clock_ms``."""

    def __init__(self, clock_ms: Callable[[], int]) -> None:
        self._clock_ms = clock_ms
        self.state = FaultState()
        self._hooks: FaultHooks | None = None

    def bind(self, hooks: FaultHooks) -> None:
        """Attach the server (done by the server at start-up)."""
        self._hooks = hooks

    # ------------------------------------------------------------------ controls

    def reset(self) -> None:
        """Clear every fault."""
        self.state = FaultState()

    def add_latency(self, ms: int, *, streams_ms: int | None = None) -> None:
        """Delay REST/ws-fapi responses by ``ms`` and stream frames by ``streams_ms`` (default: same)."""
        self.state.latency_ms = max(0, int(ms))
        self.state.stream_latency_ms = max(0, int(ms if streams_ms is None else streams_ms))

    def set_clock_skew(self, ms: int) -> None:
        """Shift the server clock by ``ms`` (positive = server ahead of the client)."""
        self.state.clock_skew_ms = int(ms)

    def set_strict_routes(self, strict: bool = True) -> None:
        """Strict mode: a stream on the wrong route is acknowledged but never delivers (real Binance)."""
        self.state.strict_routes = bool(strict)

    def drop_ws(self, route: str | None = None, *, refuse_s: float = 0.0) -> int:
        """Close WebSocket connections of ``route`` (all when None); refuse reconnects for ``refuse_s``."""
        _check_route(route)
        if refuse_s > 0:
            self.state.refuse_until_ms[route or "*"] = self._clock_ms() + int(refuse_s * 1000)
        return self._hooks.drop_connections(route) if self._hooks is not None else 0

    def freeze_ws(self, seconds: float, route: str | None = None) -> None:
        """Stop sending frames on ``route`` (all when None) for ``seconds``; held frames go out afterwards."""
        _check_route(route)
        self.state.frozen_until_ms[route or "*"] = self._clock_ms() + int(seconds * 1000)

    def depth_gap(self, symbol: str | None = None, count: int = 1) -> None:
        """Silently drop the next ``count`` depth diffs of ``symbol`` (any when None): a ``pu`` gap."""
        key = symbol.upper() if symbol else "*"
        self.state.depth_gaps[key] = self.state.depth_gaps.get(key, 0) + max(1, int(count))

    def error_storm(
        self, *, kind: str = "unavailable", count: int | None = None, seconds: float | None = None
    ) -> None:
        """Answer REST/ws-fapi requests with a 5xx of ``kind`` (unknown | unavailable | internal).

        ``count`` requests or for ``seconds`` (one of them; neither = until reset).
        """
        status, code, msg = _5XX_KINDS[kind]
        self.state.storms.append(_Storm(status, code, msg, count, self._until(seconds)))

    def rate_limit_storm(
        self, *, count: int | None = None, seconds: float | None = None, retry_after_s: int = 1
    ) -> None:
        """Answer requests with HTTP 429 ``-1003`` and ``Retry-After``; ignoring it escalates to 418."""
        msg = "Too many requests; current limit of IP is 2400 requests per minute. (injected)"
        self.state.storms.append(_Storm(429, -1003, msg, count, self._until(seconds), retry_after_s))

    def expire_listen_key(self, api_key: str | None = None) -> int:
        """Expire listenKeys now (push ``listenKeyExpired``, stop delivering); returns how many expired."""
        return self._hooks.expire_listen_keys(api_key) if self._hooks is not None else 0

    def lose_order_acks(self, count: int = 1, *, mode: str = "disconnect") -> None:
        """Accept the next ``count`` order placements but drop their responses.

        ``mode`` "disconnect" closes the HTTP connection (client sees a disconnect); "hang" never answers
        until the client gives up. On ws-fapi the response frame is simply not sent.
        """
        if mode not in ("disconnect", "hang"):
            raise ValueError(f"unknown lost-ack mode {mode!r}")
        self.state.lost_acks += max(1, int(count))
        self.state.lost_ack_mode = mode

    def set_account_update_first(self, on: bool = True) -> None:
        """Send a fill's ``ACCOUNT_UPDATE`` (reason ORDER) before its ``ORDER_TRADE_UPDATE``.

        Real Binance usually does (~29 ms ahead); the default order is the other way round.
        """
        self.state.account_update_first = bool(on)

    # ------------------------------------------------------------------ queries used by the server

    def skew_ms(self) -> int:
        """Current clock skew."""
        return self.state.clock_skew_ms

    def take_injected_error(self) -> InjectedError | None:
        """Return the storm error for this request, if any (consumes one unit of a counted storm)."""
        if not self.state.storms:
            return None
        now = self._clock_ms()
        self.state.storms = [s for s in self.state.storms if s.active(now)]
        if not self.state.storms:
            return None
        storm = self.state.storms[0]
        storm.consume()
        return InjectedError(storm.status, storm.code, storm.msg, storm.retry_after_s)

    def take_lost_ack(self) -> str | None:
        """If the next order ack is to be lost, consume it and return the mode."""
        if self.state.lost_acks <= 0:
            return None
        self.state.lost_acks -= 1
        return self.state.lost_ack_mode

    def take_depth_gap(self, symbol: str) -> bool:
        """True if this depth diff of ``symbol`` must be dropped (consumes one)."""
        gaps = self.state.depth_gaps
        if not gaps:
            return False
        for key in (symbol, "*"):
            left = gaps.get(key, 0)
            if left > 0:
                if left == 1:
                    del gaps[key]
                else:
                    gaps[key] = left - 1
                return True
        return False

    def frozen_until(self, route: str) -> int:
        """Wall-clock ms until which frames on ``route`` are held (0 = not frozen)."""
        frozen = self.state.frozen_until_ms
        if not frozen:
            return 0
        until = max(frozen.get(route, 0), frozen.get("*", 0))
        return until if until > self._clock_ms() else 0

    def refuses(self, route: str) -> bool:
        """True if new connections on ``route`` are refused right now."""
        refuse = self.state.refuse_until_ms
        if not refuse:
            return False
        return max(refuse.get(route, 0), refuse.get("*", 0)) > self._clock_ms()

    def snapshot(self) -> dict[str, Any]:
        """JSON-able view of the current faults."""
        s = self.state
        return {
            "latency_ms": s.latency_ms,
            "stream_latency_ms": s.stream_latency_ms,
            "clock_skew_ms": s.clock_skew_ms,
            "strict_routes": s.strict_routes,
            "lost_acks": s.lost_acks,
            "lost_ack_mode": s.lost_ack_mode,
            "account_update_first": s.account_update_first,
            "depth_gaps": dict(s.depth_gaps),
            "frozen_until_ms": dict(s.frozen_until_ms),
            "refuse_until_ms": dict(s.refuse_until_ms),
            "storms": [
                {"status": x.status, "code": x.code, "remaining": x.remaining, "until_ms": x.until_ms}
                for x in s.storms
            ],
        }

    def _until(self, seconds: float | None) -> int | None:
        return None if seconds is None else self._clock_ms() + int(seconds * 1000)


def _check_route(route: str | None) -> None:
    if route is not None and route not in ROUTES:
        raise ValueError(f"unknown route {route!r}; expected one of {ROUTES}")


# ---------------------------------------------------------------------- admin HTTP endpoint

ADMIN_PREFIX = "/_sim"

_ACTIONS: dict[str, str] = {
    "reset": "reset",
    "latency": "add_latency",
    "clock_skew": "set_clock_skew",
    "strict_routes": "set_strict_routes",
    "drop_ws": "drop_ws",
    "freeze_ws": "freeze_ws",
    "depth_gap": "depth_gap",
    "error_storm": "error_storm",
    "rate_limit_storm": "rate_limit_storm",
    "expire_listen_key": "expire_listen_key",
    "lose_order_acks": "lose_order_acks",
    "account_update_first": "set_account_update_first",
}


def is_loopback(remote: str | None) -> bool:
    """True for 127.0.0.0/8, ::1 and unix-socket peers."""
    if not remote:
        return True
    try:
        return ipaddress.ip_address(remote).is_loopback
    except ValueError:
        return False


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def admin_routes(faults: FaultInjector) -> list[web.RouteDef]:
    """Routes ``GET /_sim/faults`` and ``POST /_sim/faults/<action>`` (JSON body = keyword arguments).

    Only loopback peers are served (403 otherwise), whatever address the server is bound to.
    """

    async def get_faults(request: web.Request) -> web.StreamResponse:
        if not is_loopback(request.remote):
            return web.json_response({"error": "admin endpoint is loopback-only"}, status=403)
        return web.json_response(faults.snapshot())

    async def post_fault(request: web.Request) -> web.StreamResponse:
        if not is_loopback(request.remote):
            return web.json_response({"error": "admin endpoint is loopback-only"}, status=403)
        action = request.match_info["action"]
        method_name = _ACTIONS.get(action)
        if method_name is None:
            return web.json_response(
                {"error": f"unknown action {action!r}", "actions": sorted(_ACTIONS)}, status=404
            )
        kwargs: dict[str, Any] = {}
        if request.can_read_body:
            try:
                body = await request.json()
            except ValueError:
                return web.json_response({"error": "body must be a JSON object"}, status=400)
            if not isinstance(body, dict):
                return web.json_response({"error": "body must be a JSON object"}, status=400)
            kwargs = body
        try:
            result = getattr(faults, method_name)(**kwargs)
        except (TypeError, ValueError, KeyError) as exc:
            return web.json_response({"error": str(exc)}, status=400)
        return web.json_response({"ok": True, "result": result, "faults": faults.snapshot()})

    return [
        web.get(f"{ADMIN_PREFIX}/faults", get_faults),
        web.post(f"{ADMIN_PREFIX}/faults/{{action}}", post_fault),
    ]
