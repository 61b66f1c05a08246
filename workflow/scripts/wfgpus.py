"""Give a job its GPUs without hard-coding device ids.

Snakemake counts a ``gpu`` resource but assigns no devices (snakemake/snakemake#281). So:

* a job that sees exactly the GPUs it asked for (a SLURM job started with ``--gpus=N``, whose
  CUDA_VISIBLE_DEVICES the scheduler set) uses them as they are;
* a job that sees more (a local multi-GPU machine, where ``--resources gpu=K`` lets K GPU jobs run
  at once) claims free devices by taking an exclusive ``flock`` on one lock file per device in a
  node-local folder, holds the locks while it runs, and passes CUDA_VISIBLE_DEVICES to its child.
  The kernel drops a lock when its holder dies, so a killed job never leaves a device taken.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from interface.errors import InputError

#: Environment variable that moves the lock folder (default: a per-user folder in the node's temp dir).
LOCK_DIR_ENV = "INTERFACE_GPU_LOCK_DIR"


def visible_gpus() -> list[str]:
    """Device ids this process may use: CUDA_VISIBLE_DEVICES if set, else those nvidia-smi lists."""
    env = os.environ.get("CUDA_VISIBLE_DEVICES")
    if env is not None:
        ids = [d.strip() for d in env.split(",") if d.strip()]
        return [] if ids in (["-1"], ["NoDevFiles"]) else ids
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return []
    try:
        listing = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=30, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [str(i) for i, line in enumerate(l for l in listing.splitlines() if l.startswith("GPU "))]


def lock_dir() -> Path:
    """The node-local folder holding one lock file per device."""
    default = Path(tempfile.gettempdir()) / f"interface-gpu-locks-{os.getuid()}"
    return Path(os.environ.get(LOCK_DIR_ENV) or default)


def _try_lock(path: Path) -> int | None:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


@contextlib.contextmanager
def claim_gpus(count: int, poll_s: float = 2.0, timeout_s: float | None = None) -> Iterator[dict[str, str]]:
    """Yield the environment additions that give the caller ``count`` GPUs (empty for 0).

    Raises:
        InputError: fewer than ``count`` GPUs are visible, or none became free within ``timeout_s``.
    """
    if count <= 0:
        yield {}
        return
    gpus = visible_gpus()
    if len(gpus) < count:
        raise InputError(
            f"resource gpu={count}: only {len(gpus)} GPU(s) visible to this job "
            f"(CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES')!r}); lower gpus_per_run or add GPUs"
        )
    if len(gpus) == count:
        yield {"CUDA_VISIBLE_DEVICES": ",".join(gpus)}
        return
    folder = lock_dir()
    folder.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    while True:
        held: dict[str, int] = {}
        for gpu in gpus:
            fd = _try_lock(folder / f"gpu-{gpu}.lock")
            if fd is not None:
                held[gpu] = fd
                if len(held) == count:
                    break
        if len(held) == count:
            break
        for fd in held.values():  # all or nothing: two multi-GPU jobs never deadlock on halves
            os.close(fd)
        if timeout_s is not None and time.monotonic() - start > timeout_s:
            raise InputError(
                f"no {count} free GPU(s) among {', '.join(gpus)} within {timeout_s:.0f} s (locks in {folder})"
            )
        time.sleep(poll_s)
    try:
        yield {"CUDA_VISIBLE_DEVICES": ",".join(held)}
    finally:
        for fd in held.values():
            os.close(fd)
