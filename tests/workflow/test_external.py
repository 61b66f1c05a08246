"""``external_models``: released checkpoints join the workflow as runs, checked at parse time."""

from __future__ import annotations

import re

import pytest
import torch
import yaml
from conftest import REPO, job_counts, smoke_config, snakemake
from wfexternal import external_runs, import_args

from interface.backbones import build_backbone
from interface.contracts.run_id import RunId
from interface.errors import InputError

RUN_ID = "synth-smoke__tiny__external__label=tiny-ref__s0"


def _config(tmp_path, **entry):
    config = smoke_config()
    config.setdefault("paths", {})
    config["external_models"] = {
        "tiny-ref": {"backbone": "tiny", "weights": "tiny.pth", "dataset": "synth-smoke", **entry}
    }
    return config


def test_entry_becomes_a_run_the_grammar_parses(tmp_path):
    (tmp_path / "tiny.pth").write_bytes(b"")
    runs = external_runs(_config(tmp_path, input_size=32), {}, tmp_path)
    assert list(runs) == [RUN_ID]
    run = runs[RUN_ID]
    assert (run.dataset, run.backbone, run.loss, run.setting, run.seed) == (
        "synth-smoke",
        "tiny",
        "external",
        "label=tiny-ref",
        0,
    )
    assert RunId.parse(RUN_ID).run_id == run.run_id and RunId.parse(RUN_ID).setting == "label=tiny-ref"
    config = _config(tmp_path, input_size=32, published={"dataset": "ms1mv3", "loss": "arcface"})
    args = import_args(run, config)
    assert args[args.index("--run-id") + 1] == RUN_ID and args[args.index("--input-size") + 1] == "32"
    assert args[args.index("--published-as") + 1 :][:2] == ["ms1mv3", "arcface"]


@pytest.mark.parametrize(
    "entry,expected",
    [
        (
            {"backbone": "resnet9000"},
            "config key external_models.tiny-ref.backbone: 'resnet9000' is not a registered backbone",
        ),
        ({"dataset": "nowhere"}, "config key external_models.tiny-ref.dataset: 'nowhere' is not in datasets"),
        ({"weights": "absent.pth"}, "config key external_models.tiny-ref.weights:"),
        (
            {"weights": "{zoo}/r50.pth"},
            "config key external_models.tiny-ref.weights: refers to {zoo} but paths.zoo is not defined",
        ),
        ({"input_size": 40}, "config key external_models.tiny-ref.input_size: value 40"),
    ],
)
def test_bad_entries_name_the_key(tmp_path, entry, expected):
    (tmp_path / "tiny.pth").write_bytes(b"")
    with pytest.raises(InputError, match="^" + re.escape(expected)):
        external_runs(_config(tmp_path, **entry), {}, tmp_path)


def test_run_id_clash_is_refused(tmp_path):
    (tmp_path / "tiny.pth").write_bytes(b"")
    taken = external_runs(_config(tmp_path), {}, tmp_path)
    with pytest.raises(InputError, match=f"run {RUN_ID} is also declared by external_models.tiny-ref"):
        external_runs(_config(tmp_path), taken, tmp_path)


@pytest.mark.slow
def test_dry_run_imports_and_evaluates_the_external_model(tmp_path):
    torch.save(build_backbone("tiny", embedding_size=32, input_size=32).state_dict(), tmp_path / "tiny.pth")
    extra = {
        "external_models": {"tiny-ref": {"backbone": "tiny", "weights": "tiny.pth", "dataset": "synth-smoke"}}
    }
    (tmp_path / "ext.yaml").write_text(yaml.safe_dump(extra))
    configs = [str(REPO / "workflow" / "configs" / "smoke.yaml"), str(tmp_path / "ext.yaml")]
    result = snakemake(tmp_path, "-n", "-p", "--configfile", *configs)
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout + result.stderr
    counts = job_counts(out)
    assert counts["import_external"] == 1 and counts["evaluate_synth_smoke"] == 3 and counts["train"] == 2
    assert f"python -m interface import --weights tiny.pth --out results/runs/{RUN_ID}" in out
    assert not (tmp_path / "results").exists()
    # a schema-level error (label outside the run-id grammar) stops before any job
    extra["external_models"] = {"Tiny_Ref": extra["external_models"]["tiny-ref"]}
    (tmp_path / "ext.yaml").write_text(yaml.safe_dump(extra))
    result = snakemake(tmp_path, "-n", "--configfile", *configs)
    assert result.returncode != 0 and "external_models" in result.stdout + result.stderr
    assert "Tiny_Ref" in result.stdout + result.stderr


@pytest.mark.slow
def test_smoke_workflow_with_an_external_model_shows_it_as_a_reference_row(tmp_path):
    """The whole pipeline: imported, scored on every benchmark, a marked row of the table that the
    report lists first and leaves out of every comparison."""
    import pandas as pd

    from analysis.collect import read_tidy

    torch.save(build_backbone("tiny", embedding_size=32, input_size=32).state_dict(), tmp_path / "tiny.pth")
    extra = {
        "external_models": {"tiny-ref": {"backbone": "tiny", "weights": "tiny.pth", "dataset": "synth-smoke"}}
    }
    (tmp_path / "ext.yaml").write_text(yaml.safe_dump(extra))
    profile = ("--workflow-profile", str(REPO / "workflow" / "profiles" / "default"), "--cores", "2")
    configs = [str(REPO / "workflow" / "configs" / "smoke.yaml"), str(tmp_path / "ext.yaml")]
    result = snakemake(tmp_path, *profile, "--configfile", *configs, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    table = read_tidy(tmp_path / "results" / "tables" / "scores.csv")
    external = table[table["run_id"] == RUN_ID]
    assert set(external["benchmark"]) == {b for b in table["benchmark"] if b} and external["external"].all()
    assert not table.loc[table["run_id"] != RUN_ID, "external"].any()
    tables = tmp_path / "results" / "report" / "tables"
    comparisons = pd.read_csv(tables / "comparisons.csv", keep_default_na=False)
    named = set(comparisons.get("method", [])) | set(comparisons.get("baseline", []))
    assert not any("external" in str(name) for name in named)
    main = next(p for p in sorted(tables.glob("main*.csv")))
    assert pd.read_csv(main).iloc[0, 0] == "external (label=tiny-ref)"
