"""The compiled hot path: the trading core and the backtest loop built into C extensions with mypyc.

The same Python source (``mypy --strict`` clean) is compiled by mypyc (part of mypy) into extension
modules next to the sources. A backtest day then takes about half the wall time (measured: 31.1 s instead
of 64.4 s for ``backtest.day_seconds``), and so does the live decision (``core.decision.p99_us`` 81 µs, 150 µs
as pure Python).

The compiled build is used only while it is exactly the source on disk. ``phoenix/__init__`` calls
``install()`` before any other module is imported; it compares the SHA-256 of every compiled module's
source with the manifest the build wrote. If anything differs (a module was edited after the build, a
different Python, a missing extension) or ``PHOENIX_PURE_PYTHON=1`` is set, an import hook loads every
module of the set from its ``.py`` source instead, so a stale binary can never run. The set is all or
nothing: compiled modules call each other directly, so a mix could run old code.

Build: ``phoenix accel build`` (``make accel``; needs a C compiler and the Python headers).
Without them Phoenix runs as pure Python, with identical results (a test compares the two).
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import importlib.util
import json
import os
import sys
import sysconfig
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

PURE_ENV = "PHOENIX_PURE_PYTHON"
GROUP = "phoenix_accel"
MANIFEST_NAME = "_accel_manifest.json"

# The modules on the per-event path of the live runner and the backtester (profiled: these hold > 95 % of
# a backtest's time). Interpreted subclasses of compiled classes are not allowed, so a base class and its
# subclasses are compiled together (SymbolVenue / SimEngineVenue, QuotingMixin / Trader). Modules whose
# functions also take numpy arrays where they declare floats (the A-S vectorised check) stay interpreted:
# compiled code checks argument types at run time.
MODULES: tuple[str, ...] = (
    "phoenix.core.book",
    "phoenix.core.signals",
    "phoenix.core.store",
    "phoenix.strategy.finishing",
    "phoenix.strategy.pinning",
    "phoenix.strategy.asmm",
    "phoenix.risk.flicker",
    "phoenix.risk.grinding",
    "phoenix.risk.guard",
    "phoenix.risk.portfolio",
    "phoenix.risk.pretrade",
    "phoenix.execution.diff",
    "phoenix.execution.orders",
    "phoenix.execution.planner",
    "phoenix.execution.ratebudget",
    "phoenix.trader.runtime",
    "phoenix.trader.quoting",
    "phoenix.trader.trader",
    "phoenix.backtest.queue",
    "phoenix.backtest.latency",
    "phoenix.backtest.account",
    "phoenix.backtest.venue",
    "phoenix.backtest.sim_venue",
    "phoenix.backtest.engine",
)


@dataclass(frozen=True, slots=True)
class AccelStatus:
    """Whether the compiled modules are in use, and why not when they are not."""

    compiled: bool
    reason: str

    @property
    def mode(self) -> str:
        """``"compiled"`` or ``"pure"``."""
        return "compiled" if self.compiled else "pure"


def package_root() -> Path:
    """The directory that contains the ``phoenix`` package (``src/`` of a checkout, or site-packages)."""
    return Path(__file__).resolve().parent.parent


def _source(root: Path, module: str) -> Path:
    return root.joinpath(*module.split(".")).with_suffix(".py")


def _extension(root: Path, module: str) -> Path:
    suffix = sysconfig.get_config_var("EXT_SUFFIX") or ".so"
    return root.joinpath(*module.split(".")).with_name(module.rsplit(".", 1)[1] + suffix)


def _group_library(root: Path) -> Path:
    suffix = sysconfig.get_config_var("EXT_SUFFIX") or ".so"
    return root / f"{GROUP}__mypyc{suffix}"


def _extensions_present(root: Path) -> dict[str, Path]:
    """Every compiled module file inside the phoenix package (module name → path), listed or not."""
    suffix = sysconfig.get_config_var("EXT_SUFFIX") or ".so"
    found: dict[str, Path] = {}
    for path in (root / "phoenix").rglob(f"*{suffix}"):
        parts = path.relative_to(root).parts
        found[".".join((*parts[:-1], parts[-1][: -len(suffix)]))] = path
    return found


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _interpreter() -> str:
    return f"{sys.implementation.cache_tag}-{sys.version_info[0]}.{sys.version_info[1]}.{sys.version_info[2]}"


def check(root: Path | None = None, environ: dict[str, str] | None = None) -> AccelStatus:
    """Decide whether the compiled build under ``root`` may be used (it must match the sources exactly)."""
    root = package_root() if root is None else root
    env = os.environ if environ is None else environ
    if env.get(PURE_ENV, "") not in ("", "0"):
        return AccelStatus(False, f"{PURE_ENV} is set")
    manifest_path = root / "phoenix" / MANIFEST_NAME
    if not manifest_path.is_file():
        return AccelStatus(False, "not built (run `make accel`)")
    try:
        manifest = json.loads(manifest_path.read_text())
        sources: dict[str, str] = manifest["sources"]
        interpreter: str = manifest["interpreter"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return AccelStatus(False, f"unreadable manifest {manifest_path}: {exc}")
    if interpreter != _interpreter():
        return AccelStatus(False, f"built for {interpreter}, running {_interpreter()} (run `make accel`)")
    if set(sources) != set(MODULES):
        return AccelStatus(False, "built for a different module set (run `make accel`)")
    unexpected = sorted(set(_extensions_present(root)) - set(MODULES))
    if unexpected:
        return AccelStatus(False, f"stale: {unexpected[0]} is compiled but not in the set (run `make accel`)")
    if not _group_library(root).is_file():
        return AccelStatus(False, f"missing {_group_library(root).name} (run `make accel`)")
    for module in MODULES:
        src = _source(root, module)
        if not _extension(root, module).is_file():
            return AccelStatus(False, f"missing the compiled {module} (run `make accel`)")
        try:
            if _digest(src) != sources[module]:
                return AccelStatus(
                    False, f"stale: {src.name} ({module}) changed since the build (run `make accel`)"
                )
        except OSError as exc:
            return AccelStatus(False, f"cannot read {src}: {exc}")
    return AccelStatus(True, "compiled build matches the sources")


class _SourceFirst:
    """A ``sys.meta_path`` finder: loads the listed modules from their ``.py`` source even when a compiled
    extension sits beside it. (Not an ``importlib.abc`` subclass: importing that costs ~15 ms at startup.)"""

    def __init__(self, modules: Sequence[str]) -> None:
        self.modules = frozenset(modules)

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        """A source spec for a listed module; None (let the normal finders run) for anything else."""
        if fullname not in self.modules or not path:
            return None
        name = fullname.rsplit(".", 1)[1] + ".py"
        for entry in path:
            candidate = Path(entry) / name
            if candidate.is_file():
                return importlib.util.spec_from_file_location(fullname, candidate)
        return None


def load_error(library: Path) -> str | None:
    """None when the extension ``library`` loads (or is loaded already), else why it does not."""
    name = library.name.split(".", 1)[0]
    if name in sys.modules:
        return None
    loader = importlib.machinery.ExtensionFileLoader(name, str(library))
    spec = importlib.util.spec_from_loader(name, loader)
    if spec is None:
        return f"no loader for {library}"
    try:
        module = importlib.util.module_from_spec(spec)
        loader.exec_module(module)
    except ImportError as exc:
        return str(exc)
    sys.modules[name] = module
    return None


_STATUS: AccelStatus | None = None


def install() -> AccelStatus:
    """Use the compiled modules if they match the sources, else force every one of them to load from source.

    Called once by ``phoenix/__init__`` before any other phoenix module is imported.
    """
    global _STATUS
    if _STATUS is not None:
        return _STATUS
    status = check()
    if status.compiled:
        # a build that matches but cannot load (another libc, a truncated file) must not stop Phoenix
        error = load_error(_group_library(package_root()))
        if error is not None:
            status = AccelStatus(False, f"compiled build cannot be loaded ({error}); run `make accel`")
    if not status.compiled and not any(isinstance(f, _SourceFirst) for f in sys.meta_path):
        present = _extensions_present(package_root())
        if present:
            sys.meta_path.insert(0, _SourceFirst([*MODULES, *present]))
    _STATUS = status
    return status


def status() -> AccelStatus:
    """The decision ``install()`` made for this process."""
    return install()


# --------------------------------------------------------------------------- build


def clean(root: Path | None = None) -> list[Path]:
    """Remove every compiled module of the phoenix package, the group library and the manifest."""
    root = package_root() if root is None else root
    removed: list[Path] = []
    for path in [*_extensions_present(root).values(), _group_library(root), root / "phoenix" / MANIFEST_NAME]:
        if path.exists():
            path.unlink()
            removed.append(path)
    return removed


def build(root: Path | None = None, *, jobs: int = 0) -> AccelStatus:
    """Compile ``MODULES`` in place under ``root`` and write the manifest. Raises on a failed build."""
    import contextlib
    import tempfile

    from mypyc.build import mypycify
    from setuptools import setup  # type: ignore[import-untyped]

    root = package_root() if root is None else root
    clean(root)
    rel = [str(_source(root, m).relative_to(root)) for m in MODULES]
    digests = {m: _digest(_source(root, m)) for m in MODULES}
    jobs = jobs or os.cpu_count() or 1
    saved_cache = os.environ.get("MYPY_CACHE_DIR")
    try:
        with tempfile.TemporaryDirectory(prefix="phoenix-accel-") as tmp, contextlib.chdir(root):
            os.environ["MYPY_CACHE_DIR"] = os.path.join(tmp, "mypy")  # keep mypy's cache out of the tree
            extensions = mypycify(
                rel, opt_level="3", multi_file=jobs > 1, group_name=GROUP, target_dir=os.path.join(tmp, "c")
            )
            args = [
                "-q",
                "build_ext",
                "--inplace",
                "-t",
                os.path.join(tmp, "t"),
                "-b",
                os.path.join(tmp, "b"),
                f"-j{jobs}",
            ]
            setup(name="phoenix-accel", ext_modules=extensions, script_args=args)
    finally:
        if saved_cache is None:
            os.environ.pop("MYPY_CACHE_DIR", None)
        else:
            os.environ["MYPY_CACHE_DIR"] = saved_cache
    manifest = {"interpreter": _interpreter(), "sources": digests}
    (root / "phoenix" / MANIFEST_NAME).write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    return check(root, environ={})
