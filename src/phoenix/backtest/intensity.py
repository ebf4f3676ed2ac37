"""Fill and impact models for data without order-book sizes (mid-only data, the A-S 2008 simulation).

Intensity model (Avellaneda & Stoikov 2008, eq. 12): a resting quote at distance δ from the mid is hit by
market orders with Poisson intensity λ(δ) = A·e^(−k·δ). Over an interval dt it fills with probability
1 − e^(−λ·dt) (or λ·dt, the paper's first-order rule). δ is in the unit ``k`` is expressed in: price units
for the paper's simulation, bps of the mid for real data (``distance_unit``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class IntensityFillModel:
    """λ(δ) = A·e^(−kδ) fills for quotes at distance δ from the mid.

    Args:
        a_per_s: A, arrivals per second (per time unit of the simulation) of market orders reaching δ = 0.
        k: Decay per distance unit.
        distance_unit: ``"bps"`` (δ in bps of the mid) or ``"price"`` (δ in price units).
        first_order: Use p = λ·dt (capped at 1) as the paper does, instead of 1 − e^(−λ·dt).
        mean_fill_qty: Mean size (base units) of the market order that hits us; None = fill our whole order.
            Sizes are exponential, so large quotes fill partially (this is what limits capacity).
        floor_delta: δ below this is treated as this (quotes through the mid cannot be hit faster than at
            the mid on real data). None = no floor, as in the paper (p = min(1, λ·dt) then saturates).
    """

    a_per_s: float
    k: float
    distance_unit: Literal["bps", "price"] = "bps"
    first_order: bool = False
    mean_fill_qty: float | None = None
    floor_delta: float | None = 0.0

    def intensity(self, delta: float) -> float:
        """λ(δ) per second (δ floored at ``floor_delta`` unless that is None)."""
        if self.floor_delta is not None and delta < self.floor_delta:
            delta = self.floor_delta
        return self.a_per_s * math.exp(min(-self.k * delta, 700.0))

    def fill_probability(self, delta: float, dt_s: float) -> float:
        """Probability that a quote at distance δ is hit during ``dt_s``."""
        lam_dt = self.intensity(delta) * dt_s
        if self.first_order:
            return min(1.0, lam_dt)
        return -math.expm1(-lam_dt)

    def fill_probability_array(self, delta: FloatArray, dt_s: float) -> FloatArray:
        """Vectorised ``fill_probability`` over an array of distances."""
        d = delta if self.floor_delta is None else np.maximum(delta, self.floor_delta)
        lam_dt = self.a_per_s * np.exp(np.minimum(-self.k * d, 700.0)) * dt_s
        if self.first_order:
            out: FloatArray = np.minimum(1.0, lam_dt)
            return out
        out = -np.expm1(-lam_dt)
        return out

    def distance(self, side_sign: int, price: float, mid: float) -> float:
        """δ of a quote in ``distance_unit``: mid − bid for a buy (side_sign +1), ask − mid for a sell."""
        d = (mid - price) if side_sign > 0 else (price - mid)
        if self.distance_unit == "bps":
            return d / mid * 1e4
        return d


@dataclass(frozen=True, slots=True)
class ImpactModel:
    """Taker slippage for mid-only data: half_spread_bps + coef_bps·sqrt(notional / ref_notional_usdc).

    The square-root law is the standard empirical shape of market impact; ``coef_bps`` is the slippage of an
    order of ``ref_notional_usdc``.
    """

    half_spread_bps: float = 0.8
    coef_bps: float = 1.0
    ref_notional_usdc: float = 10_000.0

    def slippage_bps(self, notional_usdc: float) -> float:
        """Price concession in bps for a taker order of this notional."""
        return self.half_spread_bps + self.coef_bps * math.sqrt(
            max(notional_usdc, 0.0) / self.ref_notional_usdc
        )

    def fill_price(self, side_sign: int, mid: float, notional_usdc: float) -> float:
        """Average execution price of a taker order (buys pay above the mid, sells receive below)."""
        return mid * (1.0 + side_sign * self.slippage_bps(notional_usdc) * 1e-4)
