"""The compiled hot path: used only while it matches the sources, and it gives the same results."""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import pytest

import phoenix
from phoenix import _accel

EXT = sysconfig.get_config_var("EXT_SUFFIX") or ".so"


def _fake_build(root: Path) -> None:
    """A tree that looks like a current build: sources, extensions, group library and manifest."""
    digests = {}
    for module in _accel.MODULES:
        src = root.joinpath(*module.split(".")).with_suffix(".py")
        src.parent.mkdir(parents=True, exist_ok=True)
        src.write_text(f"# {module}\n")
        src.with_name(src.stem + EXT).write_bytes(b"not really an extension")
        digests[module] = hashlib.sha256(src.read_bytes()).hexdigest()
    (root / f"{_accel.GROUP}__mypyc{EXT}").write_bytes(b"")
    manifest = {"interpreter": _accel._interpreter(), "sources": digests}
    (root / "phoenix" / _accel.MANIFEST_NAME).write_text(json.dumps(manifest))


def test_a_current_build_is_used(tmp_path: Path) -> None:
    _fake_build(tmp_path)
    st = _accel.check(tmp_path, environ={})
    assert st.compiled and st.mode == "compiled"


def test_no_build_means_pure_python(tmp_path: Path) -> None:
    st = _accel.check(tmp_path, environ={})
    assert not st.compiled and "not built" in st.reason


def test_an_edited_source_makes_the_whole_build_stale(tmp_path: Path) -> None:
    _fake_build(tmp_path)
    edited = tmp_path / "phoenix" / "execution" / "planner.py"
    edited.write_text(edited.read_text() + "x = 1\n")
    st = _accel.check(tmp_path, environ={})
    assert not st.compiled
    assert "stale" in st.reason and "phoenix.execution.planner" in st.reason


def test_a_missing_extension_or_another_interpreter_is_not_used(tmp_path: Path) -> None:
    _fake_build(tmp_path)
    (tmp_path / "phoenix" / "core" / f"book{EXT}").unlink()
    assert "missing the compiled phoenix.core.book" in _accel.check(tmp_path, environ={}).reason
    _fake_build(tmp_path)
    manifest = tmp_path / "phoenix" / _accel.MANIFEST_NAME
    data = json.loads(manifest.read_text())
    data["interpreter"] = "cpython-39-3.9.0"
    manifest.write_text(json.dumps(data))
    assert "built for cpython-39-3.9.0" in _accel.check(tmp_path, environ={}).reason
    manifest.write_text("{not json")
    assert "unreadable manifest" in _accel.check(tmp_path, environ={}).reason


def test_a_compiled_module_outside_the_set_makes_the_build_stale(tmp_path: Path) -> None:
    _fake_build(tmp_path)
    (tmp_path / "phoenix" / "strategy" / f"retired{EXT}").write_bytes(b"")
    st = _accel.check(tmp_path, environ={})
    assert not st.compiled and "phoenix.strategy.retired" in st.reason
    assert (tmp_path / "phoenix" / "strategy" / f"retired{EXT}") in _accel.clean(tmp_path)


def test_the_environment_switch_forces_pure_python(tmp_path: Path) -> None:
    _fake_build(tmp_path)
    st = _accel.check(tmp_path, environ={_accel.PURE_ENV: "1"})
    assert not st.compiled and _accel.PURE_ENV in st.reason
    assert _accel.check(tmp_path, environ={_accel.PURE_ENV: "0"}).compiled


def test_clean_removes_exactly_the_build(tmp_path: Path) -> None:
    _fake_build(tmp_path)
    other = tmp_path / f"someone_else__mypyc{EXT}"
    other.write_bytes(b"")
    removed = _accel.clean(tmp_path)
    assert len(removed) == len(_accel.MODULES) + 2
    assert other.exists()
    assert all(p.exists() for p in tmp_path.rglob("*.py"))
    assert not _accel.check(tmp_path, environ={}).compiled


