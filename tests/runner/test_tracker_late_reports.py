"""Exchange reports that arrive after the runner drew a conclusion: the tracker follows the exchange.

These are the tracker rules the runner's executor and reconciler rely on (review findings 2 and 3).
"""

from __future__ import annotations

from phoenix.core.types import OrderStatus, OrderUpdated, Side
from phoenix.execution.orders import OrderTracker

SYM = "ETHUSDC"
EXCH_ID = 77


def _tracker_with_order() -> tuple[OrderTracker, str]:
    t = OrderTracker(1)
    a = t.place(symbol=SYM, side=Side.BUY, price_ticks=100, qty_steps=10, layer=0, now_ns=10**9)
    return t, a.client_order_id


def _up(cid: str, status: OrderStatus, ts_ns: int, p: int = 100, q: int = 10, **kw: object) -> OrderUpdated:
    return OrderUpdated(
        symbol=SYM,
        ts_ns=ts_ns,
        client_order_id=cid,
        status=status,
        side=Side.BUY,
        price_ticks=p,
        qty_steps=q,
        **kw,  # type: ignore[arg-type]
    )


def test_a_place_taken_for_rejected_by_minus_2013_is_reopened_when_the_exchange_reports_it() -> None:
    t, cid = _tracker_with_order()
    t.on_update(_up(cid, OrderStatus.UNKNOWN, 2))  # the place timed out
    t.on_update(_up(cid, OrderStatus.REJECTED, 3, error_code=-2013))  # query: not (yet) there
    assert t.exposure_steps(SYM) == (0, 0)
    res = t.on_update(_up(cid, OrderStatus.NEW, 4, exchange_order_id=EXCH_ID))  # it lands after all
    assert res.anomaly == "reopened"
    order = t.get(cid, SYM)
    assert order is not None and order.status is OrderStatus.NEW
    assert [o.client_order_id for o in t.iter_open(SYM)] == [cid]
    assert t.exposure_steps(SYM) == (10, 0)  # risk counts it again


def test_a_real_rejection_is_not_reopened() -> None:
    t, cid = _tracker_with_order()
    t.on_update(_up(cid, OrderStatus.REJECTED, 3, error_code=-5022))  # post-only refused: a fact
    t.on_update(_up(cid, OrderStatus.NEW, 4, exchange_order_id=EXCH_ID))
    order = t.get(cid, SYM)
    assert order is not None and order.status is OrderStatus.REJECTED
    assert list(t.iter_open(SYM)) == []


def test_an_order_forgotten_by_reconciliation_is_reopened_when_reported_open() -> None:
    t, cid = _tracker_with_order()
    t.on_update(_up(cid, OrderStatus.NEW, 2, exchange_order_id=EXCH_ID))
    assert t.forget_symbol_orders(SYM, set()) == 1
    t.on_update(_up(cid, OrderStatus.PARTIALLY_FILLED, 5, filled_steps=4, exchange_order_id=EXCH_ID))
    order = t.get(cid, SYM)
    assert order is not None and order.status is OrderStatus.PARTIALLY_FILLED
    assert t.exposure_steps(SYM) == (6, 0)


def test_a_late_amendment_report_is_adopted_after_a_revert() -> None:
    t, cid = _tracker_with_order()
    t.on_update(_up(cid, OrderStatus.NEW, 2, exchange_order_id=EXCH_ID))
    order = t.get(cid, SYM)
    assert order is not None
    t.modify(order, 101, 30, 3)
    t.on_update(_up(cid, OrderStatus.REJECTED, 4, p=101, q=30))  # executor: query showed old values
    assert (order.status, order.price_ticks, order.qty_steps) == (OrderStatus.NEW, 100, 10)
    t.on_update(_up(cid, OrderStatus.NEW, 5, p=101, q=30, exchange_order_id=EXCH_ID))  # AMENDMENT
    assert (order.status, order.price_ticks, order.qty_steps) == (OrderStatus.NEW, 101, 30)
    assert t.exposure_steps(SYM) == (30, 0)


def test_an_older_exchange_report_does_not_undo_a_newer_one() -> None:
    t, cid = _tracker_with_order()
    t.on_update(_up(cid, OrderStatus.NEW, 10, exchange_order_id=EXCH_ID))
    order = t.get(cid, SYM)
    assert order is not None
    t.modify(order, 101, 30, 11)
    t.on_update(_up(cid, OrderStatus.NEW, 12, p=101, q=30, exchange_order_id=EXCH_ID))  # modify ack
    t.on_update(_up(cid, OrderStatus.NEW, 10, exchange_order_id=EXCH_ID))  # stale stream NEW of the place
    assert (order.price_ticks, order.qty_steps) == (101, 30)
