"""Avellaneda & Stoikov (2008) reproduction against the published (V1) tables."""

from __future__ import annotations

import math

import pytest

from phoenix.backtest.as2008 import PUBLISHED_V1, reproduce, simulate, to_json


@pytest.fixture(scope="module")
def results() -> dict[float, dict[str, object]]:
    return reproduce(paths=1000, seed=1)  # type: ignore[return-value]


@pytest.mark.parametrize("gamma", [0.1, 0.01, 1.0])
def test_within_monte_carlo_error_of_published_v1(results: dict, gamma: float) -> None:  # type: ignore[type-arg]
    n = 1000
    for name in ("inventory", "symmetric"):
        st = results[gamma][name]
        spread, profit, profit_sd, q, q_sd = PUBLISHED_V1[gamma][name]
        assert st.spread == pytest.approx(spread, abs=0.02)
        # mean profit within 4 standard errors (inventory: also within the ±1.0 acceptance band)
        assert abs(st.profit_mean - profit) <= 4 * st.profit_std / math.sqrt(n)
        if name == "inventory":
            assert abs(st.profit_mean - profit) <= 1.0
        assert st.profit_std == pytest.approx(profit_sd, rel=0.15)
        assert st.q_std == pytest.approx(q_sd, rel=0.15)
        assert abs(st.q_mean - q) <= 4 * st.q_std / math.sqrt(n)


@pytest.mark.parametrize("gamma", [0.1, 0.01, 1.0])
def test_inventory_strategy_has_less_risk(results: dict, gamma: float) -> None:  # type: ignore[type-arg]
    inv, sym = results[gamma]["inventory"], results[gamma]["symmetric"]
    assert inv.profit_std < sym.profit_std
    assert inv.q_std < sym.q_std


def test_deterministic_for_a_seed_and_json_shape() -> None:
    a = simulate(0.1, paths=200, seed=5)
    b = simulate(0.1, paths=200, seed=5)
    assert a == b
    assert simulate(0.1, paths=200, seed=6) != a
    js = to_json({0.1: a})
    assert set(js["0.1"]) == {"inventory", "symmetric"}
    assert set(js["0.1"]["inventory"]) == {"spread", "profit_mean", "profit_std", "q_mean", "q_std"}


def test_vectorised_and_venue_fill_probabilities_agree() -> None:
    """The A-S run and the backtest venue use the same intensity model: array and scalar forms match."""
    import numpy as np

    from phoenix.backtest.intensity import IntensityFillModel
    from phoenix.strategy.avellaneda_stoikov import as_fill_intensity

    model = IntensityFillModel(
        a_per_s=140.0, k=1.5, distance_unit="price", first_order=True, floor_delta=None
    )
    deltas = np.array([-0.5, 0.0, 0.3, 0.75, 2.0])
    arr = model.fill_probability_array(deltas, 0.005)
    for d, p in zip(deltas, arr, strict=True):
        assert p == pytest.approx(model.fill_probability(float(d), 0.005))
        assert p == pytest.approx(min(1.0, as_fill_intensity(float(d), 140.0, 1.5) * 0.005))
