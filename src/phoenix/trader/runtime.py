"""Per-symbol runtime state of the trader and the ``Decision`` it returns."""

from __future__ import annotations

from dataclasses import dataclass, field

from phoenix.core.types import Action, Side
from phoenix.execution.orders import LiveOrder
from phoenix.risk.flicker import FlickerGuard
from phoenix.risk.grinding import Grinder, GrindReentry
from phoenix.risk.guard import SymbolGuard
from phoenix.trader.reports import Report

MS = 1_000_000
REENTRY_LAYER = 1000  # layer index of grinding's re-entry while it travels through the risk trim
POST_ONLY_REJECTED = -5022
GTX_BACKOFF_MAX_TICKS = 5
MEMO_MAX = 1024  # remembered touches per symbol (cleared when full or when the context changes)


@dataclass(slots=True)
class Decision:
    """What the trader wants done (actions, in order) and the facts behind it (reports)."""

    actions: list[Action] = field(default_factory=list)
    reports: list[Report] = field(default_factory=list)

    def extend(self, other: Decision) -> None:
        """Append another decision's actions and reports."""
        self.actions.extend(other.actions)
        self.reports.extend(other.reports)


@dataclass(slots=True)
class SymbolRuntime:
    """What the trader keeps per symbol besides the store: guards, budgets, pacing, grinding."""

    guard: SymbolGuard
    flicker: FlickerGuard
    grinder: Grinder
    last_quote_ns: int = -(10**18)  # pacing: may be held back (see Trader.on_event), not the last evaluation
    evaluated_ns: int = -(10**18)  # when the strategy last ran (or its memo answered)
    quoted_touch: tuple[int, int] = (0, 0)  # best bid/ask (ticks) at the last requote
    dirty: bool = False
    failed_closed: bool = False  # quotes cancelled for stale / out-of-sync data; not quoting
    backlog: bool = False  # the last plan deferred something: re-plan at the next timer
    pending_reentry: GrindReentry | None = None
    gtx_backoff_ticks: dict[Side, int] = field(default_factory=dict)  # -5022 ⇒ stay this far off the touch
    gtx_backoff_until_ns: int = 0
    # requotes that sent nothing, per touch, while their context holds (see QuotingMixin._requote_key):
    # touch → (ladder layer of each of memo_orders after it, bid layers, ask layers)
    memo_context: tuple[object, ...] | None = None
    memo: dict[tuple[int, int, int, int], tuple[tuple[int, ...], int, int]] = field(default_factory=dict)
    memo_orders: tuple[LiveOrder, ...] = ()  # the symbol's open orders while the context holds
    last_bid_layers: int = 0
    last_ask_layers: int = 0
