"""Ledger on real SQLite files: append-only, de-duplicated fills, concurrent reads, report, wallet check."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from phoenix.core.types import (
    CancelAll,
    CancelOrder,
    Fill,
    OrderStatus,
    OrderUpdated,
    PlaceOrder,
    Side,
    SymbolFilters,
)
from phoenix.errors import StateError
from phoenix.persistence.ledger import Ledger, LedgerReader
from phoenix.persistence.lock import InstanceLock
from phoenix.persistence.report import build_report, format_report

ETH = SymbolFilters(
    symbol="ETHUSDC",
    tick_size=Decimal("0.01"),
    step_size=Decimal("0.001"),
    min_qty=Decimal("0.001"),
    min_notional=Decimal("20"),
)


def _fill(
    trade_id: int, side: Side, price_ticks: int, qty_steps: int, rp: float, fee: float, ts: int
) -> Fill:
    return Fill(
        symbol="ETHUSDC",
        client_order_id=f"phoenix-ETHUSDC-{trade_id}",
        trade_id=trade_id,
        side=side,
        price_ticks=price_ticks,
        qty_steps=qty_steps,
        maker=True,
        fee_usdc=fee,
        realized_pnl_usdc=rp,
        ts_ns=ts,
    )


def _ledger(path: Path) -> Ledger:
    return Ledger(path, venue="sim", symbols=["ETHUSDC"], started_ns=1, pid=os.getpid())


def test_fills_are_deduplicated_by_trade_id(tmp_path: Path) -> None:
    ledger = _ledger(tmp_path / "l.sqlite3")
    f = _fill(7, Side.BUY, 300000, 10, 0.0, 0.01, 100)
    ledger.record_fill(f, ETH)
    ledger.record_fill(f, ETH, source="rest_backfill")
    ledger.close()
    with LedgerReader(tmp_path / "l.sqlite3") as reader:
        fills = reader.fills()
    assert len(fills) == 1
    assert fills[0].price == pytest.approx(3000.0)
    assert fills[0].qty == pytest.approx(0.010)


def test_rows_cannot_be_updated_or_deleted(tmp_path: Path) -> None:
    path = tmp_path / "l.sqlite3"
    ledger = _ledger(path)
    ledger.record_fill(_fill(1, Side.BUY, 300000, 10, 0.0, 0.0, 100), ETH)
    ledger.close()
    conn = sqlite3.connect(path)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("UPDATE fills SET fee_usdc = 5")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("DELETE FROM fills")
    conn.close()


def test_intents_and_updates_are_journalled_and_readable_while_writing(tmp_path: Path) -> None:
    path = tmp_path / "l.sqlite3"
    ledger = _ledger(path)
    place = PlaceOrder(symbol="ETHUSDC", client_order_id="c1", side=Side.BUY, price_ticks=1, qty_steps=2)
    ledger.record_action(place, 10)
    ledger.record_action(CancelOrder(symbol="ETHUSDC", client_order_id="c1"), 11)
    ledger.record_action(CancelAll(symbol="ETHUSDC", reason="shutdown"), 12)
    ledger.record_order_update(
        OrderUpdated(
            symbol="ETHUSDC",
            ts_ns=13,
            client_order_id="c1",
            status=OrderStatus.CANCELED,
            side=Side.BUY,
            price_ticks=1,
            qty_steps=2,
        )
    )
    assert ledger.flush()
    with LedgerReader(path) as reader:  # the writer is still open (WAL)
        assert reader.placed_order_ids() == ["c1"]
        assert reader.count_intents("cancel") == 1
        assert reader.count_intents("cancel_all") == 1
        assert reader.last_order_states() == {"c1": ("ETHUSDC", "CANCELED")}
    ledger.close()
    assert ledger.error is None


def test_report_reconciles_ledger_with_wallet(tmp_path: Path) -> None:
    path = tmp_path / "l.sqlite3"
    ledger = _ledger(path)
    ledger.record_balance(1_000, 10_000.0, "start")
    ledger.record_action(
        PlaceOrder(
            symbol="ETHUSDC", client_order_id="phoenix-ETHUSDC-1", side=Side.BUY, price_ticks=1, qty_steps=1
        ),
        1_001,
    )
    ledger.record_action(
        PlaceOrder(
            symbol="ETHUSDC", client_order_id="phoenix-ETHUSDC-2", side=Side.SELL, price_ticks=1, qty_steps=1
        ),
        1_002,
    )
    ledger.record_fill(_fill(1, Side.BUY, 300000, 1000, 0.0, 0.0, 2_000), ETH)
    ledger.record_fill(_fill(2, Side.SELL, 301000, 1000, 10.0, 0.8275, 3_000), ETH)
    ledger.record_funding("ETHUSDC", 4_000, -0.25, ref="tran-1")
    ledger.record_funding("ETHUSDC", 4_000, -0.25, ref="tran-1")  # replayed: ignored
    ledger.record_balance(5_000, 10_000.0 + 10.0 - 0.8275 - 0.25, "end")
    ledger.close()
    with LedgerReader(path) as reader:
        report = build_report(reader)
    eth = report.symbols["ETHUSDC"]
    assert eth.fills == 2
    assert eth.orders_placed == 2 and eth.orders_filled == 2
    assert report.pnl_usdc == pytest.approx(10.0 - 0.8275 - 0.25)
    assert report.wallet is not None and report.wallet.ok
    text = format_report(report)
    assert "OK" in text and "ETHUSDC" in text


def test_report_flags_wallet_mismatch(tmp_path: Path) -> None:
    path = tmp_path / "l.sqlite3"
    ledger = _ledger(path)
    ledger.record_balance(1_000, 10_000.0, "start")
    ledger.record_fill(_fill(1, Side.SELL, 300000, 1000, 5.0, 0.0, 2_000), ETH)
    ledger.record_balance(5_000, 10_000.0, "end")  # the wallet did not move: a fill is fake or missing
    ledger.close()
    with LedgerReader(path) as reader:
        report = build_report(reader)
    assert report.wallet is not None
    assert not report.wallet.ok
    assert report.wallet.mismatch_usdc == pytest.approx(5.0)
    assert "MISMATCH" in format_report(report)


def test_wallet_check_restarts_at_an_exchange_reset(tmp_path: Path) -> None:
    path = tmp_path / "l.sqlite3"
    ledger = _ledger(path)
    ledger.record_balance(1_000, 10_000.0, "reset:embedded_sim_start")
    ledger.record_fill(_fill(1, Side.SELL, 300000, 1000, 5.0, 0.5, 2_000), ETH)
    ledger.record_balance(3_000, 10_004.5, "stop")
    # a fresh simulator: the wallet starts over; the earlier history must not leak into this segment
    ledger.record_balance(4_000, 10_000.0, "reset:embedded_sim_start")
    ledger.record_fill(_fill(2, Side.BUY, 300000, 1000, 1.0, 0.0, 5_000), ETH)
    ledger.record_balance(6_000, 10_001.0, "stop")
    ledger.close()
    with LedgerReader(path) as reader:
        report = build_report(reader)
    assert report.wallet is not None
    assert len(report.wallet.segments) == 2
    assert report.wallet.ok
    assert report.wallet.wallet_delta_usdc == pytest.approx(5.5)
    assert report.pnl_usdc == pytest.approx(5.5)


def test_snapshot_roundtrip_and_runs_counted(tmp_path: Path) -> None:
    path = tmp_path / "l.sqlite3"
    first = _ledger(path)
    first.record_snapshot(10, {"positions": {"ETHUSDC": 5}})
    first.close()
    second = _ledger(path)
    second.record_snapshot(20, {"positions": {"ETHUSDC": 7}})
    second.close()
    with LedgerReader(path) as reader:
        assert reader.run_count() == 2
        snap = reader.latest_snapshot()
    assert snap == (20, {"positions": {"ETHUSDC": 7}})


def test_missing_ledger_is_a_state_error(tmp_path: Path) -> None:
    with pytest.raises(StateError):
        LedgerReader(tmp_path / "absent.sqlite3")


def test_lock_refuses_second_instance_and_is_freed_by_kill(tmp_path: Path) -> None:
    code = (
        "import sys, time; from phoenix.persistence.lock import InstanceLock;"
        f"l = InstanceLock({str(tmp_path)!r}); l.acquire(); print('locked', flush=True); time.sleep(60)"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
        lock = InstanceLock(tmp_path)
        with pytest.raises(StateError, match=f"pid {proc.pid}"):
            lock.acquire()
        proc.kill()  # SIGKILL: the kernel drops the flock
        proc.wait(10)
        lock.acquire()
        assert lock.held
        assert lock.holder_pid() == os.getpid()
        lock.release()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
