"""Diff desired quotes against live orders on the price lattice with tolerance bands.

A live order keeps satisfying a desired quote while its price is within the quote's band
(``tolerance_ticks``) and its remaining size is within ``qty × (1 ± qty_tolerance)``; a price match with a
size outside that is amended in place. (Keeping an order a little larger than desired cannot breach a
limit: execution's exposure gate admitted it when it was sent, and a side above its limit is cut by the
planner.) Matching is by price, not by layer number, so when the whole ladder slides by one spacing only
the end layers change: the far
ladder behaves like a fixed price lattice. What is left over is paired up into modifications (same side,
one request instead of cancel + place); the rest are cancels and places.

In-flight orders (``PENDING_NEW``, ``PENDING_MODIFY``, ``UNKNOWN``) may satisfy a quote (so nothing is
sent twice) but are never modified; orders being cancelled never satisfy anything. Non-quote orders
(grinding) are not touched.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from operator import attrgetter

from phoenix.core.types import OrderStatus, Quote, Side
from phoenix.execution.orders import ACTIONABLE, LiveOrder, OrderPurpose

S = OrderStatus
_MATCHABLE = frozenset({S.NEW, S.PARTIALLY_FILLED, S.PENDING_NEW, S.PENDING_MODIFY, S.UNKNOWN})


@dataclass(slots=True)
class DiffPlan:
    """The minimal changes for one symbol. ``modify`` pairs a live order with its new target quote."""

    keep: list[tuple[Quote, LiveOrder]] = field(default_factory=list)
    modify: list[tuple[LiveOrder, Quote]] = field(default_factory=list)
    cancel: list[LiveOrder] = field(default_factory=list)
    place: list[Quote] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        """True when nothing has to be sent."""
        return not (self.modify or self.cancel or self.place)

    @property
    def action_count(self) -> int:
        """Number of requests the plan needs."""
        return len(self.modify) + len(self.cancel) + len(self.place)


_price_key = attrgetter("price_ticks")


def diff_side(
    desired: Sequence[Quote],
    live: Sequence[LiveOrder],
    tolerance_ticks: Sequence[float],
    *,
    inner_tolerance_ticks: Sequence[float] | None = None,
    qty_tolerance: float = 0.0,
    use_modify: bool = True,
    plan: DiffPlan | None = None,
    pinned: bool = False,
) -> DiffPlan:
    """Diff one side. ``desired`` is ordered near → far; ``tolerance_ticks[i]`` is the band of quote i.

    Args:
        desired: Desired quotes of one side, nearest to the mid first.
        live: Open orders of the same side (any status; filtered here).
        tolerance_ticks: Band per desired quote: a live order up to this many ticks *farther* from the mid
            than the quote keeps its place.
        inner_tolerance_ticks: The band on the side *nearer* to the mid (default: the same). A smaller
            inner band keeps a stale order from drifting towards the mid, where it would be picked off.
        qty_tolerance: Fraction by which a kept order's remaining size may fall short of the quote's.
        use_modify: Pair leftovers into modifications; otherwise they become cancel + place.
        plan: Plan to append to (both sides share one).
        pinned: ``desired[0]`` is the pinned quote at the touch: it is served by the live order of its
            layer (kept within its band, else amended), apart from the ladder, so that following the touch
            never shuffles the layers stacked behind it.
    """
    out = plan if plan is not None else DiffPlan()
    # depth key: distance-from-the-mid order (bids descend, asks ascend), so near → far is ascending
    if desired:
        is_bid = desired[0].side is Side.BUY
    else:
        is_bid = bool(live) and live[0].side is Side.BUY
    sign = -1 if is_bid else 1
    quote = OrderPurpose.QUOTE
    matchable = _MATCHABLE
    candidates = [o for o in live if o.status in matchable and o.purpose is quote and not o.cancel_requested]
    if pinned and desired:
        pin = desired[0]
        own = next((o for o in candidates if o.layer == pin.layer), None)
        if own is not None:
            candidates.remove(own)
            outer0 = tolerance_ticks[0]
            inner0 = outer0 if inner_tolerance_ticks is None else inner_tolerance_ticks[0]
            desired = desired[1:]
            tolerance_ticks = tolerance_ticks[1:]
            if inner_tolerance_ticks is not None:
                inner_tolerance_ticks = inner_tolerance_ticks[1:]
            off = (own.price_ticks - pin.price_ticks) * (-1 if is_bid else 1)  # > 0: farther from the mid
            rem = own.qty_steps - own.filled_steps
            fits = pin.qty_steps * (1.0 - qty_tolerance) <= rem <= pin.qty_steps * (1.0 + qty_tolerance)
            if (-inner0 <= off <= outer0 and fits) or own.status not in ACTIONABLE:
                out.keep.append((pin, own))
            elif use_modify:
                out.modify.append((own, pin))
            else:
                out.cancel.append(own)
                out.place.append(pin)
    candidates.sort(key=_price_key, reverse=is_bid)
    keys = [sign * o.price_ticks for o in candidates]
    leftovers: list[LiveOrder] = []
    unmatched_desired: list[Quote] = []
    keep = out.keep
    j = 0
    n = len(candidates)
    inner = tolerance_ticks if inner_tolerance_ticks is None else inner_tolerance_ticks
    lo_frac = 1.0 - qty_tolerance
    hi_frac = 1.0 + qty_tolerance
    last = len(desired) - 1
    for i, (q, tol, tol_in) in enumerate(zip(desired, tolerance_ticks, inner, strict=True)):
        # first-fit, order-preserving: a ladder that slid by less than the band keeps every order, one that
        # slid further re-aligns by one layer; size is checked after the match, so one order of the wrong
        # size cannot push the other layers off their matches
        key = sign * q.price_ticks
        low = key - tol_in
        while j < n and keys[j] < low:
            leftovers.append(candidates[j])
            j += 1
        if j >= n or keys[j] > key + tol:
            unmatched_desired.append(q)
            continue
        kj = keys[j]
        if kj > key and i < last and last - i >= n - j:
            # fewer orders than quotes remain, so some quote goes unmatched anyway: if this order sits
            # better on the next quote, leave the hole here (a missing touch layer is refilled at the
            # touch instead of the whole ladder sliding inward and the far end being placed)
            next_key = sign * desired[i + 1].price_ticks
            d_next = kj - next_key if kj >= next_key else next_key - kj
            if d_next < kj - key:
                unmatched_desired.append(q)
                continue
        order = candidates[j]
        j += 1
        wanted = q.qty_steps
        remaining = order.qty_steps - order.filled_steps
        if wanted * lo_frac <= remaining <= wanted * hi_frac or order.status not in ACTIONABLE:
            keep.append((q, order))
        elif use_modify:
            out.modify.append((order, q))
        else:
            out.cancel.append(order)
            out.place.append(q)
    leftovers.extend(candidates[j:])
    if use_modify and unmatched_desired:
        modifiable = [o for o in leftovers if o.status in ACTIONABLE and not o.reduce_only]
        # nearest desired gets the nearest modifiable order (both ordered near → far)
        side_sign = 1 if (unmatched_desired[0].side is Side.BUY) else -1
        modifiable.sort(key=lambda o: -side_sign * o.price_ticks)
        n = min(len(modifiable), len(unmatched_desired))
        for k in range(n):
            out.modify.append((modifiable[k], unmatched_desired[k]))
        used = {id(o) for o in modifiable[:n]}
        leftovers = [o for o in leftovers if id(o) not in used]
        unmatched_desired = unmatched_desired[n:]
    out.cancel.extend(leftovers)
    out.place.extend(unmatched_desired)
    return out


def diff_quotes(
    bids: Sequence[Quote],
    asks: Sequence[Quote],
    live: Sequence[LiveOrder],
    bid_tolerance_ticks: Sequence[float],
    ask_tolerance_ticks: Sequence[float],
    *,
    bid_inner_ticks: Sequence[float] | None = None,
    ask_inner_ticks: Sequence[float] | None = None,
    qty_tolerance: float = 0.0,
    use_modify: bool = True,
    pinned_side: Side | None = None,
) -> DiffPlan:
    """Diff a whole ladder (both sides) against the symbol's open orders (bands as in ``diff_side``;
    ``pinned_side``'s first quote is the pinned one)."""
    plan = DiffPlan()
    buy = Side.BUY
    live_bids = [o for o in live if o.side is buy]
    live_asks = [o for o in live if o.side is not buy]
    diff_side(
        bids,
        live_bids,
        bid_tolerance_ticks,
        inner_tolerance_ticks=bid_inner_ticks,
        qty_tolerance=qty_tolerance,
        use_modify=use_modify,
        plan=plan,
        pinned=pinned_side is Side.BUY,
    )
    diff_side(
        asks,
        live_asks,
        ask_tolerance_ticks,
        inner_tolerance_ticks=ask_inner_ticks,
        qty_tolerance=qty_tolerance,
        use_modify=use_modify,
        plan=plan,
        pinned=pinned_side is Side.SELL,
    )
    return plan


