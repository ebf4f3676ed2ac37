"""Queue-position models for our resting orders on L2 data (after hftbacktest's queue models).

Each own order keeps ``front_qty``: the displayed quantity (base units) still ahead of it at its price.
A new order joins the back of its level (``front_qty`` = displayed qty). It fills when trades at its price
have consumed more than ``front_qty``; the excess (capped by the trade) is its fill.

- ``RiskAverseQueue``: only trades at our price advance us; a depth decrease never moves us forward,
  except that ``front_qty`` can never exceed the level's displayed qty (cancellations from the front
  are assumed to come from behind us as long as possible).
- ``ProbQueue``: a depth decrease not explained by trades is split between ahead and behind with
  probability ``p = f(back) / (f(back) + f(front))`` (or variants), as hftbacktest's prob-queue models.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol


class QueuePos:
    """Mutable queue state of one own order."""

    __slots__ = ("cum_trade_qty", "front_qty")

    def __init__(self, front_qty: float) -> None:
        self.front_qty = front_qty
        self.cum_trade_qty = 0.0


class QueueModel(Protocol):
    """How our place in the queue moves with trades and depth changes at our price."""

    @property
    def name(self) -> str:
        """Model name."""
        ...

    def on_trade(self, pos: QueuePos, trade_qty: float) -> float:
        """A trade of ``trade_qty`` printed at our price; returns the qty that reached us (0 if none)."""
        ...

    def on_depth_change(self, pos: QueuePos, prev_qty: float, new_qty: float) -> None:
        """The displayed qty at our price changed from ``prev_qty`` to ``new_qty``."""
        ...


def _trade(pos: QueuePos, trade_qty: float) -> float:
    pos.front_qty -= trade_qty
    pos.cum_trade_qty += trade_qty
    if pos.front_qty >= 0.0:
        return 0.0
    reached = -pos.front_qty  # front was >= 0, so this is at most trade_qty
    pos.front_qty = 0.0
    return reached


@dataclass(frozen=True, slots=True)
class RiskAverseQueue:
    """Advance only on trades at our price; never gain from cancellations beyond the displayed qty."""

    name: str = "risk_averse"

    def on_trade(self, pos: QueuePos, trade_qty: float) -> float:
        """Trades at our price consume the queue ahead, then reach us."""
        return _trade(pos, trade_qty)

    def on_depth_change(self, pos: QueuePos, prev_qty: float, new_qty: float) -> None:
        """Clamp to the displayed qty (we cannot be behind more than what is shown)."""
        pos.cum_trade_qty = 0.0
        if pos.front_qty > new_qty:
            pos.front_qty = new_qty


ProbFunc = Callable[[float, float], float]
"""(front, back) → p: the share of an unexplained depth decrease attributed to the queue *behind* us."""


def power_prob(n: float) -> ProbFunc:
    """hftbacktest ``PowerProbQueueFunc(n)``: p = back^n / (back^n + front^n)."""

    def prob(front: float, back: float) -> float:
        fb = float(back**n)
        return fb / (fb + float(front**n))

    return prob


def power_prob2(n: float) -> ProbFunc:
    """hftbacktest ``PowerProbQueueFunc2(n)``: p = back^n / (back + front)^n."""

    def prob(front: float, back: float) -> float:
        return float(back**n / (back + front) ** n)

    return prob


def power_prob3(n: float) -> ProbFunc:
    """hftbacktest ``PowerProbQueueFunc3(n)``: p = 1 − (front / (front + back))^n."""

    def prob(front: float, back: float) -> float:
        return 1.0 - float((front / (front + back)) ** n)

    return prob


def log_prob(front: float, back: float) -> float:
    """hftbacktest ``LogProbQueueFunc``: p = ln(1+back) / (ln(1+back) + ln(1+front))."""
    fb = math.log1p(back)
    return fb / (fb + math.log1p(front))


def log_prob2(front: float, back: float) -> float:
    """hftbacktest ``LogProbQueueFunc2``: p = ln(1+back) / ln(1+back+front)."""
    return math.log1p(back) / math.log1p(back + front)


@dataclass(frozen=True, slots=True)
class ProbQueue:
    """Probabilistic queue: split unexplained depth decreases ahead/behind with ``prob(front, back)``."""

    prob: ProbFunc
    name: str = "prob"

    def on_trade(self, pos: QueuePos, trade_qty: float) -> float:
        """Trades at our price consume the queue ahead, then reach us."""
        return _trade(pos, trade_qty)

    def on_depth_change(self, pos: QueuePos, prev_qty: float, new_qty: float) -> None:
        """Attribute the part of a decrease not explained by trades ahead with probability ``1 − p``."""
        chg = prev_qty - new_qty - pos.cum_trade_qty
        pos.cum_trade_qty = 0.0
        front = pos.front_qty
        if chg <= 0.0:
            if front > new_qty:
                pos.front_qty = new_qty
            return
        back = prev_qty - front
        try:
            p = self.prob(front, back)
        except (ZeroDivisionError, ValueError, OverflowError):
            p = 1.0
        if not math.isfinite(p):
            p = 1.0
        est_front = front - (1.0 - p) * chg + min(back - p * chg, 0.0)
        pos.front_qty = max(0.0, min(est_front, new_qty))


QUEUE_MODELS: dict[str, Callable[[], QueueModel]] = {
    "risk_averse": RiskAverseQueue,
    "prob_power2": lambda: ProbQueue(power_prob(2.0), "prob_power2"),
    "prob_power3": lambda: ProbQueue(power_prob(3.0), "prob_power3"),
    "prob_log": lambda: ProbQueue(log_prob, "prob_log"),
    "prob_log2": lambda: ProbQueue(log_prob2, "prob_log2"),
    "prob_power2_v2": lambda: ProbQueue(power_prob2(2.0), "prob_power2_v2"),
    "prob_power3_v3": lambda: ProbQueue(power_prob3(3.0), "prob_power3_v3"),
}


def make_queue_model(name: str) -> QueueModel:
    """A queue model by name: ``risk_averse``, ``prob_power2``, ``prob_power3``, ``prob_log``, ``prob_log2``,
    ``prob_power2_v2``, ``prob_power3_v3``."""
    try:
        return QUEUE_MODELS[name]()
    except KeyError:
        raise ValueError(f"unknown queue model {name!r}; choose from {sorted(QUEUE_MODELS)}") from None
