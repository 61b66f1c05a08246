"""The trainer benchmark and the prepared GPU check run (small settings) and report what they promise."""

from __future__ import annotations

import json

import pytest


@pytest.mark.slow
def test_trainer_benchmark_reports_ratios(tmp_path, monkeypatch):
    from interface.bench import trainer as bench

    monkeypatch.setitem(bench.SETTINGS, "batch_size", 32)
    monkeypatch.setitem(bench.SETTINGS, "num_classes", 40)
    result = bench.run(tmp_path / "trainer.json", quick=True)
    on_disk = json.loads((tmp_path / "trainer.json").read_text())
    summary = on_disk["summary"]
    assert summary == result["summary"]
    assert summary["trainer_over_bare"] > 0.3  # measured near 1.0; a loose floor against a broken loop
    assert 0 < summary["achieved_over_matmul_flops"] < 5
    assert on_disk["step_flops"] > 0 and len(on_disk["trainer_images_per_s"]) == 2


@pytest.mark.slow
def test_gpu_check_dry_run_on_cpu(tmp_path, capsys):
    from interface.bench.gpu_check import main

    assert main(["--out", str(tmp_path), "--dry-run-cpu"]) == 0
    report = json.loads((tmp_path / "gpu_check.json").read_text())
    assert report["dry_run_cpu"] and {(r["loss"], r["compiled"]) for r in report["results"]} == {
        ("arcface", False),
        ("interface", False),
    }
    for row in report["results"]:
        assert row["images_per_s"] > 0 and 0 < row["fraction_of_matmul"] < 5
    assert "img/s" in capsys.readouterr().out
