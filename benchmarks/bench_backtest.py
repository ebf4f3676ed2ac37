"""Backtest throughput: events/s on the recorded L2 file and wall seconds per simulated ETHUSDC-like day.

- ``backtest.l2_events_per_s``: feed events per wall second replaying ../shared/data's BTCUSDT recording
  (snapshot + depth diffs + trades + mark price) through the full loop: queue fill model (prob_log), latency,
  the live ``Trader`` (ASMM, 4 near layers per side), ledger off. Best of 3 runs.
- ``backtest.day_seconds``: wall seconds to backtest one day of a synthetic ETHUSDC-like stream (depth every
  100 ms, Poisson trades 2/s, mark price every second), strategy at 100 ms cadence. Measured on
  ``SIM_HOURS`` simulated hours and scaled to 24 h (the loop's cost is linear in simulated time). The
  synthetic events are generated before timing (generating them is the data source's cost, not the
  backtester's; parsing a recorded file is measured by ``l2_events_per_s``). Runs with the compiled hot path
  when it is built (``make accel``, which ``make bench`` runs first).
- ``backtest.day_seconds_pure``: the same in a child process with ``PHOENIX_PURE_PYTHON=1`` (no compiled
  modules), for comparison.
- ``build.accel_compiled``: 1 when this process ran the compiled modules, else 0.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import phoenix
from phoenix.backtest.engine import BacktestEngine, BacktestSettings
from phoenix.backtest.loaders import open_data
from phoenix.backtest.venue import FillModel
from phoenix.config import parse_config
from phoenix.exchange.sim.feeds import SyntheticFeed
from phoenix.exchange.sim.symbols import default_filters

DATA = (
    Path(__file__).resolve().parents[1]
    / ".."
    / "shared"
    / "data"
    / "hftbacktest_usdm_btcusdt_20230404.dat.gz"
)
SIM_HOURS = 1.0


def _config(symbol: str, net_max: float, **extra: Any) -> Any:
    sym = {"symbol": symbol, "net_max": net_max, "near_layers": 4, "far_layers": 0, **extra}
    return parse_config(
        {"global": {"quote_interval_ms": 100, "sim": {"balance_usdc": 10_000}}, "symbols": [sym]}
    )


def l2_events_per_s() -> float:
    """Events/s replaying the real BTCUSDT recording (best of 3)."""
    if not DATA.exists():
        return float("nan")
    filters = default_filters(["BTCUSDC"])
    cfg = _config("BTCUSDC", 0.05, min_spread=0.00005, near_layer_spacing_bps=0.5)
    best = 0.0
    for _ in range(3):
        feed = open_data(DATA, filters["BTCUSDC"])
        eng = BacktestEngine(cfg, filters, [feed], BacktestSettings(fill_model=FillModel.QUEUE))
        t0 = time.perf_counter()
        res = eng.run()
        best = max(best, res.summary["events_processed"] / (time.perf_counter() - t0))
    return best


def day_seconds(hours: float = SIM_HOURS) -> float:
    """Wall seconds per simulated day of a synthetic ETHUSDC-like stream."""
    filters = default_filters(["ETHUSDC"])
    cfg = _config("ETHUSDC", 1.0)
    feed = list(SyntheticFeed("ETHUSDC", filters["ETHUSDC"], seed=3, step_ms=100, duration_s=hours * 3600))
    settings = BacktestSettings(fill_model=FillModel.QUEUE, timer_interval_ms=100)
    eng = BacktestEngine(cfg, filters, [feed], settings)
    t0 = time.perf_counter()
    eng.run()
    return (time.perf_counter() - t0) * 24.0 / hours


def day_seconds_pure() -> float:
    """``day_seconds`` in a child process that runs every module as pure Python."""
    env = {**os.environ, "PHOENIX_PURE_PYTHON": "1"}
    here = str(Path(__file__).parent)
    code = f"import sys; sys.path.insert(0, {here!r}); import bench_backtest as b; print(b.day_seconds())"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def run() -> dict[str, float]:
    """Benchmark metrics."""
    return {
        "backtest.l2_events_per_s": l2_events_per_s(),
        "backtest.day_seconds": day_seconds(),
        "backtest.day_seconds_pure": day_seconds_pure(),
        "build.accel_compiled": 1.0 if phoenix.ACCEL.compiled else 0.0,
    }


if __name__ == "__main__":
    for k, v in run().items():
        sys.stdout.write(f"{k}: {v:,.1f}\n")
