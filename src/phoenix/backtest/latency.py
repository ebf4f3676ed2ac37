"""Latency models: constant or sampled from an empirical distribution file, in integer nanoseconds.

Three latencies matter for a market maker (lessons.md §13):
- feed: exchange event time → the strategy sees it,
- entry: our order leaves → it reaches the matching engine,
- response: the exchange acts (ack, fill, cancel) → we learn about it.
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

NS_PER_MS = 1_000_000


class LatencyModel(Protocol):
    """Draws one latency in ns; must be deterministic for a seeded ``rng``."""

    def sample_ns(self, rng: random.Random) -> int:
        """One latency draw (ns, >= 0)."""
        ...


@dataclass(frozen=True, slots=True)
class ConstantLatency:
    """Always the same latency."""

    latency_ns: int

    def sample_ns(self, rng: random.Random) -> int:
        """The constant latency."""
        return self.latency_ns

    @classmethod
    def from_ms(cls, ms: float) -> ConstantLatency:
        """Build from milliseconds."""
        return cls(round(ms * NS_PER_MS))


class EmpiricalLatency:
    """Samples uniformly from measured latencies (inverse CDF with linear interpolation between samples).

    Args:
        samples_ms: Measured latencies in milliseconds (at least one, all >= 0).
    """

    __slots__ = ("_sorted_ns",)

    def __init__(self, samples_ms: list[float]) -> None:
        if not samples_ms:
            raise ValueError("empirical latency needs at least one sample")
        if min(samples_ms) < 0:
            raise ValueError("latency samples must be >= 0 ms")
        self._sorted_ns = sorted(round(s * NS_PER_MS) for s in samples_ms)

    def sample_ns(self, rng: random.Random) -> int:
        """One draw from the empirical distribution."""
        n = len(self._sorted_ns)
        if n == 1:
            return self._sorted_ns[0]
        u = rng.random() * (n - 1)
        i = int(u)
        frac = u - i
        lo = self._sorted_ns[i]
        hi = self._sorted_ns[min(i + 1, n - 1)]
        return lo + int((hi - lo) * frac)

    def quantile_ns(self, q: float) -> int:
        """The q-quantile (0..1) of the samples."""
        n = len(self._sorted_ns)
        return self._sorted_ns[min(n - 1, max(0, round(q * (n - 1))))]

    @classmethod
    def from_file(cls, path: Path | str) -> EmpiricalLatency:
        """Load latencies in ms: one number per line, or a CSV with a ``latency_ms`` column (else the first).

        Lines starting with ``#`` and non-numeric header lines are skipped.
        """
        path = Path(path)
        values: list[float] = []
        with path.open(newline="") as fh:
            reader = csv.reader(line for line in fh if line.strip() and not line.lstrip().startswith("#"))
            column = 0
            for row in reader:
                if not row:
                    continue
                try:
                    values.append(float(row[column]))
                except (ValueError, IndexError):
                    if not values and "latency_ms" in row:
                        column = row.index("latency_ms")
                    continue
        if not values:
            raise ValueError(f"{path}: no latency samples found")
        return cls(values)


def parse_latency(spec: str | float | None, default_ms: float = 0.0) -> LatencyModel:
    """Parse a latency spec: a number of ms (``"25"``), ``"const:25"`` or ``"file:PATH"`` (empirical, ms)."""
    if spec is None or spec == "":
        return ConstantLatency.from_ms(default_ms)
    if isinstance(spec, int | float):
        return ConstantLatency.from_ms(float(spec))
    text = spec.strip()
    if text.startswith("file:"):
        return EmpiricalLatency.from_file(text[5:])
    if text.startswith("const:"):
        text = text[6:]
    try:
        return ConstantLatency.from_ms(float(text.removesuffix("ms")))
    except ValueError:
        raise ValueError(f"latency spec {spec!r}: expected ms number, 'const:MS' or 'file:PATH'") from None


@dataclass(frozen=True, slots=True)
class LatencySet:
    """The three latencies of the backtest loop."""

    feed: LatencyModel
    entry: LatencyModel
    response: LatencyModel

    @classmethod
    def constant_ms(cls, feed_ms: float, entry_ms: float, response_ms: float) -> LatencySet:
        """All three constant, in ms."""
        return cls(
            ConstantLatency.from_ms(feed_ms),
            ConstantLatency.from_ms(entry_ms),
            ConstantLatency.from_ms(response_ms),
        )

    @classmethod
    def parse(cls, spec: str | None) -> LatencySet:
        """Parse ``--latency``: ``"MS"`` (all three), ``"FEED,ENTRY,RESPONSE"`` (each a latency spec) or
        ``"file:PATH"`` (the same empirical distribution for all three).
        Default: 5 ms feed, 25 ms entry and response.
        """
        if spec is None or spec.strip() == "":
            return cls.constant_ms(5.0, 25.0, 25.0)
        parts = [p.strip() for p in spec.split(",")]
        if len(parts) == 1:
            model = parse_latency(parts[0])
            return cls(model, model, model)
        if len(parts) != 3:
            raise ValueError(f"latency spec {spec!r}: expected 1 or 3 comma-separated parts")
        return cls(parse_latency(parts[0]), parse_latency(parts[1]), parse_latency(parts[2]))
