"""Wire → core translation with the protocol doc's example payloads."""

from __future__ import annotations

from decimal import Decimal

import msgspec
import pytest

from phoenix.core.types import (
    BalanceUpdated,
    CancelOrder,
    FundingPaid,
    MarkPriceUpdated,
    ModifyOrder,
    OrderFilled,
    OrderStatus,
    OrderType,
    OrderUpdated,
    PlaceOrder,
    PositionSynced,
    Side,
    SymbolFilters,
    TimeInForce,
    TradePrinted,
)
from phoenix.exchange.binance import codec, wire

ETH = SymbolFilters(
    symbol="ETHUSDC", tick_size=Decimal("0.01"), step_size=Decimal("0.001"), min_qty=Decimal("0.001"),
    min_notional=Decimal("20"),
)  # fmt: skip

OTU = b"""{"e":"ORDER_TRADE_UPDATE","E":1732420805002,"T":1732420805000,"o":{"s":"ETHUSDC","c":"mm-b-1",
"S":"BUY","o":"LIMIT","f":"GTX","q":"0.010","p":"2499.99","ap":"2499.99000","sp":"0","x":"TRADE","X":"FILLED",
"i":8389765490123456789,"l":"0.010","z":"0.010","L":"2499.99","N":"USDC","n":"0.00000000","T":1732420805000,
"t":698759,"b":"0","a":"0","m":true,"R":false,"wt":"CONTRACT_PRICE","ot":"LIMIT","ps":"BOTH","cp":false,
"rp":"0.5","pP":false,"si":0,"ss":0,"V":"EXPIRE_MAKER","pm":"NONE","gtd":0,"er":"0"}}"""


def test_order_trade_update_becomes_fill_then_order_state() -> None:
    ev = wire.user_decoder.decode(OTU)
    assert isinstance(ev, wire.OrderTradeUpdate)
    out = codec.order_events(ev, ETH)
    assert [type(e) for e in out] == [OrderFilled, OrderUpdated]
    fill = out[0].fill  # type: ignore[union-attr]
    assert (fill.client_order_id, fill.trade_id, fill.side) == ("mm-b-1", 698759, Side.BUY)
    assert (fill.price_ticks, fill.qty_steps, fill.maker) == (249999, 10, True)
    assert fill.fee_usdc == 0.0 and fill.realized_pnl_usdc == 0.5
    assert fill.ts_ns == 1732420805000 * 1_000_000
    upd = out[1]
    assert isinstance(upd, OrderUpdated)
    assert (
        upd.status is OrderStatus.FILLED
        and upd.filled_steps == 10
        and upd.exchange_order_id == 8389765490123456789
    )


def test_new_and_canceled_updates_carry_no_fill() -> None:
    for x, status in (
        ("NEW", OrderStatus.NEW),
        ("CANCELED", OrderStatus.CANCELED),
        ("EXPIRED", OrderStatus.EXPIRED),
    ):
        raw = OTU.replace(b'"x":"TRADE","X":"FILLED"', f'"x":"{x}","X":"{x}"'.encode()).replace(
            b'"l":"0.010"', b'"l":"0"'
        )
        out = codec.order_events(wire.user_decoder.decode(raw), ETH)  # type: ignore[arg-type]
        assert len(out) == 1 and isinstance(out[0], OrderUpdated) and out[0].status is status


def test_funding_fee_account_update() -> None:
    raw = (
        b'{"e":"ACCOUNT_UPDATE","E":1732435200100,"T":1732435200000,"a":{"m":"FUNDING_FEE","S":"ETHUSDC",'
        b'"B":[{"a":"USDC","wb":"999.99249964","cw":"999.99249964","bc":"-0.00750036"}]}}'
    )
    out = codec.account_events(wire.user_decoder.decode(raw))  # type: ignore[arg-type]
    assert out == [
        FundingPaid(symbol="ETHUSDC", ts_ns=1732435200100 * 1_000_000, amount_usdc=-0.00750036),
        BalanceUpdated(ts_ns=1732435200100 * 1_000_000, wallet_usdc=999.99249964),
    ]


def test_order_account_update_positions() -> None:
    raw = (
        b'{"e":"ACCOUNT_UPDATE","E":1,"T":1,"a":{"m":"ORDER","B":[{"a":"USDC","wb":"1000","cw":"1000","bc":"0"}],'
        b'"P":[{"s":"ETHUSDC","pa":"-0.030","ep":"2499.99","bep":"2499.99","cr":"0","up":"0","mt":"cross","iw":"0",'
        b'"ps":"BOTH"}]}}'
    )
    ev = wire.user_decoder.decode(raw)
    assert isinstance(ev, wire.AccountUpdate)
    assert codec.account_events(ev) == [BalanceUpdated(ts_ns=1_000_000, wallet_usdc=1000.0)]
    # reason ORDER: the fill itself moves the position (its event may come before or after this one)
    assert codec.positions_from_account_update(ev, {"ETHUSDC": ETH}) == []
    other = wire.user_decoder.decode(raw.replace(b'"m":"ORDER"', b'"m":"ADL"'))
    assert isinstance(other, wire.AccountUpdate)
    assert codec.positions_from_account_update(other, {"ETHUSDC": ETH}) == [
        PositionSynced(symbol="ETHUSDC", ts_ns=1_000_000, qty_steps=-30, entry_price=2499.99)
    ]


