"""Resume (issue 13, items 1 and 6): a killed and resumed run writes the metrics.jsonl and run.json
of an uninterrupted one, and resume.pt is read without running code from it.

Every case trains the tiny backbone on the smoke set for two epochs (a few seconds) with a logging
window of 4 steps and a checkpoint every 6 steps (so checkpoints fall inside logging windows) plus
the one at each epoch end. A run is interrupted in-process (an exception injected right after a
checkpoint is saved, or in the middle of a later step, which a SIGKILL amounts to: the run resumes
from the last checkpoint), by SIGTERM, or by a real SIGKILL of a ``python -m interface train``
subprocess, then rerun to the end. Its files are compared with those of the uninterrupted run line
by line, every field except the ones ``interface.training.runs.CLOCK_FIELDS`` names.
"""

from __future__ import annotations

import functools
import json
import os
import pickle
import signal
from pathlib import Path

import pytest
import torch
from _util import PYTHON, REPO, kill_tree, session_dir, smoke_data, wait_for

from interface.training import config_from_mapping, train
from interface.training import trainer as trainer_module
from interface.training.checkpoint import RESUME_FORMAT, RESUME_NAME
from interface.training.runs import CLOCK_FIELDS, INFO_NAME, METRICS_NAME
from interface.training.trainer import Trainer

LOG_EVERY, CHECKPOINT_EVERY = 4, 6
SETTINGS = dict(
    loss="arcface", backbone="tiny", input_size=32, embedding_size=32, batch_size=16, epochs=2,
    lr=3.2, log_every=LOG_EVERY, checkpoint_every=CHECKPOINT_EVERY, device="cpu", threads=1, seed=5,
    precision="fp32", num_workers=0, milestones=[1.5],
)  # fmt: skip


def _config(**overrides):
    return config_from_mapping({**SETTINGS, "data": str(smoke_data()), **overrides})


def _metrics(run: Path) -> list[dict]:
    drop = CLOCK_FIELDS[METRICS_NAME]
    lines = (run / METRICS_NAME).read_text(encoding="utf-8").splitlines()
    return [{k: v for k, v in json.loads(line).items() if k not in drop} for line in lines]


def _info(run: Path, runtime: frozenset[str]) -> dict:
    """run.json without the clock fields and without the given runtime keys of its config."""
    info = json.loads((run / INFO_NAME).read_text(encoding="utf-8"))
    info["config"] = {k: v for k, v in info["config"].items() if k not in runtime}
    return {k: v for k, v in info.items() if k not in CLOCK_FIELDS[INFO_NAME]}


@functools.cache
def straight() -> Path:
    """The uninterrupted run (once per session)."""
    out = session_dir("resume-straight") / "run"
    train(_config(), out)
    return out


def steps_per_epoch() -> int:
    return json.loads((straight() / INFO_NAME).read_text())["steps_per_epoch"]


class _CrashError(Exception):
    """Stands for the process dying: nothing after it runs."""


def _crash_after_save_at(monkeypatch, step: int) -> None:
    real = trainer_module.save_checkpoint

    def save_then_crash(path, payload):
        real(path, payload)
        if payload["step"] == step:
            raise _CrashError

    monkeypatch.setattr(trainer_module, "save_checkpoint", save_then_crash)


def _crash_during_step(monkeypatch, step: int) -> None:
    """Die while computing step ``step`` (1-based), after the steps before it were done."""
    real = Trainer._train_step

    def step_or_crash(self, *args, **kwargs):
        if self.progress.step == step - 1:
            raise _CrashError
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Trainer, "_train_step", step_or_crash)


def _assert_same_files(run: Path, runtime: frozenset[str] = frozenset()) -> None:
    want, got = _metrics(straight()), _metrics(run)
    assert len(got) == len(want) > 3
    for line, (a, b) in enumerate(zip(got, want, strict=True), 1):
        assert a == b, f"metrics.jsonl line {line} differs"
    assert _info(run, runtime) == _info(straight(), runtime)
    assert not (run / RESUME_NAME).exists()


