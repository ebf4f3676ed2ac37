"""Diff on the price lattice: identical sets are empty, sub-band moves cost nothing, slides move one end."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from phoenix.core.types import OrderStatus, Quote, Side
from phoenix.execution.diff import _MATCHABLE, diff_quotes, keeps_all
from phoenix.execution.orders import LiveOrder
from phoenix.execution.planner import band_ticks

T = 1_763_974_800_000_000_000


def ladder(side: Side, start: int, n: int, spacing: int, sizes: list[int]) -> tuple[Quote, ...]:
    sign = -1 if side is Side.BUY else 1
    return tuple(
        Quote(side=side, price_ticks=start + sign * i * spacing, qty_steps=sizes[i % len(sizes)], layer=i)
        for i in range(n)
    )


def live_from(quotes: tuple[Quote, ...], status: OrderStatus = OrderStatus.NEW) -> list[LiveOrder]:
    return [
        LiveOrder(
            client_order_id=f"c{q.side.value}{i}",
            symbol="ETHUSDC",
            side=q.side,
            price_ticks=q.price_ticks,
            qty_steps=q.qty_steps,
            layer=q.layer,
            status=status,
            created_ns=T,
            updated_ns=T,
        )
        for i, q in enumerate(quotes)
    ]


ladders = st.builds(
    lambda mid, n, spacing, sizes: (mid, n, spacing, sizes),
    st.integers(min_value=10_000, max_value=10_000_000),
    st.integers(min_value=1, max_value=24),
    st.integers(min_value=1, max_value=500),
    st.lists(st.integers(min_value=1, max_value=1000), min_size=1, max_size=8),
)


@settings(max_examples=200, deadline=None)
@given(
    ladders,
    st.sampled_from(
        [
            OrderStatus.NEW,
            OrderStatus.PARTIALLY_FILLED,
            OrderStatus.PENDING_NEW,
            OrderStatus.UNKNOWN,
            OrderStatus.PENDING_MODIFY,
        ]
    ),
)
def test_identical_desired_and_live_diff_is_empty(
    lad: tuple[int, int, int, list[int]], status: OrderStatus
) -> None:
    mid, n, spacing, sizes = lad
    bids = ladder(Side.BUY, mid - 1, n, spacing, sizes)
    asks = ladder(Side.SELL, mid + 1, n, spacing, sizes)
    live = live_from(bids, status) + live_from(asks, status)
    zero = [0] * n
    plan = diff_quotes(bids, asks, live, zero, zero, qty_tolerance=0.0)
    assert plan.empty


@settings(max_examples=300, deadline=None)
@given(
    ladders, st.integers(min_value=1, max_value=50), st.floats(min_value=0.0, max_value=0.999), st.booleans()
)
def test_mid_move_smaller_than_the_band_needs_zero_actions(
    lad: tuple[int, int, int, list[int]], band: int, frac: float, up: bool
) -> None:
    mid, n, spacing, sizes = lad
    bids = ladder(Side.BUY, mid - 1, n, spacing, sizes)
    asks = ladder(Side.SELL, mid + 1, n, spacing, sizes)
    live = live_from(bids) + live_from(asks)
    move = int(band * frac) * (1 if up else -1)  # strictly inside the band
    new_bids = tuple(
        Quote(side=q.side, price_ticks=q.price_ticks + move, qty_steps=q.qty_steps, layer=q.layer)
        for q in bids
    )
    new_asks = tuple(
        Quote(side=q.side, price_ticks=q.price_ticks + move, qty_steps=q.qty_steps, layer=q.layer)
        for q in asks
    )
    bands_b = band_ticks(new_bids, mid + move, band, 0.0, 1.0, 0.0)
    bands_a = band_ticks(new_asks, mid + move, band, 0.0, 1.0, 0.0)
    plan = diff_quotes(new_bids, new_asks, live, bands_b, bands_a)
    assert plan.action_count == 0


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=2, max_value=24), st.integers(min_value=4, max_value=200), st.integers(-3, 3))
def test_ladder_sliding_whole_spacings_moves_only_end_layers(n: int, spacing: int, shift: int) -> None:
    bids = ladder(Side.BUY, 300_000, n, spacing, [80])
    live = live_from(bids)
    moved = tuple(
        Quote(side=q.side, price_ticks=q.price_ticks + shift * spacing, qty_steps=q.qty_steps, layer=q.layer)
        for q in bids
    )
    bands = band_ticks(moved, 300_001 + shift * spacing, 1, 0.0, 1.0, 0.75)
    plan = diff_quotes(moved, (), live, bands, [])
    assert plan.action_count == min(abs(shift), n)
    assert not plan.cancel and not plan.place  # leftovers are amended, not cancelled + placed


def test_price_match_with_wrong_size_is_amended_in_place() -> None:
    bids = ladder(Side.BUY, 280_000, 3, 50, [10])
    live = live_from(bids)
    bigger = (bids[0], Quote(side=Side.BUY, price_ticks=279_950, qty_steps=30, layer=1), bids[2])
    plan = diff_quotes(bigger, (), live, [5, 5, 5], [], qty_tolerance=0.4)
    assert [(o.client_order_id, q.qty_steps) for o, q in plan.modify] == [("cBUY1", 30)]
    assert len(plan.keep) == 2


def test_orders_being_cancelled_never_satisfy_a_quote_and_extra_orders_are_cancelled() -> None:
    bids = ladder(Side.BUY, 280_000, 2, 50, [10])
    live = live_from(bids)
    live[0].status = OrderStatus.PENDING_CANCEL
    extra = live_from(ladder(Side.BUY, 270_000, 1, 50, [10]))
    extra[0].client_order_id = "extra"
    plan = diff_quotes(bids, (), [*live, *extra], [0, 0], [], use_modify=False)
    assert [q.layer for q in plan.place] == [0]
    assert [o.client_order_id for o in plan.cancel] == ["extra"]


def test_missing_touch_layer_is_refilled_at_the_touch_not_by_sliding_the_ladder() -> None:
    bids = ladder(Side.BUY, 280_000, 8, 56, [10, 11, 13, 15, 17, 20, 23, 26])
    live = live_from(bids)[1:]  # layer 0 was filled / rejected
    outer = band_ticks(bids, 280_100, 1, 0.0, 1.0, 2.25)
    inner = band_ticks(bids, 280_100, 1, 0.0, 1.0, 0.75)
    plan = diff_quotes(bids, (), live, outer, [], bid_inner_ticks=inner, qty_tolerance=0.4)
    assert [q.layer for q in plan.place] == [0]
    assert not plan.modify and not plan.cancel


_statuses = st.sampled_from(
    [
        OrderStatus.NEW,
        OrderStatus.PARTIALLY_FILLED,
        OrderStatus.PENDING_NEW,
        OrderStatus.PENDING_MODIFY,
        OrderStatus.UNKNOWN,
        OrderStatus.PENDING_CANCEL,
    ]
)


@settings(max_examples=600, deadline=None)
@given(
    st.integers(min_value=0, max_value=5),
    st.integers(min_value=0, max_value=5),
    st.integers(min_value=1, max_value=40),
    st.lists(st.integers(min_value=-25, max_value=25), min_size=14, max_size=14),
    st.lists(st.sampled_from([10, 10, 10, 10, 10, 9, 12, 1, 7, 13, 30]), min_size=14, max_size=14),
    st.lists(_statuses, min_size=14, max_size=14),
    st.integers(min_value=-2, max_value=2),
    st.floats(min_value=0.0, max_value=40.0),
    st.floats(min_value=0.0, max_value=40.0),
    st.sampled_from([0.0, 0.2, 0.4]),
    st.booleans(),
)
def test_keeps_all_agrees_with_the_full_diff(
    n_bids: int,
    n_asks: int,
    spacing: int,
    offsets: list[int],
    sizes: list[int],
    statuses: list[OrderStatus],
    extra: int,
    outer: float,
    inner: float,
    qty_tolerance: float,
    cancel_one: bool,
) -> None:
    # the fast path returns the keep pairs exactly when the full diff sends nothing, else None
    bids = ladder(Side.BUY, 100_000, n_bids, spacing, [10])
    asks = ladder(Side.SELL, 100_001, n_asks, spacing, [10])
    n_live_bids = max(0, n_bids + (extra if extra < 0 else 0))
    n_live_asks = max(0, n_asks + (extra if extra > 0 else 0))
    live_q = [
        Quote(side=q.side, price_ticks=q.price_ticks + offsets[i], qty_steps=sizes[i], layer=q.layer)
        for i, q in enumerate(ladder(Side.BUY, 100_000, n_live_bids, spacing, [10]))
    ] + [
        Quote(side=q.side, price_ticks=q.price_ticks + offsets[7 + i], qty_steps=sizes[7 + i], layer=q.layer)
        for i, q in enumerate(ladder(Side.SELL, 100_001, n_live_asks, spacing, [10]))
    ]
    live = live_from(tuple(live_q))
    for i, o in enumerate(live):
        o.status = statuses[i % len(statuses)]
    if cancel_one and live:
        live[-1].cancel_requested = True
    bid_out, ask_out = [outer] * n_bids, [outer] * n_asks
    bid_in, ask_in = [inner] * n_bids, [inner] * n_asks
    full = diff_quotes(
        bids,
        asks,
        live,
        bid_out,
        ask_out,
        bid_inner_ticks=bid_in,
        ask_inner_ticks=ask_in,
        qty_tolerance=qty_tolerance,
    )
    fast = keeps_all(bids, asks, live, bid_out, ask_out, bid_in, ask_in, qty_tolerance)
    if full.empty:
        assert fast is not None or any(o.status not in _MATCHABLE or o.cancel_requested for o in live), (
            "the fast path may only decline when the full diff has to look at non-matchable orders"
        )
        if fast is not None:
            assert [(q, id(o)) for q, o in fast] == [(q, id(o)) for q, o in full.keep]
    else:
        assert fast is None
