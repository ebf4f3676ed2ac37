"""Batching of actions into requests of at most five, order preserved."""

from __future__ import annotations

from phoenix.core.types import CancelAll, CancelOrder, PlaceOrder, Side
from phoenix.execution.batching import batch_actions


def place(i: int, symbol: str = "ETHUSDC") -> PlaceOrder:
    return PlaceOrder(
        symbol=symbol, client_order_id=f"p{i}", side=Side.BUY, price_ticks=100 - i, qty_steps=10
    )


def cancel(i: int) -> CancelOrder:
    return CancelOrder(symbol="ETHUSDC", client_order_id=f"c{i}")


def test_runs_are_chunked_by_five_and_kinds_never_mix() -> None:
    actions = [cancel(i) for i in range(7)] + [place(i) for i in range(12)] + [place(99, "SOLUSDC")]
    batches = batch_actions(actions)
    assert [len(b) for b in batches] == [5, 2, 5, 5, 2, 1]
    assert [a for b in batches for a in b] == actions  # nothing lost, nothing reordered
    for b in batches:
        assert len({(type(a), a.symbol) for a in b}) == 1


def test_cancel_all_is_a_request_of_its_own() -> None:
    actions = [place(0), CancelAll(symbol="ETHUSDC", reason="stale_book"), place(1)]
    assert [len(b) for b in batch_actions(actions)] == [1, 1, 1]
