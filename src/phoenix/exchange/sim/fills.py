"""Fills and order lifecycle of the simulated exchange: taker matching, maker fills, events, funding.

``Settlement`` owns everything that happens once an order meets liquidity: the taker walk in
price-time priority (market size ahead of each participant order, then the order), self-trade
prevention, reduce-only caps and knock-outs, fills booked into accounts (fees, realised PnL,
user trades, income), ORDER_TRADE_UPDATE / ACCOUNT_UPDATE events, depth diffs and bookTicker at the
end of each call, and funding settlement. ``engine.SimExchange`` validates requests and calls it.
"""

from __future__ import annotations

from collections import deque

from phoenix.core.types import Side, TimeInForce
from phoenix.exchange.sim.account import Account
from phoenix.exchange.sim.matching import ASK, BID, Book, OwnOrder
from phoenix.exchange.sim.sim_types import (
    AccountUpdatePublished,
    BookTickerPublished,
    ExecType,
    ExpiryReason,
    FeeSchedule,
    FundingRecord,
    IncomeRecord,
    OrderUpdatePublished,
    PublicTrade,
    SimEvent,
    SimOrderStatus,
    StpMode,
    TradePublished,
    UserTrade,
)
from phoenix.exchange.sim.symbols import SimSymbolSpec

_RECENT_TRADES = 1000


class MarketState:
    """Per-symbol state of the exchange: book, mark/funding, last trade, trade ids, top of book."""

    __slots__ = (
        "book",
        "filters",
        "funding",
        "funding_rate",
        "index_price",
        "last_funding_ms",
        "last_price_ticks",
        "last_qty",
        "maker_rate",
        "mark_price",
        "market_max_qty_steps",
        "max_price_ticks",
        "max_qty_steps",
        "min_price_ticks",
        "next_funding_ms",
        "next_trade_id",
        "percent_down",
        "percent_up",
        "spec",
        "step",
        "symbol",
        "taker_rate",
        "tick",
        "time_ms",
        "top",
        "trades",
    )

    def __init__(self, spec: SimSymbolSpec, fees: FeeSchedule, include_own: bool, queue_model: str) -> None:
        self.spec = spec
        self.filters = spec.filters
        self.symbol = spec.symbol
        self.tick = spec.filters.tick
        self.step = spec.filters.step
        # filter bounds on the grid, computed once (the spec derives them from Decimals per access)
        self.min_price_ticks = spec.min_price_ticks
        self.max_price_ticks = spec.max_price_ticks
        self.max_qty_steps = spec.max_qty_steps
        self.market_max_qty_steps = spec.market_max_qty_steps
        self.percent_up = float(spec.filters.percent_up)
        self.percent_down = float(spec.filters.percent_down)
        self.book = Book(spec.symbol, self.step, include_own=include_own, queue_model=queue_model)
        self.maker_rate, self.taker_rate = fees.rates(spec.symbol)
        self.mark_price = 0.0
        self.index_price = 0.0
        self.funding_rate = 0.0
        self.next_funding_ms = 0
        self.last_funding_ms = 0
        self.last_price_ticks: int | None = None
        self.last_qty = 0.0
        self.next_trade_id = 1_000_000
        self.trades: deque[PublicTrade] = deque(maxlen=_RECENT_TRADES)
        self.funding: list[FundingRecord] = []
        self.time_ms = 0
        self.top: tuple[int | None, float, int | None, float] = (None, 0.0, None, 0.0)

    def ref_price(self) -> float:
        """Mark price, else book mid, else last trade, else 0."""
        if self.mark_price > 0.0:
            return self.mark_price
        bid = self.book.best(BID)
        ask = self.book.best(ASK)
        if bid is not None and ask is not None:
            return (bid + ask) * 0.5 * self.tick
        if self.last_price_ticks is not None:
            return self.last_price_ticks * self.tick
        return 0.0


