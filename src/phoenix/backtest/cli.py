"""``phoenix backtest``: run, sweep, as2008, capacity (mounted by ``phoenix.cli`` as ``backtest_app``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from phoenix.backtest.run import RunSpec, SweepRunError
from phoenix.config import load_config
from phoenix.errors import ConfigError

backtest_app = typer.Typer(
    help="Backtest the live trading core on recorded data (queue, latency and intensity fill models).",
    invoke_without_command=True,
    no_args_is_help=False,
    pretty_exceptions_enable=False,
)

ConfigOpt = Annotated[Path | None, typer.Option("--config", "-c", help="Phoenix YAML config (same as live).")]
DataOpt = Annotated[
    list[Path] | None,
    typer.Option(
        "--data", "-d", help="Data file (recording .dat.gz, mid CSV, Tardis CSV, Parquet); repeatable."
    ),
]
SymbolOpt = Annotated[
    str | None,
    typer.Option(
        "--symbol", "-s", help="Configured symbol the data drives (e.g. replay BTCUSDT as BTCUSDC)."
    ),
]
FillOpt = Annotated[
    str,
    typer.Option(
        "--fill-model", help="auto | queue | trade_through | intensity (auto: intensity for mid-only data)."
    ),
]
QueueOpt = Annotated[
    str,
    typer.Option(
        "--queue-model",
        help="queue: risk_averse | prob_log | prob_power2 ...; sim: conservative | proportional.",
    ),
]
LatencyOpt = Annotated[
    str | None,
    typer.Option(
        "--latency", help="MS, FEED,ENTRY,RESPONSE (each MS or file:PATH), or file:PATH. Default 5,25,25."
    ),
]
OutOpt = Annotated[Path | None, typer.Option("--out", "-o", help="Output directory.")]
SeedOpt = Annotated[int, typer.Option("--seed", help="RNG seed (same seed ⇒ same result).")]
CapitalOpt = Annotated[
    float | None, typer.Option("--capital", help="Starting wallet USDC (default global.sim.balance_usdc).")
]
AOpt = Annotated[float, typer.Option("--intensity-a", help="Intensity model A (fills/s at the mid).")]
KOpt = Annotated[
    float, typer.Option("--intensity-k", help="Intensity model k (per bp of distance from the mid).")
]
StrategyOpt = Annotated[
    str | None, typer.Option("--strategy", help="Strategy override (asmm, avellaneda_stoikov).")
]
FundingOpt = Annotated[
    float | None, typer.Option("--funding-rate", help="Fixed funding rate per 8 h (default: recorded).")
]
MaxEventsOpt = Annotated[int | None, typer.Option("--max-events", help="Stop after this many data events.")]
ProgressOpt = Annotated[bool, typer.Option("--progress/--no-progress", help="Progress bar.")]
FeeOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--fee", help="SYMBOL=MAKER_BPS,TAKER_BPS (repeatable; default global.sim maker/taker bps)."
    ),
]
LedgerOpt = Annotated[bool, typer.Option("--ledger/--no-ledger", help="Write ledger.sqlite3 (live schema).")]


def _fees(items: list[str] | None) -> dict[str, tuple[float, float]]:
    out: dict[str, tuple[float, float]] = {}
    for item in items or []:
        sym, sep, values = item.partition("=")
        parts = values.split(",")
        if not sep or len(parts) != 2:
            raise typer.BadParameter(f"--fee {item!r}: expected SYMBOL=MAKER_BPS,TAKER_BPS")
        out[sym.strip().upper()] = (float(parts[0]), float(parts[1]))
    return out


def _config_data(path: Path) -> dict[str, Any]:
    try:
        cfg = load_config(path)
    except ConfigError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    return cfg.model_dump(mode="json", by_alias=True)


def _spec(
    config: Path,
    data: list[Path],
    symbol: str | None,
    fill_model: str,
    queue_model: str,
    latency: str | None,
    out: Path | None,
    seed: int,
    capital: float | None,
    intensity_a: float,
    intensity_k: float,
    strategy: str | None,
    funding_rate: float | None,
    max_events: int | None,
    progress: bool,
    fee: list[str] | None = None,
    ledger: bool = True,
) -> RunSpec:
    return RunSpec(
        config=_config_data(config),
        data=tuple(str(p) for p in data),
        symbol=symbol,
        fill_model=fill_model,
        queue_model=queue_model,
        latency=latency,
        out_dir=str(out) if out else None,
        seed=seed,
        wallet_usdc=capital,
        intensity_a_per_s=intensity_a,
        intensity_k=intensity_k,
        strategy=strategy,
        funding_rate=funding_rate,
        max_events=max_events,
        progress=progress,
        symbol_fees_bps=_fees(fee),
        ledger=ledger,
    )


def _run(spec: RunSpec) -> None:
    from phoenix.backtest.run import execute

    try:
        result = execute(spec)
    except (ValueError, FileNotFoundError, KeyError, ConfigError) as exc:
        typer.echo(f"backtest: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(json.dumps(result.summary, indent=2))
    if spec.out_dir:
        extra = ", ledger.sqlite3" if spec.ledger else ""
        typer.echo(f"wrote {spec.out_dir}/summary.json, report.html{extra}")


@backtest_app.callback()
def _default(
    ctx: typer.Context,
    config: ConfigOpt = None,
    data: DataOpt = None,
    symbol: SymbolOpt = None,
    fill_model: FillOpt = "auto",
    queue_model: QueueOpt = "prob_log",
    latency: LatencyOpt = None,
    out: OutOpt = None,
    seed: SeedOpt = 1,
    capital: CapitalOpt = None,
    intensity_a: AOpt = 1.0,
    intensity_k: KOpt = 0.3,
    strategy: StrategyOpt = None,
    funding_rate: FundingOpt = None,
    max_events: MaxEventsOpt = None,
    progress: ProgressOpt = True,
    fee: FeeOpt = None,
    ledger: LedgerOpt = True,
) -> None:
    """Backtest the live trading core; ``phoenix backtest --config F --data D --out DIR`` = ``run``."""
    if ctx.invoked_subcommand is not None:
        return
    if config is None or not data:
        typer.echo(ctx.get_help())
        raise typer.Exit(0 if config is None and not data else 2)
    _run(
        _spec(
            config, data, symbol, fill_model, queue_model, latency, out, seed, capital, intensity_a,
            intensity_k, strategy, funding_rate, max_events, progress, fee, ledger,
        )
    )  # fmt: skip


@backtest_app.command("run")
def run_cmd(
    config: Annotated[Path, typer.Option("--config", "-c", help="Phoenix YAML config (same as live).")],
    data: Annotated[list[Path], typer.Option("--data", "-d", help="Data file; repeatable.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output directory.")],
    symbol: SymbolOpt = None,
    fill_model: FillOpt = "auto",
    queue_model: QueueOpt = "prob_log",
    latency: LatencyOpt = None,
    seed: SeedOpt = 1,
    capital: CapitalOpt = None,
    intensity_a: AOpt = 1.0,
    intensity_k: KOpt = 0.3,
    strategy: StrategyOpt = None,
    funding_rate: FundingOpt = None,
    max_events: MaxEventsOpt = None,
    progress: ProgressOpt = True,
    fee: FeeOpt = None,
    ledger: LedgerOpt = True,
) -> None:
    """Run one backtest: writes summary.json, report.html and ledger.sqlite3 into --out."""
    _run(
        _spec(
            config, data, symbol, fill_model, queue_model, latency, out, seed, capital, intensity_a,
            intensity_k, strategy, funding_rate, max_events, progress, fee, ledger,
        )
    )  # fmt: skip


@backtest_app.command("sweep")
def sweep_cmd(
    config: Annotated[Path, typer.Option("--config", "-c", help="Base config.")],
    data: Annotated[
        list[Path], typer.Option("--data", "-d", help="Data file; repeatable (each is a sweep axis).")
    ],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Output directory (sweep.csv, sweep.json, run_*/).")
    ],
    grid: Annotated[
        list[str],
        typer.Option(
            "--grid",
            "-g",
            help="KEY=V1,V2 (repeatable). KEY: a run option (queue_model, latency, seed, fill_model...) or a "
            "config path (global.quote_interval_ms, symbols.ETHUSDC.min_spread).",
        ),
    ],
    symbol: SymbolOpt = None,
    fill_model: FillOpt = "auto",
    queue_model: QueueOpt = "prob_log",
    latency: LatencyOpt = None,
    seed: SeedOpt = 1,
    capital: CapitalOpt = None,
    workers: Annotated[
        int | None, typer.Option("--workers", help="Parallel workers (default: CPU count).")
    ] = None,
    executor: Annotated[
        str,
        typer.Option(
            "--executor", help="process | thread | module:factory (returns a concurrent.futures.Executor)."
        ),
    ] = "process",
    reports: Annotated[
        bool, typer.Option("--reports/--no-reports", help="Write report.html per run.")
    ] = False,
    combined: Annotated[
        bool, typer.Option("--combined", help="Run all data files together instead of one axis.")
    ] = False,
) -> None:
    """Run a parameter grid × data files on a process pool (or any Executor)."""
    from phoenix.backtest.sweep import expand, make_executor, parse_grid, run_sweep, write_results

    base = RunSpec(
        config=_config_data(config),
        data=tuple(str(p) for p in data),
        symbol=symbol,
        fill_model=fill_model,
        queue_model=queue_model,
        latency=latency,
        seed=seed,
        wallet_usdc=capital,
        report=reports,
        ledger=False,
    )
    try:
        specs = expand(base, parse_grid(grid), per_file=not combined, out_dir=str(out))
        ex = make_executor(executor, workers)
    except ValueError as exc:
        typer.echo(f"sweep: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"sweep: {len(specs)} runs on {executor}")
    try:
        rows = run_sweep(specs, ex, on_result=lambda r: typer.echo(f"  run {r['run']}: pnl={r['pnl']:.4f}"))
    except SweepRunError as exc:
        typer.echo(f"sweep: {exc}", err=True)
        raise typer.Exit(1) from None
    finally:
        ex.shutdown(wait=True)
    write_results(rows, out)
    typer.echo(f"wrote {out}/sweep.csv and sweep.json")


@backtest_app.command("as2008")
def as2008_cmd(
    paths: Annotated[int, typer.Option("--paths", help="Monte-Carlo paths per γ (paper: 1000).")] = 1000,
    seed: SeedOpt = 1,
    quotes: Annotated[
        str,
        typer.Option(
            "--quotes",
            help="Inventory quotes: 'strategy' (the registered avellaneda_stoikov strategy, post-only) or "
            "'paper' (eqs. 29-30 as the paper places them, through the mid when skewed).",
        ),
    ] = "paper",
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write γ → strategy → stats JSON here.")
    ] = None,
) -> None:
    """Reproduce Avellaneda & Stoikov (2008) Tables 1-3 through the backtest venue (intensity fills) and
    print them next to the published numbers."""
    from phoenix.backtest.as2008 import format_table, reproduce, to_json

    if quotes not in ("strategy", "paper"):
        raise typer.BadParameter("--quotes must be 'strategy' or 'paper'")
    results = reproduce(paths=paths, seed=seed, quotes="strategy" if quotes == "strategy" else "paper")
    typer.echo(f"A-S 2008, {paths} paths per γ, inventory quotes: {quotes}")
    typer.echo(format_table(results))
    if json_out is not None:
        json_out.write_text(json.dumps(to_json(results), indent=2) + "\n")
        typer.echo(f"wrote {json_out}")


@backtest_app.command("calibrate")
def calibrate_cmd(
    data: Annotated[
        list[Path],
        typer.Option("--data", "-d", help="Data with book and trades (recording, Tardis, Parquet)."),
    ],
    symbol: Annotated[
        str,
        typer.Option(
            "--symbol", "-s", help="Simulator symbol whose price grid to use (BTCUSDC for BTCUSDT data)."
        ),
    ],
    step_bps: Annotated[
        float | None, typer.Option("--step-bps", help="Grid step in bps (default: p95 reach / 20).")
    ] = None,
    max_bps: Annotated[
        float | None, typer.Option("--max-bps", help="Grid end in bps (default: max reach).")
    ] = None,
    min_count: Annotated[
        int, typer.Option("--min-count", help="Orders a grid point needs to be fitted.")
    ] = 5,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the fit and the curve here.")] = None,
) -> None:
    """Fit the intensity fill model λ(δ) = A·e^(−kδ) to the market orders in recorded trades."""
    from phoenix.backtest.calibrate import calibrate_many, format_fit
    from phoenix.backtest.loaders import open_data
    from phoenix.exchange.sim.symbols import DEFAULT_SYMBOLS

    spec = DEFAULT_SYMBOLS.get(symbol)
    if spec is None:
        raise typer.BadParameter(f"unknown symbol {symbol}; known: {', '.join(sorted(DEFAULT_SYMBOLS))}")
    try:
        fit = calibrate_many(
            (open_data(path, spec.filters) for path in data),
            spec.filters,
            step_bps=step_bps,
            max_bps=max_bps,
            min_count=min_count,
        )
    except (OSError, ValueError) as exc:
        typer.echo(f"calibration failed: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(format_fit(fit))
    if json_out is not None:
        json_out.write_text(json.dumps(fit.to_json(), indent=2) + "\n")
        typer.echo(f"wrote {json_out}")


@backtest_app.command("capacity")
def capacity_cmd(
    config: Annotated[Path, typer.Option("--config", "-c", help="Config whose sizes belong to --capital.")],
    data: Annotated[list[Path], typer.Option("--data", "-d", help="Data file; repeatable.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output directory (capacity.json, capacity.png).")],
    capitals: Annotated[
        str, typer.Option("--capitals", help="Comma-separated capitals in USDC.")
    ] = "1e3,1e4,1e5,1e6,1e7",
    symbol: SymbolOpt = None,
    fill_model: FillOpt = "auto",
    queue_model: QueueOpt = "prob_log",
    latency: LatencyOpt = None,
    seed: SeedOpt = 1,
    capital: CapitalOpt = None,
    workers: Annotated[int | None, typer.Option("--workers", help="Parallel workers.")] = None,
) -> None:
    """Return vs capital (1 k … 10 M USDC) with sizes scaled and the impact model on."""
    from phoenix.backtest.capacity import format_capacity, run_capacity

    base = RunSpec(
        config=_config_data(config),
        data=tuple(str(p) for p in data),
        symbol=symbol,
        fill_model=fill_model,
        queue_model=queue_model,
        latency=latency,
        seed=seed,
        wallet_usdc=capital,
        report=False,
        ledger=False,
    )
    try:
        caps = [float(c) for c in capitals.split(",") if c.strip()]
        rows = run_capacity(base, caps, workers=workers, out_dir=out)
    except (ValueError, SweepRunError) as exc:
        typer.echo(f"capacity: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(format_capacity(rows))
    typer.echo(f"wrote {out}/capacity.json and capacity.png")
