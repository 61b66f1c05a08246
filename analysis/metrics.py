"""Which metric leads each benchmark, which direction is better, and how methods are named.

Metric names are the evaluator's (interface.evaluation): verification reports ``accuracy`` (fraction,
10-fold mean), IJB-style sets ``tar_at_far_1e-04`` etc., identification ``rank1`` etc.

Headline per benchmark: verification ``accuracy``; identification ``rank1``; IJB-style sets the
lowest false-accept rate among the protocol's ``tar_at_far_<f>`` read-outs that is *resolved*
(the evaluator marks a TAR read at FAR f from n impostor pairs resolved when f * n >= 100; below
that the number rests on a handful of impostor pairs and is kept in the tidy table but never
chosen, tabulated or compared).
"""

from __future__ import annotations

import json
import math

import pandas as pd

# The metric a paper table shows for each evaluator kind (the InterFace paper and its baselines
# report verification accuracy, IJB TAR at a low FAR and rank-1 identification). LOWEST_TAR stands
# for "the lowest resolved FAR's TAR" (see the module docstring).
LOWEST_TAR = "lowest resolved tar_at_far"
PRIMARY_METRIC = {"verification": "accuracy", "ijb": LOWEST_TAR, "identification": "rank1"}
FALLBACK_PRIMARY = ("accuracy", LOWEST_TAR, "rank1", "auc")
LOWER_IS_BETTER = frozenset({"eer"})
# Descriptive numbers with no "better" direction: not ranked and not compared.
NOT_RANKED = frozenset({"accuracy_std", "xnorm", "threshold"})
INTERFACE_LOSS = "interface"
TAR_PREFIX = "tar_at_far_"


def higher_is_better(metric: str) -> bool | None:
    """True / False for quality metrics, None for descriptive ones (never ranked)."""
    if metric in NOT_RANKED:
        return None
    return metric not in LOWER_IS_BETTER


def evaluator_kind(evaluator: str) -> str:
    """The ``kind`` stored in a tidy row's evaluator string ("" when unreadable)."""
    try:
        return str(json.loads(evaluator).get("kind") or "")
    except (ValueError, AttributeError):
        return ""


def far_of(metric: str) -> float | None:
    """The false-accept rate of a ``tar_at_far_<f>`` metric name (``tar_at_far_1e-04`` -> 1e-4), else None."""
    if not metric.startswith(TAR_PREFIX):
        return None
    try:
        far = float(metric[len(TAR_PREFIX) :])
    except ValueError:
        return None
    return far if math.isfinite(far) and far > 0 else None


def resolved_mask(table: pd.DataFrame) -> pd.Series:
    """True for rows whose read-out is resolved (every row when the table has no ``resolved`` column)."""
    if "resolved" not in table.columns:
        return pd.Series(True, index=table.index)
    return (
        table["resolved"].map(lambda v: v is not False and str(v).lower() not in ("false", "0")).astype(bool)
    )


def primary_metrics(table: pd.DataFrame) -> dict[str, str]:
    """Map every benchmark of the tidy ``table`` to its headline metric (resolved read-outs only).

    A metric counts as unresolved for a benchmark when any of its rows there has
    ``resolved == false``; a benchmark whose metrics are all unresolved has no headline.
    """
    out: dict[str, str] = {}
    if not {"metric", "benchmark"} <= set(table.columns):
        return out
    ok = table[(table["metric"] != "") & (table["benchmark"] != "")]
    resolved = resolved_mask(ok)
    for benchmark, rows in ok.groupby("benchmark", sort=True):
        unresolved = set(rows.loc[~resolved[rows.index], "metric"])
        metrics = set(rows["metric"]) - unresolved
        if not metrics:
            continue
        evaluators = rows["evaluator"] if "evaluator" in rows.columns else pd.Series([], dtype=str)
        kinds = sorted({evaluator_kind(e) for e in evaluators})
        wanted = [PRIMARY_METRIC[k] for k in kinds if k in PRIMARY_METRIC] + list(FALLBACK_PRIMARY)
        chosen = next((m for w in wanted if (m := _pick(w, metrics))), sorted(metrics)[0])
        out[str(benchmark)] = chosen
    return out


def _pick(wanted: str, metrics: set[str]) -> str | None:
    """``wanted`` if it is among ``metrics``; for :data:`LOWEST_TAR` the TAR at the lowest FAR present."""
    if wanted != LOWEST_TAR:
        return wanted if wanted in metrics else None
    tars = {m: f for m in metrics if (f := far_of(m)) is not None}
    return min(tars, key=lambda m: tars[m]) if tars else None


def method_label(loss: str, setting: str) -> str:
    """Row label of a method in tables: ``loss (setting)``, or ``loss`` when the setting is empty."""
    return f"{loss} ({setting})" if setting else loss
