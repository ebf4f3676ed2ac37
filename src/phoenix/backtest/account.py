"""Backtest account: one-way positions, Binance-style realised PnL, maker/taker fees, funding, margin.

Realised PnL follows Binance USDⓈ-M one-way mode: a fill that reduces a position realises
(fill price − entry price) × closed qty × sign(position); increases re-average the entry price; a flip
opens the remainder at the fill price. The wallet moves by realised PnL − fees + funding only, so the
ledger identity Σ realised − Σ fees + Σ funding = Δ wallet holds exactly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from phoenix.core.types import Side, SymbolFilters


@dataclass(frozen=True, slots=True)
class FeeRates:
    """Commission rates as fractions of notional (negative maker = rebate)."""

    maker: float = 0.0
    taker: float = 0.000275

    @classmethod
    def from_bps(cls, maker_bps: float, taker_bps: float) -> FeeRates:
        """Build from basis points."""
        return cls(maker_bps * 1e-4, taker_bps * 1e-4)


@dataclass(slots=True)
class SymbolBook:
    """Money state of one symbol."""

    filters: SymbolFilters
    fees: FeeRates
    qty_steps: int = 0
    entry_price: float = 0.0
    realized_usdc: float = 0.0
    fees_usdc: float = 0.0
    funding_usdc: float = 0.0
    maker_notional_usdc: float = 0.0
    taker_notional_usdc: float = 0.0
    fills: int = 0


@dataclass(slots=True)
class Account:
    """Cross-margin USDC account over several symbols.

    Args:
        wallet_usdc: Starting wallet balance.
        leverage: Leverage for initial margin (notional / leverage).
        maint_margin_ratio: Maintenance margin as a fraction of notional.
    """

    wallet_usdc: float
    symbols: dict[str, SymbolBook] = field(default_factory=dict)
    leverage: int = 5
    maint_margin_ratio: float = 0.004
    start_wallet_usdc: float = 0.0

    def __post_init__(self) -> None:
        self.start_wallet_usdc = self.wallet_usdc

    @classmethod
    def create(
        cls,
        wallet_usdc: float,
        filters: Mapping[str, SymbolFilters],
        fees: Mapping[str, FeeRates],
        *,
        leverage: int = 5,
        maint_margin_ratio: float = 0.004,
    ) -> Account:
        """An account trading ``filters``' symbols with per-symbol ``fees``."""
        acct = cls(wallet_usdc, leverage=leverage, maint_margin_ratio=maint_margin_ratio)
        for sym, f in filters.items():
            acct.symbols[sym] = SymbolBook(filters=f, fees=fees[sym])
        return acct

    def apply_fill(
        self, symbol: str, side: Side, price: float, qty_steps: int, maker: bool
    ) -> tuple[float, float]:
        """Book a fill; returns ``(fee_usdc, realized_pnl_usdc)`` ; the wallet moves by realized − fee."""
        sb = self.symbols[symbol]
        step = sb.filters.step
        notional = price * qty_steps * step
        fee = notional * (sb.fees.maker if maker else sb.fees.taker)
        signed = qty_steps * side.sign
        pos = sb.qty_steps
        realized = 0.0
        if pos == 0 or (pos > 0) == (signed > 0):
            new = pos + signed
            sb.entry_price = (sb.entry_price * abs(pos) + price * qty_steps) / abs(new)
            sb.qty_steps = new
        else:
            closed = min(abs(pos), qty_steps)
            direction = 1 if pos > 0 else -1
            realized = (price - sb.entry_price) * closed * step * direction
            new = pos + signed
            if new == 0:
                sb.entry_price = 0.0
            elif (new > 0) != (pos > 0):
                sb.entry_price = price
            sb.qty_steps = new
        sb.realized_usdc += realized
        sb.fees_usdc += fee
        sb.fills += 1
        if maker:
            sb.maker_notional_usdc += notional
        else:
            sb.taker_notional_usdc += notional
        self.wallet_usdc += realized - fee
        return fee, realized

    def apply_funding(self, symbol: str, mark_price: float, rate: float) -> float:
        """Settle funding on the position (longs pay rate × notional when rate > 0); returns the amount."""
        sb = self.symbols[symbol]
        amount = -sb.qty_steps * sb.filters.step * mark_price * rate
        sb.funding_usdc += amount
        self.wallet_usdc += amount
        return amount

    def unrealized_usdc(self, marks: Mapping[str, float]) -> float:
        """Σ (mark − entry) × position over symbols with a mark."""
        total = 0.0
        for sym, sb in self.symbols.items():
            if sb.qty_steps:
                mark = marks.get(sym)
                if mark is not None:
                    total += (mark - sb.entry_price) * sb.qty_steps * sb.filters.step
        return total

    def equity_usdc(self, marks: Mapping[str, float]) -> float:
        """Wallet plus unrealised PnL."""
        return self.wallet_usdc + self.unrealized_usdc(marks)

    def position_notional_usdc(self, marks: Mapping[str, float]) -> float:
        """Σ |position| × mark."""
        return sum(
            abs(sb.qty_steps) * sb.filters.step * marks.get(sym, sb.entry_price)
            for sym, sb in self.symbols.items()
        )

    def initial_margin_usdc(self, marks: Mapping[str, float]) -> float:
        """Position initial margin (notional / leverage)."""
        return self.position_notional_usdc(marks) / self.leverage

    def maint_margin_usdc(self, marks: Mapping[str, float]) -> float:
        """Maintenance margin of the positions."""
        return self.position_notional_usdc(marks) * self.maint_margin_ratio

    @property
    def fees_usdc(self) -> float:
        """Total commissions paid."""
        return sum(sb.fees_usdc for sb in self.symbols.values())

    @property
    def funding_usdc(self) -> float:
        """Total funding received (negative = paid)."""
        return sum(sb.funding_usdc for sb in self.symbols.values())

    @property
    def realized_usdc(self) -> float:
        """Total realised PnL."""
        return sum(sb.realized_usdc for sb in self.symbols.values())
