"""The ijb_1n and tinyface kinds end to end on the SynthFace smoke sets, with a stand-in embedder
whose features are a fixed function of each image's pixels. The test reads the protocol files
itself (csv / scipy.io, plain loops), embeds each listed image with the same function, pools IJB
templates by loops (media mean, template sum, L2) and scores with the slow transliterations of
test_ijb_1n / test_tinyface: so file-to-feature wiring, pooling and list handling are checked."""

from __future__ import annotations

import csv

import numpy as np
import pytest
import scipy.io
from PIL import Image

from interface.data.align import align_face
from interface.data.synth import generate_suite
from interface.evaluation import ijb_1n, tinyface
from interface.evaluation.kinds import get_kind
from interface.evaluation.tasks import Benchmark
from tests.evaluation.test_ijb_1n import _slow as slow_1n
from tests.evaluation.test_ijb_1n import _slow_union as slow_union
from tests.evaluation.test_tinyface import _slow as slow_tinyface


def _pixels(img: np.ndarray) -> np.ndarray:
    """A 192-d feature of a 112 x 112 image: mean colour of each 14 x 14 cell (minus grey)."""
    return np.asarray(img, dtype=np.float64).reshape(8, 14, 8, 14, 3).mean(axis=(1, 3)).ravel() / 255.0 - 0.5


class PixelContext:
    """Stands in for tasks.Context: embeds the decoded benchmark images with :func:`_pixels`."""

    def embed_inputs(self, bench, files, decode):
        images, index, meta = decode()
        E0 = np.stack([_pixels(images[i]) for i in range(len(images))])
        E1 = np.stack([_pixels(np.asarray(images[i])[:, ::-1]) for i in range(len(images))])
        return {"E0": E0, "E1": E1, "index": index, **meta}, False


@pytest.fixture(scope="module")
def suite(tmp_path_factory):
    return generate_suite(tmp_path_factory.mktemp("synth") / "s", "smoke", 3, workers=1)


def _spy(monkeypatch, module, function="evaluate"):
    """Record the arguments ``module.<function>`` is called with (and still call it)."""
    calls, original = [], getattr(module, function)

    def record(*args, **kwargs):
        calls.append(args)
        return original(*args, **kwargs)

    monkeypatch.setattr(module, function, record)
    return calls


def _unit(x):
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def _csv_subjects(path):
    with open(path, newline="") as handle:
        rows = list(csv.reader(handle))[1:]
    return {int(r[0]): int(r[1]) for r in rows}


def _read_ijb_1n(root):
    """``(template vectors by id, {gallery: (vectors, subjects)}, {probe template: subject})``,
    read and pooled by loops (F2, N1, D1: media mean, template sum, L2)."""
    meta = root / "meta"
    tid = [line.split() for line in (meta / "synth_face_tid_mid.txt").read_text().splitlines()]
    pts = [line.split() for line in (meta / "synth_name_5pts_score.txt").read_text().splitlines()]
    media: dict[int, dict[int, list[np.ndarray]]] = {}
    for (name, t, m), p in zip(tid, pts):
        img = np.asarray(Image.open(root / "loose_crop" / name).convert("RGB"))
        aligned = align_face(img, np.array(p[1:11], dtype=np.float64).reshape(5, 2))
        f = (_pixels(aligned) + _pixels(aligned[:, ::-1])) * float(p[11])
        media.setdefault(int(t), {}).setdefault(int(m), []).append(f)
    template = {t: _unit(sum(np.mean(fs, axis=0) for fs in ms.values())) for t, ms in media.items()}
    galleries = {}
    for name in ("G1", "G2"):
        subjects = _csv_subjects(meta / f"synth_1N_gallery_{name}.csv")
        galleries[name] = (np.array([template[t] for t in subjects]), np.array(list(subjects.values())))
    probes = dict(sorted(_csv_subjects(meta / "synth_1N_probe_mixed.csv").items()))
    return template, galleries, probes


def _close(got, want):
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7)  # face scores are float32 in the reader


