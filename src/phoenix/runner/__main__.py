"""Lean entry point: ``python -m phoenix.runner run --config FILE`` (only the runner's commands are imported).

Production uses this (``scripts/run_production.sh``) so the trading process does not import the simulator,
backtester or plotting stacks that the full ``phoenix`` CLI mounts; behaviour is identical to ``phoenix run``.
"""

from __future__ import annotations

from phoenix.runner.cli import main

if __name__ == "__main__":
    main()
