"""IJB-B / IJB-C 1:1 template verification, as insightface's ``eval_ijbc.py`` computes it.

formats-and-protocols.md §4.3-§4.6 (InterFace, arXiv 2210.02018, reuses this script unchanged):

1. image feature (§4.3): ``F2`` flip fusion ``f = f_orig + f_flip`` (``F1`` concatenates them),
   ``D1`` multiplies by the detector face score (``D0`` does not). ``N1`` keeps each image
   feature's raw norm, so the norm weights the image in its template (insightface's
   ``use_norm_score=True``, "TestMode(N1)"); ``N0`` L2-normalises each image feature first
   (``use_norm_score=False``). Default N1/D1/F2, insightface's defaults.
2. pooling (§4.4): per template (ascending ids), media feature = mean of its images, template
   feature = sum of its media features, then L2 normalisation.
3. scores (§4.5): cosine of the two template vectors of each pair, in float64, computed in chunks
   so memory stays bounded for IJB-C's 15.6 million pairs.
4. read-out (§4.6): scikit-learn default ROC, nearest-point TAR at FAR 1e-6 ... 1e-1, AUC.

Arithmetic follows insightface step by step, so the scores are the same float64 numbers and
equal scores tie exactly where insightface's tie: image features, media means and template sums
stay in the embeddings' precision (float32 for the network's float32 output: insightface's
``np.mean`` / ``np.sum`` of float32 rows, accumulated row by row in image and media order); the
template sums are then widened to float64, normalised as ``sklearn.preprocessing.normalize`` does,
and each score is ``np.sum(f1 * f2, -1)`` of float64 rows. Scores rounded to float32 tie where
insightface's do not and, at a million pairs, change a TAR by a genuine pair; pooling float32
features in float64 instead moves scores by up to about 5e-8, enough to reorder neighbours.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from interface.errors import InputError
from interface.evaluation import roc
from interface.evaluation.roc import tar_at_far
from interface.evaluation.verification import check_finite, l2_normalise

__all__ = [
    "IJB_FARS",
    "ImageFeatureMode",
    "describe_mode",
    "image_features",
    "pool_templates",
    "pair_scores",
    "score",
    "tar_at_far",
]

IJB_FARS = (1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1)
# insightface scores 100,000 pairs at a time; the chunk only bounds memory (each score is one row's
# dot product, the same whatever the chunk), so a smaller default keeps the two float64 gathers at
# 2 * 4096 * D * 8 bytes (32 MiB at D = 512), which also stay in cache better.
CHUNK_PAIRS = 4096


#: The values each §4.3 switch of :class:`ImageFeatureMode` can take (the workflow schema's enums).
IMAGE_FEATURE_MODES: dict[str, tuple[str, ...]] = {
    "flip": ("F1", "F2"),
    "norm": ("N0", "N1"),
    "detector": ("D0", "D1"),
}

#: What each switch value does to an image feature, as the evaluator spec states it.
MODE_MEANINGS: dict[str, str] = {
    "N1": "raw norm kept",
    "N0": "L2-normalised per image",
    "D1": "times face score",
    "D0": "no face score",
    "F2": "flip sum",
    "F1": "flip concatenation",
}


@dataclass(frozen=True)
class ImageFeatureMode:
    """The §4.3 switches. flip: "F2" (sum) or "F1" (concatenate); norm: "N1" keep each image
    feature's raw norm (it weights the image in pooling) or "N0" L2-normalise each image feature;
    detector: "D1" weight by face score or "D0" not."""

    flip: str = "F2"
    norm: str = "N1"
    detector: str = "D1"

    def __post_init__(self) -> None:
        for key, allowed in IMAGE_FEATURE_MODES.items():
            value = getattr(self, key)
            if value not in allowed:
                raise InputError(f"IJB image-feature mode {key}={value!r}; expected one of {allowed}")

    @property
    def label(self) -> str:
        return f"{self.norm}{self.detector}{self.flip}"


def describe_mode(label: str) -> str:
    """``"N0D1F2"`` -> ``"N0D1F2 (N0: L2-normalised per image, D1: times face score, F2: flip sum)"``."""
    switches = [label[i : i + 2] for i in range(0, len(label), 2)]
    return f"{label} ({', '.join(f'{s}: {MODE_MEANINGS[s]}' for s in switches)})"


def image_features(
    E0: np.ndarray, E1: np.ndarray, face_scores: np.ndarray, mode: ImageFeatureMode = ImageFeatureMode()
) -> np.ndarray:
    """Per-image features (§4.3) from raw original (E0) and mirrored (E1) embeddings, (N, D) each.

    ``face_scores``: (N,) detector confidences (dimensionless, usually in [0, 1]). Returns (N, D)
    (or (N, 2D) for F1) in the embeddings' float precision (at least float32). Default (N1D1F2):
    ``(E0 + E1) * face_score``, unnormalised. N0 divides each flip-fused feature by its L2 norm
    before the face score, as insightface writes it (``f / sqrt(sum(f ** 2))``; an all-zero row
    stays zero where insightface would divide by zero).
    """
    E0, E1 = np.asarray(E0), np.asarray(E1)
    # float32 embeddings stay float32 (as in insightface; IJB-C's 469k x 512 features are 1 GB
    # then), float64 stays float64
    dtype = np.result_type(E0.dtype, E1.dtype, np.float32)
    E0, E1 = E0.astype(dtype, copy=False), E1.astype(dtype, copy=False)
    face_scores = np.asarray(face_scores, dtype=dtype)
    if E0.shape != E1.shape or E0.ndim != 2:
        raise InputError(
            f"IJB features: original and flipped embeddings must share an (N, D) shape, got {E0.shape} and {E1.shape}"
        )
    if face_scores.shape != (E0.shape[0],):
        raise InputError(f"IJB features: {E0.shape[0]} images but face_scores has shape {face_scores.shape}")
    check_finite(E0, "IJB original embeddings")
    check_finite(E1, "IJB flipped embeddings")
    check_finite(face_scores, "IJB face scores")
    f = np.concatenate([E0, E1], axis=1) if mode.flip == "F1" else E0 + E1
    if mode.norm == "N0":
        norms = np.sqrt(np.sum(f**2, axis=-1, keepdims=True))
        f = f / np.where(norms == 0, 1, norms)
    if mode.detector == "D1":
        f = f * face_scores[:, None]
    return f


def pool_templates(
    features: np.ndarray, template_ids: np.ndarray, media_ids: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Media mean, template sum, L2 normalisation (§4.4), in insightface's arithmetic.

    Args:
        features: (N, D) float32 or float64 image features; template_ids, media_ids: (N,)
            integer ids per image.

    Returns:
        (templates (T,) ascending unique ids, (T, D) float64 unit template vectors). Media means
        and template sums are accumulated in ``features``' precision, one row at a time in image
        order and then ascending media order, as insightface's ``np.mean`` and ``np.sum`` of the
        rows do; the sums are widened to float64 before the normalisation.
    """
    features = np.asarray(features)
    if features.dtype not in (np.float32, np.float64):
        features = features.astype(np.float64)
    template_ids = np.asarray(template_ids)
    media_ids = np.asarray(media_ids)
    n = features.shape[0]
    if template_ids.shape != (n,) or media_ids.shape != (n,):
        raise InputError(
            f"IJB pooling: {n} image features but template ids {template_ids.shape} and media ids {media_ids.shape}"
        )
    templates, t_idx = np.unique(template_ids, return_inverse=True)
    # (template, media) groups in (template, media id) order; np.add.at adds rows in index order,
    # which is the order of insightface's row-by-row reduction, and 0 + x is exact
    keys = np.stack([t_idx, np.unique(media_ids, return_inverse=True)[1]], axis=1)
    groups, g_idx, g_count = np.unique(keys, axis=0, return_inverse=True, return_counts=True)
    media = np.zeros((groups.shape[0], features.shape[1]), dtype=features.dtype)
    np.add.at(media, g_idx.reshape(-1), features)
    media /= g_count.astype(features.dtype)[:, None]  # a one-image media divides by 1: itself
    pooled = np.zeros((templates.shape[0], features.shape[1]), dtype=features.dtype)
    np.add.at(pooled, groups[:, 0], media)
    return templates, l2_normalise(pooled.astype(np.float64))


