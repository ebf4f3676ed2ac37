"""Signature and timestamp verification of the simulator, pinned to the protocol doc §2 test vectors."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from phoenix.exchange.sim import auth
from phoenix.exchange.sim.auth import ApiCredential, AuthFailure, KeyRing

SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
TOTAL = (
    "symbol=ETHUSDC&side=BUY&type=LIMIT&timeInForce=GTX&quantity=0.010&price=2500.00"
    "&newClientOrderId=mm-1&recvWindow=5000&timestamp=1700000000000"
)
HMAC_SIG = "429ef2633812c94fd5681a1b7484dc45bcbcae152b6d995bad2a5f35e64f4d71"
ED_SEED = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
ED_PUB = bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
ED_SIG = "LhM+DAevQmajkgEVy9bMSS/qSHK4LWZjLn4ZHo4RElZBSpoKEejvTx21/HN2H21MGlkCBeCMrNdrIX8/EuHPDA=="


def test_hmac_matches_protocol_vector() -> None:
    assert auth.sign_hmac(SECRET, TOTAL) == HMAC_SIG


def test_ed25519_matches_protocol_vector() -> None:
    key = Ed25519PrivateKey.from_private_bytes(ED_SEED)
    assert auth.sign_ed25519(key, TOTAL) == ED_SIG


def test_ws_payload_sorted_and_signed_like_protocol_vector() -> None:
    params = {"apiKey": "TESTKEY", "price": "2500.00", "quantity": "0.010", "side": "BUY",
              "symbol": "ETHUSDC", "timeInForce": "GTX", "timestamp": 1700000000000, "type": "LIMIT",
              "signature": "x"}  # fmt: skip
    payload = auth.ws_payload(params)
    assert payload.startswith("apiKey=TESTKEY&price=2500.00&")
    assert "signature" not in payload
    assert (
        auth.sign_hmac(SECRET, payload) == "b57495afb2700515b579b86cd684d91fa57a2e8e2a8e6a26de5be32a235afa20"
    )


def test_rest_hmac_accepts_query_body_split_and_uppercase_hex() -> None:
    cred = ApiCredential.hmac_key("k", SECRET)
    query, body = TOTAL[:40], TOTAL[40:]
    auth.verify_rest(cred, query, body + "&signature=" + HMAC_SIG.upper())
    auth.verify_rest(cred, TOTAL + "&signature=" + HMAC_SIG, "")


def test_rest_hmac_rejects_tampered_params_with_1022() -> None:
    cred = ApiCredential.hmac_key("k", SECRET)
    with pytest.raises(AuthFailure) as info:
        auth.verify_rest(cred, TOTAL.replace("2500.00", "2600.00") + "&signature=" + HMAC_SIG, "")
    assert info.value.code == -1022


def test_rest_ed25519_percent_encoded_signature_verifies() -> None:
    cred = ApiCredential.ed25519_key("k", ED_PUB)
    auth.verify_rest(cred, "", TOTAL + "&signature=" + quote(ED_SIG, safe=""))
    with pytest.raises(AuthFailure):
        auth.verify_rest(cred, "", TOTAL.replace("BUY", "SELL") + "&signature=" + quote(ED_SIG, safe=""))


def test_rest_accepts_signature_over_percent_decoded_form() -> None:
    raw = "symbol=ETHUSDC&orderidlist=%5B1%2C2%5D&timestamp=1700000000000"
    decoded_sig = auth.sign_hmac(SECRET, "symbol=ETHUSDC&orderidlist=[1,2]&timestamp=1700000000000")
    auth.verify_rest(ApiCredential.hmac_key("k", SECRET), raw + "&signature=" + decoded_sig, "")


def test_missing_signature_is_1102() -> None:
    with pytest.raises(AuthFailure) as info:
        auth.verify_rest(ApiCredential.hmac_key("k", SECRET), TOTAL, "")
    assert info.value.code == -1102


def test_keyring_unknown_key_is_2015_http_401() -> None:
    ring = KeyRing()
    ring.add(ApiCredential.hmac_key("good", SECRET), 1)
    assert ring.lookup("good")[1] == 1
    with pytest.raises(AuthFailure) as info:
        ring.lookup("bad")
    assert (info.value.code, info.value.http_status) == (-2015, 401)


@pytest.mark.parametrize(
    ("ts", "window", "server", "ok"),
    [
        (1000, None, 1000, True),
        (1000, None, 6000, True),  # exactly recvWindow (5000) old
        (1000, None, 6001, False),
        (1000, "10000", 11000, True),
        (1999, None, 1000, True),  # ahead by < 1000 ms
        (2000, None, 1000, False),  # ahead by 1000 ms
    ],
)
def test_timestamp_window_rule(ts: int, window: str | None, server: int, ok: bool) -> None:
    if ok:
        auth.check_timestamp(str(ts), window, server)
        return
    with pytest.raises(AuthFailure) as info:
        auth.check_timestamp(str(ts), window, server)
    assert info.value.code == -1021


def test_recv_window_above_60000_is_rejected() -> None:
    with pytest.raises(AuthFailure) as info:
        auth.check_timestamp("1000", "60001", 1000)
    assert info.value.code == -1130
