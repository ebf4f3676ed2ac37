"""Fixtures for the matching-engine tests: a one-symbol exchange with a known ETHUSDC book."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from phoenix.core.types import OrderType, Side, TimeInForce
from phoenix.exchange.sim.engine import SimExchange
from phoenix.exchange.sim.sim_types import (
    AccountId,
    FeeSchedule,
    OrderRequest,
    OrderUpdatePublished,
    OrderView,
    SimEvent,
    StpMode,
)
from phoenix.exchange.sim.symbols import default_filters

SYM = "ETHUSDC"
BID0 = 300_000  # 3000.00
ASK0 = 300_001  # 3000.01
T0 = 1_700_000_000_000


@dataclass
class Venue:
    """An exchange with two funded accounts and a 5-level ETHUSDC book of 1.0 ETH per level."""

    ex: SimExchange
    a: AccountId
    b: AccountId

    def place(
        self,
        side: Side,
        price_ticks: int,
        qty_steps: int,
        *,
        tif: TimeInForce = TimeInForce.GTC,
        account: AccountId | None = None,
        order_type: OrderType = OrderType.LIMIT,
        reduce_only: bool = False,
        client_order_id: str | None = None,
        stp: StpMode = StpMode.EXPIRE_MAKER,
        now_ms: int = T0 + 10,
    ) -> tuple[OrderView, list[SimEvent]]:
        req = OrderRequest(
            symbol=SYM,
            side=side,
            qty_steps=qty_steps,
            price_ticks=price_ticks,
            order_type=order_type,
            time_in_force=tif,
            reduce_only=reduce_only,
            client_order_id=client_order_id,
            stp_mode=stp,
        )
        return self.ex.place_order(self.a if account is None else account, req, now_ms)

    def order(self, view: OrderView, account: AccountId | None = None) -> OrderView:
        return self.ex.get_order(self.a if account is None else account, SYM, order_id=view.order_id)


def order_updates(events: list[SimEvent]) -> list[OrderUpdatePublished]:
    """The ORDER_TRADE_UPDATE events of a list."""
    return [e for e in events if isinstance(e, OrderUpdatePublished)]


def make_venue(*, fees: FeeSchedule | None = None, queue_model: str = "conservative") -> Venue:
    """Build the standard venue."""
    ex = SimExchange(
        default_filters([SYM]), fees=fees if fees is not None else FeeSchedule(), queue_model=queue_model
    )
    a = ex.add_account("key-a", 100_000.0)
    b = ex.add_account("key-b", 100_000.0)
    ex.apply_market_snapshot(
        SYM,
        [(BID0 - i, 1.0) for i in range(5)],
        [(ASK0 + i, 1.0) for i in range(5)],
        T0,
    )
    return Venue(ex=ex, a=a, b=b)


@pytest.fixture
def venue() -> Venue:
    """A fresh standard venue."""
    return make_venue()
