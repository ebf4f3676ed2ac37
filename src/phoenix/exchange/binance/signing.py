"""Request signing: HMAC-SHA256 (hex) and Ed25519 (base64), REST query strings and ws-fapi payloads.

Secrets live only inside the signer objects; ``repr`` never shows them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable, Mapping
from typing import Protocol
from urllib.parse import quote

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key


class Signer(Protocol):
    """Signs a payload string for one API key."""

    @property
    def api_key(self) -> str:
        """The API key (sent in ``X-MBX-APIKEY`` / ``apiKey``)."""
        ...

    @property
    def supports_session_logon(self) -> bool:
        """True for Ed25519 keys (ws-fapi ``session.logon`` works only with them)."""
        ...

    def sign(self, payload: str) -> str:
        """Signature of ``payload`` as Binance expects it (not percent-encoded)."""
        ...


class HmacSigner:
    """HMAC-SHA256 signer: lowercase hex digest."""

    __slots__ = ("_api_key", "_secret")

    def __init__(self, api_key: str, secret: str) -> None:
        self._api_key = api_key
        self._secret = secret.encode()

    @property
    def api_key(self) -> str:
        """The API key."""
        return self._api_key

    @property
    def supports_session_logon(self) -> bool:
        """HMAC keys cannot log on a ws-fapi session (-4056)."""
        return False

    def sign(self, payload: str) -> str:
        """Hex HMAC-SHA256 of ``payload``."""
        return hmac.new(self._secret, payload.encode(), hashlib.sha256).hexdigest()

    def __repr__(self) -> str:
        return f"HmacSigner(api_key={_mask(self._api_key)})"


class Ed25519Signer:
    """Ed25519 signer: base64 signature."""

    __slots__ = ("_api_key", "_key")

    def __init__(self, api_key: str, private_key: Ed25519PrivateKey) -> None:
        self._api_key = api_key
        self._key = private_key

    @classmethod
    def from_seed_hex(cls, api_key: str, seed_hex: str) -> Ed25519Signer:
        """Build from a 32-byte raw private seed in hex."""
        return cls(api_key, Ed25519PrivateKey.from_private_bytes(bytes.fromhex(seed_hex)))

    @classmethod
    def from_pem(cls, api_key: str, pem: bytes, password: bytes | None = None) -> Ed25519Signer:
        """Build from a PEM (PKCS#8) private key."""
        key = load_pem_private_key(pem, password=password)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError("the PEM key is not an Ed25519 private key")
        return cls(api_key, key)

    @property
    def api_key(self) -> str:
        """The API key."""
        return self._api_key

    @property
    def supports_session_logon(self) -> bool:
        """Ed25519 keys can log on a ws-fapi session."""
        return True

    def sign(self, payload: str) -> str:
        """Base64 Ed25519 signature of ``payload``."""
        return base64.b64encode(self._key.sign(payload.encode())).decode()

    def __repr__(self) -> str:
        return f"Ed25519Signer(api_key={_mask(self._api_key)})"


def _mask(api_key: str) -> str:
    return f"{api_key[:4]}…" if len(api_key) > 8 else "…"


def encode_params(params: Iterable[tuple[str, str]]) -> str:
    """``k=v&k=v`` in the given order, values percent-encoded (JSON values included)."""
    return "&".join(f"{k}={quote(v, safe='')}" for k, v in params)


def signed_query(params: Iterable[tuple[str, str]], signer: Signer) -> str:
    """REST query string with ``signature`` appended last; the signed bytes are exactly the sent ones."""
    query = encode_params(params)
    return f"{query}&signature={quote(signer.sign(query), safe='')}"


def ws_api_payload(params: Mapping[str, object]) -> str:
    """The ws-fapi string to sign: all params but ``signature``, sorted by name, as ``k=v&k=v``."""
    return "&".join(f"{k}={_ws_value(params[k])}" for k in sorted(params) if k != "signature")


def _ws_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def signer_from_credentials(api_key: str, api_secret: str | None, ed25519_pem: bytes | None) -> Signer:
    """The signer for ``phoenix.config.Credentials`` fields: Ed25519 when a PEM key is given, else HMAC."""
    if ed25519_pem is not None:
        return Ed25519Signer.from_pem(api_key, ed25519_pem)
    if api_secret is None:
        raise ValueError("credentials need an API secret or an Ed25519 private key")
    return HmacSigner(api_key, api_secret)
