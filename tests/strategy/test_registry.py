"""Strategy registry: built-ins by name, custom registration, protocol conformance."""

from __future__ import annotations

import pytest

from phoenix.core.store import SymbolState
from phoenix.core.types import QuoteSet
from phoenix.strategy import Strategy, available_strategies, load_strategy, register_strategy
from phoenix.strategy.asmm import AsmmStrategy
from phoenix.strategy.avellaneda_stoikov import AvellanedaStoikovStrategy
from phoenix.strategy.base import empty_quotes
from tests.strategy.support import make_state


def test_builtin_strategies_load_by_name() -> None:
    assert {"asmm", "avellaneda_stoikov"} <= set(available_strategies())
    asmm = load_strategy("asmm")
    assert isinstance(asmm, AsmmStrategy) and isinstance(asmm, Strategy) and asmm.name == "asmm"
    a_s = load_strategy("avellaneda_stoikov")
    assert isinstance(a_s, AvellanedaStoikovStrategy) and a_s.name == "avellaneda_stoikov"
    assert load_strategy("asmm") is not asmm  # a new instance each time


def test_unknown_strategy_names_the_valid_ones() -> None:
    with pytest.raises(KeyError, match="asmm"):
        load_strategy("martingale")


def test_custom_strategies_can_be_registered() -> None:
    class Idle:
        name = "idle"

        def quote(self, state: SymbolState, now_ns: int) -> QuoteSet:
            return empty_quotes(state, now_ns)

    register_strategy("idle", Idle)
    strat = load_strategy("idle")
    assert "idle" in available_strategies()
    qs = strat.quote(make_state(), 5)
    assert qs.bids == () and qs.asks == () and qs.ts_ns == 5
