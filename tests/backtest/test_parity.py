"""Live/backtest parity: the same recorded feed through the live runner (against the simulated exchange, over
real loopback sockets) and through the backtester gives the same orders and fills.

The comparison is made deterministic by driving both on identical event times (docs/backtest.md):

- from 13 s into the recording (the book there is rebuilt from its snapshot and diffs), 6 s of events are
  pumped into a manual-feed simulator **in lockstep** with the runner: the events of one recorded millisecond
  are applied together, at one frozen simulator time, and the next batch is applied only once the runner has
  settled (it has seen the batch, its requests are answered, its open orders, their fills and its position
  equal the simulator's) and at least ``GAP_MS`` later. Under machine load the pump slows down; it never
  lets the runner fall behind the data;
- the pace of the runner's decisions comes from those events only: with ``quote_interval_ms`` at 60 s the
  Trader quotes the opening ladder and requotes at once after every fill (or rejection), never on its
  wall-clock timer, whose phase the backtester cannot know;
- the backtester replays exactly the applied events at exactly the applied times (feed latency 0, 1 ms entry
  and response: every reaction lands before the next batch, as in the lockstep run), with the simulator's own
  matching engine (fill model ``sim``) for the tight comparison, then with the risk-averse queue model.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from tests.integration.runner_helpers import runner_config, wait_for, write_config

from phoenix.backtest.engine import BacktestEngine, BacktestSettings
from phoenix.backtest.latency import LatencySet
from phoenix.backtest.loaders import open_data
from phoenix.backtest.venue import FillModel
from phoenix.config import PhoenixConfig, load_config
from phoenix.core.book import OrderBook
from phoenix.core.types import OrderStatus, Side
from phoenix.exchange.sim.feeds import FeedDelta, FeedEvent, FeedMarkPrice, FeedSnapshot, FeedTrade
from phoenix.exchange.sim.server import SimServer, wall_clock_ms
from phoenix.exchange.sim.symbols import default_filters
from phoenix.exchange.sim.testing import running_sim
from phoenix.persistence.ledger import LEDGER_FILE_NAME, FillRow, LedgerReader
from phoenix.runner.app import RunnerApp

pytestmark = pytest.mark.timeout(90)

SYMBOL = "BTCUSDC"
SKIP_MS = 13_000  # start where the recording trades through our quotes several times (16.5-17.6 s)
WINDOW_MS = 6_000
QUOTE_INTERVAL_MS = 60_000  # > the window: requotes only after fills and rejections (module docstring)
GAP_MS = 5  # > the backtest's longest reaction chain (fill 1 ms → requote → order 1 ms → reject 1 ms → order)
SETTLE_TIMEOUT_S = 10.0
BTC_SYMBOL: dict[str, Any] = {
    "symbol": SYMBOL,
    "net_max": 0.05,
    "near_layers": 4,
    "far_layers": 0,
    "min_spread": 0.00005,
    "near_layer_spacing_bps": 0.5,
    "funding_bias_weight": 0.0,  # the runner learns the funding rate at start-up, before the window (docs)
}
_ACKED = (OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED)
_ORDERS = (
    "SELECT kind, side, price_ticks, qty_steps FROM intents WHERE kind IN ('place', 'modify') ORDER BY id"
)


class SteppedClock:
    """The simulator's clock: the wall clock, frozen while one batch of recorded events is applied."""

    def __init__(self) -> None:
        self.frozen_ms: int | None = None

    def __call__(self) -> int:
        return self.frozen_ms if self.frozen_ms is not None else wall_clock_ms()

    @contextmanager
    def frozen(self) -> Iterator[int]:
        """Freeze the clock at the current wall time for the body of the ``with``."""
        self.frozen_ms = wall_clock_ms()
        try:
            yield self.frozen_ms
        finally:
            self.frozen_ms = None