def test_the_import_hook_loads_the_source_next_to_a_stale_extension(tmp_path: Path) -> None:
    pkg = tmp_path / "accelprobe"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "mod.py").write_text("WHERE = 'source'\n")
    (pkg / f"mod{EXT}").write_bytes(b"garbage: loading this as an extension fails")
    sys.path.insert(0, str(tmp_path))
    hook = _accel._SourceFirst(["accelprobe.mod"])
    try:
        with pytest.raises(ImportError):
            importlib.import_module("accelprobe.mod")
        sys.modules.pop("accelprobe.mod", None)
        sys.meta_path.insert(0, hook)
        assert importlib.import_module("accelprobe.mod").WHERE == "source"
    finally:
        sys.path.remove(str(tmp_path))
        if hook in sys.meta_path:
            sys.meta_path.remove(hook)
        for name in ("accelprobe.mod", "accelprobe"):
            sys.modules.pop(name, None)


def test_a_build_that_cannot_load_is_reported_not_fatal(tmp_path: Path) -> None:
    broken = tmp_path / f"phoenix_probe_broken__mypyc{EXT}"
    broken.write_bytes(b"\x7fELF truncated")
    error = _accel.load_error(broken)
    assert error is not None and "phoenix_probe_broken__mypyc" not in sys.modules
    if phoenix.ACCEL.compiled:  # the real library is loaded in this process: asking again is fine
        assert _accel.load_error(_accel._group_library(_accel.package_root())) is None


def test_this_process_runs_what_the_status_says() -> None:
    import phoenix.trader.trader as trader_module

    st = _accel.status()
    assert st is phoenix.ACCEL
    assert str(trader_module.__file__).endswith(EXT if st.compiled else ".py"), st.reason


_BACKTEST = textwrap.dedent(
    """
    import json
    import phoenix
    from phoenix.backtest.engine import BacktestEngine, BacktestSettings
    from phoenix.backtest.venue import FillModel
    from phoenix.config import parse_config
    from phoenix.exchange.sim.feeds import SyntheticFeed
    from phoenix.exchange.sim.symbols import default_filters

    filters = default_filters(["ETHUSDC"])
    cfg = parse_config({
        "global": {"quote_interval_ms": 100, "sim": {"balance_usdc": 10_000}},
        "symbols": [{"symbol": "ETHUSDC", "net_max": 0.3, "near_layers": 4, "far_layers": 2}],
    })
    feed = SyntheticFeed("ETHUSDC", filters["ETHUSDC"], seed=11, duration_s=240, trade_rate_per_s=6.0)
    eng = BacktestEngine(cfg, filters, [feed], BacktestSettings(fill_model=FillModel.QUEUE))
    summary = eng.run().summary
    summary.pop("wall_seconds")
    assert summary.pop("accel_compiled") == (1 if phoenix.ACCEL.compiled else 0)
    print(json.dumps({"accel": phoenix.ACCEL.mode, "summary": summary, "actions": eng.actions_sent}))
    """
)


def _run_backtest(pure: bool) -> dict[str, object]:
    env = {k: v for k, v in os.environ.items() if k != _accel.PURE_ENV}
    if pure:
        env[_accel.PURE_ENV] = "1"
    out = subprocess.run(
        [sys.executable, "-c", _BACKTEST], env=env, capture_output=True, text=True, timeout=240, check=True
    )
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def test_compiled_and_pure_python_backtests_are_identical() -> None:
    pure = _run_backtest(pure=True)
    default = _run_backtest(pure=False)
    assert pure["accel"] == "pure"
    assert default["accel"] == _accel.check(environ={}).mode  # compiled whenever `make accel` succeeded
    summary = pure["summary"]
    assert isinstance(summary, dict) and summary["events_processed"] > 2000
    # the run traded, so the comparison means something
    assert summary["fill_rate"] > 0.0 and pure["actions"] > 10
    assert default == {**pure, "accel": default["accel"]}
