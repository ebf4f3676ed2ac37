"""Book sync over real sockets: a client following Binance's documented USDⓈ-M algorithm (protocol doc §6.3)
keeps a book identical to the simulator's through 10,000 random updates, and detects an injected gap."""

from __future__ import annotations

import asyncio
import random
from decimal import Decimal

import aiohttp
import orjson
import pytest

from phoenix.exchange.sim.server import SimServer
from phoenix.exchange.sim.testing import running_sim

SYMBOL = "ETHUSDC"
TICK = Decimal("0.01")
MID_TICKS = 300000
pytestmark = pytest.mark.timeout(60)


class GapDetected(Exception):
    """The ``pu`` chain broke."""


class BookClient:
    """An independent implementation of Binance's USDⓈ-M local order book algorithm."""

    def __init__(self) -> None:
        self.bids: dict[int, float] = {}
        self.asks: dict[int, float] = {}
        self.last_u: int | None = None
        self.buffer: list[dict[str, object]] = []
        self.applied = 0

    @staticmethod
    def _ticks(price: str) -> int:
        return int(Decimal(price) / TICK)

    def load_snapshot(self, snap: dict[str, object]) -> None:
        self.bids = {self._ticks(p): float(q) for p, q in snap["bids"]}  # type: ignore[attr-defined]
        self.asks = {self._ticks(p): float(q) for p, q in snap["asks"]}  # type: ignore[attr-defined]
        last_id = int(snap["lastUpdateId"])  # type: ignore[call-overload]
        pending = [e for e in self.buffer if int(e["u"]) >= last_id]  # type: ignore[call-overload]
        self.buffer.clear()
        self.last_u = None
        for i, ev in enumerate(pending):
            if i == 0 and not int(ev["U"]) <= last_id <= int(ev["u"]):  # type: ignore[call-overload]
                raise AssertionError("snapshot too old: first event does not straddle lastUpdateId")
            self.apply(ev, first=i == 0)
        if not pending:
            self.last_u = last_id

    def apply(self, ev: dict[str, object], first: bool = False) -> None:
        if not first and self.last_u is not None and int(ev["pu"]) != self.last_u:  # type: ignore[call-overload]
            raise GapDetected(f"pu={ev['pu']} last_u={self.last_u}")
        for side, levels in ((self.bids, ev["b"]), (self.asks, ev["a"])):
            for price, qty in levels:  # type: ignore[attr-defined]
                q = float(qty)
                if q == 0.0:
                    side.pop(self._ticks(price), None)
                else:
                    side[self._ticks(price)] = q
        self.last_u = int(ev["u"])  # type: ignore[call-overload]
        self.applied += 1

    def on_event(self, ev: dict[str, object]) -> None:
        if self.last_u is None:
            self.buffer.append(ev)
        else:
            self.apply(ev)


def random_updates(
    rng: random.Random, n: int
) -> list[tuple[list[tuple[int, float]], list[tuple[int, float]]]]:
    out = []
    for _ in range(n):
        bids: list[tuple[int, float]] = []
        asks: list[tuple[int, float]] = []
        for _ in range(rng.randint(1, 3)):
            qty = 0.0 if rng.random() < 0.25 else round(rng.uniform(0.001, 50.0), 3)
            if rng.random() < 0.5:
                bids.append((MID_TICKS - rng.randint(0, 150), qty))
            else:
                asks.append((MID_TICKS + 1 + rng.randint(0, 150), qty))
        out.append((bids, asks))
    return out


async def _pump(ws: aiohttp.ClientWebSocketResponse, client: BookClient, errors: list[Exception]) -> None:
    async for msg in ws:
        if msg.type is not aiohttp.WSMsgType.TEXT:
            break
        ev = orjson.loads(msg.data)
        if ev.get("e") != "depthUpdate":
            continue
        try:
            client.on_event(ev)
        except GapDetected as exc:
            errors.append(exc)
            return


