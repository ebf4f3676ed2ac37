"""Single instance per account: an exclusive ``flock`` in the state dir, held for the process lifetime.

The kernel releases the lock when the process dies (also on ``kill -9``), so a stale lock file never
blocks a restart; a second live instance is refused with the holder's pid.

:func:`account_lock` adds a second lock keyed on the trading account itself (venue + a hash of the API
key, + the exchange URL for the simulator), in a machine-wide directory (``PHOENIX_LOCK_DIR``, default
``<tmp>/phoenix-locks``): two runners with different state dirs cannot trade one account either.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

from phoenix.errors import StateError

LOCK_FILE_NAME = "phoenix.lock"
LOCK_DIR_ENV = "PHOENIX_LOCK_DIR"


class InstanceLock:
    """Exclusive, non-blocking lock on ``state_dir/phoenix.lock``; the file records the holder's pid."""

    def __init__(self, state_dir: str | Path, name: str = LOCK_FILE_NAME, what: str = "") -> None:
        self.path = Path(state_dir) / name
        self.what = what  # shown in the refusal (e.g. which account)
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        """True while this object holds the lock."""
        return self._fd is not None

    def acquire(self) -> None:
        """Take the lock or raise ``StateError`` naming the running instance."""
        if self._fd is not None:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise StateError(f"cannot open the lock file {self.path}: {exc}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = self.holder_pid()
            os.close(fd)
            raise StateError(
                f"another Phoenix instance holds {self.path} (pid {holder}); one instance per account"
                f"{' (' + self.what + ')' if self.what else ''}"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        os.fsync(fd)
        self._fd = fd

    def holder_pid(self) -> int | None:
        """Pid written by the current (or last) holder, if readable."""
        try:
            text = self.path.read_text().strip()
        except OSError:
            return None
        return int(text) if text.isdigit() else None

    def release(self) -> None:
        """Drop the lock (the file stays; it is harmless without the flock)."""
        if self._fd is None:
            return
        try:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> InstanceLock:
        self.acquire()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()


def account_key(venue: str, api_key: str, exchange_url: str = "") -> str:
    """Stable, non-secret name of one trading account: venue plus a SHA-256 prefix of key (and URL)."""
    digest = hashlib.sha256(f"{venue}\0{exchange_url}\0{api_key}".encode()).hexdigest()[:20]
    safe_venue = "".join(c for c in venue if c.isalnum()) or "venue"
    return f"{safe_venue}-{digest}"


def account_lock(
    venue: str, api_key: str, *, exchange_url: str = "", env: Mapping[str, str] | None = None
) -> InstanceLock:
    """The machine-wide lock of one account (see the module docstring); not yet acquired."""
    lock_dir = (env if env is not None else os.environ).get(LOCK_DIR_ENV) or str(
        Path(tempfile.gettempdir()) / "phoenix-locks"
    )
    key = account_key(venue, api_key, exchange_url)
    return InstanceLock(lock_dir, f"account-{key}.lock", what=f"account {key}")
