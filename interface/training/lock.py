"""One trainer per RUN_DIR: an exclusive ``flock`` on RUN_DIR/.lock for the whole run.

Two jobs writing one run folder would interleave model.pt, head.pt and run.json from different
runs (each file is atomic, the set is not). The lock is released by the kernel when the process
ends, however it ends, so a killed run never leaves a stale lock behind.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from interface.errors import InputError

LOCK_NAME = ".lock"


class RunLock:
    """Hold RUN_DIR/.lock; a second holder gets a one-line InputError naming the folder and pid."""

    def __init__(self, run_dir: Path) -> None:
        run_dir.mkdir(parents=True, exist_ok=True)
        self.path = run_dir / LOCK_NAME
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(self.fd, 32, 0).decode(errors="replace").strip() or "unknown"
            os.close(self.fd)
            raise InputError(
                f"{run_dir}: run folder in use by another training process (pid {holder}); "
                "wait for it to finish or use another folder"
            ) from None
        try:
            os.ftruncate(self.fd, 0)
            os.pwrite(self.fd, f"{os.getpid()}\n".encode(), 0)
        except OSError as exc:  # a full disk: fd calls name no file, so name the lock file
            os.close(self.fd)
            raise OSError(exc.errno, exc.strerror, str(self.path)) from None

    def release(self) -> None:
        """Unlock (also happens when the process exits)."""
        if self.fd >= 0:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = -1