def _window(recording: Path) -> tuple[FeedSnapshot, FeedSnapshot, list[list[FeedEvent]]]:
    """The book at ``SKIP_MS`` after the recording's snapshot, the book after the first depth diff from
    there, and the ``WINDOW_MS`` of events that follow, grouped by recorded millisecond.

    The first batch is that depth diff alone: it brings the runner's book into sync (Binance's snapshot +
    diff procedure), so the runner starts quoting on the second book (the backtester's snapshot).
    """
    filters = default_filters([SYMBOL])[SYMBOL]
    it = iter(open_data(recording, filters))
    snap = next(ev for ev in it if isinstance(ev, FeedSnapshot))
    book = OrderBook(filters.tick)
    book.apply_snapshot(snap.bids, snap.asks, 0)
    before: FeedSnapshot | None = None
    batches: list[list[FeedEvent]] = []
    for ev in it:
        if before is None:
            if ev.ts_ms - snap.ts_ms >= SKIP_MS and isinstance(ev, FeedDelta):
                before = FeedSnapshot(
                    SYMBOL, ev.ts_ms, tuple(book.levels(Side.BUY)), tuple(book.levels(Side.SELL))
                )
                batches.append([ev])
            if isinstance(ev, FeedDelta):
                book.apply_delta(ev.bids, ev.asks, 0)
            continue
        if ev.ts_ms - batches[0][0].ts_ms > WINDOW_MS:
            break
        last = batches[-1]
        if (
            len(batches) > 1
            and last[0].ts_ms == ev.ts_ms
            and (isinstance(ev, FeedTrade) or not _trade(last[-1]))
        ):
            last.append(ev)
        else:
            batches.append([ev])
    assert before is not None
    after = FeedSnapshot(SYMBOL, before.ts_ms, tuple(book.levels(Side.BUY)), tuple(book.levels(Side.SELL)))
    return before, after, batches


def _trade(ev: FeedEvent) -> bool:
    return isinstance(ev, FeedTrade)


def _apply(sim: SimServer, ev: FeedEvent) -> None:
    if isinstance(ev, FeedDelta):
        sim.apply_delta(SYMBOL, list(ev.bids), list(ev.asks))
    elif isinstance(ev, FeedTrade):
        sim.apply_trade(SYMBOL, ev.price_ticks, ev.qty, ev.aggressor)
    elif isinstance(ev, FeedMarkPrice):
        sim.apply_mark_price(SYMBOL, ev.mark_price, ev.funding_rate, ev.next_funding_ms)


def _restamp(ev: FeedEvent, ts_ms: int) -> FeedEvent:
    if isinstance(ev, FeedDelta):
        return FeedDelta(ev.symbol, ts_ms, ev.bids, ev.asks)
    if isinstance(ev, FeedTrade):
        return FeedTrade(ev.symbol, ts_ms, ev.price_ticks, ev.qty, ev.aggressor)
    assert isinstance(ev, FeedMarkPrice)
    return FeedMarkPrice(ev.symbol, ts_ms, ev.mark_price, ev.index_price, ev.funding_rate, ev.next_funding_ms)


def _settled(app: RunnerApp, sim: SimServer, trade_ns: int) -> tuple[Any, ...] | str:
    """The runner's view when it has caught up with the simulator, else what it is still missing.

    Caught up: no event waiting in the symbol's inbox, no request in flight, the last applied depth update
    seen, every open order acknowledged, and open orders (with their filled quantity) and position equal
    to the simulator's.
    """
    trader, executor = app.trader, app.executor
    if trader is None or executor is None:
        return "not started"
    if executor.in_flight or not app.workers[SYMBOL].inbox.empty():
        return f"busy: {executor.in_flight} requests, {app.workers[SYMBOL].inbox.qsize()} events"
    st = trader.store.symbols[SYMBOL]
    sim_update = sim.engine.depth(SYMBOL, 1).last_update_id
    if app.market is None or app.market.books[SYMBOL].last_update_id != sim_update or not st.in_sync:
        return f"depth update {app.market and app.market.books[SYMBOL].last_update_id}, sim {sim_update}"
    seen_trade_ns = st.signals._trades._last_ns  # the last public trade the Trader saw
    if trade_ns and seen_trade_ns < trade_ns:
        return f"trade at {seen_trade_ns}, applied {trade_ns}"
    mine = {o.client_order_id: o for o in trader.orders.open_orders(SYMBOL)}
    if any(o.status not in _ACKED for o in mine.values()):
        return f"unacknowledged: {[(c, o.status) for c, o in mine.items() if o.status not in _ACKED]}"
    acct = sim.account_id()
    theirs = {v.client_order_id: v.executed_qty_steps for v in sim.engine.open_orders(acct, SYMBOL)}
    if theirs.keys() != mine.keys() or any(mine[c].filled_steps != q for c, q in theirs.items()):
        return f"orders differ: ours {[(c, o.filled_steps) for c, o in mine.items()]}, sim {theirs}"
    sim_pos = next((p.qty_steps for p in sim.engine.positions(acct) if p.symbol == SYMBOL), 0)
    if sim_pos != st.position.qty_steps:
        return f"position {st.position.qty_steps}, sim {sim_pos}"
    return (tuple(sorted(theirs.items())), sim_pos, st.last_book_ts_ns)


