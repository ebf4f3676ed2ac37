"""Hot reload against a real file on disk."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from phoenix.config import PhoenixConfig, load_config
from phoenix.config_watch import ConfigWatcher

BASE = """
global:
  quote_interval_ms: 200
symbols:
  - symbol: ETHUSDC
    net_max: 0.20
"""


def test_reload_now_applies_valid_and_rejects_invalid(tmp_path: Path) -> None:
    path = tmp_path / "phoenix.yaml"
    path.write_text(BASE)
    watcher = ConfigWatcher(path, load_config(path, env={}), env={})
    seen: list[PhoenixConfig] = []
    watcher.subscribe(seen.append)

    path.write_text(BASE.replace("0.20", "0.15").replace("200", "300"))
    result = watcher.reload_now()
    assert result.applied
    assert set(result.changed_keys) == {"global.quote_interval_ms", "symbols[ETHUSDC].net_max"}
    assert watcher.current.symbol("ETHUSDC").net_max == 0.15
    assert [c.global_.quote_interval_ms for c in seen] == [300]

    path.write_text(BASE.replace("0.20", "-1"))
    rejected = watcher.reload_now()
    assert not rejected.applied
    assert rejected.errors and "symbols[ETHUSDC].net_max" in rejected.errors[0]
    assert watcher.current.symbol("ETHUSDC").net_max == 0.15  # old config kept
    assert len(seen) == 1

    path.write_text(
        BASE.replace("0.20", "0.15").replace("200", "300") + "  - symbol: SOLUSDC\n    net_max: 1\n"
    )
    restart = watcher.reload_now()
    assert not restart.applied and restart.ignored_keys  # adding a symbol needs a restart
    assert [s.symbol for s in watcher.current.symbols] == ["ETHUSDC"]


async def test_watcher_task_follows_file_edits(tmp_path: Path) -> None:
    path = tmp_path / "phoenix.yaml"
    path.write_text(BASE)
    watcher = ConfigWatcher(path, load_config(path, env={}), env={}, debounce_ms=50)
    stop = asyncio.Event()
    updates = watcher.updates()
    next_update = asyncio.ensure_future(anext(updates))
    task = asyncio.create_task(watcher.run(stop_event=stop))
    try:
        await asyncio.sleep(0.3)  # let the OS watch register before editing
        path.write_text(BASE.replace("0.20", "0.12"))
        new = await asyncio.wait_for(next_update, timeout=10)
        assert new.symbol("ETHUSDC").net_max == 0.12
        path.write_text("symbols: [oops")
        await asyncio.sleep(0.5)
        assert watcher.current.symbol("ETHUSDC").net_max == 0.12
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=10)
        await updates.aclose()
    assert task.done() and task.exception() is None


@pytest.mark.parametrize("bad", ["", "[1, 2]", "symbols: 5"])
def test_rejected_edits_keep_old_config(tmp_path: Path, bad: str) -> None:
    path = tmp_path / "phoenix.yaml"
    path.write_text(BASE)
    watcher = ConfigWatcher(path, load_config(path, env={}), env={})
    path.write_text(bad)
    assert not watcher.reload_now().applied
    assert watcher.current.symbol("ETHUSDC").net_max == 0.20
