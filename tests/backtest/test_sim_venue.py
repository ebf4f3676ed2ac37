"""Fill model ``sim``: the simulator's own matching engine as the backtest venue."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from phoenix.backtest.account import Account, FeeRates
from phoenix.backtest.run import RunSpec, execute
from phoenix.backtest.sim_venue import SimEngineVenue
from phoenix.core.types import (
    OrderFilled,
    OrderStatus,
    OrderType,
    OrderUpdated,
    Side,
    SymbolFilters,
    TimeInForce,
)
from phoenix.exchange.sim.engine import SimExchange
from phoenix.persistence.ledger import LedgerReader

SYM = "BTCUSDC"
F = SymbolFilters(
    symbol=SYM,
    tick_size=Decimal("0.1"),
    step_size=Decimal("0.001"),
    min_qty=Decimal("0.001"),
    min_notional=Decimal("5"),
)
MS = 1_000_000


def _venue() -> SimEngineVenue:
    engine = SimExchange({SYM: F}, emit_public=False)
    acct_id = engine.add_account("bt", 100_000.0)
    acct = Account.create(100_000.0, {SYM: F}, {SYM: FeeRates(0.0, 0.0004)})
    v = SimEngineVenue(F, acct, engine=engine, engine_account=acct_id)
    v.on_snapshot([(280000, 5.0), (279999, 3.0)], [(280001, 4.0)], 1 * MS, 1 * MS)
    v.on_mark(28000.05, 0.0, 0, 1 * MS, 1 * MS)
    return v


def _filled(reports: list[object]) -> int:
    return sum(r.fill.qty_steps for r in reports if isinstance(r, OrderFilled))


def test_engine_queue_order_behind_five_lots() -> None:
    v = _venue()
    out = v.place("b1", Side.BUY, 280000, 100, OrderType.LIMIT, TimeInForce.GTX, False, 2 * MS, 2 * MS)
    assert isinstance(out[-1], OrderUpdated) and out[-1].status is OrderStatus.NEW
    assert _filled(v.on_trade(280000, 4.0, Side.SELL, 3 * MS, 3 * MS)) == 0
    assert _filled(v.on_trade(280000, 1.0, Side.SELL, 4 * MS, 4 * MS)) == 0
    out = v.on_trade(280000, 0.05, Side.SELL, 5 * MS, 5 * MS)
    assert _filled(out) == 50
    assert v.account.symbols[SYM].qty_steps == 50
    assert v.orders["b1"].filled_steps == 50  # the mirror follows the engine


def test_engine_errors_become_rejections_with_binance_codes() -> None:
    v = _venue()
    out = v.place("b1", Side.BUY, 280001, 100, OrderType.LIMIT, TimeInForce.GTX, False, 2 * MS, 2 * MS)
    assert isinstance(out[0], OrderUpdated)
    assert out[0].status is OrderStatus.REJECTED and out[0].error_code == -5022
    out = v.cancel("nope", 3 * MS, 3 * MS)
    assert isinstance(out[0], OrderUpdated) and out[0].error_code == -2011


def test_btcusdt_recording_with_the_sim_engine(btcusdt_recording: Path, tmp_path: Path) -> None:
    config = {
        "global": {"sim": {"balance_usdc": 10_000}},
        "symbols": [
            {"symbol": SYM, "net_max": 0.05, "near_layers": 4, "far_layers": 0, "min_spread": 0.00005,
             "near_layer_spacing_bps": 0.5}
        ],
    }  # fmt: skip
    spec = RunSpec(
        config=config, data=(str(btcusdt_recording),), symbol=SYM, fill_model="sim", out_dir=str(tmp_path)
    )
    result = execute(spec)
    assert result.fills and result.summary["fill_rate"] > 0
    assert "anomaly" not in result.risk_event_kinds
    with LedgerReader(tmp_path / "ledger.sqlite3") as reader:
        fills = reader.fills()
        balances = reader.balances()
    delta = sum(f.realized_pnl_usdc - f.fee_usdc for f in fills)
    assert abs((balances[-1].wallet_usdc - balances[0].wallet_usdc) - delta) < 1e-6
