"""Data loaders: real recordings, mid CSVs, Tardis CSV exports and Parquet, all streamed."""

from __future__ import annotations

import gzip
import itertools
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from phoenix.backtest.loaders import TardisCsvFeed, detect_format, is_mid_only, open_data
from phoenix.core.types import Side
from phoenix.exchange.sim.feeds import FeedDelta, FeedMarkPrice, FeedSnapshot, FeedTrade
from phoenix.exchange.sim.symbols import default_filters

ETH = default_filters(["ETHUSDC"])["ETHUSDC"]
BTC = default_filters(["BTCUSDC"])["BTCUSDC"]

L2_CSV = """exchange,symbol,timestamp,local_timestamp,is_snapshot,side,price,amount
binance-futures,ETHUSDC,1700000000000000,1700000000001000,true,ask,3000.02,2.5
binance-futures,ETHUSDC,1700000000000000,1700000000001000,true,ask,3000.03,1.0
binance-futures,ETHUSDC,1700000000000000,1700000000001000,true,bid,3000.01,3.0
binance-futures,ETHUSDC,1700000000000000,1700000000001000,true,bid,3000.00,4.0
binance-futures,ETHUSDC,1700000000100000,1700000000101000,false,bid,3000.01,1.5
binance-futures,ETHUSDC,1700000000100000,1700000000101000,false,ask,3000.02,0
binance-futures,ETHUSDC,1700000000250000,1700000000251000,false,ask,3000.04,7
binance-futures,BTCUSDC,1700000000250000,1700000000251000,false,ask,40000.1,7
"""

TRADES_CSV = """exchange,symbol,timestamp,local_timestamp,id,side,price,amount
binance-futures,ETHUSDC,1700000000050000,1700000000051000,1,sell,3000.01,0.5
binance-futures,ETHUSDC,1700000000060000,1700000000061000,2,buy,3000.02,0.25
binance-futures,ETHUSDC,1700000000070000,1700000000071000,3,unknown,3000.02,0.25
"""

QUOTES_CSV = """exchange,symbol,timestamp,local_timestamp,ask_amount,ask_price,bid_price,bid_amount
binance-futures,ETHUSDC,1700000000000000,1700000000001000,2.5,3000.02,3000.01,3.0
binance-futures,ETHUSDC,1700000000010000,1700000000011000,2.5,3000.02,3000.01,3.0
binance-futures,ETHUSDC,1700000000020000,1700000000021000,1.0,3000.03,3000.02,2.0
"""


def test_tardis_incremental_l2_groups_snapshot_and_deltas(tmp_path: Path) -> None:
    path = tmp_path / "binance-futures_incremental_book_L2_2023-11-14_ETHUSDC.csv.gz"
    with gzip.open(path, "wt") as fh:
        fh.write(L2_CSV)
    assert detect_format(path) == "tardis_csv"
    events = list(TardisCsvFeed(path, ETH, "ETHUSDC"))
    assert isinstance(events[0], FeedSnapshot)
    assert events[0].ts_ms == 1_700_000_000_000
    assert events[0].bids == ((300001, 3.0), (300000, 4.0))
    assert events[0].asks == ((300002, 2.5), (300003, 1.0))
    assert isinstance(events[1], FeedDelta)
    assert events[1].bids == ((300001, 1.5),) and events[1].asks == ((300002, 0.0),)
    assert isinstance(events[2], FeedDelta) and events[2].ts_ms == 1_700_000_000_250
    assert len(events) == 3  # the BTCUSDC row is filtered out
    assert all(e.symbol == "ETHUSDC" for e in events)


def test_tardis_trades_and_quotes(tmp_path: Path) -> None:
    trades = tmp_path / "trades.csv"
    trades.write_text(TRADES_CSV)
    ev = list(open_data(trades, ETH))
    assert [type(e) for e in ev] == [FeedTrade, FeedTrade]
    assert ev[0].aggressor is Side.SELL and ev[0].price_ticks == 300001 and ev[0].qty == 0.5  # type: ignore[union-attr]
    quotes = tmp_path / "quotes.csv"
    quotes.write_text(QUOTES_CSV)
    q = list(open_data(quotes, ETH))
    assert len(q) == 2  # unchanged quote skipped
    assert isinstance(q[1], FeedSnapshot) and q[1].bids == ((300002, 2.0),)