def _resume_point(tmp_path, monkeypatch, inject, step) -> Path:
    run = tmp_path / "run"
    inject(monkeypatch, step)
    with pytest.raises(_CrashError):
        train(_config(), run)
    monkeypatch.undo()
    assert (run / RESUME_NAME).is_file() and not (run / METRICS_NAME).exists()
    train(_config(), run)
    return run


def test_checkpoint_inside_a_logging_window(tmp_path, monkeypatch):
    """Checkpoint at step 6, window 5..8 half done: the window's loss sum must travel."""
    assert CHECKPOINT_EVERY % LOG_EVERY != 0
    saved_step = CHECKPOINT_EVERY
    run = tmp_path / "run"
    _crash_after_save_at(monkeypatch, saved_step)
    with pytest.raises(_CrashError):
        train(_config(), run)
    window = torch.load(run / RESUME_NAME, weights_only=True)["window"]
    assert window["loss_n"] == window["steps"] == saved_step % LOG_EVERY
    assert float(window["loss_sum"]) > 0
    monkeypatch.undo()
    train(_config(), run)
    _assert_same_files(run)


def test_killed_right_after_a_checkpoint_at_a_logging_step(tmp_path, monkeypatch):
    step = 2 * CHECKPOINT_EVERY  # 12: a multiple of the window too, so the window is empty
    assert step % LOG_EVERY == 0 and step < 2 * steps_per_epoch()
    run = _resume_point(tmp_path, monkeypatch, _crash_after_save_at, step)
    _assert_same_files(run)


def test_killed_mid_epoch_between_checkpoints(tmp_path, monkeypatch):
    """Dies during step 8: resumes from the checkpoint of step 6 and redoes 7 and 8."""
    run = _resume_point(tmp_path, monkeypatch, _crash_during_step, CHECKPOINT_EVERY + 2)
    _assert_same_files(run)


def test_killed_between_epochs(tmp_path, monkeypatch):
    spe = steps_per_epoch()
    # the epoch ends inside a logging window, off the checkpoint grid
    assert spe % LOG_EVERY and spe % CHECKPOINT_EVERY
    run = tmp_path / "run"
    _crash_after_save_at(monkeypatch, spe)
    with pytest.raises(_CrashError):
        train(_config(), run)
    saved = torch.load(run / RESUME_NAME, weights_only=True)
    assert (saved["epoch"], saved["step_in_epoch"]) == (1, 0)
    monkeypatch.undo()
    train(_config(), run)
    _assert_same_files(run)


def test_killed_in_the_first_step_of_the_second_epoch(tmp_path, monkeypatch):
    run = _resume_point(tmp_path, monkeypatch, _crash_during_step, steps_per_epoch() + 1)
    _assert_same_files(run)


def test_killed_three_times(tmp_path, monkeypatch):
    run = tmp_path / "run"
    for inject, step in ((_crash_after_save_at, 6), (_crash_during_step, 11), (_crash_after_save_at, 12)):
        inject(monkeypatch, step)
        with pytest.raises(_CrashError):
            train(_config(), run)
        monkeypatch.undo()
    train(_config(), run)
    _assert_same_files(run)
    assert (run / "train.log").read_text().count("resumed from") == 3


def test_sigterm_inside_a_logging_window(tmp_path, monkeypatch):
    from interface.training import TrainingInterruptedError

    real = Trainer._train_step

    def signal_at_step_3(self, *args, **kwargs):
        if self.progress.step == 2:
            signal.raise_signal(signal.SIGTERM)  # handled after this step: stop and save at step 3
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Trainer, "_train_step", signal_at_step_3)
    run = tmp_path / "run"
    with pytest.raises(TrainingInterruptedError, match="after step 3"):
        train(_config(), run)
    monkeypatch.undo()
    train(_config(), run)
    _assert_same_files(run)


