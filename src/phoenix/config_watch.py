"""Hot reload: watch the config file, validate the whole new file, apply only reloadable fields atomically.

An invalid file keeps the current config and logs one error naming every offending key.
Subscribers get each new effective config through a callback and/or an async iterator.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import watchfiles

from phoenix.config import PhoenixConfig, load_config, merge_reload
from phoenix.errors import ConfigError
from phoenix.log import get_logger

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class ReloadResult:
    """Outcome of one reload attempt."""

    applied: bool
    config: PhoenixConfig  # the effective config after the attempt (the old one when rejected)
    changed_keys: tuple[str, ...] = ()
    ignored_keys: tuple[str, ...] = ()  # changed but not reloadable: need a restart
    errors: tuple[str, ...] = ()


def _diff_keys(old: PhoenixConfig, new: PhoenixConfig) -> tuple[str, ...]:
    a, b = old.model_dump(mode="json", by_alias=True), new.model_dump(mode="json", by_alias=True)
    out: list[str] = []

    def walk(x: object, y: object, prefix: str) -> None:
        if isinstance(x, dict) and isinstance(y, dict):
            for k in sorted(set(x) | set(y)):
                walk(x.get(k), y.get(k), f"{prefix}{k}.")
        elif isinstance(x, list) and isinstance(y, list) and len(x) == len(y):
            for i, (u, v) in enumerate(zip(x, y, strict=True)):
                name = u.get("symbol", i) if isinstance(u, dict) else i
                walk(u, v, f"{prefix[:-1]}[{name}].")
        elif x != y:
            out.append(prefix[:-1])

    walk(a, b, "")
    return tuple(out)


class ConfigWatcher:
    """Watches one YAML file and publishes validated, merged configs.

    Use ``reload_now()`` to re-read synchronously (tests, SIGHUP) or ``run()`` as a task to follow
    file changes (debounced by ``debounce_ms``). ``subscribe(callback)`` and ``updates()`` deliver
    every applied config.
    """

    def __init__(
        self,
        path: str | Path,
        initial: PhoenixConfig,
        *,
        env: Mapping[str, str] | None = None,
        debounce_ms: int = 300,
    ) -> None:
        self.path = Path(path)
        self.current = initial
        self._env = env
        self._debounce_ms = debounce_ms
        self._callbacks: list[Callable[[PhoenixConfig], None]] = []
        self._queues: list[asyncio.Queue[PhoenixConfig]] = []

    def subscribe(self, callback: Callable[[PhoenixConfig], None]) -> None:
        """Call ``callback(new_config)`` after every applied reload."""
        self._callbacks.append(callback)

    async def updates(self) -> AsyncIterator[PhoenixConfig]:
        """Async iterator of applied configs (one queue per consumer)."""
        queue: asyncio.Queue[PhoenixConfig] = asyncio.Queue()
        self._queues.append(queue)
        try:
            while True:
                yield await queue.get()
        finally:
            self._queues.remove(queue)

    def reload_now(self) -> ReloadResult:
        """Re-read and validate the file; apply reloadable changes atomically or keep the old config."""
        try:
            candidate = load_config(self.path, env=self._env)
        except ConfigError as exc:
            log.error("config_reload_rejected", path=str(self.path), errors=exc.problems)
            return ReloadResult(applied=False, config=self.current, errors=tuple(exc.problems))
        merged, ignored = merge_reload(self.current, candidate)
        if ignored:
            log.warning("config_reload_needs_restart", path=str(self.path), keys=ignored)
        changed = _diff_keys(self.current, merged)
        if not changed:
            return ReloadResult(applied=False, config=self.current, ignored_keys=tuple(ignored))
        self.current = merged
        log.info("config_reloaded", path=str(self.path), changed=list(changed))
        for callback in self._callbacks:
            callback(merged)
        for queue in self._queues:
            queue.put_nowait(merged)
        return ReloadResult(applied=True, config=merged, changed_keys=changed, ignored_keys=tuple(ignored))

    async def run(self, stop_event: asyncio.Event | None = None) -> None:
        """Follow file changes until cancelled (or ``stop_event`` is set)."""
        watch_dir = self.path.resolve().parent
        target = self.path.resolve()
        async for changes in watchfiles.awatch(
            watch_dir, debounce=self._debounce_ms, stop_event=stop_event, recursive=False
        ):
            if any(Path(p).resolve() == target for _, p in changes):
                try:
                    self.reload_now()
                except Exception:  # a subscriber bug must never kill the watcher task
                    log.exception("config_reload_failed", path=str(self.path))
