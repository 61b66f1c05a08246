"""Which metric leads each benchmark, which direction is better, and how methods are named.

Metric names follow CONTRACTS.md ("Evaluation"): verification reports ``accuracy`` (fraction,
10-fold mean), IJB-style sets ``tar_at_far_1e-04`` etc., identification ``rank1`` etc.
"""

from __future__ import annotations

import json

import pandas as pd

# The metric a paper table shows for each evaluator kind (the InterFace paper and its baselines
# report verification accuracy, IJB TAR at FAR 1e-4 and rank-1 identification).
PRIMARY_METRIC = {"verification": "accuracy", "ijb": "tar_at_far_1e-04", "identification": "rank1"}
FALLBACK_PRIMARY = ("accuracy", "tar_at_far_1e-04", "rank1", "auc")
LOWER_IS_BETTER = frozenset({"eer"})
# Descriptive numbers with no "better" direction: not ranked and not compared.
NOT_RANKED = frozenset({"accuracy_std", "xnorm", "threshold"})
INTERFACE_LOSS = "interface"


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


def primary_metrics(table: pd.DataFrame) -> dict[str, str]:
    """Map every benchmark of the tidy ``table`` to its headline metric."""
    out: dict[str, str] = {}
    ok = table[(table["metric"] != "") & (table["benchmark"] != "")]
    for benchmark, rows in ok.groupby("benchmark", sort=True):
        metrics = set(rows["metric"])
        kinds = {evaluator_kind(e) for e in rows["evaluator"]}
        chosen = next((PRIMARY_METRIC[k] for k in sorted(kinds) if PRIMARY_METRIC.get(k) in metrics), None)
        if chosen is None:
            chosen = next((m for m in FALLBACK_PRIMARY if m in metrics), sorted(metrics)[0])
        out[str(benchmark)] = chosen
    return out


def method_label(loss: str, setting: str) -> str:
    """Row label of a method in tables: ``loss (setting)``, or ``loss`` when the setting is empty."""
    return f"{loss} ({setting})" if setting else loss
