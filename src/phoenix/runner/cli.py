"""Top-level commands of the runner: ``run``, ``report``, ``cancel-all``, ``flatten``, ``status``.

``phoenix.cli`` calls ``register(app)``. Exit codes: 0 ok, 1 runtime failure, 2 configuration or state
problem (bad config, another instance holds the lock, no ledger).
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Annotated, Any, TypeVar

import orjson
import typer

from phoenix.config import Credentials, PhoenixConfig, load_config, load_credentials
from phoenix.errors import ConfigError, ExchangeError, StateError
from phoenix.log import configure_logging, register_secret

T = TypeVar("T")

ConfigOpt = Annotated[Path, typer.Option("--config", "-c", help="YAML config file.")]
SymbolsOpt = Annotated[
    list[str] | None, typer.Option("--symbol", "-s", help="Only this symbol (repeatable); default: all.")
]


def _load(path: Path) -> tuple[PhoenixConfig, Credentials | None]:
    try:
        cfg = load_config(path)
        creds = load_credentials()
    except ConfigError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    if creds is not None:
        register_secret(creds.api_key)
        register_secret(creds.api_secret)
    return cfg, creds


def _run_async(coro: Coroutine[Any, Any, T]) -> T:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency on Linux/macOS
        return asyncio.run(coro)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coro)


def run_command(
    config: ConfigOpt,
    duration: Annotated[
        float | None, typer.Option("--duration", min=0.1, help="Stop cleanly after N seconds.")
    ] = None,
    report_json: Annotated[
        Path | None, typer.Option("--report-json", help="Write the run report (JSON) here at exit.")
    ] = None,
    status: Annotated[
        bool | None,
        typer.Option("--status/--no-status", help="Live terminal table (default: on when stdout is a TTY)."),
    ] = None,
) -> None:
    """Run the market maker (venue sim with no keys: against the embedded simulated exchange)."""
    cfg, creds = _load(config)
    g = cfg.global_
    show_status = sys.stdout.isatty() if status is None else status
    state_dir = Path(g.state_dir)
    state_dir.mkdir(parents=True, exist_ok=True)
    log_stream = None
    log_format = g.log_format
    if show_status:
        # the terminal belongs to the status table; JSON logs go to a file in the state dir
        log_stream = (state_dir / "phoenix.log").open("a", buffering=1)
        log_format = "json"
    configure_logging(g.log_level, log_format, stream=log_stream)
    from phoenix.runner.app import RunnerApp

    app = RunnerApp(
        cfg,
        config_path=config,
        credentials=creds,
        duration_s=duration,
        report_json=report_json,
        status_view=show_status,
        set_log_level=lambda level: configure_logging(level, log_format, stream=log_stream),
    )
    try:
        code = _run_async(app.run())
    except StateError as exc:
        typer.echo(f"phoenix run: {exc}", err=True)
        raise typer.Exit(2) from None
    finally:
        if log_stream is not None:
            log_stream.close()
    raise typer.Exit(code)


def report_command(
    config: Annotated[Path | None, typer.Option("--config", "-c", help="Config (for its state_dir).")] = None,
    state_dir: Annotated[Path | None, typer.Option("--state-dir", help="State directory.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """PnL, fees, funding and fill rate from the ledger, and the ledger-vs-wallet check."""
    from phoenix.persistence.ledger import LEDGER_FILE_NAME, LedgerReader
    from phoenix.persistence.report import build_report, format_report

    if state_dir is None:
        state_dir = Path(_load(config)[0].global_.state_dir) if config is not None else Path("state")
    try:
        with LedgerReader(state_dir / LEDGER_FILE_NAME) as reader:
            report = build_report(reader)
    except StateError as exc:
        typer.echo(f"phoenix report: {exc}", err=True)
        raise typer.Exit(2) from None
    if as_json:
        typer.echo(orjson.dumps(report.to_dict(), option=orjson.OPT_INDENT_2).decode())
    else:
        typer.echo(format_report(report))
    if report.wallet is not None and not report.wallet.ok:
        raise typer.Exit(1)


async def _with_rest(cfg: PhoenixConfig, creds: Credentials | None, body: Callable[..., Awaitable[T]]) -> T:
    from phoenix.exchange.binance.rest import BinanceRestClient
    from phoenix.runner.venue import ops_target

    endpoints, signer = ops_target(cfg, creds)
    async with BinanceRestClient(endpoints, signer, recv_window_ms=cfg.global_.recv_window_ms) as rest:
        symbols = [s.symbol for s in cfg.enabled_symbols]
        filters = await rest.fetch_exchange_filters(symbols)
        return await body(rest, filters, symbols)


def _symbols(cfg: PhoenixConfig, only: list[str] | None) -> PhoenixConfig:
    if not only:
        return cfg
    wanted = {s.upper() for s in only}
    unknown = wanted - {s.symbol for s in cfg.symbols}
    if unknown:
        typer.echo(f"unknown symbols: {sorted(unknown)}", err=True)
        raise typer.Exit(2)
    return cfg.model_copy(update={"symbols": tuple(s for s in cfg.symbols if s.symbol in wanted)})


def _ops(cfg: PhoenixConfig, creds: Credentials | None, body: Callable[..., Awaitable[T]]) -> T:
    configure_logging("WARNING", "json")
    try:
        return _run_async(_with_rest(cfg, creds, body))
    except (StateError, ExchangeError, ConfigError) as exc:
        typer.echo(f"phoenix: {exc}", err=True)
        raise typer.Exit(1) from None


def cancel_all_command(config: ConfigOpt, symbol: SymbolsOpt = None) -> None:
    """Cancel every open order of the configured symbols (inventory is kept)."""
    from phoenix.runner import ops

    cfg, creds = _load(config)
    cfg = _symbols(cfg, symbol)
    report = _ops(cfg, creds, lambda rest, _f, syms: ops.cancel_all(rest, syms))
    for s, n in report.cancelled.items():
        typer.echo(f"{s}: cancelled {n} open order(s)")
    for s, error in report.failed.items():
        typer.echo(f"{s}: cancel-all FAILED: {error}", err=True)
    if not report.ok:
        raise typer.Exit(1)


def flatten_command(
    config: ConfigOpt,
    symbol: SymbolsOpt = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Cancel quotes and close the whole position of each symbol with reduce-only MARKET orders."""
    from phoenix.runner import ops

    cfg, creds = _load(config)
    cfg = _symbols(cfg, symbol)
    names = ", ".join(s.symbol for s in cfg.enabled_symbols)
    if not yes and not typer.confirm(f"Flatten (market-close) all positions of {names}?", default=False):
        typer.echo("aborted")
        raise typer.Exit(1)
    results = _ops(cfg, creds, ops.flatten)
    failed = False
    for r in results:
        typer.echo(f"{r.symbol}: {r.status} closed={r.closed_qty:g}{' ' + r.error if r.error else ''}")
        failed |= r.status == "error"
    if failed:
        raise typer.Exit(1)


