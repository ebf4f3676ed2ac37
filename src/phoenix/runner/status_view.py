"""Live terminal status (rich) while ``phoenix run`` is attached to a TTY."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from rich import box
from rich.console import Console
from rich.live import Live
from rich.table import Table

if TYPE_CHECKING:
    from phoenix.runner.app import RunnerApp


_COLUMNS = ("symbol", "mid", "sprd", "pos", "bids", "asks", "fills", "pnl", "age", "state")
_STYLES = {"active": "green", "reducing_only": "yellow", "halted": "red", "stale": "magenta"}


def _fmt(value: Any, spec: str = "") -> str:
    if value is None:
        return "-"
    return format(value, spec) if spec else str(value)


def status_table(app: RunnerApp) -> Table:
    """One row per symbol: mid, spread, position, orders per side, fills, PnL, state."""
    ok, detail = app.health()
    title = (
        f"Phoenix  venue={app.config.global_.venue.value}  wallet={app.wallet_usdc:,.2f} USDC  "
        f"health={'ok' if ok else 'NOT OK'}  deadman={'armed' if app.deadman_armed else 'off'}  "
        f"user-stream={'up' if detail['user_stream_connected'] else 'DOWN'}"
    )
    table = Table(
        title=title,
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        collapse_padding=True,
        caption="sprd in ticks, age = book age in ms, pnl in USDC",
    )
    for name in _COLUMNS:
        table.add_column(name, justify="right" if name not in ("symbol", "state") else "left", no_wrap=True)
    for symbol in app.symbols:
        row = app.symbol_row(symbol)
        state = row["state"]
        style = _STYLES.get(state, "")
        table.add_row(
            symbol,
            _fmt(row.get("mid"), ".7g"),
            _fmt(row.get("spread_ticks")),
            _fmt(row.get("position"), ".6g"),
            str(row["bid_layers"]),
            str(row["ask_layers"]),
            str(row["fills"]),
            _fmt(row.get("pnl_usdc"), ".2f"),
            _fmt(row.get("book_age_ms"), ".0f"),
            f"[{style}]{state}[/{style}]" if style else state,
        )
    return table


async def run_status_view(app: RunnerApp, refresh_s: float = 0.5) -> None:
    """Redraw the table until cancelled."""
    console = Console()
    with Live(status_table(app), console=console, refresh_per_second=4, transient=False) as live:
        while True:
            await asyncio.sleep(refresh_s)
            live.update(status_table(app))
