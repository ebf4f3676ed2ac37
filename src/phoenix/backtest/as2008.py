"""Reproduction of Avellaneda & Stoikov (2008), §3.3 and Tables 1–3 of the published paper (V1).

The paper's Monte-Carlo: mid s moves ±σ√dt each step; at every step the agent quotes (bid, ask); the ask is
hit with probability λ(δᵃ)·dt and the bid with λ(δᵇ)·dt, λ(δ) = A·e^(−kδ), one unit per fill.

``simulate`` (used by ``reproduce`` and ``phoenix backtest as2008``) runs it through the backtester: one
synthetic symbol per path (tick 0.0001, step 1 unit, no fees) whose book is the mid at every step; our
orders rest in the backtest venue (``venue.SymbolVenue``, the matching and money code of ``BacktestEngine``)
with the ``intensity`` fill model (``IntensityFillModel``, first-order p = λ·dt, no floor on δ, as in the
paper), and the account books the fills. Quotes:
- ``inventory``: the registered ``avellaneda_stoikov`` strategy (``load_strategy``), given the paper's
  remaining horizon T − t (``as_horizon_s``, 1 paper time unit = 1 s), σ (through ``vol_ref_bps``: with no
  realised 1-s return yet the strategy uses ``vol_ref_bps/√60`` as σ), γ and k;
- ``symmetric``: the paper's benchmark, mid ∓ (time-average of the inventory spread)/2
  (``as_average_spread``), placed as plain orders in the same venue.

``simulate_vectorised`` is the same experiment written directly in numpy from the formula functions: an
independent cross-check (tests), not the reproduction.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

import numpy as np

from phoenix.backtest.account import Account, FeeRates
from phoenix.backtest.intensity import FloatArray, IntensityFillModel
from phoenix.backtest.venue import FillModel, SymbolVenue
from phoenix.config import SymbolConfig
from phoenix.core.store import SymbolState
from phoenix.core.types import OrderType, Side, SymbolFilters, TimeInForce
from phoenix.strategy.avellaneda_stoikov import as_average_spread, as_bid_ask
from phoenix.strategy.base import load_strategy

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


SYMBOL = "ASUSDC"
"""The synthetic symbol of the reproduction."""

FILTERS = SymbolFilters(
    symbol=SYMBOL,
    tick_size=Decimal("0.0001"),
    step_size=Decimal("1"),
    min_qty=Decimal("1"),
    min_notional=Decimal("0"),
    max_qty=Decimal("1000000"),
    percent_up=Decimal("100"),
    percent_down=Decimal("0.01"),
)
"""Fine enough for the paper's units: prices to 0.0001, one unit per order."""

_VENUE_HALF_WIDTH_TICKS = 900_000  # the venue's book is mid ± 90: every quote rests (δ < 0 included)
_STATE_HALF_WIDTH_TICKS = 1  # the strategy sees mid ± 1 tick, as the backtester shows mid-only data
_NS_PER_UNIT = 1_000_000_000  # one paper time unit = 1 s of simulated time
_STRATEGIES = ("inventory", "symmetric")


def _stats(spread_sum: float, steps: int, profit: FloatArray, q: FloatArray) -> AsStats:
    return AsStats(
        spread=spread_sum / steps,
        profit_mean=float(np.mean(profit)),
        profit_std=float(np.std(profit, ddof=1)),
        q_mean=float(np.mean(q)),
        q_std=float(np.std(q, ddof=1)),
    )


class _EnginePath:
    """One path of one strategy: a venue with the intensity fill model, an account and our two orders."""

    def __init__(self, fill_model: IntensityFillModel, seed: int) -> None:
        self.account = Account.create(1e12, {SYMBOL: FILTERS}, {SYMBOL: FeeRates(0.0, 0.0)})
        self.venue = SymbolVenue(
            FILTERS,
            self.account,
            fill_model=FillModel.INTENSITY,
            intensity=fill_model,
            rng=random.Random(seed),
        )
        self.live: list[str] = []
        self.n = 0

    def market(self, mid_ticks: int, now_ns: int) -> None:
        """The book moves to ``mid_ticks``: resting quotes are first evaluated for fills at the old mid."""
        w = _VENUE_HALF_WIDTH_TICKS
        self.venue.on_snapshot([(mid_ticks - w, 1e9)], [(mid_ticks + w, 1e9)], now_ns, now_ns)

    def requote(self, bid_ticks: int, ask_ticks: int, now_ns: int) -> None:
        """Cancel our orders and rest one unit at each price (GTX limit orders)."""
        for coid in self.live:
            self.venue.cancel(coid, now_ns, now_ns)
        self.live.clear()
        for side, price in ((Side.BUY, bid_ticks), (Side.SELL, ask_ticks)):
            self.n += 1
            coid = f"as-{self.n}"
            self.venue.place(coid, side, price, 1, OrderType.LIMIT, TimeInForce.GTX, False, now_ns, now_ns)
            self.live.append(coid)

    @property
    def q(self) -> int:
        """Position in units."""
        return self.account.symbols[SYMBOL].qty_steps

    def profit(self, mid_ticks: int) -> float:
        """Equity change: cash from fills plus the position at the final mid."""
        return self.account.equity_usdc({SYMBOL: mid_ticks * FILTERS.tick}) - self.account.start_wallet_usdc


