"""ROC curve, AUC and EER with scikit-learn's default ``roc_curve`` semantics, in plain NumPy.

insightface reads IJB TAR@FAR off ``sklearn.metrics.roc_curve(label, score)`` called with its
defaults (``pos_label=1``, ``drop_intermediate=True``); the points that survive the collinearity
filter decide which TAR is reported (formats-and-protocols.md §4.6). This module reproduces that
curve exactly (scikit-learn is only the test oracle), using integer counts so that the rates are
the same float64 quotients scikit-learn computes.
"""

from __future__ import annotations

import numpy as np

from interface.errors import InputError


def check_scores_labels(
    scores: np.ndarray, labels: np.ndarray, what: str = "scores"
) -> tuple[np.ndarray, np.ndarray]:
    """Validate a score vector and its 0/1 (or bool) labels; return (float64 scores, bool labels).

    Raises InputError on mismatched lengths, non-finite scores, labels outside {0, 1}, or a set
    without both classes (the ROC is undefined then).
    """
    scores = np.asarray(scores)
    labels = np.asarray(labels)
    if scores.ndim != 1 or labels.ndim != 1 or scores.shape[0] != labels.shape[0]:
        raise InputError(
            f"{what}: expected 1-D scores and labels of equal length, got shapes {scores.shape} and {labels.shape}"
        )
    if scores.size == 0:
        raise InputError(f"{what}: no scores given")
    if not np.all(np.isfinite(scores)):
        raise InputError(f"{what}: {int(np.sum(~np.isfinite(scores)))} scores are NaN or infinite")
    if labels.dtype != bool:
        bad = ~np.isin(labels, (0, 1))
        if np.any(bad):
            raise InputError(f"{what}: labels must be 0/1, found {labels[bad][0]!r}")
    labels = labels.astype(bool)
    n_pos = int(labels.sum())
    if n_pos == 0 or n_pos == labels.size:
        raise InputError(
            f"{what}: labels need both genuine (1) and impostor (0) pairs, got {n_pos} of {labels.size} genuine"
        )
    return scores.astype(np.float64, copy=False), labels


