"""Parameter sweeps: a grid of parameters × data files, run on any ``concurrent.futures.Executor``.

The default executor is a local process pool. Any object with the ``Executor`` interface plugs in, so the
same sweep runs on a cluster: e.g. Dask's ``distributed.Client(address).get_executor()``, or a Ray-backed
executor; ``--executor module:factory`` names a factory returning one. Each run is a picklable ``RunSpec``
executed by ``run.execute_summary`` in the worker, so workers need only the package and the data files.
"""

from __future__ import annotations

import copy
import csv
import importlib
import itertools
import json
import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import fields
from pathlib import Path
from typing import Any

from phoenix.backtest.run import RunSpec, execute_summary

_SPEC_FIELDS = {f.name for f in fields(RunSpec)} - {"config", "data", "tags"}


def parse_value(text: str) -> Any:
    """A grid value from text: int, float, bool, ``none`` or the string itself."""
    low = text.strip().lower()
    if low in ("none", "null"):
        return None
    if low in ("true", "false"):
        return low == "true"
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            continue
    return text.strip()


def parse_grid(items: Sequence[str]) -> dict[str, list[Any]]:
    """``["key=v1,v2", ...]`` → ``{key: [v1, v2]}``. Keys: RunSpec fields or dotted config paths."""
    grid: dict[str, list[Any]] = {}
    for item in items:
        key, sep, values = item.partition("=")
        if not sep or not key.strip() or not values.strip():
            raise ValueError(f"grid item {item!r}: expected KEY=V1,V2,...")
        grid[key.strip()] = [parse_value(v) for v in values.split(",")]
    return grid


def set_config_path(config: dict[str, Any], path: str, value: Any) -> None:
    """Set a dotted config path in place: ``global.quote_interval_ms`` or ``symbols.ETHUSDC.min_spread``."""
    parts = path.split(".")
    if parts[0] == "symbols":
        if len(parts) < 3:
            raise ValueError(f"{path}: expected symbols.<SYMBOL>.<key>")
        entry = next((s for s in config.get("symbols", []) if s.get("symbol") == parts[1]), None)
        if entry is None:
            raise ValueError(f"{path}: symbol {parts[1]} is not configured")
        node: dict[str, Any] = entry
        rest = parts[2:]
    else:
        node = config
        rest = parts
    for key in rest[:-1]:
        node = node.setdefault(key, {})
    node[rest[-1]] = value


def expand(
    base: RunSpec, grid: Mapping[str, Sequence[Any]], *, per_file: bool = True, out_dir: str | None = None
) -> list[RunSpec]:
    """Every combination of the grid (× every data file when ``per_file``) as run specs, tagged."""
    keys = list(grid)
    data_sets: list[tuple[str, ...]] = [(d,) for d in base.data] if per_file else [base.data]
    specs: list[RunSpec] = []
    for n, (data, combo) in enumerate(
        itertools.product(data_sets, itertools.product(*(grid[k] for k in keys)))
    ):
        cfg = copy.deepcopy(dict(base.config))
        changes: dict[str, Any] = {}
        tags: dict[str, Any] = {"run": n, "data": ",".join(Path(d).name for d in data)}
        for key, value in zip(keys, combo, strict=True):
            tags[key] = value
            if key in _SPEC_FIELDS:
                changes[key] = value
            else:
                set_config_path(cfg, key, value)
        run_dir = str(Path(out_dir) / f"run_{n:04d}") if out_dir else None
        specs.append(
            base.with_overrides(config=cfg, data=data, tags=tags, out_dir=run_dir, progress=False, **changes)
        )
    return specs


def make_executor(name: str, workers: int | None = None) -> Executor:
    """``process`` (default, local pool), ``thread``, or ``module:factory`` (called with ``workers``)."""
    if name == "process":
        return ProcessPoolExecutor(max_workers=workers or os.cpu_count() or 1)
    if name == "thread":
        return ThreadPoolExecutor(max_workers=workers or 1)
    module_name, sep, attr = name.partition(":")
    if not sep:
        raise ValueError(f"executor {name!r}: expected process, thread or module:factory")
    factory: Callable[..., Executor] = getattr(importlib.import_module(module_name), attr)
    return factory(workers) if workers else factory()


def run_sweep(
    specs: Sequence[RunSpec],
    executor: Executor | None = None,
    *,
    workers: int | None = None,
    on_result: Callable[[dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """Run every spec on ``executor`` (default: a local process pool); results in spec order."""
    own = executor is None
    ex = executor if executor is not None else make_executor("process", workers)
    try:
        futures = [ex.submit(execute_summary, spec) for spec in specs]
        results: list[dict[str, Any]] = []
        for fut in futures:
            row = fut.result()
            results.append(row)
            if on_result is not None:
                on_result(row)
        return results
    finally:
        if own:
            ex.shutdown(wait=True)


def write_results(rows: Sequence[Mapping[str, Any]], out_dir: Path) -> None:
    """``sweep.csv`` and ``sweep.json`` (one row per run: tags then summary keys)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "sweep.json").write_text(json.dumps(list(rows), indent=2, default=str) + "\n")
    if not rows:
        return
    keys: list[str] = []
    for row in rows:
        for k in row:
            if k not in keys:
                keys.append(k)
    with (out_dir / "sweep.csv").open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=keys)
        writer.writeheader()
        for row in rows:
            writer.writerow(dict(row))
