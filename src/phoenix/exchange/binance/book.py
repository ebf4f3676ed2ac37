"""Local order book and the USDⓈ-M diff-depth synchronisation state machine (protocol §6.3). Pure, no I/O.

Rules: buffer diffs until a REST snapshot (``lastUpdateId`` = L) arrives; drop diffs with ``u < L``; the first
applied diff must satisfy ``U ≤ L ≤ u`` (or ``pu == L``: it starts exactly where the snapshot ends, as ccxt
also accepts); every later diff must have ``pu`` equal to the previous ``u``.
A broken chain or a crossed book invalidates the book: it is cleared and rebuilt from a new snapshot.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections import deque
from dataclasses import dataclass
from enum import Enum, StrEnum

TickLevels = tuple[tuple[int, float], ...]


class LocalBook:
    """L2 book keyed by price ticks; qty in base units. Keeps sorted price lists for best/top queries."""

    __slots__ = ("_ask_px", "_bid_px", "asks", "bids")

    def __init__(self) -> None:
        self.bids: dict[int, float] = {}
        self.asks: dict[int, float] = {}
        self._bid_px: list[int] = []  # ascending
        self._ask_px: list[int] = []  # ascending

    def clear(self) -> None:
        """Remove every level."""
        self.bids.clear()
        self.asks.clear()
        self._bid_px.clear()
        self._ask_px.clear()

    def load(self, bids: TickLevels, asks: TickLevels) -> None:
        """Replace the book with a snapshot (zero-qty levels are skipped)."""
        self.bids = {p: q for p, q in bids if q > 0}
        self.asks = {p: q for p, q in asks if q > 0}
        self._bid_px = sorted(self.bids)
        self._ask_px = sorted(self.asks)

    @staticmethod
    def _apply_side(side: dict[int, float], prices: list[int], levels: TickLevels) -> None:
        for p, q in levels:
            if q > 0:
                if p not in side:
                    insort(prices, p)
                side[p] = q
            elif p in side:
                del side[p]
                del prices[bisect_left(prices, p)]

    def apply(self, bids: TickLevels, asks: TickLevels) -> None:
        """Set each level to its new absolute qty; qty 0 deletes (deleting an absent level is a no-op)."""
        self._apply_side(self.bids, self._bid_px, bids)
        self._apply_side(self.asks, self._ask_px, asks)

    def best_bid(self) -> tuple[int, float] | None:
        """Highest bid ``(ticks, qty)`` or ``None``."""
        if not self._bid_px:
            return None
        p = self._bid_px[-1]
        return p, self.bids[p]

    def best_ask(self) -> tuple[int, float] | None:
        """Lowest ask ``(ticks, qty)`` or ``None``."""
        if not self._ask_px:
            return None
        p = self._ask_px[0]
        return p, self.asks[p]

    def is_crossed(self) -> bool:
        """True if best bid ≥ best ask."""
        return bool(self._bid_px and self._ask_px and self._bid_px[-1] >= self._ask_px[0])

    def levels(self, depth: int | None = None) -> tuple[TickLevels, TickLevels]:
        """Bids descending and asks ascending, optionally only the top ``depth`` levels."""
        bid_px = self._bid_px[::-1] if depth is None else self._bid_px[: -depth - 1 : -1]
        ask_px = self._ask_px if depth is None else self._ask_px[:depth]
        return tuple((p, self.bids[p]) for p in bid_px), tuple((p, self.asks[p]) for p in ask_px)


class SyncState(StrEnum):
    """Where a symbol's book is in the sync procedure. Only ``IN_SYNC`` may be quoted from."""

    AWAITING_SNAPSHOT = "AWAITING_SNAPSHOT"  # buffering diffs; a snapshot fetch is due
    AWAITING_DIFF = "AWAITING_DIFF"  # snapshot loaded, waiting for the diff that covers its id
    IN_SYNC = "IN_SYNC"


class DiffResult(Enum):
    """What ``BookSync.on_diff`` did."""

    BUFFERED = "buffered"
    IGNORED = "ignored"  # older than the snapshot
    DUPLICATE = "duplicate"  # already applied (two sockets overlap during a connection handover)
    APPLIED = "applied"
    SYNCED = "synced"  # this diff completed the sync (emit a full snapshot)
    GAP = "gap"  # chain broken or book crossed: book cleared, new snapshot needed
    SNAPSHOT_TOO_OLD = "snapshot_too_old"  # first diff starts after the snapshot: fetch again


