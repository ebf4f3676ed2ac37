"""Group a decision's actions into exchange requests: ``batchOrders`` of at most five.

Binance's ``POST /fapi/v1/batchOrders`` and ``PUT /fapi/v1/batchOrders`` take up to 5 orders of one
symbol; ``DELETE /fapi/v1/batchOrders`` takes up to 10 ids, but we keep 5 everywhere so one failed
request never holds more than five outcomes. Order is preserved: consecutive actions of the same kind and
symbol are grouped, anything else (``CancelAll``, ``Flatten``) is a request of its own, so cancels still
go before the creates that follow them.
"""

from __future__ import annotations

from collections.abc import Sequence

from phoenix.core.types import Action, CancelOrder, ModifyOrder, PlaceOrder

BATCH_MAX = 5


def batch_actions(actions: Sequence[Action], size: int = BATCH_MAX) -> list[list[Action]]:
    """Split ``actions`` into requests: runs of same-kind, same-symbol orders in chunks of ``size``."""
    out: list[list[Action]] = []
    current: list[Action] = []
    key: tuple[type, str] | None = None
    for a in actions:
        if isinstance(a, PlaceOrder | CancelOrder | ModifyOrder):
            k = (type(a), a.symbol)
            if k == key and len(current) < size:
                current.append(a)
                continue
            if current:
                out.append(current)
            current, key = [a], k
        else:
            if current:
                out.append(current)
            current, key = [], None
            out.append([a])
    if current:
        out.append(current)
    return out
