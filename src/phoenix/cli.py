"""The ``phoenix`` command line: run, backtest, sim, config, ops commands."""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
import yaml

from phoenix import __version__
from phoenix.config import load_config, load_credentials, redacted_dump, reloadable_keys
from phoenix.errors import ConfigError

app = typer.Typer(
    name="phoenix",
    help="Phoenix: market maker for Binance USDⓈ-M USDC perpetuals (simulated exchange by default).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
config_app = typer.Typer(help="Validate and inspect configuration files.", no_args_is_help=True)
app.add_typer(config_app, name="config")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"phoenix {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """Phoenix market maker."""


ConfigPath = Annotated[Path, typer.Argument(help="YAML config file.")]


@config_app.command("check")
def config_check(path: ConfigPath) -> None:
    """Validate a config file (with PHOENIX_* env overrides); exit 1 listing every problem."""
    try:
        cfg = load_config(path)
        load_credentials()
    except ConfigError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    symbols = ", ".join(s.symbol for s in cfg.symbols)
    typer.echo(f"{path}: OK (venue={cfg.global_.venue.value}, symbols={symbols})")


@config_app.command("show")
def config_show(path: ConfigPath) -> None:
    """Print the effective config after defaults and env overrides (secrets are never part of it)."""
    try:
        cfg = load_config(path)
        creds = load_credentials()
    except ConfigError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    data = redacted_dump(cfg)
    data["credentials"] = "***" if creds is not None else "none (simulated exchange only)"
    data["reloadable"] = reloadable_keys()
    typer.echo(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))


def _exists(module_name: str) -> bool:
    try:
        return importlib.util.find_spec(module_name) is not None
    except ModuleNotFoundError:
        return False


def _mount() -> None:
    # Sub-applications live with the component they drive.
    mounts = (
        ("phoenix.exchange.sim.cli", "sim_app", "sim", "Run the simulated Binance USDⓈ-M exchange."),
        ("phoenix.backtest.cli", "backtest_app", "backtest", "Backtest on recorded data with the live core."),
    )
    for module_name, attr, name, help_text in mounts:
        if not _exists(module_name):
            continue
        sub = getattr(importlib.import_module(module_name), attr)
        app.add_typer(sub, name=name, help=help_text)
    if _exists("phoenix.runner.cli"):
        importlib.import_module("phoenix.runner.cli").register(app)


_mount()


def main() -> None:
    """Console-script entry point."""
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(app())
