"""Supervised asyncio tasks: a crash is logged, counted and restarted with backoff, never silently dead."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from phoenix.log import get_logger

log = get_logger(__name__)

TaskFactory = Callable[[], Awaitable[None]]


@dataclass(slots=True)
class TaskRecord:
    """Book-keeping of one supervised task."""

    name: str
    factory: TaskFactory
    critical: bool
    restarts: int = 0
    last_error: str = ""
    task: asyncio.Task[None] | None = field(default=None, repr=False)


def restart_delay_s(attempt: int, jitter: float, base_s: float = 0.2, cap_s: float = 10.0) -> float:
    """Capped exponential backoff with jitter in [0.5, 1.0] of the step (``jitter`` in [0, 1))."""
    return min(cap_s, base_s * 2.0 ** min(attempt, 16)) * (0.5 + 0.5 * jitter)


class Supervisor:
    """Runs named coroutine factories; restarts them when they raise, stops them all on ``stop()``.

    A task that returns normally is finished (not restarted). A ``critical`` task that crashes more than
    ``max_restarts`` times makes ``wait_failed()`` return, so the app can shut down safely.
    """

    def __init__(
        self,
        *,
        on_restart: Callable[[str, BaseException], None] | None = None,
        max_restarts: int = 50,
        rng: random.Random | None = None,
    ) -> None:
        self._records: dict[str, TaskRecord] = {}
        self._on_restart = on_restart
        self._max_restarts = max_restarts
        self._rng = rng or random.Random(0)
        self._failed = asyncio.Event()
        self.failure: str = ""

    @property
    def records(self) -> dict[str, TaskRecord]:
        """Supervised tasks by name."""
        return self._records

    def start(self, name: str, factory: TaskFactory, *, critical: bool = True) -> None:
        """Start ``factory()`` as a supervised task called ``name``."""
        if name in self._records:
            raise ValueError(f"task {name!r} already supervised")
        rec = TaskRecord(name=name, factory=factory, critical=critical)
        self._records[name] = rec
        rec.task = asyncio.create_task(self._guard(rec), name=name)

    async def _guard(self, rec: TaskRecord) -> None:
        attempt = 0
        while True:
            try:
                await rec.factory()
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # supervision boundary: every crash is logged and restarted
                rec.restarts += 1
                rec.last_error = repr(exc)
                log.error("task_crashed", task=rec.name, restarts=rec.restarts, error=repr(exc), exc_info=exc)
                if self._on_restart is not None:
                    self._on_restart(rec.name, exc)
                if rec.restarts > self._max_restarts:
                    log.critical("task_gave_up", task=rec.name, restarts=rec.restarts)
                    if rec.critical:
                        self.failure = f"task {rec.name} crashed {rec.restarts} times: {rec.last_error}"
                        self._failed.set()
                    return
                delay = restart_delay_s(attempt, self._rng.random())
                attempt += 1
                await asyncio.sleep(delay)
                log.warning("task_restarted", task=rec.name, restarts=rec.restarts)

    async def wait_failed(self) -> str:
        """Return when a critical task gave up (the reason)."""
        await self._failed.wait()
        return self.failure

    async def stop(self, timeout_s: float = 5.0) -> None:
        """Cancel every task and wait for them (bounded)."""
        tasks = [r.task for r in self._records.values() if r.task is not None and not r.task.done()]
        for t in tasks:
            t.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=timeout_s)
