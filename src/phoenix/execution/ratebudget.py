"""Account-wide order-rate budget (Binance ORDERS limits), shared by every symbol.

Binance counts new orders and amendments on ORDERS (300 per 10 s and 1200 per minute per account; a batch
of 5 counts 5 on the 10-s limit); cancels do not count. We keep our own sliding windows of what we sent,
which is never looser than the exchange's fixed windows: every fixed window is one of the sliding ones.

Staging: each symbol gets a fair share of the 10-s window (``limit // symbols``, at least one batch of 5)
and may burst beyond it only while the whole window is less than half used. At a cold start with
10 symbols × 48 orders this serves the near layers of every symbol first and spreads the rest over the
following windows, never above ``global.orders_per_10s_max``. A slice of the window (``reserve_frac``) is
kept for essential orders (grinding's reduce-only IOC), which may use the whole budget.
"""

from __future__ import annotations

from collections import deque

_NS = 1_000_000_000
BATCH_SIZE = 5


class _Window:
    __slots__ = ("events", "span_ns", "total")

    def __init__(self, span_ns: int) -> None:
        self.span_ns = span_ns
        self.events: deque[tuple[int, int]] = deque()
        self.total = 0

    def used(self, now_ns: int) -> int:
        events = self.events
        cutoff = now_ns - self.span_ns
        while events and events[0][0] <= cutoff:
            self.total -= events.popleft()[1]
        return self.total

    def add(self, now_ns: int, units: int) -> None:
        events = self.events
        if events and events[-1][0] == now_ns:
            events[-1] = (now_ns, events[-1][1] + units)
        else:
            events.append((now_ns, units))
        self.total += units


class OrderRateBudget:
    """Sliding 10-s and 60-s order-count windows with per-symbol fair shares.

    Args:
        orders_per_10s_max: ``global.orders_per_10s_max`` (Binance's limit is 300).
        orders_per_min_max: Cap on the one-minute window (Binance's limit is 1200; counted per order, which
            is conservative since a batch counts 1 there).
        symbols: Number of symbols sharing the budget.
        reserve_frac: Fraction of the 10-s window kept for essential orders.
    """

    def __init__(
        self,
        orders_per_10s_max: int,
        *,
        orders_per_min_max: int = 1000,
        symbols: int = 1,
        reserve_frac: float = 0.1,
    ) -> None:
        self.limit_10s = orders_per_10s_max
        self.limit_min = orders_per_min_max
        self.symbols = max(1, symbols)
        self.reserve = int(orders_per_10s_max * reserve_frac)
        self._w10 = _Window(10 * _NS)
        self._w60 = _Window(60 * _NS)
        self._per_symbol: dict[str, _Window] = {}

    def set_limit(self, orders_per_10s_max: int) -> None:
        """Apply a reloaded ``orders_per_10s_max``."""
        self.limit_10s = orders_per_10s_max

    def _symbol_window(self, symbol: str) -> _Window:
        w = self._per_symbol.get(symbol)
        if w is None:
            w = self._per_symbol[symbol] = _Window(10 * _NS)
        return w

    def global_available(self, now_ns: int, *, essential: bool = False) -> int:
        """Orders that may still be sent account-wide in this window."""
        reserve = 0 if essential else self.reserve
        return max(
            0,
            min(self.limit_10s - reserve - self._w10.used(now_ns), self.limit_min - self._w60.used(now_ns)),
        )

    def available(self, symbol: str, now_ns: int, *, essential: bool = False) -> int:
        """Orders ``symbol`` may send now (its fair share, or a burst while the window is quiet)."""
        glob = self.global_available(now_ns, essential=essential)
        if essential:
            return glob
        used = self._w10.used(now_ns)
        if used < self.limit_10s // 2:
            return glob
        share = max(BATCH_SIZE, self.limit_10s // self.symbols)
        return max(0, min(glob, share - self._symbol_window(symbol).used(now_ns)))

    def consume(self, symbol: str, now_ns: int, units: int) -> None:
        """Record ``units`` orders/amendments sent by ``symbol`` at ``now_ns``."""
        if units <= 0:
            return
        self._w10.add(now_ns, units)
        self._w60.add(now_ns, units)
        self._symbol_window(symbol).add(now_ns, units)

    def used_10s(self, now_ns: int) -> int:
        """Orders sent in the last 10 s (all symbols)."""
        return self._w10.used(now_ns)
