"""analysis.collect: score JSONs + run.json -> tidy scores.csv, tolerant of failed runs."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from analysis_fakes import BENCHES, DROPPED, FAILED, METHODS, N_FOLDS, SEEDS, accuracy, record_json, run_id
from run_records import write_run_json

from analysis.collect import (
    FOLD_METRIC,
    TIDY_COLUMNS,
    collect,
    items_key,
    main,
    read_items,
    read_tidy,
    write_csv,
)
from analysis.runinfo import run_metadata
from interface.errors import InputError


def test_tidy_table_values_and_join(results_tree: Path) -> None:
    table = collect(results_tree / "scores", results_tree / "runs")
    assert list(table.columns) == TIDY_COLUMNS
    rid = run_id("arcface", "m=0.5", 1)
    row = table[
        (table["run_id"] == rid) & (table["benchmark"] == "synth_lfw") & (table["metric"] == "accuracy")
    ]
    assert len(row) == 1
    r = row.iloc[0]
    assert (r["dataset"], r["backbone"], r["loss"], r["setting"], r["seed"]) == (
        "synthface",
        "tiny",
        "arcface",
        "m=0.5",
        1,
    )
    assert r["value"] == pytest.approx(accuracy("arcface", 1))
    assert r["n"] == 600 and r["wall_time_s"] == 11.0 and r["images_per_s"] == 110.0 and r["status"] == "ok"
    assert r["kind"] == "verification"  # a column of its own, never parsed out of the evaluator text
    assert json.loads(r["evaluator"]) == {
        "name": "fake-verification",
        "evaluator": "fake-verification/v1",
        "version": 1,
        "reproduces": "analysis_fakes",
        "flip": "sum",
    }
    folds = table[(table["run_id"] == rid) & (table["metric"] == FOLD_METRIC)]
    assert sorted(folds["fold"].tolist()) == list(range(N_FOLDS))


def test_failed_and_missing_runs_are_recorded(results_tree: Path) -> None:
    table = collect(results_tree / "scores", results_tree / "runs")
    failed = table[table["run_id"] == FAILED]
    assert (
        len(failed) == 1 and failed.iloc[0]["status"] == "no run.json" and math.isnan(failed.iloc[0]["value"])
    )
    # identity comes from the run id when run.json is absent
    assert (failed.iloc[0]["loss"], failed.iloc[0]["seed"]) == ("softmax", 2)
    dropped = table[(table["run_id"] == DROPPED[0]) & (table["benchmark"] == DROPPED[1])]
    assert dropped.empty  # no file, no row: the report lists it against the benchmark list
    n_runs = len(METHODS) * len(SEEDS)
    assert table["run_id"].nunique() == n_runs


def test_bad_score_file_is_flagged_not_fatal(tmp_path: Path) -> None:
    rid = run_id("arcface", "m=0.5", 0)
    (tmp_path / "scores" / rid).mkdir(parents=True)
    (tmp_path / "scores" / rid / "synth_lfw.json").write_text("{not json")
    doc = record_json(rid, "synth_cplfw", "verification", [{"metric": "accuracy", "value": 0.9, "n": 4}])
    doc["rows"][0].pop("value")
    (tmp_path / "scores" / rid / "synth_cplfw.json").write_text(json.dumps(doc))
    newer = {**doc, "format": "interface-score/2"}
    (tmp_path / "scores" / rid / "synth_agedb.json").write_text(json.dumps(newer))
    untagged = {k: v for k, v in doc.items() if k != "format"}  # the layout before the score record
    (tmp_path / "scores" / rid / "synth_calfw.json").write_text(json.dumps(untagged))
    table = collect(tmp_path / "scores", tmp_path / "runs")
    statuses = dict(zip(table["benchmark"], table["status"]))
    assert statuses["synth_lfw"].startswith("bad score file") and "synth_lfw.json" in statuses["synth_lfw"]
    assert "rows[0]" in statuses["synth_cplfw"]
    # another version of the record is refused in one line naming the file and both tags
    assert (
        "synth_agedb.json: format 'interface-score/2'; this version reads interface-score/1 only"
        in statuses["synth_agedb"]
    )
    assert "synth_calfw.json: no format tag" in statuses["synth_calfw"]
    assert all("\n" not in s for s in statuses.values())


def test_cli_writes_csv_that_reads_back(results_tree: Path, tmp_path: Path) -> None:
    out = tmp_path / "tables" / "scores.csv"
    assert (
        main(
            [
                "--scores",
                str(results_tree / "scores"),
                "--runs",
                str(results_tree / "runs"),
                "--out",
                str(out),
            ]
        )
        == 0
    )
    back = read_tidy(out)
    direct = collect(results_tree / "scores", results_tree / "runs")
    pd.testing.assert_frame_equal(
        back.reset_index(drop=True), direct.reset_index(drop=True), check_dtype=False
    )
    assert not list(out.parent.glob(".*.tmp"))  # atomic: no temporary left behind
    scored = back[back["metric"] != ""].drop_duplicates(["run_id", "benchmark"])
    assert (
        len(scored) == len(METHODS) * len(SEEDS) * len(BENCHES) - len(BENCHES) - 1
    )  # failed run, dropped file


def test_empty_folders_give_header_only_table(tmp_path: Path) -> None:
    table = collect(tmp_path / "absent_scores", tmp_path / "absent_runs")
    assert table.empty and list(table.columns) == TIDY_COLUMNS


def test_read_tidy_rejects_missing_column(tmp_path: Path) -> None:
    path = tmp_path / "scores.csv"
    path.write_text("run_id,value\nx,1\n")
    with pytest.raises(InputError, match="missing column"):
        read_tidy(path)


def test_identity_comes_from_the_run_id_and_a_bad_id_leaves_it_empty(tmp_path: Path) -> None:
    meta = run_metadata("casia__iresnet50__interface__variant=dd__s3", None)
    assert {k: meta[k] for k in ("dataset", "backbone", "loss", "setting", "seed")} == {
        "dataset": "casia",
        "backbone": "iresnet50",
        "loss": "interface",
        "setting": "variant=dd",
        "seed": 3,
    }
    bad = run_metadata("casia__r50__arcface__s1", None)
    assert [bad[k] for k in ("dataset", "loss", "seed")] == ["", "", ""]


def test_run_metadata_reads_the_record_and_flags_one_of_another_format(tmp_path: Path) -> None:
    rid = run_id("arcface", "m=0.5", 0)
    write_run_json(tmp_path / rid, wall_time_s=3.5, images_per_s=7.0, tags={"dataset": "other"})
    meta = run_metadata(rid, tmp_path / rid)
    assert (meta["dataset"], meta["loss"], meta["wall_time_s"], meta["images_per_s"]) == (
        "other",
        "arcface",
        3.5,
        7.0,
    )
    assert meta["run_status"] == "ok" and meta["external"] is False
    path = tmp_path / rid / "run.json"
    info = json.loads(path.read_text())
    path.write_text(json.dumps({**info, "format": "interface-run/99"}))
    meta = run_metadata(rid, tmp_path / rid)
    status = meta["run_status"]
    assert status.startswith(f"bad run.json: {path}: format 'interface-run/99'") and "\n" not in status
    assert math.isnan(meta["wall_time_s"]) and meta["dataset"] == "synthface"  # the run id fills in


def test_cli_bad_folder_is_one_line_error(tmp_path: Path, capsys) -> None:
    afile = tmp_path / "scores"
    afile.write_text("not a folder")
    assert (
        main(["--scores", str(afile), "--runs", str(tmp_path / "runs"), "--out", str(tmp_path / "o.csv")])
        == 2
    )
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--scores" in err and "expected a folder" in err
    assert not (tmp_path / "o.csv").exists()


def _score_json(
    path: Path, rows: list[dict], items: dict | None = None, benchmark: str = "synth_ijb"
) -> None:
    doc = record_json(path.parent.name, benchmark, "ijb", rows, items)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc))


def test_resolved_and_n_events_columns(tmp_path: Path) -> None:
    rid = run_id("arcface", "m=0.5", 0)
    rows = [
        {"metric": "tar_at_far_1e-04", "value": 0.8, "n": 3000, "resolved": True, "n_events": 180.0},
        {"metric": "tar_at_far_1e-05", "value": 0.7, "n": 3000, "resolved": False, "n_events": 18.0},
        {"metric": "auc", "value": 0.99, "n": 3000},  # not a rate read-out: resolved by default
    ]
    _score_json(tmp_path / "scores" / rid / "synth_ijb.json", rows)
    table = collect(tmp_path / "scores", tmp_path / "runs").set_index("metric")
    assert table.loc["tar_at_far_1e-04", "resolved"] and not table.loc["tar_at_far_1e-05", "resolved"]
    assert table.loc["auc", "resolved"] and math.isnan(table.loc["auc", "n_events"])
    assert table.loc["tar_at_far_1e-05", "n_events"] == 18.0
    out = tmp_path / "scores.csv"
    write_csv(table.reset_index(), out)
    back = read_tidy(out).set_index("metric")
    assert back["resolved"].dtype == bool and not back.loc["tar_at_far_1e-05", "resolved"]
    # a tidy table written before the column existed reads back as all resolved
    old = tmp_path / "old.csv"
    write_csv(table.reset_index().drop(columns=["resolved", "n_events"]), old)
    assert read_tidy(old)["resolved"].all()


def test_items_archive_round_trip(tmp_path: Path) -> None:
    rid = run_id("arcface", "m=0.5", 0)
    rows = [{"metric": "tar_at_far_1e-04", "value": 0.5, "n": 4}]
    items = {"tar_at_far_1e-04": [1, 0, 1, 0], "rank1": [1, 1, 2], "auc": [0.5, 1.0]}
    _score_json(tmp_path / "scores" / rid / "synth_ijb.json", rows, items)
    _score_json(tmp_path / "scores" / rid / "synth_id.json", rows, None, benchmark="synth_id")
    (tmp_path / "runs").mkdir()
    out = tmp_path / "tables" / "scores.csv"
    args = ["--scores", str(tmp_path / "scores"), "--runs", str(tmp_path / "runs"), "--out", str(out)]
    assert main(args) == 0
    back = read_items(out.parent / "items.npz")
    # the 0/1 list is kept under its contract key; a list with a 2 and one of floats are skipped
    assert (
        list(back)
        == [items_key(rid, "synth_ijb", "tar_at_far_1e-04")]
        == [f"{rid}::synth_ijb::tar_at_far_1e-04"]
    )
    arr = back[f"{rid}::synth_ijb::tar_at_far_1e-04"]
    assert arr.dtype == np.uint8 and arr.tolist() == [1, 0, 1, 0]
    assert not list(out.parent.glob(".*.tmp"))
    custom = tmp_path / "elsewhere.npz"
    assert main([*args, "--items", str(custom)]) == 0 and list(read_items(custom)) == list(back)
    assert read_items(tmp_path / "absent.npz") == {} and read_items(None) == {}
    (tmp_path / "broken.npz").write_bytes(b"not a zip")
    with pytest.raises(InputError, match="broken.npz"):
        read_items(tmp_path / "broken.npz")


def test_fixture_tree_has_no_items(results_tree: Path) -> None:
    items: dict = {}
    collect(results_tree / "scores", results_tree / "runs", items)
    assert items == {}  # the fixture's score JSONs predate items: statistics fall back to seeds only


def test_a_score_file_of_another_run_is_a_bad_file_not_credited_to_its_folder(tmp_path):
    from analysis.collect import score_rows
    from interface.contracts.score_record import EvaluatorSpec, ScoreRecord, ScoreRow

    spec = EvaluatorSpec("p", "p/v1", 1, "test", {})
    rows = [ScoreRow("accuracy", 0.9, 10, True, None)]
    record = ScoreRecord("d__b__arcface__default__s1", "lfw", "verification", spec, rows)
    path = tmp_path / "d__b__arcface__default__s0" / "lfw.json"
    path.parent.mkdir()
    path.write_text(json.dumps(record.to_json()))
    rows = score_rows(path, "d__b__arcface__default__s0", {"run_status": "ok"})
    assert len(rows) == 1 and rows[0]["status"].startswith("bad score file:")
    assert "d__b__arcface__default__s1" in rows[0]["status"]
