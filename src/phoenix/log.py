"""Structured JSON logging (structlog) with an ``event`` field on every line and secret redaction.

Every processor chain ends with ``redact_secrets`` before rendering, so API keys, secrets, signatures and
listen keys can never reach a log line, whatever the caller passes.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping, MutableMapping
from typing import Any, TextIO

import orjson
import structlog

REDACTED = "***"
# Key names whose values are secrets wherever they appear (case-insensitive substring match).
_SECRET_KEY_PARTS = (
    "secret",
    "api_key",
    "apikey",
    "signature",
    "listenkey",
    "listen_key",
    "password",
    "token",
    "private_key",
    "privatekey",
    "x-mbx-apikey",
    "authorization",
    "credential",
)
# Values that look like secrets inside free text: signature=..., listenKey=..., apiKey=... in URLs/bodies.
_SECRET_IN_TEXT = re.compile(
    r"(?i)(signature|listenKey|apiKey|api_key|secret|X-MBX-APIKEY)([\"']?\s*[=:]\s*[\"']?)([A-Za-z0-9+/=_\-]{6,})"
)
_known_secrets: set[str] = set()


def register_secret(value: str | None) -> None:
    """Remember a secret value so it is masked even when it appears under an innocent key or in text."""
    if value and len(value) >= 6:
        _known_secrets.add(value)


def _is_secret_key(key: str) -> bool:
    low = key.lower()
    return any(part in low for part in _SECRET_KEY_PARTS)


def _scrub_text(text: str) -> str:
    for secret in _known_secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return _SECRET_IN_TEXT.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)


def _scrub(value: Any, depth: int = 0) -> Any:
    if depth > 6:
        return value
    if isinstance(value, str):
        return _scrub_text(value)
    if isinstance(value, Mapping):
        return {
            k: (REDACTED if isinstance(k, str) and _is_secret_key(k) else _scrub(v, depth + 1))
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [_scrub(v, depth + 1) for v in value]
    if isinstance(value, BaseException):
        return _scrub_text(repr(value))
    return value


def redact_secrets(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: mask secret-named keys and secret-looking substrings in every value."""
    for key in list(event_dict):
        if _is_secret_key(key):
            event_dict[key] = REDACTED
        else:
            event_dict[key] = _scrub(event_dict[key])
    return event_dict


def _orjson_dumps(obj: Any, default: Any = None) -> str:
    return orjson.dumps(obj, default=default or str).decode()


def configure_logging(level: str = "INFO", fmt: str = "json", stream: TextIO | None = None) -> None:
    """Configure structlog (and route stdlib logging through it). ``fmt`` is ``json`` or ``console``."""
    out = stream if stream is not None else sys.stderr
    renderer: Any = (
        structlog.processors.JSONRenderer(serializer=_orjson_dumps)
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=out.isatty())
    )
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        redact_secrets,
    ]
    structlog.configure(
        processors=[*shared, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(file=out),
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(out)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
            foreign_pre_chain=[structlog.stdlib.add_logger_name, *shared],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("aiohttp.access", "asyncio", "watchfiles"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def get_logger(name: str | None = None, **context: Any) -> Any:
    """A structlog logger; call as ``log.info("order_placed", symbol=..., ...)`` (first arg = ``event``)."""
    return structlog.get_logger(name, **context) if name else structlog.get_logger(**context)