def _row_lookup(templates: np.ndarray):
    """Map template ids to rows of ``templates`` (ascending), -1 for unknown ids.

    A dense table when ids are non-negative and not too sparse (IJB ids are < 200,000: a table
    lookup is ~10x faster than a binary search on random ids); a binary search otherwise.
    """
    lo, hi = int(templates.min()), int(templates.max())
    if lo >= 0 and hi < max(16 * templates.size, 1 << 22):
        table = np.full(hi + 1, -1, dtype=np.int64)
        table[templates] = np.arange(templates.size)

        def dense(ids: np.ndarray) -> np.ndarray:
            inside = (ids >= 0) & (ids <= hi)
            return np.where(inside, table[np.clip(ids, 0, hi)], -1)

        return dense

    def search(ids: np.ndarray) -> np.ndarray:
        idx = np.minimum(np.searchsorted(templates, ids), templates.size - 1)
        return np.where(templates[idx] == ids, idx, -1)

    return search


def pair_scores(
    templates: np.ndarray, template_feats: np.ndarray, pairs: np.ndarray, chunk: int = CHUNK_PAIRS
) -> np.ndarray:
    """Cosine score of each template pair, in chunks of ``chunk`` pairs (bounded extra memory).

    Args:
        templates: (T,) ascending template ids (from :func:`pool_templates`).
        template_feats: (T, D) unit template vectors (used in float64).
        pairs: (K, 2) integer template ids, in pair-file order.
        chunk: pairs per chunk (>= 1); extra memory is about ``chunk * (2 D * 8 + 48)`` bytes (the
            float64 gathers of both sides plus index arrays), independent of K.

    Returns:
        (K,) float64 scores in [-1, 1], in pair order: ``np.sum(f1 * f2, -1)`` of the two rows,
        the same float64 numbers insightface's ``verification`` computes.
    """
    pairs = np.asarray(pairs)
    if pairs.ndim != 2 or pairs.shape[1] != 2:
        raise InputError(f"IJB pairs: expected a (K, 2) array of template ids, got shape {pairs.shape}")
    if chunk < 1:
        raise InputError(f"IJB scoring chunk={chunk}; expected >= 1")
    feats = np.asarray(template_feats, dtype=np.float64)
    out = np.empty(pairs.shape[0], dtype=np.float64)
    to_row = _row_lookup(np.asarray(templates))
    for start in range(0, pairs.shape[0], chunk):
        block = pairs[start : start + chunk]
        rows = to_row(block)
        if np.any(rows < 0):
            r, c = np.argwhere(rows < 0)[0]
            raise InputError(
                f"IJB pair {start + r}: template id {block[r, c]} has no images in the face/template/media list"
            )
        # multiply then sum along D (pairwise summation), not einsum: einsum rounds differently
        side = feats[rows[:, 0]]
        np.multiply(side, feats[rows[:, 1]], out=side)
        out[start : start + chunk] = side.sum(axis=1)
    return out


