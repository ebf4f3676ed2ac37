"""The simulated exchange started in-process by ``phoenix run`` (``venue: sim``, no keys, no URLs).

It serves the Binance wire protocol on loopback; the runner connects to it exactly as to Binance.
"""

from __future__ import annotations

import os

from phoenix.config import PhoenixConfig
from phoenix.exchange.binance.urls import Endpoints, sim_endpoints
from phoenix.exchange.sim.server import SimServer
from phoenix.exchange.sim.sim_types import FeeSchedule
from phoenix.runner.venue import SIM_API_KEY, SIM_API_SECRET, SimEndpoint


class EmbeddedSim:
    """Owns a ``SimServer`` configured from ``global.sim``."""

    def __init__(self, config: PhoenixConfig) -> None:
        s = config.global_.sim
        self.server = SimServer(
            symbols=[c.symbol for c in config.enabled_symbols],
            host=s.host,
            port=s.port,
            feed="replay" if s.feed == "replay" else "synthetic",
            replay_file=s.replay_file,
            speed=s.speed,
            seed=s.seed,
            api_key=SIM_API_KEY,
            api_secret=SIM_API_SECRET,
            balance_usdc=s.balance_usdc,
            fees=FeeSchedule(maker_rate=s.maker_fee_bps / 10_000, taker_rate=s.taker_fee_bps / 10_000),
        )

    async def start(self) -> None:
        """Bind and start the feed."""
        await self.server.start()

    async def stop(self) -> None:
        """Stop serving."""
        await self.server.stop()

    def endpoints(self) -> Endpoints:
        """Endpoint set of the running simulator."""
        return sim_endpoints(self.server.rest_url, self.server.ws_url)

    def published(self) -> SimEndpoint:
        """What the runner publishes in the state dir for the ops commands."""
        return SimEndpoint(
            rest_url=self.server.rest_url,
            ws_url=self.server.ws_url,
            api_key=SIM_API_KEY,
            api_secret=SIM_API_SECRET,
            pid=os.getpid(),
        )
