"""Intensity calibration: recovers a known λ(δ) = A·e^(−kδ), runs on the real recording, CLI and errors."""

from __future__ import annotations

import json
import math
import random
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from phoenix.backtest.calibrate import calibrate, calibrate_many, fit_intensity, market_order_reaches
from phoenix.backtest.cli import backtest_app
from phoenix.backtest.loaders import open_data
from phoenix.core.types import Side, SymbolFilters
from phoenix.exchange.sim.feeds import FeedEvent, FeedSnapshot, FeedTrade
from phoenix.exchange.sim.symbols import default_filters

FILTERS = SymbolFilters(
    symbol="TESTUSDC",
    tick_size=Decimal("0.0001"),  # 0.01 bps at a mid of 100: distances are measured finely
    step_size=Decimal("0.001"),
    min_qty=Decimal("0.001"),
    min_notional=Decimal("5"),
)
MID_TICKS = 1_000_000  # mid 100.0


def _synthetic(a_per_s: float, k_per_bp: float, seconds: float, seed: int) -> list[FeedEvent]:
    """A fixed book around 100.0 and market orders per side at rate A whose reach is Exp(k) bps.

    P(reach ≥ δ) = e^(−kδ), so orders reaching δ arrive at A·e^(−kδ) per side: the model exactly. Each order
    prints one to three trades walking out to its reach (one market order, several fills)."""
    rng = random.Random(seed)
    events: list[FeedEvent] = [
        FeedSnapshot(
            "TESTUSDC",
            0,
            tuple((MID_TICKS - i, 10.0) for i in range(1, 50)),
            tuple((MID_TICKS + i, 10.0) for i in range(1, 50)),
        )
    ]
    t = 0.0
    last: tuple[int, Side] | None = None
    while True:
        t += rng.expovariate(2.0 * a_per_s)
        if t >= seconds:
            break
        side = Side.BUY if rng.random() < 0.5 else Side.SELL
        reach_bps = rng.expovariate(k_per_bp)
        ts = int(t * 1000) + 1
        if last == (ts, side):
            ts += 1  # one ms apart: a separate market order
        last = (ts, side)
        sign = 1 if side is Side.BUY else -1
        fills = rng.randint(1, 3)
        for j in range(1, fills + 1):
            ticks = round(reach_bps * j / fills * 1e-4 * MID_TICKS)
            events.append(FeedTrade("TESTUSDC", ts, MID_TICKS + sign * ticks, 0.01, side))
    # the book only serves as the mid: trades do not move it in this test
    return events


def test_recovers_a_known_intensity_curve() -> None:
    events = _synthetic(a_per_s=2.0, k_per_bp=0.8, seconds=20_000, seed=5)
    fit = calibrate(events, FILTERS)
    assert fit.market_orders > 70_000 and fit.trades > fit.market_orders  # trades were grouped into orders
    assert fit.a_per_s == pytest.approx(2.0, rel=0.05)
    assert fit.k_per_bp == pytest.approx(0.8, rel=0.05)
    assert fit.r_squared > 0.99
    # the observed curve at δ = 0 is every order per side per second
    assert fit.observed_per_s[0] == pytest.approx(fit.market_orders / (2 * fit.duration_s))


def test_a_steeper_decay_is_told_apart() -> None:
    flat = calibrate(_synthetic(1.0, 0.5, 10_000, 1), FILTERS)
    steep = calibrate(_synthetic(1.0, 2.0, 10_000, 1), FILTERS)
    assert steep.k_per_bp > 3 * flat.k_per_bp
    assert flat.a_per_s == pytest.approx(steep.a_per_s, rel=0.15)


def test_fit_rejects_data_it_cannot_support() -> None:
    with pytest.raises(ValueError, match="needs trades"):
        fit_intensity([], 100.0)
    with pytest.raises(ValueError, match="no time"):
        fit_intensity([0.1] * 50, 0.0)
    with pytest.raises(ValueError, match="at the mid"):
        fit_intensity([0.0] * 50, 100.0)


def test_a_far_outlier_does_not_blow_up_the_grid() -> None:
    reaches = [0.1 * (i % 20) for i in range(2000)] + [1e6]
    fit = fit_intensity(reaches, 1000.0)
    assert len(fit.grid_bps) <= 10_000 and fit.used_points >= 3


def test_trades_before_a_two_sided_book_are_not_measured() -> None:
    events: list[FeedEvent] = [FeedTrade("TESTUSDC", 1, MID_TICKS, 1.0, Side.BUY)]
    reaches, trades, duration = market_order_reaches(events, FILTERS)
    assert reaches == [] and trades == 0 and duration == 0.0


def test_calibrates_on_the_real_btcusdt_recording(btcusdt_recording: Path) -> None:
    filters = default_filters(["BTCUSDC"])["BTCUSDC"]
    fit = calibrate(open_data(btcusdt_recording, filters), filters)
    again = calibrate(open_data(btcusdt_recording, filters), filters)
    assert fit == again  # deterministic
    assert fit.market_orders > 100 and fit.trades >= fit.market_orders
    assert fit.duration_s > 60
    assert fit.a_per_s > 0 and fit.k_per_bp > 0 and math.isfinite(fit.k_per_bp)
    assert 0.0 < fit.r_squared <= 1.0
    # most market orders only take the touch: the median reach is half a 1-tick spread (~0.02 bps here)
    assert fit.reach_bps_quantiles["p50"] < 0.05 < fit.reach_bps_quantiles["max"]


def test_cli_prints_the_fit_and_writes_json(btcusdt_recording: Path, tmp_path: Path) -> None:
    out = tmp_path / "fit.json"
    res = CliRunner().invoke(
        backtest_app,
        ["calibrate", "--data", str(btcusdt_recording), "--symbol", "BTCUSDC", "--json", str(out)],
    )
    assert res.exit_code == 0, res.output
    assert "--intensity-a" in res.output and "--intensity-k" in res.output
    doc = json.loads(out.read_text())
    assert doc["a_per_s"] > 0 and doc["k_per_bp"] > 0 and doc["market_orders"] > 100
    assert doc["curve"][0]["delta_bps"] == 0.0 and doc["curve"][0]["observed_per_s"] > 0


def test_cli_explains_mid_only_data_and_unknown_symbols(ethusdc_mid_csv: Path) -> None:
    res = CliRunner().invoke(
        backtest_app, ["calibrate", "--data", str(ethusdc_mid_csv), "--symbol", "ETHUSDC"]
    )
    assert res.exit_code == 1 and "needs trades" in res.output
    res = CliRunner().invoke(backtest_app, ["calibrate", "--data", str(ethusdc_mid_csv), "--symbol", "NOPE"])
    assert res.exit_code != 0 and "unknown symbol NOPE" in res.output


def test_several_feeds_add_up_their_orders_and_time() -> None:
    a = _synthetic(2.0, 0.8, 3_000, seed=1)
    b = _synthetic(2.0, 0.8, 4_000, seed=2)
    one, two = calibrate(a, FILTERS), calibrate(b, FILTERS)
    both = calibrate_many([a, b], FILTERS)
    assert both.market_orders == one.market_orders + two.market_orders
    assert both.duration_s == pytest.approx(one.duration_s + two.duration_s)


def test_cli_names_a_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.dat.gz"
    res = CliRunner().invoke(backtest_app, ["calibrate", "--data", str(missing), "--symbol", "BTCUSDC"])
    assert res.exit_code == 1 and "not found" in res.output and "nope.dat.gz" in res.output
