"""Live-runner benchmark: tick-to-order latency over loopback, RSS and CPU of the runner process.

The simulator runs in this process (manual feed, depth diffs published immediately); the runner is a
separate ``phoenix run`` process connected to it over loopback exactly as to Binance. A tick is a book
change the simulator publishes (the market moves a few bps); its latency is the time from publishing it
to the simulator receiving the first resulting order request (place / modify / cancel) of that symbol.
Ticks are paced so the runner's order-rate budget (``orders_per_10s_max``) is not what is measured.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from phoenix.core.types import Side, SymbolFilters
from phoenix.exchange.sim.feed_driver import DEFAULT_MIDS
from phoenix.exchange.sim.server import SimServer
from phoenix.exchange.sim.symbols import DEFAULT_SYMBOLS, spec_for

EXTRA = {  # four more symbols so that 8 are quoted (filters like real USDC pairs of that price class)
    "BNBUSDC": ("0.01", "0.01", "5", 600.0),
    "DOGEUSDC": ("0.00001", "1", "5", 0.2),
    "ADAUSDC": ("0.0001", "1", "5", 0.7),
    "LINKUSDC": ("0.001", "0.01", "5", 15.0),
}
NET_MAX_NOTIONAL_USDC = 6000.0
FAR_SIZE_NOTIONAL_USDC = 25.0
SHIFT_BPS = 2.0
SWING = 10


def _specs() -> dict[str, Any]:
    out = {}
    for sym, (tick, step, notional, _mid) in EXTRA.items():
        f = SymbolFilters(
            symbol=sym,
            tick_size=Decimal(tick),
            step_size=Decimal(step),
            min_qty=Decimal(step),
            min_notional=Decimal(notional),
            max_qty=Decimal("10000000"),
        )
        out[sym] = spec_for(f)
    return out


def _mid(symbol: str) -> float:
    return DEFAULT_MIDS.get(symbol) or EXTRA[symbol][3]


def _config(sim: SimServer, symbols: list[str], state_dir: Path) -> dict[str, Any]:
    syms = []
    for s in symbols:
        mid = _mid(s)
        step = float(sim.filters[s].step_size)
        syms.append(
            {
                "symbol": s,
                "net_max": NET_MAX_NOTIONAL_USDC / mid,
                "far_layer_size": step * max(1, round(FAR_SIZE_NOTIONAL_USDC / mid / step)),
                "cancel_budget_per_min": int(os.environ.get("BENCH_CANCEL_BUDGET", "50")),
            }
        )
    return {
        "global": {
            "venue": "sim",
            "urls": {
                "rest_url": sim.rest_url,
                "ws_public_url": sim.ws_public_url,
                "ws_market_url": sim.ws_market_url,
                "ws_private_url": sim.ws_private_url,
                "ws_api_url": sim.ws_api_url,
            },
            "state_dir": str(state_dir),
            "metrics": {"enabled": False},
            "log_level": "WARNING",
            "stale_book_ms": 5000,
            "reconcile_interval_s": 30,
            "quote_interval_ms": int(os.environ.get("BENCH_QUOTE_INTERVAL_MS", "200")),
        },
        "symbols": syms,
    }


class Probe:
    """Records tick publish times and the first order request per tick, per symbol."""

    def __init__(self, sim: SimServer) -> None:
        self.pending: dict[str, int] = {}
        self.latencies_ns: list[int] = []
        self.orders: dict[str, int] = {}
        engine = sim.engine
        for name in ("place_order", "modify_order", "cancel_order"):
            setattr(engine, name, self._wrap(getattr(engine, name), name))

    def _wrap(self, fn: Callable[..., Any], name: str) -> Callable[..., Any]:
        def wrapped(account: Any, *args: Any, **kwargs: Any) -> Any:
            now = time.perf_counter_ns()
            symbol = kwargs.get("symbol") or (args[0] if args and isinstance(args[0], str) else None)
            if symbol is None and args:
                symbol = getattr(args[0], "symbol", None)
            if isinstance(symbol, str):
                self.orders[symbol] = self.orders.get(symbol, 0) + 1
                t0 = self.pending.pop(symbol, None)
                if t0 is not None:
                    self.latencies_ns.append(now - t0)
            return fn(account, *args, **kwargs)

        return wrapped

    def tick(self, sim: SimServer, symbol: str, level: int) -> None:
        """Move the market book of ``symbol`` to ``level`` × SHIFT_BPS from its start mid; remember when."""
        f = sim.filters[symbol]
        mid = _mid(symbol) * (1 + level * SHIFT_BPS / 10_000)
        bid0 = f.price_to_ticks(mid, Side.BUY)
        qty = max(5000.0 / mid, f.step * 10)
        qty = round(f.qty_to_steps(qty) * f.step, f.qty_decimals)
        book = sim.engine.depth(symbol, 1000, sim.now_ms())
        stale_bids = [(p, 0.0) for p, _ in book.bids]
        stale_asks = [(p, 0.0) for p, _ in book.asks]
        bids = [(bid0 - i, qty) for i in range(20)]
        asks = [(bid0 + 1 + i, qty) for i in range(20)]
        self.pending[symbol] = time.perf_counter_ns()
        sim.apply_delta(symbol, bids=stale_bids + bids, asks=stale_asks + asks)


async def _background_depth(sim: SimServer, symbols: list[str], hz: float = 10.0) -> None:
    """Realistic quiet-market traffic: every symbol's far book level changes size ``hz`` times a second."""
    far = {s: sim.engine.depth(s, 50, sim.now_ms()).bids[-1][0] - 5 for s in symbols}
    i = 0
    while True:
        await asyncio.sleep(1.0 / hz)
        i += 1
        for s in symbols:
            sim.apply_delta(s, bids=[(far[s], 1.0 + i % 3)], asks=[])


