"""``phoenix backtest`` commands, sweeps on pluggable executors, and the capacity curve."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from phoenix.backtest.capacity import capacity_specs, run_capacity, scale_config
from phoenix.backtest.cli import backtest_app
from phoenix.backtest.metrics import SUMMARY_KEYS
from phoenix.backtest.run import RunSpec
from phoenix.backtest.sweep import expand, parse_grid, run_sweep, set_config_path

BTC = {
    "global": {"sim": {"balance_usdc": 10_000}},
    "symbols": [
        {
            "symbol": "BTCUSDC",
            "net_max": 0.05,
            "near_layers": 4,
            "far_layers": 0,
            "min_spread": 0.00005,
            "near_layer_spacing_bps": 0.5,
        }
    ],
}


def _config_file(tmp_path: Path) -> Path:
    path = tmp_path / "btc.yaml"
    path.write_text(yaml.safe_dump(BTC))
    return path


def test_run_command_and_plain_form(btcusdt_recording: Path, tmp_path: Path) -> None:
    cfg = _config_file(tmp_path)
    runner = CliRunner()
    args = ["--config", str(cfg), "--data", str(btcusdt_recording), "--symbol", "BTCUSDC", "--no-progress"]
    out_a = tmp_path / "a"
    res = runner.invoke(
        backtest_app,
        ["run", *args, "--max-events", "3000", "--out", str(out_a), "--fee", "BTCUSDC=1,3", "--no-ledger"],
    )
    assert res.exit_code == 0, res.output
    summary = json.loads((out_a / "summary.json").read_text())
    assert list(summary) == list(SUMMARY_KEYS) and summary["events_processed"] == 3000
    assert summary["fees"] == pytest.approx(summary["turnover"] * 1e-4)  # all maker fills at 1 bp
    assert not (out_a / "ledger.sqlite3").exists()
    res = runner.invoke(backtest_app, [*args, "--max-events", "3000", "--out", str(tmp_path / "b")])
    assert res.exit_code == 0, res.output
    assert json.loads((tmp_path / "b" / "summary.json").read_text())["events_processed"] == 3000
    assert (tmp_path / "b" / "report.html").exists()


def test_run_command_rejects_unconfigured_symbol(btcusdt_recording: Path, tmp_path: Path) -> None:
    cfg = str(_config_file(tmp_path))
    args = [
        "run",
        "--config",
        cfg,
        "--data",
        str(btcusdt_recording),
        "--symbol",
        "ETHUSDC",
        "--out",
        str(tmp_path),
    ]
    res = CliRunner().invoke(backtest_app, args)
    assert res.exit_code == 2
    assert "not configured" in res.output


def test_as2008_command_writes_json(tmp_path: Path) -> None:
    out = tmp_path / "as.json"
    res = CliRunner().invoke(backtest_app, ["as2008", "--paths", "40", "--json", str(out)])
    assert res.exit_code == 0, res.output
    assert "inventory" in res.output and "65.00" in res.output  # published value printed alongside
    data = json.loads(out.read_text())
    assert set(data) == {"0.1", "0.01", "1"}
    assert data["0.1"]["inventory"]["profit_std"] < data["0.1"]["symmetric"]["profit_std"]


def test_grid_expansion_and_config_paths() -> None:
    grid = parse_grid(["queue_model=risk_averse,prob_log", "symbols.BTCUSDC.min_spread=0.0001,0.0002"])
    assert grid["symbols.BTCUSDC.min_spread"] == [0.0001, 0.0002]
    base = RunSpec(config=BTC, data=("a.dat.gz", "b.dat.gz"))
    specs = expand(base, grid, out_dir="/tmp/x")
    assert len(specs) == 8
    assert {s.queue_model for s in specs} == {"risk_averse", "prob_log"}
    assert specs[1].config["symbols"][0]["min_spread"] == 0.0002
    assert BTC["symbols"][0]["min_spread"] == 0.00005  # the base config is not mutated
    cfg: dict = {"global": {}, "symbols": [{"symbol": "BTCUSDC"}]}  # type: ignore[type-arg]
    set_config_path(cfg, "global.quote_interval_ms", 300)
    assert cfg["global"]["quote_interval_ms"] == 300


def test_sweep_on_a_pluggable_executor(btcusdt_recording: Path, tmp_path: Path) -> None:
    base = RunSpec(
        config=BTC, data=(str(btcusdt_recording),), symbol="BTCUSDC", max_events=2500, ledger=False
    )
    specs = expand(base, parse_grid(["queue_model=risk_averse,prob_power2"]), out_dir=str(tmp_path))
    with ThreadPoolExecutor(max_workers=2) as ex:
        rows = run_sweep(specs, ex)
    assert [r["queue_model"] for r in rows] == ["risk_averse", "prob_power2"]
    assert all(r["events_processed"] == 2500 for r in rows)
    assert (tmp_path / "run_0001" / "summary.json").exists()
    # the default local process pool gives the same numbers (runs are pure functions of their spec)
    rows_pool = run_sweep(specs, workers=2)
    strip = [{k: v for k, v in r.items() if k != "wall_seconds"} for r in rows]
    assert strip == [{k: v for k, v in r.items() if k != "wall_seconds"} for r in rows_pool]


def test_capacity_scales_sizes_and_runs(btcusdt_recording: Path, tmp_path: Path) -> None:
    scaled = scale_config(BTC, 100.0)
    assert scaled["symbols"][0]["net_max"] == 5.0
    assert scaled["global"]["total_notional_max"] == 4e8
    base = RunSpec(
        config=BTC, data=(str(btcusdt_recording),), symbol="BTCUSDC", max_events=2500, ledger=False
    )
    specs = capacity_specs(base, [1e3, 1e5])
    assert specs[1].config["symbols"][0]["near_layer_size"] > specs[0].config["symbols"][0]["near_layer_size"]
    with ThreadPoolExecutor(max_workers=2) as ex:
        rows = run_capacity(base, [1e3, 1e5], executor=ex, out_dir=tmp_path)
    assert [r["capital_usdc"] for r in rows] == [1e3, 1e5]
    assert rows[1]["turnover"] > rows[0]["turnover"]
    assert (tmp_path / "capacity.png").stat().st_size > 0


def test_make_executor_by_name_and_factory() -> None:
    from concurrent.futures import ProcessPoolExecutor

    from phoenix.backtest.sweep import make_executor

    for name, kind in (("thread", ThreadPoolExecutor), ("process", ProcessPoolExecutor)):
        ex = make_executor(name, 1)
        assert isinstance(ex, kind)
        ex.shutdown()
    ex = make_executor("concurrent.futures:ThreadPoolExecutor", 2)  # any factory returning an Executor
    assert isinstance(ex, ThreadPoolExecutor)
    assert ex.submit(sum, [1, 2]).result() == 3
    ex.shutdown()
