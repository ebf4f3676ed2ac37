"""The runner as a real CLI process: ``make run``'s command, kill -9 recovery, SIGSTOP ⇒ dead-man switch."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from tests.integration.runner_helpers import (
    REPO_ROOT,
    MarketPump,
    free_port,
    own_orders,
    own_position_steps,
    runner_config,
    side_counts,
    wait_for,
    write_config,
)

from phoenix.core.types import Side
from phoenix.exchange.sim.testing import running_sim
from phoenix.persistence.ledger import LEDGER_FILE_NAME, LedgerReader
from phoenix.persistence.report import build_report

pytestmark = pytest.mark.timeout(120)

PHOENIX = [str(Path(sys.executable).parent / "phoenix")]
REPORT_KEYS = {
    "orders_placed",
    "orders_cancelled",
    "fills",
    "fill_rate",
    "pnl",
    "fees",
    "cancels_per_min_max",
    "max_abs_position_ratio",
    "rate_limit_peak_pct",
    "decision_latency_p50_us",
    "decision_latency_p99_us",
    "peak_rss_mb",
    "errors_by_code",
    "symbols",
}


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PHOENIX_")}
    env.update(extra)
    return env


def test_readme_first_command_quotes_four_symbols_24_layers_within_10s(tmp_path: Path) -> None:
    report_path = tmp_path / "report.json"
    proc = subprocess.run(
        [
            *PHOENIX,
            "run",
            "--config",
            str(REPO_ROOT / "configs" / "phoenix.yaml"),
            "--duration",
            "3",
            "--report-json",
            str(report_path),
        ],
        cwd=tmp_path,
        env=_env(PHOENIX_GLOBAL__METRICS__PORT="0"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(report_path.read_text())
    assert report.keys() >= REPORT_KEYS
    assert report["time_to_full_ladders_s"] is not None and report["time_to_full_ladders_s"] <= 10.0
    assert set(report["symbols"]) == {"ETHUSDC", "SOLUSDC", "XRPUSDC", "BTCUSDC"}
    for symbol, row in report["symbols"].items():
        assert row["bid_layers"] == 24 and row["ask_layers"] == 24, (symbol, row)
        assert row["final_bid_layers"] > 0 and row["final_ask_layers"] > 0, (symbol, row)
        assert row["state"] == "active"
    assert report["orders_placed"] >= 4 * 48
    assert report["decision_latency_p99_us"] > 0
    assert report["rate_limit_peak_pct"] < 100
    # JSON logs (stderr is not a TTY) with an event field on every line
    lines = [json.loads(x) for x in proc.stderr.splitlines() if x.startswith("{")]
    assert lines and all("event" in x for x in lines)
    # the ledger reconciles to the wallet after the run
    report_cli = subprocess.run(
        [*PHOENIX, "report", "--state-dir", str(tmp_path / "state"), "--json"],
        capture_output=True,
        text=True,
        timeout=30,
        env=_env(),
    )
    assert report_cli.returncode == 0, report_cli.stderr
    doc = json.loads(report_cli.stdout)
    assert doc["wallet_check"]["ok"] is True


async def _health(port: int) -> dict[str, Any] | None:
    try:
        url = f"http://127.0.0.1:{port}/health"
        timeout = aiohttp.ClientTimeout(2)
        async with aiohttp.ClientSession(timeout=timeout) as session, session.get(url) as r:
            data: dict[str, Any] = await r.json()
            return data
    except (aiohttp.ClientError, TimeoutError):
        return None


async def _await_health(
    port: int, cond: Callable[[dict[str, Any]], bool], timeout_s: float
) -> dict[str, Any]:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout_s:
        h = await _health(port)
        if h is not None and cond(h):
            return h
        await asyncio.sleep(0.1)
    raise AssertionError(f"health condition not met within {timeout_s} s")


def _start_runner(config_path: Path, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*PHOENIX, "run", "--config", str(config_path), "--no-status"],
        cwd=cwd,
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


async def _stop(proc: subprocess.Popen[str], timeout_s: float = 30.0) -> int:
    """SIGTERM and wait without blocking the loop (the simulator in this loop must keep answering)."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    t0 = time.monotonic()
    while proc.poll() is None and time.monotonic() - t0 < timeout_s:
        await asyncio.sleep(0.05)
    if proc.poll() is None:
        proc.kill()
        proc.wait(5)
        raise AssertionError("runner did not stop within the timeout after SIGTERM")
    return proc.returncode


