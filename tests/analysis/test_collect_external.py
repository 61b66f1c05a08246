"""The tidy table's ``external`` column: true exactly for runs whose run.json says ``external: true``."""

from __future__ import annotations

import json

import torch
from analysis_fakes import record_json
from run_records import write_run_json

from analysis.collect import collect, read_tidy, write_csv
from interface.backbones import build_backbone
from interface.contracts.run_record import ImportedRunRecord
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
    write_run_json(runs / trained)  # a trained run's record: never external
    (runs / "toy__tiny__arcface__default__s1").mkdir()  # no run.json yet
    for run_id in (imported, trained):
        (scores / run_id).mkdir(parents=True)
        doc = record_json(run_id, "b", "verification", [{"metric": "accuracy", "value": 0.9, "n": 10}])
        (scores / run_id / "b.json").write_text(json.dumps(doc))
    table = collect(scores, runs)
    flags = dict(zip(table["run_id"], table["external"]))
    assert flags == {imported: True, trained: False, "toy__tiny__arcface__default__s1": False}
    row = table[table["run_id"] == imported].iloc[0]
    assert (row["loss"], row["setting"], row["seed"]) == ("external", "label=ref", 0)
    write_csv(table, tmp_path / "scores.csv")
    back = read_tidy(tmp_path / "scores.csv")
    assert dict(zip(back["run_id"], back["external"])) == flags


def test_external_row_beside_its_published_entry(tmp_path):
    import pandas as pd

    from analysis.anchors import match_published
    from analysis.external import as_published, trained_only

    runs = tmp_path / "runs"
    assert (
        import_main(
            [
                "--backbone",
                "tiny",
                "--weights",
                str(_tiny(tmp_path)),
                "--out",
                str(runs / "x"),
                "--published-as",
                "ms1mv3",
                "arcface",
            ]
        )
        == 0
    )
    assert json.loads((runs / "x" / "run.json").read_text())["published_as"] == {
        "dataset": "ms1mv3",
        "loss": "arcface",
    }
    # the run of an arcface_torch r18 scored on a real-data benchmark set named "bench"
    run_id = "bench__iresnet18__external__label=ms1mv3-r18__s0"
    (runs / run_id).mkdir()
    record = ImportedRunRecord(
        run_id=run_id,
        backbone="iresnet18",
        embedding_size=512,
        input_size=112,
        external=True,
        provenance={"label": "ms1mv3-r18"},
        tags={"run_id": run_id, "loss": "external", "setting": "label=ms1mv3-r18", "seed": 0},
        published_as={"dataset": "ms1mv3", "loss": "arcface"},
    )
    (runs / run_id / "run.json").write_text(json.dumps(record.to_json()))
    base = {"backbone": "iresnet18", "benchmark": "agedb_30", "metric": "accuracy", "n_seeds": 1}
    summary = pd.DataFrame(
        [
            {**base, "dataset": "bench", "loss": "external", "setting": "label=ms1mv3-r18", "mean": 0.9790},
            {**base, "dataset": "bench", "loss": "external", "setting": "label=no-record", "mean": 0.5},
            {**base, "dataset": "ms1mv3", "loss": "arcface", "setting": "default", "mean": 0.9700},
        ]
    )
    matched = match_published(as_published(summary, runs))
    got = {
        r.setting: (round(r.published, 2), round(r.difference, 2), bool(r.within))
        for r in matched.itertuples()
    }
    # published.csv: ms1mv3 iresnet18 arcface agedb_30 accuracy 97.77, tolerance 0.5 pp
    assert got == {"label=ms1mv3-r18": (97.77, 0.13, True), "default": (97.77, -0.77, False)}
    table = pd.DataFrame({"run_id": ["a", "b"], "external": [True, False]})
    assert list(trained_only(table)["run_id"]) == ["b"]


def _tiny(tmp_path):
    torch.save(build_backbone("tiny", embedding_size=16, input_size=32).state_dict(), tmp_path / "t.pt")
    return tmp_path / "t.pt"
