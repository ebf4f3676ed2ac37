"""The backtest's exchange side: market book from the feed, our resting orders, fill models, money.

Fill models (``FillModel``):
- ``queue``: L2 queue position. A new order joins the back of its level; a ``QueueModel``
  (risk-averse or probabilistic) moves it forward on trades and depth changes at its price. Trades
  through our price fill us too. Each trade's quantity is a budget: our orders never get more fill from
  one trade than it printed, so displayed liquidity is never filled twice.
- ``trade_through``: only trades strictly through our price fill us (the most conservative reading).
- ``intensity``: for mid-only data: quotes at distance δ from the mid fill with intensity A·e^(−kδ).
In every model, a market book that moves through our resting price fills the order at its price (maker).
Taker orders walk the displayed book (L2) and consume it until the feed refreshes those levels, or pay
the ``ImpactModel`` (mid-only data).

All calls take the exchange time ``now_ns``; reports (order updates, fills, funding) carry ``report_ns``,
the time the driver will deliver them (exchange time + response latency).
"""

from __future__ import annotations

import contextlib
import math
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from phoenix.backtest.account import Account
from phoenix.backtest.intensity import ImpactModel, IntensityFillModel
from phoenix.backtest.queue import QueueModel, QueuePos, RiskAverseQueue
from phoenix.core.book import OrderBook
from phoenix.core.types import (
    Fill,
    FundingPaid,
    OrderFilled,
    OrderStatus,
    OrderType,
    OrderUpdated,
    Side,
    SymbolFilters,
    TimeInForce,
)

FUNDING_INTERVAL_NS = 8 * 3600 * 1_000_000_000
QTY_EPS = 1e-12

# Binance error codes used by the venue
ERR_POST_ONLY = -5022
ERR_UNKNOWN_ORDER_CANCEL = -2011
ERR_UNKNOWN_ORDER = -2013
ERR_MIN_NOTIONAL = -4164
ERR_QTY_TOO_SMALL = -4003
ERR_PRICE = -4013
ERR_MARGIN = -2019
ERR_REDUCE_ONLY = -2022
ERR_DUPLICATE_ID = -4116
ERR_PRICE_ABOVE_MARK_BAND = -4016
ERR_PRICE_BELOW_MARK_BAND = -4024

VenueReport = OrderUpdated | OrderFilled | FundingPaid


class FillModel(StrEnum):
    """How resting orders get filled."""

    QUEUE = "queue"
    TRADE_THROUGH = "trade_through"
    INTENSITY = "intensity"
    SIM = "sim"  # the simulated exchange's matching engine (phoenix.backtest.sim_venue)


@dataclass(slots=True)
class SimOrder:
    """One of our orders as the venue sees it."""

    coid: str
    exchange_id: int
    side: Side
    price_ticks: int
    qty_steps: int
    order_type: OrderType
    tif: TimeInForce
    reduce_only: bool
    placed_ns: int
    filled_steps: int = 0
    status: OrderStatus = OrderStatus.NEW
    queue: QueuePos = field(default_factory=lambda: QueuePos(0.0))
    last_eval_ns: int = 0

    @property
    def leaves_steps(self) -> int:
        """Unfilled quantity in steps."""
        return self.qty_steps - self.filled_steps


@dataclass(slots=True)
class VenueStats:
    """Counters of what happened at the venue."""

    orders_placed: int = 0
    orders_rejected: int = 0
    orders_filled_any: int = 0
    cancels: int = 0
    modifies: int = 0
    maker_fills: int = 0
    taker_fills: int = 0
    post_only_rejects: int = 0
    liquidations: int = 0


