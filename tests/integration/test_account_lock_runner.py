"""Two runners with different state dirs cannot trade one account (the account lock, over loopback)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from tests.integration.runner_helpers import MarketPump, full_ladder, runner_config, wait_for, write_config

from phoenix.config import load_config
from phoenix.errors import StateError
from phoenix.exchange.sim.testing import running_sim
from phoenix.runner.app import RunnerApp

pytestmark = pytest.mark.timeout(60)


async def test_a_second_runner_on_the_same_account_with_another_state_dir_is_refused(tmp_path: Path) -> None:
    env = {"PHOENIX_LOCK_DIR": str(tmp_path / "locks")}
    async with running_sim(symbols=["ETHUSDC"], feed="manual") as sim:
        pump = MarketPump(sim)
        pump.start()
        apps = []
        for name in ("a", "b"):
            path = write_config(tmp_path / f"{name}.yaml", runner_config(sim, tmp_path / f"state-{name}"))
            config = load_config(path, env={})
            apps.append(RunnerApp(config, config_path=None, install_signal_handlers=False, env=env))

        task = asyncio.get_running_loop().create_task(apps[0].run())
        try:
            await wait_for(lambda: apps[0].ready.is_set() or task.done(), 15)
            await wait_for(lambda: full_ladder(sim), 10)
            with pytest.raises(StateError, match="one instance per account"):
                await apps[1].run()
            assert not apps[1].lock.held  # its state-dir lock was given back
            assert full_ladder(sim)  # the first runner is untouched
        finally:
            apps[0].request_stop("test done")
            assert await asyncio.wait_for(task, 20) == 0
            await pump.stop()
