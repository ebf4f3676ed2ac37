"""Summary figures of a backtest (the keys of ``summary.json``) and the PnL decomposition.

Definitions (also in docs/backtest.md):
- ``pnl``: equity at the end − wallet at the start (USDC), marked at the last mid.
- ``return_pct``: pnl / starting wallet × 100. ``annualised_return_pct``: return_pct × (1 year / duration),
  simple (not compounded).
- ``max_drawdown_pct``: largest fall of sampled equity from its running peak, in % of that peak.
- ``sharpe``: mean / std of per-minute equity returns (per-sample when the run is shorter than 30 min),
  annualised with √(periods per year); 0 when undefined.
- ``fill_rate``: share of accepted orders that received at least one fill.
- ``maker_share``: maker notional / total traded notional.
- ``cancels_per_min``: cancel requests sent (CancelOrder + orders covered by CancelAll) per simulated minute.
- ``turnover``: traded notional in USDC. ``fees``: commissions paid (USDC, + = paid).
- ``funding``: funding received (USDC, − = paid).
- ``max_abs_position_ratio``: max |position| / net_max (at the mid) seen after any fill.
- ``risk_events``: risk reports of the Trader (trims, state changes, halts, stop-loss, grinding)
  plus liquidations.
- ``events_processed``: feed events replayed. ``wall_seconds``: run time.
- ``accel_compiled``: 1 when the run used the mypyc-compiled hot path, 0 for pure Python (same results;
  it explains ``wall_seconds``).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

import phoenix
from phoenix.backtest.engine import NOT_RISK_EVENTS

if TYPE_CHECKING:
    from phoenix.backtest.engine import BacktestEngine, BacktestResult

SUMMARY_KEYS = (
    "pnl",
    "return_pct",
    "annualised_return_pct",
    "max_drawdown_pct",
    "sharpe",
    "fill_rate",
    "maker_share",
    "cancels_per_min",
    "turnover",
    "fees",
    "funding",
    "max_abs_position_ratio",
    "risk_events",
    "events_processed",
    "wall_seconds",
    "accel_compiled",
)

YEAR_S = 365.0 * 86_400.0


def max_drawdown_pct(equity: np.ndarray) -> float:
    """Largest peak-to-trough fall in % of the peak."""
    if equity.size == 0:
        return 0.0
    peak = np.maximum.accumulate(equity)
    with np.errstate(divide="ignore", invalid="ignore"):
        dd = np.where(peak > 0, (peak - equity) / peak, 0.0)
    return float(np.max(dd) * 100.0)


def sharpe_ratio(ts_ns: np.ndarray, equity: np.ndarray, capital: float) -> float:
    """Annualised Sharpe of equity returns on a 1-minute grid (sample grid for runs < 30 min)."""
    if ts_ns.size < 3 or capital <= 0:
        return 0.0
    duration_s = (ts_ns[-1] - ts_ns[0]) / 1e9
    if duration_s <= 0:
        return 0.0
    if duration_s >= 1800:
        grid = np.arange(ts_ns[0], ts_ns[-1] + 1, 60 * 10**9)
        idx = np.searchsorted(ts_ns, grid, side="right") - 1
        eq = equity[np.clip(idx, 0, equity.size - 1)]
        period_s = 60.0
    else:
        eq = equity
        period_s = duration_s / (equity.size - 1)
    rets = np.diff(eq) / capital
    if rets.size < 2:
        return 0.0
    sd = float(np.std(rets, ddof=1))
    if sd <= 0 or not math.isfinite(sd):
        return 0.0
    return float(np.mean(rets) / sd * math.sqrt(YEAR_S / period_s))


def summarise(engine: BacktestEngine, end_ns: int, wall_s: float) -> dict[str, float | int]:
    """The ``summary.json`` figures of a finished run."""
    acct = engine.account
    marks = {s: (v.last_mid or v.mark_price) for s, v in engine.venues.items()}
    equity_end = acct.equity_usdc(marks)
    w0 = engine.wallet0
    pnl = equity_end - w0
    duration_s = max((end_ns - engine.start_ns) / 1e9, 1e-9)
    ret = pnl / w0 * 100.0 if w0 > 0 else 0.0
    sm = engine.samples
    eq = np.asarray(sm.equity_usdc, dtype=np.float64)
    ts = np.asarray(sm.ts_ns, dtype=np.int64)
    placed = sum(v.stats.orders_placed - v.stats.orders_rejected for v in engine.venues.values())
    filled_any = sum(v.stats.orders_filled_any for v in engine.venues.values())
    maker_n = sum(sb.maker_notional_usdc for sb in acct.symbols.values())
    taker_n = sum(sb.taker_notional_usdc for sb in acct.symbols.values())
    total_n = maker_n + taker_n
    return {
        "pnl": pnl,
        "return_pct": ret,
        "annualised_return_pct": ret * YEAR_S / duration_s,
        "max_drawdown_pct": max_drawdown_pct(eq),
        "sharpe": sharpe_ratio(ts, eq, w0),
        "fill_rate": filled_any / placed if placed > 0 else 0.0,
        "maker_share": maker_n / total_n if total_n > 0 else 0.0,
        "cancels_per_min": engine.cancels_sent / (duration_s / 60.0),
        "turnover": total_n,
        "fees": acct.fees_usdc,
        "funding": acct.funding_usdc,
        "max_abs_position_ratio": engine.max_pos_ratio,
        "risk_events": int(sum(n for k, n in engine.risk_kinds.items() if k not in NOT_RISK_EVENTS)),
        "events_processed": engine.events_processed,
        "wall_seconds": wall_s,
        "accel_compiled": 1 if phoenix.ACCEL.compiled else 0,
    }


def pnl_decomposition(result: BacktestResult) -> dict[str, float]:
    """Split PnL into spread capture, inventory (price moves on held inventory), fees and funding.

    Spread capture of a fill is its edge against the mid at fill time: (mid − price)·qty for buys,
    (price − mid)·qty for sells. Inventory PnL is the rest of the trading PnL (realised + unrealised).
    """
    spread = sum((f.mid - f.price) * f.qty * f.side for f in result.fills if f.mid > 0)
    fees = float(result.summary.get("fees", 0.0))
    funding = float(result.summary.get("funding", 0.0))
    trading = float(result.summary["pnl"]) + float(fees) - funding
    return {
        "spread_capture": float(spread),
        "inventory": float(trading - spread),
        "fees": -float(fees),
        "funding": funding,
        "total": float(result.summary["pnl"]),
    }
