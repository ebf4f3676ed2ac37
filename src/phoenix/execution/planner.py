"""Turn a diff into actions under three budgets: exposure, requotes (flicker) and order rate.

Order of the actions returned: cancels (risk-required first), then amendments, then places — cancels go
before creates, and places are near layers first so a tight budget serves the touch before the tails.

- **Exposure gate.** For each side, position + every open order (in-flight places, amendments at the
  larger of old/new size, and cancels not yet confirmed) + each new order must stay within the risk
  limit. A place that does not fit yet is deferred until cancels are confirmed, so no sequence of fills
  of resting orders can pass ``net_max`` even while the ladder is being moved.
- **Risk-required cancels.** On a side whose worst case is above its limit (after a fill, a limit change
  or a pause), every cancel the diff proposes is sent at once and amendments become cancels.
  Orders flagged for cancel while they were in flight are cancelled as soon as they are acknowledged.
  Neither is ever held back by a budget.
- **Flicker budget.** Other cancels and amendments are optional: they are sent while the symbol's
  requote budget allows (near layers first) and deferred otherwise.
- **Order-rate budget.** Places and amendments cost one order each; when the account budget is tight an
  amendment degrades into a (free) cancel and the place waits for budget.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from phoenix.core.types import Action, CancelOrder, ModifyOrder, Quote, Side
from phoenix.execution.diff import DiffPlan, diff_quotes, keeps_all
from phoenix.execution.orders import LiveOrder, OrderTracker
from phoenix.execution.ratebudget import OrderRateBudget
from phoenix.risk.flicker import FlickerGuard
from phoenix.risk.pretrade import Limits


@dataclass(slots=True)
class PlanStats:
    """Counts of one planning round (facts for metrics)."""

    places: int = 0
    cancels: int = 0
    modifies: int = 0
    risk_cancels: int = 0
    deferred_requotes: int = 0  # optional cancels/amendments held back by the flicker budget
    deferred_rate: int = 0  # places held back by the order-rate budget
    deferred_exposure: int = 0  # places held back until in-flight cancels confirm
    buy_exposure_steps: int = 0  # all open buy orders after this round (in-flight included)
    sell_exposure_steps: int = 0


def band_ticks(
    quotes: Sequence[Quote],
    mid_ticks: float,
    base_ticks: int,
    depth_fraction: float,
    widen: float,
    lattice_fraction: float = 1.0,
) -> list[int]:
    """Tolerance band (ticks) per quote.

    ``max(base, distance from mid × depth_fraction, local layer spacing × lattice_fraction) × widen``.
    Far layers get proportionally wider bands (a few bps off at 5 % from the mid cost nothing). A band
    above half the spacing to the neighbouring layer makes a sliding ladder behave like a price lattice:
    interior layers keep matching, only the end layer moves, and the margin above one half is the
    hysteresis that stops a mid oscillating around a lattice boundary from flipping the ends back and forth.
    """
    n = len(quotes)
    out: list[int] = []
    for i, q in enumerate(quotes):
        band = max(float(base_ticks), abs(q.price_ticks - mid_ticks) * depth_fraction)
        if n > 1:
            if i == 0:
                gap = abs(quotes[1].price_ticks - q.price_ticks)
            elif i == n - 1:
                gap = abs(q.price_ticks - quotes[i - 1].price_ticks)
            else:
                gap = min(
                    abs(quotes[i + 1].price_ticks - q.price_ticks),
                    abs(q.price_ticks - quotes[i - 1].price_ticks),
                )
            band = max(band, gap * lattice_fraction)
        out.append(int(band * widen))
    return out


def bands(
    quotes: Sequence[Quote],
    mid_ticks: float,
    base_ticks: int,
    depth_fraction: float,
    widen: float,
    outer_fraction: float,
    inner_fraction: float,
) -> tuple[list[float], list[float]]:
    """``band_ticks`` for the outer (away from the mid) and inner (towards it) bands in one pass.

    ``quotes`` must be one side ordered from the touch outwards (bids descending, asks ascending), as
    finished quote sets are. Bands are floats (ticks); this runs on every requote, so it avoids
    builtins calls in the loop.
    """
    n = len(quotes)
    if n == 0:
        return [], []
    sgn = -1.0 if quotes[0].side is Side.BUY else 1.0  # distance from the mid grows along the ladder
    base = float(base_ticks)
    outer = [0.0] * n
    inner = [0.0] * n
    prices = [q.price_ticks for q in quotes]
    prev_gap = -1.0
    last = n - 1
    for i in range(n):
        p = prices[i]
        f = (p - mid_ticks) * sgn * depth_fraction
        if f < base:
            f = base
        if i < last:
            gap = (prices[i + 1] - p) * sgn
            local = gap if prev_gap < 0.0 or gap < prev_gap else prev_gap
            prev_gap = gap
        else:
            local = prev_gap if prev_gap >= 0.0 else 0.0
        o = local * outer_fraction
        w = local * inner_fraction
        outer[i] = (o if o > f else f) * widen
        inner[i] = (w if w > f else f) * widen
    return outer, inner


def base_band_ticks(
    mid: float, tick: float, tolerance_ticks: int, tolerance_bps: float, vol_factor: float
) -> int:
    """Base band in ticks: the larger of ``requote_tolerance_ticks`` and ``requote_tolerance_bps`` × vol."""
    bps_ticks = mid * tolerance_bps * vol_factor / 1e4 / tick
    return max(tolerance_ticks, math.floor(bps_ticks))


def _rank(action: Action) -> int:
    if isinstance(action, CancelOrder):
        return 0
    if isinstance(action, ModifyOrder):
        return 1
    return 2


class Planner:
    """Plans the actions of one symbol per requote. Stateless apart from the budgets it is given."""

    def __init__(self, *, use_modify: bool = True, qty_tolerance: float = 0.4) -> None:
        self.use_modify = use_modify
        self.qty_tolerance = qty_tolerance

    def plan(
        self,
        *,
        symbol: str,
        bids: Sequence[Quote],
        asks: Sequence[Quote],
        bid_bands: Sequence[float],
        ask_bands: Sequence[float],
        bid_inner_bands: Sequence[float] | None = None,
        ask_inner_bands: Sequence[float] | None = None,
        tracker: OrderTracker,
        position_steps: int,
        limits: Limits,
        flicker: FlickerGuard,
        rate: OrderRateBudget,
        now_ns: int,
        pinned_side: Side | None = None,
    ) -> tuple[list[Action], PlanStats]:
        """Diff and budget one symbol's ladder; registers the sent requests in ``tracker``."""
        live = tracker.open_orders(symbol)
        if pinned_side is None and not tracker.needing_cancel(symbol):
            kept = keeps_all(
                bids,
                asks,
                live,
                bid_bands,
                ask_bands,
                bid_bands if bid_inner_bands is None else bid_inner_bands,
                ask_bands if ask_inner_bands is None else ask_inner_bands,
                self.qty_tolerance,
            )
            if kept is not None:
                # the common case: the live ladder satisfies the quotes, nothing to send or budget
                for quote, order in kept:
                    order.layer = quote.layer
                buy_exp, sell_exp = tracker.exposure_steps(symbol)
                return [], PlanStats(buy_exposure_steps=buy_exp, sell_exposure_steps=sell_exp)
        diff = diff_quotes(
            bids,
            asks,
            live,
            bid_bands,
            ask_bands,
            bid_inner_ticks=bid_inner_bands,
            ask_inner_ticks=ask_inner_bands,
            qty_tolerance=self.qty_tolerance,
            use_modify=self.use_modify,
            pinned_side=pinned_side,
        )
        for quote, order in diff.keep:
            order.layer = quote.layer  # the layer an order serves follows the ladder as it slides
        needing = tracker.needing_cancel(symbol)
        if not (needing or diff.cancel or diff.modify or diff.place):
            # the common case: the live ladder satisfies the quotes, nothing to send or budget
            buy_exp, sell_exp = tracker.exposure_steps(symbol)
            return [], PlanStats(buy_exposure_steps=buy_exp, sell_exposure_steps=sell_exp)
        stats = PlanStats()
        actions: list[Action] = []
        buy_exp, sell_exp = tracker.exposure_steps(symbol)
        worst = {Side.BUY: position_steps + buy_exp, Side.SELL: -position_steps + sell_exp}
        over = {side: worst[side] > limits.for_side(side).limit_steps for side in (Side.BUY, Side.SELL)}

        # 1. risk-required cancels: flagged orders, and everything the diff drops on an over-limit side
        for order in needing:
            self._cancel(order, tracker, now_ns, actions, stats, risk=True)
        optional_cancels: list[LiveOrder] = []
        for order in diff.cancel:
            if over[order.side]:
                self._cancel(order, tracker, now_ns, actions, stats, risk=True)
            else:
                optional_cancels.append(order)
        modifies: list[tuple[LiveOrder, Quote]] = []
        places = list(diff.place)
        for order, quote in diff.modify:
            if over[order.side]:
                self._cancel(order, tracker, now_ns, actions, stats, risk=True)
                places.append(quote)
            else:
                modifies.append((order, quote))

        # 2. optional requotes within the flicker budget, near layers first
        allowance = flicker.allowance(now_ns)
        modifies.sort(key=lambda pair: pair[1].layer)
        rate_left = rate.available(symbol, now_ns)
        for order, quote in modifies:
            if allowance <= 0:
                stats.deferred_requotes += 1
                continue
            allowance -= 1
            increase = max(0, quote.qty_steps - order.remaining_steps)
            limit = limits.for_side(order.side).limit_steps
            if rate_left > 0 and worst[order.side] + increase <= limit:
                actions.append(tracker.modify(order, quote.price_ticks, quote.qty_steps, now_ns, quote.layer))
                worst[order.side] += increase
                rate_left -= 1
                stats.modifies += 1
            else:
                # no budget for an amendment (or it would add exposure now): cancel, place later
                self._cancel(order, tracker, now_ns, actions, stats, risk=False)
                places.append(quote)
        for order in optional_cancels:
            if allowance <= 0:
                stats.deferred_requotes += 1
                continue
            allowance -= 1
            self._cancel(order, tracker, now_ns, actions, stats, risk=False)

        # 3. places, near layers first, within the order-rate budget and the exposure gate
        places.sort(key=lambda q: q.layer)
        for quote in places:
            limit = limits.for_side(quote.side).limit_steps
            if worst[quote.side] + quote.qty_steps > limit:
                stats.deferred_exposure += 1
                continue
            if rate_left <= 0:
                stats.deferred_rate += 1
                continue
            actions.append(
                tracker.place(
                    symbol=symbol,
                    side=quote.side,
                    price_ticks=quote.price_ticks,
                    qty_steps=quote.qty_steps,
                    layer=quote.layer,
                    now_ns=now_ns,
                )
            )
            worst[quote.side] += quote.qty_steps
            rate_left -= 1
            stats.places += 1

        actions.sort(key=_rank)  # stable: cancels, then amendments, then places (near layers first)
        stats.buy_exposure_steps = worst[Side.BUY] - position_steps
        stats.sell_exposure_steps = worst[Side.SELL] + position_steps
        flicker.record(now_ns, stats.cancels + stats.modifies)
        rate.consume(symbol, now_ns, stats.places + stats.modifies)
        return actions, stats

    @staticmethod
    def _cancel(
        order: LiveOrder,
        tracker: OrderTracker,
        now_ns: int,
        actions: list[Action],
        stats: PlanStats,
        *,
        risk: bool,
    ) -> None:
        action = tracker.cancel(order, now_ns)
        if action is not None:
            actions.append(action)
            stats.cancels += 1
            if risk:
                stats.risk_cancels += 1


def diff_only(
    bids: Sequence[Quote],
    asks: Sequence[Quote],
    live: Sequence[LiveOrder],
    bid_bands: Sequence[float],
    ask_bands: Sequence[float],
    *,
    qty_tolerance: float = 0.4,
) -> DiffPlan:
    """The raw diff with the planner's settings (for inspection and tests)."""
    return diff_quotes(bids, asks, live, bid_bands, ask_bands, qty_tolerance=qty_tolerance)
