"""The import rule (style.md guideline 1): pure layers import no I/O, no wall clock, no drivers."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "phoenix"
BANNED = (
    "asyncio",
    "socket",
    "sqlite3",
    "time",
    "logging",
    "aiohttp",
    "websockets",
    "structlog",
    "uvloop",
    "requests",
    "httpx",
    "subprocess",
    "threading",
    "multiprocessing",
    "selectors",
    "signal",
    "ssl",
    "http",
    "urllib",
    "os",
    "pathlib",
    "shutil",
    "phoenix.exchange",
    "phoenix.backtest",
    "phoenix.persistence",
    "phoenix.runner",
    "phoenix.metrics",
    "phoenix.cli",
)
REQUIRED = ("core", "strategy")  # must exist
OPTIONAL = ("risk", "execution", "trader")  # checked when present


def imports_of(path: Path) -> set[str]:
    nodes = list(ast.walk(ast.parse(path.read_text(), filename=str(path))))
    names = {a.name for n in nodes if isinstance(n, ast.Import) for a in n.names}
    names |= {n.module for n in nodes if isinstance(n, ast.ImportFrom) and n.module}
    # ``from phoenix import runner`` imports phoenix.runner
    names |= {
        f"{n.module}.{a.name}"
        for n in nodes
        if isinstance(n, ast.ImportFrom) and n.module == "phoenix"
        for a in n.names
    }
    return names


def layer_files(layer: str) -> list[Path]:
    root = SRC / layer
    return sorted(root.rglob("*.py")) if root.is_dir() else []


def violations(files: list[Path]) -> list[str]:
    return [
        f"{p.relative_to(SRC)}: {m}"
        for p in files
        for m in sorted(imports_of(p))
        if any(m == b or m.startswith(b + ".") for b in BANNED)
    ]


@pytest.mark.parametrize("layer", REQUIRED)
def test_required_pure_layer_exists_and_imports_no_io(layer: str) -> None:
    files = layer_files(layer)
    assert files, f"no modules under src/phoenix/{layer}/"
    assert not violations(files)


@pytest.mark.parametrize("layer", OPTIONAL)
def test_optional_pure_layer_imports_no_io(layer: str) -> None:
    files = layer_files(layer) + ([SRC / f"{layer}.py"] if (SRC / f"{layer}.py").is_file() else [])
    assert not violations(files)


def test_the_checker_catches_banned_imports(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import time\nfrom asyncio import sleep\nfrom phoenix import runner\nimport math\n")
    assert imports_of(bad) >= {"time", "asyncio", "phoenix.runner", "math"}
    found = [m for m in sorted(imports_of(bad)) if any(m == b or m.startswith(b + ".") for b in BANNED)]
    assert found == ["asyncio", "phoenix.runner", "time"]
