"""Backtest outputs: ``summary.json`` and a self-contained ``report.html`` with embedded PNG plots.

Plots: equity and drawdown, inventory, price with our quotes and fills, quoted spread, and the PnL
decomposition (spread capture vs inventory vs fees vs funding).
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from phoenix.backtest.engine import BacktestResult
from phoenix.backtest.metrics import SUMMARY_KEYS, pnl_decomposition

MAX_POINTS = 20_000


def write_summary(result: BacktestResult, path: Path) -> dict[str, float | int]:
    """Write ``summary.json`` with exactly the summary keys; returns the dict written."""
    data = {key: result.summary[key] for key in SUMMARY_KEYS}
    path.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n")
    return data


def _png(fig: Any) -> str:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _time_unit(ts_ns: np.ndarray) -> tuple[float, str]:
    span = float(ts_ns[-1] - ts_ns[0]) if ts_ns.size else 0.0
    if span < 3 * 3.6e12:
        return 6e10, "minutes"
    return 3.6e12, "hours"


def _stride(n: int) -> int:
    return max(1, math.ceil(n / MAX_POINTS))


def make_figures(result: BacktestResult) -> dict[str, str]:
    """The report's figures as base64 PNGs, keyed by title."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sm = result.samples
    ts = np.asarray(sm.ts_ns, dtype=np.int64)
    k = _stride(ts.size)
    unit_ns, unit = _time_unit(ts)
    hours = ((ts - ts[0]) / unit_ns)[::k] if ts.size else np.zeros(0)
    figs: dict[str, str] = {}
    sym = result.symbols[0]

    eq = np.asarray(sm.equity_usdc, dtype=np.float64)
    peak = np.maximum.accumulate(eq) if eq.size else eq
    dd = np.where(peak > 0, (peak - eq) / peak * 100.0, 0.0) if eq.size else eq
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(10, 5.5), sharex=True, height_ratios=[2, 1])
    ax1.plot(hours, eq[::k], lw=1.0, color="tab:blue")
    ax1.set_ylabel("equity (USDC)")
    ax1.grid(alpha=0.3)
    ax2.fill_between(hours, -dd[::k], 0, color="tab:red", alpha=0.4)
    ax2.set_ylabel("drawdown (%)")
    ax2.set_xlabel(unit)
    ax2.grid(alpha=0.3)
    figs["Equity and drawdown"] = _png(fig)

    fig, ax = plt.subplots(figsize=(10, 3.2))
    ax.step(hours, np.asarray(sm.position_qty)[::k], where="post", lw=1.0, color="tab:purple")
    ax.axhline(0, color="black", lw=0.5)
    ax.set_ylabel(f"position {sym} (base units)")
    ax.set_xlabel(unit)
    ax.grid(alpha=0.3)
    figs["Inventory"] = _png(fig)

    fig, ax = plt.subplots(figsize=(10, 4.5))
    mid = np.asarray(sm.mid, dtype=np.float64)
    ax.plot(hours, mid[::k], lw=0.8, color="black", label="mid")
    ax.step(
        hours,
        np.asarray(sm.own_bid)[::k],
        where="post",
        lw=0.7,
        color="tab:green",
        alpha=0.7,
        label="our best bid",
    )
    ax.step(
        hours,
        np.asarray(sm.own_ask)[::k],
        where="post",
        lw=0.7,
        color="tab:red",
        alpha=0.7,
        label="our best ask",
    )
    fills = [f for f in result.fills if f.symbol == sym]
    if fills and ts.size:
        kf = _stride(len(fills))
        fx = np.array([(f.ts_ns - ts[0]) / unit_ns for f in fills[::kf]])
        fy = np.array([f.price for f in fills[::kf]])
        fs = np.array([f.side for f in fills[::kf]])
        ax.scatter(fx[fs > 0], fy[fs > 0], marker="^", s=14, color="tab:green", label="buy fills", zorder=3)
        ax.scatter(fx[fs < 0], fy[fs < 0], marker="v", s=14, color="tab:red", label="sell fills", zorder=3)
    ax.set_ylabel(f"{sym} price")
    ax.set_xlabel(unit)
    ax.legend(loc="best", fontsize=8)
    ax.grid(alpha=0.3)
    figs["Price, our quotes and fills"] = _png(fig)

    fig, ax = plt.subplots(figsize=(10, 3.2))
    with np.errstate(invalid="ignore", divide="ignore"):
        own = (np.asarray(sm.own_ask) - np.asarray(sm.own_bid)) / mid * 1e4
        mkt = (np.asarray(sm.mkt_ask) - np.asarray(sm.mkt_bid)) / mid * 1e4
    ax.plot(hours, own[::k], lw=0.8, color="tab:orange", label="our quoted spread")
    ax.plot(hours, mkt[::k], lw=0.6, color="grey", label="market spread")
    ax.set_ylabel("spread (bps)")
    ax.set_xlabel(unit)
    ax.legend(loc="best", fontsize=8)
    ax.grid(alpha=0.3)
    figs["Spread"] = _png(fig)

    parts = pnl_decomposition(result)
    fig, ax = plt.subplots(figsize=(7, 3.5))
    names = ["spread_capture", "inventory", "fees", "funding", "total"]
    vals = [parts[n] for n in names]
    ax.bar(names, vals, color=["tab:green" if v >= 0 else "tab:red" for v in vals])
    ax.axhline(0, color="black", lw=0.5)
    ax.set_ylabel("USDC")
    ax.grid(alpha=0.3, axis="y")
    figs["PnL decomposition"] = _png(fig)
    return figs


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.6g}"
    return html.escape(str(value))


