"""Market size our takers consumed is not shown (or filled) again by later feed updates at that price.

The feed knows nothing of simulated trades: after a taker empties a level, the feed keeps showing
the old size there. The consumed size is subtracted from what the feed shows at that price until
the feed shows the level at or below what the book holds (it caught up), the level disappears, or
a snapshot resets the book.
"""

from __future__ import annotations

import pytest

from phoenix.core.types import Side, TimeInForce
from phoenix.exchange.sim.sim_types import DepthDiffPublished, SimEvent, SimOrderStatus
from tests.sim.engine.conftest import ASK0, BID0, SYM, T0, Venue, make_venue


def _diff_asks(events: list[SimEvent]) -> list[tuple[int, float]]:
    return [lvl for e in events if isinstance(e, DepthDiffPublished) for lvl in e.asks]


def _take_ask0(venue: Venue, steps: int, now_ms: int, *, account_b: bool = False) -> int:
    view, _ = venue.place(
        Side.BUY,
        ASK0,
        steps,
        tif=TimeInForce.IOC,
        account=venue.b if account_b else None,
        now_ms=now_ms,
    )
    return view.executed_qty_steps


def test_feed_update_after_a_take_does_not_restore_the_consumed_size(venue: Venue) -> None:
    assert _take_ask0(venue, 5_000, T0 + 10) == 1_000  # the whole 1.0 at ASK0
    events = venue.ex.apply_market_delta(SYM, [], [(ASK0, 1.5)], T0 + 20)  # 0.5 added behind
    assert _diff_asks(events) == [(ASK0, pytest.approx(0.5))]
    assert venue.ex.depth(SYM, 1).asks == ((ASK0, pytest.approx(0.5)),)
    assert _take_ask0(venue, 5_000, T0 + 30, account_b=True) == 500  # not the same lots twice


def test_partial_take_then_feed_growth_and_catch_up(venue: Venue) -> None:
    assert _take_ask0(venue, 600, T0 + 10) == 600  # 0.4 left at ASK0, the feed still says 1.0
    venue.ex.apply_market_delta(SYM, [], [(ASK0, 1.3)], T0 + 20)
    assert venue.ex.depth(SYM, 1).asks == ((ASK0, pytest.approx(0.7)),)
    venue.ex.apply_market_delta(SYM, [], [(ASK0, 1.1)], T0 + 30)  # 0.2 left the feed, above 0.7
    assert venue.ex.depth(SYM, 1).asks == ((ASK0, pytest.approx(0.5)),)
    # the feed now shows no more than the book holds: it caught up, its size is taken as is
    venue.ex.apply_market_delta(SYM, [], [(ASK0, 0.45)], T0 + 40)
    assert venue.ex.depth(SYM, 1).asks == ((ASK0, pytest.approx(0.45)),)
    venue.ex.apply_market_delta(SYM, [], [(ASK0, 0.9)], T0 + 50)
    assert venue.ex.depth(SYM, 1).asks == ((ASK0, 0.9),)
    assert _take_ask0(venue, 5_000, T0 + 60, account_b=True) == 900


def test_level_removed_by_the_feed_forgets_the_consumption(venue: Venue) -> None:
    _take_ask0(venue, 5_000, T0 + 10)
    venue.ex.apply_market_delta(SYM, [], [(ASK0, 0.0)], T0 + 20)
    venue.ex.apply_market_delta(SYM, [], [(ASK0, 0.8)], T0 + 30)  # fresh size at that price
    assert venue.ex.depth(SYM, 1).asks == ((ASK0, 0.8),)
    assert _take_ask0(venue, 5_000, T0 + 40, account_b=True) == 800


def test_snapshot_resets_the_consumption(venue: Venue) -> None:
    _take_ask0(venue, 5_000, T0 + 10)
    venue.ex.apply_market_snapshot(SYM, [(BID0, 1.0)], [(ASK0, 1.0), (ASK0 + 1, 1.0)], T0 + 20)
    assert venue.ex.depth(SYM, 1).asks == ((ASK0, 1.0),)


def test_consumption_is_per_side_and_price(venue: Venue) -> None:
    _take_ask0(venue, 5_000, T0 + 10)
    venue.ex.apply_market_delta(SYM, [(BID0, 2.0)], [(ASK0 + 1, 2.0)], T0 + 20)
    depth = venue.ex.depth(SYM, 1)
    assert depth.bids == ((BID0, 2.0),) and depth.asks == ((ASK0 + 1, 2.0),)


def test_queue_behind_a_consumed_level_is_clamped_to_what_is_left() -> None:
    venue = make_venue()
    resting, _ = venue.place(Side.SELL, ASK0, 100, account=venue.b)  # behind 1.0 of market
    _take_ask0(venue, 600, T0 + 20)  # takes 0.6 of the market ahead of b's order
    assert venue.ex.queue_ahead(venue.b, SYM, order_id=resting.order_id) == pytest.approx(0.4)
    venue.ex.apply_market_delta(SYM, [], [(ASK0, 0.9)], T0 + 30)  # feed 1.0 -> 0.9: 0.3 shown
    assert venue.ex.queue_ahead(venue.b, SYM, order_id=resting.order_id) == pytest.approx(0.3)
    assert venue.ex.depth(SYM, 1).asks == ((ASK0, pytest.approx(0.4)),)  # 0.3 market + our 0.1
    view, _ = venue.place(Side.BUY, ASK0, 400, tif=TimeInForce.IOC, now_ms=T0 + 40)
    assert view.executed_qty_steps == 400 and view.status is SimOrderStatus.FILLED
    assert venue.order(resting, venue.b).status is SimOrderStatus.FILLED
