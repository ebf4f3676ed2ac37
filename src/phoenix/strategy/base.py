"""The ``Strategy`` protocol and the strategy registry (``load_strategy("asmm")``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, runtime_checkable

from phoenix.core.store import SymbolState
from phoenix.core.types import QuoteSet


@runtime_checkable
class Strategy(Protocol):
    """Computes the desired, finished quote ladder of one symbol from its state.

    ``quote`` must be pure with respect to the outside world (reads ``state``, returns a new value) and
    must return a quote set already passed through ``strategy.finishing.finish_quotes``. When the state
    cannot be quoted (no two-sided book) it returns a quote set with no bids and no asks.

    Optional: ``inputs_key(state) -> Hashable``, the values ``quote`` reads besides the touch, position,
    config, filters and mark-price band (ASMM: clamped vol scaling and funding term). The trader uses it to
    reuse requotes that sent nothing; without it the trader assumes the quotes may change every second and
    with every mark/funding value.
    """

    name: str

    def quote(self, state: SymbolState, now_ns: int) -> QuoteSet:
        """The finished desired quotes of ``state.symbol`` at ``now_ns``."""
        ...


StrategyFactory = Callable[[], Strategy]

_REGISTRY: dict[str, StrategyFactory] = {}


def register_strategy(name: str, factory: StrategyFactory) -> None:
    """Register a strategy factory under ``name`` (re-registering a name replaces it)."""
    _REGISTRY[name] = factory


def available_strategies() -> tuple[str, ...]:
    """Names accepted by ``load_strategy``, sorted."""
    _ensure_builtins()
    return tuple(sorted(_REGISTRY))


def load_strategy(name: str) -> Strategy:
    """A new instance of the strategy registered as ``name``; KeyError listing the valid names."""
    _ensure_builtins()
    factory = _REGISTRY.get(name)
    if factory is None:
        raise KeyError(f"unknown strategy {name!r}; available: {', '.join(sorted(_REGISTRY))}")
    return factory()


def empty_quotes(state: SymbolState, now_ns: int) -> QuoteSet:
    """A quote set with no layers (nothing to quote, e.g. no two-sided book)."""
    return QuoteSet(symbol=state.symbol, ts_ns=now_ns, bids=(), asks=())


def _ensure_builtins() -> None:
    # imported lazily: the strategy modules import this one
    if "asmm" not in _REGISTRY:
        from phoenix.strategy.asmm import AsmmStrategy

        register_strategy("asmm", AsmmStrategy)
    if "avellaneda_stoikov" not in _REGISTRY:
        from phoenix.strategy.avellaneda_stoikov import AvellanedaStoikovStrategy

        register_strategy("avellaneda_stoikov", AvellanedaStoikovStrategy)
