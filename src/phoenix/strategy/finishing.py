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
    inv_tick = 1.0 / filters.tick
    inv_step = 1.0 / filters.step
    floor = math.floor
    ceil = math.ceil
    bid_items = [(floor(p * inv_tick + _EPS), floor(q * inv_step + _EPS), layer) for p, q, layer in bids]
    ask_items = [(ceil(p * inv_tick - _EPS), floor(q * inv_step + _EPS), layer) for p, q, layer in asks]
    return _finish(
        symbol,
        ts_ns,
        bid_items,
        ask_items,
        filters,
        best_bid_ticks,
        best_ask_ticks,
        mark_price,
        bump_to_min,
        reservation_price,
        half_spread_bps,
        pinning_side,
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
    bid_items = [(q.price_ticks, q.qty_steps, q.layer) for q in quotes.bids]
    ask_items = [(q.price_ticks, q.qty_steps, q.layer) for q in quotes.asks]
    return _finish(
        quotes.symbol,
        quotes.ts_ns,
        bid_items,
        ask_items,
        filters,
        best_bid_ticks,
        best_ask_ticks,
        mark_price,
        bump_to_min,
        quotes.reservation_price,
        quotes.half_spread_bps,
        quotes.pinning_side,
    )


def _finish(
    symbol: str,
    ts_ns: int,
    bid_items: list[tuple[int, int, int]],
    ask_items: list[tuple[int, int, int]],
    filters: SymbolFilters,
    best_bid: int | None,
    best_ask: int | None,
    mark_price: float | None,
    bump: bool,
    reservation_price: float,
    half_spread_bps: float,
    pinning_side: Side | None,
) -> QuoteSet:
    # highest allowed bid / lowest allowed ask
    bid_cap: int | None = best_bid
    if best_ask is not None and (bid_cap is None or bid_cap >= best_ask):
        bid_cap = best_ask - 1
    ask_floor: int | None = best_ask
    if best_bid is not None and (ask_floor is None or ask_floor <= best_bid):
        ask_floor = best_bid + 1
    if mark_price is not None and mark_price > 0.0:
        band_hi = math.floor(mark_price * float(filters.percent_up) / filters.tick + _EPS)
        band_lo = math.ceil(mark_price * float(filters.percent_down) / filters.tick - _EPS)
        bid_cap = band_hi if bid_cap is None else min(bid_cap, band_hi)
        ask_floor = band_lo if ask_floor is None else max(ask_floor, band_lo)
    bids = _side(Side.BUY, bid_items, bid_cap, filters, bump)
    asks = _side(Side.SELL, ask_items, ask_floor, filters, bump)
    return QuoteSet(
        symbol=symbol,
        ts_ns=ts_ns,
        bids=bids,
        asks=asks,
        reservation_price=reservation_price,
        half_spread_bps=half_spread_bps,
        pinning_side=pinning_side,
    )


_BIG = 1 << 62
_NEW = object.__new__
if tuple(Quote.__dataclass_fields__) == ("side", "price_ticks", "qty_steps", "layer"):
    # hot path: fill the four slots directly (~2× faster than the frozen dataclass __init__)
    _SET_SIDE = vars(Quote)["side"].__set__
    _SET_PRICE = vars(Quote)["price_ticks"].__set__
    _SET_QTY = vars(Quote)["qty_steps"].__set__
    _SET_LAYER = vars(Quote)["layer"].__set__

    def _quote(side: Side, price_ticks: int, qty_steps: int, layer: int) -> Quote:
        q: Quote = _NEW(Quote)
        _SET_SIDE(q, side)
        _SET_PRICE(q, price_ticks)
        _SET_QTY(q, qty_steps)
        _SET_LAYER(q, layer)
        return q

else:  # pragma: no cover - Quote gained fields: use its constructor

    def _quote(side: Side, price_ticks: int, qty_steps: int, layer: int) -> Quote:
        return Quote(side=side, price_ticks=price_ticks, qty_steps=qty_steps, layer=layer)


def _side(
    side: Side, items: list[tuple[int, int, int]], limit: int | None, filters: SymbolFilters, bump: bool
) -> tuple[Quote, ...]:
    if not items:
        return ()
    tick_step = filters.tick * filters.step
    need_k = filters.min_notional_usdc / tick_step  # min steps at price p: ceil(need_k / p)
    min_qty_steps = filters.min_qty_steps
    max_steps = filters.qty_to_steps(float(filters.max_qty))
    ceil = math.ceil
    quote = _quote
    out: list[Quote] = []
    # clamp first, then order from the touch outwards (ties: lower layer index nearer the touch)
    if side is Side.BUY:
        cap = _BIG if limit is None else limit
        keyed = [(-(p if p < cap else cap), layer, s) for p, s, layer in items if s > 0]
        keyed.sort()
        prev = _BIG
        for neg_price, layer, steps in keyed:
            price = -neg_price
            if price >= prev:
                price = prev - 1
            if price < 1:
                break  # every later bid would be lower still
            need = ceil(need_k / price - _EPS)
            if need < min_qty_steps:
                need = min_qty_steps
            if steps < need:
                if not bump:
                    continue
                steps = need
            if steps > max_steps:
                if max_steps < need:
                    continue
                steps = max_steps
            out.append(quote(side, price, steps, layer))
            prev = price
    else:
        floor_ = -_BIG if limit is None else limit
        keyed = [(p if p > floor_ else floor_, layer, s) for p, s, layer in items if s > 0]
        keyed.sort()
        prev = -_BIG
        for price, layer, steps in keyed:
            if price <= prev:
                price = prev + 1
            need = ceil(need_k / price - _EPS)
            if need < min_qty_steps:
                need = min_qty_steps
            if steps < need:
                if not bump:
                    continue
                steps = need
            if steps > max_steps:
                if max_steps < need:
                    continue
                steps = max_steps
            out.append(quote(side, price, steps, layer))
            prev = price
    return tuple(out)
