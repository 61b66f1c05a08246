"""The score record (interface.contracts.score_record) and the kind registry's own rules."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from interface.contracts.score_record import (
    MAX_ROC_POINTS,
    SCORE_FORMAT,
    EvaluatorSpec,
    PairHistogram,
    Plots,
    RocPoints,
    ScoreRecord,
    ScoreRow,
)
from interface.errors import InputError
from interface.evaluation import kinds
from interface.evaluation.ijb import IJB_FARS
from interface.evaluation.kinds.names import far_of, rank1_at_distractors_name, rank_name, tar_at_far_name


def _record() -> ScoreRecord:
    rng = np.random.default_rng(0)
    scores, genuine = rng.uniform(-1, 1, 500), rng.random(500) < 0.3
    return ScoreRecord(
        run_id="ds__tiny__arcface__default__s0",
        benchmark="lfw",
        kind="verification",
        spec=EvaluatorSpec("p", "p-N1/v1", 1, "somewhere", {"distance": "cosine", "ladder": [10, 100]}),
        rows=[ScoreRow("accuracy", 0.75, 4), ScoreRow("tar_at_far_1e-01", 0.5, 40, False, 3.0)],
        items={"accuracy": [1, 1, 0, 1]},
        plots=Plots(
            PairHistogram.of(scores, genuine), RocPoints.thinned(np.linspace(0, 1, 9), np.linspace(0, 1, 9))
        ),
        extra={"n_pairs": 4},
    )


def test_round_trip_through_json_text():
    record = _record()
    doc = json.loads(json.dumps(record.to_json()))
    assert doc["format"] == SCORE_FORMAT.tag == "interface-score/1" and list(doc)[0] == "format"
    assert ScoreRecord.from_json(doc, "x.json") == record


@pytest.mark.parametrize(
    "change,needle",
    [
        (
            lambda d: d.update(format="interface-score/2"),
            "x.json: format 'interface-score/2'; this version reads interface-score/1",
        ),
        (lambda d: d.pop("format"), "x.json: no format tag"),
        (lambda d: d["rows"][1].pop("n"), "x.json: rows[1]: key n"),
        (lambda d: d["rows"][0].update(value="high"), "x.json: rows[0]: value 'high'"),
        (lambda d: d.update(kind=""), "x.json: key kind"),
        (lambda d: d["spec"].pop("version"), "x.json: key spec"),
        (lambda d: d["plots"]["roc"]["tar"].pop(), "x.json: key plots.roc: far and tar differ"),
    ],
)
def test_a_record_of_another_shape_is_refused_in_one_line(change, needle):
    doc = _record().to_json()
    change(doc)
    with pytest.raises(InputError) as err:
        ScoreRecord.from_json(doc, "x.json")
    assert needle in str(err.value) and "\n" not in str(err.value)


def test_pair_histogram_counts_every_pair_once_in_its_bin():
    rng = np.random.default_rng(1)
    scores, genuine = rng.uniform(-1.2, 1.2, 1000), rng.random(1000) < 0.5
    h = PairHistogram.of(scores, genuine)
    assert sum(h.genuine) == genuine.sum() and sum(h.impostor) == (~genuine).sum()
    edges = np.asarray(h.edges)
    assert edges[0] == -1.0 and edges[-1] == 1.0
    clipped = np.clip(scores, -1.0, 1.0)
    for k in range(len(h.genuine)):  # brute force: numpy's half-open bins, the last one closed
        last = k == len(h.genuine) - 1
        inside = (clipped >= edges[k]) & ((clipped <= edges[k + 1]) if last else (clipped < edges[k + 1]))
        assert (h.genuine[k], h.impostor[k]) == ((inside & genuine).sum(), (inside & ~genuine).sum())


def test_roc_is_thinned_to_the_limit_keeping_both_ends_and_order():
    fpr = np.r_[0.0, np.logspace(-8, 0, 20_000)]
    tpr = np.sqrt(fpr)
    roc = RocPoints.thinned(fpr, tpr)
    assert len(roc.far) <= MAX_ROC_POINTS and roc.far[0] == 0.0 and roc.far[-1] == 1.0
    assert np.all(np.diff(roc.far) > 0) and np.allclose(roc.tar, np.sqrt(roc.far))
    short = RocPoints.thinned(fpr[:10], tpr[:10])
    assert short.far == fpr[:10].tolist()


def test_metric_names_are_built_and_parsed_by_one_pair_of_functions():
    for far in IJB_FARS:
        assert far_of(tar_at_far_name(far)) == pytest.approx(far)
    assert tar_at_far_name(1e-4) == "tar_at_far_1e-04" and far_of("tar_at_far_x") is None
    assert far_of("accuracy") is None
    assert (rank_name(5), rank1_at_distractors_name(1000)) == ("rank5", "rank1@1000")


def test_registry_metadata_imports_without_torch():
    code = (
        "import sys; import interface.evaluation.kinds as k, analysis.metrics as m; "
        "k.registry(); m.primary_metrics; print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_an_option_declared_differently_by_two_kinds_is_refused(monkeypatch):
    from interface.evaluation.kinds.base import Option
    from interface.limits import Range

    first = kinds.get_kind("verification")
    clash = Option("n_folds", "other meaning", Range(int, minimum=5))
    other = kinds.BenchmarkKind(
        "clash", "x", first.layout, (clash,), first.metrics, first.headline, first.score
    )
    with pytest.raises(ValueError, match="'n_folds' of kinds 'verification' and 'clash'"):
        kinds._check_shared_options({"verification": first, "clash": other})
    assert len(kinds.list_benchmark_kinds()) == len(kinds.KIND_MODULES)  # one kind per registered module


def test_unknown_kind_is_one_line_naming_the_registered_ones():
    with pytest.raises(InputError) as err:
        kinds.get_kind("nope", "where")
    assert str(err.value) == f"where: kind 'nope'; expected one of {', '.join(kinds.list_benchmark_kinds())}"


class _StubContext:
    """Stands in for tasks.Context: hands the scorer fixed embeddings instead of running a model."""

    def __init__(self, arrays: dict[str, np.ndarray]):
        self.arrays = arrays

    def embed_inputs(self, bench, files, decode):
        return self.arrays, False


def _write_ijb(folder) -> None:
    """A 6-image IJB-style folder, one image per template and medium (images never read here)."""
    (folder / "meta").mkdir(parents=True)
    (folder / "loose_crop").mkdir()
    names = [f"{k}.jpg" for k in range(1, 7)]
    (folder / "meta" / "t_face_tid_mid.txt").write_text(
        "".join(f"{n} {k} {k}\n" for k, n in enumerate(names, 1))
    )
    pts = " ".join(["50.0"] * 10)
    (folder / "meta" / "t_name_5pts_score.txt").write_text("".join(f"{n} {pts} 0.9\n" for n in names))
    pairs = [(1, 2, 1), (3, 4, 1), (5, 6, 1), (1, 3, 0), (1, 5, 0), (2, 4, 0), (2, 6, 0), (4, 6, 0)]
    (folder / "meta" / "t_template_pair_label.txt").write_text("".join(f"{a} {b} {y}\n" for a, b, y in pairs))


def test_verification_plots_are_the_pair_cosines_of_the_fused_embeddings(tmp_path):
    from interface.evaluation.tasks import Benchmark

    rng = np.random.default_rng(0)
    E0, E1 = rng.normal(size=(2, 16, 8)).astype(np.float32)
    issame = np.array([True, False] * 4)
    (tmp_path / "p.bin").write_bytes(b"")  # the layout check wants the file; the stub never reads it
    bench = Benchmark("p", "verification", tmp_path / "p.bin", tmp_path / "o.json", {"n_folds": 2})
    arrays = {"E0": E0, "E1": E1, "index": np.arange(16), "issame": issame}
    scored = kinds.get_kind("verification").score(_StubContext(arrays), bench)
    # independent float64 reference: unit(E0 + E1), cosine of rows 2i and 2i+1
    e = (E0 + E1).astype(np.float64)
    e /= np.linalg.norm(e, axis=1, keepdims=True)
    cos = np.sum(e[0::2] * e[1::2], axis=1)
    assert scored.plots.pair_histogram == PairHistogram.of(cos, issame) and scored.plots.roc is None


def test_ijb_plots_are_the_template_pair_roc(tmp_path):
    from interface.evaluation.tasks import Benchmark

    _write_ijb(tmp_path / "ijb")
    # images of a genuine pair share one embedding, so every genuine score is the maximum
    base = np.random.default_rng(0).normal(size=(3, 16)).astype(np.float32)
    I0 = np.repeat(base, 2, axis=0)
    bench = Benchmark("ijb", "ijb", tmp_path / "ijb", tmp_path / "o.json")
    scored = kinds.get_kind("ijb").score(
        _StubContext({"E0": I0, "E1": I0.copy(), "index": np.arange(6)}), bench
    )
    far, tar = np.array(scored.plots.roc.far), np.array(scored.plots.roc.tar)
    assert far[0] == 0 and far[-1] == 1 and tar[-1] == 1
    assert np.all(np.diff(far) >= 0) and np.all(np.diff(tar) >= 0)
    assert tar[far == 0].max() == pytest.approx(1.0)  # perfect separation: TAR 1 at FAR 0
    assert scored.plots.pair_histogram is None
