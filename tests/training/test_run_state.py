"""RunState (interface.training.checkpoint): one dataclass for where a run stands, serialised by
resume.pt and summarised in run.json; runs.py builds the record from explicit values."""

from __future__ import annotations

import ast
import random
from pathlib import Path

import numpy as np
import pytest
import torch

from interface.errors import InputError
from interface.training.checkpoint import RunState, Window, load_checkpoint, save_checkpoint


def _state() -> RunState:
    metrics = [
        {"step": 2, "loss": 3.0, "lr": 0.1},
        {"step": 4, "loss": 2.5, "lr": 0.1},
        {"step": 6, "loss": None, "lr": 0.05},  # an all-non-finite window
    ]
    window = Window(torch.tensor(1.25), loss_n=1, steps=2, elapsed_s=0.5)
    return RunState(window, step=7, epoch=1, step_in_epoch=2, nonfinite_total=3, nonfinite_run=1,
                    metrics=metrics, train_time=3.5, train_cpu_time=3.0)  # fmt: skip


def test_state_round_trips_through_a_resume_file_with_its_rng(tmp_path):
    state = _state()
    torch.manual_seed(11)
    np.random.seed(12)
    random.seed(13)
    saved = state.to_state()
    want = (torch.rand(3), np.random.rand(3), random.random())  # what follows the snapshot
    path = tmp_path / "resume.pt"
    save_checkpoint(
        path, {"config": {}, "backbone": {}, "loss": {}, "optimizer": {}, "scaler": None, **saved}
    )
    back = RunState.from_state(load_checkpoint(path), path, torch.device("cpu"))
    for name in ("step", "epoch", "step_in_epoch", "nonfinite_total", "nonfinite_run", "metrics",
                 "train_time", "train_cpu_time"):  # fmt: skip
        assert getattr(back, name) == getattr(state, name), name
    assert float(back.window.loss_sum) == 1.25 and (back.window.loss_n, back.window.steps) == (1, 2)
    assert back.window.elapsed_s >= 0.5
    torch.manual_seed(0)
    np.random.seed(0)
    random.seed(0)
    back.restore_rng()
    got = (torch.rand(3), np.random.rand(3), random.random())
    assert torch.equal(got[0], want[0]) and np.array_equal(got[1], want[1]) and got[2] == want[2]


def test_a_resume_file_without_rng_is_refused_naming_the_key(tmp_path):
    saved = _state().to_state()
    del saved["rng"]
    with pytest.raises(InputError, match=r"key 'rng' is missing; expected dict"):
        RunState.from_state(saved, tmp_path / "resume.pt", torch.device("cpu"))


def test_summary_is_what_run_json_records():
    summary = _state().summary(batch_size=8, steps_per_epoch=5)
    assert summary == {
        "steps": 7,
        "epochs_done": 7 / 5,
        "nonfinite_steps": 3,
        "train_time_s": 3.5,
        "train_cpu_time_s": 3.0,
        "images_per_s": 7 * 8 / 3.5,
        "final_loss": 2.5,  # the last logged window with a finite loss
    }
    assert RunState(Window.empty(torch.device("cpu"))).summary(8, 5)["final_loss"] is None


def test_runs_module_never_imports_the_trainer():
    """runs.py takes explicit values: no import of trainer.py anywhere in it (not even inside a
    function or under TYPE_CHECKING), so the two modules do not depend on each other."""
    import interface.training.runs as runs

    tree = ast.parse(Path(runs.__file__).read_text())
    imported = [
        node.module if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    ]
    assert "interface.contracts.run_record" in imported  # the scan sees its imports
    assert not [name for name in imported if name and name.startswith("interface.training.trainer")]
