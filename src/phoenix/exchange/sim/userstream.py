"""User data streams of the simulator: listenKeys and delivery of private events (protocol doc §7).

One active listenKey per account: POST returns the same key and extends it, PUT extends it (``-1125``
if unknown or lapsed), DELETE expires it. A key lapses 60 minutes after creation or the last keepalive;
connections on a lapsed key receive ``listenKeyExpired`` and then nothing.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass

import orjson

from phoenix.core.types import SymbolFilters
from phoenix.exchange.sim import wire_user
from phoenix.exchange.sim.sim_types import AccountId, AccountUpdatePublished, OrderUpdatePublished, SimError
from phoenix.exchange.sim.streams import StreamConnection

LISTEN_KEY_VALIDITY_MS = 60 * 60 * 1000


@dataclass(slots=True)
class ListenKey:
    """One listenKey and its lifetime."""

    key: str
    account: AccountId
    api_key: str
    expires_ms: int
    alive: bool = True


class UserStreamHub:
    """ListenKey registry and fan-out of ORDER_TRADE_UPDATE / TRADE_LITE / ACCOUNT_UPDATE / … to sockets.

    Args:
        filters: Filters per symbol (for exact decimal strings).
        clock_ms: Server clock (ms).
        validity_ms: Lifetime of a key after creation/keepalive.
    """

    def __init__(
        self,
        filters: dict[str, SymbolFilters],
        clock_ms: Callable[[], int],
        validity_ms: int = LISTEN_KEY_VALIDITY_MS,
    ) -> None:
        self._filters = filters
        self._clock_ms = clock_ms
        self.validity_ms = validity_ms
        self._keys: dict[str, ListenKey] = {}
        self._by_account: dict[AccountId, ListenKey] = {}
        self._conns: dict[str, set[StreamConnection]] = {}

    # ------------------------------------------------------------------ listenKey REST / ws-fapi

    def create(self, account: AccountId, api_key: str) -> str:
        """POST: the account's active key (extended) or a new one."""
        now = self._clock_ms()
        current = self._by_account.get(account)
        if current is not None and current.alive and current.expires_ms > now:
            current.expires_ms = now + self.validity_ms
            return current.key
        key = secrets.token_hex(32)
        entry = ListenKey(key=key, account=account, api_key=api_key, expires_ms=now + self.validity_ms)
        self._keys[key] = entry
        self._by_account[account] = entry
        return key

    def keepalive(self, account: AccountId, listen_key: str | None) -> str:
        """PUT: extend the account's key (``-1125`` if none is alive)."""
        now = self._clock_ms()
        entry = self._keys.get(listen_key) if listen_key else self._by_account.get(account)
        if entry is None or entry.account != account or not entry.alive or entry.expires_ms <= now:
            raise SimError(
                -1125,
                "This listenKey does not exist. Please use POST /fapi/v1/listenKey to recreate listenKey",
            )
        entry.expires_ms = now + self.validity_ms
        return entry.key

    def delete(self, account: AccountId, listen_key: str | None) -> None:
        """DELETE: expire the account's key now (pushes ``listenKeyExpired``)."""
        entry = self._keys.get(listen_key) if listen_key else self._by_account.get(account)
        if entry is None or entry.account != account or not entry.alive:
            raise SimError(
                -1125,
                "This listenKey does not exist. Please use POST /fapi/v1/listenKey to recreate listenKey",
            )
        self._expire(entry)

    def lookup(self, listen_key: str) -> ListenKey | None:
        """A live key, or None."""
        entry = self._keys.get(listen_key)
        if entry is None or not entry.alive or entry.expires_ms <= self._clock_ms():
            return None
        return entry

    def expire_for_api_key(self, api_key: str | None) -> int:
        """Fault injection: expire the live key(s) of one API key (all when None)."""
        victims = [e for e in self._keys.values() if e.alive and (api_key is None or e.api_key == api_key)]
        for entry in victims:
            self._expire(entry)
        return len(victims)

    def expire_due(self) -> int:
        """Expire keys whose validity ran out (called periodically)."""
        now = self._clock_ms()
        due = [e for e in self._keys.values() if e.alive and e.expires_ms <= now]
        for entry in due:
            self._expire(entry)
        return len(due)

    def _expire(self, entry: ListenKey) -> None:
        entry.alive = False
        if self._by_account.get(entry.account) is entry:
            del self._by_account[entry.account]
        now = self._clock_ms()
        frame = orjson.dumps(wire_user.listen_key_expired(entry.key, now))
        for conn in self._conns.pop(entry.key, set()):
            if not conn.silenced and _allowed(conn, "listenKeyExpired"):
                conn.enqueue(frame)
            conn.silenced = True

    # ------------------------------------------------------------------ connections

    def attach(self, conn: StreamConnection, listen_key: str, *, deliver: bool = True) -> None:
        """Bind a socket to a live key (``deliver=False``: acknowledged but silent, strict mis-route)."""
        conn.listen_key = listen_key
        if deliver:
            self._conns.setdefault(listen_key, set()).add(conn)
        else:
            conn.silenced = True

    def detach(self, conn: StreamConnection) -> None:
        """Forget a closed socket."""
        if conn.listen_key is not None:
            conns = self._conns.get(conn.listen_key)
            if conns is not None:
                conns.discard(conn)

    def drop(self) -> int:
        """Close every user-data socket (fault injection / shutdown)."""
        count = 0
        for conns in self._conns.values():
            for conn in conns:
                conn.closed = True
                conn.queue.clear()
                conn.wakeup.set()
                count += 1
        return count

    # ------------------------------------------------------------------ publishing

    def _targets(self, account: AccountId) -> set[StreamConnection]:
        entry = self._by_account.get(account)
        if entry is None:
            return set()
        return self._conns.get(entry.key, set())

    def _deliver(self, account: AccountId, event_type: str, payload: dict[str, object], now_ms: int) -> None:
        targets = self._targets(account)
        if not targets:
            return
        frame = orjson.dumps(payload)
        for conn in targets:
            if _allowed(conn, event_type):
                conn.enqueue(frame)

    def on_order_update(self, ev: OrderUpdatePublished) -> None:
        """TRADE_LITE (fills only) then ORDER_TRADE_UPDATE."""
        if not self._targets(ev.account):
            return
        now = self._clock_ms()
        filters = self._filters[ev.order.symbol]
        if ev.exec_type.value == "TRADE":
            self._deliver(ev.account, "TRADE_LITE", wire_user.trade_lite(filters, ev, now), now)
        self._deliver(ev.account, "ORDER_TRADE_UPDATE", wire_user.order_trade_update(filters, ev, now), now)

    def on_account_update(self, ev: AccountUpdatePublished) -> None:
        """ACCOUNT_UPDATE."""
        if not self._targets(ev.account):
            return
        now = self._clock_ms()
        self._deliver(ev.account, "ACCOUNT_UPDATE", wire_user.account_update(self._filters, ev, now), now)

    def publish_raw(self, account: AccountId, payload: dict[str, object]) -> None:
        """Any other private event (e.g. ACCOUNT_CONFIG_UPDATE) for an account."""
        event_type = str(payload.get("e", ""))
        self._deliver(account, event_type, payload, self._clock_ms())


def _allowed(conn: StreamConnection, event_type: str) -> bool:
    return conn.events_allowed is None or event_type in conn.events_allowed
