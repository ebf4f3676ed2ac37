"""The simulator's symbols: exchange filters and contract metadata in one place (served via exchangeInfo).

Values follow the protocol doc §10: ETHUSDC and BTCUSDC from live configs; SOLUSDC and XRPUSDC are
documented placeholders. Also the wire-string → grid conversions that yield Binance's exact codes.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from phoenix.core.types import SymbolFilters
from phoenix.exchange.sim.sim_types import SimError


@dataclass(frozen=True, slots=True, kw_only=True)
class SimSymbolSpec:
    """One simulated contract: filters plus the exchangeInfo metadata the filters do not carry."""

    filters: SymbolFilters
    base_asset: str
    quote_asset: str = "USDC"
    margin_asset: str = "USDC"
    min_price: Decimal = Decimal("0")  # 0 = check disabled
    max_price: Decimal = Decimal("0")  # 0 = check disabled
    market_max_qty: Decimal = Decimal("1000")
    max_num_orders: int = 200
    onboard_date_ms: int = 1704268800000
    maint_margin_ratio: float = 0.004
    max_leverage: int = 125

    @property
    def symbol(self) -> str:
        """Symbol name, e.g. ``ETHUSDC``."""
        return self.filters.symbol

    @property
    def min_price_ticks(self) -> int:
        """PRICE_FILTER minPrice on the tick grid (0 = disabled)."""
        return int(self.min_price / self.filters.tick_size)

    @property
    def max_price_ticks(self) -> int:
        """PRICE_FILTER maxPrice on the tick grid (0 = disabled)."""
        return int(self.max_price / self.filters.tick_size)

    @property
    def max_qty_steps(self) -> int:
        """LOT_SIZE maxQty in steps."""
        return int(self.filters.max_qty / self.filters.step_size)

    @property
    def market_max_qty_steps(self) -> int:
        """MARKET_LOT_SIZE maxQty in steps."""
        return int(self.market_max_qty / self.filters.step_size)


def _spec(
    symbol: str,
    base: str,
    tick: str,
    step: str,
    min_qty: str,
    min_notional: str,
    *,
    min_price: str,
    max_price: str,
    max_qty: str,
    market_max_qty: str,
) -> SimSymbolSpec:
    filters = SymbolFilters(
        symbol=symbol,
        tick_size=Decimal(tick),
        step_size=Decimal(step),
        min_qty=Decimal(min_qty),
        min_notional=Decimal(min_notional),
        max_qty=Decimal(max_qty),
        market_step_size=Decimal(step),
    )
    return SimSymbolSpec(
        filters=filters,
        base_asset=base,
        min_price=Decimal(min_price),
        max_price=Decimal(max_price),
        market_max_qty=Decimal(market_max_qty),
    )


DEFAULT_SYMBOLS: dict[str, SimSymbolSpec] = {
    s.symbol: s
    for s in (
        _spec(
            "ETHUSDC", "ETH", "0.01", "0.001", "0.001", "20",
            min_price="39.86", max_price="306177", max_qty="10000", market_max_qty="2000",
        ),
        _spec(
            "BTCUSDC", "BTC", "0.1", "0.001", "0.001", "100",
            min_price="556.80", max_price="4529764", max_qty="1000", market_max_qty="120",
        ),
        _spec(
            "SOLUSDC", "SOL", "0.01", "0.01", "0.01", "5",
            min_price="0.42", max_price="6857", max_qty="1000000", market_max_qty="5000",
        ),
        _spec(
            "XRPUSDC", "XRP", "0.0001", "0.1", "0.1", "5",
            min_price="0.0143", max_price="100000", max_qty="10000000", market_max_qty="1000000",
        ),
    )
}  # fmt: skip


def default_filters(symbols: list[str] | None = None) -> dict[str, SymbolFilters]:
    """Filters of the default symbols (all of them, or the named ones; unknown names raise KeyError)."""
    names = list(DEFAULT_SYMBOLS) if symbols is None else symbols
    return {name: DEFAULT_SYMBOLS[name].filters for name in names}


def spec_for(filters: SymbolFilters) -> SimSymbolSpec:
    """The default spec of a symbol with these filters (metadata from the defaults when known)."""
    known = DEFAULT_SYMBOLS.get(filters.symbol)
    if known is not None and known.filters == filters:
        return known
    base = filters.symbol.removesuffix("USDC").removesuffix("USDT") or filters.symbol
    quote = "USDT" if filters.symbol.endswith("USDT") else "USDC"
    return SimSymbolSpec(filters=filters, base_asset=base, quote_asset=quote, margin_asset=quote)


def _decimal(text: str, name: str) -> Decimal:
    try:
        value = Decimal(text)
    except (InvalidOperation, ValueError):
        raise SimError(
            -1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed."
        ) from None
    if not value.is_finite():
        raise SimError(-1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed.")
    return value


def wire_price_to_ticks(filters: SymbolFilters, text: str) -> int:
    """Parse a wire price string onto the tick grid.

    Raises SimError -1111 (more decimals than the tick allows) or -4014 (not a tick multiple).
    """
    value = _decimal(text, "price")
    exponent = value.normalize().as_tuple().exponent
    if (
        isinstance(exponent, int)
        and -exponent > filters.price_decimals
        and value != value.to_integral_value()
    ):
        raise SimError(-1111, "Precision is over the maximum defined for this asset.")
    ticks = value / filters.tick_size
    if ticks != ticks.to_integral_value():
        raise SimError(-4014, "Price not increased by tick size.")
    return int(ticks)


def wire_qty_to_steps(filters: SymbolFilters, text: str) -> int:
    """Parse a wire quantity string onto the step grid.

    Raises SimError -1111 (more decimals than the step allows) or -4023 (not a step multiple).
    """
    value = _decimal(text, "quantity")
    exponent = value.normalize().as_tuple().exponent
    if isinstance(exponent, int) and -exponent > filters.qty_decimals and value != value.to_integral_value():
        raise SimError(-1111, "Precision is over the maximum defined for this asset.")
    steps = value / filters.step_size
    if steps != steps.to_integral_value():
        raise SimError(-4023, "Qty not increased by step size.")
    return int(steps)
