"""A private event we rely on that fails validation is logged, counted and reported, not dropped silently."""

from __future__ import annotations

import asyncio
import time

from tests.adapter.conftest import sim_endpoints_of

from phoenix.core.types import Event
from phoenix.exchange.binance.rest import BinanceRestClient
from phoenix.exchange.binance.signing import HmacSigner
from phoenix.exchange.binance.user_stream import UserDataStream
from phoenix.exchange.sim.server import SimServer


async def test_invalid_order_and_account_updates_are_counted_and_reported(sim: SimServer) -> None:
    e = sim_endpoints_of(sim)
    got: list[Event] = []
    invalid: list[str] = []

    async def on_event(ev: Event) -> None:
        got.append(ev)

    async with BinanceRestClient(e, HmacSigner(sim.api_key, sim.api_secret)) as rest:
        filters = await rest.fetch_exchange_filters(["ETHUSDC"])
        async with UserDataStream(e, rest, filters, on_event, on_invalid=invalid.append) as us:
            await asyncio.wait_for(us.connected.wait(), 5.0)
            account = sim.account_id()
            now = int(time.time() * 1000)
            sim.users.publish_raw(account, {"e": "ORDER_TRADE_UPDATE", "E": now, "o": {"s": "ETHUSDC"}})
            sim.users.publish_raw(account, {"e": "ACCOUNT_UPDATE", "E": "not-a-time", "a": {}})
            sim.users.publish_raw(account, {"e": "ACCOUNT_CONFIG_UPDATE", "E": now, "ac": {}})  # ignored
            deadline = time.monotonic() + 5
            while len(invalid) < 2 and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
            await asyncio.sleep(0.1)
            assert invalid == ["ORDER_TRADE_UPDATE", "ACCOUNT_UPDATE"]
            assert us.invalid_events == 2
            assert got == []
