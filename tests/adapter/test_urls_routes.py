"""Venue → endpoint selection (the testnet switch changes every endpoint) and stream routing."""

from __future__ import annotations

import dataclasses

import pytest

from phoenix.exchange.binance.routes import combined_url, route_for_stream, stream_names
from phoenix.exchange.binance.urls import MAINNET, TESTNET, Venue, endpoints_for, sim_endpoints

URL_FIELDS = ("rest", "ws_public", "ws_market", "ws_private", "ws_api")


def test_mainnet_urls_are_the_documented_ones() -> None:
    e = endpoints_for("mainnet")
    assert e.rest == "https://fapi.binance.com"
    assert e.ws_public == "wss://fstream.binance.com/public"
    assert e.ws_market == "wss://fstream.binance.com/market"
    assert e.ws_private == "wss://fstream.binance.com/private"
    assert e.ws_api == "wss://ws-fapi.binance.com/ws-fapi/v1"


def test_testnet_changes_every_endpoint_and_never_points_at_mainnet() -> None:
    t = endpoints_for(Venue.TESTNET)
    for name in URL_FIELDS:
        value = getattr(t, name)
        assert value != getattr(MAINNET, name), name
        assert "binancefuture.com" in value, name
        assert "fapi.binance.com" not in value and "fstream.binance.com" not in value


def test_sim_requires_every_url_and_overrides_keep_venue() -> None:
    with pytest.raises(ValueError, match="explicit URLs"):
        endpoints_for("sim", rest="http://127.0.0.1:1")
    s = sim_endpoints("http://127.0.0.1:8700/", "ws://127.0.0.1:8701")
    assert s.venue is Venue.SIM
    assert s.ws_public == "ws://127.0.0.1:8701/public"
    assert s.ws_api == "ws://127.0.0.1:8701/ws-fapi/v1"
    assert endpoints_for("sim", **{f: getattr(s, f) for f in URL_FIELDS}) == s
    over = endpoints_for("testnet", rest="http://127.0.0.1:9")
    assert over.rest == "http://127.0.0.1:9" and over.ws_api == TESTNET.ws_api
    assert dataclasses.replace(over, rest=TESTNET.rest) == TESTNET


@pytest.mark.parametrize(
    ("stream", "route"),
    [
        ("ethusdc@depth@100ms", "public"),
        ("ethusdc@depth", "public"),
        ("ethusdc@depth20@100ms", "public"),
        ("ethusdc@bookTicker", "public"),
        ("ethusdc@trade", "public"),
        ("ethusdc@rpiDepth@500ms", "public"),
        ("ethusdc@aggTrade", "market"),
        ("ethusdc@markPrice@1s", "market"),
        ("ethusdc@markPrice", "market"),
        ("ethusdc@kline_1m", "market"),
        ("ethusdc@forceOrder", "market"),
        ("!contractInfo", "market"),
    ],
)
def test_route_for_stream(stream: str, route: str) -> None:
    assert route_for_stream(stream) == route


def test_stream_names_are_lower_case_and_combined_url() -> None:
    names = stream_names("ETHUSDC")
    assert names == ["ethusdc@depth@100ms", "ethusdc@bookTicker", "ethusdc@trade", "ethusdc@markPrice@1s"]
    assert (
        combined_url("ws://h/public", names[:2])
        == "ws://h/public/stream?streams=ethusdc@depth@100ms/ethusdc@bookTicker"
    )


def test_endpoints_from_config_overrides() -> None:
    from phoenix.config import VenueUrls
    from phoenix.exchange.binance.urls import endpoints_from_config

    assert endpoints_from_config("testnet", VenueUrls()) == TESTNET
    e = endpoints_from_config("mainnet", VenueUrls(ws_api_url="ws://127.0.0.1:5/ws-fapi/v1"))
    assert e.ws_api == "ws://127.0.0.1:5/ws-fapi/v1" and e.rest == MAINNET.rest


def test_market_stream_rejects_partial_depth_streams() -> None:
    from decimal import Decimal

    from phoenix.core.types import SymbolFilters
    from phoenix.exchange.binance.market_stream import MarketDataStream

    f = SymbolFilters(
        symbol="ETHUSDC", tick_size=Decimal("0.01"), step_size=Decimal("0.001"), min_qty=Decimal("0.001"),
        min_notional=Decimal("20"),
    )  # fmt: skip

    async def sink(ev: object) -> None:
        return None

    with pytest.raises(ValueError, match="diff stream"):
        MarketDataStream(MAINNET, None, {"ETHUSDC": f}, ["ETHUSDC"], sink, depth_stream="depth20@100ms")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="no filters"):
        MarketDataStream(MAINNET, None, {}, ["ETHUSDC"], sink)  # type: ignore[arg-type]
    md = MarketDataStream(MAINNET, None, {"ETHUSDC": f}, ["ethusdc"], sink, depth_stream="depth")  # type: ignore[arg-type]
    assert [c.url for c in md.connections] == [
        "wss://fstream.binance.com/market/stream?streams=ethusdc@markPrice@1s",
        "wss://fstream.binance.com/public/stream?streams=ethusdc@depth/ethusdc@bookTicker/ethusdc@trade",
    ]
