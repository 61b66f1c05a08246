"""The .bin verification protocol (formats-and-protocols.md §2.3, §3, §3.1) against independent
references: scikit-learn KFold, a loop-by-loop transliteration of §3 and hand-built embeddings."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.interpolate import BSpline, interp1d
from sklearn.model_selection import KFold

from interface.errors import InputError
from interface.evaluation import verification as V


def _reference_protocol(E, issame, n_folds=10):
    """§3 and §3.1 written out literally: element-wise comparisons, sklearn KFold, SciPy spline."""
    emb1, emb2 = E[0::2], E[1::2]
    n = min(len(issame), len(emb1))
    dist = np.sum(np.square(emb1 - emb2), 1)[:n]
    actual = np.asarray(issame)[:n]
    thresholds = np.arange(0, 4, 0.01)
    val_thresholds = np.arange(0, 4, 0.001)
    accs, best_t, vals, fars = [], [], [], []
    for train, test in KFold(n_splits=n_folds, shuffle=False).split(np.arange(n)):
        train_acc = np.zeros(len(thresholds))
        for k, t in enumerate(thresholds):
            pred = dist[train] < t
            tp = np.sum(pred & actual[train])
            tn = np.sum(~pred & ~actual[train])
            train_acc[k] = float(tp + tn) / dist[train].size
        best = np.argmax(train_acc)
        pred = dist[test] < thresholds[best]
        accs.append(float(np.sum(pred & actual[test]) + np.sum(~pred & ~actual[test])) / dist[test].size)
        best_t.append(thresholds[best])
        far_train = np.zeros(len(val_thresholds))
        for k, t in enumerate(val_thresholds):
            pred = dist[train] < t
            far_train[k] = np.sum(pred & ~actual[train]) / float(np.sum(~actual[train]))
        if np.max(far_train) >= 1e-3:
            # interp1d(kind='slinear') as insightface called it: a degree-1 B-spline on knots
            # [x0, x..., x_last] (SciPy now refuses repeated x, older SciPy built exactly this)
            spline = BSpline(np.r_[far_train[0], far_train, far_train[-1]], val_thresholds, 1)
            thr = spline(1e-3)  # a 0-d float64 array, as interp1d returns
        else:
            thr = 0.0
        pred = dist[test] < thr
        vals.append(np.sum(pred & actual[test]) / float(np.sum(actual[test])))
        fars.append(np.sum(pred & ~actual[test]) / float(np.sum(~actual[test])))
    return {
        "accuracy": np.mean(accs),
        "accuracy_std": np.std(accs),
        "fold_accuracy": accs,
        "thresholds": best_t,
        "val_at_far": np.mean(vals),
        "val_std": np.std(vals),
        "far": np.mean(fars),
    }


def _random_pairs(rng, n_pairs, dim, noise):
    E = rng.normal(size=(2 * n_pairs, dim))
    issame = rng.random(n_pairs) < 0.5
    E[1::2][issame] = E[0::2][issame] + noise * rng.normal(size=(issame.sum(), dim))
    return V.l2_normalise(E), issame


@pytest.mark.parametrize("n_pairs,n_folds", [(600, 10), (1003, 10), (97, 5)])
def test_equals_literal_transliteration(n_pairs, n_folds):
    rng = np.random.default_rng(n_pairs)
    E, issame = _random_pairs(rng, n_pairs, 16, 0.9)
    want = _reference_protocol(E, issame, n_folds)
    got = V.evaluate(E, issame, n_folds=n_folds)
    for key in ("accuracy", "accuracy_std", "val_at_far", "val_std", "far"):
        assert abs(got[key] - want[key]) <= 1e-12, key
    np.testing.assert_allclose(got["fold_accuracy"], want["fold_accuracy"], rtol=0, atol=1e-12)
    np.testing.assert_array_equal(got["thresholds"], want["thresholds"])
    assert 0.5 < got["accuracy"] < 1.0  # a case where thresholds matter


def test_float32_pipeline_equals_insightface_float32_arithmetic():
    # raw float32 model outputs: insightface sums them, sklearn-normalises in float32 and takes
    # float32 squared distances; the thresholds compare in float64
    from sklearn.preprocessing import normalize

    rng = np.random.default_rng(11)
    E0 = rng.normal(size=(1200, 32)).astype(np.float32)
    issame = rng.random(600) < 0.5
    E0[1::2][issame] = E0[0::2][issame] + 1.1 * rng.normal(size=(issame.sum(), 32)).astype(np.float32)
    E1 = E0 + 0.3 * rng.normal(size=E0.shape).astype(np.float32)
    fused = normalize(E0 + E1)
    assert fused.dtype == np.float32
    E, _ = V.fuse_flip(E0, E1)
    np.testing.assert_array_equal(E, fused)
    want = _reference_protocol(fused, issame)
    got = V.evaluate_raw(E0, E1, issame)
    for key in ("accuracy", "accuracy_std", "val_at_far", "val_std", "far"):
        assert got[key] == want[key], key


def test_kfold_blocks_equal_sklearn():
    for n in (10, 11, 600, 6000, 7003):
        for k in (2, 3, 10):
            want = [test for _, test in KFold(n_splits=k, shuffle=False).split(np.arange(n))]
            got = V.kfold_test_blocks(n, k)
            assert len(got) == len(want)
            for g, w in zip(got, want):
                np.testing.assert_array_equal(g, w)


def test_slinear_matches_scipy():
    rng = np.random.default_rng(5)
    x = np.sort(rng.random(40))
    y = rng.random(40)
    for q in np.r_[x[0], x[-1], x[7], rng.uniform(x[0], x[-1], 20)]:
        assert V.slinear_interp(x, y, q) == pytest.approx(float(interp1d(x, y, kind="slinear")(q)), abs=1e-12)
    # repeated levels (a training-FAR curve): old SciPy's spline, including the degenerate end
    x = np.array([0, 0, 0.0005, 0.001, 0.001, 0.002, 0.002])
    y = np.arange(7.0)
    spline = BSpline(np.r_[x[0], x, x[-1]], y, 1)
    for q in (0.0, 0.0005, 0.00075, 0.001, 0.0015, 0.002):
        assert V.slinear_interp(x, y, q) == pytest.approx(float(spline(q)), abs=1e-12)


def _unit_pair(d):
    """Two 2-D unit vectors whose squared distance is d (= 2 - 2 cos angle)."""
    a = np.arccos(1 - d / 2)
    return [1.0, 0.0], [np.cos(a), np.sin(a)]


def test_constructed_embeddings_with_known_accuracy():
    # 10 folds of 60 pairs; genuine pairs at d=0.305, impostors at d=2.0, so every threshold in
    # (0.305, 2.0] is perfect on clean data. Fold k holds k % 3 "hard" errors: a genuine pair at
    # d=3.0 (rejected by all candidate thresholds) or an impostor at d=0.2 (accepted by all).
    rows, issame = [], []
    for fold in range(10):
        hard = fold % 3
        for p in range(60):
            same = p % 2 == 0
            d = 0.305 if same else 2.0
            if p < hard:
                d = 3.0 if same else 0.2
            rows += _unit_pair(d)
            issame.append(same)
    res = V.evaluate(np.array(rows), np.array(issame))
    fold_acc = [1 - (k % 3) / 60 for k in range(10)]
    assert res["fold_accuracy"] == pytest.approx(fold_acc, abs=1e-15)
    assert res["accuracy"] == pytest.approx(np.mean(fold_acc), abs=1e-15)
    assert res["accuracy_std"] == pytest.approx(np.std(fold_acc), abs=1e-15)
    assert res["thresholds"] == [0.31] * 10  # first arg-max: smallest grid value above 0.305
    # ROC over all pairs: 597 genuine above every impostor except hard ones
    assert 0.9 < res["auc"] < 1.0 and 0 < res["eer"] < 0.05


def test_fuse_flip_and_xnorm():
    E0 = np.array([[3.0, 4.0], [0.0, 0.0], [1.0, 0.0], [0.0, 2.0]])
    E1 = np.array([[3.0, 4.0], [0.0, 0.0], [0.0, 1.0], [0.0, -2.0]])
    E, xnorm = V.fuse_flip(E0, E1)
    np.testing.assert_allclose(E, [[0.6, 0.8], [0, 0], [2**-0.5, 2**-0.5], [0, 0]], atol=1e-15)
    assert xnorm == pytest.approx((5 + 0 + 1 + 2 + 5 + 0 + 1 + 2) / 8)


def test_evaluate_raw_adds_xnorm():
    rng = np.random.default_rng(7)
    E0 = rng.normal(size=(40, 8))
    E1 = E0 + 0.1 * rng.normal(size=(40, 8))
    issame = rng.random(20) < 0.5
    res = V.evaluate_raw(E0, E1, issame)
    fused = (E0 + E1) / np.linalg.norm(E0 + E1, axis=1, keepdims=True)
    assert res["accuracy"] == V.evaluate(fused, issame)["accuracy"]
    assert res["xnorm"] == pytest.approx(
        np.mean(np.r_[np.linalg.norm(E0, axis=1), np.linalg.norm(E1, axis=1)])
    )


@pytest.mark.parametrize(
    "emb,issame,match",
    [
        (np.zeros((20, 4)), np.zeros(9, bool), "expected 10 labels"),
        (np.zeros((21, 4)), np.zeros(10, bool), "even number"),
        (np.full((20, 4), np.nan), np.zeros(10, bool), "NaN"),
        (np.zeros((20, 4)), np.full(10, 2), "0/1"),
        (np.zeros((4, 4)), np.zeros(2, bool), "n_folds"),
    ],
)
def test_bad_input(emb, issame, match):
    with pytest.raises(InputError, match=match):
        V.evaluate(emb, issame)


def test_fuse_flip_bad_shapes():
    with pytest.raises(InputError, match="equal"):
        V.fuse_flip(np.zeros((4, 3)), np.zeros((5, 3)))
