"""Figures from the ledger (the only source of PnL, fees, funding and fill rate) and the wallet check.

Binance moves the USDC wallet by realised PnL, commissions and funding only, so over a window that starts
and ends with a recorded wallet balance: Σ realised − Σ fees + Σ funding = Δ wallet.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from phoenix.persistence.ledger import BalanceRow, LedgerReader

DEFAULT_TOLERANCE_USDC = 1e-4


@dataclass(slots=True)
class SymbolFigures:
    """Per-symbol totals from the ledger."""

    symbol: str
    fills: int = 0
    maker_fills: int = 0
    volume_usdc: float = 0.0
    realized_pnl_usdc: float = 0.0
    fees_usdc: float = 0.0
    funding_usdc: float = 0.0
    orders_placed: int = 0
    orders_filled: int = 0

    @property
    def fill_rate(self) -> float:
        """Share of placed orders that received at least one fill."""
        return self.orders_filled / self.orders_placed if self.orders_placed else 0.0

    @property
    def pnl_usdc(self) -> float:
        """Realised PnL net of fees plus funding."""
        return self.realized_pnl_usdc - self.fees_usdc + self.funding_usdc


@dataclass(slots=True)
class WalletSegment:
    """One stretch of continuous exchange history: from a recorded balance to the last one before a reset."""

    start_ns: int
    end_ns: int
    wallet_start_usdc: float
    wallet_end_usdc: float
    ledger_delta_usdc: float


@dataclass(slots=True)
class WalletCheck:
    """Ledger vs wallet over the recorded balance windows.

    A balance journalled with a reason starting ``reset:`` (e.g. a fresh embedded simulator) starts a new
    segment: the wallet history before it belongs to another exchange instance. Over every segment,
    Σ realised − fees + funding of the fills/funding inside it must equal the change of the wallet.
    """

    segments: list[WalletSegment]
    tolerance_usdc: float

    @property
    def wallet_start_usdc(self) -> float:
        """Wallet at the start of the first segment."""
        return self.segments[0].wallet_start_usdc

    @property
    def wallet_end_usdc(self) -> float:
        """Wallet at the end of the last segment."""
        return self.segments[-1].wallet_end_usdc

    @property
    def wallet_delta_usdc(self) -> float:
        """Σ over segments of the wallet change."""
        return sum(s.wallet_end_usdc - s.wallet_start_usdc for s in self.segments)

    @property
    def ledger_delta_usdc(self) -> float:
        """Σ over segments of realised − fees + funding."""
        return sum(s.ledger_delta_usdc for s in self.segments)

    @property
    def mismatch_usdc(self) -> float:
        """Ledger minus wallet change (0 when the books balance)."""
        return self.ledger_delta_usdc - self.wallet_delta_usdc

    @property
    def ok(self) -> bool:
        """True when every segment balances within the tolerance."""
        return all(
            abs(s.ledger_delta_usdc - (s.wallet_end_usdc - s.wallet_start_usdc)) <= self.tolerance_usdc
            for s in self.segments
        )


@dataclass(slots=True)
class LedgerReport:
    """Everything ``phoenix report`` prints."""

    symbols: dict[str, SymbolFigures] = field(default_factory=dict)
    wallet: WalletCheck | None = None
    runs: int = 0

    def _sum(self, name: str) -> float:
        return float(sum(getattr(s, name) for s in self.symbols.values()))

    @property
    def fills(self) -> int:
        """Total fills."""
        return int(self._sum("fills"))

    @property
    def realized_pnl_usdc(self) -> float:
        """Σ realised PnL."""
        return self._sum("realized_pnl_usdc")

    @property
    def fees_usdc(self) -> float:
        """Σ commissions (negative = rebates)."""
        return self._sum("fees_usdc")

    @property
    def funding_usdc(self) -> float:
        """Σ funding (positive = received)."""
        return self._sum("funding_usdc")

    @property
    def pnl_usdc(self) -> float:
        """Σ realised − fees + funding."""
        return self.realized_pnl_usdc - self.fees_usdc + self.funding_usdc

    @property
    def fill_rate(self) -> float:
        """Filled orders / placed orders over all symbols."""
        placed = self._sum("orders_placed")
        return self._sum("orders_filled") / placed if placed else 0.0

    def to_dict(self) -> dict[str, Any]:
        """Plain data (JSON-ready)."""
        out: dict[str, Any] = {
            "runs": self.runs,
            "fills": self.fills,
            "fill_rate": self.fill_rate,
            "realized_pnl_usdc": self.realized_pnl_usdc,
            "fees_usdc": self.fees_usdc,
            "funding_usdc": self.funding_usdc,
            "pnl_usdc": self.pnl_usdc,
            "symbols": {
                k: {**asdict(v), "fill_rate": v.fill_rate, "pnl_usdc": v.pnl_usdc}
                for k, v in self.symbols.items()
            },
            "wallet_check": None,
        }
        if self.wallet is not None:
            w = self.wallet
            out["wallet_check"] = {
                "wallet_start_usdc": w.wallet_start_usdc,
                "wallet_end_usdc": w.wallet_end_usdc,
                "wallet_delta_usdc": w.wallet_delta_usdc,
                "ledger_delta_usdc": w.ledger_delta_usdc,
                "mismatch_usdc": w.mismatch_usdc,
                "segments": len(w.segments),
                "ok": w.ok,
            }
        return out


def build_report(reader: LedgerReader, tolerance_usdc: float = DEFAULT_TOLERANCE_USDC) -> LedgerReport:
    """Aggregate the ledger into per-symbol figures and the wallet reconciliation."""
    report = LedgerReport(runs=reader.run_count())

    def figures(symbol: str) -> SymbolFigures:
        if symbol not in report.symbols:
            report.symbols[symbol] = SymbolFigures(symbol)
        return report.symbols[symbol]

    filled_orders: dict[str, set[str]] = {}
    for f in reader.fills():
        s = figures(f.symbol)
        s.fills += 1
        s.maker_fills += int(f.maker)
        s.volume_usdc += f.price * f.qty
        s.realized_pnl_usdc += f.realized_pnl_usdc
        s.fees_usdc += f.fee_usdc
        filled_orders.setdefault(f.symbol, set()).add(f.client_order_id)
    for _ts, symbol, amount in reader.funding():
        figures(symbol).funding_usdc += amount
    placed: dict[str, set[str]] = {}
    for coid, symbol in reader.placed_orders():
        placed.setdefault(symbol, set()).add(coid)
    for symbol, ids in placed.items():
        s = figures(symbol)
        s.orders_placed = len(ids)
        s.orders_filled = len(filled_orders.get(symbol, set()) & ids)
    for symbol, ids in filled_orders.items():  # fills of orders placed outside this ledger's intents
        s = figures(symbol)
        if s.orders_placed == 0:
            s.orders_filled = len(ids)

    segments: list[WalletSegment] = []
    current: list[BalanceRow] = []
    for row in [*reader.balances(), None]:
        if row is None or (row.reason.startswith("reset:") and current):
            if len(current) >= 2:
                first, last = current[0], current[-1]
                fills = reader.fills(since_ns=first.ts_ns + 1, until_ns=last.ts_ns)
                funding = reader.funding(since_ns=first.ts_ns + 1, until_ns=last.ts_ns)
                delta = sum(f.realized_pnl_usdc - f.fee_usdc for f in fills) + sum(a for _t, _s, a in funding)
                segments.append(
                    WalletSegment(first.ts_ns, last.ts_ns, first.wallet_usdc, last.wallet_usdc, delta)
                )
            current = []
        if row is not None:
            current.append(row)
    if segments:
        report.wallet = WalletCheck(segments=segments, tolerance_usdc=tolerance_usdc)
    return report


def format_report(report: LedgerReport) -> str:
    """Human-readable report table."""
    lines = [
        f"{'symbol':<10} {'fills':>7} {'maker':>6} {'fill_rate':>9} {'volume_usdc':>14} {'realised':>12}"
        f" {'fees':>10} {'funding':>10} {'pnl':>12}"
    ]
    for s in sorted(report.symbols.values(), key=lambda x: x.symbol):
        lines.append(
            f"{s.symbol:<10} {s.fills:>7} {s.maker_fills:>6} {s.fill_rate:>9.1%} {s.volume_usdc:>14.2f}"
            f" {s.realized_pnl_usdc:>12.4f} {s.fees_usdc:>10.4f} {s.funding_usdc:>10.4f} {s.pnl_usdc:>12.4f}"
        )
    lines.append(
        f"{'TOTAL':<10} {report.fills:>7} {'':>6} {report.fill_rate:>9.1%} {'':>14}"
        f" {report.realized_pnl_usdc:>12.4f} {report.fees_usdc:>10.4f} {report.funding_usdc:>10.4f}"
        f" {report.pnl_usdc:>12.4f}"
    )
    w = report.wallet
    if w is None:
        lines.append("wallet check: fewer than two recorded wallet balances, cannot reconcile")
    else:
        verdict = "OK" if w.ok else "MISMATCH"
        lines.append(
            f"wallet check: Σ realised − fees + funding = {w.ledger_delta_usdc:.6f} USDC;"
            f" Δ wallet = {w.wallet_delta_usdc:.6f} USDC"
            f" ({w.wallet_start_usdc:.6f} → {w.wallet_end_usdc:.6f})"
            f" → {verdict} (diff {w.mismatch_usdc:+.6f}; {len(w.segments)} segment(s))"
        )
    return "\n".join(lines)
