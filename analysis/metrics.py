"""Which metric leads each benchmark, which direction is better, and how methods are named.

Metric names, directions and headline rules are the evaluator's: each benchmark kind declares
them in its module (:mod:`interface.evaluation.kinds`; names built by
:mod:`interface.evaluation.kinds.names`). Verification reports ``accuracy`` (fraction, 10-fold
mean), IJB-style sets ``tar_at_far_1e-04`` etc., identification ``rank1`` etc.

Headline per benchmark: the rule of the benchmark's kind (the tidy table's ``kind`` column) over
its *resolved* metrics; verification ``accuracy``, identification ``rank1``, IJB-style sets the TAR
at the lowest resolved false-accept rate (the evaluator marks a TAR read at FAR f from n impostor
pairs resolved when f * n >= 100; below that the number rests on a handful of impostor pairs and
is kept in the tidy table but never chosen, tabulated or compared).
"""

from __future__ import annotations

import pandas as pd

from interface.evaluation.kinds import registry
from interface.evaluation.kinds.names import far_of

__all__ = ["far_of", "higher_is_better", "method_label", "primary_metrics", "resolved_mask"]

INTERFACE_LOSS = "interface"


def higher_is_better(metric: str) -> bool | None:
    """True / False as the kind declaring ``metric`` says, None for descriptive metrics (never
    ranked). Metrics no kind declares (the collector's ``fold_accuracy``, a published table's)
    count as higher is better."""
    for kind in registry().values():
        declared = kind.metric(metric)
        if declared is not None:
            return declared.higher_is_better
    return True


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
        kinds = registry()
        named = sorted({str(k) for k in rows["kind"]}) if "kind" in rows.columns else []
        # the kinds of the rows first; then every kind's rule, then auc, for rows of no known kind
        rules = [kinds[k].headline for k in named if k in kinds] + [k.headline for k in kinds.values()]
        chosen = next((m for rule in rules if (m := rule(metrics))), None)
        out[str(benchmark)] = chosen or ("auc" if "auc" in metrics else sorted(metrics)[0])
    return out


def method_label(loss: str, setting: str) -> str:
    """Row label of a method in tables: ``loss (setting)``, or ``loss`` when the setting is empty."""
    return f"{loss} ({setting})" if setting else loss
