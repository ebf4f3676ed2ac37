"""In-memory market and account state: one ``SymbolState`` per symbol plus account-wide figures.

The store is updated only through ``Store.apply(event)`` (and ``SymbolState.apply_fill``); it never does
I/O. ``pending_buy_steps`` / ``pending_sell_steps`` are owned by execution/trader, which sets them to the
total size of all our live and in-flight orders of each side. ``wallet_usdc`` changes only on
``BalanceUpdated`` (Binance ``ACCOUNT_UPDATE`` reports it after every fill and funding payment), so
realised PnL is never counted twice.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field

from phoenix.config import PhoenixConfig, SymbolConfig
from phoenix.core.book import OrderBook
from phoenix.core.signals import Signals
from phoenix.core.types import (
    BalanceUpdated,
    BookDelta,
    BookSnapshot,
    ConfigChanged,
    Event,
    Fill,
    FundingPaid,
    MarketDataStatus,
    MarkPriceUpdated,
    OrderFilled,
    OrderUpdated,
    Position,
    PositionSynced,
    SymbolFilters,
    TimerFired,
    TopOfBook,
    TradePrinted,
)

_SEEN_TRADE_IDS = 4096  # fills remembered per symbol for de-duplication


def make_signals(config: SymbolConfig) -> Signals:
    """Signals sized from a symbol's config windows."""
    return Signals(
        vol_window_s=config.vol_window_s,
        short_vol_window_s=config.short_vol_window_s,
        funding_halflife_s=config.funding_ema_halflife_s,
        history_s=max(3600, config.vol_window_s),
    )


