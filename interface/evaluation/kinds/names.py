"""Metric names built in one place: the scorers write them and the analysis parses them with these
functions (never an f-string on one side and a literal on the other).
"""

from __future__ import annotations

import math

TAR_PREFIX = "tar_at_far_"
RANK_PREFIX = "rank"


def tar_at_far_name(far: float) -> str:
    """``tar_at_far_1e-04`` for far = 1e-4 (one significant digit, as insightface tabulates)."""
    return f"{TAR_PREFIX}{far:.0e}"


def far_of(metric: str) -> float | None:
    """The false-accept rate of a :func:`tar_at_far_name` metric (``tar_at_far_1e-04`` -> 1e-4), else None."""
    if not metric.startswith(TAR_PREFIX):
        return None
    try:
        far = float(metric[len(TAR_PREFIX) :])
    except ValueError:
        return None
    return far if math.isfinite(far) and far > 0 else None


def rank_name(rank: int) -> str:
    """``rank1`` for the CMC at rank 1 (fraction of probes whose match is in the top ``rank``)."""
    return f"{RANK_PREFIX}{rank}"


def rank1_at_distractors_name(n_distractors: int) -> str:
    """``rank1@1000``: rank-1 identification against ``n_distractors`` distractors (the ladder)."""
    return f"{rank_name(1)}@{n_distractors}"
