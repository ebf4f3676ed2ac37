"""Quote finishing: the ONE function that turns desired layers into exchange-valid quotes.

Every strategy calls ``finish_quotes`` on its model prices; risk calls ``refinish`` (same rules, no size
bump) after trimming. Rules, applied in this order to each side:

1. Grid: bid prices round **down** and ask prices round **up** to the tick (only ever more passive); sizes
   round **down** to the step (never larger than asked).
2. Post-only safety against the live book: bid ≤ best bid and ask ≥ best ask (joining the touch is
   allowed, so a bid is always < best ask and an ask > best bid). With one side of the book missing,
   bid < best ask and ask > best bid still hold. A bid must be ≥ 1 tick.
3. PERCENT_PRICE band (when a mark price is given): bid ≤ mark × percent_up, ask ≥ mark × percent_down.
4. Strictly monotone ladder, no duplicate prices: layers are ordered from the touch outwards (clamped
   price, then layer index, so the lower layer keeps a contested tick); a layer that would sit at or
   inside the previous one moves outward to one tick beyond it. Colliding layers are moved, not merged,
   so no size piles up at the touch and the ladder keeps its depth; sizes never change in this step.
5. Minimums (after the final price is known): a layer below min qty or min notional at its price is
   bumped up to the minimum when ``bump_to_min`` is True, else dropped. Risk always uses
   ``bump_to_min=False`` so finishing never exceeds what risk allowed. Sizes above max qty are capped.

Bids come out in descending, asks in ascending price order; layer indices are kept.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from phoenix.core.types import Quote, QuoteSet, Side, SymbolFilters

Draft = tuple[float, float, int]
"""A desired layer before finishing: (price USDC, size base units, layer index)."""

_EPS = 1e-9


def finish_quotes(
    symbol: str,
    ts_ns: int,
    bids: Sequence[Draft],
    asks: Sequence[Draft],
    filters: SymbolFilters,
    *,
    best_bid_ticks: int | None,
    best_ask_ticks: int | None,
    mark_price: float | None = None,
    bump_to_min: bool = False,
    reservation_price: float = 0.0,
    half_spread_bps: float = 0.0,
    pinning_side: Side | None = None,
) -> QuoteSet:
    """Finish model layers into a valid ``QuoteSet`` (see the module docstring for the rules).

    Args:
        symbol: Symbol of the quotes.
        ts_ns: Time of the quote set (the triggering event's time).
        bids: Desired bid layers as (price USDC, size base units, layer).
        asks: Desired ask layers as (price USDC, size base units, layer).
        filters: The symbol's exchange filters.
        best_bid_ticks: Best bid of the freshest live book, None if unknown.
        best_ask_ticks: Best ask of the freshest live book, None if unknown.
        mark_price: Mark price (USDC) for the PERCENT_PRICE band; None skips the band.
        bump_to_min: Raise layers below the exchange minimum to it (True) or drop them (False).
        reservation_price: Informational, copied to the result.
        half_spread_bps: Informational, copied to the result.
        pinning_side: Informational, copied to the result.
    """
    c = _constants(filters)
    bid_cap, ask_floor = _limits(best_bid_ticks, best_ask_ticks, mark_price, c)
    inv_tick, inv_step = c[6], c[7]
    floor = math.floor
    ceil = math.ceil
    # (−clamped tick, layer, steps) for bids and (clamped tick, layer, steps) for asks; zero sizes vanish
    keyed_bids = [
        (-(t if t < bid_cap else bid_cap), layer, steps)
        for p, q, layer in bids
        for steps in (floor(q * inv_step + _EPS),)
        if steps > 0
        for t in (floor(p * inv_tick + _EPS),)
    ]
    keyed_asks = [
        (t if t > ask_floor else ask_floor, layer, steps)
        for p, q, layer in asks
        for steps in (floor(q * inv_step + _EPS),)
        if steps > 0
        for t in (ceil(p * inv_tick - _EPS),)
    ]
    return QuoteSet(
        symbol=symbol,
        ts_ns=ts_ns,
        bids=_emit_bids(keyed_bids, c, bump_to_min),
        asks=_emit_asks(keyed_asks, c, bump_to_min),
        reservation_price=reservation_price,
        half_spread_bps=half_spread_bps,
        pinning_side=pinning_side,
    )


def refinish(
    quotes: QuoteSet,
    filters: SymbolFilters,
    *,
    best_bid_ticks: int | None,
    best_ask_ticks: int | None,
    mark_price: float | None = None,
    bump_to_min: bool = False,
) -> QuoteSet:
    """Re-apply the finishing rules to an already-gridded (e.g. risk-trimmed) quote set.

    Same rules as ``finish_quotes``; prices and sizes are already integers so step 1 is exact. Risk must
    keep ``bump_to_min=False``: a trimmed layer that fell below the minimum is dropped, never enlarged.
    """
    c = _constants(filters)
    bid_cap, ask_floor = _limits(best_bid_ticks, best_ask_ticks, mark_price, c)
    keyed_bids = [
        (-(q.price_ticks if q.price_ticks < bid_cap else bid_cap), q.layer, q.qty_steps)
        for q in quotes.bids
        if q.qty_steps > 0
    ]
    keyed_asks = [
        (q.price_ticks if q.price_ticks > ask_floor else ask_floor, q.layer, q.qty_steps)
        for q in quotes.asks
        if q.qty_steps > 0
    ]
    return QuoteSet(
        symbol=quotes.symbol,
        ts_ns=quotes.ts_ns,
        bids=_emit_bids(keyed_bids, c, bump_to_min),
        asks=_emit_asks(keyed_asks, c, bump_to_min),
        reservation_price=quotes.reservation_price,
        half_spread_bps=quotes.half_spread_bps,
        pinning_side=quotes.pinning_side,
    )


def quote_bounds(
    filters: SymbolFilters, best_bid_ticks: int | None, best_ask_ticks: int | None, mark_price: float | None
) -> tuple[int, int]:
    """(highest allowed bid, lowest allowed ask) in ticks after post-only safety and the PERCENT_PRICE band.

    The only way the live book and the mark price enter finishing: two calls with equal bounds (and equal
    drafts) finish identically. ±2**62 stands for "unbounded".
    """
    return _limits(best_bid_ticks, best_ask_ticks, mark_price, _constants(filters))


# --------------------------------------------------------------------------- internals (hot path)

_BIG = 1 << 62
# per-filters constants: (filters, min-notional steps numerator, min qty steps, max steps, percent up,
# percent down, 1/tick, 1/step, tick)
_Constants = tuple[SymbolFilters, float, int, int, float, float, float, float, float]
_CONSTANTS: dict[int, _Constants] = {}


def _constants(filters: SymbolFilters) -> _Constants:
    entry = _CONSTANTS.get(id(filters))
    if entry is None or entry[0] is not filters:
        if len(_CONSTANTS) > 4096:
            _CONSTANTS.clear()
        entry = (
            filters,
            filters.min_notional_usdc / (filters.tick * filters.step),  # min steps at p = ceil(this / p)
            filters.min_qty_steps,
            filters.qty_to_steps(float(filters.max_qty)),
            float(filters.percent_up),
            float(filters.percent_down),
            1.0 / filters.tick,
            1.0 / filters.step,
            filters.tick,
        )
        _CONSTANTS[id(filters)] = entry
    return entry


def _limits(
    best_bid: int | None, best_ask: int | None, mark_price: float | None, c: _Constants
) -> tuple[int, int]:
    # highest allowed bid / lowest allowed ask (±_BIG when unbounded)
    bid_cap = _BIG if best_bid is None else best_bid
    if best_ask is not None and bid_cap >= best_ask:
        bid_cap = best_ask - 1
    ask_floor = -_BIG if best_ask is None else best_ask
    if best_bid is not None and ask_floor <= best_bid:
        ask_floor = best_bid + 1
    if mark_price is not None and mark_price > 0.0:
        _, _, _, _, percent_up, percent_down, inv_tick, _, _ = c
        band_hi = math.floor(mark_price * percent_up * inv_tick + _EPS)
        band_lo = math.ceil(mark_price * percent_down * inv_tick - _EPS)
        if band_hi < bid_cap:
            bid_cap = band_hi
        if band_lo > ask_floor:
            ask_floor = band_lo
    return bid_cap, ask_floor


_NEW = object.__new__
_FAST_QUOTE = tuple(Quote.__dataclass_fields__) == ("side", "price_ticks", "qty_steps", "layer")
_SET_SIDE = vars(Quote)["side"].__set__
_SET_PRICE = vars(Quote)["price_ticks"].__set__
_SET_QTY = vars(Quote)["qty_steps"].__set__
_SET_LAYER = vars(Quote)["layer"].__set__


def _make_quote(side: Side, price_ticks: int, qty_steps: int, layer: int) -> Quote:
    # the slow path, used only if Quote ever gains fields the fast path does not fill
    return Quote(side=side, price_ticks=price_ticks, qty_steps=qty_steps, layer=layer)


def _emit_bids(keyed: list[tuple[int, int, int]], c: _Constants, bump: bool) -> tuple[Quote, ...]:
    # keyed: (−clamped price, layer, steps); sorting orders from the touch outwards, ties by layer
    keyed.sort()
    _, need_k, min_qty_steps, max_steps, _, _, _, _, _ = c
    buy = Side.BUY
    fast, make, new, quote_cls = _FAST_QUOTE, _make_quote, _NEW, Quote
    set_side, set_price, set_qty, set_layer = _SET_SIDE, _SET_PRICE, _SET_QTY, _SET_LAYER
    out: list[Quote] = []
    prev = _BIG
    for neg_price, layer, steps in keyed:
        price = -neg_price
        if price >= prev:
            price = prev - 1
        if price < 1:
            break  # every later bid would be lower still
        if steps < min_qty_steps or steps * price < need_k * (1.0 + 1e-12) or steps > max_steps:
            # rare path: below a minimum or above max qty (the common case skips the call)
            sized = _fit_size(steps, price, need_k, min_qty_steps, max_steps, bump)
            if sized is None:
                continue
            steps = sized
        if fast:
            q = new(quote_cls)  # fill the slots directly, ~2x faster than the frozen __init__
            set_side(q, buy)
            set_price(q, price)
            set_qty(q, steps)
            set_layer(q, layer)
        else:  # pragma: no cover
            q = make(buy, price, steps, layer)
        out.append(q)
        prev = price
    return tuple(out)


def _fit_size(
    steps: int, price: int, need_k: float, min_qty_steps: int, max_steps: int, bump: bool
) -> int | None:
    # Size of a layer that breaks min qty / min notional / max qty: bumped up to the minimum (only when
    # ``bump``), capped at max qty; None drops the layer.
    need = math.ceil(need_k / price - _EPS)
    if need < min_qty_steps:
        need = min_qty_steps
    if steps < need:
        if not bump:
            return None
        steps = need
    if steps > max_steps:
        if max_steps < need:
            return None
        steps = max_steps
    return steps


def _emit_asks(keyed: list[tuple[int, int, int]], c: _Constants, bump: bool) -> tuple[Quote, ...]:
    # keyed: (clamped price, layer, steps)
    keyed.sort()
    _, need_k, min_qty_steps, max_steps, _, _, _, _, _ = c
    sell = Side.SELL
    fast, make, new, quote_cls = _FAST_QUOTE, _make_quote, _NEW, Quote
    set_side, set_price, set_qty, set_layer = _SET_SIDE, _SET_PRICE, _SET_QTY, _SET_LAYER
    out: list[Quote] = []
    prev = -_BIG
    for price, layer, steps in keyed:
        if price <= prev:
            price = prev + 1
        if steps < min_qty_steps or steps * price < need_k * (1.0 + 1e-12) or steps > max_steps:
            # rare path: below a minimum or above max qty (the common case skips the call)
            sized = _fit_size(steps, price, need_k, min_qty_steps, max_steps, bump)
            if sized is None:
                continue
            steps = sized
        if fast:
            q = new(quote_cls)  # fill the slots directly, ~2x faster than the frozen __init__
            set_side(q, sell)
            set_price(q, price)
            set_qty(q, steps)
            set_layer(q, layer)
        else:  # pragma: no cover
            q = make(sell, price, steps, layer)
        out.append(q)
        prev = price
    return tuple(out)