@dataclass(slots=True, eq=False)
class SymbolState:
    """Everything the core knows about one symbol."""

    symbol: str
    filters: SymbolFilters
    config: SymbolConfig  # replaceable on reload
    book: OrderBook
    signals: Signals
    position: Position
    pending_buy_steps: int = 0  # all our live + in-flight buy orders (set by execution/trader)
    pending_sell_steps: int = 0  # all our live + in-flight sell orders (set by execution/trader)
    mark_price: float = 0.0
    funding_rate: float = 0.0  # latest funding rate, fraction per 8 h
    next_funding_ms: int = 0
    last_book_ts_ns: int = 0
    in_sync: bool = False  # the adapter's market-data status; False until told otherwise
    realized_pnl_usdc: float = 0.0  # Σ locally computed realised PnL of fills (before fees)
    fees_usdc: float = 0.0  # Σ fees of fills (negative = rebates)
    funding_usdc: float = 0.0  # Σ funding payments (positive = received)
    fill_count: int = 0
    _seen_trade_ids: set[int] = field(default_factory=set)
    _seen_order: deque[int] = field(default_factory=deque)
    # (config, filters, steps) of net_max_steps() while the config has no notional limit (price-free)
    _net_max_cache: tuple[SymbolConfig, SymbolFilters, int] | None = None

    @classmethod
    def create(cls, config: SymbolConfig, filters: SymbolFilters) -> SymbolState:
        """A fresh, flat, out-of-sync state for one symbol."""
        return cls(
            symbol=config.symbol,
            filters=filters,
            config=config,
            book=OrderBook(filters.tick),
            signals=make_signals(config),
            position=Position(symbol=config.symbol),
        )

    def mid(self) -> float | None:
        """Book mid in USDC, None unless the book is two-sided."""
        return self.book.mid()

    def reference_price(self) -> float | None:
        """Mid if known, else the mark price, else None (for notional and limit conversions)."""
        m = self.book.mid()
        if m is not None:
            return m
        return self.mark_price if self.mark_price > 0.0 else None

    def worst_case_long_steps(self) -> int:
        """Position if every resting and in-flight buy filled: position + pending buys (may be < 0)."""
        return self.position.qty_steps + self.pending_buy_steps

    def worst_case_short_steps(self) -> int:
        """Short exposure if every sell filled: −position + pending sells (may be < 0)."""
        return -self.position.qty_steps + self.pending_sell_steps

    def net_max_steps(self) -> int:
        """``config.net_max_at(price)`` on the step grid, rounded down (price = mid, else mark)."""
        cfg = self.config
        if cfg.net_max_notional_usdc is None:  # net_max_at is net_max at every price
            cache = self._net_max_cache
            if cache is not None and cache[0] is cfg and cache[1] is self.filters:
                return cache[2]
            steps = self.filters.qty_to_steps(cfg.net_max)
            self._net_max_cache = (cfg, self.filters, steps)
            return steps
        price = self.reference_price()
        limit = self.config.net_max_at(price) if price is not None else self.config.net_max
        return self.filters.qty_to_steps(limit)

    def unrealized_pnl_usdc(self) -> float:
        """Unrealised PnL of the position at mark (else mid) in USDC; 0 when flat or no price."""
        qty = self.position.qty_steps
        if qty == 0:
            return 0.0
        price = self.mark_price if self.mark_price > 0.0 else self.book.mid()
        if price is None:
            return 0.0
        return qty * self.filters.step * (price - self.position.entry_price)

    def apply_fill(self, fill: Fill) -> float:
        """Apply one of our fills to the position; return the locally computed realised PnL (USDC).

        One-way mode, average entry price: adding to a position moves the entry to the size-weighted
        average; reducing realises (fill − entry) × closed qty × sign; a flip opens the remainder at the fill
        price. Fees are not included (tracked in ``fees_usdc``). A fill whose ``trade_id`` was already
        applied is ignored and returns 0.0.
        """
        if fill.trade_id in self._seen_trade_ids:
            return 0.0
        self._remember(fill.trade_id)
        step = self.filters.step
        price = fill.price_ticks * self.filters.tick
        pos = self.position
        old = pos.qty_steps
        delta = fill.qty_steps * fill.side.sign
        new = old + delta
        realized = 0.0
        if old == 0 or (old > 0) == (delta > 0):
            # opening or adding
            total = abs(old) + abs(delta)
            pos.entry_price = (abs(old) * pos.entry_price + abs(delta) * price) / total if total else 0.0
        else:
            closed = min(abs(old), abs(delta))
            direction = 1 if old > 0 else -1
            realized = closed * step * (price - pos.entry_price) * direction
            if new == 0:
                pos.entry_price = 0.0
            elif (new > 0) != (old > 0):
                pos.entry_price = price  # flipped: the remainder opens at the fill price
        pos.qty_steps = new
        self.realized_pnl_usdc += realized
        self.fees_usdc += fill.fee_usdc
        self.fill_count += 1
        self.signals.on_own_fill(fill.ts_ns)
        return realized

    def has_seen_fill(self, trade_id: int) -> bool:
        """True if a fill with this trade id was already applied (recent ``_SEEN_TRADE_IDS`` fills)."""
        return trade_id in self._seen_trade_ids

    def _remember(self, trade_id: int) -> None:
        self._seen_trade_ids.add(trade_id)
        self._seen_order.append(trade_id)
        if len(self._seen_order) > _SEEN_TRADE_IDS:
            self._seen_trade_ids.discard(self._seen_order.popleft())

    def adopt_position(self, qty_steps: int, entry_price: float) -> None:
        """Take the exchange-reported position as the truth (reconciliation)."""
        self.position.qty_steps = qty_steps
        self.position.entry_price = entry_price if qty_steps != 0 else 0.0

    def replace_config(self, config: SymbolConfig) -> None:
        """Swap in a reloaded config; signals are rebuilt only if their (non-reloadable) windows changed."""
        old = self.config
        self.config = config
        if (
            old.vol_window_s != config.vol_window_s
            or old.short_vol_window_s != config.short_vol_window_s
            or old.funding_ema_halflife_s != config.funding_ema_halflife_s
        ):
            snapshot = self.signals.to_snapshot()
            self.signals = make_signals(config)
            self.signals.restore(snapshot)


