"""Quote-churn replay: drive a ``Trader`` with a mid-price series, acknowledging every request at once.

No fills are simulated (the backtester does that); this measures what strategy + risk + execution send
for a price path alone: places, cancels and amendments per minute. Each mid becomes a one-tick-wide
top of book (the ETHUSDC spread is one tick ~99 % of the time), and a timer fires every
``timer_ms`` between observations. Every place/amend is acknowledged (NEW), every cancel confirmed
(CANCELED), immediately, at the same timestamp.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from phoenix.core.types import (
    Action,
    CancelAll,
    CancelOrder,
    Event,
    MarketDataStatus,
    ModifyOrder,
    OrderStatus,
    OrderUpdated,
    PlaceOrder,
    TimerFired,
    TopOfBook,
)
from phoenix.trader.reports import QuotesComputed
from phoenix.trader.trader import Trader

_NS = 1_000_000_000
_MIN_NS = 60 * _NS


@dataclass(slots=True)
class ReplayStats:
    """Counts per minute bucket (epoch minute → count) and totals."""

    places: dict[int, int] = field(default_factory=dict)
    cancels: dict[int, int] = field(default_factory=dict)
    modifies: dict[int, int] = field(default_factory=dict)
    minutes: set[int] = field(default_factory=set)
    max_bid_layers: int = 0
    max_ask_layers: int = 0
    requotes: int = 0

    def requotes_per_min(self) -> dict[int, int]:
        """Cancels + amendments per minute (both take an order off its queue place)."""
        return {m: self.cancels.get(m, 0) + self.modifies.get(m, 0) for m in sorted(self.minutes)}

    def max_requotes_per_min(self) -> int:
        """The busiest minute's cancels + amendments."""
        per = self.requotes_per_min()
        return max(per.values()) if per else 0

    def max_cancels_per_min(self) -> int:
        """The busiest minute's cancels alone."""
        return max(self.cancels.values()) if self.cancels else 0


def _bump(counter: dict[int, int], minute: int, n: int = 1) -> None:
    counter[minute] = counter.get(minute, 0) + n


def acknowledge(trader: Trader, actions: Iterable[Action], ts_ns: int) -> list[Event]:
    """The instant exchange's answers to ``actions`` (before the trader sees them)."""
    out: list[Event] = []
    for a in actions:
        if isinstance(a, PlaceOrder | ModifyOrder):
            out.append(
                OrderUpdated(
                    symbol=a.symbol,
                    ts_ns=ts_ns,
                    client_order_id=a.client_order_id,
                    status=OrderStatus.NEW,
                    side=a.side,
                    price_ticks=a.price_ticks,
                    qty_steps=a.qty_steps,
                )
            )
        elif isinstance(a, CancelOrder):
            o = trader.orders.get(a.client_order_id, a.symbol)
            if o is not None:
                out.append(
                    OrderUpdated(
                        symbol=a.symbol,
                        ts_ns=ts_ns,
                        client_order_id=a.client_order_id,
                        status=OrderStatus.CANCELED,
                        side=o.side,
                        price_ticks=o.price_ticks,
                        qty_steps=o.qty_steps,
                    )
                )
        elif isinstance(a, CancelAll):
            for o in trader.orders.open_orders(a.symbol):
                out.append(
                    OrderUpdated(
                        symbol=a.symbol,
                        ts_ns=ts_ns,
                        client_order_id=o.client_order_id,
                        status=OrderStatus.CANCELED,
                        side=o.side,
                        price_ticks=o.price_ticks,
                        qty_steps=o.qty_steps,
                    )
                )
    return out


def parse_rfc3339_ns(text: str) -> int:
    """``2025-11-24T03:29:42.921886164Z`` (3 to 9 fractional digits, UTC) → epoch ns."""
    base, _, frac = text.rstrip("Z").partition(".")
    seconds = int(datetime.fromisoformat(base).replace(tzinfo=UTC).timestamp())
    frac_ns = int((frac + "000000000")[:9]) if frac else 0
    return seconds * _NS + frac_ns


def parse_mid_rows(lines: Iterable[str]) -> list[tuple[int, float]]:
    """Rows of a ``ts,mid,...`` CSV (header skipped) as ``(ts_ns, mid)``."""
    rows: list[tuple[int, float]] = []
    for line in lines:
        if not line or line.startswith("ts,"):
            continue
        ts, mid, *_ = line.split(",")
        rows.append((parse_rfc3339_ns(ts), float(mid)))
    return rows


def replay_mids(
    trader: Trader,
    symbol: str,
    rows: Iterable[tuple[int, float]],
    *,
    timer_ms: int = 100,
    gap_s: float = 5.0,
) -> ReplayStats:
    """Replay ``(ts_ns, mid)`` rows (time-ordered) through ``trader``; returns churn statistics.

    A gap longer than ``gap_s`` between rows is missing data, not a quiet market: no timers fire inside
    it, so the trader sees the price jump when the data resumes (and requotes for it).
    """
    stats = ReplayStats()
    tick = trader.store.symbols[symbol].filters.tick
    timer_ns = timer_ms * 1_000_000
    started = False
    next_timer = 0

    def feed(event: Event) -> None:
        queue = [event]
        while queue:
            ev = queue.pop(0)
            d = trader.on_event(ev)
            minute = ev.ts_ns // _MIN_NS
            for a in d.actions:
                if isinstance(a, PlaceOrder):
                    _bump(stats.places, minute)
                elif isinstance(a, CancelOrder):
                    _bump(stats.cancels, minute)
                elif isinstance(a, ModifyOrder):
                    _bump(stats.modifies, minute)
                elif isinstance(a, CancelAll):
                    _bump(stats.cancels, minute, trader.orders.open_count(a.symbol))
            for r in d.reports:
                if isinstance(r, QuotesComputed):
                    stats.requotes += 1
                    stats.max_bid_layers = max(stats.max_bid_layers, r.bid_layers)
                    stats.max_ask_layers = max(stats.max_ask_layers, r.ask_layers)
            queue.extend(acknowledge(trader, d.actions, ev.ts_ns))

    gap_ns = int(gap_s * _NS)
    prev_ts = 0
    bid = 0
    for ts_ns, mid in rows:
        if not started:
            feed(MarketDataStatus(symbol=symbol, ts_ns=ts_ns, in_sync=True))
            started = True
            next_timer = ts_ns + timer_ns
        elif ts_ns - prev_ts > gap_ns:
            next_timer = ts_ns + timer_ns
        prev_ts = ts_ns
        while next_timer < ts_ns:
            # the depth stream keeps the book fresh between the series' (coarser) mid samples
            feed(
                TopOfBook(
                    symbol=symbol,
                    ts_ns=next_timer,
                    bid_ticks=bid,
                    bid_qty=10.0,
                    ask_ticks=bid + 1,
                    ask_qty=10.0,
                )
            )
            feed(TimerFired(ts_ns=next_timer))
            next_timer += timer_ns
        bid = math.floor(mid / tick - 0.5 + 1e-6)
        stats.minutes.add(ts_ns // _MIN_NS)
        feed(
            TopOfBook(
                symbol=symbol, ts_ns=ts_ns, bid_ticks=bid, bid_qty=10.0, ask_ticks=bid + 1, ask_qty=10.0
            )
        )
    return stats
