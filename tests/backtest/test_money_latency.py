"""Account money rules (realised PnL, fees, funding), venue risk rejections, latency models."""

from __future__ import annotations

import random
from decimal import Decimal
from pathlib import Path

import pytest

from phoenix.backtest.account import Account, FeeRates
from phoenix.backtest.latency import ConstantLatency, EmpiricalLatency, LatencySet, parse_latency
from phoenix.backtest.venue import (
    ERR_MARGIN,
    ERR_MIN_NOTIONAL,
    ERR_PRICE_BELOW_MARK_BAND,
    ERR_REDUCE_ONLY,
    FUNDING_INTERVAL_NS,
    SymbolVenue,
    liquidation_check,
)
from phoenix.core.types import (
    FundingPaid,
    OrderFilled,
    OrderStatus,
    OrderType,
    OrderUpdated,
    Side,
    SymbolFilters,
    TimeInForce,
)

SYM = "ETHUSDC"
F = SymbolFilters(
    symbol=SYM,
    tick_size=Decimal("0.01"),
    step_size=Decimal("0.001"),
    min_qty=Decimal("0.001"),
    min_notional=Decimal("20"),
)


def test_realised_pnl_follows_binance_one_way_rules() -> None:
    acct = Account.create(1000.0, {SYM: F}, {SYM: FeeRates(0.0, 0.0005)})
    acct.apply_fill(SYM, Side.BUY, 100.0, 1000, maker=True)  # long 1 @ 100
    acct.apply_fill(SYM, Side.BUY, 110.0, 1000, maker=True)  # long 2 @ 105
    assert acct.symbols[SYM].entry_price == pytest.approx(105.0)
    fee, rp = acct.apply_fill(SYM, Side.SELL, 120.0, 3000, maker=False)  # close 2 (+30), open short 1 @ 120
    assert rp == pytest.approx(30.0)
    assert fee == pytest.approx(120.0 * 3 * 0.0005)
    assert acct.symbols[SYM].qty_steps == -1000 and acct.symbols[SYM].entry_price == 120.0
    assert acct.wallet_usdc == pytest.approx(1000.0 + 30.0 - fee)
    amount = acct.apply_funding(SYM, 100.0, 0.0001)  # short receives positive funding
    assert amount == pytest.approx(0.01)
    assert acct.equity_usdc({SYM: 100.0}) == pytest.approx(acct.wallet_usdc + 20.0)


def _venue(wallet: float = 10_000.0, funding_rate: float | None = None) -> SymbolVenue:
    acct = Account.create(wallet, {SYM: F}, {SYM: FeeRates(0.0, 0.000275)}, leverage=5)
    v = SymbolVenue(F, acct, funding_rate=funding_rate)
    v.on_snapshot([(300000, 5.0)], [(300001, 5.0)], 0, 0)
    return v


def _status(reports: list[object]) -> tuple[OrderStatus, int | None]:
    upd = next(r for r in reports if isinstance(r, OrderUpdated))
    return upd.status, upd.error_code


def test_venue_rejects_min_notional_margin_reduce_only_and_mark_band() -> None:
    v = _venue(wallet=100.0)
    gtx, lim = TimeInForce.GTX, OrderType.LIMIT
    assert _status(v.place("a", Side.BUY, 300000, 5, lim, gtx, False, 1, 1)) == (
        OrderStatus.REJECTED,
        ERR_MIN_NOTIONAL,
    )
    # 1 ETH at 3000 needs 600 USDC of initial margin at 5x; the wallet is 100
    assert _status(v.place("b", Side.BUY, 300000, 1000, lim, gtx, False, 1, 1)) == (
        OrderStatus.REJECTED,
        ERR_MARGIN,
    )
    assert _status(v.place("c", Side.SELL, 300001, 10, lim, gtx, True, 1, 1)) == (
        OrderStatus.REJECTED,
        ERR_REDUCE_ONLY,
    )
    v.on_mark(3000.0, 0.0001, 0, 2, 2)
    assert _status(v.place("d", Side.SELL, 280000, 10, lim, TimeInForce.GTC, False, 3, 3)) == (
        OrderStatus.REJECTED,
        ERR_PRICE_BELOW_MARK_BAND,
    )
    assert _status(v.place("e", Side.BUY, 300000, 10, lim, gtx, False, 4, 4))[0] is OrderStatus.NEW


def test_funding_settles_every_eight_hours_on_the_position() -> None:
    v = _venue(funding_rate=0.0001)
    v.place("t", Side.BUY, 0, 1000, OrderType.MARKET, TimeInForce.IOC, False, 1, 1)  # long 1 ETH
    assert v.account.symbols[SYM].qty_steps == 1000
    t = v.next_funding_ns
    out = v.on_delta([(300000, 4.0)], [], t, t)
    paid = [r for r in out if isinstance(r, FundingPaid)]
    assert len(paid) == 1 and paid[0].amount_usdc == pytest.approx(-1.0 * 3000.005 * 0.0001)
    assert v.next_funding_ns == t + FUNDING_INTERVAL_NS
    assert not [r for r in v.on_delta([(300000, 5.0)], [], t + 1, t + 1) if isinstance(r, FundingPaid)]


def test_flatten_closes_the_position_as_taker_and_liquidation_check() -> None:
    v = _venue(wallet=700.0)
    out = v.place("t", Side.BUY, 0, 1000, OrderType.MARKET, TimeInForce.IOC, False, 1, 1)
    assert any(isinstance(r, OrderFilled) and not r.fill.maker for r in out)
    assert not liquidation_check(v.account, {SYM: v})
    v.on_snapshot([(240000, 50.0)], [(240001, 50.0)], 2, 2)  # −20 %: equity ≈ 99 USDC, above maintenance
    assert not liquidation_check(v.account, {SYM: v})
    v.on_snapshot([(230000, 50.0)], [(230001, 50.0)], 3, 3)  # −23 %: equity < 0.4 % of 2300 USDC
    assert liquidation_check(v.account, {SYM: v})
    out = v.flatten("f", 4, 4)
    assert v.account.symbols[SYM].qty_steps == 0
    assert all(not r.fill.maker for r in out if isinstance(r, OrderFilled))


def test_latency_specs_and_empirical_file(tmp_path: Path) -> None:
    assert parse_latency("25") == ConstantLatency(25_000_000)
    assert parse_latency("const:1.5ms") == ConstantLatency(1_500_000)
    path = tmp_path / "lat.csv"
    path.write_text("# measured\nts,latency_ms\n1,10\n2,20\n3,30\n")
    model = EmpiricalLatency.from_file(path)
    rng = random.Random(1)
    draws = [model.sample_ns(rng) for _ in range(2000)]
    assert min(draws) >= 10_000_000 and max(draws) <= 30_000_000
    assert 18_000_000 < sum(draws) / len(draws) < 22_000_000
    assert model.quantile_ns(0.5) == 20_000_000
    lat = LatencySet.parse(f"5,file:{path},40")
    assert lat.feed == ConstantLatency(5_000_000) and lat.response == ConstantLatency(40_000_000)
    with pytest.raises(ValueError, match="latency spec"):
        LatencySet.parse("1,2")