class Store:
    """All symbols' state plus the account: wallet, equity, peak equity, notional totals."""

    __slots__ = ("config", "peak_equity_usdc", "symbols", "wallet_usdc")

    def __init__(
        self, config: PhoenixConfig, filters: Mapping[str, SymbolFilters], wallet_usdc: float
    ) -> None:
        missing = [s.symbol for s in config.symbols if s.symbol not in filters]
        if missing:
            raise KeyError(f"no exchange filters for symbols {missing}")
        self.config = config
        self.symbols: dict[str, SymbolState] = {
            s.symbol: SymbolState.create(s, filters[s.symbol]) for s in config.symbols
        }
        self.wallet_usdc = wallet_usdc
        self.peak_equity_usdc = wallet_usdc

    def apply(self, event: Event) -> None:
        """Update state and signals from one event. Events for unknown symbols are ignored.

        Own-order events (``OrderUpdated``) are execution's business and ignored here; ``OrderFilled``
        updates the position (de-duplicated by trade id).
        """
        if isinstance(event, BookDelta):
            st = self.symbols.get(event.symbol)
            if st is not None:
                st.book.apply_delta(event.bids, event.asks, event.ts_ns)
                self._book_changed(st, event.ts_ns)
        elif isinstance(event, TopOfBook):
            st = self.symbols.get(event.symbol)
            if st is not None:
                st.book.apply_top(event.bid_ticks, event.bid_qty, event.ask_ticks, event.ask_qty, event.ts_ns)
                self._book_changed(st, event.ts_ns)
        elif isinstance(event, BookSnapshot):
            st = self.symbols.get(event.symbol)
            if st is not None:
                st.book.apply_snapshot(event.bids, event.asks, event.ts_ns)
                self._book_changed(st, event.ts_ns)
        elif isinstance(event, TradePrinted):
            st = self.symbols.get(event.symbol)
            if st is not None:
                st.signals.on_trade(event.ts_ns, event.qty, event.aggressor)
        elif isinstance(event, MarkPriceUpdated):
            st = self.symbols.get(event.symbol)
            if st is not None:
                st.mark_price = event.mark_price
                st.funding_rate = event.funding_rate
                st.next_funding_ms = event.next_funding_ms
                st.signals.on_funding(event.ts_ns, event.funding_rate)
                self._update_peak()
        elif isinstance(event, OrderFilled):
            st = self.symbols.get(event.fill.symbol)
            if st is not None:
                st.apply_fill(event.fill)
                self._update_peak()
        elif isinstance(event, FundingPaid):
            st = self.symbols.get(event.symbol)
            if st is not None:
                st.funding_usdc += event.amount_usdc
        elif isinstance(event, BalanceUpdated):
            self.wallet_usdc = event.wallet_usdc
            self._update_peak()
        elif isinstance(event, PositionSynced):
            st = self.symbols.get(event.symbol)
            if st is not None:
                st.adopt_position(event.qty_steps, event.entry_price)
        elif isinstance(event, MarketDataStatus):
            st = self.symbols.get(event.symbol)
            if st is not None:
                st.in_sync = event.in_sync
                if not event.in_sync:
                    st.book.clear()
        elif isinstance(event, ConfigChanged):
            if isinstance(event.config, PhoenixConfig):
                self.replace_config(event.config)
        elif isinstance(event, OrderUpdated | TimerFired):
            return  # own-order state lives in execution; timers carry no market state

    @staticmethod
    def _book_changed(st: SymbolState, ts_ns: int) -> None:
        st.last_book_ts_ns = ts_ns
        mid = st.book.mid()
        if mid is not None:
            st.signals.on_mid(ts_ns, mid)

    def replace_config(self, config: PhoenixConfig) -> None:
        """Swap in a reloaded config (symbols not in the store are ignored: adding needs a restart)."""
        self.config = config
        for s in config.symbols:
            st = self.symbols.get(s.symbol)
            if st is not None:
                st.replace_config(s)

    def total_notional_usdc(self) -> float:
        """Σ |position| × price over symbols (price = mid, else mark), USDC."""
        total = 0.0
        for st in self.symbols.values():
            q = st.position.qty_steps
            if q:
                price = st.reference_price()
                if price is not None:
                    total += abs(q) * st.filters.step * price
        return total

    def worst_case_notional_usdc(self) -> float:
        """Σ max(worst-case long, worst-case short, 0) × price over symbols, USDC."""
        total = 0.0
        for st in self.symbols.values():
            worst = max(st.worst_case_long_steps(), st.worst_case_short_steps(), 0)
            if worst:
                price = st.reference_price()
                if price is not None:
                    total += worst * st.filters.step * price
        return total

    def notional_headroom_usdc(self) -> float:
        """``global.total_notional_max`` − worst-case notional (negative ⇒ over the cap), USDC."""
        return self.config.global_.total_notional_max - self.worst_case_notional_usdc()

    def over_notional_cap(self) -> bool:
        """True when the positions alone (Σ |position| × price) exceed ``global.total_notional_max``."""
        return self.total_notional_usdc() > self.config.global_.total_notional_max

    def equity_usdc(self) -> float:
        """Wallet + Σ unrealised PnL (at mark, else mid), USDC."""
        return self.wallet_usdc + sum(st.unrealized_pnl_usdc() for st in self.symbols.values())

    def _update_peak(self) -> None:
        eq = self.equity_usdc()
        if eq > self.peak_equity_usdc:
            self.peak_equity_usdc = eq

    def drawdown_pct(self) -> float:
        """(peak equity − equity) / peak equity × 100; 0 when the peak is not positive."""
        peak = self.peak_equity_usdc
        if peak <= 0.0:
            return 0.0
        return max(0.0, (peak - self.equity_usdc()) / peak * 100.0)

    # ------------------------------------------------------------------ snapshots

    def to_snapshot(self) -> dict[str, object]:
        """Plain-data (JSON-able) state for persistence: wallet, peak, positions, PnL tallies, funding EMA."""
        return {
            "version": 1,
            "wallet_usdc": self.wallet_usdc,
            "peak_equity_usdc": self.peak_equity_usdc,
            "symbols": {
                name: {
                    "qty_steps": st.position.qty_steps,
                    "entry_price": st.position.entry_price,
                    "realized_pnl_usdc": st.realized_pnl_usdc,
                    "fees_usdc": st.fees_usdc,
                    "funding_usdc": st.funding_usdc,
                    "fill_count": st.fill_count,
                    "signals": st.signals.to_snapshot(),
                }
                for name, st in self.symbols.items()
            },
        }

    @classmethod
    def from_snapshot(
        cls, config: PhoenixConfig, filters: Mapping[str, SymbolFilters], snapshot: Mapping[str, object]
    ) -> Store:
        """Rebuild a store from ``to_snapshot`` output; symbols absent from the config are dropped.

        Books are empty and out of sync after a restore: market data must re-sync before quoting, and the
        exchange's position (``PositionSynced``) still overrides the restored one.
        """
        if snapshot.get("version") != 1:
            raise ValueError(f"unsupported store snapshot version {snapshot.get('version')!r}")
        wallet = snapshot.get("wallet_usdc")
        if not isinstance(wallet, int | float):
            raise ValueError("store snapshot lacks wallet_usdc")
        store = cls(config, filters, float(wallet))
        peak = snapshot.get("peak_equity_usdc")
        if isinstance(peak, int | float):
            store.peak_equity_usdc = float(peak)
        symbols = snapshot.get("symbols")
        if isinstance(symbols, Mapping):
            for name, data in symbols.items():
                st = store.symbols.get(name)
                if st is None or not isinstance(data, Mapping):
                    continue
                st.adopt_position(int(data.get("qty_steps", 0)), float(data.get("entry_price", 0.0)))
                st.realized_pnl_usdc = float(data.get("realized_pnl_usdc", 0.0))
                st.fees_usdc = float(data.get("fees_usdc", 0.0))
                st.funding_usdc = float(data.get("funding_usdc", 0.0))
                st.fill_count = int(data.get("fill_count", 0))
                sig = data.get("signals")
                if isinstance(sig, dict):
                    st.signals.restore(sig)
        return store
