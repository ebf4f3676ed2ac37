"""Own-order state machine: table transitions, UNKNOWN handling, -2011/-2013, amendments, exposure."""

from __future__ import annotations

import pytest

from phoenix.core.types import Fill, OrderStatus, OrderUpdated, PlaceOrder, Side, TimeInForce
from phoenix.execution.orders import (
    TERMINAL,
    InvalidTransitionError,
    OrderTracker,
    next_status,
)

S = OrderStatus
T = 1_763_974_800_000_000_000


def place(tr: OrderTracker, side: Side = Side.BUY, price: int = 280000, qty: int = 10) -> PlaceOrder:
    return tr.place(symbol="ETHUSDC", side=side, price_ticks=price, qty_steps=qty, layer=0, now_ns=T)


def update(a: PlaceOrder, status: OrderStatus, **kw: object) -> OrderUpdated:
    fields: dict[str, object] = {
        "symbol": a.symbol,
        "ts_ns": T + 1,
        "client_order_id": a.client_order_id,
        "status": status,
        "side": a.side,
        "price_ticks": a.price_ticks,
        "qty_steps": a.qty_steps,
    }
    fields.update(kw)
    return OrderUpdated(**fields)  # type: ignore[arg-type]


def fill(a: PlaceOrder, qty: int, trade_id: int) -> Fill:
    return Fill(
        symbol=a.symbol,
        client_order_id=a.client_order_id,
        trade_id=trade_id,
        side=a.side,
        price_ticks=a.price_ticks,
        qty_steps=qty,
        maker=True,
        fee_usdc=0.0,
        realized_pnl_usdc=0.0,
        ts_ns=T,
    )


def test_place_ack_partial_fill_then_filled_is_terminal() -> None:
    tr = OrderTracker()
    a = place(tr)
    assert a.time_in_force is TimeInForce.GTX
    o = tr.get(a.client_order_id)
    assert o is not None and o.status is S.PENDING_NEW
    assert tr.exposure_steps("ETHUSDC") == (10, 0)  # in flight counts as live
    tr.on_update(update(a, S.NEW))
    assert o.status is S.NEW
    tr.on_fill(fill(a, 4, 1))
    assert o.status is S.PARTIALLY_FILLED
    assert tr.exposure_steps("ETHUSDC") == (6, 0)
    tr.on_fill(fill(a, 6, 2))
    assert o.status is S.FILLED
    assert tr.open_count("ETHUSDC") == 0
    # a late NEW from the user stream is absorbed by the terminal state
    res = tr.on_update(update(a, S.NEW))
    assert res.new_status is S.FILLED


def test_timeout_is_unknown_counted_live_and_resolved_by_query_not_assumed_rejected() -> None:
    tr = OrderTracker()
    a = place(tr)
    tr.on_update(update(a, S.UNKNOWN))
    o = tr.get(a.client_order_id)
    assert o is not None and o.status is S.UNKNOWN
    assert tr.exposure_steps("ETHUSDC") == (10, 0)
    # the query later finds it resting
    tr.on_update(update(a, S.NEW))
    assert o.status is S.NEW
    # another timed-out order: the query says the exchange never saw it
    b = place(tr, price=279990)
    tr.on_update(update(b, S.UNKNOWN))
    tr.on_update(update(b, S.REJECTED, error_code=-2013))
    ob = tr.get(b.client_order_id)
    assert ob is not None and ob.status is S.REJECTED
    assert tr.exposure_steps("ETHUSDC") == (10, 0)


@pytest.mark.parametrize("code", [-2011, -2013])
def test_unknown_order_on_cancel_is_a_terminal_fact(code: int) -> None:
    tr = OrderTracker()
    a = place(tr)
    tr.on_update(update(a, S.NEW))
    o = tr.get(a.client_order_id)
    assert o is not None
    cancel = tr.cancel(o, T + 2)
    assert cancel is not None and o.status is S.PENDING_CANCEL
    tr.on_update(update(a, S.REJECTED, error_code=code))
    assert o.status is S.CANCELED
    assert tr.open_count("ETHUSDC") == 0


def test_refused_cancel_for_another_reason_leaves_the_order_live() -> None:
    tr = OrderTracker()
    a = place(tr)
    tr.on_update(update(a, S.NEW))
    o = tr.get(a.client_order_id)
    assert o is not None
    tr.cancel(o, T + 2)
    tr.on_update(update(a, S.REJECTED, error_code=-1003))  # rate limited
    assert o.status is S.NEW
    assert tr.exposure_steps("ETHUSDC") == (10, 0)


def test_trailing_new_during_cancel_keeps_pending_cancel() -> None:
    tr = OrderTracker()
    a = place(tr)
    tr.on_update(update(a, S.NEW))
    o = tr.get(a.client_order_id)
    assert o is not None
    tr.cancel(o, T + 2)
    tr.on_update(update(a, S.NEW))
    assert o.status is S.PENDING_CANCEL
    tr.on_update(update(a, S.CANCELED))
    assert o.status is S.CANCELED


