"""``python -m interface evaluate`` end to end on a toy run: tidy rows, spec, several benchmarks in
one process, the embedding cache, and one-line errors for bad input."""

from __future__ import annotations

import json
import shutil

import pytest

from interface.evaluation.cli import main

VERIFICATION_METRICS = {"accuracy", "accuracy_std", "val_at_far_1e-3", "auc", "eer", "xnorm", "threshold"}
IJB_METRICS = {f"tar_at_far_1e-{k:02d}" for k in range(1, 7)} | {"auc", "eer"}


def _load(path):
    return json.loads(path.read_text())


def _on_cpu(run, cache) -> list[str]:
    """The flags that evaluate ``run`` on the CPU with its embedding cache in ``cache``."""
    return ["--run", str(run), "--cache", str(cache), "--device", "cpu"]


def _bench(name, kind, path, out) -> list[str]:
    """The four flags that name one benchmark on the command line."""
    return ["--benchmark", name, "--kind", kind, "--path", str(path), "--out", str(out)]


@pytest.mark.slow
def test_three_kinds_in_one_process_with_cache(toy_run, toy_data, tmp_path):
    outs = {k: tmp_path / "scores" / f"{k}.json" for k in ("toy_lfw", "toy_ijb", "toy_id")}
    argv = [
        *_on_cpu(toy_run, tmp_path / "cache"),
        "--batch-size",
        "7",
        *_bench("toy_lfw", "verification", toy_data["bin"], outs["toy_lfw"]),
        *_bench("toy_ijb", "ijb", toy_data["ijb"], outs["toy_ijb"]),
        *_bench("toy_id", "identification", toy_data["identification"], outs["toy_id"]),
        "--ladder",
        "10,30",
    ]
    assert main(argv) == 0
    ver, ij, ide = (_load(outs[k]) for k in ("toy_lfw", "toy_ijb", "toy_id"))
    assert ver["run_id"] == "toy-run" and ver["kind"] == "verification" and ver["benchmark"] == "toy_lfw"
    assert {r["metric"] for r in ver["rows"]} == VERIFICATION_METRICS
    assert all(r["n"] == 40 for r in ver["rows"]) and ver["format"] == "interface-score/1"
    spec = ver["spec"]
    assert (
        spec["colour_order"] == "RGB" and "sum" in spec["flip_fusion"] and "KFold(10" in spec["fold_layout"]
    )
    assert "squared L2" in spec["distance"] and spec["version"] == 1
    assert len(ver["extra"]["fold_accuracy"]) == 10
    assert {r["metric"] for r in ij["rows"]} == IJB_METRICS and ij["extra"]["n_templates"] == 8
    assert all(r["n"] == 28 for r in ij["rows"])
    assert ij["spec"]["image_feature"].startswith("N1D1F2")
    metrics = {r["metric"]: r for r in ide["rows"]}
    assert {"rank1", "rank5", "rank10", "tar_at_far_1e-06", "rank1@10", "rank1@30"} <= set(metrics)
    assert metrics["rank1"]["n"] == 6 * 3 * 2  # ordered (i, j) pairs
    for rec in (ver, ij, ide):
        assert all(0.0 <= r["value"] <= 1.0 for r in rec["rows"] if r["metric"] not in {"xnorm", "threshold"})
        assert rec["extra"]["cache_hit"] is False
    assert not list((tmp_path / "scores").glob(".*.tmp"))  # atomic writes leave no temporaries
    # resolved rule: TAR rows carry far * impostors; 1e-1 of IJB's 28 - 4 impostors is 2.4 events
    tar = {r["metric"]: r for r in ij["rows"]}
    assert tar["tar_at_far_1e-01"]["n_events"] == pytest.approx(0.1 * 24)
    assert tar["tar_at_far_1e-01"]["resolved"] is False and tar["auc"] == {
        **tar["auc"],
        "resolved": True,
        "n_events": None,
    }
    assert metrics["tar_at_far_1e-06"]["resolved"] is False
    assert {r["metric"]: r["n_events"] for r in ver["rows"]}["val_at_far_1e-3"] == pytest.approx(1e-3 * 20)
    assert "100" in ver["spec"]["resolution"]
    # per-item outcomes: one per pair / genuine template pair / probe pair; mean = row value
    assert set(ver["items"]) == {"accuracy"} and len(ver["items"]["accuracy"]) == 40
    assert sum(ver["items"]["accuracy"]) / 40 == pytest.approx(
        {r["metric"]: r["value"] for r in ver["rows"]}["accuracy"]
    )
    assert set(ij["items"]) == {m for m in IJB_METRICS if m.startswith("tar")}
    for m, flags in ij["items"].items():
        assert len(flags) == 4 and sum(flags) / 4 == pytest.approx(tar[m]["value"])
    assert len(ide["items"]["rank1"]) == 36 and sum(ide["items"]["rank1"]) / 36 == pytest.approx(
        metrics["rank1"]["value"]
    )

    # same run again from a JSON list: every benchmark comes from the cache, numbers unchanged
    spec_file = tmp_path / "benchmarks.json"
    spec_file.write_text(
        json.dumps(
            [
                {
                    "benchmark": "toy_lfw",
                    "kind": "verification",
                    "path": str(toy_data["bin"]),
                    "out": str(tmp_path / "again.json"),
                },
                {
                    "benchmark": "toy_ijb",
                    "kind": "ijb",
                    "path": str(toy_data["ijb"]),
                    "out": str(tmp_path / "ijb_n0.json"),
                    "options": {"norm": "N0", "detector": "D0"},
                },
            ]
        )
    )
    assert (
        main(
            [
                *_on_cpu(toy_run, tmp_path / "cache"),
                "--benchmarks-json",
                str(spec_file),
            ]
        )
        == 0
    )
    again = _load(tmp_path / "again.json")
    assert again["extra"]["cache_hit"] is True and again["rows"] == ver["rows"]
    assert again["items"] == ver["items"]  # same files, same item order
    n0 = _load(tmp_path / "ijb_n0.json")
    assert n0["extra"]["mode"] == "N0D0F2" and n0["spec"]["evaluator"].startswith(
        "insightface-ijb-1to1-N0D0F2"
    )


