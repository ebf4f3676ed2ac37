"""Pre-trade risk: trim a finished quote set so that no combination of fills can breach a limit.

Directional worst case. With position ``p`` (signed steps) and ``B``/``A`` the total size of every buy /
sell order that could rest at once (desired quotes plus any other of our orders on that side, e.g. a
grinding re-entry), the limits are::

    worst long  = p + B  ≤ L_buy        worst short = −p + A ≤ L_sell

``L`` is ``net_max`` on the step grid (tighter of base and notional limits), lowered to the symbol's share
of the global worst-case notional cap, and 0 when the symbol may only reduce (paused after a breach, or the
global cap is breached). Since ``L ≥ 0``, the side that reduces the position always keeps at least ``|p|``:
a limit never removes the reducing side. The adding side is cut from the farthest layer inward; a
partially cut layer below min qty / min notional is dropped. The trimmed set is then re-finished
(``strategy.finishing.refinish``, no size bump). Every cut is reported with a reason code; nothing raises.

This function bounds the *desired* ladder; execution separately never lets live + in-flight + new orders
exceed the same limits while cancels are still in flight (see ``execution.planner``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from phoenix.core.store import SymbolState
from phoenix.core.types import Quote, QuoteSet, Side
from phoenix.strategy.finishing import refinish


class TrimReason(StrEnum):
    """Why a quote was cut or removed."""

    NET_MAX = "net_max"  # position + this side's orders could pass net_max
    GLOBAL_CAP = "global_cap"  # Σ worst-case notional across symbols could pass total_notional_max
    GLOBAL_CAP_BREACHED = "global_cap_breached"  # total notional is above the cap: every symbol only reduces
    REDUCING_ONLY = "reducing_only"  # symbol paused after a net_max breach: only reductions
    HALTED = "halted"  # symbol halted (stop-loss, reconcile mismatch): no quotes at all
    MIN_SIZE = "min_size"  # the trimmed remainder was below min qty / min notional and was dropped
    FINISHING = "finishing"  # re-finishing after the trim dropped or moved a layer


@dataclass(frozen=True, slots=True)
class SideLimit:
    """Maximum worst-case exposure of one side in steps, and the rule that set it."""

    limit_steps: int
    reason: TrimReason


@dataclass(frozen=True, slots=True)
class Limits:
    """Both sides' limits for one symbol."""

    buy: SideLimit
    sell: SideLimit
    halted: bool = False

    def for_side(self, side: Side) -> SideLimit:
        """The limit of ``side``."""
        return self.buy if side is Side.BUY else self.sell


@dataclass(frozen=True, slots=True)
class Trim:
    """One quote cut (``to_qty_steps`` < ``from_qty_steps``) or removed (``to_qty_steps`` = 0)."""

    symbol: str
    side: Side
    layer: int
    price_ticks: int
    from_qty_steps: int
    to_qty_steps: int
    reason: TrimReason


@dataclass(frozen=True, slots=True)
class PretradeResult:
    """The trimmed quote set, what was cut and why, and the limits used."""

    quotes: QuoteSet
    trims: tuple[Trim, ...]
    limits: Limits


def side_limits(
    state: SymbolState,
    *,
    reducing_only: bool = False,
    halted: bool = False,
    global_breached: bool = False,
    global_allowance_steps: int | None = None,
) -> Limits:
    """Per-side worst-case limits (steps) for one symbol.

    Args:
        state: The symbol's state (net_max at the current price).
        reducing_only: The symbol is paused: each side may only reduce (limit 0).
        halted: No quotes at all.
        global_breached: Total notional is above the global cap: every side may only reduce.
        global_allowance_steps: This symbol's share of the global worst-case notional cap, in steps.
    """
    if halted:
        zero = SideLimit(0, TrimReason.HALTED)
        return Limits(buy=zero, sell=zero, halted=True)
    if reducing_only:
        zero = SideLimit(0, TrimReason.REDUCING_ONLY)
        return Limits(buy=zero, sell=zero)
    if global_breached:
        zero = SideLimit(0, TrimReason.GLOBAL_CAP_BREACHED)
        return Limits(buy=zero, sell=zero)
    net_max = max(0, state.net_max_steps())
    if global_allowance_steps is not None and global_allowance_steps < net_max:
        key = (max(0, global_allowance_steps), TrimReason.GLOBAL_CAP)
    else:
        key = (net_max, TrimReason.NET_MAX)
    limits = _SYMMETRIC.get(key)
    if limits is None:  # immutable values: one instance per distinct limit (this runs on every requote)
        if len(_SYMMETRIC) > 4096:
            _SYMMETRIC.clear()
        limit = SideLimit(*key)
        limits = _SYMMETRIC[key] = Limits(buy=limit, sell=limit)
    return limits


