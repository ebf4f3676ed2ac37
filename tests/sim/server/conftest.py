"""Fixtures of the simulator server tests: a running simulator, an HTTP session, a signed REST client."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from phoenix.exchange.sim.server import SimServer
from phoenix.exchange.sim.testing import running_sim
from tests.sim.server.rest_client import RestClient


@pytest.fixture
async def sim() -> AsyncIterator[SimServer]:
    async with running_sim(symbols=["ETHUSDC", "SOLUSDC"], ed25519=True) as server:
        yield server


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def rest(sim: SimServer, http: aiohttp.ClientSession) -> RestClient:
    return RestClient(sim, http)
