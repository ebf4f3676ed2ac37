"""Fixtures of the core tests: ETHUSDC-like filters and a one/two-symbol config."""

from __future__ import annotations

from decimal import Decimal

import pytest

from phoenix.config import PhoenixConfig, SymbolConfig
from phoenix.core.types import SymbolFilters


def eth_filters(symbol: str = "ETHUSDC") -> SymbolFilters:
    return SymbolFilters(
        symbol=symbol,
        tick_size=Decimal("0.01"),
        step_size=Decimal("0.001"),
        min_qty=Decimal("0.001"),
        min_notional=Decimal("20"),
    )


@pytest.fixture
def filters() -> dict[str, SymbolFilters]:
    return {"ETHUSDC": eth_filters(), "SOLUSDC": eth_filters("SOLUSDC")}


@pytest.fixture
def config() -> PhoenixConfig:
    return PhoenixConfig(
        symbols=(
            SymbolConfig(symbol="ETHUSDC", net_max=0.2),
            SymbolConfig(symbol="SOLUSDC", net_max=10.0, net_max_notional_usdc=1000.0),
        )
    )