_SYMMETRIC: dict[tuple[int, TrimReason], Limits] = {}


def _trim_side(
    quotes: tuple[Quote, ...], budget_steps: int, limit: SideLimit, state: SymbolState, trims: list[Trim]
) -> tuple[Quote, ...]:
    # quotes are ordered from the touch outwards: keep the near layers, cut from the far end
    total = 0
    for q in quotes:
        total += q.qty_steps
    if total <= budget_steps:
        return quotes
    out: list[Quote] = []
    left = max(0, budget_steps)
    filters = state.filters
    for q in quotes:
        if left >= q.qty_steps:
            out.append(q)
            left -= q.qty_steps
            continue
        if left > 0 and left >= filters.min_steps_at(q.price_ticks):
            out.append(Quote(side=q.side, price_ticks=q.price_ticks, qty_steps=left, layer=q.layer))
            trims.append(Trim(state.symbol, q.side, q.layer, q.price_ticks, q.qty_steps, left, limit.reason))
        else:
            reason = limit.reason if left == 0 else TrimReason.MIN_SIZE
            trims.append(Trim(state.symbol, q.side, q.layer, q.price_ticks, q.qty_steps, 0, reason))
        left = 0
    return tuple(out)


def trim_quotes(
    quotes: QuoteSet,
    state: SymbolState,
    limits: Limits,
    *,
    other_buy_steps: int = 0,
    other_sell_steps: int = 0,
) -> PretradeResult:
    """Trim ``quotes`` so that position + all orders of each side stay within ``limits``.

    Args:
        quotes: A finished quote set (near layers first on each side).
        state: The symbol's state: position, filters, book (for re-finishing).
        limits: From ``side_limits``.
        other_buy_steps: Exposure of our buy orders that are not part of the ladder (e.g. grinding).
        other_sell_steps: Same for sells.
    """
    pos = state.position.qty_steps
    buy_budget = limits.buy.limit_steps - pos - other_buy_steps
    sell_budget = limits.sell.limit_steps + pos - other_sell_steps
    trims: list[Trim] = []
    bids = _trim_side(quotes.bids, buy_budget, limits.buy, state, trims)
    asks = _trim_side(quotes.asks, sell_budget, limits.sell, state, trims)
    if not trims:
        return PretradeResult(quotes=quotes, trims=(), limits=limits)
    trimmed = QuoteSet(
        symbol=quotes.symbol,
        ts_ns=quotes.ts_ns,
        bids=bids,
        asks=asks,
        reservation_price=quotes.reservation_price,
        half_spread_bps=quotes.half_spread_bps,
        pinning_side=quotes.pinning_side,
    )
    book = state.book
    finished = refinish(
        trimmed,
        state.filters,
        best_bid_ticks=book.best_bid_ticks,
        best_ask_ticks=book.best_ask_ticks,
        mark_price=state.mark_price if state.mark_price > 0.0 else None,
        bump_to_min=False,
    )
    _report_finishing(trimmed, finished, state.symbol, trims)
    return PretradeResult(quotes=finished, trims=tuple(trims), limits=limits)


def _report_finishing(before: QuoteSet, after: QuoteSet, symbol: str, trims: list[Trim]) -> None:
    for old_side, new_side in ((before.bids, after.bids), (before.asks, after.asks)):
        kept = {q.layer for q in new_side}
        for q in old_side:
            if q.layer not in kept:
                trims.append(
                    Trim(symbol, q.side, q.layer, q.price_ticks, q.qty_steps, 0, TrimReason.FINISHING)
                )
