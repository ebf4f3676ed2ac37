"""Client order ids: ``phoenix-{symbol}-{ts}-{seq}``, at most 36 characters, unique across restarts.

``ts`` is the creation time in epoch milliseconds and ``seq`` a counter within that millisecond, both in
lower-case base 36 so that the id fits Binance's limit (``^[\\.A-Z\\:/a-z0-9_-]{1,36}$``) even for long
symbols: ``phoenix-ETHUSDC-mhx3k2a8-0`` (26 chars). The pair (ts, seq) strictly increases within a
process, and a restarted process seeds ``ts`` from its start time (``seed_ms``), which is later than every
id of the previous run, so ids never repeat across restarts. Symbols too long for the budget are
truncated (the exchange symbol is sent separately; the id only has to be unique and traceable).
"""

from __future__ import annotations

from dataclasses import dataclass

PREFIX = "phoenix"
MAX_LEN = 36
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


def to_base36(value: int) -> str:
    """Non-negative integer in lower-case base 36."""
    if value < 0:
        raise ValueError(f"base 36 needs a non-negative integer, got {value}")
    if value == 0:
        return "0"
    out: list[str] = []
    while value:
        value, rem = divmod(value, 36)
        out.append(_DIGITS[rem])
    return "".join(reversed(out))


@dataclass(frozen=True, slots=True)
class ParsedId:
    """The parts of one of our client order ids."""

    symbol: str
    ts_ms: int
    seq: int


def parse_client_order_id(client_order_id: str) -> ParsedId | None:
    """Split ``phoenix-{symbol}-{ts36}-{seq36}``; None when the id is not one of ours."""
    parts = client_order_id.split("-")
    if len(parts) != 4 or parts[0] != PREFIX or not parts[1]:
        return None
    try:
        return ParsedId(symbol=parts[1], ts_ms=int(parts[2], 36), seq=int(parts[3], 36))
    except ValueError:
        return None


def is_own_order_id(client_order_id: str) -> bool:
    """True for ids this module generates (used to adopt our orders found at the exchange)."""
    return parse_client_order_id(client_order_id) is not None


class OrderIdGenerator:
    """Generates strictly increasing, unique client order ids.

    Args:
        seed_ms: Epoch milliseconds at process start (the driver's wall clock); ids of this process never
            use an earlier ``ts``, which makes them unique against every previous run.
    """

    __slots__ = ("_last_ms", "_seq")

    def __init__(self, seed_ms: int = 0) -> None:
        self._last_ms = max(0, seed_ms)
        self._seq = -1

    def next_id(self, symbol: str, now_ns: int) -> str:
        """A new id for ``symbol`` created at ``now_ns`` (event time)."""
        now_ms = now_ns // 1_000_000
        if now_ms > self._last_ms:
            self._last_ms = now_ms
            self._seq = 0
        else:
            self._seq += 1
        ts = to_base36(self._last_ms)
        seq = to_base36(self._seq)
        budget = MAX_LEN - len(PREFIX) - len(ts) - len(seq) - 3
        sym = "".join(c for c in symbol if c.isalnum())[: max(1, budget)]
        return f"{PREFIX}-{sym}-{ts}-{seq}"

    def to_snapshot(self) -> dict[str, int]:
        """The generator's position, so a restored process continues after it."""
        return {"last_ms": self._last_ms, "seq": self._seq}

    def restore(self, snapshot: dict[str, int]) -> None:
        """Continue after a snapshot (never goes backwards)."""
        last = int(snapshot.get("last_ms", 0))
        seq = int(snapshot.get("seq", -1))
        if last > self._last_ms or (last == self._last_ms and seq > self._seq):
            self._last_ms, self._seq = last, seq