def keeps_all(
    bids: Sequence[Quote],
    asks: Sequence[Quote],
    live: Sequence[LiveOrder],
    bid_tolerance_ticks: Sequence[float],
    ask_tolerance_ticks: Sequence[float],
    bid_inner_ticks: Sequence[float],
    ask_inner_ticks: Sequence[float],
    qty_tolerance: float,
) -> list[tuple[Quote, LiveOrder]] | None:
    """The ``keep`` pairs when ``diff_quotes`` (no pinned side) would send nothing, else None.

    The steady-state check of every requote: each side has exactly one matchable quote order per desired
    quote and, in price order, order i sits within quote i's bands at a size within tolerance. Then
    first-fit matching pairs them one to one (with as many orders as quotes the hole rule cannot fire) and
    leaves nothing over, so the full diff would keep every order. Anything else (a grinding or cancelling
    order, a count mismatch, one order off its band) returns None and the caller runs the full diff.
    """
    if len(live) != len(bids) + len(asks):
        return None
    matchable = _MATCHABLE
    quote = OrderPurpose.QUOTE
    buy = Side.BUY
    live_bids: list[LiveOrder] = []
    live_asks: list[LiveOrder] = []
    for o in live:
        if o.status not in matchable or o.purpose is not quote or o.cancel_requested:
            return None
        (live_bids if o.side is buy else live_asks).append(o)
    if len(live_bids) != len(bids):
        return None
    live_bids.sort(key=_price_key, reverse=True)
    live_asks.sort(key=_price_key)
    lo_frac = 1.0 - qty_tolerance
    hi_frac = 1.0 + qty_tolerance
    actionable = ACTIONABLE
    keep: list[tuple[Quote, LiveOrder]] = []
    for q, o, out, inn in zip(bids, live_bids, bid_tolerance_ticks, bid_inner_ticks, strict=True):
        off = q.price_ticks - o.price_ticks  # > 0: the order is farther from the mid
        if off > out or -off > inn:
            return None
        rem = o.qty_steps - o.filled_steps
        wanted = q.qty_steps
        if not (wanted * lo_frac <= rem <= wanted * hi_frac) and o.status in actionable:
            return None
        keep.append((q, o))
    for q, o, out, inn in zip(asks, live_asks, ask_tolerance_ticks, ask_inner_ticks, strict=True):
        off = o.price_ticks - q.price_ticks
        if off > out or -off > inn:
            return None
        rem = o.qty_steps - o.filled_steps
        wanted = q.qty_steps
        if not (wanted * lo_frac <= rem <= wanted * hi_frac) and o.status in actionable:
            return None
        keep.append((q, o))
    return keep
