"""Kill and resume through the workflow (issue 8, items 1 and 5).

One working folder runs the documented smoke command; it is SIGKILLed (the whole process group
and every descendant) at four points detected by polling for files: during data generation,
mid-training (a resume file exists, the model does not), mid-evaluation (some but not all score
JSONs of a run exist) and during the report (figures exist, index.html does not). After each
kill no file under a final name is half-written; the same command is then run again (after
``--unlock``: Snakemake keeps its lock after a SIGKILL and says so). The last run finishes, and:

* the scores equal those of an uninterrupted run byte for byte (timing columns aside);
* the trained weights are identical; the run killed mid-training resumed from its checkpoint;
* no run whose training job had completed was trained again (model.pt inode and mtime unchanged).

Determinism (item 5) is the same comparison read the other way: two runs of the smoke workflow
with the same seeds (one uninterrupted, one killed four times) give identical score tables.

The killed run adds ``train.checkpoint_every: 1`` (a runtime key: it changes how often the
trainer saves, never what it computes) so that the mid-training window is wider than one poll.
"""

from __future__ import annotations

import base64
import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from _util import (
    SMOKE_CONFIG,
    digests,
    env,
    half_written,
    kill_tree,
    reference_smoke,
    score_table,
    session_dir,
    smoke_command,
    start,
    tail,
    wait_for,
)

BENCHMARKS = sorted(yaml.safe_load(SMOKE_CONFIG.read_text())["datasets"]["synth-smoke"]["benchmarks"])


def _finished_scores(run: Path) -> int:
    return sum(1 for p in run.glob("*.json") if not p.name.startswith(".")) if run.is_dir() else 0


def during_data_generation(w: Path) -> bool:
    log = w / "results" / "logs" / "synth" / "synth-smoke.log"
    started = log.is_file() and "rendering" in log.read_text(errors="replace")
    return started or any((w / "results" / "data").glob(".synth-smoke.partial-*"))


def mid_training(w: Path) -> bool:
    return any(
        (run / "resume.pt").is_file() and not (run / "model.pt").exists()
        for run in (w / "results" / "runs").glob("*")
    )


def mid_evaluation(w: Path) -> bool:
    return any(0 < _finished_scores(run) < len(BENCHMARKS) for run in (w / "results" / "scores").glob("*"))


def during_report(w: Path) -> bool:
    report = w / "results" / "report"
    return any(report.rglob("*.*")) and not (report / "index.html").exists() if report.is_dir() else False


KILL_POINTS: list[tuple[str, Callable[[Path], bool]]] = [
    ("data generation", during_data_generation),
    ("training", mid_training),
    ("evaluation", mid_evaluation),
    ("report", during_report),
]


def completed_models(w: Path) -> dict[str, tuple[int, int]]:
    """model.pt of every run whose training job Snakemake has recorded as complete: (inode, mtime)."""
    incomplete = {
        base64.b64decode(p.name).decode() for p in (w / ".snakemake" / "incomplete").glob("*") if p.is_file()
    }
    out = {}
    for model in (w / "results" / "runs").glob("*/model.pt"):
        rel = model.relative_to(w).as_posix()
        if rel not in incomplete and (model.parent / "run.json").is_file():
            stat = model.stat()
            out[rel] = (stat.st_ino, stat.st_mtime_ns)
    return out


def rows(workdir: Path) -> dict[str, list]:
    """The score rows of every (run, benchmark) JSON."""
    scores = workdir / "results" / "scores"
    files = [p for p in sorted(scores.glob("*/*.json")) if not p.name.startswith(".")]  # not the job's list
    return {p.relative_to(scores).as_posix(): json.loads(p.read_text())["rows"] for p in files}


