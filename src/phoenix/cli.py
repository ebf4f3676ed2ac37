"""The ``phoenix`` command line: run, backtest, sim, config, ops commands."""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path
from typing import Annotated, Any, ClassVar

import typer
import typer.main
import yaml
from typer.core import TyperGroup

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


accel_app = typer.Typer(
    help="The mypyc-compiled hot path: build it, check whether it is in use, remove it.", no_args_is_help=True
)
app.add_typer(accel_app, name="accel")


@accel_app.command("status")
def accel_status() -> None:
    """Print whether this process runs the compiled modules, and why not if it does not."""
    from phoenix import _accel

    st = _accel.status()
    typer.echo(f"accel: {st.mode} ({st.reason})")


@accel_app.command("build")
def accel_build(
    if_stale: Annotated[
        bool, typer.Option("--if-stale", help="Build only when the build is not current.")
    ] = False,
    optional: Annotated[
        bool, typer.Option("--optional", help="A failed build (no C compiler) is a warning, exit 0.")
    ] = False,
    root: Annotated[
        Path | None, typer.Option(help="Directory holding the phoenix package (default: this install).")
    ] = None,
) -> None:
    """Compile the hot-path modules with mypyc, in place, and write the manifest that guards them."""
    from phoenix import _accel

    where = root.resolve() if root is not None else _accel.package_root()
    if if_stale and _accel.check(where, environ={}).compiled:
        typer.echo(f"accel: compiled build is up to date ({where})")
        return
    typer.echo(f"accel: compiling {len(_accel.MODULES)} modules with mypyc under {where} (about a minute)")
    try:
        st = _accel.build(where)
    except (Exception, SystemExit) as exc:  # setuptools reports a compiler failure as SystemExit
        _accel.clean(where)
        typer.echo(
            f"accel: build failed ({type(exc).__name__}: {exc}); Phoenix runs as pure Python", err=True
        )
        raise typer.Exit(0 if optional else 1) from None
    typer.echo(f"accel: {st.mode} ({st.reason})")
    if not st.compiled and not optional:
        raise typer.Exit(1)


@accel_app.command("clean")
def accel_clean(
    root: Annotated[
        Path | None, typer.Option(help="Directory holding the phoenix package (default: this install).")
    ] = None,
) -> None:
    """Remove the compiled modules (Phoenix then runs as pure Python)."""
    from phoenix import _accel

    for path in _accel.clean(root.resolve() if root is not None else None):
        typer.echo(f"removed {path}")


class _LazyGroup(TyperGroup):
    """Top-level group that imports the ``sim`` and ``backtest`` stacks only when they are invoked.

    Keeps ``phoenix run`` lean: importing every sub-application costs ~30 MB of RSS (measured 73.6 MB vs
    41.5 MB for the runner commands alone), against the runner's 80 MB budget.
    """

    lazy: ClassVar[dict[str, tuple[str, str, str]]] = {
        "sim": ("phoenix.exchange.sim.cli", "sim_app", "Run the simulated Binance USDⓈ-M exchange."),
        "backtest": ("phoenix.backtest.cli", "backtest_app", "Backtest on recorded data with the live core."),
    }

    def list_commands(self, ctx: Any) -> list[str]:
        """Eager commands first, then the lazy ones."""
        names = list(super().list_commands(ctx))
        return names + [n for n in self.lazy if n not in names]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        """Import a lazy sub-application the first time it is asked for."""
        if cmd_name in self.lazy and cmd_name not in self.commands:
            module_name, attr, help_text = self.lazy[cmd_name]
            sub = getattr(importlib.import_module(module_name), attr)
            command = typer.main.get_command(sub)
            command.help = command.help or help_text
            command.name = cmd_name
            self.add_command(command, cmd_name)
        return super().get_command(ctx, cmd_name)


app.info.cls = _LazyGroup
importlib.import_module("phoenix.runner.cli").register(app)


def main() -> None:
    """Console-script entry point."""
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(app())
