"""Per-item outcomes and the resolved rule, against independent brute-force references.

Each scorer's item list is recomputed here the slow, literal way (explicit threshold loops,
scikit-learn's ROC, an explicit gallery per probe), its mean is checked against the reported
value, and the order is checked to depend only on the benchmark data.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_curve as sk_roc_curve
from sklearn.model_selection import KFold

from interface.evaluation import identification as I
from interface.evaluation import ijb as J
from interface.evaluation import verification as V
from interface.evaluation.resolution import MIN_EVENTS, rate_resolution
from tests.evaluation.embeddings import clustered_probes


@pytest.mark.parametrize("n_pairs,n_folds", [(600, 10), (1003, 10)])
def test_verification_items_brute_force_and_fold_weighted_mean(n_pairs, n_folds):
    rng = np.random.default_rng(n_pairs)
    E = rng.normal(size=(2 * n_pairs, 12))
    same = rng.random(n_pairs) < 0.5
    E[1::2][same] = E[0::2][same] + 0.9 * rng.normal(size=(same.sum(), 12))
    E = V.l2_normalise(E)
    got = V.evaluate(E, same, n_folds=n_folds)

    dist = np.sum(np.square(E[0::2] - E[1::2]), 1)
    want = np.zeros(n_pairs, dtype=bool)
    sizes = []
    for train, test in KFold(n_splits=n_folds, shuffle=False).split(np.arange(n_pairs)):
        accs = [np.mean((dist[train] < t) == same[train]) for t in np.arange(0, 4, 0.01)]
        t = np.arange(0, 4, 0.01)[int(np.argmax(accs))]
        want[test] = (dist[test] < t) == same[test]
        sizes.append(test.size)
    np.testing.assert_array_equal(got["pair_correct"], want)
    weighted = np.dot(got["fold_accuracy"], sizes) / n_pairs
    assert got["pair_correct"].mean() == pytest.approx(weighted, abs=1e-12)
    if n_pairs % n_folds == 0:  # equal folds: the plain mean is the row value
        assert got["pair_correct"].mean() == pytest.approx(got["accuracy"], abs=1e-12)
    assert got["n_impostor"] == int((~same).sum())


def _sk_accepted(scores, labels, far):
    """Genuine pairs accepted at the sklearn ROC point nearest ``far`` (highest TPR on ties)."""
    fpr, tpr, thr = sk_roc_curve(labels, scores)
    best = min(range(len(fpr)), key=lambda k: (abs(fpr[k] - far), -tpr[k]))
    return scores[labels == 1] >= thr[best], tpr[best]


def test_ijb_items_brute_force_mean_and_order():
    rng = np.random.default_rng(5)
    n_img, dim = 400, 8
    tids = np.arange(n_img) // 4  # 100 templates of 4 images, one of 40 identities each
    ident_t = rng.integers(0, 40, size=100)
    centres = rng.normal(size=(40, dim))
    E0 = centres[ident_t[tids]] + 1.2 * rng.normal(size=(n_img, dim))
    E1 = E0 + 0.1 * rng.normal(size=(n_img, dim))
    mids = np.arange(n_img) // 2
    pairs = np.array([(a, b) for a in range(100) for b in range(a + 1, 100)])
    labels = (ident_t[pairs[:, 0]] == ident_t[pairs[:, 1]]).astype(int)
    res = J.score(E0, E1, np.ones(n_img), tids, mids, pairs, labels)
    for far in J.IJB_FARS:
        got = res["accepted_at_far"][far]
        want, tar = _sk_accepted(res["scores"].astype(np.float64), labels, far)
        np.testing.assert_array_equal(got, want)
        assert (
            got.mean() == pytest.approx(res["tar_at_far"][far], abs=1e-12) and tar == res["tar_at_far"][far]
        )
    assert res["n_impostor"] == int((labels == 0).sum())
    # order follows the pair file: shuffling the file permutes the items the same way
    perm = rng.permutation(len(pairs))
    res2 = J.score(E0, E1, np.ones(n_img), tids, mids, pairs[perm], labels[perm])
    gen_perm = np.flatnonzero(labels[perm] == 1)
    rank = np.empty(len(pairs), dtype=np.int64)
    rank[np.flatnonzero(labels == 1)] = np.arange((labels == 1).sum())
    for far in J.IJB_FARS:
        np.testing.assert_array_equal(
            res2["accepted_at_far"][far], res["accepted_at_far"][far][rank[perm[gen_perm]]]
        )


def test_identification_items_brute_force_gallery():
    rng = np.random.default_rng(1)
    n_id, per, m, dim = 10, 4, 300, 8
    probes, labels, distractors = clustered_probes(rng, n_id, per, m, dim, spread=0.9)
    res = I.evaluate(probes, labels, distractors, seed=2, chunk=37)
    want = []
    for j in range(len(probes)):  # probe j, then gallery image i: the documented order
        for i in range(len(probes)):
            if i != j and labels[i] == labels[j]:
                want.append(not np.any(distractors @ probes[j] > probes[i] @ probes[j]))
    np.testing.assert_array_equal(res["rank1_hits"], want)
    assert res["rank1_hits"].mean() == res["rank1"]
    assert 0.0 < res["rank1"] < 1.0


def test_rate_resolution_rule():
    assert MIN_EVENTS == 100
    assert rate_resolution(1e-4, 1_000_000) == (100.0, True)
    n_events, ok = rate_resolution(1e-4, 999_999)
    assert not ok and n_events == pytest.approx(99.9999)
    assert rate_resolution(1e-6, 1_800) == (pytest.approx(0.0018), False)
