"""Simulator lifecycle: fast start, clean stop (no leaked tasks, port released), feeds, the CLI."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import orjson
import pytest
import typer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from phoenix.config import SimSettings
from phoenix.exchange.sim.cli import parse_ed25519_public_key
from phoenix.exchange.sim.server import SimServer
from phoenix.exchange.sim.testing import running_sim
from tests.conftest import shared_data_path

pytestmark = pytest.mark.timeout(30)
ED_PUB_HEX = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"


def test_ed25519_public_key_from_hex_or_pem(tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate().public_key()
    pem = tmp_path / "pub.pem"
    pem.write_bytes(key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo))
    assert parse_ed25519_public_key(str(pem)) == key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    assert parse_ed25519_public_key(ED_PUB_HEX) == bytes.fromhex(ED_PUB_HEX)
    with pytest.raises(typer.BadParameter):
        parse_ed25519_public_key("nope")


async def test_starts_fast_and_stops_without_leaking_tasks() -> None:
    before = asyncio.all_tasks()
    t0 = time.perf_counter()
    async with running_sim(symbols=["ETHUSDC", "BTCUSDC", "SOLUSDC", "XRPUSDC"]) as sim:
        started_s = time.perf_counter() - t0
        async with aiohttp.ClientSession() as http:
            ws = await http.ws_connect(f"{sim.ws_public_url}/ws/ethusdc@depth@100ms")
            api = await http.ws_connect(sim.ws_api_url)
            async with http.get(f"{sim.rest_url}/fapi/v1/ping") as r:
                assert r.status == 200
            port = sim.port
            assert port > 0
    assert started_s < 0.5
    await asyncio.sleep(0)
    leaked = [t for t in asyncio.all_tasks() - before if not t.done()]
    assert leaked == []
    assert ws.closed or (await ws.receive()).type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
    assert api.closed or (await api.receive()).type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
    # the port is free again
    server = SimServer(port=port, feed="manual")
    await server.start()
    await server.stop()


async def test_from_settings_uses_the_config_section() -> None:
    settings = SimSettings(
        feed="synthetic", seed=3, balance_usdc=1234.0, maker_fee_bps=-0.5, taker_fee_bps=3.0
    )
    async with SimServer.from_settings(settings, ["ETHUSDC"], feed_paused=True) as sim:
        assert sim.engine.balance(sim.account_id()).wallet_usdc == 1234.0
        assert sim.fees.rates("ETHUSDC") == (pytest.approx(-0.00005), pytest.approx(0.0003))
        assert sim.feed is not None and sim.seed == 3


async def test_connections_are_closed_after_max_age() -> None:
    async with running_sim(max_connection_age_ms=150) as sim, aiohttp.ClientSession() as http:
        stream = await http.ws_connect(f"{sim.ws_public_url}/ws/ethusdc@bookTicker")
        api = await http.ws_connect(sim.ws_api_url)
        for ws in (stream, api):
            msg = await asyncio.wait_for(ws.receive(), 5)
            assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)


async def test_synthetic_feed_paused_and_stepped_is_deterministic() -> None:
    books = []
    for _ in range(2):
        async with running_sim(feed="synthetic", seed=11, feed_paused=True) as sim:
            assert sim.step_feed(200) == 200
            view = sim.engine.depth("ETHUSDC", 10)
            books.append((view.bids, view.asks))
    assert books[0] == books[1]
    assert books[0][0] and books[0][1] and books[0][0][0][0] < books[0][1][0][0]


async def test_synthetic_feed_runs_in_real_time_and_publishes() -> None:
    async with (
        running_sim(feed="synthetic", speed=5.0, immediate_depth=False) as sim,
        aiohttp.ClientSession() as http,
    ):
        ws = await http.ws_connect(f"{sim.ws_public_url}/ws/ethusdc@depth@100ms")
        frames = [orjson.loads((await asyncio.wait_for(ws.receive(), 5)).data) for _ in range(3)]
        assert all(f["e"] == "depthUpdate" for f in frames)
        assert frames[1]["pu"] == frames[0]["u"] and frames[2]["pu"] == frames[1]["u"]
        assert sim.feed is not None and sim.feed.applied > 2


@pytest.mark.parametrize(
    "name", ["ethusdc_mid_2025-11-24_dev.csv", "hftbacktest_usdm_btcusdt_20230404.dat.gz"]
)
async def test_replay_feeds_drive_the_book(name: str) -> None:
    path = shared_data_path(name)
    symbol = "ETHUSDC" if name.endswith(".csv") else "BTCUSDC"
    async with running_sim(symbols=[symbol], feed="replay", replay_file=path, feed_paused=True) as sim:
        sim.step_feed(300)
        market = sim.engine.market(symbol)
        assert market.best_bid_ticks is not None and market.best_ask_ticks is not None
        assert market.best_bid_ticks < market.best_ask_ticks


def test_cli_serve_prints_urls_and_stops_on_sigint(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "phoenix.exchange.sim", "serve", "--port", "0", "--feed", "manual",
         "--symbols", "ETHUSDC", "--api-key", "k1", "--api-secret", "s1",
         "--ed25519-public-key", ED_PUB_HEX],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        lines = []
        rest_url = None
        deadline = time.monotonic() + 20
        while rest_url is None and time.monotonic() < deadline:
            line = proc.stdout.readline()
            lines.append(line)
            if line.strip().startswith("rest"):
                rest_url = line.split()[-1]
        assert rest_url is not None, lines
        for line in proc.stdout:
            lines.append(line)
            if "Ed25519" in line:
                break
        assert any("'k1'" in x and "'s1'" in x for x in lines)
        assert any("phoenix-sim-ed25519-key" in x for x in lines)
        import urllib.request

        with urllib.request.urlopen(f"{rest_url}/fapi/v1/ping", timeout=5) as resp:
            assert resp.status == 200
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=10)
    assert proc.returncode == 0, out
    assert "simulator stopped" in out
