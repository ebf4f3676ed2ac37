"""Single instance per account: an exclusive ``flock`` in the state dir, held for the process lifetime.

The kernel releases the lock when the process dies (also on ``kill -9``), so a stale lock file never
blocks a restart; a second live instance is refused with the holder's pid.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType

from phoenix.errors import StateError

LOCK_FILE_NAME = "phoenix.lock"


class InstanceLock:
    """Exclusive, non-blocking lock on ``state_dir/phoenix.lock``; the file records the holder's pid."""

    def __init__(self, state_dir: str | Path, name: str = LOCK_FILE_NAME) -> None:
        self.path = Path(state_dir) / name
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        """True while this object holds the lock."""
        return self._fd is not None

    def acquire(self) -> None:
        """Take the lock or raise ``StateError`` naming the running instance."""
        if self._fd is not None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = self.holder_pid()
            os.close(fd)
            raise StateError(
                f"another Phoenix instance holds {self.path} (pid {holder}); one instance per account"
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
