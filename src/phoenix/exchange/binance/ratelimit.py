"""Request-weight and order-count tracking with an adaptive limiter (keeps usage below a safety fraction).

Counters mirror Binance's fixed windows (aligned on the server clock) and are corrected from the
``X-MBX-USED-WEIGHT-1M`` / ``X-MBX-ORDER-COUNT-10S`` / ``-1M`` headers and the ws-fapi ``rateLimits`` array.
A 429 blocks all traffic until its Retry-After; a 418 (ban) makes every later request fail fast until the
ban ends: the limiter never sends into a ban.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass

from phoenix.errors import IpBannedError, RateLimitError

_INTERVAL_MS = {"S": 1_000, "M": 60_000, "H": 3_600_000, "D": 86_400_000}
_INTERVAL_WORD = {"SECOND": "S", "MINUTE": "M", "HOUR": "H", "DAY": "D"}


@dataclass(slots=True)
class WindowCounter:
    """One fixed-window counter (e.g. REQUEST_WEIGHT per 1 minute)."""

    kind: str  # "weight" or "orders"
    window_ms: int
    limit: int
    used: int = 0
    window_start_ms: int = 0

    def roll(self, now_ms: int) -> None:
        """Reset when ``now_ms`` is in a later window."""
        start = now_ms - now_ms % self.window_ms
        if start != self.window_start_ms:
            self.window_start_ms = start
            self.used = 0

    def ms_to_next_window(self, now_ms: int) -> int:
        """Milliseconds until this window rolls over."""
        return self.window_ms - now_ms % self.window_ms


def default_counters() -> list[WindowCounter]:
    """Binance USDⓈ-M defaults: 2400 weight/1 min, 300 orders/10 s, 1200 orders/1 min."""
    return [
        WindowCounter("weight", 60_000, 2400),
        WindowCounter("orders", 10_000, 300),
        WindowCounter("orders", 60_000, 1200),
    ]


class RateLimiter:
    """Adaptive limiter shared by REST and the WebSocket API of one IP/account."""

    def __init__(
        self,
        now_ms: Callable[[], int],
        *,
        counters: Iterable[WindowCounter] | None = None,
        max_usage: float = 0.8,
        max_wait_s: float = 65.0,
        retry_margin_ms: int = 250,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._now_ms = now_ms
        self.counters = list(counters) if counters is not None else default_counters()
        self.max_usage = max_usage
        self.max_wait_s = max_wait_s
        self.retry_margin_ms = retry_margin_ms
        self._sleep = sleep
        self.blocked_until_ms = 0  # 429 Retry-After
        self.banned_until_ms = 0  # 418
        self.waits = 0  # number of times a request had to wait (metrics)
        self.rejections_429 = 0
        self.rejections_418 = 0

    def set_limits(self, rate_limits: Iterable[Mapping[str, object]]) -> None:
        """Adopt ``exchangeInfo.rateLimits`` (REQUEST_WEIGHT / ORDERS entries)."""
        fresh: list[WindowCounter] = []
        for item in rate_limits:
            kind = {"REQUEST_WEIGHT": "weight", "ORDERS": "orders"}.get(str(item.get("rateLimitType")))
            letter = _INTERVAL_WORD.get(str(item.get("interval")))
            num = item.get("intervalNum")
            limit = item.get("limit")
            if kind and letter and isinstance(num, int) and isinstance(limit, int):
                fresh.append(WindowCounter(kind, num * _INTERVAL_MS[letter], limit))
        if fresh:
            self.counters = fresh

    def _check_ban(self, now: int) -> None:
        if now < self.banned_until_ms:
            raise IpBannedError(
                -1003,
                "IP banned; not sending until the ban ends",
                retry_after_s=(self.banned_until_ms - now) / 1000,
            )

    def delay_ms(self, weight: int, orders: int) -> int:
        """How long a request of this cost must wait now (0 = may go). Raises while banned."""
        now = self._now_ms()
        self._check_ban(now)
        wait = max(0, self.blocked_until_ms - now)
        for c in self.counters:
            c.roll(now)
            cost = weight if c.kind == "weight" else orders
            if cost and c.used + cost > c.limit * self.max_usage:
                wait = max(wait, c.ms_to_next_window(now))
        return wait

    async def acquire(self, weight: int = 1, orders: int = 0) -> None:
        """Wait until the request fits under every limit (and any Retry-After), then account for it.

        Raises ``RateLimitError`` if the wait would exceed ``max_wait_s`` and ``IpBannedError`` while banned.
        """
        waited_ms = 0
        while True:
            wait = self.delay_ms(weight, orders)
            if wait <= 0:
                break
            if (waited_ms + wait) / 1000 > self.max_wait_s:
                raise RateLimitError(
                    -1003, "local rate limiter: budget exhausted", http_status=None, retry_after_s=wait / 1000
                )
            self.waits += 1
            waited_ms += wait
            await self._sleep(wait / 1000 + 0.001)
        for c in self.counters:
            c.used += weight if c.kind == "weight" else orders

    def on_headers(self, headers: Mapping[str, str]) -> None:
        """Correct the counters from ``X-MBX-USED-WEIGHT-*`` / ``X-MBX-ORDER-COUNT-*`` response headers."""
        now = self._now_ms()
        for name, value in headers.items():
            upper = name.upper()
            if upper.startswith("X-MBX-USED-WEIGHT-"):
                self._observe("weight", upper[len("X-MBX-USED-WEIGHT-") :], value, now)
            elif upper.startswith("X-MBX-ORDER-COUNT-"):
                self._observe("orders", upper[len("X-MBX-ORDER-COUNT-") :], value, now)

    def on_ws_rate_limits(self, items: Iterable[Mapping[str, object]]) -> None:
        """Correct the counters from a ws-fapi ``rateLimits`` array."""
        now = self._now_ms()
        for item in items:
            kind = {"REQUEST_WEIGHT": "weight", "ORDERS": "orders"}.get(str(item.get("rateLimitType")))
            letter = _INTERVAL_WORD.get(str(item.get("interval")))
            count = item.get("count")
            num = item.get("intervalNum")
            if kind and letter and isinstance(count, int) and isinstance(num, int):
                self._set_used(kind, num * _INTERVAL_MS[letter], count, now)

    def _observe(self, kind: str, interval: str, value: str, now: int) -> None:
        try:
            num, letter = int(interval[:-1]), interval[-1]
            used = int(value)
        except ValueError:
            return
        if letter in _INTERVAL_MS:
            self._set_used(kind, num * _INTERVAL_MS[letter], used, now)

    def _set_used(self, kind: str, window_ms: int, used: int, now: int) -> None:
        for c in self.counters:
            if c.kind == kind and c.window_ms == window_ms:
                c.roll(now)
                # the header is authoritative for what the server saw; requests still in flight only add
                c.used = max(c.used, used)

    def on_rejected(self, http_status: int, retry_after_s: float | None) -> None:
        """Record a 429 (stop everything until Retry-After) or 418 (banned until Retry-After)."""
        now = self._now_ms()
        if retry_after_s is not None:
            delay_ms = int(retry_after_s * 1000)
        elif http_status == 418:
            delay_ms = 120_000  # Binance's first ban lasts 2 minutes
        else:  # no Retry-After (ws-fapi): wait until the weight window frees
            delay_ms = max(
                (c.ms_to_next_window(now) for c in self.counters if c.kind == "weight"), default=1000
            )
        if http_status == 418:
            self.rejections_418 += 1
            self.banned_until_ms = max(self.banned_until_ms, now + delay_ms + self.retry_margin_ms)
        else:
            self.rejections_429 += 1
            # a safety margin covers clock-offset error: a request landing early counts as ignoring the 429
            until = now + max(delay_ms, 1000) + self.retry_margin_ms
            self.blocked_until_ms = max(self.blocked_until_ms, until)

    def usage(self) -> dict[str, float]:
        """Current usage fraction per counter, keyed like ``weight_60000ms``."""
        now = self._now_ms()
        out: dict[str, float] = {}
        for c in self.counters:
            c.roll(now)
            out[f"{c.kind}_{c.window_ms}ms"] = c.used / c.limit if c.limit else 0.0
        return out
