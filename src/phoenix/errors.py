"""Typed exception hierarchy of the whole project.

Every external failure maps to one class with a stable name; exchange errors carry Binance's code.
"""

from __future__ import annotations


class PhoenixError(Exception):
    """Base class of every error Phoenix raises on purpose."""


class ConfigError(PhoenixError):
    """The configuration is invalid. ``problems`` lists one human-readable line per offending key."""

    def __init__(self, problems: list[str], source: str = "") -> None:
        self.problems = problems
        self.source = source
        where = f" in {source}" if source else ""
        super().__init__(f"invalid configuration{where}:\n" + "\n".join(f"  - {p}" for p in problems))

    def __reduce__(self) -> tuple[object, ...]:
        # Keep the structured fields across process boundaries (sweeps run in worker processes).
        return (type(self), (self.problems, self.source))


class SecretError(ConfigError):
    """A required secret (API key, secret, private key) is missing or unreadable."""


class RiskError(PhoenixError):
    """A risk invariant was violated in a way that must stop trading (not raised for normal trims)."""


class StateError(PhoenixError):
    """Persistent state is inconsistent or locked by another instance."""


class ExchangeError(PhoenixError):
    """An error reported by (or while talking to) the exchange. ``code`` is Binance's error code, if any."""

    def __init__(self, code: int | None, msg: str, *, http_status: int | None = None) -> None:
        self.code = code
        self.msg = msg
        self.http_status = http_status
        label = f"{code}" if code is not None else "n/a"
        super().__init__(f"[{type(self).__name__} code={label} http={http_status}] {msg}")

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild_exchange_error, (type(self), self.code, self.msg, dict(self.__dict__)))


class ExchangeUnavailable(ExchangeError):
    """Network failure, timeout or 5xx: the outcome of the request is unknown."""


class RateLimitError(ExchangeError):
    """HTTP 429 / -1003: too many requests. ``retry_after_s`` is the server's Retry-After."""

    def __init__(
        self, code: int | None, msg: str, *, http_status: int | None = 429, retry_after_s: float = 1.0
    ) -> None:
        super().__init__(code, msg, http_status=http_status)
        self.retry_after_s = retry_after_s


class IpBannedError(RateLimitError):
    """HTTP 418: the IP is banned until Retry-After."""


class TimestampError(ExchangeError):
    """-1021: timestamp outside recvWindow; resync the clock and retry once."""


class AuthError(ExchangeError):
    """-2014/-2015/-1022: bad API key, permissions or signature."""


class InvalidOrderError(ExchangeError):
    """The exchange rejected the order's parameters (filters, precision, reduce-only...)."""


class PostOnlyRejected(InvalidOrderError):
    """-5022: a post-only (GTX) order would have taken liquidity."""


class InsufficientMarginError(InvalidOrderError):
    """-2019: margin is insufficient."""


class UnknownOrderError(ExchangeError):
    """-2011 / -2013: the order does not exist (cancel or query of an unknown/terminal order)."""


def _rebuild_exchange_error(
    cls: type[ExchangeError], code: int | None, msg: str, state: dict[str, object]
) -> ExchangeError:
    err = cls.__new__(cls)
    ExchangeError.__init__(err, code, msg, http_status=state.get("http_status"))  # type: ignore[arg-type]
    err.__dict__.update(state)
    return err


_BY_CODE: dict[int, type[ExchangeError]] = {
    -1003: RateLimitError,
    -1021: TimestampError,
    -1022: AuthError,
    -2014: AuthError,
    -2015: AuthError,
    -1013: InvalidOrderError,
    -1111: InvalidOrderError,
    -1102: InvalidOrderError,
    -1106: InvalidOrderError,
    -1116: InvalidOrderError,
    -1117: InvalidOrderError,
    -2010: InvalidOrderError,
    -2022: InvalidOrderError,
    -4003: InvalidOrderError,
    -4014: InvalidOrderError,
    -4016: InvalidOrderError,
    -4023: InvalidOrderError,
    -4024: InvalidOrderError,
    -4164: InvalidOrderError,
    -5022: PostOnlyRejected,
    -2019: InsufficientMarginError,
    -2011: UnknownOrderError,
    -2013: UnknownOrderError,
}


def exchange_error_for(
    code: int | None, msg: str, *, http_status: int | None = None, retry_after_s: float | None = None
) -> ExchangeError:
    """Build the typed exception for a Binance error code / HTTP status."""
    if http_status == 418:
        return IpBannedError(code, msg, http_status=418, retry_after_s=retry_after_s or 60.0)
    if http_status == 429:
        return RateLimitError(code, msg, http_status=429, retry_after_s=retry_after_s or 1.0)
    if http_status is not None and http_status >= 500:
        return ExchangeUnavailable(code, msg, http_status=http_status)
    cls = _BY_CODE.get(code) if code is not None else None
    if cls is RateLimitError:
        return RateLimitError(code, msg, http_status=http_status, retry_after_s=retry_after_s or 1.0)
    if cls is None:
        return ExchangeError(code, msg, http_status=http_status)
    return cls(code, msg, http_status=http_status)
