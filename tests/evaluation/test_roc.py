"""ROC, AUC, EER and the nearest-point TAR read-out against scikit-learn as the oracle."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import auc as sk_auc
from sklearn.metrics import roc_curve as sk_roc_curve

from interface.errors import InputError
from interface.evaluation import roc
from interface.evaluation.ijb import tar_at_far


def _random_case(rng, n, decimals):
    labels = rng.integers(0, 2, n)
    labels[:2] = (0, 1)
    scores = np.round(rng.normal(size=n) + 1.5 * labels, decimals)  # rounding makes ties
    return scores, labels


@pytest.mark.parametrize("drop", [True, False])
def test_roc_curve_equals_sklearn(drop):
    rng = np.random.default_rng(1)
    for _ in range(150):
        scores, labels = _random_case(rng, int(rng.integers(2, 400)), int(rng.integers(0, 4)))
        want = sk_roc_curve(labels, scores, drop_intermediate=drop)
        got = roc.roc_curve(scores, labels, drop_intermediate=drop)
        for w, g in zip(want, got):
            np.testing.assert_array_equal(g, w)
        assert roc.auc(got[0], got[1]) == pytest.approx(sk_auc(want[0], want[1]), abs=1e-14)


def _brute_tar(scores, labels, far):
    """insightface §4.6 read-out on sklearn's curve: reverse, first arg-min of |fpr - far|."""
    fpr, tpr, _ = sk_roc_curve(labels, scores)
    fpr, tpr = np.flipud(fpr), np.flipud(tpr)
    return tpr[np.argmin(np.abs(fpr - far))]


def test_tar_at_far_equals_bruteforce_sklearn_readout():
    rng = np.random.default_rng(2)
    fars = (1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 0.37)
    for _ in range(60):
        scores, labels = _random_case(rng, int(rng.integers(50, 3000)), int(rng.integers(1, 4)))
        got = tar_at_far(scores, labels, fars)
        assert got == {far: _brute_tar(scores, labels, far) for far in fars}


def test_tar_ties_take_highest_tpr():
    # impostor at 0.5 and genuine scores tied with it: the vertical segment at one FPR level
    scores = np.array([0.9, 0.5, 0.5, 0.5, 0.1, 0.0])
    labels = np.array([1, 1, 0, 1, 0, 0])
    fpr, tpr, _ = roc.roc_curve(scores, labels)
    got = roc.read_tar(fpr, tpr, [1 / 3])
    assert got[1 / 3] == 1.0  # points at fpr 1/3 are (1/3, 1.0) only; nearest wins, no interpolation
    # equal distance to fpr 0 and 2/3 from target 1/3 - 1/3: the reversed-first (larger index) wins
    fpr = np.array([0.0, 0.0, 0.5, 1.0])
    tpr = np.array([0.0, 0.6, 0.8, 1.0])
    assert roc.read_tar(fpr, tpr, [0.25]) == {0.25: 0.8}
    assert roc.read_tar(fpr, tpr, [1e-6]) == {1e-6: 0.6}


def test_eer_on_constructed_curves():
    # symmetric separable-by-one-error case: scores give FNR = FPR = 0.25 at one point
    labels = np.array([1, 1, 1, 1, 0, 0, 0, 0])
    scores = np.array([0.9, 0.8, 0.7, 0.2, 0.75, 0.1, 0.05, 0.0])
    fpr, tpr, _ = roc.roc_curve(scores, labels, drop_intermediate=False)
    assert roc.eer(fpr, tpr) == pytest.approx(0.25, abs=1e-12)
    # hand curve: (0,0)->(0,0.5)->(1,1): FNR=1-tpr crosses FPR on the second segment where
    # 1 - (0.5 + 0.5 x) = x  ->  x = 1/3
    assert roc.eer(np.array([0.0, 0.0, 1.0]), np.array([0.0, 0.5, 1.0])) == pytest.approx(1 / 3, abs=1e-12)


def test_truncated_impostors_give_the_full_curve_near_the_top():
    rng = np.random.default_rng(3)
    gen = rng.normal(2.0, 1.0, 300)
    imp = rng.normal(0.0, 1.0, 20000)
    full_s = np.r_[gen, imp]
    full_l = np.r_[np.ones(300), np.zeros(20000)]
    keep = np.sort(imp)[-800:]
    got = roc.tar_at_far(
        np.r_[gen, keep], np.r_[np.ones(300), np.zeros(800)], [1e-4, 1e-3, 5e-3], n_negatives=20000
    )
    assert got == {f: _brute_tar(full_s, full_l, f) for f in (1e-4, 1e-3, 5e-3)}


@pytest.mark.parametrize(
    "scores,labels,match",
    [
        ([0.1, 0.2], [1], "equal length"),
        ([0.1, np.nan], [1, 0], "NaN"),
        ([0.1, 0.2], [1, 2], "0/1"),
        ([0.1, 0.2], [1, 1], "both genuine"),
    ],
)
def test_bad_input(scores, labels, match):
    with pytest.raises(InputError, match=match):
        roc.roc_curve(np.array(scores), np.array(labels))


def test_bad_far():
    with pytest.raises(InputError, match="outside"):
        roc.read_tar(np.array([0.0, 1.0]), np.array([0.0, 1.0]), [0.0])
