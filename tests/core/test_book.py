"""OrderBook: snapshot + deltas + top-of-book on int ticks, queries, and the never-crossed invariant."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from phoenix.core.book import OrderBook
from phoenix.core.types import Side


def make_book() -> OrderBook:
    book = OrderBook(0.01)
    book.apply_snapshot(
        bids=((300_000, 1.0), (299_999, 2.0), (299_990, 3.0), (299_980, 0.0)),
        asks=((300_002, 1.5), (300_003, 0.5), (300_010, 4.0)),
        ts_ns=10,
    )
    return book


def test_snapshot_sets_best_levels_mid_and_spread() -> None:
    book = make_book()
    assert book.best_bid_ticks == 300_000
    assert book.best_ask_ticks == 300_002
    assert book.best_bid_qty() == 1.0
    assert book.best_ask_qty() == 1.5
    assert book.mid() == pytest.approx(3000.01)
    assert book.spread_ticks() == 2
    assert book.ts_ns == 10
    assert len(book) == 6  # the zero-qty level is ignored
    assert book.is_two_sided


def test_microprice_leans_towards_the_thinner_side() -> None:
    book = make_book()
    # (bid × ask_qty + ask × bid_qty) / (bid_qty + ask_qty)
    expected = (300_000 * 1.5 + 300_002 * 1.0) / 2.5 * 0.01
    assert book.microprice() == pytest.approx(expected)
    assert book.microprice() < book.mid()  # type: ignore[operator]


def test_depth_to_price_accumulates_from_the_touch() -> None:
    book = make_book()
    assert book.depth_to_price(Side.BUY, 300_000) == pytest.approx(1.0)
    assert book.depth_to_price(Side.BUY, 299_990) == pytest.approx(6.0)
    assert book.depth_to_price(Side.BUY, 300_001) == 0.0
    assert book.depth_to_price(Side.SELL, 300_003) == pytest.approx(2.0)
    assert book.depth_to_price(Side.SELL, 400_000) == pytest.approx(6.0)
    assert book.qty_at(Side.BUY, 299_999) == 2.0
    assert book.qty_at(Side.SELL, 299_999) == 0.0


def test_levels_lists_from_best_outwards() -> None:
    book = make_book()
    assert book.levels(Side.BUY) == [(300_000, 1.0), (299_999, 2.0), (299_990, 3.0)]
    assert book.levels(Side.BUY, 2) == [(300_000, 1.0), (299_999, 2.0)]
    assert book.levels(Side.SELL, 1) == [(300_002, 1.5)]
    assert len(book.levels(Side.SELL)) == 3


def test_delta_updates_removes_and_inserts_levels() -> None:
    book = make_book()
    book.apply_delta(bids=((300_000, 0.0), (299_995, 7.0)), asks=((300_002, 2.5), (300_020, 1.0)), ts_ns=20)
    assert book.best_bid_ticks == 299_999
    assert book.qty_at(Side.BUY, 299_995) == 7.0
    assert book.best_ask_qty() == 2.5
    assert book.levels(Side.SELL)[-1] == (300_020, 1.0)
    book.apply_delta(bids=((123, 0.0),), asks=((300_003, 0.0),), ts_ns=21)  # removing absent level: no-op
    assert book.levels(Side.SELL) == [(300_002, 2.5), (300_010, 4.0), (300_020, 1.0)]
    assert book.ts_ns == 21


def test_new_best_bid_through_the_asks_removes_the_stale_asks() -> None:
    book = make_book()
    book.apply_delta(bids=((300_003, 1.0),), asks=(), ts_ns=30)
    assert book.best_bid_ticks == 300_003
    assert book.best_ask_ticks == 300_010


def test_new_best_ask_through_the_bids_removes_the_stale_bids() -> None:
    book = make_book()
    book.apply_delta(bids=(), asks=((299_999, 1.0),), ts_ns=30)
    assert book.best_ask_ticks == 299_999
    assert book.best_bid_ticks == 299_990


def test_top_of_book_removes_better_stale_levels_and_sets_the_touch() -> None:
    book = make_book()
    book.apply_top(299_999, 5.0, 300_003, 6.0, ts_ns=40)
    assert book.best_bid_ticks == 299_999 and book.best_bid_qty() == 5.0
    assert book.best_ask_ticks == 300_003 and book.best_ask_qty() == 6.0
    assert book.qty_at(Side.BUY, 300_000) == 0.0
    assert book.qty_at(Side.SELL, 300_002) == 0.0
    book.apply_top(300_005, 1.0, 300_006, 1.0, ts_ns=41)  # a jump up through the old asks
    assert book.best_bid_ticks == 300_005
    assert book.best_ask_ticks == 300_006
    assert book.levels(Side.SELL) == [(300_006, 1.0), (300_010, 4.0)]


def test_crossed_top_of_book_is_rejected() -> None:
    book = make_book()
    with pytest.raises(ValueError, match="crossed"):
        book.apply_top(300_005, 1.0, 300_005, 1.0, ts_ns=1)


def test_crossed_snapshot_drops_the_overlap_of_both_sides() -> None:
    book = OrderBook(0.01)
    book.apply_snapshot(bids=((105, 1.0), (100, 1.0)), asks=((103, 1.0), (110, 1.0)), ts_ns=1)
    assert book.best_bid_ticks == 100
    assert book.best_ask_ticks == 110


def test_empty_book_answers_none() -> None:
    book = OrderBook(0.1)
    assert book.best_bid_ticks is None and book.best_ask_ticks is None
    assert book.mid() is None and book.microprice() is None and book.spread_ticks() is None
    assert book.best_bid_qty() == 0.0 and book.best_ask_qty() == 0.0
    assert not book.is_two_sided
    book.apply_delta(bids=((10, 1.0),), asks=(), ts_ns=1)
    assert book.mid() is None
    book.clear()
    assert len(book) == 0


levels = st.lists(st.tuples(st.integers(90, 110), st.sampled_from([0.0, 0.5, 1.0, 2.0])), max_size=6)


big_levels = st.lists(st.tuples(st.integers(80, 120), st.sampled_from([0.0, 0.5, 1.0, 2.0])), max_size=30)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.lists(st.tuples(st.sampled_from(["delta", "top"]), levels, levels), max_size=40))
def test_book_matches_a_naive_model_and_never_crosses(ops: list[tuple[str, list, list]]) -> None:
    _check_against_naive_model(ops)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.lists(st.tuples(st.sampled_from(["delta", "delta", "top"]), big_levels, big_levels), max_size=30))
def test_large_deltas_take_the_batch_path_and_match_the_naive_model(
    ops: list[tuple[str, list, list]],
) -> None:
    # deltas touching a large part of the book are applied in one pass with one re-sort per side
    _check_against_naive_model(ops)


def _check_against_naive_model(ops: list[tuple[str, list, list]]) -> None:
    book = OrderBook(0.01)
    bids: dict[int, float] = {}
    asks: dict[int, float] = {}
    for kind, b_levels, a_levels in ops:
        if kind == "top":
            if not b_levels or not a_levels:
                continue
            bid, ask = b_levels[0][0], a_levels[0][0]
            if bid >= ask:
                continue
            book.apply_top(bid, 1.0, ask, 1.0, ts_ns=0)
            bids = {p: q for p, q in bids.items() if p < bid}
            asks = {p: q for p, q in asks.items() if p > ask}
            bids[bid] = 1.0
            asks[ask] = 1.0
        else:
            book.apply_delta(b_levels, a_levels, ts_ns=0)
            for p, q in b_levels:
                if q <= 0:
                    bids.pop(p, None)
                else:
                    asks = {a: v for a, v in asks.items() if a > p}
                    bids[p] = q
            for p, q in a_levels:
                if q <= 0:
                    asks.pop(p, None)
                else:
                    bids = {b: v for b, v in bids.items() if b < p}
                    asks[p] = q
        assert book.levels(Side.BUY) == sorted(bids.items(), reverse=True)
        assert book.levels(Side.SELL) == sorted(asks.items())
        if bids and asks:
            assert max(bids) < min(asks)
            assert book.best_bid_ticks == max(bids) and book.best_ask_ticks == min(asks)
