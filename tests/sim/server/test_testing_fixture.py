"""The ``sim`` fixture exported by ``phoenix.exchange.sim.testing`` works when imported by another suite."""

from __future__ import annotations

import aiohttp

from phoenix.exchange.sim.server import SimServer
from phoenix.exchange.sim.testing import sim  # noqa: F401  (the fixture under test, shadows conftest's)


async def test_exported_fixture_serves_and_has_an_ed25519_account(sim: SimServer) -> None:  # noqa: F811
    assert sim.engine.symbols == ("ETHUSDC",)
    assert sim.ed25519_api_key is not None and sim.ed25519_private_pem is not None
    assert sim.ed25519_private_pem.startswith("-----BEGIN PRIVATE KEY-----")
    async with aiohttp.ClientSession() as http, http.get(f"{sim.rest_url}/fapi/v1/exchangeInfo") as r:
        info = await r.json()
    assert [s["symbol"] for s in info["symbols"]] == ["ETHUSDC"]
