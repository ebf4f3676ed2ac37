"""Market-data sources for the simulated exchange: synthetic, recorded Binance replay, mid-only CSV.

Every feed is a plain iterator of typed events stamped with exchange time ``ts_ms``; it never
sleeps. The wire server paces them at real time × speed, the backtester on its simulated clock;
both hand each event to ``SimExchange.apply_feed_event``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeAlias

from phoenix.core.types import Side, SymbolFilters


@dataclass(frozen=True, slots=True)
class FeedSnapshot:
    """Full market book of one symbol; levels (price_ticks, qty base units), best first."""

    symbol: str
    ts_ms: int
    bids: tuple[tuple[int, float], ...]
    asks: tuple[tuple[int, float], ...]


@dataclass(frozen=True, slots=True)
class FeedDelta:
    """Changed market levels with their new absolute qty (0 removes)."""

    symbol: str
    ts_ms: int
    bids: tuple[tuple[int, float], ...]
    asks: tuple[tuple[int, float], ...]


@dataclass(frozen=True, slots=True)
class FeedTrade:
    """A market trade; ``aggressor`` is the taker side (Binance ``m`` true ⇒ SELL)."""

    symbol: str
    ts_ms: int
    price_ticks: int
    qty: float
    aggressor: Side


@dataclass(frozen=True, slots=True)
class FeedMarkPrice:
    """Mark/index price and the current funding rate with the next funding time (ms)."""

    symbol: str
    ts_ms: int
    mark_price: float
    index_price: float
    funding_rate: float
    next_funding_ms: int


FeedEvent: TypeAlias = FeedSnapshot | FeedDelta | FeedTrade | FeedMarkPrice


class SyntheticFeed:
    """Seeded synthetic market: diffusing mid, ~N-level L2 book with a 1-tick spread, Poisson trades.

    Args:
        symbol: Symbol name.
        filters: Its filters (tick/step).
        seed: RNG seed; the same seed yields the same event sequence.
        mid: Starting mid price (USDC).
        sigma_bps_per_sqrt_s: Volatility of the mid diffusion.
        levels: Levels per side.
        trade_rate_per_s: Poisson intensity of market trades.
        step_ms: Book update cadence.
        start_ms: Exchange time of the first event.
        duration_s: Stop after this much exchange time (None = endless).
        funding_rate: Funding rate published every second with the mark price.
    """

    def __init__(
        self,
        symbol: str,
        filters: SymbolFilters,
        *,
        seed: int = 1,
        mid: float = 3000.0,
        sigma_bps_per_sqrt_s: float = 1.2,
        levels: int = 20,
        trade_rate_per_s: float = 2.0,
        step_ms: int = 100,
        start_ms: int = 1_700_000_000_000,
        duration_s: float | None = None,
        funding_rate: float = 0.0001,
    ) -> None:
        raise NotImplementedError

    def __iter__(self) -> Iterator[FeedEvent]:
        raise NotImplementedError


class RecordedFeed:
    """Replay of a Binance raw WebSocket recording (hftbacktest ``.dat.gz``), streamed from gzip.

    Args:
        path: Recording path (``<local_ts> <json>`` per line).
        filters: Filters of the target symbol (prices are converted to its ticks).
        symbol_map: Recorded symbol → simulator symbol, e.g. ``{"BTCUSDT": "BTCUSDC"}``.
    """

    def __init__(self, path: Path, filters: SymbolFilters, symbol_map: dict[str, str] | None = None) -> None:
        raise NotImplementedError

    def __iter__(self) -> Iterator[FeedEvent]:
        raise NotImplementedError


class MidCsvFeed:
    """Mid-only CSV (``ts,mid,...``) replay; synthesises a 1-tick-spread book around each mid."""

    def __init__(
        self, path: Path, filters: SymbolFilters, *, levels: int = 20, level_qty: float = 5.0
    ) -> None:
        raise NotImplementedError

    def __iter__(self) -> Iterator[FeedEvent]:
        raise NotImplementedError