#: sitecustomize.py for the subprocess to be killed: every training step takes 0.2 s longer, so
#: the kill lands mid-run however fast the machine is (the steps compute the same).
SLOW_STEPS = """
import time
from interface.training.trainer import Trainer
_real = Trainer._train_step
def _slow(self, *args, **kwargs):
    time.sleep(0.2)
    return _real(self, *args, **kwargs)
Trainer._train_step = _slow
"""


def test_sigkilled_subprocess_resumes_to_the_same_files(tmp_path):
    import subprocess

    import yaml

    config = tmp_path / "RUN.yaml"
    config.write_text(yaml.safe_dump({**SETTINGS, "data": str(smoke_data()), "checkpoint_every": 1}))
    (tmp_path / "slow").mkdir()
    (tmp_path / "slow" / "sitecustomize.py").write_text(SLOW_STEPS)
    run = tmp_path / "run"
    command = [PYTHON, "-m", "interface", "train", "--config", str(config), "--out", str(run)]
    # this checkout's package first (the subprocess runs outside it), the slowing hook beside it
    plain_env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    }
    slow_env = {**plain_env, "PYTHONPATH": os.pathsep.join([str(tmp_path / "slow"), plain_env["PYTHONPATH"]])}
    proc = subprocess.Popen(
        command, cwd=tmp_path, env=slow_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    log = run / "train.log"
    try:  # killed after the logging step 8 (checkpoint of step 9 not yet written: mid window 9..12)
        assert wait_for(proc, lambda: log.is_file() and "step 8/" in log.read_text(), timeout=300, poll=0.02)
    finally:
        kill_tree(proc)
    assert proc.returncode == -signal.SIGKILL and not (run / INFO_NAME).exists()
    result = subprocess.run(command, cwd=tmp_path, env=plain_env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "resumed from" in log.read_text()
    _assert_same_files(run, runtime=frozenset({"checkpoint_every"}))


def _payload_types(value, where="") -> list[str]:
    """Paths in a loaded checkpoint whose value is not a tensor or a plain type (independent walk)."""
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _payload_types(v, f"{where}.{k}")]
    if isinstance(value, list | tuple):
        return [p for i, v in enumerate(value) for p in _payload_types(v, f"{where}[{i}]")]
    plain = value is None or isinstance(value, str | int | float | bool | torch.Tensor)
    return [] if plain else [f"{where}: {type(value).__name__}"]


def test_resume_file_holds_only_tensors_and_plain_values(tmp_path, monkeypatch):
    run = tmp_path / "run"
    _crash_after_save_at(monkeypatch, CHECKPOINT_EVERY)
    with pytest.raises(_CrashError):
        train(_config(loss="elasticface"), run)  # an RNG-state buffer in the loss too
    with open(run / RESUME_NAME, "rb") as handle:
        raw = torch.load(handle, weights_only=False)  # the unrestricted loader: what is really there
    assert _payload_types(raw) == []
    assert raw["format"] == RESUME_FORMAT
    assert raw["rng"]["numpy"]["keys"].shape == (624,)


# ------------------------------------------------------------------------ refused resume files
def _train_cli(run: Path, **overrides) -> tuple[int, str]:
    """``python -m interface train`` in a subprocess on ``run``; (exit status, its one error line)."""
    import subprocess

    import yaml

    config = run.parent / "RUN.yaml"
    config.write_text(yaml.safe_dump({**SETTINGS, "data": str(smoke_data()), "max_steps": 8, **overrides}))
    result = subprocess.run(
        [PYTHON, "-m", "interface", "train", "--config", str(config), "--out", str(run)],
        capture_output=True, text=True, timeout=300, cwd=REPO, env={**os.environ, "CUDA_VISIBLE_DEVICES": ""},
    )  # fmt: skip
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    assert len(errors) == 1, result.stderr[-3000:]
    return result.returncode, errors[0]


class _Payload:
    """Unpickling it runs ``open(marker, "w")``: a stand-in for any code a crafted file carries."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_a_resume_file_that_would_run_code_is_refused(tmp_path):
    run, marker = tmp_path / "run", tmp_path / "marker"
    run.mkdir()
    torch.save({"format": RESUME_FORMAT, "step": 1, "x": _Payload(marker)}, run / RESUME_NAME)
    torch.load(run / RESUME_NAME, weights_only=False)  # the payload is live: the plain unpickler runs it
    assert marker.exists()
    marker.unlink()
    code, line = _train_cli(run)
    assert code != 0 and not marker.exists()
    assert str(run / RESUME_NAME) in line and "refused" in line and "io.open" in line


def test_a_pickled_callable_in_a_plain_pickle_is_refused(tmp_path):
    """Not a torch archive at all: a bare pickle whose load would call os.system."""
    run, marker = tmp_path / "run", tmp_path / "marker"
    run.mkdir()

    class _System:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    (run / RESUME_NAME).write_bytes(pickle.dumps(_System()))
    pickle.loads((run / RESUME_NAME).read_bytes())  # live: plain pickle runs it
    assert marker.exists()
    marker.unlink()
    code, line = _train_cli(run)
    assert code != 0 and not marker.exists()
    assert line.startswith(f"error: {run / RESUME_NAME}: ")


def test_a_model_state_dict_given_as_resume_file_names_what_was_expected(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    torch.save({"fc.weight": torch.zeros(3, 2), "fc.bias": torch.zeros(3)}, run / RESUME_NAME)
    code, line = _train_cli(run)
    assert code != 0
    assert str(run / RESUME_NAME) in line and "model state_dict" in line and RESUME_FORMAT in line


@pytest.mark.parametrize("keep", [0, 100, 0.5])
def test_a_truncated_resume_file_is_one_line(tmp_path, monkeypatch, keep):
    run = tmp_path / "run"
    _crash_after_save_at(monkeypatch, CHECKPOINT_EVERY)
    with pytest.raises(_CrashError):
        train(_config(max_steps=8), run)
    data = (run / RESUME_NAME).read_bytes()
    (run / RESUME_NAME).write_bytes(data[: int(len(data) * keep) if isinstance(keep, float) else keep])
    code, line = _train_cli(run)
    assert code != 0 and str(run / RESUME_NAME) in line and "unreadable resume file" in line


def test_a_resume_file_of_the_earlier_format_is_refused(tmp_path):
    """Format 1 kept numpy's RNG state as an ndarray (needs the unrestricted unpickler)."""
    import numpy as np

    run = tmp_path / "run"
    run.mkdir()
    torch.save({"step": 3, "rng": {"numpy": np.random.get_state()}}, run / RESUME_NAME)
    code, line = _train_cli(run)
    assert code != 0 and str(run / RESUME_NAME) in line and "numpy" in line and RESUME_FORMAT in line


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("step", "6"),
        ("step_in_epoch", -1),
        ("metrics", {"a": 1}),
        ("metrics", [{"loss": torch.ones(1)}]),
        ("window", None),
        ("train_time", True),
    ],
)
def test_a_mistyped_field_in_the_resume_file_is_named(tmp_path, monkeypatch, key, value):
    run = tmp_path / "run"
    _crash_after_save_at(monkeypatch, CHECKPOINT_EVERY)
    with pytest.raises(_CrashError):
        train(_config(max_steps=8), run)
    saved = torch.load(run / RESUME_NAME, weights_only=True)
    saved[key] = value
    torch.save(saved, run / RESUME_NAME)
    code, line = _train_cli(run)
    assert code != 0 and str(run / RESUME_NAME) in line and repr(key) in line


def test_a_resume_file_whose_weights_do_not_fit_is_one_line(tmp_path, monkeypatch):
    run = tmp_path / "run"
    _crash_after_save_at(monkeypatch, CHECKPOINT_EVERY)
    with pytest.raises(_CrashError):
        train(_config(max_steps=8), run)
    saved = torch.load(run / RESUME_NAME, weights_only=True)
    saved["backbone"] = {k: v[..., :1] if v.dim() else v for k, v in saved["backbone"].items()}
    torch.save(saved, run / RESUME_NAME)
    code, line = _train_cli(run)
    assert code != 0 and str(run / RESUME_NAME) in line and "does not fit" in line