def test_listen_key_expired_with_string_or_int_event_time() -> None:
    for e in (b'"1732424400000"', b"1732424400000"):
        ev = wire.user_decoder.decode(b'{"e":"listenKeyExpired","E":' + e + b',"listenKey":"k"}')
        assert isinstance(ev, wire.ListenKeyExpired) and ev.E == 1732424400000


def test_market_payloads() -> None:
    trade = wire.stream_decoder.decode(
        b'{"stream":"ethusdc@trade","data":{"e":"trade","E":5,"T":4,"s":"ETHUSDC","t":1,"p":"2500.01","q":"0.350",'
        b'"X":"MARKET","m":true}}'
    ).data
    assert codec.trade_printed(trade, ETH) == TradePrinted(  # type: ignore[arg-type]
        symbol="ETHUSDC", ts_ns=4_000_000, price_ticks=250001, qty=0.35, aggressor=Side.SELL
    )
    mark = wire.stream_decoder.decode(
        b'{"stream":"ethusdc@markPrice@1s","data":{"e":"markPriceUpdate","E":1000,"s":"ETHUSDC","p":"2500.12000000",'
        b'"ap":"2500.05","i":"2499.875","P":"2499.52","r":"0.00010000","T":1732435200000,"st":1}}'
    ).data
    assert codec.mark_price(mark) == MarkPriceUpdated(  # type: ignore[arg-type]
        symbol="ETHUSDC",
        ts_ns=1_000_000_000,
        mark_price=2500.12,
        funding_rate=0.0001,
        next_funding_ms=1732435200000,
    )


def test_exchange_info_filters() -> None:
    raw = b"""{"rateLimits":[],"symbols":[{"symbol":"ETHUSDC","status":"TRADING","contractType":"PERPETUAL",
    "quoteAsset":"USDC","marginAsset":"USDC","filters":[
    {"filterType":"PRICE_FILTER","minPrice":"39.86","maxPrice":"306177","tickSize":"0.01"},
    {"filterType":"LOT_SIZE","minQty":"0.001","maxQty":"10000","stepSize":"0.001"},
    {"filterType":"MARKET_LOT_SIZE","minQty":"0.001","maxQty":"2000","stepSize":"0.001"},
    {"filterType":"MAX_NUM_ORDERS","limit":200},
    {"filterType":"MIN_NOTIONAL","notional":"20"},
    {"filterType":"PERCENT_PRICE","multiplierUp":"1.0500","multiplierDown":"0.9500","multiplierDecimal":"4"}]},
    {"symbol":"OLDUSDC","status":"SETTLING","filters":[]}]}"""
    filters = codec.filters_from_exchange_info(msgspec.json.decode(raw, type=wire.ExchangeInfo))
    assert list(filters) == ["ETHUSDC"]
    f = filters["ETHUSDC"]
    assert (f.tick_size, f.step_size, f.min_qty, f.min_notional) == (
        Decimal("0.01"), Decimal("0.001"), Decimal("0.001"), Decimal("20"),
    )  # fmt: skip
    assert f.max_qty == Decimal("10000") and f.percent_up == Decimal("1.0500")


def test_actions_to_wire_params_use_exact_grid_strings() -> None:
    place = PlaceOrder(
        symbol="ETHUSDC", client_order_id="c1", side=Side.SELL, price_ticks=250001, qty_steps=8
    )
    assert codec.place_params(place, ETH) == {
        "symbol": "ETHUSDC", "side": "SELL", "type": "LIMIT", "quantity": "0.008", "newClientOrderId": "c1",
        "newOrderRespType": "RESULT", "price": "2500.01", "timeInForce": "GTX",
    }  # fmt: skip
    market = PlaceOrder(
        symbol="ETHUSDC", client_order_id="c2", side=Side.BUY, price_ticks=0, qty_steps=10,
        order_type=OrderType.MARKET, time_in_force=TimeInForce.IOC, reduce_only=True,
    )  # fmt: skip
    p = codec.place_params(market, ETH)
    assert "price" not in p and "timeInForce" not in p and p["reduceOnly"] == "true"
    assert codec.cancel_params(CancelOrder(symbol="ETHUSDC", client_order_id="c1")) == {
        "symbol": "ETHUSDC", "origClientOrderId": "c1",
    }  # fmt: skip
    m = codec.modify_params(
        ModifyOrder(
            symbol="ETHUSDC", client_order_id="c1", side=Side.BUY, price_ticks=123456, qty_steps=1000
        ),
        ETH,
    )
    assert (m["price"], m["quantity"]) == ("1234.56", "1.000")


@pytest.mark.parametrize(
    ("s", "status"),
    [("NEW", OrderStatus.NEW), ("EXPIRED_IN_MATCH", OrderStatus.EXPIRED), ("WEIRD", OrderStatus.UNKNOWN)],
)
def test_order_status_mapping(s: str, status: OrderStatus) -> None:
    assert codec.order_status(s) is status
