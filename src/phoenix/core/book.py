"""Local L2 order book of one symbol, keyed by integer price ticks.

Sequence-id checks (Binance ``U``/``u``/``pu``) are the adapter's job; this book only applies what it is
given. When an update would leave the book crossed, the newest level wins: the stale levels on the
other side that it crosses are removed (depth diffs and bookTicker updates arrive on different streams).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections.abc import Iterable, Sequence

from phoenix.core.types import Side

_BATCH_RATIO = 4  # batch a side when its delta has ≥ 1/4 as many levels as the side has
_BATCH_MIN = 4  # ... and at least this many


class OrderBook:
    """Price levels of both sides; best bid/ask in O(1), level updates in O(log n) + memmove.

    Prices are int ticks, quantities float base units. ``tick`` converts ticks to USDC.
    """

    __slots__ = ("_ask_prices", "_asks", "_bid_prices", "_bids", "tick", "ts_ns")

    def __init__(self, tick: float) -> None:
        self.tick = tick
        self.ts_ns = 0
        self._bids: dict[int, float] = {}
        self._asks: dict[int, float] = {}
        self._bid_prices: list[int] = []  # ascending; best bid is the last element
        self._ask_prices: list[int] = []  # ascending; best ask is the first element

    # ------------------------------------------------------------------ updates

    def clear(self) -> None:
        """Remove every level (e.g. after the adapter lost sync)."""
        self._bids.clear()
        self._asks.clear()
        self._bid_prices.clear()
        self._ask_prices.clear()

    def apply_snapshot(
        self, bids: Iterable[tuple[int, float]], asks: Iterable[tuple[int, float]], ts_ns: int
    ) -> None:
        """Replace the whole book. Levels with qty ≤ 0 are ignored."""
        self._bids = {p: q for p, q in bids if q > 0}
        self._asks = {p: q for p, q in asks if q > 0}
        self._bid_prices = sorted(self._bids)
        self._ask_prices = sorted(self._asks)
        self.ts_ns = ts_ns
        # A crossed snapshot cannot be trusted on either side; drop the overlapping levels of both.
        while self._bid_prices and self._ask_prices and self._bid_prices[-1] >= self._ask_prices[0]:
            del self._bids[self._bid_prices.pop()]
            del self._asks[self._ask_prices.pop(0)]

    def apply_delta(
        self, bids: Iterable[tuple[int, float]], asks: Iterable[tuple[int, float]], ts_ns: int
    ) -> None:
        """Apply changed levels; qty 0 removes a level. The newest level wins a crossing.

        A delta that touches a large part of a small book (a synthetic or re-centred book) is applied in one
        pass with one re-sort per side; otherwise level by level. Both give the same book (property-tested).
        """
        if not isinstance(bids, list | tuple):
            bids = tuple(bids)
        if not isinstance(asks, list | tuple):
            asks = tuple(asks)
        if len(bids) * _BATCH_RATIO >= len(self._bid_prices) and len(bids) >= _BATCH_MIN:
            self._batch_bids(bids)
        else:
            book = self._bids
            set_bid = self._set_bid
            for price, qty in bids:
                if qty > 0.0 and price in book:
                    book[price] = qty  # the common case: a level's size changed
                else:
                    set_bid(price, qty)
        if len(asks) * _BATCH_RATIO >= len(self._ask_prices) and len(asks) >= _BATCH_MIN:
            self._batch_asks(asks)
        else:
            book = self._asks
            set_ask = self._set_ask
            for price, qty in asks:
                if qty > 0.0 and price in book:
                    book[price] = qty
                else:
                    set_ask(price, qty)
        self.ts_ns = ts_ns

    def _batch_bids(self, levels: Sequence[tuple[int, float]]) -> None:
        # same result as _set_bid per level: a new level above the best bid of its moment removes the asks
        # at or below it; the highest such level is the highest new level if that beats the old best bid
        book = self._bids
        prices = self._bid_prices
        top0 = prices[-1] if prices else None
        highest_new: int | None = None
        changed = False
        for price, qty in levels:
            if qty > 0.0:
                if price not in book:
                    changed = True
                    if highest_new is None or price > highest_new:
                        highest_new = price
                book[price] = qty
            elif book.pop(price, None) is not None:
                changed = True
        if changed:
            self._bid_prices = sorted(book)
        if highest_new is not None and (top0 is None or highest_new > top0):
            ap = self._ask_prices
            asks = self._asks
            k = 0
            while k < len(ap) and ap[k] <= highest_new:
                del asks[ap[k]]
                k += 1
            if k:
                del ap[:k]

    def _batch_asks(self, levels: Sequence[tuple[int, float]]) -> None:
        book = self._asks
        prices = self._ask_prices
        top0 = prices[0] if prices else None
        lowest_new: int | None = None
        changed = False
        for price, qty in levels:
            if qty > 0.0:
                if price not in book:
                    changed = True
                    if lowest_new is None or price < lowest_new:
                        lowest_new = price
                book[price] = qty
            elif book.pop(price, None) is not None:
                changed = True
        if changed:
            self._ask_prices = sorted(book)
        if lowest_new is not None and (top0 is None or lowest_new < top0):
            bp = self._bid_prices
            bids = self._bids
            while bp and bp[-1] >= lowest_new:
                del bids[bp.pop()]

    def apply_top(self, bid_ticks: int, bid_qty: float, ask_ticks: int, ask_qty: float, ts_ns: int) -> None:
        """Apply a best bid/ask (bookTicker) update.

        Levels better than the new best on either side are stale and removed; the best levels are set.
        """
        if bid_ticks >= ask_ticks:
            raise ValueError(f"crossed top of book: bid {bid_ticks} >= ask {ask_ticks}")
        bp = self._bid_prices
        while bp and bp[-1] > bid_ticks:
            del self._bids[bp.pop()]
        ap = self._ask_prices
        while ap and ap[0] < ask_ticks:
            del self._asks[ap.pop(0)]
        self._set_bid(bid_ticks, bid_qty)
        self._set_ask(ask_ticks, ask_qty)
        self.ts_ns = ts_ns

    def _set_bid(self, price: int, qty: float) -> None:
        book = self._bids
        prices = self._bid_prices
        if qty <= 0.0:
            if book.pop(price, None) is not None:
                i = bisect_left(prices, price)
                del prices[i]
            return
        if price not in book:
            if not prices or price > prices[-1]:
                prices.append(price)
                # a new best bid crossing resting asks: those asks are stale
                ap = self._ask_prices
                while ap and ap[0] <= price:
                    del self._asks[ap.pop(0)]
            else:
                insort(prices, price)
        book[price] = qty

    def _set_ask(self, price: int, qty: float) -> None:
        book = self._asks
        prices = self._ask_prices
        if qty <= 0.0:
            if book.pop(price, None) is not None:
                i = bisect_left(prices, price)
                del prices[i]
            return
        if price not in book:
            if not prices or price < prices[0]:
                prices.insert(0, price)
                bp = self._bid_prices
                while bp and bp[-1] >= price:
                    del self._bids[bp.pop()]
            else:
                insort(prices, price)
        book[price] = qty

    # ------------------------------------------------------------------ queries

    @property
    def best_bid_ticks(self) -> int | None:
        """Best (highest) bid in ticks, None if the bid side is empty."""
        bp = self._bid_prices
        return bp[-1] if bp else None

    @property
    def best_ask_ticks(self) -> int | None:
        """Best (lowest) ask in ticks, None if the ask side is empty."""
        ap = self._ask_prices
        return ap[0] if ap else None

    def best_bid_qty(self) -> float:
        """Quantity at the best bid (0.0 if empty)."""
        bp = self._bid_prices
        return self._bids[bp[-1]] if bp else 0.0

    def best_ask_qty(self) -> float:
        """Quantity at the best ask (0.0 if empty)."""
        ap = self._ask_prices
        return self._asks[ap[0]] if ap else 0.0

    @property
    def is_two_sided(self) -> bool:
        """True when both sides have at least one level."""
        return bool(self._bid_prices) and bool(self._ask_prices)

    def mid(self) -> float | None:
        """(best bid + best ask) / 2 in USDC, None unless two-sided."""
        bp = self._bid_prices
        ap = self._ask_prices
        if not bp or not ap:
            return None
        return (bp[-1] + ap[0]) * 0.5 * self.tick

    def spread_ticks(self) -> int | None:
        """best ask − best bid in ticks, None unless two-sided."""
        bp = self._bid_prices
        ap = self._ask_prices
        if not bp or not ap:
            return None
        return ap[0] - bp[-1]

    def microprice(self) -> float | None:
        """Size-weighted mid (bid × ask_qty + ask × bid_qty) / (bid_qty + ask_qty) in USDC."""
        bp = self._bid_prices
        ap = self._ask_prices
        if not bp or not ap:
            return None
        b, a = bp[-1], ap[0]
        bq, aq = self._bids[b], self._asks[a]
        return (b * aq + a * bq) / (bq + aq) * self.tick

    def qty_at(self, side: Side, price_ticks: int) -> float:
        """Quantity resting at exactly ``price_ticks`` on ``side`` (0.0 if no level)."""
        book = self._bids if side is Side.BUY else self._asks
        return book.get(price_ticks, 0.0)

    def depth_to_price(self, side: Side, price_ticks: int) -> float:
        """Cumulative quantity (base units) from the best level of ``side`` through ``price_ticks``.

        For bids: levels ≥ ``price_ticks``; for asks: levels ≤ ``price_ticks``.
        """
        if side is Side.BUY:
            prices = self._bid_prices
            i = bisect_left(prices, price_ticks)
            bids = self._bids
            return sum(bids[p] for p in prices[i:])
        prices = self._ask_prices
        i = bisect_right(prices, price_ticks)
        asks = self._asks
        return sum(asks[p] for p in prices[:i])

    def levels(self, side: Side, n: int | None = None) -> list[tuple[int, float]]:
        """Up to ``n`` levels of ``side`` from the best outwards as (price_ticks, qty)."""
        if side is Side.BUY:
            prices = self._bid_prices[::-1] if n is None else self._bid_prices[: -n - 1 : -1]
            return [(p, self._bids[p]) for p in prices]
        prices = self._ask_prices if n is None else self._ask_prices[:n]
        return [(p, self._asks[p]) for p in prices]

    def __len__(self) -> int:
        return len(self._bid_prices) + len(self._ask_prices)