def test_amendment_counts_the_larger_size_until_acknowledged_and_reverts_when_refused() -> None:
    tr = OrderTracker()
    a = place(tr, qty=10)
    tr.on_update(update(a, S.NEW))
    o = tr.get(a.client_order_id)
    assert o is not None
    m = tr.modify(o, 280010, 4, T + 2)
    assert (m.price_ticks, m.qty_steps) == (280010, 4)
    assert o.status is S.PENDING_MODIFY
    assert tr.exposure_steps("ETHUSDC") == (10, 0)  # old size may still fill
    tr.on_update(update(a, S.REJECTED, error_code=-5027, price_ticks=280010, qty_steps=4))
    assert o.status is S.NEW and (o.price_ticks, o.qty_steps) == (280000, 10)
    tr.modify(o, 280010, 4, T + 3)
    tr.on_update(update(a, S.NEW, price_ticks=280010, qty_steps=4))
    assert o.status is S.NEW and (o.price_ticks, o.qty_steps) == (280010, 4)
    assert tr.exposure_steps("ETHUSDC") == (4, 0)


def test_cancel_requested_while_in_flight_is_sent_on_ack() -> None:
    tr = OrderTracker()
    a = place(tr)
    o = tr.get(a.client_order_id)
    assert o is not None
    assert tr.cancel(o, T + 1) is None  # cannot cancel what the exchange may not know yet
    assert o.cancel_requested
    assert tr.needing_cancel("ETHUSDC") == []
    tr.on_update(update(a, S.NEW))
    assert tr.needing_cancel("ETHUSDC") == [o]


def test_fills_count_even_after_the_order_is_terminal() -> None:
    tr = OrderTracker()
    a = place(tr)
    tr.on_update(update(a, S.NEW))
    tr.on_update(update(a, S.CANCELED, filled_steps=0))
    o = tr.on_fill(fill(a, 3, 9))
    assert o is not None and o.status is S.CANCELED and o.filled_steps == 3


def test_our_unknown_open_order_is_adopted_and_foreign_ones_ignored() -> None:
    tr = OrderTracker()
    other = OrderTracker()
    a = place(other, side=Side.SELL, price=281000, qty=7)
    res = tr.on_update(update(a, S.NEW))
    assert res.adopted and tr.exposure_steps("ETHUSDC") == (0, 7)
    foreign = OrderUpdated(
        symbol="ETHUSDC",
        ts_ns=T,
        client_order_id="web_abc",
        status=S.NEW,
        side=Side.BUY,
        price_ticks=1,
        qty_steps=1,
    )
    assert tr.on_update(foreign).anomaly == "unknown_order"
    assert tr.open_count("ETHUSDC") == 1


def test_transition_table_rejects_impossible_moves_and_terminals_absorb() -> None:
    with pytest.raises(InvalidTransitionError):
        next_status(S.NEW, S.PENDING_NEW)
    with pytest.raises(InvalidTransitionError):
        next_status(S.PENDING_CANCEL, S.PENDING_MODIFY)
    for terminal in TERMINAL:
        assert next_status(terminal, S.NEW) is terminal


def test_snapshot_restore_marks_open_orders_unknown_until_confirmed() -> None:
    tr = OrderTracker()
    a = place(tr)
    tr.on_update(update(a, S.NEW))
    snap = tr.to_snapshot()
    restored = OrderTracker()
    restored.restore(snap)
    o = restored.get(a.client_order_id)
    assert o is not None and o.status is S.UNKNOWN
    assert restored.exposure_steps("ETHUSDC") == (10, 0)
    restored.on_update(update(a, S.NEW))
    assert o.status is S.NEW
    assert restored.ids.next_id("ETHUSDC", T) != a.client_order_id


def test_amendment_timeout_keeps_the_larger_size_until_the_query_resolves_it() -> None:
    tr = OrderTracker()
    a = place(tr, qty=10)
    tr.on_update(update(a, S.NEW))
    o = tr.get(a.client_order_id)
    assert o is not None
    tr.modify(o, 280010, 4, T + 2)
    tr.on_update(update(a, S.UNKNOWN))
    assert o.status is S.UNKNOWN
    assert tr.exposure_steps("ETHUSDC") == (10, 0)  # the old 10 may still be resting
    tr.on_update(update(a, S.NEW, price_ticks=280010, qty_steps=4))
    assert tr.exposure_steps("ETHUSDC") == (4, 0)


def test_cancel_timeout_turns_unknown_and_is_cancelled_again_if_the_order_is_still_live() -> None:
    tr = OrderTracker()
    a = place(tr)
    tr.on_update(update(a, S.NEW))
    o = tr.get(a.client_order_id)
    assert o is not None
    tr.cancel(o, T + 2)
    tr.on_update(update(a, S.UNKNOWN))
    assert o.status is S.UNKNOWN and o.cancel_requested
    tr.on_update(update(a, S.NEW))  # the query finds it still resting
    assert tr.needing_cancel("ETHUSDC") == [o]
    assert tr.cancel(o, T + 3) is not None