def _proc_cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _proc_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    return 0.0


def _pct(values: list[int], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return float(s[min(len(s) - 1, round(q / 100 * (len(s) - 1)))])


LEAN_ENTRY = (sys.executable, "-m", "phoenix.runner")
CLI_ENTRY = (str(Path(sys.executable).parent / "phoenix"),)


async def _phase(
    symbols: list[str],
    tick_period_s: float,
    measure_s: float,
    settle_s: float = 1.0,
    entry: tuple[str, ...] = LEAN_ENTRY,
) -> dict[str, float]:
    sim = SimServer(symbols=symbols, feed="manual", immediate_depth=True, specs=_specs(), seed_book=False)
    await sim.start()
    for s in symbols:
        sim.seed_default_book(s, mid=_mid(s))
    probe = Probe(sim)
    pump = asyncio.get_running_loop().create_task(_background_depth(sim, symbols))
    with tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp) / "phoenix.yaml"
        cfg.write_text(yaml.safe_dump(_config(sim, symbols, Path(tmp) / "state")))
        env = {k: v for k, v in os.environ.items() if not k.startswith("PHOENIX_")}
        report = Path(tmp) / "report.json"
        proc = await asyncio.create_subprocess_exec(
            *entry,
            "run",
            "--config",
            str(cfg),
            "--no-status",
            "--report-json",
            str(report),
            env=env,
            stderr=None if os.environ.get("BENCH_DEBUG") else asyncio.subprocess.DEVNULL,
        )
        try:
            # wait for full ladders (the cold start is paced by the order budget)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                if all(len(sim.engine.open_orders(sim.account_id(), s)) >= 48 for s in symbols):
                    break
                await asyncio.sleep(0.1)
            await asyncio.sleep(settle_s)  # let the cold start leave the 10-s order window
            probe.latencies_ns.clear()
            probe.orders.clear()
            cpu0, t0 = _proc_cpu_s(proc.pid), time.monotonic()
            n = 0
            while time.monotonic() - t0 < measure_s:
                symbol = symbols[n % len(symbols)]
                step = n // len(symbols)
                # a zig-zag trend: SWING steps up, SWING steps down, ... (a trend, not noise)
                level = step % SWING if (step // SWING) % 2 == 0 else SWING - step % SWING
                probe.tick(sim, symbol, level)
                n += 1
                await asyncio.sleep(tick_period_s / len(symbols))
            await asyncio.sleep(0.3)
            cpu = (_proc_cpu_s(proc.pid) - cpu0) / (time.monotonic() - t0) * 100.0
            rss = _proc_rss_mb(proc.pid)
        finally:
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    await asyncio.wait_for(proc.wait(), 30)
                except TimeoutError:
                    proc.kill()
                    await proc.wait()
            pump.cancel()
            await sim.stop()
        doc = json.loads(report.read_text()) if report.exists() else {}
        if os.environ.get("BENCH_DEBUG"):
            print(json.dumps({k: v for k, v in doc.items() if k != "symbols"}), file=sys.stderr)
    lat = probe.latencies_ns
    return {
        "p50_us": _pct(lat, 50) / 1000,
        "p99_us": _pct(lat, 99) / 1000,
        "samples": float(len(lat)),
        "ticks": float(n),
        "rss_mb": rss,
        "cpu_pct": cpu,
        "orders_per_tick": sum(probe.orders.values()) / max(1, n),
        "runner_internal_p50_us": float(doc.get("tick_to_order_p50_us", float("nan"))),
        "runner_internal_p99_us": float(doc.get("tick_to_order_p99_us", float("nan"))),
        "decision_p99_us": float(doc.get("decision_latency_p99_us", float("nan"))),
    }


def _import_rss_mb(module: str) -> float:
    """RSS (MB) of a fresh interpreter after importing ``module`` and creating a uvloop loop."""
    code = (
        f"import uvloop, {module}; uvloop.new_event_loop();"
        "print([l for l in open('/proc/self/status') if l.startswith('VmRSS')][0].split()[1])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    return int(out.stdout.strip()) / 1024.0


def run() -> dict[str, float]:
    """Benchmark metrics (see benchmarks/README.md)."""
    one = asyncio.run(_phase(["ETHUSDC"], tick_period_s=0.5, measure_s=30.0))
    eight_symbols = [*DEFAULT_SYMBOLS, *EXTRA][:8]
    eight = asyncio.run(_phase(eight_symbols, tick_period_s=4.0, measure_s=30.0, settle_s=2.0))
    return {
        "runner.tick_to_order_p50_us_1sym": one["p50_us"],
        "runner.tick_to_order_p99_us_1sym": one["p99_us"],
        "runner.tick_to_order_p99_us_8sym": eight["p99_us"],
        "runner.rss_mb_8sym": eight["rss_mb"],
        "runner.cpu_pct_8sym": eight["cpu_pct"],
        "runner.tick_to_order_samples_1sym": one["samples"],
        "runner.tick_to_order_samples_8sym": eight["samples"],
        "runner.import_rss_mb_lean_entry": _import_rss_mb("phoenix.runner.cli, phoenix.runner.app"),
        "runner.import_rss_mb_phoenix_cli": _import_rss_mb("phoenix.cli, phoenix.runner.app"),
    }


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
