"""Endpoint sets for mainnet, testnet and the loopback simulator, selected by one ``venue`` value."""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum


class Venue(StrEnum):
    """Where the adapter connects. ``SIM`` needs explicit loopback URLs."""

    MAINNET = "mainnet"
    TESTNET = "testnet"
    SIM = "sim"


@dataclass(frozen=True, slots=True, kw_only=True)
class Endpoints:
    """Every base URL the adapter uses; stream bases end in their route (``/public``, ``/market``...)."""

    venue: Venue
    rest: str  # e.g. https://fapi.binance.com (paths /fapi/v1/... are appended)
    ws_public: str  # depth, bookTicker, trade
    ws_market: str  # aggTrade, markPrice, everything else
    ws_private: str  # user data
    ws_api: str  # ws-fapi trading endpoint, full URL

    def stream_base(self, route: str) -> str:
        """Base URL of a stream route (``public``, ``market`` or ``private``)."""
        if route == "public":
            return self.ws_public
        if route == "market":
            return self.ws_market
        if route == "private":
            return self.ws_private
        raise ValueError(f"unknown stream route {route!r}")


MAINNET = Endpoints(
    venue=Venue.MAINNET,
    rest="https://fapi.binance.com",
    ws_public="wss://fstream.binance.com/public",
    ws_market="wss://fstream.binance.com/market",
    ws_private="wss://fstream.binance.com/private",
    ws_api="wss://ws-fapi.binance.com/ws-fapi/v1",
)

TESTNET = Endpoints(
    venue=Venue.TESTNET,
    rest="https://testnet.binancefuture.com",
    ws_public="wss://fstream.binancefuture.com/public",
    ws_market="wss://fstream.binancefuture.com/market",
    ws_private="wss://fstream.binancefuture.com/private",
    ws_api="wss://testnet.binancefuture.com/ws-fapi/v1",
)


def sim_endpoints(rest_url: str, ws_url: str) -> Endpoints:
    """Endpoints of a loopback simulator from its REST base and WebSocket base (``ws://host:port``)."""
    ws = ws_url.rstrip("/")
    return Endpoints(
        venue=Venue.SIM,
        rest=rest_url.rstrip("/"),
        ws_public=f"{ws}/public",
        ws_market=f"{ws}/market",
        ws_private=f"{ws}/private",
        ws_api=f"{ws}/ws-fapi/v1",
    )


def endpoints_for(venue: Venue | str, **overrides: str) -> Endpoints:
    """The endpoint set of ``venue``, with optional per-URL overrides (``rest=``, ``ws_public=``...).

    ``SIM`` has no defaults: every URL must be given. Overriding a mainnet/testnet URL is allowed
    (tests run the whole client against the simulator that way) but the venue label is kept.
    """
    v = Venue(venue)
    if v is not Venue.SIM:
        base = MAINNET if v is Venue.MAINNET else TESTNET
        return replace(
            base,
            rest=overrides.get("rest", base.rest),
            ws_public=overrides.get("ws_public", base.ws_public),
            ws_market=overrides.get("ws_market", base.ws_market),
            ws_private=overrides.get("ws_private", base.ws_private),
            ws_api=overrides.get("ws_api", base.ws_api),
        )
    missing = {"rest", "ws_public", "ws_market", "ws_private", "ws_api"} - overrides.keys()
    if missing:
        raise ValueError(f"venue 'sim' needs explicit URLs, missing: {sorted(missing)}")
    return Endpoints(
        venue=v,
        rest=overrides["rest"],
        ws_public=overrides["ws_public"],
        ws_market=overrides["ws_market"],
        ws_private=overrides["ws_private"],
        ws_api=overrides["ws_api"],
    )


def endpoints_from_config(venue: str, urls: object | None = None) -> Endpoints:
    """Endpoints from ``global.venue`` plus the optional ``global.urls`` overrides.

    ``urls`` is a ``phoenix.config.VenueUrls`` (``rest_url``, ``ws_public_url``, ``ws_market_url``,
    ``ws_private_url``, ``ws_api_url``); unset fields keep the venue's defaults.
    """
    names = ("rest", "ws_public", "ws_market", "ws_private", "ws_api")
    overrides = {n: v for n in names if isinstance(v := getattr(urls, f"{n}_url", None), str) and v}
    return endpoints_for(venue, **overrides)
