"""Post-trade guard: the trading state of one symbol (active / reducing-only / halted) and its moves.

Transitions (each returns a ``StateChange`` fact with its reason):

============== ===================================== ===================================================
from           trigger                               to
============== ===================================== ===================================================
active         |position| > net_max after a fill /    reducing_only until now + ``halt_seconds``
               position sync
reducing_only  another breach                        reducing_only, deadline pushed out
reducing_only  deadline passed and |pos| ≤ net_max   active
any            ``halt(reason)`` (stop-loss, reconcile halted (latched: only ``resume`` leaves it)
               mismatch)
halted         ``resume``                            active (or reducing_only if still above net_max)
============== ===================================== ===================================================

In reducing-only each side may only reduce the position; the reducing side is always allowed.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

_NS = 1_000_000_000


class TradingState(StrEnum):
    """What a symbol may do."""

    ACTIVE = "active"
    REDUCING_ONLY = "reducing_only"
    HALTED = "halted"


@dataclass(frozen=True, slots=True)
class StateChange:
    """A symbol's trading state changed."""

    symbol: str
    old: TradingState
    new: TradingState
    reason: str
    until_ns: int = 0  # for reducing_only: when the pause may end


class SymbolGuard:
    """The trading state of one symbol."""

    __slots__ = ("halt_reason", "state", "symbol", "until_ns")

    def __init__(self, symbol: str) -> None:
        self.symbol = symbol
        self.state = TradingState.ACTIVE
        self.until_ns = 0
        self.halt_reason = ""

    def _move(self, new: TradingState, reason: str) -> StateChange | None:
        old = self.state
        self.state = new
        if old is new and new is not TradingState.REDUCING_ONLY:
            return None
        return StateChange(self.symbol, old, new, reason, self.until_ns)

    def on_position(
        self, position_steps: int, net_max_steps: int, halt_seconds: float, now_ns: int
    ) -> StateChange | None:
        """Re-check after a fill or position sync; a breach pauses new exposure for ``halt_seconds``."""
        if self.state is TradingState.HALTED:
            return None
        if abs(position_steps) > net_max_steps:
            first = self.state is TradingState.ACTIVE
            self.until_ns = now_ns + int(halt_seconds * _NS)
            change = self._move(TradingState.REDUCING_ONLY, "net_max_breach")
            return change if first else None
        return None

    def on_time(self, position_steps: int, net_max_steps: int, now_ns: int) -> StateChange | None:
        """End a pause whose deadline passed, once the position is back within net_max."""
        if (
            self.state is TradingState.REDUCING_ONLY
            and now_ns >= self.until_ns
            and abs(position_steps) <= net_max_steps
        ):
            return self._move(TradingState.ACTIVE, "halt_expired")
        return None

    def halt(self, reason: str) -> StateChange | None:
        """Latch the halted state (only ``resume`` clears it)."""
        if self.state is TradingState.HALTED:
            return None
        self.halt_reason = reason
        return self._move(TradingState.HALTED, reason)

    def resume(
        self, position_steps: int, net_max_steps: int, halt_seconds: float, now_ns: int
    ) -> StateChange:
        """Explicit operator resume: active, or reducing-only while the position is above net_max."""
        old = self.state
        self.halt_reason = ""
        if abs(position_steps) > net_max_steps:
            self.state = TradingState.REDUCING_ONLY
            self.until_ns = now_ns + int(halt_seconds * _NS)
        else:
            self.state = TradingState.ACTIVE
            self.until_ns = 0
        return StateChange(self.symbol, old, self.state, "resume", self.until_ns)

    @property
    def reducing_only(self) -> bool:
        """True while paused."""
        return self.state is TradingState.REDUCING_ONLY

    @property
    def halted(self) -> bool:
        """True while halted."""
        return self.state is TradingState.HALTED

    def to_snapshot(self) -> dict[str, object]:
        """State as plain data."""
        return {"state": self.state.value, "until_ns": self.until_ns, "halt_reason": self.halt_reason}

    def restore(self, snapshot: dict[str, object]) -> None:
        """Restore from ``to_snapshot`` (a halted latch survives restarts)."""
        self.state = TradingState(str(snapshot.get("state", "active")))
        until = snapshot.get("until_ns", 0)
        self.until_ns = int(until) if isinstance(until, int | float) else 0
        self.halt_reason = str(snapshot.get("halt_reason", ""))
