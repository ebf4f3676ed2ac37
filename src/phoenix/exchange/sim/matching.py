"""Per-symbol book: the market's L2 levels (from a feed) plus simulated participants' resting orders.

Queue model: a resting order joins the back of its price level, behind the displayed market size
(``queue_ahead``, base units). It advances when trades print at its price and when the level
shrinks: ``conservative`` assumes cancellations happen behind us unless the level shrinks below our
queue (``queue_ahead = min(queue_ahead, level)``); ``proportional`` assumes they are spread evenly
(``queue_ahead *= new / (old − traded)``, where ``traded`` is the printed volume at that price since the
level's last change: that part of the shrink is the trade, which already moved the queue). Orders
of simulated participants at one price keep FIFO order among themselves; ``queue_ahead`` is
non-decreasing along that FIFO.

Market size taken by participants' taker orders is remembered per price and kept out of later feed
updates at that price until the feed catches up (see ``Book.apply_levels``), so it is never filled
twice.

Levels are dicts keyed by int ticks; the best market price is tracked incrementally (a removed best
is rescanned once, lazily); participants' prices keep a small sorted list. Side index 0 = bids,
1 = asks. Market quantities are floats; own quantities are int steps.
"""

from __future__ import annotations

import heapq
from bisect import bisect_left, insort
from collections.abc import Iterable

from phoenix.core.types import OrderType, Side, TimeInForce
from phoenix.exchange.sim.sim_types import (
    AccountId,
    DepthDiffPublished,
    OrderView,
    SimOrderStatus,
    StpMode,
)

QTY_EPS = 1e-9
BID = 0
ASK = 1
QUEUE_MODELS = ("conservative", "proportional")


def side_index(side: Side) -> int:
    """0 for BUY (bids), 1 for SELL (asks)."""
    return BID if side is Side.BUY else ASK


class OwnOrder:
    """Mutable state of one simulated participant's order (engine-internal)."""

    __slots__ = (
        "account",
        "client_order_id",
        "executed_steps",
        "fill_ticks_steps",
        "modify_count",
        "order_id",
        "order_type",
        "orig_qty_steps",
        "price_ticks",
        "queue_ahead",
        "reduce_only",
        "resting",
        "side",
        "side_idx",
        "status",
        "stp_mode",
        "symbol",
        "time_in_force",
        "time_ms",
        "update_time_ms",
    )

    def __init__(
        self,
        *,
        order_id: int,
        account: AccountId,
        symbol: str,
        client_order_id: str,
        side: Side,
        order_type: OrderType,
        time_in_force: TimeInForce,
        price_ticks: int,
        qty_steps: int,
        reduce_only: bool,
        stp_mode: StpMode,
        now_ms: int,
    ) -> None:
        self.order_id = order_id
        self.account = account
        self.symbol = symbol
        self.client_order_id = client_order_id
        self.side = side
        self.side_idx = side_index(side)
        self.order_type = order_type
        self.time_in_force = time_in_force
        self.price_ticks = price_ticks
        self.orig_qty_steps = qty_steps
        self.executed_steps = 0
        self.fill_ticks_steps = 0  # sum of price_ticks * steps over fills (exact average price)
        self.resting = False  # True while in the book
        self.status = SimOrderStatus.NEW
        self.reduce_only = reduce_only
        self.stp_mode = stp_mode
        self.time_ms = now_ms
        self.update_time_ms = now_ms
        self.modify_count = 0
        self.queue_ahead = 0.0

    @property
    def remaining_steps(self) -> int:
        """Unfilled quantity in steps."""
        return self.orig_qty_steps - self.executed_steps

    def view(self, tick: float, step: float) -> OrderView:
        """Immutable snapshot for queries and events."""
        executed = self.executed_steps
        avg = self.fill_ticks_steps / executed * tick if executed > 0 else 0.0
        return OrderView(
            order_id=self.order_id,
            symbol=self.symbol,
            client_order_id=self.client_order_id,
            side=self.side,
            order_type=self.order_type,
            time_in_force=self.time_in_force,
            price_ticks=self.price_ticks,
            orig_qty_steps=self.orig_qty_steps,
            executed_qty_steps=executed,
            cum_quote_usdc=self.fill_ticks_steps * tick * step,
            avg_price=avg,
            status=self.status,
            reduce_only=self.reduce_only,
            stp_mode=self.stp_mode,
            time_ms=self.time_ms,
            update_time_ms=self.update_time_ms,
            modify_count=self.modify_count,
        )


