"""ASMM: adaptive skewed market making with 8 near + 16 far layers per side and pinning.

Formulas (units in names; every parameter is a ``SymbolConfig`` field):

- inventory ratio ``ρ = clamp(position_steps / net_max_steps, −1, 1)``;
- funding ``f`` = funding-rate EMA (fraction per 8 h; the latest rate until the EMA exists);
- reservation ``r = mid × (1 − skew_bps_at_net_max/1e4 × ρ − funding_bias_weight × f)``: long ⇒ lower,
  short ⇒ higher, positive funding (longs pay) ⇒ lower;
- vol scaling ``v = clamp(max(vol_long, vol_short) / vol_ref_bps, 1, vol_scaling_max)`` with the realised
  vols in bps per minute from ``core.signals`` (the short window reacts to bursts, the long one is the
  baseline; a window still warming up is ignored; both cold ⇒ v = 1);
- half spread ``h = max(r × min_spread/2 × v, 1 tick)`` (``half_spread_bps`` = min_spread/2 × 1e4 × v);
- near layer ``i`` (0…near_layers−1): bid ``r − h − i·s − w_b``, ask ``r + h + i·s + w_a``, spacing
  ``s = max(r × near_layer_spacing_bps/1e4 × v, 1 tick)``; size ``⌊base × near_layer_size_growth^i⌋`` steps,
  base = ``near_layer_size`` (rounded down to the step) or ``⌈near_layer_notional_mult × min_notional / mid⌉``
  steps, and never below min qty;
- far layer ``j`` (0…far_layers−1): ``mid × (1 ∓ p_j/100)``, ``p_j`` evenly spaced from far_band_min_pct to
  far_band_max_pct; size ``far_layer_size``; layer index ``near_layers + j``;
- pinning when ``|position| > pinning_ratio × net_max``: the reducing side's layer 0 joins the best bid/ask
  with ``min(⌊base × pinning_size_mult⌋, |position|)`` steps; that side's layers i ≥ 1 keep their spacing
  behind it: ask ``max(r + h, best ask) + i·s`` (bid ``min(r − h, best bid) − i·s``), so a skewed
  reservation never stacks them one tick apart at the touch; the adding side's near layers move out by
  ``w = r × pinning_widen_bps/1e4`` (never dropped). If the capped pinned size is below the exchange minimum
  at the touch, pinning stays off (a pinned order may never exceed the position).

All layers then go through ``finish_quotes`` with ``bump_to_min=True`` (a configured size below the exchange
minimum is raised to it; risk later trims without bumping).
"""

from __future__ import annotations

import math
from dataclasses import replace

from phoenix.core.store import SymbolState
from phoenix.core.types import QuoteSet, Side
from phoenix.strategy.base import empty_quotes
from phoenix.strategy.finishing import Draft, finish_quotes
from phoenix.strategy.pinning import pinned_size_steps, pinning_side


def inventory_ratio(position_steps: int, net_max_steps: int) -> float:
    """``position / net_max`` clamped to [−1, 1]; with net_max ≤ 0 the sign of the position."""
    if net_max_steps <= 0:
        return float((position_steps > 0) - (position_steps < 0))
    ratio = position_steps / net_max_steps
    return 1.0 if ratio > 1.0 else -1.0 if ratio < -1.0 else ratio


def reservation_price(
    mid: float, inv_ratio: float, skew_bps_at_net_max: float, funding_ema: float, funding_bias_weight: float
) -> float:
    """``mid × (1 − skew_bps_at_net_max/1e4 × inv_ratio − funding_bias_weight × funding_ema)`` in USDC."""
    return mid * (1.0 - skew_bps_at_net_max * 1e-4 * inv_ratio - funding_bias_weight * funding_ema)


def vol_scaling(
    vol_long_bps: float | None, vol_short_bps: float | None, vol_ref_bps: float, vol_scaling_max: float
) -> float:
    """``clamp(max(known vols) / vol_ref_bps, 1, vol_scaling_max)``; 1 when no vol is known yet."""
    if vol_long_bps is None:
        vol = vol_short_bps
    elif vol_short_bps is None or vol_long_bps >= vol_short_bps:
        vol = vol_long_bps
    else:
        vol = vol_short_bps
    if vol is None:
        return 1.0
    scale = vol / vol_ref_bps
    return 1.0 if scale < 1.0 else vol_scaling_max if scale > vol_scaling_max else scale


def near_base_steps(
    near_layer_size: float | None,
    near_layer_notional_mult: float,
    min_notional_usdc: float,
    mid: float,
    step: float,
    min_qty_steps: int,
) -> int:
    """Size of near layer 0 in steps: the configured size, else mult × min notional / mid rounded up."""
    if near_layer_size is not None:
        steps = int(near_layer_size / step + 1e-9)
    else:
        steps = math.ceil(near_layer_notional_mult * min_notional_usdc / (mid * step) - 1e-9)
    return steps if steps > min_qty_steps else min_qty_steps