def roc_curve(
    scores: np.ndarray, labels: np.ndarray, drop_intermediate: bool = True, n_negatives: int | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ROC points ``(fpr, tpr, thresholds)`` exactly as ``sklearn.metrics.roc_curve`` with defaults.

    Args:
        scores: (N,) similarity scores, higher = more likely genuine (any finite real).
        labels: (N,) 1/True = genuine, 0/False = impostor.
        drop_intermediate: drop points collinear with both neighbours (scikit-learn default True).
        n_negatives: total impostor count when ``scores`` holds only the highest-scoring impostors
            (a truncated list, see identification.py); FPR is then ``fp / n_negatives``. ``None``:
            all impostors are present.

    Returns:
        fpr, tpr in [0, 1] (float64, non-decreasing, starting at (0, 0)); thresholds (float64, the
        first is +inf, then distinct scores in decreasing order).
    """
    scores, labels = check_scores_labels(scores, labels)
    # One sort, then index arrays only: beyond the caller's scores the peak is 4 arrays of N 8-byte
    # numbers (sorted scores, run ends, cumulative counts and one difference; 0.5 GB at IJB-C's
    # 15.6 M pairs). The order inside a run of equal scores is irrelevant (only the counts at
    # each run's end are read), so the fast unstable sort serves.
    order = np.argsort(scores)[::-1]
    s_sorted = scores[order]
    y_sorted = labels[order]
    del order
    last = np.empty(s_sorted.size, dtype=bool)  # the last (lowest) position of each distinct score
    np.not_equal(s_sorted[1:], s_sorted[:-1], out=last[:-1])
    last[-1] = True
    cut = np.flatnonzero(last)
    del last
    tps = np.cumsum(y_sorted, dtype=np.int64)
    del y_sorted
    tps = tps[cut]
    if drop_intermediate and tps.shape[0] > 2:
        # sklearn drops a point iff fps and tps both have a zero second difference there; as
        # fps = cut + 1 - tps, that holds iff cut and tps both do
        corner = _second_difference_nonzero(cut)
        corner |= _second_difference_nonzero(tps)
        keep = np.flatnonzero(np.r_[True, corner, True])
        del corner
        tps, cut = tps[keep], cut[keep]
    fps = cut + 1 - tps
    thresholds = np.r_[np.inf, s_sorted[cut]]
    del s_sorted
    tps = np.r_[0, tps].astype(np.float64)
    fps = np.r_[0, fps].astype(np.float64)
    total_neg = float(fps[-1] if n_negatives is None else n_negatives)
    return fps / total_neg, tps / tps[-1], thresholds


def _second_difference_nonzero(x: np.ndarray) -> np.ndarray:
    """``np.diff(x, 2) != 0`` holding one difference array instead of two."""
    d = np.diff(x)
    return d[1:] != d[:-1]


def auc(x: np.ndarray, y: np.ndarray) -> float:
    """Area under a curve by the trapezoidal rule (``sklearn.metrics.auc`` for monotone ``x``)."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    dx = np.diff(x)
    direction = -1.0 if np.all(dx <= 0) and np.any(dx < 0) else 1.0
    return float(direction * (dx * (y[1:] + y[:-1]) / 2.0).sum())


def eer(fpr: np.ndarray, tpr: np.ndarray) -> float:
    """Equal error rate: where FPR equals the false-negative rate 1 - TPR on the ROC polyline.

    The ROC is piecewise linear between its points, so the crossing of FPR and FNR is found on
    the first segment where ``FNR - FPR`` changes sign and interpolated linearly there.
    Returns a fraction in [0, 1].
    """
    fpr = np.asarray(fpr, dtype=np.float64)
    fnr = 1.0 - np.asarray(tpr, dtype=np.float64)
    gap = fnr - fpr  # starts at 1 (fpr=0, fnr=1), ends at -1 (fpr=1, fnr=0)
    i = int(np.flatnonzero(gap <= 0)[0])
    if gap[i] == 0 or i == 0:
        return float(fpr[i])
    w = gap[i - 1] / (gap[i - 1] - gap[i])
    return float(fpr[i - 1] + w * (fpr[i] - fpr[i - 1]))


def tar_at_far(
    scores: np.ndarray, labels: np.ndarray, fars, n_negatives: int | None = None
) -> dict[float, float]:
    """TAR at each target FAR, read at the nearest existing ROC point (formats-and-protocols.md §4.6).

    The ROC is scikit-learn's default curve; for each target the point minimising ``|fpr - far|``
    is taken, ties going to the highest TPR (insightface reverses the arrays and takes the first
    arg-min). No interpolation: the point may lie above or below the target.

    Args:
        scores: (N,) similarity scores; labels: (N,) 1 = genuine, 0 = impostor.
        fars: iterable of target false-accept rates in (0, 1].
        n_negatives: see :func:`roc_curve`.

    Returns:
        ``{far: tar}``, TAR as a fraction in [0, 1].
    """
    fpr, tpr, _ = roc_curve(scores, labels, n_negatives=n_negatives)
    return read_tar(fpr, tpr, fars)


def read_points(fpr: np.ndarray, fars) -> dict[float, int]:
    """Index into ``fpr`` of the nearest ROC point to each target FAR (highest TPR among equally
    near points, i.e. the last of them in ROC order, as insightface's reversed arg-min).

    The point's threshold (``roc_curve``'s third array at that index) is the decision rule the
    read-out stands for: a pair is accepted iff its score is >= that threshold.
    """
    rev_fpr = np.asarray(fpr)[::-1]
    out: dict[float, int] = {}
    for far in fars:
        far = float(far)
        if not 0.0 < far <= 1.0:
            raise InputError(f"target FAR {far!r} is outside (0, 1]")
        out[far] = int(rev_fpr.size - 1 - np.argmin(np.abs(rev_fpr - far)))
    return out


def read_tar(fpr: np.ndarray, tpr: np.ndarray, fars) -> dict[float, float]:
    """Nearest-point TAR read-out on a given ROC (highest TPR among equally near points)."""
    return {far: float(tpr[idx]) for far, idx in read_points(fpr, fars).items()}
