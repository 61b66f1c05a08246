"""Run one command of a workflow job with its output in the job's log file.

The child gets the job's thread count (OMP_NUM_THREADS) and GPU environment; SIGTERM and SIGINT
(Ctrl-C, Snakemake stopping the job, a scheduler pre-empting it) stop the child too (as SIGTERM),
leaving its resume file for the next attempt.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any


def run_logged(cmd: Sequence[str], log: str | os.PathLike[str], env: dict[str, str] | None = None) -> int:
    """Run ``cmd``, appending its stdout and stderr to ``log``; return its exit code."""
    Path(log).parent.mkdir(parents=True, exist_ok=True)
    child_env = {**os.environ, **(env or {})}
    with open(log, "a", encoding="utf-8") as handle:
        shown = " ".join(f"{k}={v}" for k, v in (env or {}).items())
        handle.write(f"$ {shown + ' ' if shown else ''}{shlex.join(cmd)}\n")
        handle.flush()
        child = subprocess.Popen(list(cmd), stdout=handle, stderr=subprocess.STDOUT, env=child_env)

        def forward(_signum, _frame):
            # as SIGTERM: a job inherits SIGINT ignored from Snakemake's job runner, so the child
            # would not stop on a forwarded SIGINT (Ctrl-C)
            child.send_signal(signal.SIGTERM)

        previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            return child.wait()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def python_module(module: str, *args: str) -> list[str]:
    """``[this interpreter, -m, module, *args]`` (the workflow's own Python, venv or conda env)."""
    return [sys.executable, "-m", module, *args]


def job_main(main: Callable[[Any], int], snakemake: Any) -> int:
    """Call a script's ``main(snakemake)``; an InputError becomes one line in the job log and exit 2."""
    from interface.errors import InputError

    try:
        return int(main(snakemake) or 0)
    except InputError as exc:
        message = f"error: {' '.join(str(exc).split())}"
        with open(snakemake.log[0], "a", encoding="utf-8") as handle:
            handle.write(message + "\n")
        print(message, file=sys.stderr)
        return 2


def trainer_command(run_yaml: str, run_dir: str, gpus: int) -> list[str]:
    """``python -m interface train``, under torchrun with one process per GPU when ``gpus`` > 1."""
    args = ["train", "--config", run_yaml, "--out", run_dir]
    if gpus > 1:
        return python_module(
            "torch.distributed.run", "--standalone", f"--nproc_per_node={gpus}", "-m", "interface", *args
        )
    return python_module("interface", *args)
