"""Quoting strategies (pure): the Strategy protocol, the registry, ASMM, Avellaneda-Stoikov, finishing."""

from phoenix.strategy.base import Strategy, available_strategies, load_strategy, register_strategy
from phoenix.strategy.finishing import finish_quotes, refinish

__all__ = [
    "Strategy",
    "available_strategies",
    "finish_quotes",
    "load_strategy",
    "refinish",
    "register_strategy",
]
