"""Concurrency (issue 8, item 6): training jobs on one machine at the same time.

* Two jobs on the same dataset folder with distinct run folders and one shared decoded-set cache
  finish with identical weights (same config), leave the dataset folder byte-for-byte unchanged
  and the cache file whole.
* A second attempt at the SAME run folder while the first is training (same command, e.g. a
  scheduler's duplicate) is refused or harmless: the run ends exactly as a lone run would.
* A second attempt with a DIFFERENT config on the same run folder must be refused; it must never
  silently replace the first run's outputs.
"""

from __future__ import annotations

import json
import subprocess

import pytest
from _util import (
    PYTHON,
    digests,
    kill_tree,
    last_line,
    same_weights,
    slow_run_yaml,
    smoke_data,
    start,
    train_command,
    wait_for,
)


def finish(proc, timeout: float = 600) -> tuple[int, str]:
    """Wait for ``proc`` (from _util.start); return (exit code, its output)."""
    try:
        proc.wait(timeout=timeout)
    finally:
        if proc.poll() is None:
            kill_tree(proc)
    return proc.returncode, proc.log_path.read_text(errors="replace")


@pytest.mark.slow
def test_two_jobs_on_one_dataset_and_a_duplicate_on_the_same_run_folder(tmp_path):
    data = smoke_data()
    before = digests(data, "**/*")
    config = slow_run_yaml(
        tmp_path / "RUN.yaml",
        0.4,
        max_steps=...,
        epochs=10,
        checkpoint_every=1,
        cache_dir=str(tmp_path / "decoded"),  # one decoded-set cache shared by all three processes
    )
    first, second = tmp_path / "first", tmp_path / "second"
    procs = {
        "first": start(train_command(config, first), tmp_path),
        "second": start(train_command(config, second), tmp_path),
    }
    try:
        assert wait_for(procs["first"], lambda: (first / "resume.pt").is_file(), timeout=300)
        procs["duplicate"] = start(train_command(config, first), tmp_path)  # same RUN_DIR, mid-training
    finally:
        results = {name: finish(proc) for name, proc in procs.items()}
    for name in ("first", "second"):
        code, output = results[name]
        assert code == 0, f"{name}: {output[-3000:]}"
    code, output = results["duplicate"]
    if code != 0:  # refused: one line naming the run folder, nothing else touched
        assert last_line(output).startswith("error:") and str(first) in last_line(output), output[-3000:]
    else:  # accepted: it must really have overlapped (resumed mid-run), not found a finished run
        assert "resumed from" in output, output[-3000:]
    assert same_weights(first, second), "two identical jobs ran at once and ended with different weights"
    assert not (first / "resume.pt").exists()
    info = json.loads((first / "run.json").read_text())
    assert info["steps"] == 10 * info["steps_per_epoch"]
    assert [json.loads(x)["loss"] for x in (first / "metrics.jsonl").read_text().splitlines()] == [
        json.loads(x)["loss"] for x in (second / "metrics.jsonl").read_text().splitlines()
    ]
    assert digests(data, "**/*") == before, "training changed its dataset folder"
    import torch

    (cached,) = [p for p in (tmp_path / "decoded").iterdir() if not p.name.startswith(".")]
    saved = torch.load(cached, weights_only=True)  # whole, although two processes wrote it at once
    assert saved["images"].shape[0] == saved["labels"].shape[0] == info["num_images"]


@pytest.mark.slow
def test_a_different_config_on_a_run_folder_in_use_is_refused(tmp_path):
    common = {
        "batch_size": 4,  # 38 steps per epoch: no epoch-end checkpoint within max_steps
        "max_steps": 30,
        "checkpoint_every": 0,  # hence no resume file at all until the run ends (~12 s)
    }
    seed0 = slow_run_yaml(tmp_path / "seed0.yaml", 0.4, seed=0, **common)
    seed1 = slow_run_yaml(tmp_path / "seed1.yaml", 0.4, seed=1, **common)
    run = tmp_path / "run"
    first = start(train_command(seed0, run), tmp_path)
    try:
        assert wait_for(
            first,
            lambda: "decoding" in ((run / "train.log").read_text() if (run / "train.log").is_file() else ""),
            300,
        )
        second = subprocess.run(
            train_command(seed1, run), cwd=tmp_path, capture_output=True, text=True, timeout=600
        )
    finally:
        code, output = finish(first)
    assert code == 0, output[-3000:]
    assert second.returncode != 0, "a second config trained into a run folder that another job was using"
    assert last_line(second.stderr).startswith("error:") and str(run) in last_line(second.stderr)
    assert json.loads((run / "run.json").read_text())["seed"] == 0


@pytest.mark.slow
def test_two_evaluations_sharing_one_embedding_cache(tmp_path):
    """Two evaluate processes of one run at once (e.g. a rerun while the first still scores),
    one --cache folder: both succeed with identical scores and every cache file stays whole."""
    import numpy as np
    from _util import tiny_run

    cache = tmp_path / "cache"
    procs = []
    for name in ("a", "b"):
        cmd = [PYTHON, "-m", "interface", "evaluate", "--run", str(tiny_run()), "--cache", str(cache)]
        for bench, kind, path in (
            ("synth_lfw", "verification", smoke_data() / "synth_lfw.bin"),
            ("synth_ijb", "ijb", smoke_data() / "ijb"),
        ):
            cmd += [
                "--benchmark",
                bench,
                "--kind",
                kind,
                "--path",
                str(path),
                "--out",
                str(tmp_path / name / f"{bench}.json"),
            ]
        procs.append(start(cmd, tmp_path))
    for proc in procs:
        code, output = finish(proc)
        assert code == 0, output[-3000:]
    for bench in ("synth_lfw", "synth_ijb"):
        a, b = (json.loads((tmp_path / n / f"{bench}.json").read_text())["rows"] for n in ("a", "b"))
        assert a == b and a
    files = [p for p in cache.rglob("*.npz") if not p.name.startswith(".")]
    # one embedding file per benchmark under the run's folder, one shared decoded input per benchmark
    inputs = [p for p in files if p.parent == cache / "inputs"]
    assert len(inputs) == 2 and len(files) == 4
    for path in files:
        with np.load(path, allow_pickle=False) as z:
            assert all(z[k].size > 0 for k in z.files)
