"""IJB 1:1 (formats-and-protocols.md §4.3-§4.6): hand-computed template vectors, an independent
per-template loop, the N/D/F switches, chunked scoring in bounded memory, and bad input."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from sklearn.metrics import roc_curve as sk_roc_curve

from interface.errors import InputError
from interface.evaluation import ijb

# toy set: 5 images, templates 10 and 3; media id 1 appears in both templates (grouping is per
# template, as insightface's loop does)
E0 = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 0.5], [1.0, 2.0], [1.0, 0.0]])
E1 = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 0.5], [2.0, 2.0], [0.0, 0.0]])
FACE = np.array([0.5, 1.0, 1.0, 1.0, 2.0])
TIDS = np.array([10, 10, 10, 3, 3])
MIDS = np.array([1, 1, 2, 7, 1])


def test_toy_templates_by_hand():
    feats = ijb.image_features(E0, E1, FACE)
    np.testing.assert_allclose(feats, [[1, 0], [0, 2], [0, 1], [3, 4], [2, 0]])
    templates, tf = ijb.pool_templates(feats, TIDS, MIDS)
    np.testing.assert_array_equal(templates, [3, 10])
    # template 3: media 7 = (3, 4), media 1 = (2, 0) -> sum (5, 4)
    # template 10: media 1 = mean((1, 0), (0, 2)) = (0.5, 1), media 2 = (0, 1) -> sum (0.5, 2)
    np.testing.assert_allclose(tf[0], np.array([5, 4]) / np.sqrt(41), atol=1e-15)
    np.testing.assert_allclose(tf[1], np.array([0.5, 2]) / np.sqrt(4.25), atol=1e-15)
    s = ijb.pair_scores(templates, tf, np.array([[3, 10], [10, 10], [10, 3]]))
    cos = (5 * 0.5 + 4 * 2) / np.sqrt(41 * 4.25)
    np.testing.assert_allclose(s, [cos, 1.0, cos], atol=1e-15)
    assert s.dtype == np.float64


def test_switches_by_hand():
    # N0: per-image unit vectors before the face score; D0: no face score; F1: concatenation
    f = ijb.image_features(E0, E1, FACE, ijb.ImageFeatureMode(norm="N0", detector="D0"))
    np.testing.assert_allclose(f, [[1, 0], [0, 1], [0, 1], [0.6, 0.8], [1, 0]], atol=1e-15)
    f = ijb.image_features(E0, E1, FACE, ijb.ImageFeatureMode(norm="N0"))
    np.testing.assert_allclose(f[4], [2, 0])
    f = ijb.image_features(E0, E1, FACE, ijb.ImageFeatureMode(flip="F1", detector="D0"))
    np.testing.assert_allclose(f[3], [1, 2, 2, 2])
    # the spec text names what the chosen switches do (N1 keeps the norm, as insightface's
    # use_norm_score=True, "TestMode(N1)")
    assert ijb.describe_mode("N1D1F2") == "N1D1F2 (N1: raw norm kept, D1: times face score, F2: flip sum)"
    assert ijb.describe_mode(ijb.ImageFeatureMode("F1", "N0", "D0").label).startswith(
        "N0D0F1 (N0: L2-normalised per image, D0: no face score"
    )
    with pytest.raises(InputError, match="norm='N2'"):
        ijb.ImageFeatureMode(norm="N2")


def _loop_pooling(feats, tids, mids):
    """insightface's per-template loop, written independently."""
    out = []
    for t in np.unique(tids):
        f_t, m_t = feats[tids == t], mids[tids == t]
        media = []
        for m in np.unique(m_t):
            rows = f_t[m_t == m]
            media.append(rows[0] if len(rows) == 1 else rows.mean(axis=0))
        v = np.sum(media, axis=0)
        out.append(v / np.linalg.norm(v))
    return np.array(out)


def test_pooling_equals_loop_on_random_sets():
    rng = np.random.default_rng(0)
    n = 600
    feats = rng.normal(size=(n, 8))
    tids = rng.integers(0, 80, n)
    mids = rng.integers(0, 30, n)
    _, tf = ijb.pool_templates(feats, tids, mids)
    np.testing.assert_allclose(tf, _loop_pooling(feats, tids, mids), atol=1e-12)


