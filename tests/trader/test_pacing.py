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
