"""Inventory grinding: lower the cost of a large position in a calm market (spec "库存磨成本").

When ``|position| > grinding.position_ratio × net_max`` and the market is calm, take
``take_fraction`` of the position as a real **reduce-only IOC** taker order at the touch, then re-enter
as a post-only maker ``reentry_bps`` better than the taker's average fill price (a long sells at the
bid and buys back ``reentry_bps`` lower; a short mirrors it) with ``reentry_size_mult`` × the filled
size. The re-entry is an ordinary adding order: the trader bounds it by the same net_max worst case as
the ladder, so it can never push the position past the limit. Each fire costs one of ``max_per_hour``;
fires are at least ``3600 / max_per_hour`` s apart, and the re-entry is cancelled after that long.

Calm means ``price_std_pct < grinding.vol_max_pct``, where ``price_std_pct`` is the standard deviation of
the 1-s mid samples over ``vol_window_s`` (30 min) expressed as returns from their mean, in percent —
a unit-free figure (0.38 means 0.38 %), never a USDC standard deviation (the Go peer compared USDC with
0.0038, so its grinding could never fire). It needs at least half of the window's samples.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from enum import StrEnum

from phoenix.config import GrindingConfig
from phoenix.core.signals import Signals
from phoenix.core.types import Side, SymbolFilters

_NS = 1_000_000_000
_HOUR_NS = 3600 * _NS


def price_std_pct(signals: Signals, window_s: int, min_coverage: float = 0.5) -> float | None:
    """Std-dev of the 1-s mid samples of the last ``window_s`` s relative to their mean, in percent.

    None while fewer than ``min_coverage`` × ``window_s`` valid samples are available.
    """
    last = signals.last_final_sec
    if last < 0:
        return None
    n = 0
    s1 = 0.0
    s2 = 0.0
    first: float | None = None
    for sec in range(last - window_s + 1, last + 1):
        p = signals.price_at_sec(sec)
        if p is None:
            continue
        if first is None:
            first = p
        x = p / first - 1.0  # relative to the first sample for numerical stability
        n += 1
        s1 += x
        s2 += x * x
    if first is None or n < max(2, int(window_s * min_coverage)):
        return None
    mean = s1 / n
    var = max(0.0, (s2 - n * mean * mean) / (n - 1))
    return math.sqrt(var) / (1.0 + mean) * 100.0


class GrindPhase(StrEnum):
    """Where the grinder of one symbol is."""

    IDLE = "idle"
    TAKING = "taking"  # the reduce-only IOC is in flight
    REENTRY = "reentry"  # the maker re-entry rests


@dataclass(frozen=True, slots=True)
class GrindTake:
    """Send a reduce-only IOC taker order."""

    symbol: str
    side: Side
    price_ticks: int
    qty_steps: int
    price_std_pct: float
    position_steps: int


@dataclass(frozen=True, slots=True)
class GrindReentry:
    """Place the maker re-entry order (post-only)."""

    symbol: str
    side: Side
    price_ticks: int
    qty_steps: int


class Grinder:
    """The grinding state of one symbol: phase, budget and the fire count."""

    __slots__ = (
        "_fires",
        "_std_cache",
        "count_total",
        "last_fire_ns",
        "phase",
        "phase_since_ns",
        "reentry_id",
        "symbol",
        "take_filled_steps",
        "take_id",
        "take_notional_ticks",
    )

    def __init__(self, symbol: str) -> None:
        self.symbol = symbol
        self.phase = GrindPhase.IDLE
        self.phase_since_ns = 0
        self.take_id = ""
        self.reentry_id = ""
        self.take_filled_steps = 0
        self.take_notional_ticks = 0  # Σ price_ticks × qty_steps of the take's fills
        self.count_total = 0
        self.last_fire_ns: int | None = None
        self._fires: deque[int] = deque()
        self._std_cache: tuple[int, float | None] = (-1, None)

    def _std(self, signals: Signals, window_s: int) -> float | None:
        sec = signals.last_final_sec
        if self._std_cache[0] != sec:
            self._std_cache = (sec, price_std_pct(signals, window_s))
        return self._std_cache[1]

    def check(
        self,
        *,
        config: GrindingConfig,
        filters: SymbolFilters,
        signals: Signals,
        window_s: int,
        position_steps: int,
        net_max_steps: int,
        best_bid_ticks: int | None,
        best_ask_ticks: int | None,
        now_ns: int,
    ) -> GrindTake | None:
        """A take order when every grinding condition holds, else None. Cheap when inactive."""
        if not config.enabled or self.phase is not GrindPhase.IDLE or config.max_per_hour <= 0:
            return None
        if net_max_steps <= 0 or abs(position_steps) <= config.position_ratio * net_max_steps:
            return None
        while self._fires and self._fires[0] <= now_ns - _HOUR_NS:
            self._fires.popleft()
        if len(self._fires) >= config.max_per_hour:
            return None
        spacing_ns = _HOUR_NS // config.max_per_hour
        if self.last_fire_ns is not None and now_ns - self.last_fire_ns < spacing_ns:
            return None
        side = Side.SELL if position_steps > 0 else Side.BUY
        price = best_bid_ticks if side is Side.SELL else best_ask_ticks
        if price is None or price <= 0:
            return None
        std = self._std(signals, window_s)
        if std is None or std >= config.vol_max_pct:
            return None
        size = abs(position_steps)
        qty = max(math.floor(size * config.take_fraction), filters.min_steps_at(price))
        if qty > size:
            return None
        return GrindTake(self.symbol, side, price, qty, std, position_steps)

    def fired(self, take_id: str, now_ns: int) -> None:
        """The take order was sent."""
        self.phase = GrindPhase.TAKING
        self.phase_since_ns = now_ns
        self.take_id = take_id
        self.take_filled_steps = 0
        self.take_notional_ticks = 0
        self.count_total += 1
        self.last_fire_ns = now_ns
        self._fires.append(now_ns)

    def on_take_fill(self, price_ticks: int, qty_steps: int) -> None:
        """A fill of the take order."""
        self.take_filled_steps += qty_steps
        self.take_notional_ticks += price_ticks * qty_steps

    def take_done(
        self,
        *,
        config: GrindingConfig,
        take_side: Side,
        best_bid_ticks: int | None,
        best_ask_ticks: int | None,
        now_ns: int,
    ) -> GrindReentry | None:
        """The take order is terminal: the re-entry to place (None if nothing filled)."""
        if self.take_filled_steps <= 0:
            self._idle(now_ns)
            return None
        avg_ticks = self.take_notional_ticks / self.take_filled_steps
        side = take_side.opposite
        factor = config.reentry_bps / 1e4
        if side is Side.BUY:
            price = math.floor(avg_ticks * (1.0 - factor) + 1e-9)
            if best_bid_ticks is not None:
                price = min(price, best_bid_ticks)
            if best_ask_ticks is not None:
                price = min(price, best_ask_ticks - 1)
        else:
            price = math.ceil(avg_ticks * (1.0 + factor) - 1e-9)
            if best_ask_ticks is not None:
                price = max(price, best_ask_ticks)
            if best_bid_ticks is not None:
                price = max(price, best_bid_ticks + 1)
        qty = math.floor(self.take_filled_steps * config.reentry_size_mult + 1e-9)
        self.phase = GrindPhase.REENTRY
        self.phase_since_ns = now_ns
        return GrindReentry(self.symbol, side, price, qty)

    def reentry_placed(self, client_order_id: str) -> None:
        """The re-entry was sent."""
        self.reentry_id = client_order_id

    def reentry_expired(self, config: GrindingConfig, now_ns: int) -> bool:
        """True when a resting re-entry has outlived the spacing between fires."""
        if self.phase is not GrindPhase.REENTRY or config.max_per_hour <= 0:
            return False
        return now_ns - self.phase_since_ns >= _HOUR_NS // config.max_per_hour

    def reentry_done(self, now_ns: int) -> None:
        """The re-entry is terminal (filled, cancelled or expired)."""
        self._idle(now_ns)

    def _idle(self, now_ns: int) -> None:
        self.phase = GrindPhase.IDLE
        self.phase_since_ns = now_ns
        self.take_id = ""
        self.reentry_id = ""

    def to_snapshot(self) -> dict[str, object]:
        """Budget and count as plain data (in-flight orders are the tracker's)."""
        return {
            "count_total": self.count_total,
            "fires_ns": list(self._fires),
            "last_fire_ns": self.last_fire_ns,
        }

    def restore(self, snapshot: dict[str, object]) -> None:
        """Restore budget and count."""
        count = snapshot.get("count_total", 0)
        self.count_total = int(count) if isinstance(count, int) else 0
        fires = snapshot.get("fires_ns", [])
        if isinstance(fires, list):
            self._fires = deque(int(x) for x in fires)
        last = snapshot.get("last_fire_ns")
        self.last_fire_ns = int(last) if isinstance(last, int) else None