def test_score_end_to_end_and_chunk_independence():
    rng = np.random.default_rng(1)
    n, n_t = 400, 60
    ident = rng.integers(0, 12, n_t)  # template -> identity
    tids = rng.integers(0, n_t, n)
    tids[:n_t] = np.arange(n_t)  # every template has an image
    centres = rng.normal(size=(12, 16))
    e0 = centres[ident[tids]] + 0.8 * rng.normal(size=(n, 16))
    e1 = e0 + 0.1 * rng.normal(size=(n, 16))
    face = rng.uniform(0.5, 1.0, n)
    mids = rng.integers(0, 200, n)
    pairs = np.array([(a, b) for a in range(n_t) for b in range(a + 1, n_t)])
    labels = (ident[pairs[:, 0]] == ident[pairs[:, 1]]).astype(int)
    res = ijb.score(e0, e1, face, tids, mids, pairs, labels, chunk=97)
    # scores from the independent loop pooling and a plain dot product
    tf = _loop_pooling((e0 + e1) * face[:, None], tids, mids)
    want = np.einsum("ij,ij->i", tf[pairs[:, 0]], tf[pairs[:, 1]])
    np.testing.assert_allclose(res["scores"], want, atol=1e-12)
    np.testing.assert_array_equal(res["scores"], ijb.score(e0, e1, face, tids, mids, pairs, labels)["scores"])
    sparse = ijb.score(e0, e1, face, tids * 10**9, mids, pairs * 10**9, labels)[
        "scores"
    ]  # binary-search lookup
    np.testing.assert_array_equal(res["scores"], sparse)
    fpr, tpr, _ = sk_roc_curve(labels, res["scores"])
    for far, tar in res["tar_at_far"].items():
        assert tar == np.flipud(tpr)[np.argmin(np.abs(np.flipud(fpr) - far))]
    assert res["n_pairs"] == len(pairs) and res["n_templates"] == n_t and res["mode"] == "N1D1F2"


@pytest.mark.slow
def test_scoring_ijbc_sized_pair_list_in_bounded_memory():
    # 15.6 million pairs (IJB-C size) with a small embedding; extra memory beyond the (K,) float64
    # output must stay under 40 MiB with the default chunks (a full gather of the
    # pairs at D=4 would need 2 * 15.6e6 * 4 * 8 B = 1 GB).
    rng = np.random.default_rng(2)
    n_t, dim, k = 2000, 4, 15_600_000
    templates = np.arange(n_t)
    tf = rng.normal(size=(n_t, dim))
    tf /= np.linalg.norm(tf, axis=1, keepdims=True)
    pairs = rng.integers(0, n_t, size=(k, 2), dtype=np.int32)
    tracemalloc.start()
    base, _ = tracemalloc.get_traced_memory()
    scores = ijb.pair_scores(templates, tf, pairs)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    extra = peak - base - scores.nbytes
    assert extra < 40 * 2**20, f"peak extra memory {extra / 2**20:.1f} MiB"
    idx = rng.integers(0, k, 1000)
    a, b = pairs[idx, 0], pairs[idx, 1]
    np.testing.assert_array_equal(scores[idx], np.sum(tf[a] * tf[b], axis=1))


def test_bad_input():
    with pytest.raises(InputError, match="face_scores"):
        ijb.image_features(E0, E1, FACE[:4])
    with pytest.raises(InputError, match="NaN"):
        ijb.image_features(np.where(E0 == 0.5, np.nan, E0), E1, FACE)
    with pytest.raises(InputError, match="shape"):
        ijb.image_features(E0, E1[:3], FACE)
    feats = ijb.image_features(E0, E1, FACE)
    with pytest.raises(InputError, match="template ids"):
        ijb.pool_templates(feats, TIDS[:4], MIDS)
    templates, tf = ijb.pool_templates(feats, TIDS, MIDS)
    with pytest.raises(InputError, match="template id 99 has no images"):
        ijb.pair_scores(templates, tf, np.array([[3, 10], [10, 99]]))
    # sparse ids take the binary-search path instead of the dense table
    with pytest.raises(InputError, match="template id 99000000000 has no images"):
        ijb.pair_scores(templates * 10**9, tf, np.array([[3, 10], [10, 99]]) * 10**9)
    with pytest.raises(InputError, match="template id -1 has no images"):
        ijb.pair_scores(templates, tf, np.array([[3, 10], [10, -1]]))
    with pytest.raises(InputError, match=r"\(K, 2\)"):
        ijb.pair_scores(templates, tf, np.array([3, 10]))
    with pytest.raises(InputError, match="labels"):
        ijb.score(E0, E1, FACE, TIDS, MIDS, np.array([[3, 10]]), np.array([1, 0]))


@pytest.mark.parametrize(("label", "fusion"), [("N1D1F2", "sum of"), ("N0D0F1", "concatenation (2D) of")])
def test_the_ijb_specs_state_the_flip_fusion_and_switches_of_their_mode(label, fusion):
    from interface.evaluation.kinds import ijb as ijb_kind
    from interface.evaluation.kinds import ijb_1n as ijb_1n_kind

    for spec in (ijb_kind.spec(label, 4096), ijb_1n_kind.spec(label, "separate")):
        protocol = spec.protocol
        assert protocol["flip_fusion"].startswith(fusion)
        assert protocol["image_feature"] == ijb.describe_mode(label)