async def _settle(app: RunnerApp, sim: SimServer, trade_ns: int) -> None:
    """Wait until :func:`_settled` gives the same view on two polls 2 ms apart."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + SETTLE_TIMEOUT_S
    prev: tuple[Any, ...] | str = ""
    seen: list[str] = []
    while loop.time() < deadline:
        await asyncio.sleep(0.002)
        view = _settled(app, sim, trade_ns)
        if not isinstance(view, str) and view == prev:
            return
        if isinstance(view, str) and view not in seen[-1:]:
            seen.append(view)
        prev = view
    raise AssertionError(f"the runner did not settle within {SETTLE_TIMEOUT_S} s: {seen[:5]}")


async def _live_run(
    tmp_path: Path, snap: FeedSnapshot, batches: list[list[FeedEvent]]
) -> tuple[PhoenixConfig, float, list[FeedEvent]]:
    """Run the runner against the simulator in lockstep with the pump; the applied, re-timed events."""
    clock = SteppedClock()
    applied: list[FeedEvent] = []
    async with running_sim(symbols=[SYMBOL], feed="manual", clock_ms=clock) as sim:
        sim.apply_snapshot(SYMBOL, list(snap.bids), list(snap.asks))
        mid = (snap.bids[0][0] + snap.asks[0][0]) * 0.5 * default_filters([SYMBOL])[SYMBOL].tick
        sim.apply_mark_price(SYMBOL, mid, 0.0)
        data = runner_config(sim, tmp_path / "state", symbols=[dict(BTC_SYMBOL)], quote_interval_ms=10)
        fast = load_config(write_config(tmp_path / "phoenix-fast.yaml", data), env={})
        data["global"]["quote_interval_ms"] = QUOTE_INTERVAL_MS
        config = load_config(write_config(tmp_path / "phoenix.yaml", data), env={})
        # no config_path: no file watcher; the one reload is the test's own apply_config below
        app = RunnerApp(fast, config_path=None, install_signal_handlers=False, env={})
        loop = asyncio.get_running_loop()
        task = loop.create_task(app.run())
        try:
            await wait_for(lambda: app.ready.is_set() or task.done(), 15)
            assert not task.done()
            wall0, t0, last_ms, trade_ns = loop.time(), batches[0][0].ts_ms, 0, 0
            for batch in batches:
                delay = wall0 + (batch[0].ts_ms - t0) / 1000.0 - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                while wall_clock_ms() < last_ms + GAP_MS:
                    await asyncio.sleep(0.001)
                with clock.frozen() as now_ms:
                    for ev in batch:
                        _apply(sim, ev)
                        applied.append(_restamp(ev, now_ms))
                last_ms = now_ms
                if any(isinstance(ev, FeedTrade) for ev in batch):
                    trade_ns = now_ms * 1_000_000
                if len(applied) == 1:
                    # the depth diff that synced the book was quoted at once (fast pace); from now on the
                    # pace is event-driven only (hot reload of quote_interval_ms)
                    await wait_for(
                        lambda: app.trader is not None and app.trader.orders.open_count(SYMBOL) > 0, 10, 0.001
                    )
                    app.apply_config(config)
                await _settle(app, sim, trade_ns)
            await asyncio.sleep(0.2)
        finally:
            app.request_stop("parity test done")
            assert await asyncio.wait_for(task, 20) == 0
    return config, mid, applied


def _backtest(
    config: PhoenixConfig,
    tmp_path: Path,
    name: str,
    events: list[FeedEvent],
    fill_model: FillModel,
    queue: str,
) -> tuple[list[Any], list[FillRow]]:
    settings = BacktestSettings(
        fill_model=fill_model,
        queue_model=queue,
        latency=LatencySet.constant_ms(0.0, 1.0, 1.0),
        ledger_path=tmp_path / name,
        wallet_usdc=config.global_.sim.balance_usdc,
    )
    BacktestEngine(config, default_filters([SYMBOL]), [events], settings).run()
    with LedgerReader(tmp_path / name) as reader:
        return reader._all(_ORDERS, ()), reader.fills(SYMBOL)


def _fill_key(f: FillRow) -> tuple[Any, ...]:
    return (f.side, round(f.price, 6), f.ts_ns // 1_000_000)


def _by_key(fills: list[FillRow]) -> dict[tuple[Any, ...], float]:
    """Filled quantity per (side, price, ms): one trade may be reported as one or several fills."""
    out: dict[tuple[Any, ...], float] = {}
    for f in fills:
        out[_fill_key(f)] = round(out.get(_fill_key(f), 0.0) + f.qty, 9)
    return out


async def test_live_runner_and_backtester_agree_on_a_recorded_feed(
    btcusdt_recording: Path, tmp_path: Path
) -> None:
    before, after, batches = _window(btcusdt_recording)
    config, mid, applied = await _live_run(tmp_path, before, batches)
    start_ms = applied[0].ts_ms
    with LedgerReader(tmp_path / "state" / LEDGER_FILE_NAME) as reader:
        live_fills = reader.fills(SYMBOL)
        live_orders = reader._all(_ORDERS, ())

    # the backtester on the same events at the same times: the runner's book came into sync with the first
    # depth diff, where it quoted the opening ladder; the backtester starts from that book
    opening: list[FeedEvent] = [
        FeedSnapshot(SYMBOL, start_ms, after.bids, after.asks),
        FeedMarkPrice(SYMBOL, start_ms, mid, mid, 0.0, 0),
    ]
    events = [*opening, *applied[1:]]
    sim_orders, sim_fills = _backtest(
        config, tmp_path, "bt_sim.sqlite3", events, FillModel.SIM, "conservative"
    )
    q_orders, q_fills = _backtest(
        config, tmp_path, "bt_queue.sqlite3", events, FillModel.QUEUE, "risk_averse"
    )
    live_by, sim_by, q_by = _by_key(live_fills), _by_key(sim_fills), _by_key(q_fills)
    print(
        f"parity: {len(batches)} batches, orders live={len(live_orders)} sim={len(sim_orders)} "
        f"queue={len(q_orders)}; fills live={len(live_fills)} ({sum(live_by.values()):g}) "
        f"sim={len(sim_fills)} ({sum(sim_by.values()):g}) queue={len(q_fills)} ({sum(q_by.values()):g})"
    )
    assert live_fills, "the window must trade through our quotes"
    # 1. the simulator's matching engine inside the backtester: the same orders, in the same order, and the
    #    same fills (side, price, quantity, millisecond); nothing is left to latency noise
    assert [tuple(p) for p in sim_orders] == [tuple(p) for p in live_orders]
    assert sim_by == live_by
    # 2. the backtester's own venue with the risk-averse queue model (its closest to the simulator's
    #    conservative queue): the same opening ladder and the same filled quantity per side, price and
    #    millisecond; it reports one fill per trade that reaches an order where the simulator may aggregate,
    #    and may differ in later requotes (docs/backtest.md, residual differences)
    assert q_orders[:8] == live_orders[:8]
    assert q_by == live_by