@pytest.fixture(scope="module")
def killed_run():
    """Run the smoke workflow through four SIGKILLs and a final uninterrupted rerun."""
    workdir = session_dir("smoke-killed")
    overlay = workdir.parent / f"{workdir.name}-checkpoint-every-step.yaml"
    overlay.write_text(yaml.safe_dump({"train": {"checkpoint_every": 1}}))
    command = smoke_command(workdir, configfiles=[overlay])
    unlock = smoke_command(workdir, "--unlock", configfiles=[overlay])
    history = []
    for name, condition in KILL_POINTS:
        proc = start(command, workdir)
        try:
            hit = wait_for(proc, lambda c=condition: c(workdir), timeout=900, poll=0.005)
            models = completed_models(workdir)
        finally:
            kill_tree(proc)
        log = proc.log_path.read_text(errors="replace")
        assert hit, f"never saw the {name} phase before the workflow ended:\n{log[-4000:]}"
        history.append(
            {
                "point": name,
                "models": models,
                "half_written": half_written(workdir),
                "resume_files": sorted(p.parent.name for p in workdir.glob("results/runs/*/resume.pt")),
                "log": log,
            }
        )
        if name == KILL_POINTS[0][0]:  # the same command right after a SIGKILL: Snakemake's lock
            again = subprocess.run(command, cwd=workdir, env=env(workdir), capture_output=True, text=True)
            history[-1]["same_command"] = again
        result = subprocess.run(unlock, cwd=workdir, env=env(workdir), capture_output=True, text=True)
        assert result.returncode == 0, tail(result)
    final = subprocess.run(
        command, cwd=workdir, env=env(workdir), capture_output=True, text=True, timeout=900
    )
    assert final.returncode == 0, tail(final)
    return workdir, history, final


@pytest.mark.slow
def test_no_half_written_file_after_any_kill(killed_run):
    _, history, _ = killed_run
    found = {h["point"]: h["half_written"] for h in history}
    assert found == {name: [] for name, _ in KILL_POINTS}


@pytest.mark.slow
def test_same_command_after_a_kill_names_the_lock_and_changes_nothing(killed_run):
    _, history, _ = killed_run
    again = history[0]["same_command"]
    assert again.returncode != 0
    assert "--unlock" in again.stdout + again.stderr


@pytest.mark.slow
def test_rerun_finishes_with_the_scores_of_an_uninterrupted_run(killed_run):
    workdir, _, _ = killed_run
    reference = reference_smoke()
    assert rows(workdir) == rows(reference)
    assert len(rows(workdir)) == 2 * len(BENCHMARKS)
    assert (workdir / "results" / "report" / "index.html").is_file()


@pytest.mark.slow
def test_killed_training_resumed_and_matches_the_uninterrupted_weights(killed_run):
    import torch

    workdir, history, _ = killed_run
    resumed = next(h for h in history if h["point"] == "training")["resume_files"]
    assert resumed, "no run had a resume file when training was killed"
    for run in resumed:
        log = (workdir / "results" / "runs" / run / "train.log").read_text()
        assert "resumed from" in log, f"{run} restarted from scratch instead of resuming"
    reference = reference_smoke()
    for model in sorted((reference / "results" / "runs").glob("*/model.pt")):
        want = torch.load(model, weights_only=True)
        got = torch.load(workdir / model.relative_to(reference), weights_only=True)
        assert got.keys() == want.keys()
        assert all(torch.equal(got[k], want[k]) for k in want), model.parent.name


@pytest.mark.slow
def test_no_completed_run_was_retrained(killed_run):
    workdir, history, _ = killed_run
    seen = {}
    for h in history:
        seen.update(h["models"])
    assert seen, "no training job had completed at any kill point"
    now = {rel: (p.stat().st_ino, p.stat().st_mtime_ns) for rel in seen if (p := workdir / rel).is_file()}
    assert now == seen


@pytest.mark.slow
def test_two_runs_with_the_same_seeds_give_identical_score_tables(killed_run):
    workdir, _, _ = killed_run
    reference = reference_smoke()
    table = score_table(workdir, scores_only=True)
    assert table.count("\n") > 2 * len(BENCHMARKS)
    assert table == score_table(reference, scores_only=True)
    assert digests(workdir, "results/data/synth-smoke/*") == digests(reference, "results/data/synth-smoke/*")


@pytest.mark.slow
def test_a_killed_and_resumed_run_has_no_extra_rows_in_its_score_table(killed_run):
    workdir, _, _ = killed_run
    assert score_table(workdir) == score_table(reference_smoke())
