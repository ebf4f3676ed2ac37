"""Ops commands through the real CLI against the loopback simulator: status, cancel-all, flatten."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path

import pytest
from tests.integration.runner_helpers import (
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

pytestmark = pytest.mark.timeout(90)

PHOENIX = str(Path(sys.executable).parent / "phoenix")


LEAN = (sys.executable, "-m", "phoenix.runner")  # the same commands without the full CLI's imports


async def _cli(
    *args: str, stdin: str = "", cwd: Path | None = None, lean: bool = False
) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PHOENIX_")}
    proc = await asyncio.create_subprocess_exec(
        *(LEAN if lean else (PHOENIX,)),
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
        cwd=cwd,
    )
    out, err = await asyncio.wait_for(proc.communicate(stdin.encode()), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def _start_runner(cfg: Path, cwd: Path) -> asyncio.subprocess.Process:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PHOENIX_")}
    return await asyncio.create_subprocess_exec(
        PHOENIX,
        "run",
        "--config",
        str(cfg),
        "--no-status",
        stderr=asyncio.subprocess.DEVNULL,
        cwd=cwd,
        env=env,
    )


async def test_status_cancel_all_and_flatten(tmp_path: Path) -> None:
    port = free_port()
    async with running_sim(symbols=["ETHUSDC"], feed="manual") as sim:
        pump = MarketPump(sim)
        pump.start()
        data = runner_config(sim, tmp_path / "state", metrics_port=port)
        cfg = write_config(tmp_path / "phoenix.yaml", data)
        runner = await _start_runner(cfg, tmp_path)
        try:
            await wait_for(lambda: side_counts(own_orders(sim)) == (24, 24), 20)
            best_bid = max(o.price_ticks for o in own_orders(sim) if o.side is Side.BUY)
            sim.apply_trade("ETHUSDC", best_bid, 50.0, Side.SELL)
            position = own_position_steps(sim)
            assert position > 0

            code, out, _ = await _cli("status", "--config", str(cfg), "--json")
            assert code == 0
            doc = json.loads(out)
            assert doc["exchange"]["symbols"]["ETHUSDC"]["position"] == pytest.approx(position * 0.001)
            assert doc["runner"]["status"] == "ok"

            runner.send_signal(signal.SIGKILL)  # the orders stay at the exchange
            await runner.wait()
            assert own_orders(sim)

            code, out, _ = await _cli("cancel-all", "--config", str(cfg), lean=True)
            assert code == 0 and "ETHUSDC: cancelled 48" in out
            assert own_orders(sim) == []

            code, out, _ = await _cli("flatten", "--config", str(cfg), stdin="n\n", lean=True)
            assert code == 1 and "aborted" in out
            assert own_position_steps(sim) == position  # nothing happens without confirmation

            code, out, _ = await _cli("flatten", "--config", str(cfg), "--yes")
            assert code == 0, out
            assert own_position_steps(sim) == 0

            code, out, _ = await _cli("status", "--config", str(cfg), lean=True)
            assert code == 0 and "not reachable" in out and "position=0" in out
        finally:
            if runner.returncode is None:
                runner.kill()
                await runner.wait()
            await pump.stop()


async def test_second_instance_is_refused_by_the_lock(tmp_path: Path) -> None:
    async with running_sim(symbols=["ETHUSDC"], feed="manual") as sim:
        pump = MarketPump(sim)
        pump.start()
        cfg = write_config(tmp_path / "phoenix.yaml", runner_config(sim, tmp_path / "state"))
        first = await _start_runner(cfg, tmp_path)
        try:
            await wait_for(lambda: side_counts(own_orders(sim)) == (24, 24), 20)
            code, _, err = await _cli("run", "--config", str(cfg), "--no-status", cwd=tmp_path)
            assert code == 2
            assert f"pid {first.pid}" in err
        finally:
            first.send_signal(signal.SIGINT)  # Ctrl-C: the same graceful stop as SIGTERM
            assert await asyncio.wait_for(first.wait(), 30) == 0
            await pump.stop()
        assert own_orders(sim) == []


async def test_production_script_then_emergency_stop_flattens(tmp_path: Path) -> None:
    repo = Path(__file__).resolve().parents[2]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PHOENIX_")}
    env.update(PHOENIX_BIN=PHOENIX, PHOENIX_PYTHON=sys.executable)
    async with running_sim(symbols=["ETHUSDC"], feed="manual") as sim:
        pump = MarketPump(sim)
        pump.start()
        cfg = write_config(tmp_path / "phoenix.yaml", runner_config(sim, tmp_path / "state"))
        runner = await asyncio.create_subprocess_exec(
            str(repo / "scripts" / "run_production.sh"),
            str(cfg),
            env=env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        try:
            await wait_for(lambda: side_counts(own_orders(sim)) == (24, 24), 20)
            best_bid = max(o.price_ticks for o in own_orders(sim) if o.side is Side.BUY)
            sim.apply_trade("ETHUSDC", best_bid, 50.0, Side.SELL)
            assert own_position_steps(sim) > 0
            stop = await asyncio.create_subprocess_exec(
                str(repo / "scripts" / "emergency_stop.sh"),
                str(cfg),
                env=env,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
            )
            out, _ = await asyncio.wait_for(stop.communicate(), 60)
            assert stop.returncode == 0, out.decode()
            assert await asyncio.wait_for(runner.wait(), 10) == 0  # graceful SIGTERM exit
        finally:
            if runner.returncode is None:
                runner.kill()
                await runner.wait()
            await pump.stop()
        assert own_orders(sim) == []
        assert own_position_steps(sim) == 0
        assert b"stopping runner pid" in out
