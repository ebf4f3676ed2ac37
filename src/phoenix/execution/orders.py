"""Own-order state machine and the tracker of every order this process sent.

The lifecycle is a table (``_NEXT``), not scattered assignments. Locally initiated moves are
``PENDING_NEW`` (place sent), ``PENDING_CANCEL`` and ``PENDING_MODIFY``; everything else comes from the
exchange as ``OrderUpdated`` events, translated by the driver:

- a confirmed ack ⇒ ``NEW`` (a modify ack carries the new price/qty),
- a rejection ⇒ ``REJECTED`` with ``error_code``; what it means depends on the request in flight:
  a rejected *place* is terminal, a rejected *cancel* or *modify* leaves the order as it was, except
  ``-2011``/``-2013`` (unknown order), which are terminal facts: the order is gone,
- a timeout / disconnect / unparsable answer ⇒ ``UNKNOWN``: still counted as live (worst case) until a
  query by client order id resolves it. Unknown is never assumed rejected.

Fills are separate facts (``on_fill``): they count even when the order is already terminal. Every
non-terminal order (in-flight included) counts at its full remaining size in the side's exposure.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum

from phoenix.core.types import (
    CancelOrder,
    Fill,
    ModifyOrder,
    OrderStatus,
    OrderType,
    OrderUpdated,
    PlaceOrder,
    Side,
    TimeInForce,
)
from phoenix.errors import PhoenixError
from phoenix.execution.ids import OrderIdGenerator, is_own_order_id

S = OrderStatus
_EMPTY: dict[str, LiveOrder] = {}
UNKNOWN_ORDER_CODES = frozenset({-2011, -2013})  # cancel/query of an order the exchange does not have

_REPORTED = frozenset({S.NEW, S.PARTIALLY_FILLED, S.FILLED, S.CANCELED, S.EXPIRED, S.UNKNOWN})
_NEXT: dict[OrderStatus, frozenset[OrderStatus]] = {
    S.PENDING_NEW: frozenset(_REPORTED | {S.REJECTED, S.PENDING_CANCEL}),
    S.NEW: frozenset(_REPORTED | {S.PENDING_CANCEL, S.PENDING_MODIFY}),
    S.PARTIALLY_FILLED: frozenset(_REPORTED - {S.NEW} | {S.PENDING_CANCEL, S.PENDING_MODIFY}),
    S.PENDING_CANCEL: frozenset(_REPORTED),  # NEW / PARTIALLY_FILLED: the cancel was refused
    S.PENDING_MODIFY: frozenset(_REPORTED | {S.PENDING_CANCEL}),  # NEW / PARTIALLY_FILLED: acked or refused
    S.UNKNOWN: frozenset(_REPORTED | {S.REJECTED}),
    S.FILLED: frozenset(),
    S.CANCELED: frozenset(),
    S.EXPIRED: frozenset(),
    S.REJECTED: frozenset(),
}
TERMINAL = frozenset(s for s, nxt in _NEXT.items() if not nxt)
IN_FLIGHT = frozenset({S.PENDING_NEW, S.PENDING_CANCEL, S.PENDING_MODIFY, S.UNKNOWN})
ACTIONABLE = frozenset({S.NEW, S.PARTIALLY_FILLED})  # the only states we may send a cancel/modify for


class InvalidTransitionError(PhoenixError):
    """A status change the table does not allow: our bookkeeping (or the driver's translation) is wrong."""

    def __init__(self, current: OrderStatus, target: OrderStatus) -> None:
        super().__init__(f"invalid order transition {current} -> {target}")
        self.current = current
        self.target = target


def next_status(current: OrderStatus, target: OrderStatus) -> OrderStatus:
    """Return the status after a move to ``target``; terminal states absorb late reports.

    Raises:
        InvalidTransitionError: the move is not in the table.
    """
    if current in TERMINAL or target is current:
        return current
    if target not in _NEXT[current]:
        raise InvalidTransitionError(current, target)
    return target


class OrderPurpose(StrEnum):
    """Why an order exists: ladder quotes are diffed; grinding orders are managed by the grinder."""

    QUOTE = "quote"
    GRIND_TAKE = "grind_take"
    GRIND_REENTRY = "grind_reentry"


@dataclass(slots=True, kw_only=True, eq=False)
class LiveOrder:
    """One of our orders as we know it. ``qty_steps`` is the original total; fills reduce the remainder."""

    client_order_id: str
    symbol: str
    side: Side
    price_ticks: int
    qty_steps: int
    layer: int
    status: OrderStatus
    created_ns: int
    updated_ns: int
    purpose: OrderPurpose = OrderPurpose.QUOTE
    time_in_force: TimeInForce = TimeInForce.GTX
    order_type: OrderType = OrderType.LIMIT
    reduce_only: bool = False
    exchange_order_id: int | None = None
    error_code: int | None = None
    filled_by_fills: int = 0  # Σ qty of fills received for this order
    filled_reported: int = 0  # cumulative filled reported by order updates
    filled_steps: int = 0  # the larger of the two (kept in step by ``note_filled``)
    prev_status: OrderStatus = S.NEW  # status to return to when a cancel/modify is refused
    old_price_ticks: int = 0  # while an amendment is unresolved: the values before it
    old_qty_steps: int = 0  # (0 once the amendment is acknowledged or refused)
    cancel_requested: bool = False  # cancel as soon as the order becomes actionable
    assumed_gone: bool = False  # terminal by inference (-2011/-2013, reconciliation), not by a report
    reported_ns: int = 0  # exchange time of the last exchange report whose price/size we took

    def note_filled(self) -> None:
        """Recompute ``filled_steps`` after ``filled_by_fills`` / ``filled_reported`` changed."""
        a, b = self.filled_by_fills, self.filled_reported
        self.filled_steps = a if a > b else b

    @property
    def remaining_steps(self) -> int:
        """Unfilled quantity (steps)."""
        r = self.qty_steps - self.filled_steps
        return r if r > 0 else 0

    @property
    def exposure_steps(self) -> int:
        """Worst-case quantity this order can still add (steps); while an amendment is unresolved (in
        flight, or timed out into UNKNOWN) the larger of the old and new sizes."""
        if self.status in TERMINAL:
            return 0
        r = self.qty_steps - self.filled_steps
        old = self.old_qty_steps - self.filled_steps
        if old > r:
            r = old
        return r if r > 0 else 0

    @property
    def is_open(self) -> bool:
        """Not terminal (in-flight and unknown orders included)."""
        return self.status not in TERMINAL


@dataclass(frozen=True, slots=True, kw_only=True)
class UpdateResult:
    """What one order update did: the order (None if unknown to us), statuses, and any anomaly."""

    order: LiveOrder | None
    old_status: OrderStatus | None
    new_status: OrderStatus | None
    anomaly: str = ""
    adopted: bool = False


class OrderTracker:
    """Every order this process knows, keyed by client order id, with per-symbol open-order indexes.

    Args:
        id_seed_ms: Epoch ms at process start, for unique client order ids across restarts.
        keep_done: Terminal orders remembered (to absorb late reports and late fills).
    """

    def __init__(self, id_seed_ms: int = 0, keep_done: int = 4096) -> None:
        self.ids = OrderIdGenerator(id_seed_ms)
        self._open: dict[str, dict[str, LiveOrder]] = {}
        self._done: OrderedDict[str, LiveOrder] = OrderedDict()
        self._keep_done = keep_done
        self._non_quote = 0  # open orders whose purpose is not QUOTE
        self._flagged = 0  # upper bound of open orders with cancel_requested (0 ⇒ none: skip the scan)
        # exposure_steps per symbol; every mutating method clears it on entry (orders change only here)
        self._exposure: dict[str, tuple[int, int]] = {}

    # ------------------------------------------------------------------ queries

    def get(self, client_order_id: str, symbol: str | None = None) -> LiveOrder | None:
        """The order with this id (open or recently done), None if unknown."""
        if symbol is not None:
            order = self._open.get(symbol, {}).get(client_order_id)
            if order is not None:
                return order
        else:
            for orders in self._open.values():
                order = orders.get(client_order_id)
                if order is not None:
                    return order
        return self._done.get(client_order_id)

    def open_orders(self, symbol: str) -> list[LiveOrder]:
        """Non-terminal orders of a symbol (in-flight and unknown included)."""
        return list(self._open.get(symbol, {}).values())

    def iter_open(self, symbol: str) -> Iterator[LiveOrder]:
        """Iterate the non-terminal orders of a symbol without copying."""
        return iter(self._open.get(symbol, {}).values())

    def open_count(self, symbol: str | None = None) -> int:
        """Number of non-terminal orders (of one symbol, or of all)."""
        if symbol is not None:
            return len(self._open.get(symbol, {}))
        return sum(len(v) for v in self._open.values())

    def exposure_steps(self, symbol: str) -> tuple[int, int]:
        """(buy, sell) worst-case steps of all open orders of a symbol, in-flight included."""
        cached = self._exposure.get(symbol)
        if cached is not None:
            return cached
        buy = sell = 0
        for o in self._open.get(symbol, _EMPTY).values():
            filled = o.filled_steps
            r = o.qty_steps - filled
            old = o.old_qty_steps - filled  # an unresolved amendment: the old size may still fill
            if old > r:
                r = old
            if r > 0:
                if o.side is Side.BUY:
                    buy += r
                else:
                    sell += r
        self._exposure[symbol] = (buy, sell)
        return buy, sell

    def other_exposure_steps(self, symbol: str) -> tuple[int, int]:
        """(buy, sell) worst-case steps of the open orders that are not ladder quotes (grinding)."""
        buy = sell = 0
        if not self._non_quote:
            return 0, 0
        for o in self._open.get(symbol, _EMPTY).values():
            if o.purpose is not OrderPurpose.QUOTE:
                if o.side is Side.BUY:
                    buy += o.exposure_steps
                else:
                    sell += o.exposure_steps
        return buy, sell

    # ------------------------------------------------------------------ local requests

    def place(
        self,
        *,
        symbol: str,
        side: Side,
        price_ticks: int,
        qty_steps: int,
        layer: int,
        now_ns: int,
        purpose: OrderPurpose = OrderPurpose.QUOTE,
        time_in_force: TimeInForce = TimeInForce.GTX,
        order_type: OrderType = OrderType.LIMIT,
        reduce_only: bool = False,
    ) -> PlaceOrder:
        """Register a new order as PENDING_NEW and return the action that sends it."""
        self._exposure.clear()
        cid = self.ids.next_id(symbol, now_ns)
        order = LiveOrder(
            client_order_id=cid,
            symbol=symbol,
            side=side,
            price_ticks=price_ticks,
            qty_steps=qty_steps,
            layer=layer,
            status=S.PENDING_NEW,
            created_ns=now_ns,
            updated_ns=now_ns,
            purpose=purpose,
            time_in_force=time_in_force,
            order_type=order_type,
            reduce_only=reduce_only,
        )
        self._open.setdefault(symbol, {})[cid] = order
        if purpose is not OrderPurpose.QUOTE:
            self._non_quote += 1
        return PlaceOrder(
            symbol=symbol,
            client_order_id=cid,
            side=side,
            price_ticks=price_ticks,
            qty_steps=qty_steps,
            order_type=order_type,
            time_in_force=time_in_force,
            reduce_only=reduce_only,
            layer=layer,
        )

    def cancel(self, order: LiveOrder, now_ns: int) -> CancelOrder | None:
        """Request a cancel. Returns the action if it can be sent now; in-flight orders are flagged instead
        (cancelled as soon as they are acknowledged), already-cancelling or terminal ones yield None."""
        self._exposure.clear()
        if order.status in ACTIONABLE:
            order.prev_status = order.status
            order.status = next_status(order.status, S.PENDING_CANCEL)
            order.updated_ns = now_ns
            order.cancel_requested = False
            return CancelOrder(symbol=order.symbol, client_order_id=order.client_order_id)
        if order.status in (S.PENDING_NEW, S.PENDING_MODIFY, S.UNKNOWN):
            order.cancel_requested = True
            self._flagged += 1
        return None

    def modify(
        self, order: LiveOrder, price_ticks: int, remaining_steps: int, now_ns: int, layer: int | None = None
    ) -> ModifyOrder:
        """Amend an actionable order to a new price and remaining quantity (steps), optionally a new layer."""
        self._exposure.clear()
        if order.status not in ACTIONABLE:
            raise InvalidTransitionError(order.status, S.PENDING_MODIFY)
        order.prev_status = order.status
        order.old_price_ticks = order.price_ticks
        order.old_qty_steps = order.qty_steps
        order.status = S.PENDING_MODIFY
        order.price_ticks = price_ticks
        order.qty_steps = order.filled_steps + remaining_steps
        order.updated_ns = now_ns
        if layer is not None:
            order.layer = layer
        return ModifyOrder(
            symbol=order.symbol,
            client_order_id=order.client_order_id,
            side=order.side,
            price_ticks=price_ticks,
            qty_steps=order.qty_steps,
        )

    def mark_all_canceling(self, symbol: str, now_ns: int) -> int:
        """After a CancelAll was sent: actionable orders become PENDING_CANCEL, in-flight ones are flagged
        for cancel on acknowledgement. Returns the number of orders affected."""
        self._exposure.clear()
        n = 0
        for order in self._open.get(symbol, {}).values():
            if order.status in ACTIONABLE or order.status is S.PENDING_MODIFY:
                if order.status is S.PENDING_MODIFY:
                    order.cancel_requested = True  # the amendment may land after the cancel-all
                    self._flagged += 1
                order.prev_status = order.status if order.status in ACTIONABLE else S.NEW
                order.status = S.PENDING_CANCEL
                order.updated_ns = now_ns
                n += 1
            elif order.status in (S.PENDING_NEW, S.UNKNOWN):
                order.cancel_requested = True
                self._flagged += 1
                n += 1
        return n

    def needing_cancel(self, symbol: str) -> list[LiveOrder]:
        """Actionable orders flagged for cancel (their acknowledgement arrived after the request)."""
        if self._flagged <= 0:
            return []
        flagged = 0
        out: list[LiveOrder] = []
        for orders in self._open.values():
            for o in orders.values():
                if o.cancel_requested:
                    flagged += 1
                    if o.symbol == symbol and o.status in ACTIONABLE:
                        out.append(o)
        self._flagged = flagged
        return out

    # ------------------------------------------------------------------ exchange reports

    def on_update(self, event: OrderUpdated) -> UpdateResult:
        """Apply an exchange report (translated by the driver). Never raises: anomalies are returned."""
        self._exposure.clear()
        order = self.get(event.client_order_id, event.symbol)
        if order is None:
            return self._adopt(event)
        old = order.status
        if event.exchange_order_id is not None:
            order.exchange_order_id = event.exchange_order_id
        if event.filled_steps > order.filled_reported:
            order.filled_reported = event.filled_steps
            order.note_filled()
        order.updated_ns = max(order.updated_ns, event.ts_ns)
        if old in TERMINAL:
            if order.assumed_gone and event.status in ACTIONABLE and event.exchange_order_id is not None:
                return self._reopen(order, event)  # the exchange has it after all (e.g. a late place)
            return UpdateResult(order=order, old_status=old, new_status=old)
        target = self._target(order, event)
        try:
            new = next_status(old, target)
        except InvalidTransitionError as exc:
            # The exchange is the truth for terminal outcomes; otherwise keep our state and say so.
            anomaly = str(exc)
            if target in TERMINAL:
                order.status = target
                self._retire(order)
                order.assumed_gone = event.error_code in UNKNOWN_ORDER_CODES
            return UpdateResult(order=order, old_status=old, new_status=order.status, anomaly=anomaly)
        order.status = new
        if new is S.UNKNOWN and old is S.PENDING_CANCEL and not order.cancel_requested:
            order.cancel_requested = True  # the cancel timed out: if the order turns out live, cancel again
            self._flagged += 1
        if new in (S.NEW, S.PARTIALLY_FILLED) and old in (S.PENDING_MODIFY, S.UNKNOWN):
            order.old_qty_steps = 0  # the amendment is resolved (acknowledged, or refused and reverted)
            order.old_price_ticks = 0
        if (
            new in (S.NEW, S.PARTIALLY_FILLED)
            and event.status in (S.NEW, S.PARTIALLY_FILLED)
            and old in (S.PENDING_NEW, S.UNKNOWN, S.PENDING_MODIFY)
        ):
            # an ack (of a place or an amendment) carries the order's real price and size
            if event.price_ticks > 0:
                order.price_ticks = event.price_ticks
            if event.qty_steps > 0:
                order.qty_steps = event.qty_steps
            if event.exchange_order_id is not None:
                order.reported_ns = max(order.reported_ns, event.ts_ns)
        elif (
            new in (S.NEW, S.PARTIALLY_FILLED)
            and old in ACTIONABLE
            and event.exchange_order_id is not None
            and event.ts_ns >= order.reported_ns
        ):
            # any later exchange report is the truth, e.g. an amendment that landed after we reverted it
            self._take_reported(order, event)
        if new is S.REJECTED or event.error_code is not None:
            order.error_code = event.error_code
        if new in (S.NEW, S.PARTIALLY_FILLED) and order.remaining_steps == 0:
            order.status = S.FILLED
        if order.status in TERMINAL:
            self._retire(order)
            if new is S.REJECTED or new is S.CANCELED:
                order.assumed_gone = event.error_code in UNKNOWN_ORDER_CODES
        return UpdateResult(order=order, old_status=old, new_status=order.status)

    @staticmethod
    def _take_reported(order: LiveOrder, event: OrderUpdated) -> None:
        if event.price_ticks > 0:
            order.price_ticks = event.price_ticks
        if event.qty_steps > 0:
            order.qty_steps = event.qty_steps
        order.reported_ns = max(order.reported_ns, event.ts_ns)

    def _reopen(self, order: LiveOrder, event: OrderUpdated) -> UpdateResult:
        """An order we took for gone by inference is reported open: track it again (risk counts it)."""
        old = order.status
        self._take_reported(order, event)
        order.assumed_gone = False
        order.old_price_ticks = order.old_qty_steps = 0
        order.status = S.PARTIALLY_FILLED if order.filled_steps > 0 else S.NEW
        if order.remaining_steps == 0:
            order.status = S.FILLED
            return UpdateResult(order=order, old_status=old, new_status=order.status)
        self._done.pop(order.client_order_id, None)
        self._open.setdefault(order.symbol, {})[order.client_order_id] = order
        if order.purpose is not OrderPurpose.QUOTE:
            self._non_quote += 1
        return UpdateResult(order=order, old_status=old, new_status=order.status, anomaly="reopened")

    def _target(self, order: LiveOrder, event: OrderUpdated) -> OrderStatus:
        reported = event.status
        current = order.status
        if reported is S.REJECTED:
            if current is S.PENDING_CANCEL or current is S.PENDING_MODIFY:
                if event.error_code in UNKNOWN_ORDER_CODES:
                    return S.CANCELED  # terminal fact: the exchange no longer has this order
                if current is S.PENDING_MODIFY:
                    order.price_ticks, order.qty_steps = order.old_price_ticks, order.old_qty_steps
                return order.prev_status  # the request was refused; the order is as it was
            if current in (S.PENDING_NEW, S.UNKNOWN):
                return S.REJECTED
            return current  # a stray rejection for a resting order without a request in flight
        if reported in (S.NEW, S.PARTIALLY_FILLED):
            if current is S.PENDING_CANCEL:
                return current  # a trailing update; the cancel is still in flight
            if (
                current is S.PENDING_MODIFY
                and (event.price_ticks, event.qty_steps) == (order.old_price_ticks, order.old_qty_steps)
                and (event.price_ticks, event.qty_steps) != (order.price_ticks, order.qty_steps)
            ):
                return current  # an update from before the amendment; the amendment is still in flight
            if current is S.PARTIALLY_FILLED and reported is S.NEW:
                return current
            if order.filled_steps > 0 and reported is S.NEW:
                return S.PARTIALLY_FILLED
        if reported is S.UNKNOWN and current in ACTIONABLE:
            return current  # a failed query of a resting order tells us nothing new
        return reported

    def _adopt(self, event: OrderUpdated) -> UpdateResult:
        # An order we did not know (restart, or found by reconciliation). Ours and open ⇒ track it, so the
        # diff can keep or cancel it and its size counts in the exposure.
        if (
            event.status in TERMINAL
            or event.status in IN_FLIGHT
            or not is_own_order_id(event.client_order_id)
        ):
            return UpdateResult(order=None, old_status=None, new_status=None, anomaly="unknown_order")
        order = LiveOrder(
            client_order_id=event.client_order_id,
            symbol=event.symbol,
            side=event.side,
            price_ticks=event.price_ticks,
            qty_steps=event.qty_steps,
            layer=-1,
            status=event.status,
            created_ns=event.ts_ns,
            updated_ns=event.ts_ns,
            exchange_order_id=event.exchange_order_id,
            filled_reported=event.filled_steps,
            filled_steps=event.filled_steps,
        )
        self._open.setdefault(event.symbol, {})[order.client_order_id] = order
        return UpdateResult(order=order, old_status=None, new_status=order.status, adopted=True)

    def on_fill(self, fill: Fill) -> LiveOrder | None:
        """Count a (de-duplicated) fill against its order; a fully filled order becomes FILLED."""
        self._exposure.clear()
        order = self.get(fill.client_order_id, fill.symbol)
        if order is None:
            return None
        order.filled_by_fills += fill.qty_steps
        order.note_filled()
        order.updated_ns = max(order.updated_ns, fill.ts_ns)
        if order.status in TERMINAL:
            return order
        if order.remaining_steps == 0:
            order.status = S.FILLED
            self._retire(order)
        elif order.status is S.NEW:
            order.status = S.PARTIALLY_FILLED
        return order

    def _retire(self, order: LiveOrder) -> None:
        if self._open.get(order.symbol, {}).pop(order.client_order_id, None) is not None and (
            order.purpose is not OrderPurpose.QUOTE
        ):
            self._non_quote -= 1
        self._done[order.client_order_id] = order
        while len(self._done) > self._keep_done:
            self._done.popitem(last=False)

    def forget_symbol_orders(self, symbol: str, client_order_ids: set[str]) -> int:
        """Reconciliation: open orders the exchange does not list (and not in flight) are gone."""
        self._exposure.clear()
        n = 0
        for order in list(self._open.get(symbol, {}).values()):
            if order.client_order_id not in client_order_ids and order.status in ACTIONABLE | {
                S.PENDING_CANCEL
            }:
                order.status = S.CANCELED
                self._retire(order)
                order.assumed_gone = True
                n += 1
        return n

    # ------------------------------------------------------------------ persistence

    def to_snapshot(self) -> dict[str, object]:
        """Open orders and the id generator position, as plain data."""
        return {
            "ids": self.ids.to_snapshot(),
            "open": [
                {
                    "client_order_id": o.client_order_id,
                    "symbol": o.symbol,
                    "side": o.side.value,
                    "price_ticks": o.price_ticks,
                    "qty_steps": o.qty_steps,
                    "filled_steps": o.filled_steps,
                    "layer": o.layer,
                    "status": o.status.value,
                    "purpose": o.purpose.value,
                    "time_in_force": o.time_in_force.value,
                    "reduce_only": o.reduce_only,
                    "created_ns": o.created_ns,
                }
                for orders in self._open.values()
                for o in orders.values()
            ],
        }

    def restore(self, snapshot: dict[str, object]) -> None:
        """Reload open orders (all become UNKNOWN until the exchange confirms them) and the id position."""
        self._exposure.clear()
        ids = snapshot.get("ids")
        if isinstance(ids, dict):
            self.ids.restore(ids)
        rows = snapshot.get("open")
        if not isinstance(rows, list):
            return
        for row in rows:
            if not isinstance(row, dict):
                continue
            order = LiveOrder(
                client_order_id=str(row["client_order_id"]),
                symbol=str(row["symbol"]),
                side=Side(row["side"]),
                price_ticks=int(row["price_ticks"]),
                qty_steps=int(row["qty_steps"]),
                layer=int(row.get("layer", -1)),
                status=S.UNKNOWN,
                created_ns=int(row.get("created_ns", 0)),
                updated_ns=int(row.get("created_ns", 0)),
                purpose=OrderPurpose(row.get("purpose", "quote")),
                time_in_force=TimeInForce(row.get("time_in_force", "GTX")),
                reduce_only=bool(row.get("reduce_only", False)),
                filled_reported=int(row.get("filled_steps", 0)),
                filled_steps=int(row.get("filled_steps", 0)),
            )
            self._open.setdefault(order.symbol, {})[order.client_order_id] = order
            if order.purpose is not OrderPurpose.QUOTE:
                self._non_quote += 1