async def test_kill_9_then_restart_matches_the_exchange_without_duplicates(tmp_path: Path) -> None:
    port = free_port()
    async with running_sim(symbols=["ETHUSDC"], feed="manual") as sim:
        pump = MarketPump(sim)
        pump.start()
        cfg = write_config(
            tmp_path / "phoenix.yaml",
            runner_config(
                sim, tmp_path / "state", metrics_port=port, snapshot_interval_s=5, reconcile_interval_s=2
            ),
        )
        first = _start_runner(cfg, tmp_path)
        try:
            await wait_for(lambda: side_counts(own_orders(sim)) == (24, 24), 20)
            best_bid = max(o.price_ticks for o in own_orders(sim) if o.side is Side.BUY)
            sim.apply_trade("ETHUSDC", best_bid, 50.0, Side.SELL)
            filled = own_position_steps(sim)
            assert filled > 0

            await _await_health(port, lambda h: h["symbols"]["ETHUSDC"]["position"] > 0, 5)

            def snapshot_written() -> bool:
                ledger = tmp_path / "state" / LEDGER_FILE_NAME
                if not ledger.exists():
                    return False
                with LedgerReader(ledger) as reader:
                    return reader.latest_snapshot() is not None

            # a snapshot with open orders exists: the restart restores them as UNKNOWN and must confirm them
            await wait_for(snapshot_written, 10, step_s=0.2)
            first.send_signal(signal.SIGKILL)
            first.wait(10)
            # the exchange keeps the orders (dead-man countdown 30 s): the restart must adopt, not duplicate
            assert own_orders(sim)
            t0 = time.monotonic()
            second = _start_runner(cfg, tmp_path)
            try:

                def consistent(h: dict[str, Any]) -> bool:
                    if not h.get("ready"):
                        return False
                    row = h["symbols"]["ETHUSDC"]
                    bids, asks = side_counts(own_orders(sim))
                    pos = own_position_steps(sim) * 0.001
                    return (
                        abs(row["position"] - pos) < 1e-9
                        and (row["bid_layers"], row["ask_layers"]) == (bids, asks)
                        and bids == 24
                        and asks == 24
                    )

                await _await_health(port, consistent, 30)
                assert time.monotonic() - t0 < 30
                coids = [o.client_order_id for o in own_orders(sim)]
                assert len(coids) == len(set(coids))
            finally:
                assert await _stop(second) == 0
        finally:
            if first.poll() is None:
                first.kill()
            await pump.stop()
        assert own_orders(sim) == []
        assert own_position_steps(sim) == filled  # stop keeps the inventory
    with LedgerReader(tmp_path / "state" / LEDGER_FILE_NAME) as reader:
        placed = reader.placed_order_ids()
        assert len(placed) == len(set(placed)), "a client order id was reused"
        assert reader.run_count() == 2
        fills = reader.fills()
        assert sum(f.qty for f in fills) == pytest.approx(filled * 0.001)
        report = build_report(reader)
    assert report.wallet is not None and report.wallet.ok


async def test_frozen_runner_is_cancelled_by_the_exchange_dead_man_switch(tmp_path: Path) -> None:
    async with running_sim(symbols=["ETHUSDC"], feed="manual") as sim:
        pump = MarketPump(sim)
        pump.start()
        cfg = write_config(
            tmp_path / "phoenix.yaml",
            runner_config(sim, tmp_path / "state", deadman_countdown_ms=5000, deadman_refresh_s=1.0),
        )
        proc = _start_runner(cfg, tmp_path)
        try:
            await wait_for(lambda: side_counts(own_orders(sim)) == (24, 24), 20)
            proc.send_signal(signal.SIGSTOP)
            took = await wait_for(lambda: not own_orders(sim), 10, step_s=0.1)
            assert took <= 5.0 + 1.5  # countdown from the last refresh (≤ 1 s before the freeze) + slack
            proc.send_signal(signal.SIGCONT)
            # alive again: the runner learns the cancels and quotes again
            await wait_for(lambda: side_counts(own_orders(sim)) == (24, 24), 20)
        finally:
            proc.send_signal(signal.SIGCONT)
            code = await _stop(proc)
            await pump.stop()
        assert code == 0