class Book:
    """One symbol's book: market levels, resting participant orders with queue positions, update ids."""

    __slots__ = (
        "_best",
        "_changed",
        "_consumed",
        "_own_prices",
        "_stale",
        "_traded",
        "include_own",
        "last_diff_id",
        "mkt",
        "own",
        "own_steps",
        "proportional",
        "step",
        "symbol",
        "update_id",
    )

    def __init__(
        self, symbol: str, step: float, *, include_own: bool = True, queue_model: str = "conservative"
    ):
        if queue_model not in QUEUE_MODELS:
            raise ValueError(f"queue_model must be one of {QUEUE_MODELS}, got {queue_model!r}")
        self.symbol = symbol
        self.step = step
        self.include_own = include_own
        self.proportional = queue_model == "proportional"
        self.mkt: tuple[dict[int, float], dict[int, float]] = ({}, {})
        self._best: list[int | None] = [None, None]  # best market price per side, valid unless stale
        self._stale: list[bool] = [False, False]
        self.own: tuple[dict[int, list[OwnOrder]], dict[int, list[OwnOrder]]] = ({}, {})
        self.own_steps: tuple[dict[int, int], dict[int, int]] = ({}, {})
        self._own_prices: tuple[list[int], list[int]] = ([], [])  # ascending
        # changed prices since the last diff -> their current market qty (0.0 = no market size)
        self._changed: tuple[dict[int, float], dict[int, float]] = ({}, {})
        # printed volume per price since the level's last change (proportional model only)
        self._traded: tuple[dict[int, float], dict[int, float]] = ({}, {})
        # market size our takers took per price that the feed still shows (see ``apply_levels``)
        self._consumed: tuple[dict[int, float], dict[int, float]] = ({}, {})
        self.update_id = 0
        self.last_diff_id = 0

    # ------------------------------------------------------------------ market side

    def set_market_level(self, si: int, price: int, qty: float) -> None:
        """Set one market level to an absolute qty (≤ 0 removes) and re-rank queues at that price."""
        self.apply_levels(si, ((price, qty),))

    def note_trade(self, si: int, price: int, qty: float) -> None:
        """Remember a market print at a level holding our orders (proportional model only).

        The feed's next change at that price includes the printed volume; it must not be spread over
        the queue a second time.
        """
        if self.proportional and price in self.own[si]:
            traded = self._traded[si]
            traded[price] = traded.get(price, 0.0) + qty

    def apply_levels(self, si: int, levels: Iterable[tuple[int, float]]) -> None:
        """Set market levels to absolute quantities (the feed hot path, with locals bound once).

        Market size our takers consumed at a price (``consume_market``) is still in the feed, which
        knows nothing of our trades: it is subtracted from the feed's quantity at that price until
        the feed shows the level at or below what the book holds there (the feed caught up: the
        consumed lots left it too), or the level disappears, or a snapshot resets the book.

        The best price is tracked incrementally; removing it only marks it stale (recomputed once,
        on demand, by ``market_best``), so a batch that walks the book costs one scan at most.
        """
        book = self.mkt[si]
        changed = self._changed[si]
        own = self.own[si]
        get = book.get
        best = self._best[si]
        stale = self._stale[si]
        is_bid = si == BID
        traded = self._traded[si]
        consumed = self._consumed[si]
        eps = QTY_EPS
        for price, qty in levels:
            old = get(price)
            if consumed and price in consumed:
                if qty <= (old or 0.0) + eps:
                    del consumed[price]  # caught up (or gone): the feed is authoritative again
                else:
                    qty -= consumed[price]
            if traded and qty >= (old or 0.0):
                traded.pop(price, None)  # the level grew or reappeared: older prints explain nothing
            if qty > eps:
                if old is None:  # a new level: nobody queues behind market size there yet
                    if not stale and (best is None or (price > best if is_bid else price < best)):
                        best = price
                    book[price] = qty
                    changed[price] = qty
                    continue
                if old == qty:
                    continue
                book[price] = qty
                changed[price] = qty
                if qty > old or not own:
                    continue
            else:
                if old is None:
                    continue
                del book[price]
                if price == best:
                    stale = True
                qty = 0.0
                changed[price] = 0.0
                if not own:
                    continue
            orders = own.get(price)
            if orders:
                if self.proportional:
                    # the part of the shrink that a print at this price explains already moved us
                    base = old - traded.pop(price, 0.0) if traded else old
                    ratio = qty / base if base > qty else 1.0
                    for o in orders:
                        o.queue_ahead *= ratio
                        if o.queue_ahead > qty:
                            o.queue_ahead = qty
                else:
                    for o in orders:
                        if o.queue_ahead > qty:
                            o.queue_ahead = qty
        self._best[si] = best
        self._stale[si] = stale

    def clear_market(self) -> None:
        """Remove every market level (participants' orders stay; call ``clamp_queues`` after refilling)."""
        for si in (BID, ASK):
            self._changed[si].update(dict.fromkeys(self.mkt[si], 0.0))
            self.mkt[si].clear()
            self._traded[si].clear()
            self._consumed[si].clear()
            self._best[si] = None
            self._stale[si] = False

    def clamp_queues(self) -> None:
        """After a snapshot: no order can have more market size ahead than its level now shows."""
        for si in (BID, ASK):
            levels = self.mkt[si]
            for price, orders in self.own[si].items():
                qty = levels.get(price, 0.0)
                for o in orders:
                    if o.queue_ahead > qty:
                        o.queue_ahead = qty

    def consume_market(self, si: int, price: int, qty: float) -> None:
        """Remove traded market qty at a level (our taker took it); queues there move up by ``qty``.

        The qty is remembered so that later feed updates at that price do not show it again.
        """
        levels = self.mkt[si]
        consumed = self._consumed[si]
        consumed[price] = consumed.get(price, 0.0) + qty
        old = levels.get(price, 0.0)
        new = old - qty
        if new <= QTY_EPS:
            if price in levels:
                del levels[price]
                if price == self._best[si]:
                    self._stale[si] = True
            new = 0.0
        else:
            levels[price] = new
        self._changed[si][price] = new
        orders = self.own[si].get(price)
        if orders:
            for o in orders:
                o.queue_ahead = o.queue_ahead - qty if o.queue_ahead > qty else 0.0

    def market_best(self, si: int) -> int | None:
        """Best market-only price of a side."""
        if self._stale[si]:
            levels = self.mkt[si]
            self._best[si] = (max(levels) if si == BID else min(levels)) if levels else None
            self._stale[si] = False
        return self._best[si]

    # ------------------------------------------------------------------ own orders

    def add_own(self, order: OwnOrder) -> None:
        """Queue a resting order at the back of its level (behind the displayed market size)."""
        si = order.side_idx
        price = order.price_ticks
        orders = self.own[si].get(price)
        ahead = self.mkt[si].get(price, 0.0)
        if orders is None:
            self.own[si][price] = [order]
            insort(self._own_prices[si], price)
            self.own_steps[si][price] = order.remaining_steps
        else:
            if orders and orders[-1].queue_ahead > ahead:
                ahead = orders[-1].queue_ahead
            orders.append(order)
            self.own_steps[si][price] += order.remaining_steps
        order.queue_ahead = ahead
        order.resting = True
        if self.include_own:
            self._changed[si][price] = self.mkt[si].get(price, 0.0)

    def remove_own(self, order: OwnOrder) -> None:
        """Take a resting order out of the book (cancel, fill, expiry)."""
        si = order.side_idx
        price = order.price_ticks
        orders = self.own[si][price]
        orders.remove(order)
        order.resting = False
        if orders:
            self.own_steps[si][price] -= order.remaining_steps
        else:
            del self.own[si][price]
            del self.own_steps[si][price]
            self._traded[si].pop(price, None)
            prices = self._own_prices[si]
            del prices[bisect_left(prices, price)]
        if self.include_own:
            self._changed[si][price] = self.mkt[si].get(price, 0.0)

    def own_filled(self, order: OwnOrder, steps: int) -> None:
        """Account for ``steps`` filled of a resting order (call before updating the order itself)."""
        si = order.side_idx
        self.own_steps[si][order.price_ticks] -= steps
        if self.include_own:
            self._changed[si][order.price_ticks] = self.mkt[si].get(order.price_ticks, 0.0)

    def own_best(self, si: int) -> int | None:
        """Best price among resting participant orders of a side."""
        prices = self._own_prices[si]
        if not prices:
            return None
        return prices[-1] if si == BID else prices[0]

    def market_crosses_own(self) -> bool:
        """True if the market's opposite best reaches a resting participant order (bid ≥ ask)."""
        ob, oa = self._own_prices
        if ob:
            ask = self.market_best(ASK)
            if ask is not None and ob[-1] >= ask:
                return True
        if oa:
            bid = self.market_best(BID)
            if bid is not None and oa[0] <= bid:
                return True
        return False

    def own_orders_crossed(self, si: int, limit_price: int) -> list[OwnOrder]:
        """Resting orders of side ``si`` priced at or through ``limit_price`` (best first, FIFO per level)."""
        prices = self._own_prices[si]
        if not prices:
            return []
        own = self.own[si]
        out: list[OwnOrder] = []
        if si == BID:
            for price in reversed(prices):
                if price < limit_price:
                    break
                out.extend(own[price])
        else:
            for price in prices:
                if price > limit_price:
                    break
                out.extend(own[price])
        return out

    # ------------------------------------------------------------------ published view

    def best(self, si: int) -> int | None:
        """Best published price of a side (market and participants)."""
        m = self.market_best(si)
        o = self.own_best(si)
        if o is None:
            return m
        if m is None:
            return o
        if si == BID:
            return m if m >= o else o
        return m if m <= o else o

    def published_qty(self, si: int, price: int) -> float:
        """Displayed qty at a level: market plus (if published) participants' remaining qty."""
        qty = self.mkt[si].get(price, 0.0)
        if self.include_own:
            qty += self.own_steps[si].get(price, 0) * self.step
        return qty

    def top(self, si: int) -> tuple[int | None, float]:
        """(price, qty) of the published best level of a side."""
        if self.include_own:
            price = self.best(si)
        else:
            price = self.market_best(si)
        if price is None:
            return None, 0.0
        return price, self.published_qty(si, price)

    def top_of_book(self) -> tuple[int | None, float, int | None, float]:
        """(bid, bid qty, ask, ask qty) of the published book in one pass (the per-event hot path)."""
        bid = self._best[BID] if not self._stale[BID] else self.market_best(BID)
        ask = self._best[ASK] if not self._stale[ASK] else self.market_best(ASK)
        if self.include_own:
            ob = self._own_prices[BID]
            oa = self._own_prices[ASK]
            if ob and (bid is None or ob[-1] > bid):
                bid = ob[-1]
            if oa and (ask is None or oa[0] < ask):
                ask = oa[0]
            step = self.step
            bq = (
                self.mkt[BID].get(bid, 0.0) + self.own_steps[BID].get(bid, 0) * step
                if bid is not None
                else 0.0
            )
            aq = (
                self.mkt[ASK].get(ask, 0.0) + self.own_steps[ASK].get(ask, 0) * step
                if ask is not None
                else 0.0
            )
        else:
            bq = self.mkt[BID][bid] if bid is not None else 0.0
            aq = self.mkt[ASK][ask] if ask is not None else 0.0
        return bid, bq, ask, aq

    def level_prices(self, si: int, limit: int) -> list[int]:
        """Published prices of a side, best first, at most ``limit``."""
        prices: Iterable[int] = self.mkt[si]
        if self.include_own and self._own_prices[si]:
            merged = set(self.mkt[si])
            merged.update(self._own_prices[si])
            prices = merged
        if si == BID:
            return heapq.nlargest(limit, prices)
        return heapq.nsmallest(limit, prices)

    def levels(self, si: int, limit: int) -> tuple[tuple[int, float], ...]:
        """Published levels of a side, best first."""
        return tuple((p, self.published_qty(si, p)) for p in self.level_prices(si, limit))

    def has_changes(self) -> bool:
        """True if levels changed since the last diff."""
        return bool(self._changed[BID] or self._changed[ASK])

    def flush_diff(self, now_ms: int, emit: bool) -> DepthDiffPublished | None:
        """Close the current batch of level changes: bump update ids; return the diff if ``emit``."""
        tb, ta = self._changed
        n = len(tb) + len(ta)
        if n == 0:
            return None
        first = self.update_id + 1
        self.update_id += n
        prev = self.last_diff_id
        self.last_diff_id = self.update_id
        diff: DepthDiffPublished | None = None
        if emit:
            # the change maps hold the current market qty of every changed price (see ``_changed``)
            if self.include_own:
                # add participants' size (same arithmetic as published_qty: market + steps × step)
                step = self.step
                for changes, own_steps in ((tb, self.own_steps[BID]), (ta, self.own_steps[ASK])):
                    if len(own_steps) < len(changes):
                        for p, steps in own_steps.items():
                            if p in changes:
                                changes[p] += steps * step
                    else:
                        for p in changes:
                            own_at = own_steps.get(p)
                            if own_at is not None:
                                changes[p] += own_at * step
            bids = tuple(tb.items())
            asks = tuple(ta.items())
            diff = DepthDiffPublished(
                symbol=self.symbol,
                first_id=first,
                last_id=self.update_id,
                prev_id=prev,
                bids=bids,
                asks=asks,
                event_ms=now_ms,
            )
        tb.clear()
        ta.clear()
        return diff

    # ------------------------------------------------------------------ taker matching

    def available_steps(self, si: int, limit_price: int | None, qty_cap_steps: int) -> int:
        """Steps a taker could fill on side ``si`` (resting side) within ``limit_price`` (None = any)."""
        total = 0
        step = self.step
        for price in self._walk_prices(si, limit_price):
            total += int(self.mkt[si].get(price, 0.0) / step + 1e-6)
            total += self.own_steps[si].get(price, 0)
            if total >= qty_cap_steps:
                break
        return total

    def _walk_prices(self, si: int, limit_price: int | None) -> list[int]:
        # every published price of the resting side, best first, within the taker's limit
        prices = set(self.mkt[si])
        prices.update(self._own_prices[si])
        if si == ASK:
            ordered = sorted(prices)
            if limit_price is not None:
                ordered = [p for p in ordered if p <= limit_price]
        else:
            ordered = sorted(prices, reverse=True)
            if limit_price is not None:
                ordered = [p for p in ordered if p >= limit_price]
        return ordered

    def queue_plan_orders(self, si: int, price: int) -> list[float | OwnOrder]:
        """The level's queue front first: market segments as float qty, participant orders as themselves.

        Market qty ahead of each participant order (its ``queue_ahead``) comes before it; the rest of
        the market size comes last.
        """
        orders = self.own[si].get(price)
        market = self.mkt[si].get(price, 0.0)
        if not orders:
            return [market] if market > QTY_EPS else []
        out: list[float | OwnOrder] = []
        eaten = 0.0
        for o in orders:
            gap = o.queue_ahead - eaten
            if gap > market - eaten:
                gap = market - eaten
            if gap > QTY_EPS:
                out.append(gap)
                eaten += gap
            out.append(o)
        rest = market - eaten
        if rest > QTY_EPS:
            out.append(rest)
        return out
