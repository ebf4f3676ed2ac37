"""Where the runner connects: endpoints and signer from the config, credentials and the embedded simulator.

- ``venue: sim`` without URL overrides and without keys: the runner starts the simulator in-process and
  writes its address to ``state_dir/sim_endpoint.json`` so ``phoenix cancel-all/flatten/status`` reach it.
- ``venue: sim`` with ``global.urls`` set: an external simulator (e.g. ``phoenix sim serve``).
- ``testnet`` / ``mainnet``: Binance, with keys only from the environment (never the config file).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from phoenix.config import Credentials, PhoenixConfig, Venue
from phoenix.errors import ConfigError, StateError
from phoenix.exchange.binance.signing import Ed25519Signer, HmacSigner, Signer
from phoenix.exchange.binance.urls import Endpoints, endpoints_for, sim_endpoints
from phoenix.exchange.sim.auth import DEFAULT_API_KEY, DEFAULT_API_SECRET

SIM_ENDPOINT_FILE = "sim_endpoint.json"
# The simulator's default account (not secrets: the simulator only listens on loopback).
SIM_API_KEY = DEFAULT_API_KEY
SIM_API_SECRET = DEFAULT_API_SECRET


@dataclass(frozen=True, slots=True)
class SimEndpoint:
    """Address of a running embedded simulator, as published in the state dir."""

    rest_url: str
    ws_url: str
    api_key: str
    api_secret: str
    pid: int

    def endpoints(self) -> Endpoints:
        """Endpoint set of this simulator."""
        return sim_endpoints(self.rest_url, self.ws_url)


def write_sim_endpoint(state_dir: str | Path, endpoint: SimEndpoint) -> Path:
    """Publish the embedded simulator's address (atomic replace, mode 0600)."""
    path = Path(state_dir) / SIM_ENDPOINT_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(
        json.dumps(
            {
                "rest_url": endpoint.rest_url,
                "ws_url": endpoint.ws_url,
                "api_key": endpoint.api_key,
                "api_secret": endpoint.api_secret,
                "pid": endpoint.pid,
            }
        )
    )
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
    return path


def read_sim_endpoint(state_dir: str | Path) -> SimEndpoint:
    """The published embedded simulator address; ``StateError`` if no runner published one."""
    path = Path(state_dir) / SIM_ENDPOINT_FILE
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise StateError(
            f"no running embedded simulator found ({path}: {exc}); is `phoenix run` running with venue sim?"
        ) from None
    return SimEndpoint(
        rest_url=str(data["rest_url"]),
        ws_url=str(data["ws_url"]),
        api_key=str(data["api_key"]),
        api_secret=str(data["api_secret"]),
        pid=int(data["pid"]),
    )


def remove_sim_endpoint(state_dir: str | Path) -> None:
    """Withdraw the published address (on clean shutdown)."""
    (Path(state_dir) / SIM_ENDPOINT_FILE).unlink(missing_ok=True)


def uses_embedded_sim(config: PhoenixConfig, credentials: Credentials | None) -> bool:
    """True when ``phoenix run`` must start the simulator in-process."""
    g = config.global_
    return g.venue is Venue.SIM and g.urls.rest_url is None and credentials is None


def configured_endpoints(config: PhoenixConfig) -> Endpoints:
    """Endpoints of the configured venue (with ``global.urls`` overrides); not for the embedded sim."""
    g = config.global_
    u = g.urls
    overrides = {
        k: v
        for k, v in (
            ("rest", u.rest_url),
            ("ws_public", u.ws_public_url),
            ("ws_market", u.ws_market_url),
            ("ws_private", u.ws_private_url),
            ("ws_api", u.ws_api_url),
        )
        if v is not None
    }
    if g.venue is Venue.SIM:
        if u.rest_url is None:
            raise ConfigError(
                [
                    "global.urls.rest_url: required to reach an external simulator (venue sim with API keys"
                    " set); unset PHOENIX_API_KEY to use the embedded simulator instead"
                ]
            )
        ws = u.ws_public_url.rsplit("/", 1)[0] if u.ws_public_url else u.rest_url.replace("http", "ws", 1)
        base = sim_endpoints(u.rest_url, ws)
        return endpoints_for(
            "sim",
            rest=overrides.get("rest", base.rest),
            ws_public=overrides.get("ws_public", base.ws_public),
            ws_market=overrides.get("ws_market", base.ws_market),
            ws_private=overrides.get("ws_private", base.ws_private),
            ws_api=overrides.get("ws_api", base.ws_api),
        )
    return endpoints_for(g.venue.value, **overrides)


def make_signer(config: PhoenixConfig, credentials: Credentials | None) -> Signer:
    """Signer for the venue: env credentials, or the simulator's own account for ``venue: sim``."""
    if credentials is None:
        if config.global_.venue is Venue.SIM:
            return HmacSigner(SIM_API_KEY, SIM_API_SECRET)
        raise ConfigError(
            [
                f"venue {config.global_.venue.value}: PHOENIX_API_KEY and PHOENIX_API_SECRET"
                " (or PHOENIX_ED25519_KEY) are required"
            ]
        )
    if credentials.ed25519_private_key_pem is not None:
        return Ed25519Signer.from_pem(credentials.api_key, credentials.ed25519_private_key_pem)
    if credentials.api_secret is None:
        raise ConfigError(["PHOENIX_API_SECRET is required with an HMAC API key"])
    return HmacSigner(credentials.api_key, credentials.api_secret)


def ops_target(config: PhoenixConfig, credentials: Credentials | None) -> tuple[Endpoints, Signer]:
    """Endpoints + signer for the ops commands (cancel-all, flatten, status) of a config."""
    if uses_embedded_sim(config, credentials):
        sim = read_sim_endpoint(config.global_.state_dir)
        return sim.endpoints(), HmacSigner(sim.api_key, sim.api_secret)
    return configured_endpoints(config), make_signer(config, credentials)
