"""Venue selection: embedded simulator vs external simulator vs Binance; the published sim address."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import pytest

from phoenix.config import Credentials, PhoenixConfig, parse_config
from phoenix.errors import ConfigError, StateError
from phoenix.exchange.binance.signing import HmacSigner
from phoenix.runner.venue import (
    SimEndpoint,
    configured_endpoints,
    make_signer,
    ops_target,
    read_sim_endpoint,
    uses_embedded_sim,
    write_sim_endpoint,
)

CREDS = Credentials(api_key="k" * 16, api_secret="s" * 16)


def _cfg(**g: Any) -> PhoenixConfig:
    return parse_config({"global": g, "symbols": [{"symbol": "ETHUSDC", "net_max": 1.0}]}, env={})


def test_default_sim_without_keys_is_embedded() -> None:
    assert uses_embedded_sim(_cfg(), None)
    assert not uses_embedded_sim(_cfg(), CREDS)
    assert not uses_embedded_sim(_cfg(urls={"rest_url": "http://127.0.0.1:9"}), None)
    assert not uses_embedded_sim(_cfg(venue="testnet"), None)


def test_endpoints_follow_the_venue() -> None:
    assert configured_endpoints(_cfg(venue="mainnet")).rest == "https://fapi.binance.com"
    testnet = configured_endpoints(_cfg(venue="testnet"))
    assert "binancefuture" in testnet.rest and "binancefuture" in testnet.ws_public
    sim = configured_endpoints(_cfg(urls={"rest_url": "http://127.0.0.1:9"}))
    assert sim.ws_public == "ws://127.0.0.1:9/public" and sim.ws_api == "ws://127.0.0.1:9/ws-fapi/v1"
    with pytest.raises(ConfigError, match="rest_url"):
        configured_endpoints(_cfg())


def test_live_venues_need_keys() -> None:
    with pytest.raises(ConfigError, match="PHOENIX_API_KEY"):
        make_signer(_cfg(venue="mainnet"), None)
    assert isinstance(make_signer(_cfg(venue="mainnet"), CREDS), HmacSigner)
    assert isinstance(make_signer(_cfg(), None), HmacSigner)  # the simulator's own account


def test_sim_endpoint_file_roundtrip_is_private(tmp_path: Path) -> None:
    cfg = _cfg(state_dir=str(tmp_path))
    with pytest.raises(StateError, match="no running embedded simulator"):
        ops_target(cfg, None)
    ep = SimEndpoint("http://127.0.0.1:5", "ws://127.0.0.1:5", "key", "secret", 42)
    path = write_sim_endpoint(tmp_path, ep)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert read_sim_endpoint(tmp_path) == ep
    endpoints, signer = ops_target(cfg, None)
    assert endpoints.rest == "http://127.0.0.1:5" and signer.api_key == "key"
