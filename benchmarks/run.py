"""Run every ``benchmarks/bench_*.py``, print one table, write ``benchmarks/results.json``.

Each module exposes ``run() -> dict[str, float]`` returning metrics with their stable names
(documented in benchmarks/README.md). ``python benchmarks/run.py [name-filter ...]`` runs a subset.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _load(path: Path) -> object:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(argv: list[str]) -> int:
    """Run the selected benchmarks; exit 1 if any failed."""
    filters = argv[1:]
    results: dict[str, float] = {}
    failures: list[str] = []
    timings: dict[str, float] = {}
    sys.path.insert(0, str(HERE))
    for path in sorted(HERE.glob("bench_*.py")):
        if filters and not any(f in path.stem for f in filters):
            continue
        print(f"running {path.stem} ...", file=sys.stderr, flush=True)
        started = time.perf_counter()
        try:
            metrics = _load(path).run()  # type: ignore[attr-defined]
        except Exception:
            failures.append(path.stem)
            traceback.print_exc()
            continue
        timings[path.stem] = time.perf_counter() - started
        for name, value in metrics.items():
            results[name] = float(value)
    width = max((len(k) for k in results), default=10)
    print(f"\n{'metric'.ljust(width)}  {'value':>14}")
    print(f"{'-' * width}  {'-' * 14}")
    for name in sorted(results):
        print(f"{name.ljust(width)}  {results[name]:>14,.2f}")
    out = HERE / "results.json"
    previous: dict[str, float] = {}
    if filters and out.exists():
        previous = json.loads(out.read_text())
    previous.update(results)
    out.write_text(json.dumps(dict(sorted(previous.items())), indent=2) + "\n")
    print(
        f"\nwrote {out} ({len(results)} metrics); time per benchmark: "
        + ", ".join(f"{k} {v:.1f}s" for k, v in timings.items())
    )
    if failures:
        print(f"FAILED benchmarks: {', '.join(failures)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