def write_report(
    result: BacktestResult, path: Path, *, title: str = "Phoenix backtest", meta: dict[str, Any] | None = None
) -> None:
    """Write the self-contained HTML report."""
    figs = make_figures(result)
    parts = pnl_decomposition(result)
    start = datetime.fromtimestamp(result.start_ns / 1e9, tz=UTC).isoformat()
    end = datetime.fromtimestamp(result.end_ns / 1e9, tz=UTC).isoformat()
    rows = "".join(
        f"<tr><td>{html.escape(k)}</td><td>{_fmt(result.summary[k])}</td></tr>" for k in SUMMARY_KEYS
    )
    prow = "".join(f"<tr><td>{html.escape(k)}</td><td>{_fmt(v)}</td></tr>" for k, v in parts.items())
    xrow = "".join(
        f"<tr><td>{html.escape(str(k))}</td><td>{_fmt(v)}</td></tr>" for k, v in result.extra.items()
    )
    rrow = "".join(
        f"<tr><td>{html.escape(k)}</td><td>{v}</td></tr>" for k, v in sorted(result.risk_event_kinds.items())
    )
    mrow = "".join(
        f"<tr><td>{html.escape(str(k))}</td><td>{_fmt(v)}</td></tr>" for k, v in (meta or {}).items()
    )
    imgs = "".join(
        f'<h2>{html.escape(name)}</h2><img alt="{html.escape(name)}" src="data:image/png;base64,{data}"/>'
        for name, data in figs.items()
    )
    doc = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:system-ui,sans-serif;margin:2em;max-width:1100px}}
table{{border-collapse:collapse;margin:0.5em 2em 1em 0;display:inline-table;vertical-align:top}}
td{{border:1px solid #ccc;padding:2px 8px}} td:nth-child(2){{text-align:right;font-family:monospace}}
img{{max-width:100%}}</style></head><body>
<h1>{html.escape(title)}</h1>
<p>Symbols: {html.escape(", ".join(result.symbols))} &middot; data from {start} to {end}</p>
<table><tr><th colspan=2>summary</th></tr>{rows}</table>
<table><tr><th colspan=2>PnL decomposition (USDC)</th></tr>{prow}</table>
<table><tr><th colspan=2>run</th></tr>{mrow}{xrow}</table>
<table><tr><th colspan=2>risk events by kind</th></tr>{rrow}</table>
{imgs}
</body></html>
"""
    path.write_text(doc)


def write_outputs(
    result: BacktestResult, out_dir: Path, meta: dict[str, Any] | None = None
) -> dict[str, float | int]:
    """Write ``summary.json`` and ``report.html`` into ``out_dir``; returns the summary."""
    out_dir.mkdir(parents=True, exist_ok=True)
    summary = write_summary(result, out_dir / "summary.json")
    write_report(result, out_dir / "report.html", meta=meta)
    return summary
