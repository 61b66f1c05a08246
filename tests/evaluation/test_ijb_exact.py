"""IJB 1:1 equals insightface's ``eval_ijbc.py`` recipe, transliterated here, on 1.1 M pairs with ties.

The set: 1,500 templates, each a copy of one of 500 base templates (same images, same media), so
copies have identical template vectors and many scores tie exactly; all 1,124,250 template pairs
are scored (genuine = same identity). Embeddings are float32, as the network writes them. The
reference is the recipe step by step (formats-and-protocols.md §4.3-§4.6): float32 image features
``(f + f_flip) * face_score``, a per-template loop with ``np.mean`` per media and ``np.sum`` over
media, ``sklearn.preprocessing.normalize``, chunked ``np.sum(f1 * f2, -1)`` in float64,
``sklearn.metrics.roc_curve`` and the reversed nearest-FAR ``min`` read-out.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import auc as sk_auc
from sklearn.metrics import roc_curve as sk_roc_curve
from sklearn.preprocessing import normalize

from interface.evaluation import ijb, roc

N_BASE, COPIES, N_ID, DIM = 500, 3, 60, 32


def _ijb_set(seed: int = 0):
    """Image rows (E0, E1 float32, face scores float32, template and media ids), pairs, labels."""
    rng = np.random.default_rng(seed)
    base_id = rng.integers(0, N_ID, N_BASE)
    n_img = rng.integers(1, 7, N_BASE)  # 1-6 images per base template
    centres = rng.normal(size=(N_ID, DIM))
    e0, e1, face, tids, mids, ident = [], [], [], [], [], []
    template_ids = rng.permutation(np.arange(10, 10 + 7 * N_BASE * COPIES, 7))  # sparse, unordered
    for b in range(N_BASE):
        k = n_img[b]
        x0 = centres[base_id[b]] + 1.2 * rng.normal(size=(k, DIM))
        x1 = x0 + 0.2 * rng.normal(size=(k, DIM))
        f = rng.uniform(0.3, 1.0, k)
        m = rng.integers(0, 3, k) + 1000 * b  # up to 3 media: video frames share one
        for c in range(COPIES):
            e0.append(x0)
            e1.append(x1)
            face.append(f)
            tids.append(np.full(k, template_ids[b * COPIES + c]))
            mids.append(m)
        ident += [base_id[b]] * COPIES
    templates = template_ids[: N_BASE * COPIES]
    i, j = np.triu_indices(templates.size, k=1)
    ident = np.asarray(ident)
    pairs = np.stack([templates[i], templates[j]], axis=1)
    labels = (ident[i] == ident[j]).astype(np.int64)
    return (
        np.concatenate(e0).astype(np.float32),
        np.concatenate(e1).astype(np.float32),
        np.concatenate(face).astype(np.float32),
        np.concatenate(tids),
        np.concatenate(mids),
        pairs,
        labels,
    )


def _insightface_scores(
    E0, E1, face, tids, mids, pairs, use_norm_score=True, use_detector_score=True
) -> np.ndarray:
    """eval_ijbc.py (flip test on: F2), written out as that script computes it; its flags
    ``use_norm_score`` (True: N1) and ``use_detector_score`` (True: D1)."""
    img_feats = np.concatenate([E0, E1], axis=1)  # forward_db: [f_orig, f_flip] per image
    d = img_feats.shape[1] // 2
    img_input_feats = img_feats[:, 0:d] + img_feats[:, d:]
    if not use_norm_score:
        img_input_feats = img_input_feats / np.sqrt(np.sum(img_input_feats**2, -1, keepdims=True))
    if use_detector_score:
        img_input_feats = img_input_feats * face[:, np.newaxis]
    unique_templates = np.unique(tids)
    template_feats = np.zeros((len(unique_templates), img_input_feats.shape[1]))
    for count_template, uqt in enumerate(unique_templates):
        (ind_t,) = np.where(tids == uqt)
        face_norm_feats = img_input_feats[ind_t]
        face_medias = mids[ind_t]
        unique_medias, unique_media_counts = np.unique(face_medias, return_counts=True)
        media_norm_feats = []
        for u, ct in zip(unique_medias, unique_media_counts):
            (ind_m,) = np.where(face_medias == u)
            if ct == 1:
                media_norm_feats += [face_norm_feats[ind_m]]
            else:
                media_norm_feats += [np.mean(face_norm_feats[ind_m], axis=0, keepdims=True)]
        template_feats[count_template] = np.sum(np.array(media_norm_feats), axis=0)
    template_norm_feats = normalize(template_feats)
    template2id = np.zeros((max(unique_templates) + 1, 1), dtype=int)
    template2id[unique_templates, 0] = np.arange(len(unique_templates))
    p1, p2 = pairs[:, 0], pairs[:, 1]
    score = np.zeros((len(p1),))
    for s in range(0, len(p1), 100000):
        sl = slice(s, s + 100000)
        feat1 = template_norm_feats[template2id[p1[sl]]]
        feat2 = template_norm_feats[template2id[p2[sl]]]
        score[sl] = np.sum(feat1 * feat2, -1).flatten()
    return score


def _insightface_readout(labels, scores) -> tuple[dict[float, float], float]:
    fpr, tpr, _ = sk_roc_curve(labels, scores)
    roc_auc = sk_auc(fpr, tpr)
    fpr, tpr = np.flipud(fpr), np.flipud(tpr)
    out = {}
    for x in ijb.IJB_FARS:
        _, min_index = min(zip(abs(fpr - x), range(len(fpr))))
        out[x] = float(tpr[min_index])
    return out, float(roc_auc)


@pytest.fixture(scope="module")
def ijb_set():
    data = _ijb_set()
    return data, _insightface_scores(*data[:6])


def test_set_has_many_ties(ijb_set):
    (*_, pairs, labels), ref = ijb_set
    assert pairs.shape[0] == 1_124_250 and 0 < labels.sum() < labels.size
    # copies share vectors: ~9 pairs per distinct score, ties between genuine and impostor pairs
    assert np.unique(ref).size < pairs.shape[0] / 5


def test_scores_and_tar_equal_insightface_recipe(ijb_set):
    data, ref = ijb_set
    res = ijb.score(*data)
    assert res["scores"].dtype == np.float64
    np.testing.assert_array_equal(res["scores"], ref)  # the same float64 numbers, ties included
    want, want_auc = _insightface_readout(data[6], ref)
    assert res["tar_at_far"] == want  # ==, at every protocol FAR
    assert res["auc"] == pytest.approx(want_auc, abs=1e-12)


def test_n0_d0_scores_equal_insightface_flags(ijb_set):
    # N0 = use_norm_score=False (each image feature normalised), D0 = use_detector_score=False
    data, _ = ijb_set
    mode = ijb.ImageFeatureMode(norm="N0", detector="D0")
    got = ijb.score(*data, mode=mode)["scores"]
    want = _insightface_scores(*data[:6], use_norm_score=False, use_detector_score=False)
    np.testing.assert_array_equal(got, want)


def test_float32_scores_would_differ(ijb_set):
    # the old path: the same template vectors rounded to float32, float32 dot products. Rounding
    # ties neighbouring float64 scores and moves the read-out: the equality above can fail.
    data, ref = ijb_set
    E0, E1, face, tids, mids, pairs, labels = data
    templates, tf = ijb.pool_templates(ijb.image_features(E0, E1, face), tids, mids)
    rows = np.searchsorted(templates, pairs)
    tf32 = tf.astype(np.float32)
    s32 = np.einsum("ij,ij->i", tf32[rows[:, 0]], tf32[rows[:, 1]])
    assert np.unique(s32).size < np.unique(ref).size
    want, _ = _insightface_readout(labels, ref)
    got = roc.read_tar(*roc.roc_curve(s32, labels)[:2], ijb.IJB_FARS)
    assert got != want
