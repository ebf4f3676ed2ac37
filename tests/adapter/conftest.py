"""Fixtures: the simulated exchange on loopback and adapter endpoints pointing at it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from phoenix.exchange.binance.signing import HmacSigner
from phoenix.exchange.binance.urls import Endpoints, endpoints_for
from phoenix.exchange.sim.server import SimServer
from phoenix.exchange.sim.testing import running_sim


def sim_endpoints_of(sim: SimServer) -> Endpoints:
    """Adapter endpoints of a running simulator (venue ``sim``, every URL on 127.0.0.1)."""
    e = endpoints_for(
        "sim",
        rest=sim.rest_url,
        ws_public=sim.ws_public_url,
        ws_market=sim.ws_market_url,
        ws_private=sim.ws_private_url,
        ws_api=sim.ws_api_url,
    )
    for url in (e.rest, e.ws_public, e.ws_market, e.ws_private, e.ws_api):
        assert "://127.0.0.1:" in url, url
    return e


@pytest.fixture
async def sim() -> AsyncIterator[SimServer]:
    """A simulator with a manual feed (a seeded 20-level ETHUSDC book, no market moves)."""
    async with running_sim(feed="manual") as server:
        yield server


@pytest.fixture
def endpoints(sim: SimServer) -> Endpoints:
    """Endpoints of the ``sim`` fixture."""
    return sim_endpoints_of(sim)


@pytest.fixture
def signer(sim: SimServer) -> HmacSigner:
    """HMAC signer of the simulator's default account."""
    return HmacSigner(sim.api_key, sim.api_secret)
