"""Live path: the position stays equal to the exchange's whatever the order of a fill's user-stream events.

Real Binance sends a fill's ACCOUNT_UPDATE (reason ORDER) ~29 ms before its ORDER_TRADE_UPDATE; the
simulator's ``account_update_first`` fault reproduces that order over the real loopback user stream.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from tests.integration.runner_helpers import (
    MarketPump,
    full_ladder,
    own_orders,
    own_position_steps,
    running_app,
    wait_for,
)

from phoenix.core.types import Side
from phoenix.exchange.sim.testing import running_sim

pytestmark = pytest.mark.timeout(60)


@pytest.mark.parametrize("account_update_first", [True, False])
async def test_position_equals_exchange_after_fills_in_either_event_order(
    tmp_path: Path, account_update_first: bool
) -> None:
    async with running_sim(symbols=["ETHUSDC"], feed="manual") as sim:
        sim.faults.set_account_update_first(account_update_first)
        pump = MarketPump(sim)
        pump.start()
        try:
            async with running_app(sim, tmp_path) as app:
                await wait_for(lambda: full_ladder(sim), 10)
                assert app.trader is not None
                st = app.trader.store.symbols["ETHUSDC"]
                for _ in range(3):  # three separate fills of our best bid, each its own event pair
                    best_bid = max(o.price_ticks for o in own_orders(sim) if o.side is Side.BUY)
                    before = own_position_steps(sim)
                    sim.apply_trade("ETHUSDC", best_bid, 0.05, Side.SELL)
                    assert own_position_steps(sim) > before
                    expected = own_position_steps(sim)
                    await wait_for(lambda: st.position.qty_steps == expected, 5)  # noqa: B023
                await asyncio.sleep(0.3)  # any late (double-counted) event would land by now
                assert st.position.qty_steps == own_position_steps(sim) > 0
        finally:
            await pump.stop()
