"""Parameter parsing shared by the simulator's REST and WebSocket APIs (Binance codes on bad input)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import orjson

from phoenix.exchange.sim.sim_types import SimError

Params = dict[str, str]


def normalise_params(raw: Mapping[str, object]) -> Params:
    """JSON-typed params (ws-fapi, batch items) → the string form REST would carry."""
    out: Params = {}
    for key, value in raw.items():
        if value is None:
            continue
        if isinstance(value, bool):
            out[key] = "true" if value else "false"
        elif isinstance(value, list | dict):
            out[key] = orjson.dumps(value).decode()
        else:
            out[key] = str(value)
    return out


def missing(name: str) -> SimError:
    """``-1102`` for a missing mandatory parameter."""
    return SimError(-1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed.")


def invalid(name: str) -> SimError:
    """``-1130`` for an invalid parameter value."""
    return SimError(-1130, f"Data sent for parameter '{name}' is not valid.")


def require(p: Params, name: str) -> str:
    """The value of a mandatory parameter."""
    value = p.get(name)
    if value is None or value == "":
        raise missing(name)
    return value


def opt_int(p: Params, name: str) -> int | None:
    """An optional integer parameter (``-1130`` if malformed)."""
    value = p.get(name)
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError:
        raise invalid(name) from None


def parse_bool(p: Params, name: str) -> bool:
    """``"true"``/``"false"`` (case-insensitive); absent = false."""
    value = p.get(name)
    if value is None or value == "":
        return False
    lowered = value.lower()
    if lowered not in ("true", "false"):
        raise invalid(name)
    return lowered == "true"


def parse_json_list(p: Params, *names: str) -> list[Any] | None:
    """The first present JSON-array parameter among ``names`` (``-1130`` if not a JSON array)."""
    for name in names:
        value = p.get(name)
        if value is None or value == "":
            continue
        try:
            parsed = orjson.loads(value)
        except orjson.JSONDecodeError:
            raise invalid(name) from None
        if not isinstance(parsed, list):
            raise invalid(name)
        return parsed
    return None


def time_window(
    items: list[Any], p: Params, time_of: Callable[[Any], int], default_limit: int, max_limit: int
) -> list[Any]:
    """Filter by ``startTime``/``endTime``; cut to ``limit`` (oldest first after a start, else newest)."""
    start = opt_int(p, "startTime")
    end = opt_int(p, "endTime")
    limit = opt_int(p, "limit") or default_limit
    limit = max(1, min(limit, max_limit))
    if start is not None:
        items = [x for x in items if time_of(x) >= start]
    if end is not None:
        items = [x for x in items if time_of(x) <= end]
    if start is not None:
        return items[:limit]
    return items[-limit:]
