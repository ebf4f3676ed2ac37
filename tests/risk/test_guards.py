"""Guard state machine, flicker budget and grinding's volatility measure (unit level)."""

from __future__ import annotations

import math
import random

from phoenix.core.signals import Signals
from phoenix.risk.flicker import FlickerGuard
from phoenix.risk.grinding import price_std_pct
from phoenix.risk.guard import SymbolGuard, TradingState

NS = 1_000_000_000
T = 1_763_974_800 * NS


def test_breach_pauses_for_halt_seconds_then_resumes_when_back_within_limit() -> None:
    g = SymbolGuard("ETHUSDC")
    change = g.on_position(250, 200, 300.0, T)  # 0.25 ETH vs net_max 0.20
    assert (
        change is not None and change.new is TradingState.REDUCING_ONLY and change.reason == "net_max_breach"
    )
    assert g.on_time(150, 200, T + 299 * NS) is None  # still inside the pause
    back = g.on_time(150, 200, T + 300 * NS)
    assert back is not None and back.new is TradingState.ACTIVE
    # a pause does not end while the position is still above the limit
    g.on_position(250, 200, 300.0, T + 400 * NS)
    assert g.on_time(250, 200, T + 2000 * NS) is None
    assert g.state is TradingState.REDUCING_ONLY


def test_halt_is_latched_until_explicit_resume() -> None:
    g = SymbolGuard("ETHUSDC")
    assert g.halt("stop_loss") is not None
    assert g.on_position(0, 200, 300.0, T) is None
    assert g.on_time(0, 200, T + 10**6 * NS) is None
    assert g.halted
    change = g.resume(0, 200, 300.0, T)
    assert change.new is TradingState.ACTIVE


def test_flicker_budget_widens_slows_and_always_refills() -> None:
    f = FlickerGuard(50)
    assert (f.widen_factor(T), f.interval_factor(T)) == (1.0, 1)
    f.record(T, 30)
    assert f.widen_factor(T) == 2.0
    f.record(T + NS, 20)
    assert f.allowance(T + NS) == 0
    assert f.widen_factor(T + NS) == 8.0 and f.interval_factor(T + NS) == 4
    # never a permanent freeze: a minute later the whole budget is back
    assert f.allowance(T + 61 * NS) == 45  # 90 % for optional requotes, 10 % kept for risk cancels
    assert f.widen_factor(T + 61 * NS) == 1.0


def _random_walk(seed: int, seconds: int, sigma_1s_bps: float, start: float = 2820.0) -> Signals:
    rng = random.Random(seed)
    s = Signals()
    p = start
    for k in range(seconds):
        p *= math.exp(rng.gauss(0.0, sigma_1s_bps * 1e-4))
        s.on_mid(T + k * NS, round(p * 200) / 200)  # mids end in .xx0/.xx5 like ETHUSDC
    return s


def test_price_std_pct_is_in_return_units_on_realistic_ethusdc_numbers() -> None:
    calm = _random_walk(1, 1900, 1.2)  # σ(1 s) ≈ 1.2 bps: ETHUSDC's measured calm
    wild = _random_walk(2, 1900, 6.0)  # five times that
    calm_pct = price_std_pct(calm, 1800)
    wild_pct = price_std_pct(wild, 1800)
    assert calm_pct is not None and wild_pct is not None
    # a 30-min random walk at 1.2 bps/s has a price std of roughly 0.1-0.3 % — never a USDC figure
    assert 0.02 < calm_pct < 0.38 < wild_pct
    # not warm: under half a window of samples
    assert price_std_pct(_random_walk(3, 600, 1.2), 1800) is None
