"""Market-data feeds: synthetic (seeded, L2 shape, trades that fill), recorded replay, mid-only CSV."""

from __future__ import annotations

import gzip
import itertools
from pathlib import Path

import orjson
import pytest

from phoenix.core.types import Side, TimeInForce
from phoenix.exchange.sim.engine import SimExchange
from phoenix.exchange.sim.feeds import (
    FeedDelta,
    FeedMarkPrice,
    FeedSnapshot,
    FeedTrade,
    MidCsvFeed,
    RecordedFeed,
    SyntheticFeed,
    parse_rfc3339_ms,
)
from phoenix.exchange.sim.sim_types import OrderRequest, SimOrderStatus
from phoenix.exchange.sim.symbols import default_filters

FILTERS = default_filters()
ETH = FILTERS["ETHUSDC"]


def _synthetic(seed: int, seconds: float = 60.0) -> list[object]:
    return list(SyntheticFeed("ETHUSDC", ETH, seed=seed, duration_s=seconds, trade_rate_per_s=3.0))


def test_synthetic_is_deterministic_per_seed() -> None:
    assert _synthetic(1, 20) == _synthetic(1, 20)
    assert _synthetic(1, 20) != _synthetic(2, 20)


def test_synthetic_book_shape_and_event_mix() -> None:
    events = _synthetic(4, 120)
    assert isinstance(events[0], FeedSnapshot)
    assert len(events[0].bids) == 20 and len(events[0].asks) == 20
    marks = [e for e in events if isinstance(e, FeedMarkPrice)]
    assert len(marks) == 120
    assert all(b.ts_ms - a.ts_ms == 1000 for a, b in itertools.pairwise(marks))
    trades = [e for e in events if isinstance(e, FeedTrade)]
    assert 200 < len(trades) < 550  # Poisson(3/s × 120 s)
    assert {t.aggressor for t in trades} == {Side.BUY, Side.SELL}
    ts = [e.ts_ms for e in events]  # type: ignore[attr-defined]
    assert ts == sorted(ts)
    ex = SimExchange({"ETHUSDC": ETH})
    for ev in events:
        ex.apply_feed_event(ev)
    depth = ex.depth("ETHUSDC", 100)
    assert len(depth.bids) >= 20 and len(depth.asks) >= 20
    assert depth.asks[0][0] - depth.bids[0][0] == 1  # 1-tick spread
    assert all(q > 0 for _, q in depth.bids + depth.asks)


def test_synthetic_sigma_is_respected() -> None:
    feed = SyntheticFeed(
        "ETHUSDC", ETH, seed=9, duration_s=3600, sigma_bps_per_sqrt_s=2.0, trade_rate_per_s=0.0
    )
    mids = [e.mark_price for e in feed if isinstance(e, FeedMarkPrice)]
    import math

    rets = [math.log(b / a) * 1e4 for a, b in itertools.pairwise(mids)]
    sd = (sum(r * r for r in rets) / len(rets)) ** 0.5
    assert 1.7 < sd < 2.3


def test_synthetic_trades_fill_resting_quotes() -> None:
    ex = SimExchange({"ETHUSDC": ETH})
    acct = ex.add_account("k", 1e6)
    filled = 0
    placed = 0
    for ev in SyntheticFeed("ETHUSDC", ETH, seed=2, duration_s=600, trade_rate_per_s=3.0):
        ex.apply_feed_event(ev)
        if isinstance(ev, FeedMarkPrice) and not ex.open_orders(acct):
            top = ex.market("ETHUSDC")
            assert top.best_bid_ticks is not None and top.best_ask_ticks is not None
            for side, price in ((Side.BUY, top.best_bid_ticks), (Side.SELL, top.best_ask_ticks)):
                req = OrderRequest(symbol="ETHUSDC", side=side, qty_steps=10, price_ticks=price,
                                   time_in_force=TimeInForce.GTX)  # fmt: skip
                ex.place_order(acct, req, ev.ts_ms)
                placed += 1
    trades = ex.user_trades(acct, "ETHUSDC")
    filled = sum(t.qty_steps for t in trades)
    assert placed > 20
    assert filled >= 100
    assert all(t.maker for t in trades)


def test_recorded_replay_syncs_and_ends_at_the_documented_book(btcusdt_recording: Path) -> None:
    feed = RecordedFeed(btcusdt_recording, FILTERS["BTCUSDC"])
    ex = SimExchange({"BTCUSDC": FILTERS["BTCUSDC"]})
    counts = {FeedSnapshot: 0, FeedDelta: 0, FeedTrade: 0, FeedMarkPrice: 0}
    last_ts = 0
    for ev in feed:
        counts[type(ev)] += 1
        assert ev.ts_ms >= last_ts
        last_ts = ev.ts_ms
        ex.apply_feed_event(ev)
    assert feed.gaps == 0
    assert counts[FeedSnapshot] == 1
    assert counts[FeedTrade] == 2197
    assert counts[FeedMarkPrice] == 99
    assert 4300 <= counts[FeedDelta] <= 4322  # diffs older than the snapshot are dropped
    top = ex.market("BTCUSDC")
    assert (top.best_bid_ticks, top.best_ask_ticks) == (281_551, 281_552)  # 28155.10 / 28155.20
    assert top.funding_rate == pytest.approx(0.00002754)
    assert top.next_funding_ms == 1680652800000
    depth = ex.depth("BTCUSDC", 5000)
    assert (len(depth.bids), len(depth.asks)) == (2306, 1791)


