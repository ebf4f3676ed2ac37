"""Supervisor: crashing tasks are restarted and counted; a critical task that keeps crashing is reported."""

from __future__ import annotations

import asyncio

from phoenix.runner.supervisor import Supervisor, restart_delay_s


def test_restart_delay_is_capped_and_grows() -> None:
    assert restart_delay_s(0, 0.999) < restart_delay_s(3, 0.999)
    assert restart_delay_s(50, 0.999) <= 10.0


async def test_crashing_task_is_restarted_until_it_succeeds() -> None:
    attempts: list[int] = []
    restarted: list[str] = []
    done = asyncio.Event()

    async def flaky() -> None:
        attempts.append(1)
        if len(attempts) < 3:
            raise RuntimeError("boom")
        done.set()

    sup = Supervisor(on_restart=lambda name, exc: restarted.append(name))
    sup.start("flaky", flaky)
    await asyncio.wait_for(done.wait(), 10)
    assert len(attempts) == 3
    assert restarted == ["flaky", "flaky"]
    assert sup.records["flaky"].restarts == 2
    assert "boom" in sup.records["flaky"].last_error
    await sup.stop()


async def test_critical_task_that_keeps_crashing_fails_the_supervisor() -> None:
    async def always() -> None:
        raise ValueError("broken")

    sup = Supervisor(max_restarts=1)
    sup.start("worker", always)
    reason = await asyncio.wait_for(sup.wait_failed(), 10)
    assert "worker" in reason and "broken" in reason
    await sup.stop()


async def test_stop_cancels_running_tasks() -> None:
    started = asyncio.Event()

    async def forever() -> None:
        started.set()
        await asyncio.sleep(3600)

    sup = Supervisor()
    sup.start("forever", forever)
    await started.wait()
    await sup.stop()
    task = sup.records["forever"].task
    assert task is not None and task.cancelled()
