"""Pre-emption by signal: a scheduler sends SIGTERM (SLURM, Kubernetes) or the user presses
Ctrl-C (SIGINT) before any SIGKILL. The trainer must stop with a checkpoint, exit non-zero
without a finished-looking run, and the same command must resume to exactly the weights of an
uninterrupted run.
"""

from __future__ import annotations

import signal

import pytest
from _util import kill_tree, same_weights, slow_run_yaml, start, train_command, wait_for


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_signal_stops_with_a_checkpoint_and_the_rerun_matches_an_uninterrupted_run(signum, tmp_path):
    import torch

    config = slow_run_yaml(
        tmp_path / "RUN.yaml",
        0.15,
        max_steps=...,
        epochs=6,
        checkpoint_every=0,  # only epoch ends: the signal handler must write its own checkpoint
    )
    run, alone = tmp_path / "run", tmp_path / "alone"
    proc, reference = (
        start(train_command(config, run), tmp_path),
        start(train_command(config, alone), tmp_path),
    )
    try:
        assert wait_for(proc, lambda: "step 6/" in _log(run), timeout=300)
        proc.send_signal(signum)
        proc.wait(timeout=120)
        assert reference.wait(timeout=600) == 0, reference.log_path.read_text()[-3000:]
    finally:
        for p in (proc, reference):
            if p.poll() is None:
                kill_tree(p)
    output = proc.log_path.read_text(errors="replace")
    assert proc.returncode != 0, output[-3000:]
    assert "Traceback" not in output, output[-3000:]
    assert not (run / "model.pt").exists() and not (run / "run.json").exists()
    saved = torch.load(run / "resume.pt", weights_only=True)
    assert saved["step"] >= 6  # the step reached when signalled, not the last epoch end (4)
    again = start(train_command(config, run), tmp_path)
    assert again.wait(timeout=600) == 0, again.log_path.read_text()[-3000:]
    assert "resumed from" in _log(run)
    assert same_weights(run, alone)


def _log(run) -> str:
    path = run / "train.log"
    return path.read_text(errors="replace") if path.is_file() else ""
