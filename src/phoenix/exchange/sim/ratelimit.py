"""Rate-limit accounting of the simulated exchange (protocol doc §4).

Three fixed-window counters as on Binance: REQUEST_WEIGHT per client IP per minute, and ORDERS per
account per 10 s and per minute. Exceeding a limit answers HTTP 429 (``-1003`` / ``-1015``) with
``Retry-After``; a client that keeps sending while told to wait is banned with HTTP 418 for an
escalating time (2 min doubling up to 3 days by default). Time is passed in by the caller (ms).
"""

from __future__ import annotations

from dataclasses import dataclass, field

ENDPOINT_WEIGHTS: dict[tuple[str, str], int] = {
    ("GET", "/fapi/v1/ping"): 1,
    ("GET", "/fapi/v1/time"): 1,
    ("GET", "/fapi/v1/exchangeInfo"): 1,
    ("GET", "/fapi/v1/ticker/price"): 1,
    ("GET", "/fapi/v2/ticker/price"): 1,
    ("GET", "/fapi/v1/ticker/24hr"): 1,
    ("GET", "/fapi/v1/ticker/bookTicker"): 2,
    ("GET", "/fapi/v1/premiumIndex"): 1,
    ("GET", "/fapi/v1/fundingRate"): 1,
    ("GET", "/fapi/v1/fundingInfo"): 0,
    ("GET", "/fapi/v1/trades"): 5,
    ("GET", "/fapi/v1/aggTrades"): 20,
    ("POST", "/fapi/v1/order"): 0,
    ("PUT", "/fapi/v1/order"): 0,
    ("DELETE", "/fapi/v1/order"): 1,
    ("GET", "/fapi/v1/order"): 1,
    ("POST", "/fapi/v1/batchOrders"): 5,
    ("PUT", "/fapi/v1/batchOrders"): 5,
    ("DELETE", "/fapi/v1/batchOrders"): 1,
    ("DELETE", "/fapi/v1/allOpenOrders"): 1,
    ("POST", "/fapi/v1/countdownCancelAll"): 10,
    ("GET", "/fapi/v1/openOrders"): 1,
    ("GET", "/fapi/v1/openOrder"): 1,
    ("GET", "/fapi/v1/allOrders"): 5,
    ("GET", "/fapi/v1/userTrades"): 5,
    ("GET", "/fapi/v2/account"): 5,
    ("GET", "/fapi/v3/account"): 5,
    ("GET", "/fapi/v2/balance"): 5,
    ("GET", "/fapi/v3/balance"): 5,
    ("GET", "/fapi/v2/positionRisk"): 5,
    ("GET", "/fapi/v3/positionRisk"): 5,
    ("GET", "/fapi/v1/commissionRate"): 20,
    ("GET", "/fapi/v1/income"): 30,
    ("GET", "/fapi/v1/positionSide/dual"): 30,
    ("GET", "/fapi/v1/multiAssetsMargin"): 30,
    ("GET", "/fapi/v1/leverageBracket"): 1,
    ("GET", "/fapi/v1/symbolConfig"): 5,
    ("GET", "/fapi/v1/accountConfig"): 5,
}
DEPTH_WEIGHTS: dict[int, int] = {5: 2, 10: 2, 20: 2, 50: 2, 100: 5, 500: 10, 1000: 20}


def endpoint_weight(method: str, path: str, params: dict[str, str]) -> int:
    """REQUEST_WEIGHT of one REST call, including the parameter-dependent cases of §4."""
    if path == "/fapi/v1/depth":
        try:
            limit = int(params.get("limit", "500"))
        except ValueError:
            limit = 500
        return next((w for lim, w in sorted(DEPTH_WEIGHTS.items()) if limit <= lim), 20)
    has_symbol = bool(params.get("symbol"))
    if path == "/fapi/v1/openOrders" and not has_symbol:
        return 40
    if path == "/fapi/v1/ticker/24hr" and not has_symbol:
        return 40
    if path == "/fapi/v1/premiumIndex" and not has_symbol:
        return 10
    if path == "/fapi/v1/ticker/bookTicker" and not has_symbol:
        return 5
    if path in ("/fapi/v1/ticker/price", "/fapi/v2/ticker/price") and not has_symbol:
        return 2
    return ENDPOINT_WEIGHTS.get((method, path), 1)


