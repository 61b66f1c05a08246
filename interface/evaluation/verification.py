"""Pair verification on ``.bin`` packs: the LFW-style 10-fold protocol of arcface_torch / InterFace.

Everything follows formats-and-protocols.md §2.3 and §3 (the protocol InterFace, arXiv 2210.02018,
inherits unchanged from insightface's ``eval/verification.py``):

* flip fusion: ``E = normalise(E0 + E1)`` of raw original and mirrored embeddings; XNorm is the
  mean L2 norm of all raw rows of E0 and E1 (:func:`fuse_flip`);
* distance: squared Euclidean distance of the unit vectors of pair i (rows 2i, 2i+1), in [0, 4];
* decision: "same" iff ``d < t`` (strict), thresholds ``arange(0, 4, 0.01)``;
* folds: ``KFold(n_folds, shuffle=False)`` (contiguous blocks, the first ``n mod k`` one larger);
* per fold: first arg-max of training accuracy picks the threshold; test accuracy at it;
* report: mean and population std (ddof 0) of the fold accuracies;
* val@far (§3.1): grid ``arange(0, 4, 0.001)``, FAR 1e-3, threshold from a linear interpolation of
  threshold against training FAR (the SciPy ``interp1d(kind='slinear')`` semantics insightface
  was written against, duplicates included), 0.0 if the training FAR never reaches 1e-3.

Counts are obtained with ``searchsorted`` on sorted distances, which gives exactly the same
integers as the element-wise ``d < t`` comparisons, so the accuracies are bit-identical.
"""

from __future__ import annotations

import numpy as np

from interface.errors import InputError
from interface.evaluation import roc

ACC_THRESHOLDS = np.arange(0, 4, 0.01)
VAL_THRESHOLDS = np.arange(0, 4, 0.001)
VAL_FAR_TARGET = 1e-3
UNIT_TOLERANCE = 1e-3  # |row norm - 1| accepted as "normalised" (float32 rounding is ~1e-7)


def fuse_flip(E0: np.ndarray, E1: np.ndarray) -> tuple[np.ndarray, float]:
    """Flip fusion of §2.3: ``(normalise(E0 + E1), XNorm)``.

    Args:
        E0, E1: (N, D) raw embeddings of the originals and the mirrored images. float32 input
            (what models return) is fused and normalised in float32, as insightface does;
            anything else in float64.

    Returns:
        E: (N, D) unit rows (an all-zero row stays zero, like sklearn ``normalize``);
        xnorm: mean L2 norm over all 2N raw rows (embedding units, >= 0), float64.
    """
    E0, E1 = np.asarray(E0), np.asarray(E1)
    dtype = _float_dtype(E0, E1)
    E0, E1 = E0.astype(dtype, copy=False), E1.astype(dtype, copy=False)
    if E0.shape != E1.shape or E0.ndim != 2:
        raise InputError(
            f"flip fusion: original and flipped embeddings must have equal (N, D) shapes, got {E0.shape} and {E1.shape}"
        )
    check_finite(E0, "original embeddings")
    check_finite(E1, "flipped embeddings")
    norms = [np.linalg.norm(E.astype(np.float64), axis=1) for E in (E0, E1)]
    xnorm = float(np.concatenate(norms).mean())
    return l2_normalise(E0 + E1), xnorm


def _float_dtype(*arrays: np.ndarray) -> np.dtype:
    """float32 when every array is float32, else float64."""
    return np.dtype(np.float32) if all(a.dtype == np.float32 for a in arrays) else np.dtype(np.float64)


def l2_normalise(x: np.ndarray) -> np.ndarray:
    """Row-wise L2 normalisation in ``x``'s precision, computed as sklearn ``normalize`` does
    (``sqrt(einsum('ij,ij->i'))``, then division); all-zero rows stay zero."""
    x = np.asarray(x)
    if x.dtype not in (np.float32, np.float64):
        x = x.astype(np.float64)
    norms = np.sqrt(np.einsum("ij,ij->i", x, x))
    norms[norms == 0] = 1.0
    return x / norms[:, np.newaxis]


def check_finite(x: np.ndarray, what: str) -> None:
    """Raise InputError naming ``what`` if ``x`` holds NaN or infinite values."""
    bad = ~np.isfinite(x)
    if np.any(bad):
        row = int(np.argwhere(bad)[0][0])
        raise InputError(
            f"{what}: {int(bad.any(axis=-1).sum()) if x.ndim > 1 else int(bad.sum())} rows hold NaN/inf (first at row {row})"
        )


