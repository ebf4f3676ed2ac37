"""Signing against the protocol doc's test vectors (HMAC, Ed25519, ws-fapi sorted payload)."""

from __future__ import annotations

from urllib.parse import unquote

from phoenix.exchange.binance.signing import (
    Ed25519Signer,
    HmacSigner,
    signed_query,
    ws_api_payload,
)

SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
TOTAL = (
    "symbol=ETHUSDC&side=BUY&type=LIMIT&timeInForce=GTX&quantity=0.010&price=2500.00"
    "&newClientOrderId=mm-1&recvWindow=5000&timestamp=1700000000000"
)
SEED = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
ED_SIG_ENCODED = (
    "LhM%2BDAevQmajkgEVy9bMSS%2FqSHK4LWZjLn4ZHo4RElZBSpoKEejvTx21%2FHN2H21MGlkCBeCMrNdrIX8%2FEuHPDA%3D%3D"
)
ED_SIG = "LhM+DAevQmajkgEVy9bMSS/qSHK4LWZjLn4ZHo4RElZBSpoKEejvTx21/HN2H21MGlkCBeCMrNdrIX8/EuHPDA=="


def test_hmac_signature_matches_protocol_vector() -> None:
    assert (
        HmacSigner("k", SECRET).sign(TOTAL)
        == "429ef2633812c94fd5681a1b7484dc45bcbcae152b6d995bad2a5f35e64f4d71"
    )


def test_ed25519_signature_matches_protocol_vector() -> None:
    assert Ed25519Signer.from_seed_hex("k", SEED).sign(TOTAL) == ED_SIG


def test_signed_query_signs_exact_sent_bytes_and_percent_encodes_signature() -> None:
    pairs = [tuple(kv.split("=", 1)) for kv in TOTAL.split("&")]
    query = signed_query(pairs, Ed25519Signer.from_seed_hex("k", SEED))  # type: ignore[arg-type]
    body, sig = query.rsplit("&signature=", 1)
    assert body == TOTAL
    assert sig == ED_SIG_ENCODED
    assert unquote(sig) == ED_SIG


def test_ws_api_payload_sorted_and_hmac_matches_vector() -> None:
    params = {
        "apiKey": "TESTKEY",
        "price": "2500.00",
        "quantity": "0.010",
        "side": "BUY",
        "symbol": "ETHUSDC",
        "timeInForce": "GTX",
        "timestamp": 1700000000000,
        "type": "LIMIT",
        "signature": "ignored",
    }
    payload = ws_api_payload(params)
    assert payload == (
        "apiKey=TESTKEY&price=2500.00&quantity=0.010&side=BUY&symbol=ETHUSDC&timeInForce=GTX"
        "&timestamp=1700000000000&type=LIMIT"
    )
    assert HmacSigner("TESTKEY", SECRET).sign(payload) == (
        "b57495afb2700515b579b86cd684d91fa57a2e8e2a8e6a26de5be32a235afa20"
    )


def test_signer_repr_never_shows_secret() -> None:
    s = HmacSigner("ABCDEFGHIJKLMNOP", SECRET)
    assert SECRET not in repr(s)
    assert "ABCDEFGHIJKLMNOP" not in repr(s)
    assert Ed25519Signer.from_seed_hex("k", SEED).supports_session_logon
    assert not s.supports_session_logon


def test_signer_from_credentials_pem_and_hmac() -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

    from phoenix.exchange.binance.signing import signer_from_credentials

    key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(SEED))
    pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    ed = signer_from_credentials("k", None, pem)
    assert isinstance(ed, Ed25519Signer) and ed.sign(TOTAL) == ED_SIG
    hm = signer_from_credentials("k", SECRET, None)
    assert isinstance(hm, HmacSigner)
    try:
        signer_from_credentials("k", None, None)
    except ValueError as exc:
        assert "secret" in str(exc)
    else:
        raise AssertionError("no credentials must be rejected")