class SnapshotResult(Enum):
    """What ``BookSync.on_snapshot`` did."""

    SYNCED = "synced"
    AWAITING_DIFF = "awaiting_diff"
    TOO_OLD = "too_old"
    GAP = "gap"


@dataclass(slots=True)
class Diff:
    """One depth diff with levels already on the tick grid."""

    first_id: int  # U
    last_id: int  # u
    prev_id: int  # pu
    bids: TickLevels
    asks: TickLevels
    event_ms: int = 0


class BookSync:
    """Per-symbol sync state machine around a ``LocalBook``."""

    def __init__(self, symbol: str, max_buffer: int = 5000) -> None:
        self.symbol = symbol
        self.book = LocalBook()
        self.state = SyncState.AWAITING_SNAPSHOT
        self.last_update_id = 0  # u of the last applied diff (or the snapshot id before the first diff)
        self.snapshot_id = 0
        self._buffer: deque[Diff] = deque(maxlen=max_buffer)
        self.gaps = 0
        self.rebuilds = 0

    @property
    def in_sync(self) -> bool:
        """True only when the book follows the exchange exactly."""
        return self.state is SyncState.IN_SYNC

    def reset(self) -> None:
        """Invalidate the book (gap, reconnect, watchdog): clear everything and wait for a new snapshot."""
        self.book.clear()
        self._buffer.clear()
        self.state = SyncState.AWAITING_SNAPSHOT
        self.last_update_id = 0
        self.snapshot_id = 0

    def _gap(self) -> None:
        self.gaps += 1
        self.reset()

    def on_diff(self, d: Diff) -> DiffResult:
        """Feed one diff event from the stream."""
        if self.state is SyncState.IN_SYNC:
            if d.last_id <= self.last_update_id:
                return DiffResult.DUPLICATE
            if d.prev_id != self.last_update_id:
                self._gap()
                return DiffResult.GAP
            self.book.apply(d.bids, d.asks)
            self.last_update_id = d.last_id
            if self.book.is_crossed():
                self._gap()
                return DiffResult.GAP
            return DiffResult.APPLIED
        if self.state is SyncState.AWAITING_SNAPSHOT:
            self._buffer.append(d)
            return DiffResult.BUFFERED
        # AWAITING_DIFF: snapshot loaded, nothing buffered covered it yet
        if d.last_id < self.snapshot_id:
            return DiffResult.IGNORED
        if d.first_id <= self.snapshot_id or d.prev_id == self.snapshot_id:
            self.book.apply(d.bids, d.asks)
            self.last_update_id = d.last_id
            if self.book.is_crossed():
                self._gap()
                return DiffResult.GAP
            self.state = SyncState.IN_SYNC
            self.rebuilds += 1
            return DiffResult.SYNCED
        self.book.clear()
        self.state = SyncState.AWAITING_SNAPSHOT
        self._buffer.clear()
        self._buffer.append(d)
        return DiffResult.SNAPSHOT_TOO_OLD

    def on_snapshot(self, last_update_id: int, bids: TickLevels, asks: TickLevels) -> SnapshotResult:
        """Feed the REST snapshot; applies the buffered diffs that follow it."""
        if self.state is SyncState.IN_SYNC:
            return SnapshotResult.SYNCED  # a late duplicate snapshot: the live book is newer
        self.book.load(bids, asks)
        self.snapshot_id = last_update_id
        self.last_update_id = last_update_id
        pending = [d for d in self._buffer if d.last_id >= last_update_id]
        self._buffer.clear()
        if not pending:
            self.state = SyncState.AWAITING_DIFF
            return SnapshotResult.AWAITING_DIFF
        first = pending[0]
        if first.first_id > last_update_id and first.prev_id != last_update_id:
            self.book.clear()
            self.state = SyncState.AWAITING_SNAPSHOT
            self._buffer.extend(pending)
            return SnapshotResult.TOO_OLD
        prev: int | None = None
        for d in pending:
            if prev is not None and d.last_id <= prev:
                continue  # duplicate from an overlapping socket
            if prev is not None and d.prev_id != prev:
                self._gap()
                return SnapshotResult.GAP
            self.book.apply(d.bids, d.asks)
            prev = d.last_id
        self.last_update_id = pending[-1].last_id
        if self.book.is_crossed():
            self._gap()
            return SnapshotResult.GAP
        self.state = SyncState.IN_SYNC
        self.rebuilds += 1
        return SnapshotResult.SYNCED
