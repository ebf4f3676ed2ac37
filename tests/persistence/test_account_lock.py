"""The account-wide lock: keyed on venue + API key hash (+ simulator URL), independent of the state dir."""

from __future__ import annotations

from pathlib import Path

import pytest

from phoenix.errors import StateError
from phoenix.persistence.lock import account_key, account_lock


def test_one_account_one_holder_whatever_the_state_dir(tmp_path: Path) -> None:
    env = {"PHOENIX_LOCK_DIR": str(tmp_path / "locks")}
    first = account_lock("binance", "key-A", env=env)
    first.acquire()
    try:
        with pytest.raises(StateError, match="account binance-"):
            account_lock("binance", "key-A", env=env).acquire()
        other_key = account_lock("binance", "key-B", env=env)
        other_venue = account_lock("testnet", "key-A", env=env)
        other_sim = account_lock("sim", "key-A", exchange_url="http://127.0.0.1:1", env=env)
        for lock in (other_key, other_venue, other_sim):
            lock.acquire()  # a different account: no conflict
            lock.release()
    finally:
        first.release()
    again = account_lock("binance", "key-A", env=env)
    again.acquire()  # released: free again
    again.release()


def test_the_lock_name_does_not_reveal_the_api_key() -> None:
    key = account_key("binance", "SECRETAPIKEY123")
    assert "SECRETAPIKEY123" not in key and key.startswith("binance-")
    assert key == account_key("binance", "SECRETAPIKEY123") != account_key("binance", "SECRETAPIKEY124")


def test_an_unusable_lock_dir_is_a_clear_state_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(StateError, match="cannot open the lock file"):
        account_lock("binance", "key-A", env={"PHOENIX_LOCK_DIR": str(blocker / "locks")}).acquire()
