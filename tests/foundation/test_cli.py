"""The console script is installed and answers."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_console_script_help() -> None:
    exe = Path(sys.executable).parent / "phoenix"
    out = subprocess.run([str(exe), "--help"], capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 0, out.stderr
    assert "config" in out.stdout


def test_config_check_exit_codes() -> None:
    exe = Path(sys.executable).parent / "phoenix"
    good = subprocess.run(
        [str(exe), "config", "check", str(REPO / "configs" / "phoenix.yaml")], capture_output=True, timeout=60
    )
    assert good.returncode == 0
    bad = subprocess.run(
        [str(exe), "config", "check", str(REPO / "tests" / "config" / "bad" / "03_duplicate_symbol.yaml")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 1
    assert "duplicate symbol 'ETHUSDC'" in bad.stderr
