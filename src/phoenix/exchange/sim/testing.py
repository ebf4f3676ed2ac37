"""In-process simulator for tests: ``running_sim`` and the ``sim`` pytest fixture.

Usage::

    from phoenix.exchange.sim.testing import running_sim

    async with running_sim(symbols=["ETHUSDC"], feed="manual", seed=7) as sim:
        sim.rest_url, sim.ws_public_url, sim.ws_market_url, sim.ws_private_url, sim.ws_api_url
        sim.api_key, sim.api_secret            # default HMAC account
        sim.faults.depth_gap("ETHUSDC")        # fault injection
        sim.apply_delta("ETHUSDC", bids=[(299990, 1.0)], asks=[])   # deterministic market data

Or as a fixture: ``from phoenix.exchange.sim.testing import sim  # noqa: F401`` in a ``conftest.py``
(or ``pytest_plugins = ["phoenix.exchange.sim.testing"]`` in the root conftest), then ``async def
test_x(sim: SimServer)``. The default is the deterministic ``manual`` feed with a seeded book
around ``server.DEFAULT_MIDS`` and depth diffs published immediately.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from phoenix.exchange.sim.server import SimServer

ED25519_TEST_SEED = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
"""RFC 8032 test-1 seed: a fixed Ed25519 key so signatures in tests are reproducible."""


@asynccontextmanager
async def running_sim(
    *,
    symbols: Sequence[str] = ("ETHUSDC",),
    feed: str = "manual",
    seed: int = 7,
    ed25519: bool = False,
    immediate_depth: bool = True,
    **kwargs: Any,
) -> AsyncIterator[SimServer]:
    """Start a :class:`SimServer` on an ephemeral loopback port; stop it (no leaked tasks) on exit.

    Args:
        symbols: Symbols to list.
        feed: ``manual`` (default: tests inject market data), ``synthetic`` or ``replay``.
        seed: Synthetic feed seed.
        ed25519: Also create an Ed25519 account (``sim.ed25519_api_key`` / ``sim.ed25519_private_key``,
            a fixed RFC 8032 test key).
        immediate_depth: Publish every depth diff at once (deterministic) instead of per 100/250/500 ms.
        **kwargs: Any other :class:`SimServer` argument (``limits``, ``fees``, ``speed``, ``clock_ms``...).
    """
    if ed25519 and "ed25519_private_key" not in kwargs:
        kwargs["ed25519_private_key"] = Ed25519PrivateKey.from_private_bytes(ED25519_TEST_SEED)
    server = SimServer(symbols=symbols, feed=feed, seed=seed, immediate_depth=immediate_depth, **kwargs)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


try:
    import pytest_asyncio
except ImportError:  # pragma: no cover - production installs have no pytest
    pytest_asyncio = None  # type: ignore[assignment]

if pytest_asyncio is not None:

    @pytest_asyncio.fixture
    async def sim() -> AsyncIterator[SimServer]:
        """A running simulator (manual feed, ETHUSDC, Ed25519 account enabled) for one test."""
        async with running_sim(ed25519=True) as server:
            yield server
