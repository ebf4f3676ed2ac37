"""Book sync state machine: synthetic diffs for every rule, and the real Binance USD-M recording."""

from __future__ import annotations

import gzip
import random
from decimal import Decimal
from pathlib import Path

import msgspec

from phoenix.core.types import SymbolFilters
from phoenix.exchange.binance import codec, wire
from phoenix.exchange.binance.book import BookSync, Diff, DiffResult, LocalBook, SnapshotResult, SyncState


def d(first: int, last: int, prev: int, bids: tuple = (), asks: tuple = ()) -> Diff:
    return Diff(first, last, prev, tuple(bids), tuple(asks))


SNAP_BIDS = ((100, 1.0), (99, 2.0))
SNAP_ASKS = ((101, 1.5), (102, 3.0))


def test_buffer_then_snapshot_applies_covering_diff_and_chain() -> None:
    s = BookSync("X")
    assert s.on_diff(d(5, 8, 4, [(100, 9.0)])) is DiffResult.BUFFERED  # u < L: dropped at snapshot
    assert s.on_diff(d(9, 12, 8, [(98, 1.0)])) is DiffResult.BUFFERED  # U ≤ L=10 ≤ u
    assert s.on_diff(d(13, 15, 12, asks=[(101, 0.0)])) is DiffResult.BUFFERED
    assert not s.in_sync
    assert s.on_snapshot(10, SNAP_BIDS, SNAP_ASKS) is SnapshotResult.SYNCED
    assert s.in_sync and s.last_update_id == 15
    assert s.book.bids == {100: 1.0, 99: 2.0, 98: 1.0}  # the u<L diff (100 → 9.0) was dropped
    assert s.book.best_ask() == (102, 3.0)
    assert s.on_diff(d(16, 20, 15, [(100, 0.0)])) is DiffResult.APPLIED
    assert s.book.best_bid() == (99, 2.0)


def test_pu_mismatch_is_a_gap_and_clears_the_book() -> None:
    s = BookSync("X")
    s.on_diff(d(9, 12, 8))
    s.on_snapshot(10, SNAP_BIDS, SNAP_ASKS)
    assert s.on_diff(d(14, 16, 13)) is DiffResult.GAP  # pu 13 != 12
    assert s.state is SyncState.AWAITING_SNAPSHOT and not s.book.bids and s.gaps == 1
    assert s.on_diff(d(17, 18, 16)) is DiffResult.BUFFERED


def test_ids_may_skip_only_pu_matters() -> None:
    s = BookSync("X")
    s.on_diff(d(9, 12, 8))
    s.on_snapshot(10, SNAP_BIDS, SNAP_ASKS)
    assert s.on_diff(d(30, 31, 12)) is DiffResult.APPLIED  # U != u+1 is fine


def test_snapshot_too_old_when_first_buffered_diff_starts_after_it() -> None:
    s = BookSync("X")
    s.on_diff(d(20, 25, 19))
    assert s.on_snapshot(10, SNAP_BIDS, SNAP_ASKS) is SnapshotResult.TOO_OLD
    assert s.state is SyncState.AWAITING_SNAPSHOT
    assert s.on_snapshot(22, SNAP_BIDS, SNAP_ASKS) is SnapshotResult.SYNCED  # buffer kept


def test_snapshot_before_any_covering_diff_waits_for_it() -> None:
    s = BookSync("X")
    assert s.on_snapshot(10, SNAP_BIDS, SNAP_ASKS) is SnapshotResult.AWAITING_DIFF
    assert s.on_diff(d(5, 9, 4)) is DiffResult.IGNORED
    assert s.on_diff(d(10, 11, 9, [(100, 5.0)])) is DiffResult.SYNCED
    assert s.in_sync and s.book.bids[100] == 5.0


def test_awaiting_diff_then_later_diff_means_snapshot_too_old() -> None:
    s = BookSync("X")
    s.on_snapshot(10, SNAP_BIDS, SNAP_ASKS)
    assert s.on_diff(d(12, 13, 11)) is DiffResult.SNAPSHOT_TOO_OLD
    assert s.state is SyncState.AWAITING_SNAPSHOT and not s.book.asks


def test_crossed_book_is_a_gap() -> None:
    s = BookSync("X")
    s.on_diff(d(9, 12, 8))
    s.on_snapshot(10, SNAP_BIDS, SNAP_ASKS)
    assert s.on_diff(d(13, 13, 12, [(101, 1.0)])) is DiffResult.GAP