@pytest.mark.parametrize("galleries_option", ["separate", "union"])
def test_ijb_1n_kind_matches_independent_reading(suite, tmp_path, monkeypatch, galleries_option):
    root = suite / "ijb_1n"
    bench = Benchmark("synth_ijb_1n", "ijb_1n", root, tmp_path / "o.json", {"galleries": galleries_option})
    union = galleries_option == "union"
    calls = _spy(monkeypatch, ijb_1n, "evaluate_union" if union else "evaluate")
    scored = get_kind("ijb_1n").score(PixelContext(), bench)
    template, galleries, probes = _read_ijb_1n(root)
    probe_feats, probe_subjects = np.array([template[t] for t in probes]), np.array(list(probes.values()))
    ((seen_feats, seen_subjects, *seen_galleries),) = calls  # the scorer saw exactly these vectors
    _close(seen_feats, probe_feats)
    assert seen_subjects.tolist() == probe_subjects.tolist()
    fpirs, ranks = (0.01, 0.1), (1, 5, 10)
    if union:
        union_feats, union_subjects = (np.concatenate(parts) for parts in zip(*galleries.values()))
        _close(seen_galleries[0], union_feats)
        assert seen_galleries[1].tolist() == union_subjects.tolist()
        tpir, cmc, rank1 = slow_union(probe_feats, probe_subjects, union_feats, union_subjects, fpirs, ranks)
        n_events = [f * len(probes) for f in fpirs]
    else:
        (passed,) = seen_galleries
        assert list(passed) == ["G1", "G2"]
        for name, (feats, subjects) in galleries.items():
            _close(passed[name][0], feats)
            assert passed[name][1].tolist() == subjects.tolist()
        tpir, cmc, rank1 = slow_1n(probe_feats, probe_subjects, galleries, fpirs, ranks)
        n_nm = min(sum(s not in g[1] for s in probes.values()) for g in galleries.values())
        n_events = [f * n_nm for f in fpirs]
    got = {r.metric: r.value for r in scored.rows}
    assert got == pytest.approx({"tpir_at_fpir_1e-02": tpir[0.01], "tpir_at_fpir_1e-01": tpir[0.1],
                                 "rank1": cmc[1], "rank5": cmc[5], "rank10": cmc[10]})  # fmt: skip
    assert scored.items["rank1"] == [int(h) for h in rank1]
    assert [r.n_events for r in scored.rows[:2]] == pytest.approx(n_events)
    assert all(r.resolved == (r.n_events >= 100) for r in scored.rows[:2])
    assert scored.spec.evaluator.startswith("ijb-1n-union-" if union else "ijb-1n-open-set-")


def test_ijb_1n_headline_prefers_the_lowest_resolved_tpir():
    headline = get_kind("ijb_1n").headline
    assert headline({"rank1", "rank5"}) == "rank1"
    assert headline({"rank1", "tpir_at_fpir_1e-01", "tpir_at_fpir_1e-02"}) == "tpir_at_fpir_1e-02"


def test_tinyface_kind_matches_independent_reading(suite, tmp_path, monkeypatch):
    root = suite / "tinyface"
    bench = Benchmark("synth_tinyface", "tinyface", root, tmp_path / "o.json")
    calls = _spy(monkeypatch, tinyface)
    scored = get_kind("tinyface").score(PixelContext(), bench)
    split = root / "Testing_Set"

    def feature(folder, name):
        img = Image.open(split / folder / name).convert("RGB").resize((112, 112), Image.Resampling.BILINEAR)
        img = np.asarray(img)
        return _unit(_pixels(img) + _pixels(img[:, ::-1]))

    def listed(mat, key):
        return [str(np.asarray(c).ravel()[0]) for c in scipy.io.loadmat(split / mat)[key].ravel()]

    probes = listed("probe_img_ID_pairs.mat", "probe_set")
    matches = listed("gallery_match_img_ID_pairs.mat", "gallery_set")
    distractors = sorted(p.name for p in (split / "Gallery_Distractor").iterdir())
    expected = (
        [feature("Probe", n) for n in probes], [int(n.split("_")[0]) for n in probes],
        [feature("Gallery_Match", n) for n in matches], [int(n.split("_")[0]) for n in matches],
        [feature("Gallery_Distractor", n) for n in distractors],
    )  # fmt: skip
    (passed,) = calls  # the scorer saw exactly these features and labels
    for got, want in zip(passed, expected):
        np.testing.assert_allclose(np.asarray(got, dtype=np.float64), np.asarray(want), atol=1e-6)
    cmc, rank1 = slow_tinyface(*expected, (1, 5, 20))
    assert {r.metric: r.value for r in scored.rows} == pytest.approx(
        {"rank1": cmc[1], "rank5": cmc[5], "rank20": cmc[20]}
    )
    assert scored.items["rank1"] == [int(h) for h in rank1]
    assert scored.extra["n_distractors"] == len(distractors)
