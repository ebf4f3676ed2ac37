"""Helpers for runner integration tests: configs pointing at a loopback simulator, a market pump, waits."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import yaml

from phoenix.core.types import Side
from phoenix.exchange.sim.server import SimServer

REPO_ROOT = Path(__file__).resolve().parents[2]
ETH_SYMBOL: dict[str, Any] = {
    "symbol": "ETHUSDC",
    "net_max": 2.0,
    "min_spread": 0.0006,
    "far_layer_size": 0.08,
}


def free_port() -> int:
    """A currently free loopback TCP port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def runner_config(
    sim: SimServer,
    state_dir: Path,
    *,
    symbols: list[dict[str, Any]] | None = None,
    metrics_port: int | None = None,
    **global_overrides: Any,
) -> dict[str, Any]:
    """A config dict for a runner connected to ``sim`` (external simulator URLs, default sim keys)."""
    g: dict[str, Any] = {
        "venue": "sim",
        "urls": {
            "rest_url": sim.rest_url,
            "ws_public_url": sim.ws_public_url,
            "ws_market_url": sim.ws_market_url,
            "ws_private_url": sim.ws_private_url,
            "ws_api_url": sim.ws_api_url,
        },
        "state_dir": str(state_dir),
        "metrics": {"enabled": metrics_port is not None, "port": metrics_port or 0},
        "reconcile_interval_s": 3600,
        "log_level": "WARNING",
    }
    g.update(global_overrides)
    return {"global": g, "symbols": symbols or [dict(ETH_SYMBOL)]}


def write_config(path: Path, data: dict[str, Any]) -> Path:
    """Write a YAML config file."""
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def own_orders(sim: SimServer, symbol: str = "ETHUSDC") -> list[Any]:
    """The default account's open orders at the simulator."""
    return list(sim.engine.open_orders(sim.account_id(), symbol))


def own_position_steps(sim: SimServer, symbol: str = "ETHUSDC") -> int:
    """The default account's position (steps) at the simulator."""
    for p in sim.engine.positions(sim.account_id()):
        if p.symbol == symbol:
            return int(p.qty_steps)
    return 0


def side_counts(orders: list[Any]) -> tuple[int, int]:
    """(bids, asks) among order views."""
    bids = sum(1 for o in orders if o.side is Side.BUY)
    return bids, len(orders) - bids


async def wait_for(cond: Callable[[], bool], timeout_s: float, step_s: float = 0.05) -> float:
    """Poll ``cond`` until true; returns the seconds it took; fails the test on timeout."""
    t0 = time.monotonic()
    while not cond():
        if time.monotonic() - t0 > timeout_s:
            raise AssertionError(f"condition not met within {timeout_s} s")
        await asyncio.sleep(step_s)
    return time.monotonic() - t0


class MarketPump:
    """Keeps a manual-feed book fresh: toggles the size of a far level every ``period_s`` (mid unchanged)."""

    def __init__(self, sim: SimServer, symbol: str = "ETHUSDC", period_s: float = 0.1) -> None:
        self.sim = sim
        self.symbol = symbol
        self.period_s = period_s
        self._task: asyncio.Task[None] | None = None
        self.paused = False

    async def _run(self) -> None:
        book = self.sim.engine.depth(self.symbol, 50, self.sim.now_ms())
        far_bid = book.bids[-1][0]
        i = 0
        while True:
            await asyncio.sleep(self.period_s)
            if self.paused:
                continue
            i += 1
            self.sim.apply_delta(self.symbol, bids=[(far_bid - 1, 1.0 + (i % 2))], asks=[])

    def start(self) -> None:
        """Start pumping."""
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        """Stop pumping."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


@contextlib.asynccontextmanager
async def running_app(
    sim: SimServer, tmp_path: Path, symbols: list[dict[str, Any]] | None = None, **overrides: Any
) -> AsyncIterator[Any]:
    """A ``RunnerApp`` connected to ``sim`` over loopback, started and ready; stopped (exit 0) afterwards."""
    from phoenix.config import load_config
    from phoenix.runner.app import RunnerApp

    data = runner_config(sim, tmp_path / "state", symbols=symbols, **overrides)
    path = write_config(tmp_path / "phoenix.yaml", data)
    config = load_config(path, env={})
    app = RunnerApp(config, config_path=path, install_signal_handlers=False, env={})
    task = asyncio.get_running_loop().create_task(app.run())
    try:
        await wait_for(lambda: app.ready.is_set() or task.done(), 15)
        assert not task.done(), "runner exited during start-up"
        yield app
    finally:
        app.request_stop("test done")
        code = await asyncio.wait_for(task, 20)
        assert code == 0


def full_ladder(sim: SimServer, n: int = 24) -> bool:
    """True when the default account quotes ``n`` bids and ``n`` asks."""
    bids, asks = side_counts(own_orders(sim))
    return bids == n and asks == n