async def _until(predicate: object, timeout_s: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not predicate():  # type: ignore[operator]
        if loop.time() > deadline:
            raise TimeoutError("condition not reached")
        await asyncio.sleep(0.01)


def engine_book(sim: SimServer) -> tuple[dict[int, float], dict[int, float], int]:
    view = sim.engine.depth(SYMBOL, 1000)
    return dict(view.bids), dict(view.asks), view.last_update_id


async def test_client_keeps_identical_book_through_10000_updates_and_detects_gap() -> None:
    async with running_sim(symbols=[SYMBOL], immediate_depth=True) as sim:
        client = BookClient()
        rng = random.Random(42)
        errors: list[Exception] = []
        async with aiohttp.ClientSession() as http:
            ws = await http.ws_connect(f"{sim.ws_public_url}/ws/ethusdc@depth@100ms")
            pump = asyncio.create_task(_pump(ws, client, errors))
            updates = random_updates(rng, 10_000)
            for bids, asks in updates[:50]:
                sim.apply_delta(SYMBOL, bids, asks)
            await asyncio.sleep(0.05)
            async with http.get(
                f"{sim.rest_url}/fapi/v1/depth", params={"symbol": SYMBOL, "limit": "1000"}
            ) as r:
                snapshot = await r.json()
            for bids, asks in updates[50:100]:
                sim.apply_delta(SYMBOL, bids, asks)
            await asyncio.sleep(0.05)
            client.load_snapshot(snapshot)
            for i, (bids, asks) in enumerate(updates[100:]):
                sim.apply_delta(SYMBOL, bids, asks)
                if i % 200 == 0:
                    await asyncio.sleep(0)
            bids_e, asks_e, final_u = engine_book(sim)
            await _until(lambda: client.last_u == final_u or bool(errors))
            assert not errors, errors
            assert client.applied > 9_000  # one frame per engine diff in immediate mode
            assert client.bids == bids_e
            assert client.asks == asks_e
            # a gap: the next diff is silently dropped; the client must notice via pu
            sim.faults.depth_gap(SYMBOL)
            for bids, asks in random_updates(rng, 3):
                sim.apply_delta(SYMBOL, bids, asks)
            await _until(lambda: bool(errors))
            assert isinstance(errors[0], GapDetected)
            pump.cancel()
            await ws.close()


async def test_windowed_100ms_stream_merges_diffs_and_stays_consistent() -> None:
    async with running_sim(symbols=[SYMBOL], immediate_depth=False) as sim:
        client = BookClient()
        rng = random.Random(7)
        errors: list[Exception] = []
        async with aiohttp.ClientSession() as http:
            ws = await http.ws_connect(f"{sim.ws_public_url}/stream?streams=ethusdc@depth@100ms")
            frames: list[int] = []

            async def pump() -> None:
                async for msg in ws:
                    wrapped = orjson.loads(msg.data)
                    assert wrapped["stream"] == "ethusdc@depth@100ms"
                    frames.append(1)
                    try:
                        client.on_event(wrapped["data"])
                    except GapDetected as exc:
                        errors.append(exc)
                        return

            task = asyncio.create_task(pump())
            async with http.get(
                f"{sim.rest_url}/fapi/v1/depth", params={"symbol": SYMBOL, "limit": "1000"}
            ) as r:
                client.load_snapshot(await r.json())
            updates = random_updates(rng, 2000)
            for i, (bids, asks) in enumerate(updates):
                sim.apply_delta(SYMBOL, bids, asks)
                if i % 250 == 0:
                    sim.flush_streams()
                    await asyncio.sleep(0)
            sim.flush_streams()
            bids_e, asks_e, final_u = engine_book(sim)
            await _until(lambda: client.last_u == final_u or bool(errors))
            assert not errors
            assert 1 <= len(frames) < 100  # merged windows, not one frame per diff
            assert (client.bids, client.asks) == (bids_e, asks_e)
            task.cancel()
            await ws.close()
