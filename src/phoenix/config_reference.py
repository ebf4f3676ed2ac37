"""Render the configuration reference (README) from the config models, so it cannot drift from the code."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from phoenix.config import GlobalConfig, GrindingConfig, MetricsSettings, SimSettings, SymbolConfig, VenueUrls

DESCRIPTIONS: dict[str, str] = {
    "global.venue": "`sim` (embedded simulated exchange on 127.0.0.1), `testnet` or `mainnet`; switches every endpoint",
    "global.urls.rest_url": "Override of the REST base URL (e.g. to point at a simulator started elsewhere)",
    "global.urls.ws_public_url": "Override of the `/public` market-stream base (depth, bookTicker, trade)",
    "global.urls.ws_market_url": "Override of the `/market` market-stream base (aggTrade, markPrice)",
    "global.urls.ws_private_url": "Override of the `/private` user-data-stream base",
    "global.urls.ws_api_url": "Override of the WebSocket API (`/ws-fapi/v1`) URL used for order entry",
    "global.strategy": "Quoting strategy by registry name: `asmm` (spec) or `avellaneda_stoikov`",
    "global.total_notional_max": "Global cap on Σ|position|×mid in USDC; above it every symbol stops adding exposure",
    "global.quote_interval_ms": "Minimum time between two requotes of one symbol (event-driven below that)",
    "global.stop_loss_pct": "Equity drawdown from its peak (percent) that triggers cancel-all + flatten + latched halt",
    "global.stale_book_ms": "A book older than this (or out of sync) is stale: that symbol's quotes are cancelled",
    "global.orders_per_10s_max": "Our own order budget per 10 s across symbols (Binance allows 300); staged cold start",
    "global.rate_limit_usage_max_pct": "Keep request-weight and order-count usage below this share of every limit",
    "global.deadman_countdown_ms": "countdownCancelAll window: the exchange cancels all our orders if not refreshed",
    "global.deadman_refresh_s": "How often the dead-man switch is re-armed (must be shorter than the countdown)",
    "global.reconcile_interval_s": "Period of REST reconciliation of positions and open orders (exchange is truth)",
    "global.snapshot_interval_s": "Period of state snapshots into the state dir (the journal is continuous)",
    "global.state_dir": "Directory of the SQLite ledger, snapshots and the single-instance lock",
    "global.metrics.enabled": "Serve Prometheus `/metrics` and `/health`",
    "global.metrics.host": "Bind address of the metrics endpoint (loopback unless you mean otherwise)",
    "global.metrics.port": "Port of the metrics endpoint (0 = ephemeral)",
    "global.sim.feed": "Market data of the embedded simulator: `synthetic` (seeded) or `replay` of a recording",
    "global.sim.replay_file": "Recording to replay when `feed: replay` (Binance raw format or mid-only CSV)",
    "global.sim.speed": "Replay/synthetic speed multiplier (1 = real time)",
    "global.sim.seed": "Seed of the synthetic feed (same seed ⇒ same market)",
    "global.sim.balance_usdc": "Starting wallet balance of the simulated account",
    "global.sim.host": "Bind address of the embedded simulator",
    "global.sim.port": "Port of the embedded simulator (0 = ephemeral)",
    "global.sim.maker_fee_bps": "Simulated maker fee (USDC pairs: 0)",
    "global.sim.taker_fee_bps": "Simulated taker fee",
    "global.log_level": "Log level",
    "global.log_format": "`json` (one JSON object per line with an `event` field) or `console`",
    "global.recv_window_ms": "recvWindow sent with signed requests",
    "global.leverage": "Leverage set on every symbol at start",
    "symbols[].symbol": "Exchange symbol, e.g. `ETHUSDC` (unique)",
    "symbols[].enabled": "Quote this symbol",
    "symbols[].net_max": "Hard cap on |position| in base units, counting every resting order as filled (worst case)",
    "symbols[].net_max_notional_usdc": "Optional cap in USDC; the tighter of this and `net_max` applies",
    "symbols[].min_spread": "Minimum quoted spread as a fraction of mid (0.0006 = 6 bps); scaled up by volatility",
    "symbols[].near_layers": "Number of dynamic near layers per side",
    "symbols[].far_layers": "Number of fixed-size far layers per side",
    "symbols[].near_layer_size": "Size of the first near layer (base units); unset ⇒ `near_layer_notional_mult`×min notional",
    "symbols[].near_layer_notional_mult": "First near layer = this × the exchange's min notional when no size is set",
    "symbols[].near_layer_size_growth": "Each further near layer is this much larger than the previous one",
    "symbols[].near_layer_spacing_bps": "Spacing between near layers in bps, scaled by volatility",
    "symbols[].far_layer_size": "Size of each far layer in base units (spec: 0.08 lots)",
    "symbols[].far_band_min_pct": "Innermost far layer distance from mid (percent)",
    "symbols[].far_band_max_pct": "Outermost far layer distance from mid (percent)",
    "symbols[].skew_bps_at_net_max": "Reservation-price shift (bps) at |position| = net_max, against the position",
    "symbols[].funding_bias_weight": "Weight of the predicted funding rate (EMA) in the reservation price",
    "symbols[].vol_ref_bps": "Volatility (bps over the short window) at which the spread equals `min_spread`",
    "symbols[].vol_scaling_max": "Cap on the volatility multiplier of the spread",
    "symbols[].vol_window_s": "Long volatility window in seconds (spec: 30 min)",
    "symbols[].short_vol_window_s": "Short volatility window in seconds",
    "symbols[].funding_ema_halflife_s": "Half-life of the funding-rate EMA (predicted funding)",
    "symbols[].pinning_ratio": "|position|/net_max above which the reducing side's first layer joins the touch",
    "symbols[].pinning_size_mult": "Size multiplier of the pinned layer (capped at |position|)",
    "symbols[].pinning_widen_bps": "How much the adding side is widened while pinning (never dropped)",
    "symbols[].halt_seconds": "After a net_max breach, the symbol may only reduce for this long",
    "symbols[].cancel_budget_per_min": "Flicker guard: cancels per minute before requoting slows/widens",
    "symbols[].requote_tolerance_ticks": "A resting layer is kept while its target moved by at most this many ticks",
    "symbols[].requote_tolerance_bps": "The same tolerance in bps (the larger of the two, scaled by volatility)",
    "symbols[].as_gamma": "Avellaneda–Stoikov risk aversion γ",
    "symbols[].as_k": "Avellaneda–Stoikov order-arrival decay k",
    "symbols[].as_horizon_s": "Avellaneda–Stoikov horizon T−t in seconds",
    "symbols[].grinding.enabled": "Enable inventory grinding",
    "symbols[].grinding.position_ratio": "Grind when |position|/net_max exceeds this",
    "symbols[].grinding.vol_max_pct": "…and the 30-min std-dev of returns (percent) is below this",
    "symbols[].grinding.take_fraction": "Share of the position taken as a reduce-only IOC taker order",
    "symbols[].grinding.reentry_bps": "Maker re-entry this many bps better than the taker price",
    "symbols[].grinding.reentry_size_mult": "Re-entry size multiplier",
    "symbols[].grinding.max_per_hour": "Grinding budget per symbol per hour",
}

_SECTIONS: tuple[tuple[str, type[BaseModel]], ...] = (
    ("global", GlobalConfig),
    ("global.urls", VenueUrls),
    ("global.metrics", MetricsSettings),
    ("global.sim", SimSettings),
    ("symbols[]", SymbolConfig),
    ("symbols[].grinding", GrindingConfig),
)


def _constraints(info: FieldInfo) -> str:
    parts: list[str] = []
    for meta in info.metadata:
        for attr, sym in (("gt", ">"), ("ge", "≥"), ("lt", "<"), ("le", "≤"), ("min_length", "len≥")):
            value = getattr(meta, attr, None)
            if value is not None:
                parts.append(f"{sym} {value:g}" if isinstance(value, float) else f"{sym} {value}")
    return ", ".join(parts)


def _default(info: FieldInfo) -> str:
    if info.is_required():
        return "**required**"
    value: Any = info.default
    if isinstance(value, BaseModel):
        return "(section)"
    if hasattr(value, "value"):
        value = value.value
    return "unset" if value is None else f"`{value}`"


def iter_fields() -> list[tuple[str, FieldInfo]]:
    """Every leaf config key with its field info, in document order."""
    out: list[tuple[str, FieldInfo]] = []
    for prefix, model in _SECTIONS:
        for name, info in model.model_fields.items():
            key = "global" if name == "global_" else name
            default = info.default
            if isinstance(default, BaseModel):
                continue
            out.append((f"{prefix}.{key}", info))
    return out


def render_reference() -> str:
    """Markdown table of every key: type, default, constraints, hot-reloadable, meaning."""
    lines = ["| key | default | constraints | reload | meaning |", "| --- | --- | --- | --- | --- |"]
    for key, info in iter_fields():
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        reload_mark = "yes" if extra.get("reloadable") else ""
        meaning = DESCRIPTIONS.get(key, "").replace("|", "\\|")
        lines.append(f"| `{key}` | {_default(info)} | {_constraints(info)} | {reload_mark} | {meaning} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(render_reference(), end="")
