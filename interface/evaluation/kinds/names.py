"""Metric names built in one place: the scorers write them and the analysis parses them with these
functions (never an f-string on one side and a literal on the other).
"""

from __future__ import annotations

import math

TAR_PREFIX = "tar_at_far_"
TPIR_PREFIX = "tpir_at_fpir_"
RANK_PREFIX = "rank"


def tar_at_far_name(far: float) -> str:
    """``tar_at_far_1e-04`` for far = 1e-4 (one significant digit, as insightface tabulates)."""
    return f"{TAR_PREFIX}{far:.0e}"


def far_of(metric: str) -> float | None:
    """The false-accept rate of a :func:`tar_at_far_name` metric (``tar_at_far_1e-04`` -> 1e-4), else None."""
    return _rate_of(metric, TAR_PREFIX)


def tpir_at_fpir_name(fpir: float) -> str:
    """``tpir_at_fpir_1e-01`` for fpir = 0.1: open-set identification rate at a false-positive rate."""
    return f"{TPIR_PREFIX}{fpir:.0e}"


def fpir_of(metric: str) -> float | None:
    """The false-positive identification rate of a :func:`tpir_at_fpir_name` metric, else None."""
    return _rate_of(metric, TPIR_PREFIX)


def _rate_of(metric: str, prefix: str) -> float | None:
    if not metric.startswith(prefix):
        return None
    try:
        rate = float(metric[len(prefix) :])
    except ValueError:
        return None
    return rate if math.isfinite(rate) and rate > 0 else None


def rank_name(rank: int) -> str:
    """``rank1`` for the CMC at rank 1 (fraction of probes whose match is in the top ``rank``)."""
    return f"{RANK_PREFIX}{rank}"


def rank1_at_distractors_name(n_distractors: int) -> str:
    """``rank1@1000``: rank-1 identification against ``n_distractors`` distractors (the ladder)."""
    return f"{rank_name(1)}@{n_distractors}"