def check_unit_rows(x: np.ndarray, what: str, tolerance: float = UNIT_TOLERANCE) -> None:
    """Raise InputError naming ``what`` unless every row of ``x`` has L2 norm 1 within ``tolerance``.

    The protocol's distance threshold grid [0, 4) assumes unit vectors (§3): raw embeddings give
    distances on another scale and about 0.5 accuracy without a word. All-zero rows pass (what
    :func:`l2_normalise` leaves of a zero embedding).
    """
    x = np.asarray(x)
    if x.ndim != 2 or not np.issubdtype(x.dtype, np.number):
        return  # the shape checks of pair_distances name the problem
    norms = np.sqrt(np.einsum("ij,ij->i", x.astype(np.float64), x.astype(np.float64)))
    bad = np.flatnonzero((np.abs(norms - 1.0) > tolerance) & (norms != 0) & np.isfinite(norms))
    if bad.size:
        row = int(bad[0])
        raise InputError(
            f"{what}: row {row} has L2 norm {norms[row]:.6g} ({bad.size} rows off 1 by more than {tolerance:g}); "
            "expected L2-normalised rows (use fuse_flip or l2_normalise first)"
        )


def kfold_test_blocks(n: int, n_folds: int) -> list[np.ndarray]:
    """Contiguous test blocks of ``KFold(n_folds, shuffle=False)``: first ``n % k`` blocks one larger."""
    if not 2 <= n_folds <= n:
        raise InputError(f"n_folds={n_folds} must be in [2, number of pairs={n}]")
    sizes = np.full(n_folds, n // n_folds, dtype=np.int64)
    sizes[: n % n_folds] += 1
    bounds = np.r_[0, np.cumsum(sizes)]
    return [np.arange(bounds[k], bounds[k + 1]) for k in range(n_folds)]


def pair_distances(embeddings: np.ndarray, issame: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Squared L2 distances of pairs (rows 2i, 2i+1) and the bool labels, after input checks.

    The distance keeps float32 precision for float32 embeddings (insightface's ``np.sum(np.square(
    diff), 1)`` on float32 features); comparisons with the float64 threshold grid then promote to
    float64, as NumPy >= 2 does for ``dist < threshold``.
    """
    emb = np.asarray(embeddings)
    emb = emb.astype(_float_dtype(emb), copy=False)
    same = np.asarray(issame)
    if emb.ndim != 2 or emb.shape[0] % 2:
        raise InputError(f"embeddings: expected (2P, D) with an even number of rows, got shape {emb.shape}")
    if same.ndim != 1 or same.shape[0] != emb.shape[0] // 2:
        raise InputError(
            f"issame: expected {emb.shape[0] // 2} labels for {emb.shape[0]} embeddings, got shape {same.shape}"
        )
    check_finite(emb, "embeddings")
    if same.dtype != bool and not np.all(np.isin(same, (0, 1))):
        raise InputError("issame: labels must be boolean or 0/1")
    return np.sum(np.square(emb[0::2] - emb[1::2]), axis=1), same.astype(bool)


def _accept_counts(d_sorted: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """For each threshold t, how many distances are < t (``d_sorted`` ascending)."""
    return np.searchsorted(d_sorted.astype(np.float64, copy=False), thresholds, side="left")


def _rates(
    d: np.ndarray, same: np.ndarray, thresholds: np.ndarray
) -> tuple[np.ndarray, np.ndarray, int, int]:
    """True accepts and false accepts per threshold, plus the genuine and impostor counts."""
    d_same = np.sort(d[same])
    d_diff = np.sort(d[~same])
    return _accept_counts(d_same, thresholds), _accept_counts(d_diff, thresholds), d_same.size, d_diff.size


def slinear_interp(x: np.ndarray, y: np.ndarray, q: float) -> float:
    """Evaluate the degree-1 B-spline through (x, y) at q, as SciPy ``interp1d(kind='slinear')``.

    ``x`` is non-decreasing and may repeat values (insightface's training-FAR curve does). The
    knots are ``[x0, x..., x_last]``: on the interval ``[x_lo, x_hi)`` that contains q the result
    interpolates between the last point at level ``x_lo`` and the first point at ``x_hi``. At the
    right end the spline's final knot interval decides, which SciPy evaluates to 0.0 when the last
    level is repeated (reproduced here for exactness). Requires ``x[0] <= q <= x[-1]``.
    """
    n = x.shape[0]
    hi = int(np.searchsorted(x, q, side="right"))
    if hi == n:  # q == x[-1]: last knot interval [x[n-2], x[n-1]]
        lo, hi = n - 2, n - 1
        if x[hi] == x[lo]:
            return 0.0
    else:
        lo = hi - 1
    w = 1.0 / (x[hi] - x[lo])
    return float(y[lo] * (w * (x[hi] - q)) + y[hi] * (w * (q - x[lo])))


def _val_threshold(far_train: np.ndarray, thresholds: np.ndarray, target: float) -> float:
    if far_train.max() >= target:
        return slinear_interp(far_train, thresholds, target)
    return 0.0


def _ratio(num: int, den: int) -> float:
    """num / den, 0.0 when den is 0 (a fold without genuine or impostor pairs)."""
    return num / den if den else 0.0


def evaluate(embeddings: np.ndarray, issame: np.ndarray, n_folds: int = 10) -> dict:
    """10-fold verification accuracy, val@FAR=1e-3, AUC and EER on fused, normalised embeddings.

    Args:
        embeddings: (2P, D) L2-normalised (flip-fused) embeddings; pair i is rows 2i and 2i+1.
            Use :func:`fuse_flip` on raw original and mirrored embeddings first.
        issame: (P,) bool, True = same identity.
        n_folds: number of contiguous folds (2 <= n_folds <= P; the protocol uses 10).

    Returns:
        dict with ``accuracy`` and ``accuracy_std`` (fractions, population std over folds),
        ``fold_accuracy`` (list), ``thresholds`` (per-fold best squared-L2 threshold),
        ``threshold`` (their mean), ``val_at_far`` / ``val_std`` (TAR at FAR 1e-3, fractions),
        ``far`` (mean test FAR at the val thresholds), ``val_thresholds`` (per fold), ``auc`` and
        ``eer`` (of the ROC over all pairs, score = -distance, sklearn ``roc_curve`` defaults),
        ``pair_correct`` ((P,) bool in pair order: pair classified correctly at its fold's
        threshold; its fold-size-weighted mean is ``accuracy``), ``n_pairs``, ``n_impostor``,
        ``n_folds``.
    """
    check_unit_rows(embeddings, "embeddings")
    d, same = pair_distances(embeddings, issame)
    n = d.shape[0]
    blocks = kfold_test_blocks(n, n_folds)
    fold_acc, best_thr, vals, fars, val_thr = [], [], [], [], []
    correct = np.zeros(n, dtype=bool)
    for test in blocks:
        train = np.ones(n, dtype=bool)
        train[test] = False
        ta, fa, n_same, n_diff = _rates(d[train], same[train], ACC_THRESHOLDS)
        train_acc = (ta + (n_diff - fa)) / float(train.sum())
        best = int(np.argmax(train_acc))
        t = ACC_THRESHOLDS[best]
        dt, st = d[test], same[test]
        pred = dt < t
        correct[test] = pred == st
        fold_acc.append(float(np.sum(correct[test])) / dt.size)
        best_thr.append(float(t))
        # val@far on the finer grid: threshold from the training FAR curve, read on the test block
        _, fa_v, _, n_diff_v = _rates(d[train], same[train], VAL_THRESHOLDS)
        far_train = fa_v / n_diff_v if n_diff_v else np.zeros(VAL_THRESHOLDS.size)
        thr = _val_threshold(far_train, VAL_THRESHOLDS, VAL_FAR_TARGET)
        pred = dt < np.float64(thr)  # a float64 scalar, like interp1d's 0-d result (compares in float64)
        vals.append(_ratio(int(np.sum(pred & st)), int(st.sum())))
        fars.append(_ratio(int(np.sum(pred & ~st)), int((~st).sum())))
        val_thr.append(thr)
    result = {
        "accuracy": float(np.mean(fold_acc)),
        "accuracy_std": float(np.std(fold_acc)),
        "fold_accuracy": fold_acc,
        "thresholds": best_thr,
        "threshold": float(np.mean(best_thr)),
        "val_at_far": float(np.mean(vals)),
        "val_std": float(np.std(vals)),
        "far": float(np.mean(fars)),
        "val_thresholds": val_thr,
        "pair_correct": correct,
        "n_pairs": int(n),
        "n_impostor": int((~same).sum()),
        "n_folds": int(n_folds),
    }
    if same.any() and not same.all():
        fpr, tpr, _ = roc.roc_curve(-d, same)
        result["auc"] = roc.auc(fpr, tpr)
        result["eer"] = roc.eer(fpr, tpr)
    return result


def evaluate_raw(E0: np.ndarray, E1: np.ndarray, issame: np.ndarray, n_folds: int = 10) -> dict:
    """Fuse raw original/mirrored embeddings (§2.3), then :func:`evaluate`; adds ``xnorm``."""
    E, xnorm = fuse_flip(E0, E1)
    result = evaluate(E, issame, n_folds=n_folds)
    result["xnorm"] = xnorm
    return result