def status_command(
    config: ConfigOpt, as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False
) -> None:
    """Exchange-side positions/orders/wallet plus the running instance's /health, if reachable."""
    from phoenix.runner import ops

    cfg, creds = _load(config)
    account = _ops(cfg, creds, ops.account_status)
    health = _fetch_health(cfg)
    doc = {"exchange": account.to_dict(), "runner": health}
    if as_json:
        typer.echo(orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode())
        return
    typer.echo(f"wallet: {account.wallet_usdc:,.4f} USDC")
    for s in account.symbols.values():
        typer.echo(
            f"{s.symbol:<10} position={s.position:g} entry={s.entry_price:g}"
            f" open bids={s.open_bids} asks={s.open_asks}"
        )
    if health is None:
        typer.echo("runner: not reachable (no /health answer)")
    else:
        typer.echo(f"runner: {health.get('status')} pid={health.get('pid')} ready={health.get('ready')}")


def _fetch_health(cfg: PhoenixConfig) -> dict[str, Any] | None:
    import urllib.error
    import urllib.request

    m = cfg.global_.metrics
    if not m.enabled:
        return None
    url = f"http://{m.host}:{m.port}/health"
    try:
        with urllib.request.urlopen(url, timeout=2.0) as resp:
            data: dict[str, Any] = orjson.loads(resp.read())
            return data
    except urllib.error.HTTPError as exc:
        data = orjson.loads(exc.read() or b"{}")
        return data if isinstance(data, dict) else None
    except (OSError, ValueError):
        return None


def register(app: typer.Typer) -> None:
    """Add ``run``, ``report``, ``cancel-all``, ``flatten`` and ``status`` to the ``phoenix`` CLI."""
    app.command("run")(run_command)
    app.command("report")(report_command)
    app.command("cancel-all")(cancel_all_command)
    app.command("flatten")(flatten_command)
    app.command("status")(status_command)


def main() -> None:  # pragma: no cover - convenience for ``python -m phoenix.runner.cli``
    """Standalone entry point with only the runner commands."""
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    app = typer.Typer(no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False)
    register(app)
    app()
