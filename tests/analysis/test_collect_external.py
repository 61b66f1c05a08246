"""The tidy table's ``external`` column: true exactly for runs whose run.json says ``external: true``."""

from __future__ import annotations

import json

import torch

from analysis.collect import collect, read_tidy, write_csv
from interface.backbones import build_backbone
from interface.external.cli import main as import_main


def test_external_column_from_run_json(tmp_path):
    runs, scores = tmp_path / "runs", tmp_path / "scores"
    torch.save(build_backbone("tiny", embedding_size=16, input_size=32).state_dict(), tmp_path / "w.pt")
    imported = "toy__tiny__external__label=ref__s0"
    assert (
        import_main(
            [
                "--backbone",
                "tiny",
                "--weights",
                str(tmp_path / "w.pt"),
                "--out",
                str(runs / imported),
                "--name",
                "ref",
            ]
        )
        == 0
    )
    trained = "toy__tiny__arcface__default__s0"
    (runs / trained).mkdir()
    (runs / trained / "run.json").write_text(
        json.dumps({"backbone": "tiny", "external": "yes"})
    )  # not `true`
    (runs / "toy__tiny__arcface__default__s1").mkdir()  # no run.json yet
    for run_id in (imported, trained):
        (scores / run_id).mkdir(parents=True)
        doc = {"benchmark": "b", "kind": "verification", "rows": [{"metric": "accuracy", "value": 0.9}]}
        (scores / run_id / "b.json").write_text(json.dumps(doc))
    table = collect(scores, runs)
    flags = dict(zip(table["run_id"], table["external"]))
    assert flags == {imported: True, trained: False, "toy__tiny__arcface__default__s1": False}
    row = table[table["run_id"] == imported].iloc[0]
    assert (row["loss"], row["setting"], row["seed"]) == ("external", "label=ref", 0)
    write_csv(table, tmp_path / "scores.csv")
    back = read_tidy(tmp_path / "scores.csv")
    assert dict(zip(back["run_id"], back["external"])) == flags
