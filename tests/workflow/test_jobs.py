"""Job plumbing: GPU claiming by lock (no hard-coded ids) and logged child processes."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
import wfgpus
import wfjob

from interface.errors import InputError


@pytest.fixture
def locks(tmp_path, monkeypatch):
    monkeypatch.setenv(wfgpus.LOCK_DIR_ENV, str(tmp_path / "locks"))
    return tmp_path / "locks"


@pytest.mark.parametrize(
    ("env", "expected"),
    [("0,1,3", ["0", "1", "3"]), ("GPU-ab12,GPU-cd34", ["GPU-ab12", "GPU-cd34"]), ("", []), ("-1", [])],
)
def test_visible_gpus_follow_cuda_visible_devices(env, expected, monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", env)
    assert wfgpus.visible_gpus() == expected


def test_no_gpu_requested_changes_nothing(locks):
    with wfgpus.claim_gpus(0) as env:
        assert env == {}


def test_a_job_that_sees_exactly_its_gpus_uses_them(locks, monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "5")  # e.g. what SLURM set for this job
    with wfgpus.claim_gpus(1) as env:
        assert env == {"CUDA_VISIBLE_DEVICES": "5"}
    assert not locks.exists()  # nothing to share: no lock taken


def test_concurrent_jobs_on_one_machine_get_different_devices(locks, monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1,2")
    with wfgpus.claim_gpus(1) as first, wfgpus.claim_gpus(2) as second:
        got = first["CUDA_VISIBLE_DEVICES"].split(",") + second["CUDA_VISIBLE_DEVICES"].split(",")
        assert sorted(got) == ["0", "1", "2"]
        with (
            pytest.raises(InputError, match="no 1 free GPU"),
            wfgpus.claim_gpus(1, poll_s=0.01, timeout_s=0.05),
        ):
            pass
    with wfgpus.claim_gpus(3) as env:  # all released on exit
        assert env == {"CUDA_VISIBLE_DEVICES": "0,1,2"}


def test_asking_for_more_gpus_than_visible_is_an_input_error(locks, monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0")
    with pytest.raises(InputError, match=r"resource gpu=2: only 1 GPU"), wfgpus.claim_gpus(2):
        pass


def test_a_killed_job_releases_its_device(locks, monkeypatch, tmp_path):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1,2")
    holder = (
        "import sys, time; sys.path.insert(0, sys.argv[1]); import wfgpus\n"
        "with wfgpus.claim_gpus(2) as env:\n    print('held', flush=True); time.sleep(60)\n"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", holder, str(wfgpus.__file__.rsplit("/", 1)[0])],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout.readline().strip() == "held"
        with pytest.raises(InputError), wfgpus.claim_gpus(2, poll_s=0.01, timeout_s=0.05):
            pass
    finally:
        child.kill()
        child.wait()
    start = time.monotonic()
    with wfgpus.claim_gpus(2, poll_s=0.01, timeout_s=5) as env:
        assert len(env["CUDA_VISIBLE_DEVICES"].split(",")) == 2
    assert time.monotonic() - start < 5


def test_run_logged_appends_command_and_output_and_returns_exit_code(tmp_path):
    log = tmp_path / "logs" / "job.log"
    code = wfjob.run_logged(
        [sys.executable, "-c", "import os,sys; print(os.environ['X']); sys.exit(3)"], log, env={"X": "hello"}
    )
    assert code == 3
    assert wfjob.run_logged([sys.executable, "-c", "print('again')"], log) == 0
    lines = log.read_text().splitlines()
    assert lines[0].startswith("$ X=hello ") and lines[1] == "hello"
    assert lines[2].startswith("$ ") and lines[3] == "again"


def test_trainer_runs_in_one_process_or_under_torchrun_with_one_process_per_gpu():
    one = wfjob.trainer_command("r/RUN.yaml", "r", gpus=1)
    assert one == [sys.executable, "-m", "interface", "train", "--config", "r/RUN.yaml", "--out", "r"]
    assert wfjob.trainer_command("r/RUN.yaml", "r", gpus=0) == one
    four = wfjob.trainer_command("r/RUN.yaml", "r", gpus=4)
    assert four[:3] == [sys.executable, "-m", "torch.distributed.run"]
    assert four[3:5] == ["--standalone", "--nproc_per_node=4"]
    assert four[5:] == ["-m", "interface", "train", "--config", "r/RUN.yaml", "--out", "r"]