def test_parquet_with_tardis_columns(tmp_path: Path) -> None:
    table = pa.table(
        {
            "symbol": ["ETHUSDC", "ETHUSDC", "ETHUSDC"],
            "timestamp": [1_700_000_000_050_000, 1_700_000_000_060_000, 1_700_000_000_070_000],
            "side": ["sell", "buy", "sell"],
            "price": [3000.01, 3000.02, 3000.0],
            "amount": [0.5, 0.25, 1.0],
        }
    )
    path = tmp_path / "trades.parquet"
    pq.write_table(table, path)
    ev = list(open_data(path, ETH, recorded_symbol="ETHUSDC"))
    assert [e.ts_ms for e in ev] == [1_700_000_000_050, 1_700_000_000_060, 1_700_000_000_070]
    assert [e.price_ticks for e in ev] == [300001, 300002, 300000]  # type: ignore[union-attr]


def test_mid_column_csv_without_timestamps(tmp_path: Path) -> None:
    path = tmp_path / "mids.csv"
    path.write_text("mid\n3000.005\n3000.005\n3000.015\n")
    assert is_mid_only(path)
    ev = list(open_data(path, ETH, mid_interval_ms=500))
    books = [e for e in ev if isinstance(e, FeedSnapshot | FeedDelta)]
    assert isinstance(books[0], FeedSnapshot) and books[0].bids[0][0] == 300000
    assert len(books) == 2
    marks = [e for e in ev if isinstance(e, FeedMarkPrice)]
    assert [m.ts_ms - marks[0].ts_ms for m in marks] == [0, 500, 1000]


def test_real_btcusdt_recording_streams(btcusdt_recording: Path) -> None:
    assert detect_format(btcusdt_recording) == "recording"
    feed = open_data(btcusdt_recording, BTC, recorded_symbol="BTCUSDT")
    counts: dict[type, int] = {}
    last = 0
    for e in feed:
        counts[type(e)] = counts.get(type(e), 0) + 1
        assert e.symbol == "BTCUSDC"
        assert e.ts_ms >= last
        last = e.ts_ms
    assert counts[FeedSnapshot] == 1
    assert counts[FeedTrade] == 2197
    assert counts[FeedDelta] > 4000


def test_real_ethusdc_mid_file_streams(ethusdc_mid_csv: Path) -> None:
    assert detect_format(ethusdc_mid_csv) == "mid_csv"
    feed = open_data(ethusdc_mid_csv, ETH)
    head = list(itertools.islice(iter(feed), 50))
    assert isinstance(head[0], FeedSnapshot)
    assert head[0].bids[0][0] + 1 == head[0].asks[0][0]  # 1-tick book around the .xx5 mid


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="data file not found"):
        open_data(tmp_path / "nope.csv", ETH)


def test_tardis_derivative_ticker_and_parquet_datetimes(tmp_path: Path) -> None:
    csv_path = tmp_path / "derivative_ticker.csv"
    csv_path.write_text(
        "exchange,symbol,timestamp,local_timestamp,funding_timestamp,funding_rate,predicted_funding_rate,"
        "open_interest,last_price,index_price,mark_price\n"
        "binance-futures,ETHUSDC,1700000000000000,1700000000001000,1700006400000000,0.0001,,1,3000,3000.5,3000.2\n"
    )
    (ev,) = list(open_data(csv_path, ETH))
    assert isinstance(ev, FeedMarkPrice)
    assert ev.mark_price == 3000.2 and ev.index_price == 3000.5 and ev.funding_rate == 0.0001
    assert ev.next_funding_ms == 1_700_006_400_000
    import datetime as dt

    stamp = dt.datetime(2023, 11, 14, 22, 13, 20, tzinfo=dt.UTC)
    table = pa.table({"timestamp": [stamp], "side": ["buy"], "price": [3000.02], "amount": [1.5]})
    pq.write_table(table, tmp_path / "t.parquet")
    (trade,) = list(open_data(tmp_path / "t.parquet", ETH))
    assert trade.ts_ms == 1_700_000_000_000 and trade.aggressor is Side.BUY  # type: ignore[union-attr]
