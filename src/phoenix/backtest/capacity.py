"""Capacity curve: the same strategy at capital from 1 k to 10 M USDC, sizes scaled, impact on.

Every size in the config scales with capital / reference capital: ``net_max``, ``net_max_notional_usdc``,
``near_layer_size``, ``far_layer_size`` and ``global.total_notional_max``. What stops returns from scaling:
- L2 data: bigger resting orders wait for more traded volume (the queue model's trade budget) and
  takers walk deeper into the displayed book;
- mid-only data: market orders hitting us have a finite mean size (``mean_fill_qty``: large quotes fill
  partially) and takers pay the square-root impact model.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping, Sequence
from concurrent.futures import Executor
from pathlib import Path
from typing import Any

from phoenix.backtest.loaders import open_data
from phoenix.backtest.run import RunSpec, default_filters_for, resolve_fill_model, symbol_for_file
from phoenix.backtest.sweep import run_sweep
from phoenix.backtest.venue import FillModel
from phoenix.config import parse_config
from phoenix.exchange.sim.feeds import FeedDelta, FeedSnapshot

DEFAULT_CAPITALS = (1e3, 1e4, 1e5, 1e6, 1e7)


def first_mid(spec: RunSpec) -> dict[str, float]:
    """The first mid of each configured symbol's data (for sizing layers that derive from min notional)."""
    config = parse_config(dict(spec.config), "capacity config")
    filters = default_filters_for(config)
    out: dict[str, float] = {}
    for path in spec.data:
        sym = symbol_for_file(path, config, spec.symbol)
        for ev in open_data(path, filters[sym]):
            if isinstance(ev, FeedSnapshot | FeedDelta) and ev.bids and ev.asks:
                out[sym] = (ev.bids[0][0] + ev.asks[0][0]) * 0.5 * filters[sym].tick
                break
    return out


def scale_config(
    config: Mapping[str, Any], factor: float, ref_near_size: Mapping[str, float] | None = None
) -> dict[str, Any]:
    """A copy of ``config`` with every size multiplied by ``factor``."""
    cfg = copy.deepcopy(dict(config))
    glob = cfg.setdefault("global", {})
    # the global cap scales too, within the config's bound (1e9 USDC)
    glob["total_notional_max"] = min(float(glob.get("total_notional_max", 4_000_000.0)) * factor, 1e9)
    for entry in cfg.get("symbols", []):
        sym = entry["symbol"]
        entry["net_max"] = float(entry["net_max"]) * factor
        if entry.get("net_max_notional_usdc") is not None:
            entry["net_max_notional_usdc"] = float(entry["net_max_notional_usdc"]) * factor
        near = entry.get("near_layer_size")
        if near is None and ref_near_size is not None and sym in ref_near_size:
            near = ref_near_size[sym]
        if near is not None:
            entry["near_layer_size"] = float(near) * factor
        entry["far_layer_size"] = float(entry.get("far_layer_size", 0.08)) * factor
    return cfg


def capacity_specs(
    base: RunSpec, capitals: Sequence[float] = DEFAULT_CAPITALS, out_dir: str | None = None
) -> list[RunSpec]:
    """One run per capital; the base config's sizes belong to ``base.wallet_usdc`` (else global.sim)."""
    config = parse_config(dict(base.config), "capacity config")
    ref_capital = base.wallet_usdc if base.wallet_usdc is not None else config.global_.sim.balance_usdc
    filters = default_filters_for(config)
    mids = first_mid(base)
    ref_near = {
        sc.symbol: max(
            filters[sc.symbol].min_notional_usdc * sc.near_layer_notional_mult / mids[sc.symbol],
            float(filters[sc.symbol].min_qty),
        )
        for sc in config.symbols
        if sc.symbol in mids
    }
    cfg_data = config.model_dump(mode="json", by_alias=True)
    mid_only = resolve_fill_model(base) is FillModel.INTENSITY
    specs: list[RunSpec] = []
    for capital in capitals:
        factor = capital / ref_capital
        changes: dict[str, Any] = {
            "config": scale_config(cfg_data, factor, ref_near),
            "wallet_usdc": float(capital),
            "tags": {"capital_usdc": float(capital), "size_factor": factor},
            "out_dir": str(Path(out_dir) / f"capital_{int(capital)}") if out_dir else None,
            "progress": False,
        }
        if mid_only and base.mean_fill_qty is None and ref_near:
            # market orders that hit us are as large as our reference-capital layer on average
            changes["mean_fill_qty"] = next(iter(ref_near.values())) * 2.0
        specs.append(base.with_overrides(**changes))
    return specs


def run_capacity(
    base: RunSpec,
    capitals: Sequence[float] = DEFAULT_CAPITALS,
    *,
    executor: Executor | None = None,
    workers: int | None = None,
    out_dir: Path | None = None,
) -> list[dict[str, Any]]:
    """Run the curve; returns rows ``{capital_usdc, size_factor, return_pct, ...}`` (and writes outputs)."""
    specs = capacity_specs(base, capitals, str(out_dir) if out_dir else None)
    rows = run_sweep(specs, executor, workers=workers)
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "capacity.json").write_text(json.dumps(rows, indent=2, default=str) + "\n")
        plot_capacity(rows, out_dir / "capacity.png")
    return rows


def plot_capacity(rows: Sequence[Mapping[str, Any]], path: Path) -> None:
    """Return (%) and annualised return vs capital on a log axis."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    caps = [float(r["capital_usdc"]) for r in rows]
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(caps, [float(r["return_pct"]) for r in rows], marker="o", label="return over the data (%)")
    ax.set_xscale("log")
    ax.set_xlabel("capital (USDC)")
    ax.set_ylabel("return (%)")
    ax.grid(alpha=0.3)
    ax2 = ax.twinx()
    ax2.plot(
        caps,
        [float(r["annualised_return_pct"]) for r in rows],
        marker="s",
        color="tab:orange",
        label="annualised (%)",
    )
    ax2.set_ylabel("annualised return (%)")
    ax.legend(loc="upper left", fontsize=8)
    ax2.legend(loc="upper right", fontsize=8)
    fig.savefig(path, dpi=90, bbox_inches="tight")
    plt.close(fig)


def format_capacity(rows: Sequence[Mapping[str, Any]]) -> str:
    """A text table of the curve."""
    lines = [
        f"{'capital USDC':>14} {'return %':>10} {'annualised %':>14} {'max DD %':>9} "
        f"{'fill rate':>9} {'turnover':>14}"
    ]
    for r in rows:
        lines.append(
            f"{float(r['capital_usdc']):>14,.0f} {float(r['return_pct']):>10.4f} "
            f"{float(r['annualised_return_pct']):>14.2f} {float(r['max_drawdown_pct']):>9.4f} "
            f"{float(r['fill_rate']):>9.3f} {float(r['turnover']):>14,.0f}"
        )
    return "\n".join(lines)