def test_recorded_replay_counts_a_pu_gap(tmp_path: Path, btcusdt_recording: Path) -> None:
    out = tmp_path / "gap.dat.gz"
    dropped = False
    with gzip.open(btcusdt_recording, "rb") as src, gzip.open(out, "wb") as dst:
        seen_snapshot = False
        for line in src:
            body = orjson.loads(line[line.find(b" ") + 1 :])
            seen_snapshot = seen_snapshot or "lastUpdateId" in body
            data = body.get("data", {})
            if seen_snapshot and not dropped and data.get("e") == "depthUpdate" and data["u"] > 2710246766123:
                dropped = True  # a diff well after the snapshot
                continue
            dst.write(line)
    feed = RecordedFeed(out, FILTERS["BTCUSDC"], symbol_map={"BTCUSDT": "BTCUSDC"})
    assert sum(1 for _ in feed) > 6000
    assert dropped and feed.gaps == 1


def test_mid_csv_feed_synthesises_one_tick_book(ethusdc_mid_csv: Path) -> None:
    feed = MidCsvFeed(ethusdc_mid_csv, ETH)
    ex = SimExchange({"ETHUSDC": ETH})
    acct = ex.add_account("k", 1e6)
    first = True
    n = 0
    for ev in itertools.islice(feed, 3000):
        n += 1
        if first:
            assert isinstance(ev, FeedSnapshot)
            assert ev.ts_ms == parse_rfc3339_ms("2025-11-24T03:29:42.921886164Z")
            assert ev.bids[0][0] == 285_524 and ev.asks[0][0] == 285_525  # mid 2855.245
            first = False
            ex.apply_feed_event(ev)
            req = OrderRequest(symbol="ETHUSDC", side=Side.SELL, qty_steps=10, price_ticks=285_527)
            order, _ = ex.place_order(acct, req, ev.ts_ms)
            continue
        ex.apply_feed_event(ev)
        top = ex.market("ETHUSDC")
        assert top.best_bid_ticks is not None and top.best_ask_ticks is not None
        assert top.best_ask_ticks - top.best_bid_ticks in (1, 2)
    assert n == 3000
    # the mid rose past 2855.27 early on: the market moved through our ask and filled it
    assert ex.get_order(acct, "ETHUSDC", order_id=order.order_id).status is SimOrderStatus.FILLED


def test_rfc3339_parsing_handles_3_to_9_digits() -> None:
    assert parse_rfc3339_ms("2025-11-24T03:29:42.921Z") == parse_rfc3339_ms("2025-11-24T03:29:42.921886164Z")
    assert parse_rfc3339_ms("1970-01-01T00:00:01.5Z") == 1500
    assert parse_rfc3339_ms("1970-01-01T00:00:02Z") == 2000


def test_recorded_feed_reads_bare_events_without_envelope(tmp_path: Path) -> None:
    lines = [
        {"lastUpdateId": 10, "E": 1000, "T": 1000, "bids": [["100.0", "1.0"]], "asks": [["100.1", "2.0"]]},
        {"e": "depthUpdate", "E": 1001, "T": 1001, "s": "BTCUSDT", "U": 9, "u": 12, "pu": 8,
         "b": [["100.0", "0.500"]], "a": []},
        {"e": "depthUpdate", "E": 1002, "T": 1002, "s": "BTCUSDT", "U": 13, "u": 14, "pu": 12,
         "b": [], "a": [["100.2", "1.000"]]},
        {"e": "trade", "E": 1003, "T": 1003, "s": "BTCUSDT", "t": 1, "p": "100.1", "q": "0.010", "m": False},
    ]  # fmt: skip
    path = tmp_path / "raw.dat.gz"
    with gzip.open(path, "wb") as fh:
        for i, obj in enumerate(lines):
            fh.write(f"{1000 + i} ".encode() + orjson.dumps(obj) + b"\n")
    events = list(RecordedFeed(path, FILTERS["BTCUSDC"]))
    assert [type(e) for e in events] == [FeedSnapshot, FeedDelta, FeedDelta, FeedTrade]
    assert events[1].bids == ((1000, 0.5),)
    assert events[3].aggressor is Side.BUY and events[3].price_ticks == 1001


def test_synthetic_sizes_scale_with_price() -> None:
    btc = FILTERS["BTCUSDC"]
    first = next(iter(SyntheticFeed("BTCUSDC", btc, seed=1, mid=90_000.0, duration_s=1)))
    assert isinstance(first, FeedSnapshot)
    best_notional = first.bids[0][1] * 90_000.0
    assert 500.0 < best_notional < 40_000.0  # ≈ 6000 USDC with log-normal noise
    assert first.asks[0][0] - first.bids[0][0] == 1
