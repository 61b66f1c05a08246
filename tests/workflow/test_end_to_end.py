"""The workflow for real, in one temporary working folder (never the repository's results/).

In order, sharing the folder (the SynthFace smoke data is generated once):
1. the smoke config end to end, then ``snakemake --report``;
2. both ways of adding a loss (a plugin module named in the config; a host Snakefile that imports
   this workflow as a module and trains its own run), each with a loss defined in the test: the
   new runs join the tidy table and the report;
3. a training job killed half-way and restarted with the same command resumes from its resume
   file instead of starting again.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import psutil
import pytest
import yaml
from conftest import REPO, smoke_config, snakemake, write_extensions

pytestmark = pytest.mark.slow

SMOKE = str(REPO / "workflow" / "configs" / "smoke.yaml")
PROFILE = ("--workflow-profile", str(REPO / "workflow" / "profiles" / "default"), "--cores", "2")
SMOKE_RUNS = {"synth-smoke__tiny__arcface__default__s0", "synth-smoke__tiny__interface__variant=dd__s0"}
BENCHMARKS = {
    "synth_lfw",
    "synth_cfp_fp",
    "synth_agedb_30",
    "synth_calfw",
    "synth_cplfw",
    "synth_ijb",
    "synth_identification",
    "synth_ijb_1n",
    "synth_tinyface",
}


@pytest.fixture(scope="module")
def workdir():
    # a private folder: pytest's shared basetemp rotation (other sessions on this machine) must
    # not delete it while the workflow runs
    with tempfile.TemporaryDirectory(prefix="interface-workflow-e2e-") as folder:
        yield Path(folder)


def _explain(result: subprocess.CompletedProcess, workdir) -> str:
    logs = "\n".join(
        f"== {p}\n{p.read_text()[-1500:]}" for p in sorted((workdir / "results" / "logs").rglob("*.log"))
    )
    return f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}\n{logs[-6000:]}"


def _table(workdir) -> pd.DataFrame:
    return pd.read_csv(workdir / "results" / "tables" / "scores.csv")


def test_smoke_config_end_to_end_then_snakemake_report(workdir):
    start = time.monotonic()
    result = snakemake(workdir, *PROFILE, "--configfile", SMOKE, timeout=600)
    elapsed = time.monotonic() - start
    assert result.returncode == 0, _explain(result, workdir)
    table = _table(workdir)
    assert set(table["run_id"]) == SMOKE_RUNS
    assert set(table["benchmark"]) == BENCHMARKS
    accuracy = table[table["metric"] == "accuracy"]
    assert len(accuracy) == 2 * 5 and accuracy["value"].between(0, 1).all()
    assert (workdir / "results" / "report" / "index.html").is_file()
    for run_id in SMOKE_RUNS:
        spec = yaml.safe_load((workdir / "results" / "runs" / run_id / "RUN.yaml").read_text())
        assert spec["tags"]["run_id"] == run_id and spec["threads"] == 1
        assert not (workdir / "results" / "runs" / run_id / "resume.pt").exists()
    print(f"smoke workflow: {elapsed:.0f} s wall on this machine")
    # the report draws from declared rule outputs only: without the evaluator's embedding cache it
    # is rebuilt with the same ROC and pair-cosine figures (from the score records' plots)
    figures = workdir / "results" / "report" / "figures"
    drawn = {"roc_synth_ijb.png", "pair_cosines_synth_lfw.png"}
    assert drawn <= {p.name for p in figures.iterdir()}
    shutil.rmtree(workdir / "results" / "cache")
    shutil.rmtree(workdir / "results" / "report")
    again = snakemake(workdir, *PROFILE, "--configfile", SMOKE, timeout=300)
    assert again.returncode == 0, _explain(again, workdir)
    assert drawn <= {p.name for p in figures.iterdir()}
    assert not (workdir / "results" / "cache").exists()  # nothing but the report was re-run
    report = snakemake(
        workdir, "--configfile", SMOKE, "--report", "results/snakemake-report.zip", timeout=300
    )
    assert report.returncode == 0, _explain(report, workdir)
    assert (workdir / "results" / "snakemake-report.zip").stat().st_size > 0


def test_plugin_loss_and_module_rule_join_the_same_table_and_report(workdir):
    runs = write_extensions(workdir)
    result = snakemake(workdir, *PROFILE, timeout=600, snakefile=workdir / "host.smk")
    assert result.returncode == 0, _explain(result, workdir)
    table = _table(workdir)
    assert set(table["run_id"]) >= SMOKE_RUNS | set(runs.values())
    for loss, run_id in (("plugmargin", runs["plugin"]), ("hostmargin", runs["host"])):
        rows = table[table["run_id"] == run_id]
        assert set(rows["loss"]) == {loss} and set(rows["benchmark"]) == BENCHMARKS
        assert rows.loc[rows["metric"] == "accuracy", "value"].between(0, 1).all()
    spec = yaml.safe_load((workdir / "results" / "runs" / runs["host"] / "RUN.yaml").read_text())
    assert spec["loss"] == "hostmargin" and spec["loss_params"] == {"m": 0.25}
    assert spec["plugins"] == [str(workdir / "host_losses.py")]
    html = (workdir / "results" / "report" / "index.html").read_text()
    assert "plugmargin" in html and "hostmargin" in html


def _kill_tree(process: subprocess.Popen) -> None:
    """SIGKILL the Snakemake process this test started and every process below it."""
    try:
        parent = psutil.Process(process.pid)
        victims = [*parent.children(recursive=True), parent]
    except psutil.NoSuchProcess:
        victims = []
    for victim in victims:
        with contextlib.suppress(psutil.NoSuchProcess):
            victim.send_signal(signal.SIGKILL)
    process.wait()


def _start_until(cmd, env, cwd, log, ready, what: str) -> subprocess.Popen:
    """Start ``cmd`` (output to ``log``) and wait until ``ready()``; fail if it ends first."""
    with open(log, "w") as handle:
        # its own session, like a command started from a terminal: Ctrl-C reaches the whole group
        process = subprocess.Popen(
            cmd, cwd=cwd, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
        )
    deadline = time.monotonic() + 300
    try:
        while not ready():
            assert process.poll() is None, f"the workflow ended before {what}: {log.read_text()[-3000:]}"
            assert time.monotonic() < deadline, f"no {what} after 300 s"
            time.sleep(0.05)
    except BaseException:
        _kill_tree(process)
        raise
    return process


def test_killed_training_resumes_when_the_same_command_is_rerun(workdir):
    """SIGKILL of the trainer: Snakemake's retry resumes it. SIGKILL of everything: after
    ``--unlock`` (a killed Snakemake leaves its lock), the same command resumes the run again."""
    config = smoke_config()
    # long enough (1,000 steps) to be caught half-way even when the machine is idle
    config["train"].update(epochs=200, checkpoint_every=5, log_every=25)
    config["matrix"].update(seeds=[5], losses=[{"loss": "arcface"}])
    (workdir / "resume.yaml").write_text(yaml.safe_dump(config))
    run_id = "synth-smoke__tiny__arcface__default__s5"
    run_dir = workdir / "results" / "runs" / run_id
    target = f"results/runs/{run_id}/model.pt"
    base = [
        sys.executable,
        "-m",
        "snakemake",
        "-s",
        str(REPO / "Snakefile"),
        "--directory",
        str(workdir),
        *PROFILE,
    ]
    cmd = [
        *base,
        target,
        "--configfile",
        str(workdir / "resume.yaml"),
    ]  # --configfile takes several files: last
    env = {**os.environ, "OMP_NUM_THREADS": "1"}

    def resumes() -> list[int]:
        log = run_dir / "train.log"
        lines = log.read_text().splitlines() if log.is_file() else []
        return [int(line.split(" at step ")[1].split()[0]) for line in lines if "resumed from" in line]

    def trainer(process: subprocess.Popen) -> psutil.Process:
        found = [p for p in psutil.Process(process.pid).children(recursive=True) if "train" in p.cmdline()]
        assert len(found) == 1, found
        return found[0]

    first = _start_until(
        cmd, env, workdir, workdir / "attempt1.log", (run_dir / "resume.pt").is_file, "a checkpoint"
    )
    # 1. The trainer dies (OOM killer, lost GPU): the job fails, its outputs are cleaned, and the
    #    rule's retry starts it again; the new attempt resumes from resume.pt.
    trainer(first).kill()
    deadline = time.monotonic() + 300
    while not resumes():
        assert first.poll() is None, (workdir / "attempt1.log").read_text()[-3000:]
        assert time.monotonic() < deadline, "the retried job did not resume within 300 s"
        time.sleep(0.05)
    # 2. Everything dies (power loss, the head node pre-empted): SIGKILL the whole process tree.
    _kill_tree(first)
    assert (run_dir / "resume.pt").is_file() and not (run_dir / "model.pt").exists()
    assert subprocess.run([*base, "--unlock"], cwd=workdir, env=env, capture_output=True).returncode == 0
    again = subprocess.run(cmd, cwd=workdir, env=env, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, _explain(again, workdir)
    assert (run_dir / "model.pt").is_file() and (run_dir / "run.json").is_file()
    steps = resumes()
    assert len(steps) == 2 and 1 <= steps[0] <= steps[1], steps  # continued each time, never from step 0
    assert not (run_dir / "resume.pt").exists()  # the trainer removes it once the run is final