class AsmmStrategy:
    """The spec's ASMM strategy (stateless; see the module docstring for every formula)."""

    name = "asmm"

    def inputs_key(self, state: SymbolState) -> tuple[float, float]:
        """What ``quote`` reads besides the touch, position, config, filters and mark-price band.

        (vol scaling, funding term): two states equal in those and in this key get the same quotes, so a
        caller may reuse a result across vol / funding updates that do not move the clamped values.
        """
        cfg = state.config
        signals = state.signals
        scale = vol_scaling(signals.vol_long_bps, signals.vol_short_bps, cfg.vol_ref_bps, cfg.vol_scaling_max)
        funding = signals.funding_ema
        if funding is None:
            funding = state.funding_rate
        return scale, (funding if cfg.funding_bias_weight != 0.0 else 0.0)

    def quote(self, state: SymbolState, now_ns: int) -> QuoteSet:
        """Finished 24 + 24 layer ladder (by default) for ``state`` at ``now_ns``."""
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
        q = state.position.qty_steps
        net_max_steps = filters.qty_to_steps(cfg.net_max_at(mid))
        signals = state.signals
        funding = signals.funding_ema
        if funding is None:
            funding = state.funding_rate
        r = reservation_price(
            mid,
            inventory_ratio(q, net_max_steps),
            cfg.skew_bps_at_net_max,
            funding,
            cfg.funding_bias_weight,
        )
        scale = vol_scaling(signals.vol_long_bps, signals.vol_short_bps, cfg.vol_ref_bps, cfg.vol_scaling_max)
        hs_bps = cfg.min_spread * 0.5e4 * scale
        half = r * hs_bps * 1e-4
        if half < tick:
            half = tick
            hs_bps = tick / r * 1e4
        spacing = r * cfg.near_layer_spacing_bps * 1e-4 * scale
        if spacing < tick:
            spacing = tick
        base = near_base_steps(
            cfg.near_layer_size,
            cfg.near_layer_notional_mult,
            filters.min_notional_usdc,
            mid,
            step,
            filters.min_qty_steps,
        )

        pin = pinning_side(q, net_max_steps, cfg.pinning_ratio)
        pin_steps = 0
        if pin is not None:
            pin_steps = pinned_size_steps(base, cfg.pinning_size_mult, q)
            if pin_steps < filters.min_steps_at(bb if pin is Side.BUY else ba):
                pin = None
        widen = r * cfg.pinning_widen_bps * 1e-4
        widen_bid = widen if pin is Side.SELL else 0.0
        widen_ask = widen if pin is Side.BUY else 0.0

        n_near = cfg.near_layers
        growth_powers, far_offsets = _ladder_shape(
            n_near, cfg.near_layer_size_growth, cfg.far_layers, cfg.far_band_min_pct, cfg.far_band_max_pct
        )
        sizes = [int(base * g + 1e-9) * step for g in growth_powers]
        bid0 = r - half - widen_bid
        ask0 = r + half + widen_ask
        # behind a pinned quote the near layers keep their own spacing: a skewed reservation puts their
        # targets inside the touch, where finishing would stack them one tick apart behind the pin and
        # every touch move would shift them all; from the pin outwards at the layer spacing they move as
        # a lattice instead (the diff's bands absorb moves of less than a spacing)
        if pin is Side.SELL and ask0 < ba * tick:
            ask0 = ba * tick
        elif pin is Side.BUY and bid0 > bb * tick:
            bid0 = bb * tick
        bids: list[Draft] = [(bid0 - i * spacing, sizes[i], i) for i in range(n_near)]
        asks: list[Draft] = [(ask0 + i * spacing, sizes[i], i) for i in range(n_near)]
        if pin is Side.SELL:
            asks[0] = (ba * tick, pin_steps * step, 0)
        elif pin is Side.BUY:
            bids[0] = (bb * tick, pin_steps * step, 0)
        if far_offsets:
            far_qty = filters.qty_to_steps(cfg.far_layer_size) * step
            bids += [(mid * (1.0 - pct), far_qty, layer) for layer, pct in far_offsets]
            asks += [(mid * (1.0 + pct), far_qty, layer) for layer, pct in far_offsets]

        mark = state.mark_price
        qs = finish_quotes(
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
            half_spread_bps=hs_bps,
            pinning_side=pin,
        )
        if pin is not None:
            qs = _enforce_pin_cap(qs, pin, abs(q))
        return qs


_SHAPES: dict[tuple[int, float, int, float, float], tuple[list[float], list[tuple[int, float]]]] = {}


def _ladder_shape(
    n_near: int, growth: float, n_far: int, far_min_pct: float, far_max_pct: float
) -> tuple[list[float], list[tuple[int, float]]]:
    # growth^i for the near sizes and (layer, fraction of mid) of the far layers, cached per config values
    key = (n_near, growth, n_far, far_min_pct, far_max_pct)
    shape = _SHAPES.get(key)
    if shape is None:
        if len(_SHAPES) > 1024:
            _SHAPES.clear()
        lo = far_min_pct * 0.01
        d = (far_max_pct * 0.01 - lo) / (n_far - 1) if n_far > 1 else 0.0
        shape = ([growth**i for i in range(n_near)], [(n_near + j, lo + j * d) for j in range(n_far)])
        _SHAPES[key] = shape
    return shape


def _enforce_pin_cap(qs: QuoteSet, pin: Side, cap_steps: int) -> QuoteSet:
    # finishing may only bump a pinned layer if the band moved it; then it is dropped, never enlarged
    side = qs.asks if pin is Side.SELL else qs.bids
    for k, quote in enumerate(side):
        if quote.layer == 0:
            if quote.qty_steps <= cap_steps:
                return qs
            kept = side[:k] + side[k + 1 :]
            return replace(qs, asks=kept) if pin is Side.SELL else replace(qs, bids=kept)
    return qs
