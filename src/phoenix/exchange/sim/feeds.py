"""Market-data sources for the simulated exchange: synthetic, recorded Binance replay, mid-only CSV.

Every feed is a plain iterator of typed events stamped with exchange time ``ts_ms``; it never
sleeps. The wire server paces them at real time × speed, the backtester on its simulated clock;
both hand each event to ``SimExchange.apply_feed_event``.
"""

from __future__ import annotations

import csv
import gzip
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import TypeAlias

import orjson

from phoenix.core.types import Side, SymbolFilters
from phoenix.exchange.sim.sim_types import FUNDING_INTERVAL_MS


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


def next_funding_after(ts_ms: int) -> int:
    """The next 8-hourly funding time (00:00/08:00/16:00 UTC) strictly after ``ts_ms``."""
    return (ts_ms // FUNDING_INTERVAL_MS + 1) * FUNDING_INTERVAL_MS


def one_tick_book(mid_ticks: float) -> tuple[int, int]:
    """(bid, ask) ticks of the tightest book around a mid in ticks: 1 tick on a half tick, else 2."""
    return math.floor(mid_ticks - 0.5 + 1e-9), math.ceil(mid_ticks + 0.5 - 1e-9)


class SyntheticFeed:
    """Seeded synthetic market: diffusing mid, L2 book with a 1-tick spread, Poisson trades.

    Each step (``step_ms``) the mid takes a Gaussian log-return with σ = ``sigma_bps_per_sqrt_s`` ×
    √dt; the book is re-centred on it (best bid = floor(mid), best ask = bid + 1 tick) with
    ``levels`` per side whose sizes grow with depth (``level_qty`` × (1 + 0.3·i), log-normal
    noise); a few levels are re-sized at random each step. Trades arrive as a Poisson process of
    rate ``trade_rate_per_s`` with a random aggressor and an exponential size (mean
    ``trade_qty``); each prints at the touch and removes its size from that level, so queues at
    the touch really drain. A mark price (= mid) with ``funding_rate`` is published every second.

    Yields, per step: trades, then one delta with every level that changed. The first event is a
    snapshot. Events are stamped with exchange time starting at ``start_ms``.

    Args:
        symbol: Symbol name.
        filters: Its filters (tick/step).
        seed: RNG seed; the same seed yields the same event sequence.
        mid: Starting mid price (USDC).
        sigma_bps_per_sqrt_s: Volatility of the mid diffusion (bps per √second).
        levels: Levels per side.
        trade_rate_per_s: Poisson intensity of market trades.
        trade_qty: Mean trade size (base units); None = 900 USDC of notional at the start mid.
        level_qty: Size of the best level (base units; deeper levels are larger); None = 6000 USDC
            of notional at the start mid (2.0 ETH at 3000).
        step_ms: Book update cadence.
        start_ms: Exchange time of the first event.
        duration_s: Stop after this much exchange time (None = endless).
        funding_rate: Funding rate published with the mark price.
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
        trade_qty: float | None = None,
        level_qty: float | None = None,
        step_ms: int = 100,
        start_ms: int = 1_700_000_000_000,
        duration_s: float | None = None,
        funding_rate: float = 0.0001,
    ) -> None:
        if levels < 1 or step_ms < 1 or mid <= 0.0:
            raise ValueError("levels and step_ms must be ≥ 1 and mid > 0")
        self.symbol = symbol
        self.filters = filters
        self.seed = seed
        self.mid = mid
        self.sigma_bps_per_sqrt_s = sigma_bps_per_sqrt_s
        self.levels = levels
        self.trade_rate_per_s = trade_rate_per_s
        self.trade_qty = trade_qty if trade_qty is not None else 900.0 / mid
        self.level_qty = level_qty if level_qty is not None else 6000.0 / mid
        self.step_ms = step_ms
        self.start_ms = start_ms
        self.duration_s = duration_s
        self.funding_rate = funding_rate

    def _level_size(self, rng: random.Random, depth: int) -> float:
        step = self.filters.step
        raw = self.level_qty * (1.0 + 0.3 * depth) * rng.lognormvariate(0.0, 0.5)
        return max(1, round(raw / step)) * step

    def __iter__(self) -> Iterator[FeedEvent]:
        rng = random.Random(self.seed)
        tick = self.filters.tick
        step = self.filters.step
        n = self.levels
        sym = self.symbol
        dt_s = self.step_ms / 1000.0
        sigma = self.sigma_bps_per_sqrt_s * 1e-4 * math.sqrt(dt_s)
        trade_p = self.trade_rate_per_s * dt_s
        mid = self.mid
        now = self.start_ms
        end = None if self.duration_s is None else self.start_ms + int(self.duration_s * 1000)
        best_bid = math.floor(mid / tick)
        bids: dict[int, float] = {best_bid - i: self._level_size(rng, i) for i in range(n)}
        asks: dict[int, float] = {best_bid + 1 + i: self._level_size(rng, i) for i in range(n)}
        yield FeedSnapshot(sym, now, tuple(sorted(bids.items(), reverse=True)), tuple(sorted(asks.items())))
        next_mark = now
        while end is None or now < end:
            if now >= next_mark:
                yield FeedMarkPrice(sym, now, mid, mid, self.funding_rate, next_funding_after(now))
                next_mark += 1000
            now += self.step_ms
            changed_b: dict[int, float] = {}
            changed_a: dict[int, float] = {}
            # Poisson trades at the touch (Bernoulli thinning per sub-step is exact enough for p ≪ 1)
            k = _poisson(rng, trade_p)
            for _ in range(k):
                buy = rng.random() < 0.5
                side_levels = asks if buy else bids
                if not side_levels:
                    continue
                price = min(side_levels) if buy else max(side_levels)
                avail = side_levels[price]
                qty = max(1, round(rng.expovariate(1.0 / self.trade_qty) / step)) * step
                qty = min(qty, avail)
                yield FeedTrade(sym, now, price, qty, Side.BUY if buy else Side.SELL)
                left = avail - qty
                if left <= step * 0.5:
                    del side_levels[price]
                    left = 0.0
                else:
                    side_levels[price] = left
                (changed_a if buy else changed_b)[price] = left
            # mid diffusion and re-centring with a 1-tick spread
            mid *= math.exp(sigma * rng.gauss(0.0, 1.0))
            best_bid = math.floor(mid / tick)
            lo_bid, hi_ask = best_bid - n + 1, best_bid + n
            for price in [p for p in bids if p > best_bid or p < lo_bid]:
                del bids[price]
                changed_b[price] = 0.0
            for price in [p for p in asks if p <= best_bid or p > hi_ask]:
                del asks[price]
                changed_a[price] = 0.0
            for i in range(n):
                pb = best_bid - i
                if pb not in bids:
                    bids[pb] = changed_b[pb] = self._level_size(rng, i)
                pa = best_bid + 1 + i
                if pa not in asks:
                    asks[pa] = changed_a[pa] = self._level_size(rng, i)
            # a few random re-sizes (adds and cancels)
            for _ in range(2):
                i = rng.randrange(n)
                if rng.random() < 0.5:
                    pb = best_bid - i
                    bids[pb] = changed_b[pb] = self._level_size(rng, i)
                else:
                    pa = best_bid + 1 + i
                    asks[pa] = changed_a[pa] = self._level_size(rng, i)
            if changed_b or changed_a:
                yield FeedDelta(sym, now, tuple(changed_b.items()), tuple(changed_a.items()))


def _poisson(rng: random.Random, lam: float) -> int:
    # Knuth's method; lam is small (rate × step)
    if lam <= 0.0:
        return 0
    limit = math.exp(-lam)
    k = 0
    p = rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


class RecordedFeed:
    """Replay of a Binance raw WebSocket recording (hftbacktest ``.dat.gz``), streamed from gzip.

    Line format: ``<local_receive_ts> <json>``; the JSON is a combined-stream envelope or a bare
    event (``depthUpdate``, ``trade``/``aggTrade``, ``markPriceUpdate``; ``bookTicker`` is skipped
    because the engine derives it) or the bare REST depth snapshot. Depth diffs are synchronised
    to the snapshot with Binance's USDⓈ-M rule (drop ``u < lastUpdateId``, first applied ``U ≤ L ≤ u``, then
    ``pu`` chaining); diffs before the snapshot are dropped, ``pu`` breaks are counted in
    ``gaps`` (the diff is still applied). Events carry exchange time ``E``, clamped to be
    non-decreasing because streams are interleaved by receive time.

    Args:
        path: Recording path.
        filters: Filters of the target symbol (prices are converted to its ticks).
        symbol_map: Recorded symbol → simulator symbol (default: every recorded symbol → ``filters.symbol``).
    """

    def __init__(self, path: Path, filters: SymbolFilters, symbol_map: dict[str, str] | None = None) -> None:
        self.path = Path(path)
        self.filters = filters
        self.symbol_map = symbol_map
        self.gaps = 0

    def _symbol(self, recorded: str) -> str | None:
        if self.symbol_map is None:
            return self.filters.symbol
        return self.symbol_map.get(recorded.upper())

    def __iter__(self) -> Iterator[FeedEvent]:
        inv_tick = 1.0 / self.filters.tick
        last_ts = 0
        synced_id: int | None = None  # snapshot lastUpdateId until the first diff applies, then last u
        first_applied = False
        self.gaps = 0
        with gzip.open(self.path, "rb") as fh:
            for line in fh:
                sep = line.find(b" ")
                if sep < 0:
                    continue
                msg = orjson.loads(line[sep + 1 :])
                data = msg.get("data")
                if data is None and "e" in msg:
                    data = msg  # a raw-stream recording: bare event objects, no envelope
                if data is None:
                    if "lastUpdateId" in msg:
                        ts = max(last_ts, int(msg.get("T") or msg.get("E") or last_ts))
                        last_ts = ts
                        synced_id = int(msg["lastUpdateId"])
                        first_applied = False
                        yield FeedSnapshot(
                            self.filters.symbol,
                            ts,
                            tuple((round(float(p) * inv_tick), float(q)) for p, q in msg["bids"]),
                            tuple((round(float(p) * inv_tick), float(q)) for p, q in msg["asks"]),
                        )
                    continue
                kind = data.get("e")
                if kind == "bookTicker":
                    continue
                symbol = self._symbol(data.get("s", ""))
                if symbol is None:
                    continue
                ts = int(data.get("E") or data.get("T") or last_ts)
                if ts < last_ts:
                    ts = last_ts
                last_ts = ts
                if kind == "depthUpdate":
                    if synced_id is None:
                        continue
                    u = int(data["u"])
                    if not first_applied:
                        if u < synced_id:
                            continue  # older than the snapshot
                        if int(data["U"]) > synced_id:
                            self.gaps += 1  # snapshot too old for this diff: applied anyway, counted
                        first_applied = True
                    elif int(data["pu"]) != synced_id:
                        self.gaps += 1
                    synced_id = u
                    yield FeedDelta(
                        symbol,
                        ts,
                        tuple((round(float(p) * inv_tick), float(q)) for p, q in data["b"]),
                        tuple((round(float(p) * inv_tick), float(q)) for p, q in data["a"]),
                    )
                elif kind == "trade" or kind == "aggTrade":
                    yield FeedTrade(
                        symbol,
                        ts,
                        round(float(data["p"]) * inv_tick),
                        float(data["q"]),
                        Side.SELL if data["m"] else Side.BUY,
                    )
                elif kind == "markPriceUpdate":
                    mark = float(data["p"])
                    yield FeedMarkPrice(
                        symbol,
                        ts,
                        mark,
                        float(data.get("i") or mark),
                        float(data.get("r") or 0.0),
                        int(data.get("T") or 0),
                    )


def parse_rfc3339_ms(text: str) -> int:
    """Epoch ms of an RFC 3339 UTC time with 0–9 fraction digits (``2025-11-24T03:29:42.921886164Z``)."""
    text = text.strip()
    if text.endswith("Z"):
        text = text[:-1]
    main, _, frac = text.partition(".")
    ms = int((frac + "000")[:3]) if frac else 0
    return _epoch_s(main) * 1000 + ms


@lru_cache(maxsize=4096)
def _epoch_s(main: str) -> int:
    # whole seconds of "YYYY-MM-DDTHH:MM:SS" (cached: consecutive rows share the second)
    return int(datetime.fromisoformat(main).replace(tzinfo=UTC).timestamp())


class MidCsvFeed:
    """Mid-only CSV replay (``ts,mid,...``); synthesises a book around each mid.

    The first row yields a snapshot, later rows a delta against the previous synthetic book (only
    when the mid moved). Best bid/ask hug the mid (1 tick apart when the mid sits on a half tick,
    as ETHUSDC's does); ``levels`` per side sized ``level_qty`` × (1 + 0.25·depth). A mark price
    (= mid) with ``funding_rate`` is published at most once per second. No trades: fills come only
    from the market moving through resting orders. Rows are streamed, not loaded whole.
    """

    def __init__(
        self,
        path: Path,
        filters: SymbolFilters,
        *,
        levels: int = 20,
        level_qty: float = 5.0,
        funding_rate: float = 0.0001,
    ) -> None:
        self.path = Path(path)
        self.filters = filters
        self.levels = levels
        self.level_qty = level_qty
        self.funding_rate = funding_rate
        step = filters.step
        self._sizes = [max(1, round(level_qty * (1.0 + 0.25 * i) / step)) * step for i in range(levels)]

    def _book(self, mid: float) -> tuple[dict[int, float], dict[int, float]]:
        bid, ask = one_tick_book(mid / self.filters.tick)
        sizes = self._sizes
        return {bid - i: q for i, q in enumerate(sizes)}, {ask + i: q for i, q in enumerate(sizes)}

    def __iter__(self) -> Iterator[FeedEvent]:
        sym = self.filters.symbol
        bids: dict[int, float] = {}
        asks: dict[int, float] = {}
        last_mid = -1.0
        last_ts = 0
        next_mark = 0
        with self.path.open("r", encoding="utf-8") as fh:
            reader = csv.reader(fh)
            header = next(reader, None)
            if header is None:
                return
            try:
                ts_col = header.index("ts")
                mid_col = header.index("mid")
            except ValueError:
                raise ValueError(
                    f"{self.path}: header must have 'ts' and 'mid' columns, got {header}"
                ) from None
            for row in reader:
                if len(row) <= max(ts_col, mid_col):
                    continue
                ts = max(last_ts, parse_rfc3339_ms(row[ts_col]))
                last_ts = ts
                mid = float(row[mid_col])
                if mid <= 0.0:
                    continue
                if mid != last_mid:
                    new_b, new_a = self._book(mid)
                    if last_mid < 0.0:
                        yield FeedSnapshot(
                            sym, ts, tuple(sorted(new_b.items(), reverse=True)), tuple(sorted(new_a.items()))
                        )
                    else:
                        yield FeedDelta(sym, ts, _diff(bids, new_b), _diff(asks, new_a))
                    bids, asks = new_b, new_a
                    last_mid = mid
                if ts >= next_mark:
                    yield FeedMarkPrice(sym, ts, mid, mid, self.funding_rate, next_funding_after(ts))
                    next_mark = ts + 1000


def _diff(old: dict[int, float], new: dict[int, float]) -> tuple[tuple[int, float], ...]:
    # levels that changed from ``old`` to ``new``; removed levels get qty 0
    out = [(p, q) for p, q in new.items() if old.get(p) != q]
    out.extend((p, 0.0) for p in old if p not in new)
    return tuple(out)
