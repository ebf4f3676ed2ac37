"""Avellaneda & Stoikov (2008): closed-form reservation price and spread, and a strategy using them.

Pure formulas (eq. numbers of the published paper, see docs/avellaneda-stoikov-2008.md); units must be
consistent: ``s`` and ``sigma`` in price units (σ per √time unit), ``t``/``T`` in the same time unit,
``q`` in order-size units, ``gamma`` in 1/(price·qty), ``k`` in 1/price, ``A`` in 1/time.

The live strategy uses a stationary horizon: the remaining time ``T − t`` is always ``as_horizon_s``
(seconds), σ is the realised σ of 1-s returns times the mid (USDC per √s), and ``q`` is the position in
base units (ETH, not steps). Quotes: bid = r − spread/2, ask = r + spread/2 (at least one tick each side
of r), ``layers`` layers per side spaced by ``near_layer_spacing_bps``, sized like ASMM's near layers.
"""

from __future__ import annotations

import math

from phoenix.core.store import SymbolState
from phoenix.core.types import QuoteSet
from phoenix.strategy.asmm import near_base_steps
from phoenix.strategy.base import empty_quotes
from phoenix.strategy.finishing import Draft, finish_quotes


def as_reservation_price(s: float, q: float, t: float, T: float, sigma: float, gamma: float) -> float:
    """Eq. (29): ``r = s − q·γ·σ²·(T − t)``."""
    return s - q * gamma * sigma * sigma * (T - t)


def as_spread(t: float, T: float, sigma: float, gamma: float, k: float) -> float:
    """Eq. (30), the full bid–ask spread around r: ``γ·σ²·(T − t) + (2/γ)·ln(1 + γ/k)``."""
    return gamma * sigma * sigma * (T - t) + (2.0 / gamma) * math.log1p(gamma / k)


def as_bid_ask(
    s: float, q: float, t: float, T: float, sigma: float, gamma: float, k: float
) -> tuple[float, float]:
    """The optimal (bid, ask) = r ∓ spread/2 at time ``t``."""
    r = as_reservation_price(s, q, t, T, sigma, gamma)
    half = 0.5 * as_spread(t, T, sigma, gamma, k)
    return r - half, r + half


def as_average_spread(T: float, sigma: float, gamma: float, k: float) -> float:
    """Time-average of eq. (30) over [0, T]: ``γσ²T/2 + (2/γ)·ln(1 + γ/k)`` (the paper's symmetric spread)."""
    return 0.5 * gamma * sigma * sigma * T + (2.0 / gamma) * math.log1p(gamma / k)


def as_fill_intensity(delta: float, A: float, k: float) -> float:
    """Eqs. (12)/(20): arrival rate ``λ(δ) = A·exp(−k·δ)`` of fills at distance ``δ`` from the mid."""
    return A * math.exp(-k * delta)


def glft_half_spread_and_skew(sigma: float, gamma: float, k: float, A: float) -> tuple[float, float]:
    """GLFT (2013) asymptotic quotes: (half spread at q = 0, skew per unit of q).

    ``δᵇ(q) = half + q·skew`` and ``δᵃ(q) = half − q·skew`` measured from the mid, with
    ``skew = sqrt(σ²γ/(2kA)·(1+γ/k)^(1+k/γ))`` and ``half = (1/γ)ln(1+γ/k) + skew/2``.
    """
    skew = math.sqrt(sigma * sigma * gamma / (2.0 * k * A) * (1.0 + gamma / k) ** (1.0 + k / gamma))
    return math.log1p(gamma / k) / gamma + 0.5 * skew, skew


class AvellanedaStoikovStrategy:
    """A-S 2008 quotes around the inventory-adjusted reservation price (stationary horizon)."""

    name = "avellaneda_stoikov"

    def __init__(self, layers: int = 1) -> None:
        if layers < 1:
            raise ValueError(f"layers must be ≥ 1, got {layers}")
        self.layers = layers

    def quote(self, state: SymbolState, now_ns: int) -> QuoteSet:
        """Finished A-S quotes for ``state`` at ``now_ns`` (empty without a two-sided book)."""
        book = state.book
        bb = book.best_bid_ticks
        ba = book.best_ask_ticks
        if bb is None or ba is None:
            return empty_quotes(state, now_ns)
        cfg = state.config
        filters = state.filters
        tick = filters.tick
        step = filters.step
        mid = (bb + ba) * 0.5 * tick
        sigma_bps = state.signals.sigma_1s_bps(cfg.vol_window_s)
        if sigma_bps is None:
            sigma_bps = state.signals.sigma_1s_bps(cfg.short_vol_window_s)
        if sigma_bps is None:
            sigma_bps = cfg.vol_ref_bps / math.sqrt(60.0)
        sigma = mid * sigma_bps * 1e-4
        q = state.position.qty_steps * step
        tau = cfg.as_horizon_s
        r = as_reservation_price(mid, q, 0.0, tau, sigma, cfg.as_gamma)
        half = 0.5 * as_spread(0.0, tau, sigma, cfg.as_gamma, cfg.as_k)
        if half < tick:
            half = tick
        spacing = max(r * cfg.near_layer_spacing_bps * 1e-4, tick)
        base = near_base_steps(
            cfg.near_layer_size,
            cfg.near_layer_notional_mult,
            filters.min_notional_usdc,
            mid,
            step,
            filters.min_qty_steps,
        )
        bids: list[Draft] = []
        asks: list[Draft] = []
        g = 1.0
        for i in range(self.layers):
            qty = int(base * g + 1e-9) * step
            bids.append((r - half - i * spacing, qty, i))
            asks.append((r + half + i * spacing, qty, i))
            g *= cfg.near_layer_size_growth
        mark = state.mark_price
        return finish_quotes(
            state.symbol,
            now_ns,
            bids,
            asks,
            filters,
            best_bid_ticks=bb,
            best_ask_ticks=ba,
            mark_price=mark if mark > 0.0 else None,
            bump_to_min=True,
            reservation_price=r,
            half_spread_bps=half / r * 1e4 if r > 0 else 0.0,
        )
