"""One backtest run described by plain, picklable data (``RunSpec``): what the CLI, sweeps and the
capacity curve execute, locally or on a remote executor.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from phoenix.backtest.account import FeeRates
from phoenix.backtest.engine import BacktestEngine, BacktestResult, BacktestSettings
from phoenix.backtest.intensity import ImpactModel, IntensityFillModel
from phoenix.backtest.latency import LatencySet
from phoenix.backtest.loaders import is_mid_only, open_data
from phoenix.backtest.venue import FillModel
from phoenix.config import PhoenixConfig, parse_config
from phoenix.core.types import SymbolFilters
from phoenix.exchange.sim.feeds import FeedEvent
from phoenix.exchange.sim.symbols import DEFAULT_SYMBOLS


@dataclass(frozen=True, slots=True)
class RunSpec:
    """Everything that defines a backtest run, as plain data.

    Args:
        config: The trading config as a mapping (``PhoenixConfig.model_dump(by_alias=True)`` or parsed YAML).
        data: Data files (any supported format); each drives one configured symbol.
        symbol: Configured symbol every data file drives (None = infer from the file name or the only symbol).
        fill_model: ``queue``, ``trade_through``, ``intensity``, ``sim`` (the simulator's matching engine) or
            ``auto`` (intensity for mid-only data, else queue).
        queue_model: Queue model for ``queue``.
        latency: ``--latency`` spec (see ``LatencySet.parse``).
        intensity_a_per_s, intensity_k, intensity_unit: λ(δ) = A·e^(−kδ) for mid-only data (δ in bps).
        mean_fill_qty: Mean size of the market orders hitting us (intensity model; None = whole order).
        impact_half_spread_bps, impact_coef_bps, impact_ref_notional_usdc: Taker impact for mid-only data.
        maker_fee_bps, taker_fee_bps: Fee override for every symbol (None = ``global.sim`` values).
        symbol_fees_bps: Per-symbol fees ``{symbol: (maker_bps, taker_bps)}`` (win over the above).
        funding_rate: Fixed funding rate per 8 h (None = recorded).
        wallet_usdc: Starting wallet (None = ``global.sim.balance_usdc``).
        seed: RNG seed.
        strategy: Strategy override.
        max_events: Stop after this many feed events.
        sample_interval_ms: Sampling period of the series.
        ledger: Write ``ledger.sqlite3`` into ``out_dir``.
        out_dir: Where the outputs go (None = nowhere).
        progress: Show a progress bar.
        report: Write ``report.html`` too (``summary.json`` is always written when ``out_dir`` is set).
    """

    config: Mapping[str, Any]
    data: tuple[str, ...]
    symbol: str | None = None
    fill_model: str = "auto"
    queue_model: str = "prob_log"
    latency: str | None = None
    intensity_a_per_s: float = 1.0
    intensity_k: float = 0.3
    intensity_unit: str = "bps"
    mean_fill_qty: float | None = None
    impact_half_spread_bps: float = 0.8
    impact_coef_bps: float = 1.0
    impact_ref_notional_usdc: float = 10_000.0
    maker_fee_bps: float | None = None
    taker_fee_bps: float | None = None
    symbol_fees_bps: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    funding_rate: float | None = None
    wallet_usdc: float | None = None
    seed: int = 1
    strategy: str | None = None
    max_events: int | None = None
    sample_interval_ms: int = 1000
    ledger: bool = True
    out_dir: str | None = None
    progress: bool = False
    report: bool = True
    tags: Mapping[str, Any] = field(default_factory=dict)

    def with_overrides(self, **changes: Any) -> RunSpec:
        """A copy with some fields replaced."""
        return replace(self, **changes)


def default_filters_for(config: PhoenixConfig) -> dict[str, SymbolFilters]:
    """Exchange filters of the configured symbols from the simulator's symbol table (exchangeInfo values)."""
    out: dict[str, SymbolFilters] = {}
    missing: list[str] = []
    for sc in config.symbols:
        spec = DEFAULT_SYMBOLS.get(sc.symbol)
        if spec is None:
            missing.append(sc.symbol)
        else:
            out[sc.symbol] = spec.filters
    if missing:
        known = ", ".join(sorted(DEFAULT_SYMBOLS))
        raise ValueError(f"no exchange filters known for {missing}; backtestable symbols: {known}")
    return out


def symbol_for_file(path: str, config: PhoenixConfig, symbol: str | None) -> str:
    """The configured symbol a data file drives: ``symbol``, else the one in its name, else the only one."""
    names = [s.symbol for s in config.symbols]
    if symbol is not None:
        if symbol not in names:
            raise ValueError(f"--symbol {symbol} is not configured (configured: {', '.join(names)})")
        return symbol
    base = Path(path).name.upper()
    hits = [n for n in names if n in base]
    if len(hits) == 1:
        return hits[0]
    if len(names) == 1:
        return names[0]
    raise ValueError(f"{path}: cannot tell which configured symbol it drives; pass --symbol")


def resolve_fill_model(spec: RunSpec) -> FillModel:
    """The run-wide fill model (``auto``: intensity when every file is mid-only, queue otherwise)."""
    if spec.fill_model != "auto":
        return FillModel(spec.fill_model)
    if spec.data and all(is_mid_only(p) for p in spec.data):
        return FillModel.INTENSITY
    return FillModel.QUEUE


def resolve_fill_models(spec: RunSpec, config: PhoenixConfig) -> dict[str, FillModel]:
    """Per-symbol fill models (``auto``: intensity for symbols fed only by mid-only files, else queue)."""
    if spec.fill_model != "auto":
        return {}
    mid_only: dict[str, bool] = {}
    for path in spec.data:
        sym = symbol_for_file(path, config, spec.symbol)
        mid_only[sym] = mid_only.get(sym, True) and is_mid_only(path)
    return {sym: FillModel.INTENSITY if flag else FillModel.QUEUE for sym, flag in mid_only.items()}


def build_engine(spec: RunSpec) -> BacktestEngine:
    """The engine of a spec (config validated, data opened lazily, models built)."""
    config = parse_config(dict(spec.config), "backtest config")
    filters = default_filters_for(config)
    feeds: list[Iterable[FeedEvent]] = []
    for path in spec.data:
        sym = symbol_for_file(path, config, spec.symbol)
        feeds.append(open_data(path, filters[sym]))
    fill_model = resolve_fill_model(spec)
    fill_models = resolve_fill_models(spec, config)
    intensity = None
    impact = None
    if fill_model is FillModel.INTENSITY or FillModel.INTENSITY in fill_models.values():
        unit: Literal["bps", "price"] = "price" if spec.intensity_unit == "price" else "bps"
        intensity = IntensityFillModel(
            a_per_s=spec.intensity_a_per_s,
            k=spec.intensity_k,
            distance_unit=unit,
            mean_fill_qty=spec.mean_fill_qty,
        )
        impact = ImpactModel(spec.impact_half_spread_bps, spec.impact_coef_bps, spec.impact_ref_notional_usdc)
    sim = config.global_.sim
    rates = FeeRates.from_bps(
        spec.maker_fee_bps if spec.maker_fee_bps is not None else sim.maker_fee_bps,
        spec.taker_fee_bps if spec.taker_fee_bps is not None else sim.taker_fee_bps,
    )
    fees = {s: rates for s in filters}
    for sym, (maker_bps, taker_bps) in spec.symbol_fees_bps.items():
        if sym not in filters:
            raise ValueError(f"fees for {sym}: not a configured symbol")
        fees[sym] = FeeRates.from_bps(maker_bps, taker_bps)
    out_dir = Path(spec.out_dir) if spec.out_dir else None
    ledger_path = out_dir / "ledger.sqlite3" if (out_dir is not None and spec.ledger) else None
    if ledger_path is not None:
        out_dir.mkdir(parents=True, exist_ok=True)  # type: ignore[union-attr]
        if ledger_path.exists():
            ledger_path.unlink()
            for suffix in ("-wal", "-shm"):
                Path(str(ledger_path) + suffix).unlink(missing_ok=True)
    settings = BacktestSettings(
        fill_model=fill_model,
        fill_models=fill_models or None,
        queue_model=spec.queue_model,
        latency=LatencySet.parse(spec.latency),
        intensity=intensity,
        impact=impact,
        fees=fees,
        funding_rate=spec.funding_rate,
        wallet_usdc=spec.wallet_usdc,
        seed=spec.seed,
        sample_interval_ms=spec.sample_interval_ms,
        strategy=spec.strategy,
        progress=spec.progress,
        ledger_path=ledger_path,
        max_events=spec.max_events,
    )
    return BacktestEngine(config, filters, feeds, settings)


def execute(spec: RunSpec) -> BacktestResult:
    """Run a spec; writes ``summary.json`` (and ``report.html``) into ``out_dir`` when set."""
    engine = build_engine(spec)
    result = engine.run()
    if spec.out_dir:
        from phoenix.backtest.report import write_outputs, write_summary

        out = Path(spec.out_dir)
        meta = {
            "data": ", ".join(spec.data),
            "fill_model": engine.settings.fill_model.value,
            "queue_model": spec.queue_model if engine.settings.fill_model is FillModel.QUEUE else "-",
            "latency": spec.latency or "default (5 ms feed, 25 ms entry, 25 ms response)",
            "seed": spec.seed,
            "strategy": spec.strategy or engine.config.global_.strategy,
        }
        if spec.report:
            write_outputs(result, out, meta)
        else:
            out.mkdir(parents=True, exist_ok=True)
            write_summary(result, out / "summary.json")
        (out / "run.json").write_text(json.dumps(_spec_json(spec), indent=2, default=str) + "\n")
    return result


def execute_summary(spec: RunSpec) -> dict[str, Any]:
    """Run a spec and return its tags + summary (what a sweep worker sends back).

    Errors are re-raised as ``SweepRunError`` carrying the message (some exception types do not survive
    pickling back from a worker process intact).
    """
    try:
        result = execute(spec)
    except Exception as exc:
        raise SweepRunError(f"run {dict(spec.tags)}: {type(exc).__name__}: {exc}") from None
    return {**dict(spec.tags), **result.summary}


class SweepRunError(RuntimeError):
    """One run of a sweep failed (message includes the run's tags and the original error)."""


def _spec_json(spec: RunSpec) -> dict[str, Any]:
    data = asdict(spec)
    data["config"] = dict(spec.config)
    return data