def test_chain_break_inside_buffer_is_a_gap() -> None:
    s = BookSync("X")
    s.on_diff(d(9, 12, 8))
    s.on_diff(d(14, 15, 13))
    assert s.on_snapshot(10, SNAP_BIDS, SNAP_ASKS) is SnapshotResult.GAP
    assert not s.in_sync


def test_local_book_matches_dict_model_under_random_updates() -> None:
    rng = random.Random(3)
    book, model_b, model_a = LocalBook(), {}, {}
    for _ in range(3000):
        bids = tuple((rng.randint(0, 60), rng.choice([0.0, 0.0, rng.random()])) for _ in range(3))
        asks = tuple((rng.randint(61, 120), rng.choice([0.0, rng.random()])) for _ in range(3))
        book.apply(bids, asks)
        for side, lv in ((model_b, bids), (model_a, asks)):
            for p, q in lv:
                if q > 0:
                    side[p] = q
                else:
                    side.pop(p, None)
    assert book.bids == model_b and book.asks == model_a
    bids, asks = book.levels()
    assert [p for p, _ in bids] == sorted(model_b, reverse=True)
    assert [p for p, _ in asks] == sorted(model_a)
    top_b, top_a = book.levels(5)
    assert top_b == bids[:5] and top_a == asks[:5]


BTCUSDT = SymbolFilters(
    symbol="BTCUSDT", tick_size=Decimal("0.1"), step_size=Decimal("0.001"), min_qty=Decimal("0.001"),
    min_notional=Decimal("100"),
)  # fmt: skip


def test_real_recording_syncs_without_gaps_and_matches_book_ticker(btcusdt_recording: Path) -> None:
    sync = BookSync("BTCUSDT")
    snapshot_decoder = msgspec.json.Decoder(wire.DepthSnapshot, strict=False)
    tick = BTCUSDT.tick
    applied = ticker_checks = 0
    with gzip.open(btcusdt_recording, "rb") as fh:
        for line in fh:
            _, raw = line.split(b" ", 1)
            if raw.startswith(b'{"lastUpdateId"'):
                snap = snapshot_decoder.decode(raw)
                result = sync.on_snapshot(
                    snap.lastUpdateId,
                    codec.levels_to_ticks(snap.bids, tick),
                    codec.levels_to_ticks(snap.asks, tick),
                )
                assert result in (SnapshotResult.SYNCED, SnapshotResult.AWAITING_DIFF)
                continue
            ev = wire.stream_decoder.decode(raw).data
            if isinstance(ev, wire.DepthUpdate):
                res = sync.on_diff(
                    Diff(
                        ev.U,
                        ev.u,
                        ev.pu,
                        codec.levels_to_ticks(ev.b, tick),
                        codec.levels_to_ticks(ev.a, tick),
                    )
                )
                assert res is not DiffResult.GAP
                applied += res in (DiffResult.APPLIED, DiffResult.SYNCED)
            if sync.in_sync:
                assert not sync.book.is_crossed()
                ticker_checks += 1
    assert sync.in_sync and sync.gaps == 0
    assert applied > 4000
    assert ticker_checks > 100
    assert len(sync.book.bids) == 2306 and len(sync.book.asks) == 1791
    best_bid, best_ask = sync.book.best_bid(), sync.book.best_ask()
    assert best_bid is not None and best_ask is not None
    assert (best_bid[0], best_ask[0]) == (281551, 281552)  # 28155.10 / 28155.20 per the data README


def test_diff_starting_exactly_at_snapshot_id_is_accepted() -> None:
    s = BookSync("X")
    assert s.on_snapshot(10, SNAP_BIDS, SNAP_ASKS) is SnapshotResult.AWAITING_DIFF
    assert s.on_diff(d(11, 12, 10, [(100, 4.0)])) is DiffResult.SYNCED  # U > L but pu == L
    s2 = BookSync("X")
    s2.on_diff(d(11, 12, 10))
    assert s2.on_snapshot(10, SNAP_BIDS, SNAP_ASKS) is SnapshotResult.SYNCED


def test_overlapping_socket_duplicates_are_skipped_not_gaps() -> None:
    s = BookSync("X")
    s.on_diff(d(9, 12, 8))
    s.on_diff(d(13, 15, 12))
    s.on_diff(d(13, 15, 12))  # the same event from the successor socket while buffering
    assert s.on_snapshot(10, SNAP_BIDS, SNAP_ASKS) is SnapshotResult.SYNCED
    assert s.on_diff(d(16, 18, 15, [(98, 1.0)])) is DiffResult.APPLIED
    assert s.on_diff(d(16, 18, 15, [(98, 7.0)])) is DiffResult.DUPLICATE
    assert s.book.bids[98] == 1.0 and s.in_sync and s.gaps == 0