Quoting = Literal["strategy", "paper"]


def simulate(
    gamma: float,
    paths: int = 1000,
    seed: int = 1,
    params: AsParams | None = None,
    quotes: Quoting = "paper",
) -> dict[str, AsStats]:
    """Both strategies for one γ through the backtest venue (module docstring).

    ``quotes``: ``strategy`` — the inventory quotes come from the registered ``avellaneda_stoikov`` strategy
    (post-only: never through the touch); ``paper`` — from eqs. 29–30 as the paper places them (a bid may
    lie above the mid). Both strategies see the same mid paths; fills draw from per-path seeded RNGs.
    """
    p = params or AsParams()
    steps = round(p.T / p.dt)
    step_ns = round(p.dt * _NS_PER_UNIT)
    fill_model = IntensityFillModel(
        a_per_s=p.A, k=p.k, distance_unit="price", first_order=True, floor_delta=None
    )
    strategy = load_strategy("avellaneda_stoikov")
    base_cfg = SymbolConfig(
        symbol=SYMBOL, net_max=1e6, as_gamma=gamma, as_k=p.k, near_layer_size=1.0, near_layers=1, far_layers=0
    )
    half_sym = 0.5 * as_average_spread(p.T, p.sigma, gamma, p.k)
    tick = FILTERS.tick
    rng = np.random.default_rng(seed)
    dmove_ticks = p.sigma * math.sqrt(p.dt) / tick
    profit = {name: np.zeros(paths) for name in _STRATEGIES}
    qs = {name: np.zeros(paths) for name in _STRATEGIES}
    spread_sum = dict.fromkeys(_STRATEGIES, 0.0)
    # the strategy's σ is vol_ref_bps/√60 bps of the mid per √s: set per step so that σ = p.sigma exactly
    horizons = [p.T - i * p.dt for i in range(steps)]
    for j in range(paths):
        moves = np.where(rng.random(steps) < 0.5, 1.0, -1.0)
        inv = _EnginePath(fill_model, seed * 1_000_003 + 2 * j)
        sym = _EnginePath(fill_model, seed * 1_000_003 + 2 * j + 1)
        state = SymbolState.create(base_cfg, FILTERS)
        state.in_sync = True
        s_exact = p.s0 / tick
        for i in range(steps):
            now_ns = i * step_ns
            mid_ticks = round(s_exact)
            inv.market(mid_ticks, now_ns)
            sym.market(mid_ticks, now_ns)
            mid = mid_ticks * tick
            if quotes == "strategy":
                w = _STATE_HALF_WIDTH_TICKS
                state.book.apply_snapshot([(mid_ticks - w, 1e9)], [(mid_ticks + w, 1e9)], now_ns)
                state.position.qty_steps = inv.q
                state.config = base_cfg.model_copy(
                    update={"as_horizon_s": horizons[i], "vol_ref_bps": p.sigma / mid * 1e4 * math.sqrt(60.0)}
                )
                quoted = strategy.quote(state, now_ns)
                bid, ask = quoted.bids[0].price_ticks, quoted.asks[0].price_ticks
            else:
                b, a = as_bid_ask(mid, inv.q, i * p.dt, p.T, p.sigma, gamma, p.k)
                bid, ask = math.floor(b / tick + 1e-9), math.ceil(a / tick - 1e-9)
            inv.requote(bid, ask, now_ns)
            spread_sum["inventory"] += (ask - bid) * tick
            sbid = math.floor((mid - half_sym) / tick + 1e-9)
            sask = math.ceil((mid + half_sym) / tick - 1e-9)
            sym.requote(sbid, sask, now_ns)
            spread_sum["symmetric"] += (sask - sbid) * tick
            s_exact += moves[i] * dmove_ticks
        end_ticks = round(s_exact)
        for name, path in (("inventory", inv), ("symmetric", sym)):
            path.market(end_ticks, steps * step_ns)
            profit[name][j] = path.profit(end_ticks)
            qs[name][j] = path.q
    return {name: _stats(spread_sum[name] / paths, steps, profit[name], qs[name]) for name in _STRATEGIES}


def simulate_vectorised(
    gamma: float, paths: int = 1000, seed: int = 1, params: AsParams | None = None
) -> dict[str, AsStats]:
    """The same experiment in numpy from the formula functions (an independent cross-check of ``simulate``).

    Both strategies see the same prices and uniforms; returns ``{"inventory", "symmetric"}``.
    """
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
    return {name: _stats(spread_sum[name], steps, x[name] + q[name] * s, q[name]) for name in _STRATEGIES}


def reproduce(
    paths: int = 1000,
    seed: int = 1,
    gammas: tuple[float, ...] = GAMMAS,
    *,
    quotes: Quoting = "paper",
    vectorised: bool = False,
) -> dict[float, dict[str, AsStats]]:
    """The paper's experiment for every γ through the backtester (``vectorised``: the numpy cross-check)."""
    if vectorised:
        return {g: simulate_vectorised(g, paths, seed + i) for i, g in enumerate(gammas)}
    return {g: simulate(g, paths, seed + i, quotes=quotes) for i, g in enumerate(gammas)}


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
