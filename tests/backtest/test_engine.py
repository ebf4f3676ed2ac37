"""The backtest loop: latency semantics, determinism, real data end to end, ledger, report."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from phoenix.backtest.engine import BacktestEngine, BacktestSettings
from phoenix.backtest.latency import LatencySet
from phoenix.backtest.metrics import SUMMARY_KEYS
from phoenix.backtest.run import RunSpec, execute
from phoenix.backtest.venue import FillModel
from phoenix.config import parse_config
from phoenix.core.types import (
    BookDelta,
    BookSnapshot,
    Event,
    OrderFilled,
    OrderStatus,
    OrderUpdated,
    PlaceOrder,
    Side,
    TimeInForce,
    TradePrinted,
)
from phoenix.exchange.sim.feeds import FeedDelta, FeedEvent, FeedSnapshot, FeedTrade
from phoenix.exchange.sim.symbols import default_filters
from phoenix.persistence.ledger import LedgerReader
from phoenix.trader.trader import Decision

MS = 1_000_000
ETH_CONFIG: dict[str, Any] = {
    "global": {"sim": {"balance_usdc": 10_000}},
    "symbols": [{"symbol": "ETHUSDC", "net_max": 1.0, "near_layers": 4, "far_layers": 0}],
}
BTC_CONFIG: dict[str, Any] = {
    "global": {"sim": {"balance_usdc": 10_000}},
    "symbols": [
        {
            "symbol": "BTCUSDC",
            "net_max": 0.05,
            "near_layers": 4,
            "far_layers": 0,
            "min_spread": 0.00005,
            "near_layer_spacing_bps": 0.5,
        }
    ],
}


class OneOrderTrader:
    """Driver-contract test double: places one GTX bid at the best bid when it first sees the book."""

    def __init__(self, config: object, filters: object, **_: object) -> None:
        self.seen: list[Event] = []
        self.sent_ns: int | None = None

    def on_event(self, event: Event) -> Decision:
        self.seen.append(event)
        if isinstance(event, BookSnapshot) and self.sent_ns is None:
            self.sent_ns = event.ts_ns
            order = PlaceOrder(
                symbol="ETHUSDC",
                client_order_id="phoenix-ETHUSDC-1-0",
                side=Side.BUY,
                price_ticks=event.bids[0][0],
                qty_steps=100,
                time_in_force=TimeInForce.GTX,
            )
            return Decision(actions=[order])
        return Decision()


def _script() -> list[FeedEvent]:
    t0 = 1_700_000_000_000
    events: list[FeedEvent] = [FeedSnapshot("ETHUSDC", t0, ((300000, 1.0),), ((300001, 1.0),))]
    events += [FeedTrade("ETHUSDC", t0 + k, 300000, 0.2, Side.SELL) for k in range(1, 200, 3)]
    return events


def test_order_cannot_fill_before_entry_latency() -> None:
    cfg = parse_config(ETH_CONFIG)
    settings = BacktestSettings(latency=LatencySet.constant_ms(10, 50, 20))
    eng = BacktestEngine(
        cfg, default_filters(["ETHUSDC"]), [_script()], settings, trader_factory=OneOrderTrader
    )
    eng.run()
    trader = eng.trader
    t0 = 1_700_000_000_000 * MS
    assert trader.sent_ns == t0 + 10 * MS  # the snapshot reached the strategy after the feed latency
    arrival = trader.sent_ns + 50 * MS
    acks = [e for e in trader.seen if isinstance(e, OrderUpdated)]
    assert acks[0].status is OrderStatus.NEW and acks[0].ts_ns == arrival + 20 * MS
    fills = [e.fill for e in trader.seen if isinstance(e, OrderFilled)]
    assert fills, "trades after arrival must reach the order"
    assert all(f.ts_ns >= arrival for f in fills)
    # queue: 1.0 displayed ahead; trades of 0.2 from the arrival on: the 6th trade after arrival fills 0.1
    after = [k for k in range(1, 200, 3) if (1_700_000_000_000 + k) * MS >= arrival]
    assert fills[0].ts_ns == (1_700_000_000_000 + after[5]) * MS
    assert sum(f.qty_steps for f in fills) == 100


def test_real_trader_fills_never_precede_entry_latency(btcusdt_recording: Path, tmp_path: Path) -> None:
    spec = RunSpec(
        config=BTC_CONFIG,
        data=(str(btcusdt_recording),),
        symbol="BTCUSDC",
        latency="5,40,20",
        out_dir=str(tmp_path),
    )
    result = execute(spec)
    assert result.fills
    with LedgerReader(tmp_path / "ledger.sqlite3") as reader:
        sent = {}
        for row in reader._all("SELECT client_order_id, ts_ns FROM intents WHERE kind='place'"):
            sent.setdefault(row[0], row[1])
        fills = reader.fills()
    assert fills
    for f in fills:
        assert f.ts_ns >= sent[f.client_order_id] + 40 * MS


def _summary_without_wall(result: Any) -> dict[str, Any]:
    return {k: v for k, v in result.summary.items() if k != "wall_seconds"}


def test_deterministic_for_a_seed(btcusdt_recording: Path, tmp_path: Path) -> None:
    lat_file = tmp_path / "lat.txt"
    rng = random.Random(3)
    lat_file.write_text("\n".join(f"{rng.uniform(5, 120):.3f}" for _ in range(500)))
    spec = RunSpec(
        config=BTC_CONFIG,
        data=(str(btcusdt_recording),),
        symbol="BTCUSDC",
        latency=f"file:{lat_file}",
        seed=11,
        ledger=False,
    )
    a, b = execute(spec), execute(spec)
    assert _summary_without_wall(a) == _summary_without_wall(b)
    assert [(f.ts_ns, f.price, f.qty) for f in a.fills] == [(f.ts_ns, f.price, f.qty) for f in b.fills]
    c = execute(spec.with_overrides(seed=12))
    assert [(f.ts_ns, f.price, f.qty) for f in c.fills] != [(f.ts_ns, f.price, f.qty) for f in a.fills]


def test_btcusdt_recording_end_to_end_report_and_ledger(btcusdt_recording: Path, tmp_path: Path) -> None:
    spec = RunSpec(config=BTC_CONFIG, data=(str(btcusdt_recording),), symbol="BTCUSDC", out_dir=str(tmp_path))
    result = execute(spec)
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert list(summary) == list(SUMMARY_KEYS)
    assert summary["events_processed"] == 6619
    assert 0 < summary["fill_rate"] <= 1
    assert summary["turnover"] > 0
    html = (tmp_path / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 5
    assert "PnL decomposition" in html
    # the ledger is the live schema, and its money adds up: Σ realised − fees + funding = Δ wallet
    with LedgerReader(tmp_path / "ledger.sqlite3") as reader:
        fills = reader.fills()
        funding = reader.funding()
        balances = reader.balances()
    assert len(fills) == len(result.fills)
    delta = sum(f.realized_pnl_usdc - f.fee_usdc for f in fills) + sum(x[2] for x in funding)
    assert balances[-1].wallet_usdc - balances[0].wallet_usdc == pytest.approx(delta, abs=1e-6)


def test_ethusdc_mid_file_end_to_end_with_intensity_model(ethusdc_mid_csv: Path, tmp_path: Path) -> None:
    spec = RunSpec(config=ETH_CONFIG, data=(str(ethusdc_mid_csv),), out_dir=str(tmp_path), seed=5)
    result = execute(spec)
    assert result.summary["events_processed"] > 10_000
    assert result.fills and all(f.maker for f in result.fills)
    assert result.summary["max_abs_position_ratio"] <= 1.0 + 1e-9
    assert (tmp_path / "report.html").stat().st_size > 50_000
    run = json.loads((tmp_path / "run.json").read_text())
    assert run["fill_model"] == "auto" and run["seed"] == 5


def test_two_symbols_mid_only_and_l2_in_one_run(ethusdc_mid_csv: Path, tmp_path: Path) -> None:
    """ETHUSDC from the mid file (intensity) and SOLUSDC from a Tardis L2 export (queue) on one account."""
    l2 = tmp_path / "SOLUSDC_incremental_book_L2.csv"
    rows = ["exchange,symbol,timestamp,local_timestamp,is_snapshot,side,price,amount"]
    t0 = 1_763_962_200_000_000  # 2025-11-24T05:30Z in µs, inside the ETH file's span
    rows += [f"b,SOLUSDC,{t0},{t0},true,bid,{140 - i * 0.01:.2f},50" for i in range(10)]
    rows += [f"b,SOLUSDC,{t0},{t0},true,ask,{140.01 + i * 0.01:.2f},50" for i in range(10)]
    for k in range(1, 600):
        ts = t0 + k * 100_000
        rows.append(f"b,SOLUSDC,{ts},{ts},false,bid,140.00,{50 + k % 7}")
    l2.write_text("\n".join(rows) + "\n")
    config = {
        "global": {"sim": {"balance_usdc": 20_000}},
        "symbols": [
            {"symbol": "ETHUSDC", "net_max": 1.0, "near_layers": 2, "far_layers": 0},
            {"symbol": "SOLUSDC", "net_max": 20.0, "near_layers": 2, "far_layers": 0},
        ],
    }
    spec = RunSpec(config=config, data=(str(ethusdc_mid_csv), str(l2)), ledger=False, max_events=4000)
    from phoenix.backtest.run import build_engine

    engine = build_engine(spec)
    assert engine.fill_models == {"ETHUSDC": FillModel.INTENSITY, "SOLUSDC": FillModel.QUEUE}
    assert engine.venues["SOLUSDC"].impact is None and engine.venues["ETHUSDC"].impact is not None
    result = engine.run()
    assert result.summary["events_processed"] == 4000
    assert {f.symbol for f in result.fills} >= {"ETHUSDC"}
    assert engine.venues["SOLUSDC"].stats.orders_placed > 0  # the L2 symbol was quoted too


def test_random_latency_never_reorders_a_stream(tmp_path: Path) -> None:
    lat = tmp_path / "lat.txt"
    lat.write_text("\n".join(str(x) for x in (1, 2, 5, 40, 90, 100)))
    t0 = 1_700_000_000_000
    script: list[FeedEvent] = [FeedSnapshot("ETHUSDC", t0, ((300000, 1.0),), ((300001, 1.0),))]
    for k in range(1, 300):
        script.append(FeedDelta("ETHUSDC", t0 + 2 * k, ((299990, float(k)),), ()))
        script.append(FeedTrade("ETHUSDC", t0 + 2 * k + 1, 300000, 0.05, Side.SELL))
    cfg = parse_config(ETH_CONFIG)
    settings = BacktestSettings(latency=LatencySet.parse(f"file:{lat}"), seed=3)
    eng = BacktestEngine(cfg, default_filters(["ETHUSDC"]), [script], settings, trader_factory=OneOrderTrader)
    eng.run()
    seen = eng.trader.seen
    sizes = [e.bids[0][1] for e in seen if isinstance(e, BookDelta)]
    assert sizes == sorted(sizes) and len(sizes) == 299  # market data in exchange order
    stamps = [e.ts_ns for e in seen if isinstance(e, BookDelta | TradePrinted)]
    assert stamps == sorted(stamps)
    own = [e for e in seen if isinstance(e, OrderUpdated | OrderFilled)]
    assert isinstance(own[0], OrderUpdated) and own[0].status is OrderStatus.NEW  # the ack before any fill
    assert any(isinstance(e, OrderFilled) for e in own)


def test_stop_loss_in_a_backtest_flattens_and_is_journalled(btcusdt_recording: Path, tmp_path: Path) -> None:
    """The Trader's risk layer runs unchanged: a tiny stop-loss fires, flattens with takers, halts."""
    config = {**BTC_CONFIG, "global": {"sim": {"balance_usdc": 10_000}, "stop_loss_pct": 0.0005}}
    spec = RunSpec(config=config, data=(str(btcusdt_recording),), symbol="BTCUSDC", out_dir=str(tmp_path))
    result = execute(spec)
    assert result.risk_event_kinds.get("stop_loss") == 1
    assert result.summary["risk_events"] >= 2
    assert result.extra["taker_fills"] > 0  # the Flatten went through the book as a taker
    assert result.samples.position_qty[-1] == 0.0
    with LedgerReader(tmp_path / "ledger.sqlite3") as reader:
        kinds = {k for _, _, k, _ in reader.risk_events()}
        flatten_intents = reader.count_intents("flatten")
    assert "stop_loss" in kinds and flatten_intents == 1