def effective_stp(order: OwnOrder) -> StpMode:
    """Self-trade prevention mode the matcher applies to a taker: NONE for FOK.

    Binance applies ``selfTradePreventionMode`` to IOC/GTC/GTD only (protocol doc §3.3): a FOK order
    trades with the account's own resting orders, so they count towards the FOK's fillable size.
    """
    return StpMode.NONE if order.time_in_force is TimeInForce.FOK else order.stp_mode


def reduce_cap(acct: Account, symbol: str, side: Side) -> int:
    """Steps a reduce-only order of ``side`` may still fill (0 = it would open or increase the position)."""
    pos = acct.positions.get(symbol)
    q = pos.qty_steps if pos is not None else 0
    if side is Side.BUY:
        return -q if q < 0 else 0
    return q if q > 0 else 0


class Settlement:
    """Matching walk, fills, order lifecycle events and funding over a shared set of accounts.

    Args:
        accounts: The exchange's accounts by id (shared, not copied).
        emit: Produce public events (trades, depth diffs, bookTicker).
    """

    def __init__(self, accounts: dict[int, Account], emit: bool) -> None:
        self.accounts = accounts
        self.emit = emit
        self.next_tran_id = 1

    def take(
        self, m: MarketState, order: OwnOrder, limit: int | None, now_ms: int, events: list[SimEvent]
    ) -> int:
        """Taker phase: match ``order`` against the opposite side in price-time priority.

        Returns 0, or the expiry reason that must end the order (STP taker expiry, reduce-only).
        """
        book = m.book
        rsi = 1 - order.side_idx
        step = m.step
        acct = self.accounts[order.account]
        stp = effective_stp(order)
        while order.remaining_steps > 0:
            price = book.best(rsi)
            if price is None:
                break
            if limit is not None and (price > limit if rsi == ASK else price < limit):
                break
            progressed = False
            for o in book.queue_plan_orders(rsi, price):
                want = order.remaining_steps
                if order.reduce_only:
                    cap = reduce_cap(acct, m.symbol, order.side)
                    if cap == 0:
                        return ExpiryReason.REDUCE_ONLY
                    want = min(want, cap)
                if isinstance(o, float):  # market liquidity segment
                    steps = int(o / step + 1e-6)
                    if steps > want:
                        steps = want
                        taken = steps * step
                    else:
                        taken = o  # the whole segment, sub-step dust included
                    book.consume_market(rsi, price, taken)
                    progressed = True
                    if steps > 0:
                        self.taker_fill(m, order, price, steps, None, now_ms, events)
                else:
                    if not o.status.is_open:
                        continue
                    if o.account == order.account and stp is not StpMode.NONE:
                        mode = stp
                        if mode is StpMode.EXPIRE_MAKER or mode is StpMode.EXPIRE_BOTH:
                            self.close(m, o, SimOrderStatus.EXPIRED_IN_MATCH, ExecType.EXPIRED,
                                        ExpiryReason.STP, now_ms, events)  # fmt: skip
                            progressed = True
                        if mode is StpMode.EXPIRE_TAKER or mode is StpMode.EXPIRE_BOTH:
                            return ExpiryReason.IOC_REMAINDER_STP
                        continue
                    steps = min(want, o.remaining_steps)
                    if o.reduce_only:
                        cap_o = reduce_cap(self.accounts[o.account], m.symbol, o.side)
                        if cap_o == 0:
                            self.close(m, o, SimOrderStatus.EXPIRED, ExecType.EXPIRED,
                                        ExpiryReason.REDUCE_ONLY, now_ms, events)  # fmt: skip
                            progressed = True
                            continue
                        steps = min(steps, cap_o)
                    self.taker_fill(m, order, price, steps, o, now_ms, events)
                    progressed = True
                if order.remaining_steps == 0:
                    break
            if not progressed:
                break
        return 0

    def taker_fill(
        self,
        m: MarketState,
        taker: OwnOrder,
        price: int,
        steps: int,
        maker: OwnOrder | None,
        now_ms: int,
        events: list[SimEvent],
    ) -> None:
        """One match of a taker against market size (``maker`` None) or a resting order; prints a trade."""
        trade_id = m.next_trade_id
        m.next_trade_id += 1
        qty = steps * m.step
        m.last_price_ticks = price
        m.last_qty = qty
        buyer_is_maker = taker.side is Side.SELL
        if self.emit:
            m.trades.append(PublicTrade(trade_id=trade_id, price_ticks=price, qty=qty,
                                        buyer_is_maker=buyer_is_maker, time_ms=now_ms))  # fmt: skip
            events.append(
                TradePublished(
                    symbol=m.symbol,
                    trade_id=trade_id,
                    price_ticks=price,
                    qty=qty,
                    buyer_is_maker=buyer_is_maker,
                    event_ms=now_ms,
                )
            )
        if maker is not None:
            self.apply_fill(m, maker, price, steps, True, trade_id, now_ms, events)
        self.apply_fill(m, taker, price, steps, False, trade_id, now_ms, events)

    def maker_fill(
        self, m: MarketState, order: OwnOrder, steps: int, now_ms: int, events: list[SimEvent]
    ) -> None:
        """A resting order filled by market flow (feed trade or a market that crossed it)."""
        if order.reduce_only:
            cap = reduce_cap(self.accounts[order.account], m.symbol, order.side)
            if cap == 0:
                reason = ExpiryReason.REDUCE_ONLY
                self.close(m, order, SimOrderStatus.EXPIRED, ExecType.EXPIRED, reason, now_ms, events)
                return
            steps = min(steps, cap)
        trade_id = m.next_trade_id
        m.next_trade_id += 1
        self.apply_fill(m, order, order.price_ticks, steps, True, trade_id, now_ms, events)

    def fill_crossed(self, m: MarketState, now_ms: int, events: list[SimEvent]) -> None:
        """Fill resting orders that the market's opposite side now reaches (the market moved through them)."""
        book = m.book
        if not book.market_crosses_own():
            return
        ask = book.market_best(ASK)
        if ask is not None and book.own_steps[BID]:
            for o in book.own_orders_crossed(BID, ask):
                if o.status.is_open:
                    self.cross_fill(m, o, now_ms, events)
        bid = book.market_best(BID)
        if bid is not None and book.own_steps[ASK]:
            for o in book.own_orders_crossed(ASK, bid):
                if o.status.is_open:
                    self.cross_fill(m, o, now_ms, events)

    def cross_fill(self, m: MarketState, order: OwnOrder, now_ms: int, events: list[SimEvent]) -> None:
        """Fill a resting order the market moved through, publishing the print."""
        steps = order.remaining_steps
        if self.emit:
            # the crossing flow traded with us: publish the print
            qty = steps * m.step
            trade_id = m.next_trade_id
            m.next_trade_id += 1
            m.last_price_ticks = order.price_ticks
            m.last_qty = qty
            buyer_is_maker = order.side is Side.BUY
            m.trades.append(PublicTrade(trade_id=trade_id, price_ticks=order.price_ticks, qty=qty,
                                        buyer_is_maker=buyer_is_maker, time_ms=now_ms))  # fmt: skip
            events.append(
                TradePublished(
                    symbol=m.symbol,
                    trade_id=trade_id,
                    price_ticks=order.price_ticks,
                    qty=qty,
                    buyer_is_maker=buyer_is_maker,
                    event_ms=now_ms,
                )
            )
        self.maker_fill(m, order, steps, now_ms, events)

    def apply_fill(
        self,
        m: MarketState,
        order: OwnOrder,
        price: int,
        steps: int,
        maker: bool,
        trade_id: int,
        now_ms: int,
        events: list[SimEvent],
    ) -> None:
        """Book one fill: order state, account (position, fees, PnL), user trade, income, events."""
        acct = self.accounts[order.account]
        tick = m.tick
        step = m.step
        if order.resting:
            m.book.own_filled(order, steps)
        acct.order_filled(order, steps, tick, step)
        realized, commission = acct.apply_fill(
            m.symbol, order.side, price, steps, tick, step, m.maker_rate if maker else m.taker_rate, now_ms
        )
        order.executed_steps += steps
        order.fill_ticks_steps += price * steps
        order.update_time_ms = now_ms
        if order.remaining_steps == 0:
            order.status = SimOrderStatus.FILLED
            if order.resting:
                m.book.remove_own(order)
            acct.untrack_open(order, tick, step)
            acct.retire(order)
        else:
            order.status = SimOrderStatus.PARTIALLY_FILLED
        quote = price * tick * steps * step
        acct.trades.setdefault(m.symbol, []).append(
            UserTrade(
                trade_id=trade_id,
                order_id=order.order_id,
                symbol=m.symbol,
                side=order.side,
                price_ticks=price,
                qty_steps=steps,
                quote_qty_usdc=quote,
                realized_pnl_usdc=realized,
                commission_usdc=commission,
                maker=maker,
                time_ms=now_ms,
            )
        )
        if realized != 0.0:
            self.income(acct, m.symbol, "REALIZED_PNL", realized, now_ms, trade_id)
        if commission != 0.0:
            self.income(acct, m.symbol, "COMMISSION", -commission, now_ms, trade_id)
        so = acct.symbol_orders(m.symbol)
        events.append(
            OrderUpdatePublished(
                account=acct.id,
                order=order.view(tick, step),
                exec_type=ExecType.TRADE,
                last_qty_steps=steps,
                last_price_ticks=price,
                commission_usdc=commission,
                realized_pnl_usdc=realized,
                maker=maker,
                trade_id=trade_id,
                expiry_reason=0,
                bid_notional_usdc=so.bid_notional_usdc,
                ask_notional_usdc=so.ask_notional_usdc,
                event_ms=now_ms,
            )
        )
        events.append(
            AccountUpdatePublished(
                account=acct.id,
                reason="ORDER",
                asset="USDC",
                wallet_usdc=acct.wallet_usdc,
                balance_change_usdc=0.0,
                positions=(acct.position_change(m.symbol, m.ref_price(), step),),
                symbol=m.symbol,
                event_ms=now_ms,
            )
        )
        self.sweep_reduce_only(acct, m, order, now_ms, events)

    def sweep_reduce_only(
        self, acct: Account, m: MarketState, filled: OwnOrder, now_ms: int, events: list[SimEvent]
    ) -> None:
        """After a position change, expire resting reduce-only orders that would now open or increase it."""
        so = acct.open.get(m.symbol)
        if so is None or not so.by_client_id:
            return
        stale = [
            o
            for o in so.by_client_id.values()
            if o.reduce_only and o is not filled and o.resting and reduce_cap(acct, m.symbol, o.side) == 0
        ]
        for o in stale:
            self.close(
                m, o, SimOrderStatus.EXPIRED, ExecType.EXPIRED, ExpiryReason.REDUCE_ONLY, now_ms, events
            )

    def income(
        self, acct: Account, symbol: str, kind: str, amount: float, now_ms: int, trade_id: int | None
    ) -> None:
        """Append one income record (REALIZED_PNL, COMMISSION, FUNDING_FEE) with a fresh tran id."""
        acct.income.append(
            IncomeRecord(
                tran_id=self.next_tran_id,
                symbol=symbol,
                income_type=kind,
                income_usdc=amount,
                time_ms=now_ms,
                trade_id=trade_id,
            )
        )
        self.next_tran_id += 1

    # ------------------------------------------------------------------ lifecycle and events

    def close(
        self,
        m: MarketState,
        order: OwnOrder,
        status: SimOrderStatus,
        exec_type: ExecType,
        reason: int,
        now_ms: int,
        events: list[SimEvent],
    ) -> None:
        """End an open order (cancel or expiry): out of the book, out of the open set, one event."""
        if order.resting:
            m.book.remove_own(order)
        acct = self.accounts[order.account]
        acct.untrack_open(order, m.tick, m.step)
        acct.retire(order)
        order.status = status
        order.update_time_ms = now_ms
        self.order_event(m, order, exec_type, now_ms, events, reason)

    def order_event(
        self,
        m: MarketState,
        order: OwnOrder,
        exec_type: ExecType,
        now_ms: int,
        events: list[SimEvent],
        reason: int = 0,
    ) -> None:
        """Append a non-fill ORDER_TRADE_UPDATE (NEW, CANCELED, EXPIRED, AMENDMENT) for ``order``."""
        so = self.accounts[order.account].symbol_orders(m.symbol)
        events.append(
            OrderUpdatePublished(
                account=order.account,
                order=order.view(m.tick, m.step),
                exec_type=exec_type,
                last_qty_steps=0,
                last_price_ticks=0,
                commission_usdc=0.0,
                realized_pnl_usdc=0.0,
                maker=False,
                trade_id=0,
                expiry_reason=reason,
                bid_notional_usdc=so.bid_notional_usdc,
                ask_notional_usdc=so.ask_notional_usdc,
                event_ms=now_ms,
            )
        )

    def cancel_all(self, acct: Account, m: MarketState, now_ms: int, events: list[SimEvent]) -> None:
        """Cancel every open order of the account on the market (dead-man switch and DELETE allOpenOrders)."""
        so = acct.open.get(m.symbol)
        if so is None:
            return
        for order in sorted(so.by_client_id.values(), key=lambda o: o.order_id):
            self.close(m, order, SimOrderStatus.CANCELED, ExecType.CANCELED, 0, now_ms, events)
        self.finish(m, now_ms, events)

    def finish(self, m: MarketState, now_ms: int, events: list[SimEvent]) -> None:
        """Close the batch of book changes: depth diff (ids advance) and bookTicker if the top moved."""
        book = m.book
        diff = book.flush_diff(now_ms, self.emit)  # None if nothing changed or not emitting
        if diff is None:
            return
        events.append(diff)
        top = book.top_of_book()
        if top != m.top:
            bid, bid_qty, ask, ask_qty = top
            m.top = top
            events.append(
                BookTickerPublished(
                    symbol=m.symbol,
                    update_id=book.update_id,
                    bid_ticks=bid,
                    bid_qty=bid_qty,
                    ask_ticks=ask,
                    ask_qty=ask_qty,
                    event_ms=now_ms,
                )
            )

    def settle_funding(self, m: MarketState, funding_ms: int, now_ms: int, events: list[SimEvent]) -> None:
        """Settle funding on every position: ``wallet += −qty × mark × rate``; FUNDING_FEE events."""
        m.last_funding_ms = funding_ms
        mark = m.ref_price()
        rate = m.funding_rate
        m.funding.append(
            FundingRecord(symbol=m.symbol, funding_time_ms=funding_ms, funding_rate=rate, mark_price=mark)
        )
        if mark <= 0.0:
            return
        for acct in self.accounts.values():
            amount = acct.apply_funding(m.symbol, mark, rate, m.step, now_ms)
            if amount == 0.0:
                continue
            self.income(acct, m.symbol, "FUNDING_FEE", amount, now_ms, None)
            events.append(
                AccountUpdatePublished(
                    account=acct.id,
                    reason="FUNDING_FEE",
                    asset="USDC",
                    wallet_usdc=acct.wallet_usdc,
                    balance_change_usdc=amount,
                    positions=(),
                    symbol=m.symbol,
                    event_ms=now_ms,
                )
            )