class SymbolVenue:
    """Market book + our orders of one symbol, with the configured fill model.

    Args:
        filters: Symbol filters.
        account: The shared account (money).
        fill_model: Fill model.
        queue_model: Queue model for ``FillModel.QUEUE``.
        intensity: Intensity model for ``FillModel.INTENSITY`` (required there).
        impact: Taker slippage model for mid-only data; None = walk the displayed book.
        rng: Seeded RNG (intensity draws).
        funding_rate: Funding rate used when the feed carries none (fraction per 8 h).
        max_gap_s: Intensity model: a longer silence in the data is a gap (no information, no fills).
    """

    def __init__(
        self,
        filters: SymbolFilters,
        account: Account,
        *,
        fill_model: FillModel = FillModel.QUEUE,
        queue_model: QueueModel | None = None,
        intensity: IntensityFillModel | None = None,
        impact: ImpactModel | None = None,
        rng: random.Random | None = None,
        funding_rate: float | None = None,
        ids: _Ids | None = None,
        max_gap_s: float = 2.0,
    ) -> None:
        if fill_model is FillModel.INTENSITY and intensity is None:
            raise ValueError("the intensity fill model needs an IntensityFillModel")
        self.symbol = filters.symbol
        self.filters = filters
        self.account = account
        self.fill_model = fill_model
        self.queue_model: QueueModel = queue_model or RiskAverseQueue()
        self.intensity = intensity
        self.impact = impact
        self.rng = rng or random.Random(0)
        self.book = OrderBook(filters.tick)
        self.orders: dict[str, SimOrder] = {}
        self.done: dict[str, SimOrder] = {}
        self._bids_at: dict[int, list[SimOrder]] = {}
        self._asks_at: dict[int, list[SimOrder]] = {}
        self._depleted: dict[tuple[int, int], float] = {}  # (side sign, price) -> qty our takers consumed
        self.stats = VenueStats()
        self.ids = ids or _Ids()
        self.mark_price = 0.0
        self._mark_feed = False
        self.funding_rate = funding_rate if funding_rate is not None else 0.0
        self._configured_funding = funding_rate
        self.next_funding_ns = 0
        self.last_mid = 0.0
        self.last_book_ns = 0
        self._siblings: Mapping[str, SymbolVenue] = {}
        self.max_gap_s = max_gap_s
        self._percent_up = float(filters.percent_up)
        self._percent_down = float(filters.percent_down)
        self.fill_mids: dict[int, float] = {}  # trade id -> mid just before the event that filled it
        self._ref_mid = 0.0

    # ------------------------------------------------------------------ helpers

    def mid(self) -> float | None:
        """Market mid (None until two-sided)."""
        return self.book.mid()

    def _index(self, side: Side) -> dict[int, list[SimOrder]]:
        return self._bids_at if side is Side.BUY else self._asks_at

    def _rest(self, o: SimOrder) -> None:
        self.orders[o.coid] = o
        self._index(o.side).setdefault(o.price_ticks, []).append(o)

    def _unrest(self, o: SimOrder) -> None:
        self.orders.pop(o.coid, None)
        idx = self._index(o.side)
        lst = idx.get(o.price_ticks)
        if lst is not None:
            with contextlib.suppress(ValueError):
                lst.remove(o)
            if not lst:
                del idx[o.price_ticks]
        self.done[o.coid] = o
        if len(self.done) > 4096:  # bounded memory: forget the oldest final orders
            for key in list(self.done)[:1024]:
                del self.done[key]

    def _update(self, o: SimOrder, report_ns: int, error_code: int | None = None) -> OrderUpdated:
        return OrderUpdated(
            symbol=self.symbol,
            ts_ns=report_ns,
            client_order_id=o.coid,
            status=o.status,
            side=o.side,
            price_ticks=o.price_ticks,
            qty_steps=o.qty_steps,
            filled_steps=o.filled_steps,
            exchange_order_id=o.exchange_id,
            error_code=error_code,
        )

    def _fill(
        self,
        o: SimOrder,
        steps: int,
        price_ticks: int,
        maker: bool,
        now_ns: int,
        report_ns: int,
        out: list[VenueReport],
    ) -> None:
        """Fill ``steps`` of ``o`` at ``price_ticks``; appends the fill and the order update."""
        self._fill_at(o, steps, price_ticks * self.filters.tick, price_ticks, maker, now_ns, report_ns, out)

    def _fill_at(
        self,
        o: SimOrder,
        steps: int,
        price: float,
        price_ticks: int,
        maker: bool,
        now_ns: int,
        report_ns: int,
        out: list[VenueReport],
    ) -> None:
        if steps <= 0:
            return
        fee, realized = self.account.apply_fill(self.symbol, o.side, price, steps, maker)
        if o.filled_steps == 0:
            self.stats.orders_filled_any += 1
        o.filled_steps += steps
        if maker:
            self.stats.maker_fills += 1
        else:
            self.stats.taker_fills += 1
        fill = Fill(
            symbol=self.symbol,
            client_order_id=o.coid,
            trade_id=self.ids.next_trade(),
            side=o.side,
            price_ticks=price_ticks,
            qty_steps=steps,
            maker=maker,
            fee_usdc=fee,
            realized_pnl_usdc=realized,
            ts_ns=now_ns,
        )
        self.fill_mids[fill.trade_id] = self._ref_mid or self.last_mid
        out.append(OrderFilled(fill=fill, ts_ns=report_ns))
        if o.filled_steps >= o.qty_steps:
            o.status = OrderStatus.FILLED
            self._unrest(o)
        else:
            o.status = OrderStatus.PARTIALLY_FILLED
        out.append(self._update(o, report_ns))

    # ------------------------------------------------------------------ market data

    def on_snapshot(
        self,
        bids: Iterable[tuple[int, float]],
        asks: Iterable[tuple[int, float]],
        now_ns: int,
        report_ns: int,
    ) -> list[VenueReport]:
        """Replace the market book; queues are clamped to the new displayed qty."""
        out: list[VenueReport] = []
        self._ref_mid = self.book.mid() or self.last_mid
        if self.fill_model is FillModel.INTENSITY:
            self._intensity_fills(now_ns, report_ns, out)
        self.book.apply_snapshot(bids, asks, now_ns)
        self._depleted.clear()
        for side, idx in ((Side.BUY, self._bids_at), (Side.SELL, self._asks_at)):
            for price, lst in idx.items():
                qty = self.book.qty_at(side, price)
                for o in lst:
                    o.queue.cum_trade_qty = 0.0
                    if o.queue.front_qty > qty:
                        o.queue.front_qty = qty
        self._after_book(now_ns, report_ns, out)
        return out

    def on_delta(
        self,
        bids: Iterable[tuple[int, float]],
        asks: Iterable[tuple[int, float]],
        now_ns: int,
        report_ns: int,
    ) -> list[VenueReport]:
        """Apply changed levels; queues at changed prices move per the queue model."""
        out: list[VenueReport] = []
        self._ref_mid = self.book.mid() or self.last_mid
        if self.fill_model is FillModel.INTENSITY:
            self._intensity_fills(now_ns, report_ns, out)
        book = self.book
        depleted = self._depleted
        if not isinstance(bids, list | tuple):
            bids = tuple(bids)  # read twice: here and by the book
        if not isinstance(asks, list | tuple):
            asks = tuple(asks)
        for side, levels, idx, sign in (
            (Side.BUY, bids, self._bids_at, 1),
            (Side.SELL, asks, self._asks_at, -1),
        ):
            if not idx and not depleted:
                continue  # no order of ours on this side and nothing depleted: no queue to move
            for price, qty in levels:
                lst = idx.get(price)
                if lst is not None:
                    prev = book.qty_at(side, price)
                    for o in lst:
                        self.queue_model.on_depth_change(o.queue, prev, qty)
                if depleted:
                    depleted.pop((sign, price), None)
        book.apply_delta(bids, asks, now_ns)
        self._after_book(now_ns, report_ns, out)
        return out

    def on_top(
        self, bid_ticks: int, bid_qty: float, ask_ticks: int, ask_qty: float, now_ns: int, report_ns: int
    ) -> list[VenueReport]:
        """Best bid/ask update (quotes-only data)."""
        return self.on_delta(((bid_ticks, bid_qty),), ((ask_ticks, ask_qty),), now_ns, report_ns)

    def _after_book(self, now_ns: int, report_ns: int, out: list[VenueReport]) -> None:
        self.last_book_ns = now_ns
        mid = self.book.mid()
        if mid is not None:
            self.last_mid = mid
            if not self._mark_feed:  # no mark price in the data: the mid is the mark
                self.mark_price = mid
        self._cross_fills(now_ns, report_ns, out)
        self._funding(now_ns, report_ns, out)

    def _cross_fills(self, now_ns: int, report_ns: int, out: list[VenueReport]) -> None:
        """Our resting orders that the market book moved through are filled at their price (maker)."""
        best_ask = self.book.best_ask_ticks
        if best_ask is not None and self._bids_at:
            crossed = [p for p in self._bids_at if p >= best_ask]
            if crossed:
                crossed.sort(reverse=True)
                for price in crossed:
                    for o in list(self._bids_at.get(price, ())):
                        self._fill(o, o.leaves_steps, o.price_ticks, True, now_ns, report_ns, out)
        best_bid = self.book.best_bid_ticks
        if best_bid is not None and self._asks_at:
            crossed = [p for p in self._asks_at if p <= best_bid]
            if crossed:
                crossed.sort()
                for price in crossed:
                    for o in list(self._asks_at.get(price, ())):
                        self._fill(o, o.leaves_steps, o.price_ticks, True, now_ns, report_ns, out)

    def on_trade(
        self, price_ticks: int, qty: float, aggressor: Side, now_ns: int, report_ns: int
    ) -> list[VenueReport]:
        """A market trade: advances queues at its price and fills our orders it reaches (budget = its qty)."""
        out: list[VenueReport] = []
        self._ref_mid = self.book.mid() or self.last_mid
        if self.fill_model is FillModel.INTENSITY:
            return out
        # a SELL aggressor hits bids (our buys), a BUY aggressor lifts asks (our sells)
        idx = self._bids_at if aggressor is Side.SELL else self._asks_at
        if not idx:
            return out
        budget = qty
        step = self.filters.step
        if aggressor is Side.SELL:
            prices = sorted((p for p in idx if p >= price_ticks), reverse=True)
        else:
            prices = sorted(p for p in idx if p <= price_ticks)
        queue_mode = self.fill_model is FillModel.QUEUE
        for price in prices:
            through = price != price_ticks
            for o in list(idx.get(price, ())):
                if budget <= QTY_EPS:
                    break
                if through:
                    reach = budget
                elif queue_mode:
                    reach = self.queue_model.on_trade(o.queue, qty)
                    if reach > budget:
                        reach = budget
                else:
                    continue
                steps = min(o.leaves_steps, int(reach / step + 1e-9))
                if steps > 0:
                    budget -= steps * step
                    self._fill(o, steps, o.price_ticks, True, now_ns, report_ns, out)
        return out

    def on_mark(
        self, mark_price: float, funding_rate: float, next_funding_ms: int, now_ns: int, report_ns: int
    ) -> list[VenueReport]:
        """Recorded mark price and funding rate (used unless a funding rate is configured)."""
        out: list[VenueReport] = []
        self._ref_mid = self.book.mid() or self.last_mid
        if self.fill_model is FillModel.INTENSITY:
            self._intensity_fills(now_ns, report_ns, out)
        self._funding(now_ns, report_ns, out)
        self.mark_price = mark_price
        self._mark_feed = True
        if self._configured_funding is None:
            self.funding_rate = funding_rate
            if next_funding_ms > 0:
                self.next_funding_ns = next_funding_ms * 1_000_000
        return out

    def _funding(self, now_ns: int, report_ns: int, out: list[VenueReport]) -> None:
        if self.next_funding_ns == 0:
            self.next_funding_ns = (now_ns // FUNDING_INTERVAL_NS + 1) * FUNDING_INTERVAL_NS
            return
        while now_ns >= self.next_funding_ns:
            mark = self.mark_price or self.last_mid
            if mark > 0 and self.account.symbols[self.symbol].qty_steps != 0:
                amount = self.account.apply_funding(self.symbol, mark, self.funding_rate)
                out.append(FundingPaid(symbol=self.symbol, ts_ns=report_ns, amount_usdc=amount))
            self.next_funding_ns += FUNDING_INTERVAL_NS

    def _intensity_fills(self, now_ns: int, report_ns: int, out: list[VenueReport]) -> None:
        """Poisson fills of resting quotes over the time since each was last evaluated, at the current mid."""
        model = self.intensity
        mid = self.book.mid()
        if model is None or mid is None or not self.orders:
            return
        step = self.filters.step
        tick = self.filters.tick
        rng = self.rng
        for o in sorted(self.orders.values(), key=lambda x: x.exchange_id):
            start = o.last_eval_ns if o.last_eval_ns > o.placed_ns else o.placed_ns
            dt_s = (now_ns - start) * 1e-9
            o.last_eval_ns = now_ns
            if dt_s <= 0 or dt_s > self.max_gap_s:
                continue
            delta = model.distance(o.side.sign, o.price_ticks * tick, mid)
            if rng.random() < model.fill_probability(delta, dt_s):
                steps = o.leaves_steps
                if model.mean_fill_qty is not None:
                    size = rng.expovariate(1.0 / model.mean_fill_qty)
                    steps = min(steps, max(1, int(size / step)))
                self._fill(o, steps, o.price_ticks, True, now_ns, report_ns, out)

    # ------------------------------------------------------------------ trading

    def place(
        self,
        coid: str,
        side: Side,
        price_ticks: int,
        qty_steps: int,
        order_type: OrderType,
        tif: TimeInForce,
        reduce_only: bool,
        now_ns: int,
        report_ns: int,
    ) -> list[VenueReport]:
        """A new order reaches the matching engine."""
        out: list[VenueReport] = []
        self._ref_mid = self.book.mid() or self.last_mid
        self.stats.orders_placed += 1
        o = SimOrder(
            coid=coid,
            exchange_id=self.ids.next_order(),
            side=side,
            price_ticks=price_ticks,
            qty_steps=qty_steps,
            order_type=order_type,
            tif=tif,
            reduce_only=reduce_only,
            placed_ns=now_ns,
            last_eval_ns=now_ns,
        )
        err = self._validate(o)
        if err is None and reduce_only:
            pos = self.account.symbols[self.symbol].qty_steps
            reducible = -pos if side is Side.BUY else pos
            if reducible <= 0:
                err = ERR_REDUCE_ONLY
            else:
                o.qty_steps = min(qty_steps, reducible)
        if err is None and order_type is OrderType.LIMIT and tif is TimeInForce.GTX and self._would_take(o):
            err = ERR_POST_ONLY
            self.stats.post_only_rejects += 1
        if err is None and not reduce_only and not self._margin_ok(o):
            err = ERR_MARGIN
        if err is not None:
            self.stats.orders_rejected += 1
            o.status = OrderStatus.REJECTED
            self.done[o.coid] = o
            out.append(self._update(o, report_ns, err))
            return out
        if order_type is OrderType.MARKET or self._would_take(o):
            self._take(o, now_ns, report_ns, out)
            if o.leaves_steps > 0:
                if order_type is OrderType.MARKET or tif in (TimeInForce.IOC, TimeInForce.FOK):
                    o.status = OrderStatus.EXPIRED
                    self.done[o.coid] = o
                    out.append(self._update(o, report_ns))
                    return out
            else:
                return out
        o.queue = QueuePos(self._queue_ahead(o))
        o.status = OrderStatus.NEW if o.filled_steps == 0 else OrderStatus.PARTIALLY_FILLED
        self._rest(o)
        out.insert(0, self._update(o, report_ns))
        return out

    def _validate(self, o: SimOrder) -> int | None:
        f = self.filters
        if o.coid in self.orders:
            return ERR_DUPLICATE_ID
        if o.qty_steps < max(1, f.min_qty_steps):
            return ERR_QTY_TOO_SMALL
        if o.order_type is OrderType.LIMIT:
            if o.price_ticks <= 0:
                return ERR_PRICE
            if not o.reduce_only and f.notional_usdc(o.price_ticks, o.qty_steps) < f.min_notional_usdc - 1e-9:
                return ERR_MIN_NOTIONAL
            mark = self.mark_price
            if mark > 0:  # PERCENT_PRICE: buys at most mark × up, sells at least mark × down
                price = o.price_ticks * f.tick
                if o.side is Side.BUY and price > mark * self._percent_up:
                    return ERR_PRICE_ABOVE_MARK_BAND
                if o.side is Side.SELL and price < mark * self._percent_down:
                    return ERR_PRICE_BELOW_MARK_BAND
        return None

    def _would_take(self, o: SimOrder) -> bool:
        if o.side is Side.BUY:
            ask = self.book.best_ask_ticks
            return ask is not None and o.price_ticks >= ask
        bid = self.book.best_bid_ticks
        return bid is not None and o.price_ticks <= bid

    def _margin_ok(self, o: SimOrder) -> bool:
        marks = {s: (v.mark_price or v.last_mid) for s, v in self.account_venues().items()}
        price = o.price_ticks * self.filters.tick if o.order_type is OrderType.LIMIT else self.last_mid
        open_notional = sum(
            x.leaves_steps * self.filters.step * x.price_ticks * self.filters.tick
            for x in self.orders.values()
        )
        need = (open_notional + o.qty_steps * self.filters.step * price) / self.account.leverage
        equity = self.account.equity_usdc(marks)
        return equity - self.account.initial_margin_usdc(marks) >= need

    def account_venues(self) -> Mapping[str, SymbolVenue]:
        """Venues sharing the account (set by ``Venue``); this symbol alone if standalone."""
        return self._siblings if self._siblings else {self.symbol: self}

    def _queue_ahead(self, o: SimOrder) -> float:
        ahead = self.book.qty_at(o.side, o.price_ticks)
        for other in self._index(o.side).get(o.price_ticks, ()):
            ahead += other.leaves_steps * self.filters.step
        return ahead

    def _take(self, o: SimOrder, now_ns: int, report_ns: int, out: list[VenueReport]) -> None:
        """Execute the taker part of ``o``: walk the displayed book (or pay the impact model)."""
        step = self.filters.step
        tick = self.filters.tick
        if self.impact is not None:
            mid = self.book.mid() or self.last_mid
            if mid <= 0:
                return
            steps = o.leaves_steps
            notional = steps * step * mid
            price = self.impact.fill_price(o.side.sign, mid, notional)
            if o.order_type is OrderType.LIMIT:
                limit = o.price_ticks * tick
                if (o.side is Side.BUY and price > limit) or (o.side is Side.SELL and price < limit):
                    return
            self._fill_at(o, steps, price, self.filters.price_to_ticks(price), False, now_ns, report_ns, out)
            return
        opp = o.side.opposite
        sign = opp.sign
        limit_ticks = o.price_ticks if o.order_type is OrderType.LIMIT else None
        for level, qty in self.book.levels(opp):
            if limit_ticks is not None and (
                (o.side is Side.BUY and level > limit_ticks) or (o.side is Side.SELL and level < limit_ticks)
            ):
                break
            used = self._depleted.get((sign, level), 0.0)
            avail = qty - used
            steps = min(o.leaves_steps, int(avail / step + 1e-9))
            if steps <= 0:
                continue
            self._depleted[(sign, level)] = used + steps * step
            self._fill(o, steps, level, False, now_ns, report_ns, out)
            if o.leaves_steps <= 0:
                break

    def cancel(self, coid: str, now_ns: int, report_ns: int) -> list[VenueReport]:
        """Cancel one order; -2011 (with the order's final state when known) if it is no longer open."""
        o = self.orders.get(coid)
        if o is None:
            known = self.done.get(coid)
            if known is not None:
                return [self._update(known, report_ns, ERR_UNKNOWN_ORDER_CANCEL)]
            return [
                OrderUpdated(
                    symbol=self.symbol,
                    ts_ns=report_ns,
                    client_order_id=coid,
                    status=OrderStatus.REJECTED,
                    side=Side.BUY,
                    price_ticks=0,
                    qty_steps=0,
                    error_code=ERR_UNKNOWN_ORDER_CANCEL,
                )
            ]
        self.stats.cancels += 1
        o.status = OrderStatus.CANCELED
        self._unrest(o)
        return [self._update(o, report_ns)]

    def cancel_all(self, now_ns: int, report_ns: int) -> list[VenueReport]:
        """Cancel every open order of this symbol."""
        out: list[VenueReport] = []
        for coid in sorted(self.orders, key=lambda c: self.orders[c].exchange_id):
            out.extend(self.cancel(coid, now_ns, report_ns))
        return out

    def modify(
        self, coid: str, price_ticks: int, qty_steps: int, now_ns: int, report_ns: int
    ) -> list[VenueReport]:
        """Amend price/qty in place: back of the (new) level's queue; a taking GTX is cancelled."""
        o = self.orders.get(coid)
        if o is None:
            known = self.done.get(coid)
            if known is not None:
                return [self._update(known, report_ns, ERR_UNKNOWN_ORDER)]
            return self.cancel(coid, now_ns, report_ns)
        self.stats.modifies += 1
        self._unrest(o)
        self.done.pop(coid, None)
        o.price_ticks = price_ticks
        o.qty_steps = qty_steps
        if qty_steps <= o.filled_steps:
            o.status = OrderStatus.CANCELED
            self.done[coid] = o
            return [self._update(o, report_ns)]
        if o.tif is TimeInForce.GTX and self._would_take(o):
            o.status = OrderStatus.EXPIRED
            self.done[coid] = o
            self.stats.post_only_rejects += 1
            return [self._update(o, report_ns, ERR_POST_ONLY)]
        o.placed_ns = now_ns
        o.last_eval_ns = now_ns
        o.queue = QueuePos(self._queue_ahead(o))
        self._rest(o)
        return [self._update(o, report_ns)]

    def flatten(self, coid: str, now_ns: int, report_ns: int) -> list[VenueReport]:
        """Close the whole position with a reduce-only market order."""
        pos = self.account.symbols[self.symbol].qty_steps
        if pos == 0:
            return []
        side = Side.SELL if pos > 0 else Side.BUY
        return self.place(coid, side, 0, abs(pos), OrderType.MARKET, TimeInForce.IOC, True, now_ns, report_ns)


class _Ids:
    """Exchange order ids and trade ids, shared across symbols."""

    __slots__ = ("order", "trade")

    def __init__(self) -> None:
        self.order = 1_000_000
        self.trade = 5_000_000

    def next_order(self) -> int:
        self.order += 1
        return self.order

    def next_trade(self) -> int:
        self.trade += 1
        return self.trade


def liquidation_check(account: Account, venues: Mapping[str, SymbolVenue]) -> bool:
    """True when equity fell below maintenance margin (the exchange would liquidate)."""
    marks = {s: (v.mark_price or v.last_mid) for s, v in venues.items()}
    maint = account.maint_margin_usdc(marks)
    return maint > 0 and account.equity_usdc(marks) < maint and not math.isnan(maint)
