"""Pair cosines and IJB ROC recomputed from the evaluator's embedding cache."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.cached import cached_extras

RUN = "d__tiny__arcface__m=0.5__s0"


def write_ijb(folder, n_templates: int = 6) -> np.ndarray:
    """A 6-image IJB-style folder (one image per template and medium); returns pair labels."""
    (folder / "meta").mkdir(parents=True)
    (folder / "loose_crop").mkdir()
    names = [f"{k}.jpg" for k in range(1, n_templates + 1)]
    (folder / "meta" / "t_face_tid_mid.txt").write_text(
        "".join(f"{n} {k} {k}\n" for k, n in enumerate(names, 1))
    )
    pts = " ".join(["50.0"] * 10)
    (folder / "meta" / "t_name_5pts_score.txt").write_text("".join(f"{n} {pts} 0.9\n" for n in names))
    pairs = [(1, 2, 1), (3, 4, 1), (5, 6, 1), (1, 3, 0), (1, 5, 0), (2, 4, 0), (2, 6, 0), (4, 6, 0)]
    (folder / "meta" / "t_template_pair_label.txt").write_text("".join(f"{a} {b} {y}\n" for a, b, y in pairs))
    return np.array([y for _, _, y in pairs])


def test_pair_cosines_and_ijb_roc_from_cache(tmp_path) -> None:
    rng = np.random.default_rng(0)
    E0 = rng.normal(size=(8, 16)).astype(np.float32)
    E1 = rng.normal(size=(8, 16)).astype(np.float32)
    issame = np.array([True, False, True, False])
    (tmp_path / "cache" / RUN).mkdir(parents=True)
    np.savez(tmp_path / "cache" / RUN / "lfw.npz", E0=E0, E1=E1, issame=issame)
    # IJB: images of a genuine pair share one embedding, so every genuine score is the maximum
    base = rng.normal(size=(3, 16)).astype(np.float32)
    I0 = np.repeat(base, 2, axis=0)
    np.savez(tmp_path / "cache" / RUN / "ijb.npz", E0=I0, E1=I0.copy())
    write_ijb(tmp_path / "data" / "d" / "ijb")
    config = {
        "benchmarks": {
            "d": [
                {"benchmark": "lfw", "kind": "verification", "path": "unused.bin", "options": {}},
                {"benchmark": "ijb", "kind": "ijb", "path": "results/data/d/ijb", "options": {}},
                {"benchmark": "absent", "kind": "verification", "path": "x", "options": {}},
            ]
        }
    }
    extras = cached_extras(tmp_path / "cache", config, {RUN: "d"}, tmp_path / "data")
    assert sorted(extras) == [(RUN, "ijb"), (RUN, "lfw")]
    # independent float64 reference: unit(E0 + E1), cosine of rows 2i and 2i+1
    e = (E0 + E1).astype(np.float64)
    e /= np.linalg.norm(e, axis=1, keepdims=True)
    cos = np.sum(e[0::2] * e[1::2], axis=1)
    lfw = extras[(RUN, "lfw")]
    np.testing.assert_allclose(lfw["pos_cos"], cos[issame], atol=1e-5)
    np.testing.assert_allclose(lfw["neg_cos"], cos[~issame], atol=1e-5)
    roc = extras[(RUN, "ijb")]["roc"]
    far, tar = np.array(roc["far"]), np.array(roc["tar"])
    assert far[0] == 0 and far[-1] == 1 and tar[-1] == 1
    assert np.all(np.diff(far) >= 0) and np.all(np.diff(tar) >= 0)
    assert tar[far == 0].max() == pytest.approx(1.0)  # perfect separation: TAR 1 at FAR 0


def test_unusable_cache_is_skipped(tmp_path) -> None:
    (tmp_path / RUN).mkdir()
    (tmp_path / RUN / "lfw.npz").write_bytes(b"not an npz")
    config = {"benchmarks": {"d": [{"benchmark": "lfw", "kind": "verification", "path": "x", "options": {}}]}}
    assert cached_extras(tmp_path, config, {RUN: "d"}, None) == {}
    assert cached_extras(None, config, {RUN: "d"}, None) == {}
