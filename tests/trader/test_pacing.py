"""Requote pacing: the interval bounds routine refreshes; a touch move beyond tolerance is quoted at once."""

from __future__ import annotations

from phoenix.core.types import CancelOrder, ModifyOrder, PlaceOrder
from phoenix.trader.trader import Trader
from tests.trader.support import T0, Venue, eth_filters, make_config

MS = 1_000_000
BID = 300_000


def _order_actions(d: object) -> list[object]:
    return [a for a in d.actions if isinstance(a, PlaceOrder | ModifyOrder | CancelOrder)]  # type: ignore[attr-defined]


def _started() -> tuple[Trader, Venue]:
    t = Trader(make_config(), {"ETHUSDC": eth_filters()}, wallet_usdc=1e6, id_seed_ms=T0 // MS)
    v = Venue(t)
    v.start("ETHUSDC", BID)
    assert len(v.resting("ETHUSDC")) == 48
    return t, v


def test_touch_jump_is_requoted_well_inside_the_quote_interval() -> None:
    _, v = _started()
    # 30 ms later (interval 200 ms): the touch jumps 90 ticks (3 bps); the ladder follows now, not at +200 ms
    d = v.book("ETHUSDC", BID + 90, T0 + 30 * MS)
    assert _order_actions(d), "a touch move beyond tolerance must be requoted before the interval ends"


def test_unchanged_touch_waits_for_the_interval_and_jitter_within_tolerance_too() -> None:
    _, v = _started()
    assert not _order_actions(v.book("ETHUSDC", BID, T0 + 30 * MS))
    # within the 1 bp (30 ticks) execution band: no requote is forced
    assert not _order_actions(v.book("ETHUSDC", BID + 25, T0 + 60 * MS))


def test_urgent_requotes_have_a_floor_of_an_eighth_of_the_interval() -> None:
    _, v = _started()
    # 10 ms < 200/8 ms: even a large move waits for the floor (bounds CPU and order traffic in bursts)
    assert not _order_actions(v.book("ETHUSDC", BID + 90, T0 + 10 * MS))
    assert _order_actions(v.book("ETHUSDC", BID + 90, T0 + 26 * MS))


def test_the_timer_does_not_re_evaluate_a_book_evaluated_less_than_an_interval_ago() -> None:
    t, v = _started()
    rt = t._rt["ETHUSDC"]
    # a book update after the interval is evaluated (nothing to send: the ladder already fits); a pass that
    # sent nothing holds the next book-driven pass back by only a quarter interval
    d = v.book("ETHUSDC", BID, T0 + 300 * MS)
    assert rt.evaluated_ns == T0 + 300 * MS and not _order_actions(d)
    # 60 ms later the pacing allows a pass, but the book is unchanged and the strategy ran 60 ms ago
    # (interval 200 ms): the timer skips it
    v.timer(T0 + 360 * MS)
    assert rt.evaluated_ns == T0 + 300 * MS
    # once the interval has passed the unchanged book is evaluated again (time-dependent inputs)
    v.timer(T0 + 510 * MS)
    assert rt.evaluated_ns == T0 + 510 * MS


def test_the_timer_evaluates_a_changed_book_as_soon_as_the_pacing_allows() -> None:
    t, v = _started()
    rt = t._rt["ETHUSDC"]
    v.book("ETHUSDC", BID, T0 + 300 * MS)
    # a move within tolerance before the pacing allows a pass: seen, not quoted yet
    v.book("ETHUSDC", BID + 5, T0 + 320 * MS)
    assert rt.dirty and rt.evaluated_ns == T0 + 300 * MS
    v.timer(T0 + 360 * MS)
    assert rt.evaluated_ns == T0 + 360 * MS and not rt.dirty


def test_a_move_of_exactly_the_tolerance_is_quoted_at_once() -> None:
    # on a coarse tick the tolerance is one tick (ADAUSDC: 1 tick = 1.4 bp); a move of exactly the tolerance
    # must not wait for the interval. Here: ETHUSDC's 1 bp band is 30 ticks
    t, v = _started()
    rt = t._rt["ETHUSDC"]
    v.book("ETHUSDC", BID + 29, T0 + 30 * MS)
    assert rt.evaluated_ns == T0  # within the band: waits for the interval
    v.book("ETHUSDC", BID + 30, T0 + 40 * MS)
    assert rt.evaluated_ns == T0 + 40 * MS  # the band itself: quoted now
