"""Run statistics, bounded maps and the terminal status table (no network)."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from phoenix.config import parse_config
from phoenix.runner.app import BoundedMap, RunnerApp
from phoenix.runner.stats import RunStats, percentile
from phoenix.runner.status_view import status_table

MIN_NS = 60_000_000_000


def test_percentile_nearest_rank() -> None:
    samples = list(range(1, 101))
    assert percentile(samples, 50) in (50.0, 51.0)
    assert percentile(samples, 99) == 99.0
    assert percentile([], 99) == 0.0


def test_report_has_the_issue_keys_and_tracks_peaks() -> None:
    stats = RunStats(["ETHUSDC"], started_ns=0)
    stats.add_cancels("ETHUSDC", 3, now_ns=1)
    stats.add_cancels("ETHUSDC", 2, now_ns=MIN_NS + 2)  # the first three left the minute window
    stats.add_error(-5022)
    stats.add_error(None)
    stats.observe_position_ratio("ETHUSDC", 0.4)
    stats.observe_position_ratio("ETHUSDC", 0.2)
    stats.observe_layers("ETHUSDC", 24, 23)
    stats.add_decision(10_000)
    doc = stats.report({"ETHUSDC": {"bid_layers": 24}}, ended_ns=2 * MIN_NS)
    for key in (
        "orders_placed",
        "orders_cancelled",
        "fills",
        "fill_rate",
        "pnl",
        "fees",
        "cancels_per_min_max",
        "max_abs_position_ratio",
        "rate_limit_peak_pct",
        "decision_latency_p50_us",
        "decision_latency_p99_us",
        "peak_rss_mb",
        "errors_by_code",
        "symbols",
    ):
        assert key in doc
    assert doc["orders_cancelled"] == 5
    assert doc["cancels_per_min_max"] == 3
    assert doc["max_abs_position_ratio"] == 0.4
    assert doc["errors_by_code"] == {"-5022": 1, "none": 1}
    assert doc["decision_latency_p99_us"] == 10.0
    assert doc["peak_rss_mb"] > 0


def test_fill_rate_5m_window() -> None:
    stats = RunStats(["ETHUSDC"], started_ns=0)
    s = stats.symbols["ETHUSDC"]
    for t in range(4):
        s.placed_5m.add(t)
    s.filled_5m.add(3)
    assert s.fill_rate_5m(10) == 0.25
    assert s.fill_rate_5m(5 * MIN_NS + 10) == 0.0


def test_bounded_map_forgets_oldest() -> None:
    m: BoundedMap[int, str] = BoundedMap(2)
    m[1], m[2], m[3] = "a", "b", "c"
    assert list(m) == [2, 3]


def test_status_table_renders_every_symbol(tmp_path: Path) -> None:
    cfg = parse_config(
        {
            "global": {"state_dir": str(tmp_path)},
            "symbols": [{"symbol": "ETHUSDC", "net_max": 1.0}, {"symbol": "BTCUSDC", "net_max": 0.1}],
        },
        env={},
    )
    app = RunnerApp(cfg, install_signal_handlers=False)
    console = Console(record=True, width=100)
    console.print(status_table(app))
    text = console.export_text()
    assert "ETHUSDC" in text and "BTCUSDC" in text and "starting" in text
