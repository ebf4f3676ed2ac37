"""Closing a position for sure: cancel-all → fetch position → reduce-only MARKET chunks → verify, repeated.

Shared by the runner's ``Flatten`` action (stop-loss) and the emergency ``phoenix flatten`` command. One
attempt cancels the symbol's orders (nothing may re-open risk meanwhile), fetches the exchange position
and closes it with reduce-only MARKET orders of at most the symbol's MARKET_LOT_SIZE ``maxQty``; an order
without a clear answer is queried by client id. The next attempt fetches the position again: the loop
ends when the exchange reports the symbol flat, or after ``attempts`` (with backoff) and then says so.
Reduce-only makes a repeat safe: it can never open or flip a position.

Client ids of these orders come from :class:`RunnerIdGenerator`: ``phxr-{tag}-{symbol}-{ts36}-{seq36}``
(≤ 36 chars), a namespace apart from the Trader's ``phoenix-{symbol}-{ts36}-{seq36}`` quotes, so the two
generators can never produce the same id; ``tag`` tells who sent it (``flat`` = runner, ``ops`` = CLI).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from phoenix.core.types import (
    OrderStatus,
    OrderType,
    OrderUpdated,
    PlaceOrder,
    Side,
    SymbolFilters,
    TimeInForce,
)
from phoenix.errors import ExchangeError, UnknownOrderError
from phoenix.exchange.binance import codec, wire
from phoenix.exchange.binance.rest import BinanceRestClient
from phoenix.execution.ids import MAX_LEN, to_base36
from phoenix.log import get_logger
from phoenix.runner.account_rest import fetch_positions

log = get_logger(__name__)

RUNNER_ID_PREFIX = "phxr"
FLATTEN_ATTEMPTS = 6


class RunnerIdGenerator:
    """Client ids for orders the runner or the ops CLI send on their own (not the Trader's quotes).

    ``phxr-{tag}-{symbol}-{ts36}-{seq36}``: ``ts`` (epoch ms, seeded from the process start) and ``seq``
    strictly increase, so ids are unique within a process and across restarts; the symbol is shortened
    to keep the id within Binance's 36 characters.
    """

    __slots__ = ("_last_ms", "_seq", "tag")

    def __init__(self, tag: str, seed_ms: int | None = None) -> None:
        if not tag.isalnum() or len(tag) > 5:
            raise ValueError(f"id tag must be 1-5 alphanumerics, got {tag!r}")
        self.tag = tag
        self._last_ms = time.time_ns() // 1_000_000 if seed_ms is None else seed_ms
        self._seq = -1

    def next_id(self, symbol: str, now_ms: int | None = None) -> str:
        """A new unique id for ``symbol``."""
        now = time.time_ns() // 1_000_000 if now_ms is None else now_ms
        if now > self._last_ms:
            self._last_ms, self._seq = now, 0
        else:
            self._seq += 1
        ts, seq = to_base36(self._last_ms), to_base36(self._seq)
        budget = MAX_LEN - len(RUNNER_ID_PREFIX) - len(self.tag) - len(ts) - len(seq) - 4
        sym = "".join(c for c in symbol if c.isalnum())[: max(1, budget)]
        return f"{RUNNER_ID_PREFIX}-{self.tag}-{sym}-{ts}-{seq}"


def is_runner_order_id(client_order_id: str) -> bool:
    """True for ids of :class:`RunnerIdGenerator`."""
    return client_order_id.startswith(RUNNER_ID_PREFIX + "-")


def market_max_steps_from_exchange_info(
    info: wire.ExchangeInfo, filters: Mapping[str, SymbolFilters]
) -> dict[str, int]:
    """MARKET_LOT_SIZE ``maxQty`` per symbol in steps (LOT_SIZE ``maxQty`` when absent)."""
    out: dict[str, int] = {}
    for s in info.symbols:
        f = filters.get(s.symbol)
        if f is None:
            continue
        by_type = {flt.filterType: flt for flt in s.filters}
        market = by_type.get("MARKET_LOT_SIZE")
        max_qty = Decimal(market.maxQty) if market is not None and market.maxQty else f.max_qty
        out[s.symbol] = max(1, int(max_qty / f.step_size))
    return out


async def fetch_market_max_steps(
    rest: BinanceRestClient, filters: Mapping[str, SymbolFilters]
) -> dict[str, int]:
    """MARKET order size cap per symbol (steps) from live exchangeInfo."""
    return market_max_steps_from_exchange_info(await rest.fetch_exchange_info(), filters)


def chunk_steps(total_steps: int, max_steps: int) -> list[int]:
    """``total_steps`` split into orders of at most ``max_steps``."""
    full, rest = divmod(total_steps, max(1, max_steps))
    return [max_steps] * full + ([rest] if rest else [])


@dataclass(slots=True)
class FlattenOutcome:
    """What flattening one symbol did."""

    symbol: str
    flat: bool
    attempts: int
    closed_steps: int = 0  # executed by our reduce-only orders
    remaining_steps: int | None = None  # last exchange position (None: never fetched)
    orders: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


async def flatten_symbol(
    rest: BinanceRestClient,
    f: SymbolFilters,
    max_market_steps: int,
    ids: RunnerIdGenerator,
    *,
    attempts: int = FLATTEN_ATTEMPTS,
    cancel_first: bool = True,
    backoff_s: float = 0.25,
    on_intent: Callable[[PlaceOrder], None] | None = None,
    on_update: Callable[[OrderUpdated], None] | None = None,
    on_error: Callable[[int | None], None] | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> FlattenOutcome:
    """Close the symbol's whole position and verify it is flat (see the module docstring)."""
    symbol = f.symbol
    out = FlattenOutcome(symbol, flat=False, attempts=0)
    delay = backoff_s

    def failed(what: str, exc: ExchangeError) -> None:
        out.errors.append(f"{what}: {exc}")
        if on_error is not None:
            on_error(exc.code)
        log.error("flatten_step_failed", symbol=symbol, step=what, attempt=out.attempts, error=str(exc))

    for attempt in range(attempts + 1):  # the extra round only verifies
        out.attempts = min(attempt + 1, attempts)
        if attempt:
            await sleep(delay)
            delay = min(delay * 2, 2.0)
        try:
            if cancel_first:
                await rest.cancel_all_orders(symbol)
            pos = (await fetch_positions(rest, {symbol: f})).get(symbol)
        except ExchangeError as exc:
            failed("cancel_or_position", exc)
            continue
        steps = pos.qty_steps if pos is not None else 0
        out.remaining_steps = abs(steps)
        if steps == 0:
            out.flat = True
            return out
        if attempt == attempts:
            break
        side = Side.SELL if steps > 0 else Side.BUY
        for qty in chunk_steps(abs(steps), max_market_steps):
            place = PlaceOrder(
                symbol=symbol,
                client_order_id=ids.next_id(symbol),
                side=side,
                price_ticks=0,
                qty_steps=qty,
                order_type=OrderType.MARKET,
                time_in_force=TimeInForce.GTC,
                reduce_only=True,
            )
            out.orders.append(place.client_order_id)
            if on_intent is not None:
                on_intent(place)
            try:
                resp = await rest.place_order(codec.place_params(place, f))
            except ExchangeError as exc:
                failed("place", exc)
                update = await _query(rest, f, place.client_order_id)  # did it execute anyway?
                if update is not None:
                    out.closed_steps += update.filled_steps
                    if on_update is not None:
                        on_update(update)
                break  # re-fetch the position before sending more
            update = codec.order_updated_from_rest(resp, f, time.time_ns())
            out.closed_steps += update.filled_steps
            if on_update is not None:
                on_update(update)
            if update.status in (OrderStatus.REJECTED, OrderStatus.EXPIRED):
                break
    log.critical(
        "flatten_incomplete",
        symbol=symbol,
        attempts=out.attempts,
        remaining_steps=out.remaining_steps,
        errors=out.errors[-3:],
    )
    return out


async def _query(rest: BinanceRestClient, f: SymbolFilters, client_order_id: str) -> OrderUpdated | None:
    try:
        o = await rest.fetch_order(f.symbol, client_order_id)
    except UnknownOrderError:
        return None  # not at the exchange (the next position fetch tells the rest)
    except ExchangeError as exc:
        log.warning("flatten_query_failed", symbol=f.symbol, coid=client_order_id, error=str(exc))
        return None
    return codec.order_updated_from_rest(o, f, time.time_ns())
