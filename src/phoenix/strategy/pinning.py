"""Pinning (anti-flicker inventory reduction): when |position| > pinning_ratio × net_max, the reducing
side's first layer joins the touch with a larger size, and the adding side is widened (never dropped)."""

from __future__ import annotations

from phoenix.core.types import Side


def pinning_side(position_steps: int, net_max_steps: int, pinning_ratio: float) -> Side | None:
    """The reducing side to pin, or None.

    Pinning is on when ``|position| > pinning_ratio × net_max`` (strictly greater, in steps). A long
    position is reduced by selling (SELL), a short one by buying (BUY). With ``net_max_steps`` ≤ 0 any
    non-zero position pins.
    """
    if position_steps == 0:
        return None
    if abs(position_steps) <= pinning_ratio * max(net_max_steps, 0):
        return None
    return Side.SELL if position_steps > 0 else Side.BUY


def pinned_price_ticks(side: Side, best_bid_ticks: int, best_ask_ticks: int) -> int:
    """Price of the pinned layer: a pinned bid joins the best bid, a pinned ask the best ask."""
    return best_bid_ticks if side is Side.BUY else best_ask_ticks


def pinned_size_steps(base_steps: int, size_mult: float, position_steps: int) -> int:
    """Pinned layer size: ``base × size_mult`` rounded down to the step, never more than |position|."""
    return min(int(base_steps * size_mult + 1e-9), abs(position_steps))