def order_count_cost(method: str, path: str) -> tuple[int, int]:
    """(ORDERS-10s cost, ORDERS-1m cost) of one REST call: 1/1 for new/amend, 5/1 for batches."""
    if path == "/fapi/v1/order" and method in ("POST", "PUT"):
        return 1, 1
    if path == "/fapi/v1/batchOrders" and method in ("POST", "PUT"):
        return 5, 1
    return 0, 0


@dataclass(slots=True)
class RateLimits:
    """Limits and ban policy; tests lower them to provoke 429/418 quickly."""

    weight_per_minute: int = 2400
    orders_per_10s: int = 300
    orders_per_minute: int = 1200
    violations_before_ban: int = 3  # requests sent while a Retry-After is pending
    ban_initial_ms: int = 120_000
    ban_max_ms: int = 3 * 24 * 3600 * 1000


class RateLimited(Exception):
    """A request was refused by a limiter (HTTP 429) or an IP ban (HTTP 418)."""

    def __init__(self, http_status: int, code: int, msg: str, retry_after_s: int) -> None:
        super().__init__(f"{http_status} {code}: {msg}")
        self.http_status = http_status
        self.code = code
        self.msg = msg
        self.retry_after_s = retry_after_s


@dataclass(slots=True)
class _Window:
    length_ms: int
    start_ms: int = 0
    count: int = 0

    def roll(self, now_ms: int) -> None:
        start = now_ms - now_ms % self.length_ms
        if start != self.start_ms:
            self.start_ms = start
            self.count = 0

    def reset_in_s(self, now_ms: int) -> int:
        return max(1, -(-(self.start_ms + self.length_ms - now_ms) // 1000))


@dataclass(slots=True)
class _IpState:
    weight: _Window = field(default_factory=lambda: _Window(60_000))
    blocked_until_ms: int = 0  # after a 429: further requests before this are violations
    violations: int = 0
    banned_until_ms: int = 0
    bans: int = 0


@dataclass(slots=True)
class _AccountState:
    orders_10s: _Window = field(default_factory=lambda: _Window(10_000))
    orders_1m: _Window = field(default_factory=lambda: _Window(60_000))


@dataclass(frozen=True, slots=True)
class Usage:
    """Counter values after a request, for response headers and ws-fapi ``rateLimits``."""

    weight_1m: int
    orders_10s: int | None = None
    orders_1m: int | None = None


class RateLimiter:
    """Fixed-window counters per IP (weight) and per account (orders), with 429 → 418 escalation."""

    def __init__(self, limits: RateLimits | None = None) -> None:
        self.limits = limits or RateLimits()
        self._ips: dict[str, _IpState] = {}
        self._accounts: dict[int, _AccountState] = {}

    def reset(self) -> None:
        """Forget all counters and bans."""
        self._ips.clear()
        self._accounts.clear()

    def charge_weight(self, ip: str, weight: int, now_ms: int) -> Usage:
        """Count ``weight`` against ``ip``; raise ``RateLimited`` (429 or 418) if over the limit or banned."""
        state = self._ips.setdefault(ip, _IpState())
        self._check_ban(ip, state, now_ms)
        state.weight.roll(now_ms)
        state.weight.count += weight
        if state.weight.count > self.limits.weight_per_minute:
            retry_s = state.weight.reset_in_s(now_ms)
            self._note_429(state, now_ms, retry_s)
            raise RateLimited(
                429,
                -1003,
                f"Too many requests; current limit of IP({ip}) is {self.limits.weight_per_minute} "
                "requests per minute. Please use the websocket for live updates to avoid polling the API.",
                retry_s,
            )
        return Usage(weight_1m=state.weight.count)

    def charge_orders(self, ip: str, account: int, cost_10s: int, cost_1m: int, now_ms: int) -> Usage:
        """Count an order request against the account; raise ``RateLimited`` (429 ``-1015``) when over.

        Order-limit 429s do not escalate to an IP ban (bans are per IP and follow the weight limiter).
        """
        state = self._accounts.setdefault(account, _AccountState())
        state.orders_10s.roll(now_ms)
        state.orders_1m.roll(now_ms)
        state.orders_10s.count += cost_10s
        state.orders_1m.count += cost_1m
        if state.orders_10s.count > self.limits.orders_per_10s:
            retry_s = state.orders_10s.reset_in_s(now_ms)
            raise RateLimited(
                429,
                -1015,
                f"Too many new orders; current limit is {self.limits.orders_per_10s} orders per TEN_SECONDS.",
                retry_s,
            )
        if state.orders_1m.count > self.limits.orders_per_minute:
            retry_s = state.orders_1m.reset_in_s(now_ms)
            raise RateLimited(
                429,
                -1015,
                f"Too many new orders; current limit is {self.limits.orders_per_minute} orders per MINUTE.",
                retry_s,
            )
        return self.usage(ip, account, now_ms)

    def usage(self, ip: str, account: int | None, now_ms: int) -> Usage:
        """Current counter values (rolled to ``now_ms``)."""
        ip_state = self._ips.setdefault(ip, _IpState())
        ip_state.weight.roll(now_ms)
        if account is None:
            return Usage(weight_1m=ip_state.weight.count)
        state = self._accounts.setdefault(account, _AccountState())
        state.orders_10s.roll(now_ms)
        state.orders_1m.roll(now_ms)
        return Usage(ip_state.weight.count, state.orders_10s.count, state.orders_1m.count)

    def note_external_429(self, ip: str, now_ms: int, retry_after_s: int) -> None:
        """Record a 429 produced by fault injection so that ignoring it escalates to a ban as well."""
        self._note_429(self._ips.setdefault(ip, _IpState()), now_ms, retry_after_s)

    def _note_429(self, state: _IpState, now_ms: int, retry_s: int) -> None:
        if state.blocked_until_ms == 0 or now_ms >= state.blocked_until_ms:
            state.blocked_until_ms = now_ms + retry_s * 1000

    def _check_ban(self, ip: str, state: _IpState, now_ms: int) -> None:
        if now_ms < state.banned_until_ms:
            raise self._banned(ip, state, now_ms)
        if state.blocked_until_ms and now_ms < state.blocked_until_ms:
            state.violations += 1
            if state.violations >= self.limits.violations_before_ban:
                ban_ms = min(self.limits.ban_max_ms, self.limits.ban_initial_ms * 2**state.bans)
                state.bans += 1
                state.banned_until_ms = now_ms + ban_ms
                state.violations = 0
                state.blocked_until_ms = 0
                raise self._banned(ip, state, now_ms)
        elif state.blocked_until_ms:
            state.blocked_until_ms = 0
            state.violations = 0

    @staticmethod
    def _banned(ip: str, state: _IpState, now_ms: int) -> RateLimited:
        retry_s = max(1, -(-(state.banned_until_ms - now_ms) // 1000))
        return RateLimited(
            418,
            -1003,
            f"Way too many requests; IP({ip}) banned until {state.banned_until_ms}. "
            "Please use the websocket for live updates to avoid bans.",
            retry_s,
        )


def usage_headers(usage: Usage) -> dict[str, str]:
    """``X-MBX-USED-WEIGHT-1M`` (always) and ``X-MBX-ORDER-COUNT-10S``/``-1M`` (order requests)."""
    headers = {"X-MBX-USED-WEIGHT-1M": str(usage.weight_1m)}
    if usage.orders_10s is not None and usage.orders_1m is not None:
        headers["X-MBX-ORDER-COUNT-10S"] = str(usage.orders_10s)
        headers["X-MBX-ORDER-COUNT-1M"] = str(usage.orders_1m)
    return headers


def rate_limits_json(limits: RateLimits, usage: Usage) -> list[dict[str, object]]:
    """The ws-fapi ``rateLimits`` array."""
    out: list[dict[str, object]] = [
        {
            "rateLimitType": "REQUEST_WEIGHT",
            "interval": "MINUTE",
            "intervalNum": 1,
            "limit": limits.weight_per_minute,
            "count": usage.weight_1m,
        },
    ]
    if usage.orders_10s is not None and usage.orders_1m is not None:
        out.append(
            {
                "rateLimitType": "ORDERS",
                "interval": "SECOND",
                "intervalNum": 10,
                "limit": limits.orders_per_10s,
                "count": usage.orders_10s,
            }
        )
        out.append(
            {
                "rateLimitType": "ORDERS",
                "interval": "MINUTE",
                "intervalNum": 1,
                "limit": limits.orders_per_minute,
                "count": usage.orders_1m,
            }
        )
    return out


def exchange_info_rate_limits(limits: RateLimits) -> list[dict[str, object]]:
    """The ``rateLimits`` array of exchangeInfo."""
    return [
        {
            "rateLimitType": "REQUEST_WEIGHT",
            "interval": "MINUTE",
            "intervalNum": 1,
            "limit": limits.weight_per_minute,
        },
        {
            "rateLimitType": "ORDERS",
            "interval": "MINUTE",
            "intervalNum": 1,
            "limit": limits.orders_per_minute,
        },
        {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": limits.orders_per_10s},
    ]
