"""Snakemake itself on this workflow: lint, dry runs of every shipped config, errors before jobs.

Each test runs ``python -m snakemake`` in a subprocess (a few seconds each: parsing imports torch).
"""

from __future__ import annotations

import pytest
import yaml
from conftest import REPO, job_counts, snakemake, write_extensions

CONFIGS = REPO / "workflow" / "configs"


@pytest.mark.slow
def test_lint_is_clean(tmp_path):
    result = snakemake(tmp_path, "--lint")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Congratulations" in result.stdout + result.stderr


@pytest.mark.slow
@pytest.mark.parametrize(
    ("configs", "train", "evaluate_rule"),
    [
        ([], 68, "evaluate_synthface"),
        (["full.yaml"], 78, "evaluate_synthface"),
        (["smoke.yaml"], 2, "evaluate_synth_smoke"),
        (["paper-casia-r50.yaml"], 10, "evaluate_casia"),
        (["paper-ms1mv2-r100.yaml"], 10, "evaluate_ms1mv2"),
    ],
)
def test_dry_run_builds_one_train_and_one_evaluate_job_per_run(
    configs, train, evaluate_rule, tmp_path, fake_real_data
):
    files = [str(CONFIGS / name) for name in configs]
    if any(name.startswith("paper") for name in configs):
        (tmp_path / "paths.yaml").write_text(yaml.safe_dump({"paths": fake_real_data}))
        files.append(str(tmp_path / "paths.yaml"))
    args = ["-n", *(["--configfile", *files] if files else [])]
    result = snakemake(tmp_path, *args)
    assert result.returncode == 0, result.stderr[-3000:]
    counts = job_counts(result.stdout + result.stderr)
    expected = {
        "train": train,
        evaluate_rule: train,
        "resolved_config": 1,
        "collect": 1,
        "report": 1,
        "all": 1,
    }
    if not any(name.startswith("paper") for name in configs):
        expected["synth"] = 1  # real datasets are read in place, SynthFace is generated once
    assert counts == expected
    assert not (tmp_path / "results").exists()


@pytest.mark.slow
def test_bad_config_stops_before_any_job_naming_the_key(tmp_path):
    (tmp_path / "bad.yaml").write_text(
        yaml.safe_dump({"matrix": {"seeds": [0], "losses": [{"loss": "arcface", "params": {"m": 1.7}}]}})
    )
    result = snakemake(tmp_path, "--cores", "1", "--configfile", str(tmp_path / "bad.yaml"))
    assert result.returncode != 0
    out = result.stdout + result.stderr
    assert "config key matrix.losses[0].params.m: 1.7 is greater than or equal to the maximum" in out
    assert "radians, [0, pi/2)" in out
    assert not (tmp_path / "results").exists()


@pytest.mark.slow
def test_missing_real_dataset_path_names_the_key_and_the_layout(tmp_path):
    result = snakemake(tmp_path, "-n", "--configfile", str(CONFIGS / "paper-casia-r50.yaml"))
    assert result.returncode != 0
    out = result.stdout + result.stderr
    assert "config key paths.casia is not set (used by datasets.casia.path)" in out
    assert "train.rec, train.idx and property" in out


@pytest.mark.slow
def test_both_ways_of_adding_a_loss_join_the_same_dag(tmp_path):
    runs = write_extensions(tmp_path)
    result = snakemake(tmp_path, "-n", snakefile=tmp_path / "host.smk")
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout + result.stderr
    counts = job_counts(out)
    assert counts["train"] == 3  # arcface, interface dd, and the plugin loss (way a)
    assert counts["train_hostmargin"] == 1  # the host's own rule (way b)
    assert counts["evaluate_synth_smoke"] == 4 and counts["collect"] == 1
    for run_id in runs.values():
        assert f"results/scores/{run_id}/synth_lfw.json" in out
    collect_inputs = out.split("rule collect:", 1)[1].split("output:", 1)[0]
    assert all(run_id in collect_inputs for run_id in runs.values())


@pytest.mark.slow
def test_bench_target_runs_every_benchmark_command_in_one_job(tmp_path):
    from interface.bench.cli import BENCHMARKS

    result = snakemake(tmp_path, "-n", "bench")
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout + result.stderr
    assert job_counts(out) == {"bench": 1}
    for name in BENCHMARKS:
        assert f"results/bench/{name}.json" in out
