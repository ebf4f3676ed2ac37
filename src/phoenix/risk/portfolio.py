"""Account-wide risk: the global notional cap and the stop-loss latch.

- Global cap (``global.total_notional_max``, USDC). Pre-trade, each symbol's worst-case exposure is bounded
  by what the other symbols' worst cases leave of the cap, and by an equal share of it. Post-trade, when
  the total notional of the positions is above the cap, every symbol may only reduce until it is back
  below.
- Stop-loss (``global.stop_loss_pct``): when equity falls that many percent below its peak, the trader
  cancels everything and flattens every symbol once, then stays halted (latched) until an explicit
  ``resume``, which also restarts the peak from the current equity.
"""

from __future__ import annotations

from dataclasses import dataclass

from phoenix.core.store import Store, SymbolState


@dataclass(frozen=True, slots=True)
class GlobalCapChanged:
    """The global cap started (``breached``) or stopped binding."""

    breached: bool
    total_notional_usdc: float
    cap_usdc: float


@dataclass(frozen=True, slots=True)
class StopLossTriggered:
    """Equity drawdown from the peak reached the stop-loss."""

    equity_usdc: float
    peak_equity_usdc: float
    drawdown_pct: float
    stop_loss_pct: float


class Portfolio:
    """Global cap state and the stop-loss latch."""

    __slots__ = ("global_breached", "stop_loss_latched")

    def __init__(self) -> None:
        self.global_breached = False
        self.stop_loss_latched = False

    def allowance_steps(self, store: Store, state: SymbolState) -> int | None:
        """The most worst-case steps ``state`` may hold so that Σ worst-case notional ≤ the cap.

        The smaller of what the other symbols' worst cases leave and an equal share of the cap per enabled
        symbol, so the first symbol to quote cannot take the whole cap and starve the others.
        None when the symbol has no price yet (then only net_max applies, and the strategy cannot quote
        anyway without a book).
        """
        price = state.reference_price()
        if price is None:
            return None
        cap = store.config.global_.total_notional_max
        others = 0.0
        enabled = 0
        for st in store.symbols.values():  # one pass: this runs on every requote
            if st.config.enabled:
                enabled += 1
            if st is state:
                continue
            worst = max(st.worst_case_long_steps(), st.worst_case_short_steps(), 0)
            if worst:
                p = st.reference_price()
                if p is not None:
                    others += worst * st.filters.step * p
        enabled = enabled or 1
        left = min(cap - others, cap / enabled)
        if left <= 0.0:
            return 0
        return int(left / (price * state.filters.step))

    def check_cap(self, store: Store) -> GlobalCapChanged | None:
        """Re-evaluate the post-trade global cap; returns a fact when the breached state flips."""
        cap = store.config.global_.total_notional_max
        total = store.total_notional_usdc()
        breached = total > cap
        if breached is self.global_breached:
            return None
        self.global_breached = breached
        return GlobalCapChanged(breached=breached, total_notional_usdc=total, cap_usdc=cap)

    def check_stop_loss(self, store: Store) -> StopLossTriggered | None:
        """Fire once when the drawdown from peak equity reaches ``stop_loss_pct``; then stay latched."""
        if self.stop_loss_latched:
            return None
        limit = store.config.global_.stop_loss_pct
        drawdown = store.drawdown_pct()
        if drawdown < limit:
            return None
        self.stop_loss_latched = True
        return StopLossTriggered(
            equity_usdc=store.equity_usdc(),
            peak_equity_usdc=store.peak_equity_usdc,
            drawdown_pct=drawdown,
            stop_loss_pct=limit,
        )

    def resume(self, store: Store) -> None:
        """Clear the stop-loss latch and restart the peak from the current equity."""
        self.stop_loss_latched = False
        store.peak_equity_usdc = store.equity_usdc()

    def to_snapshot(self) -> dict[str, object]:
        """State as plain data (the stop-loss latch survives restarts)."""
        return {"global_breached": self.global_breached, "stop_loss_latched": self.stop_loss_latched}

    def restore(self, snapshot: dict[str, object]) -> None:
        """Restore from ``to_snapshot``."""
        self.global_breached = bool(snapshot.get("global_breached", False))
        self.stop_loss_latched = bool(snapshot.get("stop_loss_latched", False))
