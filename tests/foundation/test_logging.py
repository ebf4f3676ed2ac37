"""JSON logs carry an ``event`` field and never a secret."""

from __future__ import annotations

import io
import json
import logging

import pytest

from phoenix.config import load_credentials, parse_config
from phoenix.errors import AuthError, RateLimitError, exchange_error_for
from phoenix.log import configure_logging, get_logger, register_secret

SECRETS = {
    "PHOENIX_API_KEY": "AKIAexampleKEY0123456789",
    "PHOENIX_API_SECRET": "sEcReTvAlUe9876543210xyz",
}


@pytest.fixture
def log_stream() -> io.StringIO:
    stream = io.StringIO()
    configure_logging("DEBUG", "json", stream=stream)
    return stream


def _lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_every_line_is_json_with_event(log_stream: io.StringIO) -> None:
    log = get_logger("phoenix.test")
    log.info("order_placed", symbol="ETHUSDC", qty="0.008")
    logging.getLogger("some.stdlib").warning("stdlib message %s", 42)
    lines = _lines(log_stream)
    assert [line["event"] for line in lines] == ["order_placed", "stdlib message 42"]
    assert lines[0]["symbol"] == "ETHUSDC" and lines[0]["level"] == "info"


def test_config_with_secrets_never_leaks(log_stream: io.StringIO) -> None:
    creds = load_credentials(SECRETS)
    assert creds is not None
    register_secret(creds.api_key)
    register_secret(creds.api_secret)
    cfg = parse_config({"symbols": [{"symbol": "ETHUSDC", "net_max": 0.2}]})
    log = get_logger("phoenix.test")
    log.info("config_loaded", config=cfg.model_dump(mode="json"), credentials=creds)
    log.info("startup", api_key=creds.api_key, headers={"X-MBX-APIKEY": creds.api_key})
    log.warning(
        "request_failed",
        url=f"/fapi/v1/order?symbol=ETHUSDC&signature=ab12cd34ef56ab12&apiKey={creds.api_key}",
    )
    log.info("listen_key_created", listenKey="pqr9XyZ0aBcDeFgHiJkLmNoPqRsTuVwXyZ")
    log.info("innocent_field", note=f"secret is {creds.api_secret} ok")
    try:
        raise RuntimeError(f"boom with {creds.api_secret}")
    except RuntimeError:
        log.exception("crashed")
    out = log_stream.getvalue()
    for value in (*SECRETS.values(), "ab12cd34ef56ab12", "pqr9XyZ0aBcDeFgHiJkLmNoPqRsTuVwXyZ"):
        assert value not in out
    assert out.count("***") >= 6
    assert len(_lines(log_stream)) == 6


def test_exchange_errors_are_typed_by_code() -> None:
    err = exchange_error_for(-1021, "Timestamp outside recvWindow")
    assert type(err).__name__ == "TimestampError" and err.code == -1021
    assert isinstance(exchange_error_for(-5022, "post only"), exchange_error_for(-1013, "x").__class__)
    assert isinstance(exchange_error_for(-2015, "bad key"), AuthError)
    limited = exchange_error_for(-1003, "too many", http_status=429, retry_after_s=7)
    assert isinstance(limited, RateLimitError) and limited.retry_after_s == 7
    assert type(exchange_error_for(None, "banned", http_status=418)).__name__ == "IpBannedError"
    assert type(exchange_error_for(-9999, "odd")).__name__ == "ExchangeError"


def test_errors_survive_pickling_across_processes() -> None:
    import pickle

    from phoenix.errors import ConfigError, IpBannedError

    cfg = pickle.loads(pickle.dumps(ConfigError(["global.x: bad"], "f.yaml")))
    assert cfg.problems == ["global.x: bad"] and cfg.source == "f.yaml"
    banned = pickle.loads(pickle.dumps(exchange_error_for(None, "ban", http_status=418, retry_after_s=30)))
    assert isinstance(banned, IpBannedError) and banned.retry_after_s == 30 and banned.http_status == 418
    assert str(banned) == str(exchange_error_for(None, "ban", http_status=418, retry_after_s=30))