def score(
    E0: np.ndarray,
    E1: np.ndarray,
    face_scores: np.ndarray,
    template_ids: np.ndarray,
    media_ids: np.ndarray,
    pairs: np.ndarray,
    labels: np.ndarray,
    mode: ImageFeatureMode = ImageFeatureMode(),
    fars=IJB_FARS,
    chunk: int = CHUNK_PAIRS,
) -> dict:
    """Full IJB 1:1 evaluation from raw per-image embeddings.

    Returns a dict: ``tar_at_far`` ({far: TAR fraction}), ``accepted_at_far`` ({far: (G,) bool,
    whether each genuine pair, in pair order, scores >= the threshold of the ROC point read for
    that FAR}; its mean is the TAR), ``auc`` (fraction), ``eer``, ``n_pairs``, ``n_genuine``,
    ``n_impostor``, ``n_templates``, ``mode`` (e.g. "N1D1F2"), ``scores`` ((K,) float64
    cosine scores in pair order, for saving) and the ROC it read them on, ``fpr`` and ``tpr``
    (fractions, sklearn's ``roc_curve`` points).
    """
    labels = np.asarray(labels)
    if labels.shape != (np.asarray(pairs).shape[0],):
        raise InputError(
            f"IJB labels: {np.asarray(pairs).shape[0]} pairs but labels have shape {labels.shape}"
        )
    feats = image_features(E0, E1, face_scores, mode)
    templates, tfeats = pool_templates(feats, template_ids, media_ids)
    scores = pair_scores(templates, tfeats, pairs, chunk=chunk)
    fpr, tpr, thresholds = roc.roc_curve(scores, labels)
    points = roc.read_points(fpr, fars)
    genuine = scores[labels.astype(bool)]
    return {
        "tar_at_far": {far: float(tpr[i]) for far, i in points.items()},
        "accepted_at_far": {far: genuine >= thresholds[i] for far, i in points.items()},
        "auc": roc.auc(fpr, tpr),
        "eer": roc.eer(fpr, tpr),
        "n_pairs": int(scores.shape[0]),
        "n_genuine": int(genuine.size),
        "n_impostor": int(scores.shape[0] - genuine.size),
        "n_templates": int(templates.shape[0]),
        "mode": mode.label,
        "scores": scores,
        "fpr": fpr,
        "tpr": tpr,
    }
