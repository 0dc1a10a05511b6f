"""One prompt at a time across the processes of a bench run.

Each DUT of a bench file is certified by a process of its own, and they share one
operator at one terminal. Before showing a question, a process takes an exclusive
`flock` on the bench's lock file (OUT/operator.lock) and writes into it who is asking
and what; it empties the file as it lets go. The bench's live table reads the file:
while it is not empty, a question is on the screen, and the table is not redrawn.
"""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path

POLL_S = 0.05


class PromptLockTimeout(TimeoutError):
    pass


class PromptLock:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._fd: int | None = None

    def acquire(self, timeout_s: float, showing: str) -> None:
        """Wait (at most `timeout_s`) until no other process shows a question, then take
        the lock and say what this one shows."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        give_up = time.monotonic() + timeout_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= give_up:
                    os.close(fd)
                    raise PromptLockTimeout(
                        f"another DUT's question held the operator for {timeout_s:g} s "
                        f"({self.path})") from None
                time.sleep(POLL_S)
        os.ftruncate(fd, 0)
        os.pwrite(fd, showing.encode("utf-8", "replace") + b"\n", 0)
        self._fd = fd

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            os.ftruncate(fd, 0)
        finally:
            os.close(fd)  # closing lets go of the flock


def question_showing(path: Path) -> bool:
    """True while a process of the bench shows the operator a question."""
    try:
        return path.stat().st_size > 0
    except OSError:
        return False
