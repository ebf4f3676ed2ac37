"""Helpers of the strategy tests: ETHUSDC-like filters and a SymbolState with a chosen market."""

from __future__ import annotations

import math
import random
from decimal import Decimal

from phoenix.config import SymbolConfig
from phoenix.core.store import SymbolState
from phoenix.core.types import SymbolFilters

NS = 1_000_000_000


def eth_filters() -> SymbolFilters:
    return SymbolFilters(
        symbol="ETHUSDC",
        tick_size=Decimal("0.01"),
        step_size=Decimal("0.001"),
        min_qty=Decimal("0.001"),
        min_notional=Decimal("20"),
    )


def make_state(
    *,
    bid_ticks: int = 300_000,
    ask_ticks: int = 300_001,
    position_steps: int = 0,
    funding: float | None = None,
    sigma_1s: float | None = None,
    config: SymbolConfig | None = None,
    filters: SymbolFilters | None = None,
    mark_price: float = 0.0,
    seed: int = 7,
) -> SymbolState:
    """A state whose book is one level per side; optional random-walk history with 1-s σ ``sigma_1s``."""
    cfg = config or SymbolConfig(symbol="ETHUSDC", net_max=0.2)
    st = SymbolState.create(cfg, filters or eth_filters())
    if sigma_1s is not None:
        rng = random.Random(seed)
        price = 3000.0
        for s in range(150):
            price *= math.exp(rng.gauss(0.0, sigma_1s))
            st.signals.on_mid((1000 + s) * NS, price)
    st.book.apply_snapshot(bids=((bid_ticks, 1.0),), asks=((ask_ticks, 1.0),), ts_ns=2000 * NS)
    st.position.qty_steps = position_steps
    if funding is not None:
        st.signals.on_funding(0, funding)
    st.mark_price = mark_price
    st.in_sync = True
    return st
