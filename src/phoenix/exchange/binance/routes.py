"""Which stream route (``/public`` or ``/market``) serves which stream name (protocol §1, 2026 routing)."""

from __future__ import annotations

_PUBLIC_CHANNEL_PREFIXES = ("depth", "bookTicker", "trade", "rpiDepth")


def route_for_stream(stream: str) -> str:
    """``"public"`` for ``@depth*``, ``@bookTicker``, ``@trade``, ``@rpiDepth``; ``"market"`` for the rest.

    Binance acknowledges a subscription on the wrong route and then never delivers, so this must be exact.
    """
    channel = stream.split("@", 1)[1] if "@" in stream else stream
    if channel.startswith("aggTrade"):
        return "market"
    return "public" if channel.startswith(_PUBLIC_CHANNEL_PREFIXES) else "market"


def stream_names(
    symbol: str,
    *,
    depth: str | None = "depth@100ms",
    book_ticker: bool = True,
    trades: str | None = "trade",
    mark_price: str | None = "markPrice@1s",
) -> list[str]:
    """Stream names of one symbol (lower-case symbol, as Binance requires)."""
    s = symbol.lower()
    out = []
    if depth:
        out.append(f"{s}@{depth}")
    if book_ticker:
        out.append(f"{s}@bookTicker")
    if trades:
        out.append(f"{s}@{trades}")
    if mark_price:
        out.append(f"{s}@{mark_price}")
    return out


def combined_url(base: str, streams: list[str]) -> str:
    """Combined-stream URL ``<base>/stream?streams=a/b/c``."""
    return f"{base}/stream?streams={'/'.join(streams)}"
