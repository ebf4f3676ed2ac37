"""Reproduction of Avellaneda & Stoikov (2008), §3.3 and Tables 1–3 of the published paper (V1).

The paper's Monte-Carlo: mid s moves ±σ√dt each step; at every step the agent quotes (bid, ask); the ask is
hit with probability λ(δᵃ)·dt and the bid with λ(δᵇ)·dt, λ(δ) = A·e^(−kδ), one unit per fill. Quotes:
- ``inventory``: r ∓ spread/2 from the strategy module's pure formulas (``as_bid_ask``, eqs. 29–30);
- ``symmetric``: mid ∓ (time-average of the inventory spread)/2 (``as_average_spread``).
Fills use this backtester's ``IntensityFillModel`` (first-order rule p = λ·dt, as in the paper).
Paths are simulated together (numpy vectors); both strategies see the same prices and uniforms.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from phoenix.backtest.intensity import FloatArray, IntensityFillModel
from phoenix.strategy.avellaneda_stoikov import as_average_spread, as_bid_ask

GAMMAS = (0.1, 0.01, 1.0)

# Published V1 tables: γ → strategy → (spread, profit, std(profit), final q, std(final q))
PUBLISHED_V1: dict[float, dict[str, tuple[float, float, float, float, float]]] = {
    0.1: {"inventory": (1.49, 65.0, 6.6, 0.08, 2.9), "symmetric": (1.49, 68.4, 12.7, 0.26, 8.4)},
    0.01: {"inventory": (1.35, 68.6, 8.7, 0.12, 5.1), "symmetric": (1.35, 68.8, 12.8, 0.09, 8.7)},
    1.0: {"inventory": (3.02, 31.4, 5.0, 0.02, 1.7), "symmetric": (3.02, 44.0, 11.0, 0.00, 5.1)},
}


@dataclass(frozen=True, slots=True)
class AsParams:
    """The paper's simulation parameters (V1 §3.3)."""

    s0: float = 100.0
    T: float = 1.0
    sigma: float = 2.0
    dt: float = 0.005
    k: float = 1.5
    A: float = 140.0


@dataclass(frozen=True, slots=True)
class AsStats:
    """Statistics of one (γ, strategy) over all paths."""

    spread: float
    profit_mean: float
    profit_std: float
    q_mean: float
    q_std: float

    def as_dict(self) -> dict[str, float]:
        """The JSON shape: spread, profit_mean, profit_std, q_mean, q_std."""
        return {
            "spread": self.spread,
            "profit_mean": self.profit_mean,
            "profit_std": self.profit_std,
            "q_mean": self.q_mean,
            "q_std": self.q_std,
        }


def simulate(
    gamma: float, paths: int = 1000, seed: int = 1, params: AsParams | None = None
) -> dict[str, AsStats]:
    """Simulate both strategies for one γ on common random numbers; returns ``{"inventory", "symmetric"}``."""
    p = params or AsParams()
    steps = round(p.T / p.dt)
    rng = np.random.default_rng(seed)
    fill_model = IntensityFillModel(
        a_per_s=p.A, k=p.k, distance_unit="price", first_order=True, floor_delta=None
    )
    sym_spread = as_average_spread(p.T, p.sigma, gamma, p.k)
    s = np.full(paths, p.s0)
    q = {name: np.zeros(paths) for name in ("inventory", "symmetric")}
    x = {name: np.zeros(paths) for name in ("inventory", "symmetric")}
    spread_sum = {"inventory": 0.0, "symmetric": 0.0}
    dmove = p.sigma * math.sqrt(p.dt)
    for i in range(steps):
        t = i * p.dt
        u_ask = rng.random(paths)
        u_bid = rng.random(paths)
        up = rng.random(paths) < 0.5
        for name in ("inventory", "symmetric"):
            if name == "inventory":
                quotes = as_bid_ask(s, q[name], t, p.T, p.sigma, gamma, p.k)  # type: ignore[arg-type]
                bid: FloatArray = np.asarray(quotes[0], dtype=np.float64)
                ask: FloatArray = np.asarray(quotes[1], dtype=np.float64)
            else:
                bid = s - 0.5 * sym_spread
                ask = s + 0.5 * sym_spread
            spread_sum[name] += float(np.mean(ask - bid))
            p_ask = fill_model.fill_probability_array(ask - s, p.dt)
            p_bid = fill_model.fill_probability_array(s - bid, p.dt)
            hit_ask = u_ask < p_ask
            hit_bid = u_bid < p_bid
            q[name] += hit_bid.astype(np.float64) - hit_ask.astype(np.float64)
            x[name] += np.where(hit_ask, ask, 0.0) - np.where(hit_bid, bid, 0.0)
        s = s + np.where(up, dmove, -dmove)
    out: dict[str, AsStats] = {}
    for name in ("inventory", "symmetric"):
        profit = x[name] + q[name] * s
        out[name] = AsStats(
            spread=spread_sum[name] / steps,
            profit_mean=float(np.mean(profit)),
            profit_std=float(np.std(profit, ddof=1)),
            q_mean=float(np.mean(q[name])),
            q_std=float(np.std(q[name], ddof=1)),
        )
    return out


def reproduce(
    paths: int = 1000, seed: int = 1, gammas: tuple[float, ...] = GAMMAS
) -> dict[float, dict[str, AsStats]]:
    """Run the paper's experiment for every γ."""
    return {g: simulate(g, paths, seed + i) for i, g in enumerate(gammas)}


def to_json(results: dict[float, dict[str, AsStats]]) -> dict[str, dict[str, dict[str, float]]]:
    """``{γ: {"inventory"|"symmetric": {spread, profit_mean, profit_std, q_mean, q_std}}}`` with γ as text."""
    return {f"{g:g}": {name: st.as_dict() for name, st in res.items()} for g, res in results.items()}


def format_table(results: dict[float, dict[str, AsStats]]) -> str:
    """Our numbers next to the published V1 table."""
    head = (
        f"{'γ':>5} {'strategy':<10} {'spread':>13} {'profit':>15} {'std(profit)':>15} "
        f"{'final q':>15} {'std(q)':>13}"
    )
    lines = [head, "-" * len(head), "(ours / published)"]
    for g, res in results.items():
        pub = PUBLISHED_V1.get(g)
        for name, st in res.items():
            ref = pub[name] if pub else (math.nan,) * 5
            lines.append(
                f"{g:>5g} {name:<10} {st.spread:6.2f}/{ref[0]:<6.2f} {st.profit_mean:7.2f}/{ref[1]:<7.2f} "
                f"{st.profit_std:7.2f}/{ref[2]:<7.2f} {st.q_mean:7.2f}/{ref[3]:<7.2f} "
                f"{st.q_std:6.2f}/{ref[4]:<6.2f}"
            )
    return "\n".join(lines)
