"""API keys, request signatures and the timestamp window of the simulated exchange.

Implements protocol doc §2: HMAC-SHA256 (hex) and Ed25519 (base64) signatures over REST
``totalParams`` (raw query string immediately followed by the raw body, ``signature`` excluded)
and over the ws-fapi payload (all params except ``signature``, sorted by name, ``k=v`` joined
with ``&``), plus the ``timestamp``/``recvWindow`` rule that yields ``-1021``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import unquote, unquote_plus

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

DEFAULT_API_KEY = "phoenix-sim-key"
DEFAULT_API_SECRET = "phoenix-sim-secret"
DEFAULT_ED25519_API_KEY = "phoenix-sim-ed25519-key"
DEFAULT_RECV_WINDOW_MS = 5000
MAX_RECV_WINDOW_MS = 60000
MAX_AHEAD_MS = 1000


class KeyType(StrEnum):
    """How requests signed with a key are verified."""

    HMAC = "HMAC"
    ED25519 = "ED25519"


@dataclass(frozen=True, slots=True)
class ApiCredential:
    """One API key known to the simulator.

    ``secret`` is the HMAC secret for HMAC keys; ``public_key`` the Ed25519 public key for Ed25519 keys.
    """

    api_key: str
    key_type: KeyType
    secret: str = ""
    public_key: Ed25519PublicKey | None = None

    @classmethod
    def hmac_key(cls, api_key: str, secret: str) -> ApiCredential:
        """Build an HMAC-SHA256 credential."""
        return cls(api_key=api_key, key_type=KeyType.HMAC, secret=secret)

    @classmethod
    def ed25519_key(cls, api_key: str, public_key: Ed25519PublicKey | bytes) -> ApiCredential:
        """Build an Ed25519 credential from a public key object or its 32 raw bytes."""
        key = Ed25519PublicKey.from_public_bytes(public_key) if isinstance(public_key, bytes) else public_key
        return cls(api_key=api_key, key_type=KeyType.ED25519, public_key=key)


class AuthFailure(Exception):
    """A request failed authentication; carries the Binance code, message and HTTP status."""

    def __init__(self, code: int, msg: str, http_status: int) -> None:
        super().__init__(f"{code}: {msg}")
        self.code = code
        self.msg = msg
        self.http_status = http_status


def invalid_signature() -> AuthFailure:
    """The ``-1022`` failure."""
    return AuthFailure(-1022, "Signature for this request is not valid.", 400)


def invalid_api_key() -> AuthFailure:
    """The ``-2015`` failure (HTTP 401)."""
    return AuthFailure(-2015, "Invalid API-key, IP, or permissions for action.", 401)


def bad_api_key_format() -> AuthFailure:
    """The ``-2014`` failure (HTTP 401)."""
    return AuthFailure(-2014, "API-key format invalid.", 401)


def sign_hmac(secret: str, payload: str) -> str:
    """Lower-case hex HMAC-SHA256 of ``payload`` keyed by ``secret``."""
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def sign_ed25519(private_key: Ed25519PrivateKey, payload: str) -> str:
    """Base64 Ed25519 signature of ``payload`` (not percent-encoded)."""
    return base64.b64encode(private_key.sign(payload.encode())).decode()


def split_signature(raw: str) -> tuple[str, str | None]:
    """Split a raw query string or form body into (``raw`` without its last ``signature`` param, value).

    Binance requires ``signature`` to be the last parameter of the part that carries it. The returned
    signature value is still percent-encoded as received.
    """
    if raw.startswith("signature="):
        return "", raw[len("signature=") :]
    idx = raw.rfind("&signature=")
    if idx < 0:
        return raw, None
    return raw[:idx], raw[idx + len("&signature=") :]


def ws_payload(params: Mapping[str, object]) -> str:
    """The ws-fapi string to sign: every param except ``signature``, sorted by name, ``k=v&k=v``."""
    return "&".join(f"{k}={_ws_value(params[k])}" for k in sorted(params) if k != "signature")


def _ws_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class KeyRing:
    """API keys by key string, each bound to one account id."""

    def __init__(self) -> None:
        self._by_key: dict[str, tuple[ApiCredential, int]] = {}

    def add(self, credential: ApiCredential, account_id: int) -> None:
        """Register ``credential`` for ``account_id`` (replaces an existing key of the same name)."""
        self._by_key[credential.api_key] = (credential, account_id)

    def __contains__(self, api_key: object) -> bool:
        return api_key in self._by_key

    def lookup(self, api_key: str | None) -> tuple[ApiCredential, int]:
        """Return (credential, account id) for a key, or raise ``-2014``/``-2015``."""
        if not api_key:
            raise invalid_api_key()
        if len(api_key) > 256:
            raise bad_api_key_format()
        found = self._by_key.get(api_key)
        if found is None:
            raise invalid_api_key()
        return found

    def keys(self) -> list[str]:
        """All registered API key strings."""
        return list(self._by_key)


def verify_signature(credential: ApiCredential, payloads: tuple[str, ...], signature: str) -> bool:
    """True if ``signature`` (already percent-decoded) signs any of ``payloads`` for ``credential``."""
    if credential.key_type is KeyType.HMAC:
        sig = signature.strip().lower()
        return any(hmac.compare_digest(sign_hmac(credential.secret, p), sig) for p in payloads)
    if credential.public_key is None:
        return False
    try:
        raw_sig = base64.b64decode(signature.replace(" ", "+"), validate=True)
    except (binascii.Error, ValueError):
        return False
    for payload in payloads:
        try:
            credential.public_key.verify(raw_sig, payload.encode())
        except InvalidSignature:
            continue
        return True
    return False


def verify_rest(credential: ApiCredential, raw_query: str, raw_body: str) -> None:
    """Verify a SIGNED REST request against the exact bytes received; raise ``-1022`` on mismatch.

    Accepts a signature over the raw ``totalParams`` or over its percent-decoded form (protocol doc
    §2.3: clients differ in how they encode JSON-valued params).
    """
    query, q_sig = split_signature(raw_query)
    body, b_sig = split_signature(raw_body)
    raw_sig = q_sig if q_sig is not None else b_sig
    if raw_sig is None:
        raise AuthFailure(
            -1102, "Mandatory parameter 'signature' was not sent, was empty/null, or malformed.", 400
        )
    total = query + body
    candidates = [total]
    for decoded in (unquote(total), unquote_plus(total)):
        if decoded not in candidates:
            candidates.append(decoded)
    if not verify_signature(credential, tuple(candidates), unquote(raw_sig)):
        raise invalid_signature()


def verify_ws(credential: ApiCredential, params: Mapping[str, object]) -> None:
    """Verify a ws-fapi request signed over its sorted params; raise ``-1022`` on mismatch."""
    signature = params.get("signature")
    if not isinstance(signature, str) or not signature:
        raise AuthFailure(
            -1102, "Mandatory parameter 'signature' was not sent, was empty/null, or malformed.", 400
        )
    if not verify_signature(credential, (ws_payload(params),), signature):
        raise invalid_signature()


def check_timestamp(timestamp: object, recv_window: object, server_ms: int) -> None:
    """Apply Binance's window: accept iff ``ts < server + 1000`` and ``server - ts <= recvWindow``.

    Raises ``-1102`` for a missing timestamp, ``-1130`` for a bad recvWindow, ``-1021`` otherwise.
    """
    ts = _as_int(timestamp)
    if ts is None:
        raise AuthFailure(
            -1102, "Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed.", 400
        )
    window = DEFAULT_RECV_WINDOW_MS if recv_window in (None, "") else _as_int(recv_window)
    if window is None or window <= 0 or window > MAX_RECV_WINDOW_MS:
        raise AuthFailure(-1130, "Data sent for parameter 'recvWindow' is not valid.", 400)
    if ts >= server_ms + MAX_AHEAD_MS:
        raise AuthFailure(-1021, "Timestamp for this request was 1000ms ahead of the server's time.", 400)
    if server_ms - ts > window:
        raise AuthFailure(-1021, "Timestamp for this request is outside of the recvWindow.", 400)


def _as_int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            try:
                as_float = float(value)
            except ValueError:
                return None
            return int(as_float) if as_float.is_integer() else None
    return None