def test_cleaned_identification_drops_listed_images(toy_run, toy_data, tmp_path):
    out = tmp_path / "id_r.json"
    assert (
        main(
            [
                "--run",
                str(toy_run),
                "--device",
                "cpu",
                "--clean",
                *_bench("toy_id_r", "identification", toy_data["identification"], out),
            ]
        )
        == 0
    )
    rec = _load(out)
    assert rec["extra"]["dropped"] == {"probes": 1, "distractors": 2}
    assert rec["spec"]["cleaned"] is True and rec["extra"]["n_distractors"] == 28
    # one probe of an identity with 3 images removed: 5 x 6 + 2 ordered pairs remain
    assert {r["metric"]: r["n"] for r in rec["rows"]}["rank1"] == 5 * 6 + 2


@pytest.mark.parametrize(
    "case,match",
    [
        ("no_model", "has no model.pt"),
        ("counts", "same number of times"),
        ("missing_path", "does not exist"),
        ("no_benchmark", "no benchmark given"),
        ("meta_rows", "row-aligned"),
        ("bad_mode", "expected six characters"),
        ("bad_option", "option 'folds': not an option of verification"),
    ],
)
def test_bad_input_one_line(case, match, toy_run, toy_data, tmp_path, capsys):
    run = toy_run
    bench = _bench("b", "verification", toy_data["bin"], tmp_path / "o.json")
    if case == "no_model":
        run = tmp_path / "empty_run"
        run.mkdir()
    elif case == "counts":
        bench = bench[:-2]
    elif case == "missing_path":
        bench[5] = str(tmp_path / "nope.bin")
    elif case == "no_benchmark":
        bench = []
    elif case == "meta_rows":  # the 5-point file loses its last row: the meta files disagree
        ijb = tmp_path / "ijb"
        shutil.copytree(toy_data["ijb"], ijb)
        pts = ijb / "meta" / "toy_name_5pts_score.txt"
        pts.write_text("".join(pts.read_text().splitlines(keepends=True)[:-1]))
        bench[3], bench[5] = "ijb", str(ijb)
    elif case == "bad_option":
        listing = tmp_path / "list.json"
        entry = {
            "benchmark": "b",
            "kind": "verification",
            "path": bench[5],
            "out": bench[7],
            "options": {"folds": 5},
        }
        listing.write_text(json.dumps([entry]))
        bench = ["--benchmarks-json", str(listing)]
    elif case == "bad_mode":
        bench += ["--ijb-mode", "N1D1"]
    assert main(["--run", str(run), "--device", "cpu", *bench]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:") and match in err[0]
    assert not (tmp_path / "o.json").exists()
