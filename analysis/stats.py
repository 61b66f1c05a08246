"""Statistics over seeds and folds: summaries, paired comparisons, "wins on k of n benchmarks".

- Summary: mean, sample standard deviation (ddof 1) and the two-sided 95 % Student-t interval
  ``mean +- t_{0.975, n-1} * sd / sqrt(n)`` over seeds, per method x benchmark x metric.
- Paired comparison of each InterFace setting (Sang et al. 2022, arXiv 2210.02018) against each
  baseline on each benchmark's headline metric: differences are paired over seeds, and over
  (seed, fold) when both runs report verification fold accuracies. Test: two-sided paired t-test
  (``scipy.stats.ttest_rel``); effect size: Cohen's d_z = mean(diff) / sd(diff). Folds of one seed
  share a threshold search, so seed x fold pairs are not fully independent: the p-value is then
  optimistic, which the report states.
- A benchmark counts as a win (loss) only when the difference favours InterFace (the baseline)
  AND p < alpha; everything else is a tie or not testable.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as sps

from analysis.collect import FOLD_METRIC
from analysis.metrics import INTERFACE_LOSS, higher_is_better, method_label, primary_metrics

GROUP = ["dataset", "backbone"]
METHOD = ["loss", "setting"]
ALPHA = 0.05
ZERO_SD = 1e-12


def valid_rows(table: pd.DataFrame) -> pd.DataFrame:
    """Rows that carry a finite score value of a finished run."""
    return table[
        (table["status"] == "ok") & np.isfinite(table["value"].astype(float)) & (table["metric"] != "")
    ]


def t_interval(values: np.ndarray, level: float = 0.95) -> tuple[float, float, float, float]:
    """Return (mean, sd, low, high) of a Student-t interval; sd and bounds are NaN when n < 2."""
    values = np.asarray(values, dtype=np.float64)
    n = values.size
    mean = float(values.mean()) if n else math.nan
    if n < 2:
        return mean, math.nan, math.nan, math.nan
    sd = float(values.std(ddof=1))
    half = float(sps.t.ppf(0.5 + level / 2, n - 1)) * sd / math.sqrt(n)
    return mean, sd, mean - half, mean + half


def summarize(table: pd.DataFrame) -> pd.DataFrame:
    """Per dataset x backbone x method x benchmark x metric: n_seeds, mean, std, ci_low, ci_high."""
    rows = valid_rows(table)
    rows = rows[rows["fold"].isna()]
    out = []
    keys = [*GROUP, *METHOD, "benchmark", "metric"]
    for key, grp in rows.groupby(keys, sort=True):
        mean, sd, low, high = t_interval(grp["value"].to_numpy())
        out.append(
            {
                **dict(zip(keys, key)),
                "n_seeds": len(grp),
                "mean": mean,
                "std": sd,
                "ci_low": low,
                "ci_high": high,
            }
        )
    return pd.DataFrame(out, columns=[*keys, "n_seeds", "mean", "std", "ci_low", "ci_high"])


def paired_test(diff: np.ndarray) -> dict[str, float]:
    """Paired t-test and Cohen's d_z on differences ``diff`` (method minus baseline).

    Fewer than two pairs, or differences that are all equal (zero spread), leave t, p and d_z NaN
    (not testable); all-zero differences give t = 0, p = 1, d_z = 0.
    """
    diff = np.asarray(diff, dtype=np.float64)
    n = diff.size
    mean, sd, low, high = t_interval(diff)
    result = {
        "n_pairs": n,
        "mean_diff": mean,
        "diff_ci_low": low,
        "diff_ci_high": high,
        "t": math.nan,
        "p_value": math.nan,
        "effect_size_dz": math.nan,
    }
    # sd below float64 rounding of the differences: identical pairs, where a t-test is undefined.
    if n < 2 or not sd > ZERO_SD * max(1.0, float(np.abs(diff).max())):
        if n >= 2 and np.all(diff == 0):
            result.update(t=0.0, p_value=1.0, effect_size_dz=0.0)
        return result
    test = sps.ttest_1samp(diff, 0.0)
    result.update(t=float(test.statistic), p_value=float(test.pvalue), effect_size_dz=mean / sd)
    return result


def _pairs(
    rows: pd.DataFrame, method: tuple[str, str], baseline: tuple[str, str], metric: str
) -> tuple[np.ndarray, np.ndarray, str]:
    """Aligned values of method and baseline, paired over (seed, fold) if both have folds, else seeds."""

    def pick(m: tuple[str, str], metric_name: str) -> pd.DataFrame:
        sel = rows[(rows["loss"] == m[0]) & (rows["setting"] == m[1]) & (rows["metric"] == metric_name)]
        return sel

    if metric == "accuracy":
        a, b = pick(method, FOLD_METRIC), pick(baseline, FOLD_METRIC)
        if len(a) and len(b):
            j = a.merge(b, on=["seed", "fold"], suffixes=("_a", "_b"))
            if len(j) >= 2:
                return j["value_a"].to_numpy(), j["value_b"].to_numpy(), "seed x fold"
    a = pick(method, metric)
    b = pick(baseline, metric)
    a, b = a[a["fold"].isna()], b[b["fold"].isna()]
    j = a.merge(b, on="seed", suffixes=("_a", "_b"))
    return j["value_a"].to_numpy(), j["value_b"].to_numpy(), "seed"


def compare(table: pd.DataFrame, target_loss: str = INTERFACE_LOSS, alpha: float = ALPHA) -> pd.DataFrame:
    """Paired comparison of every ``target_loss`` setting against every other method, per benchmark.

    Returns one row per dataset x backbone x benchmark x (method, baseline) with the headline metric,
    pairing, n_pairs, mean_diff (method - baseline, metric units), its 95 % interval, t, p_value,
    effect_size_dz and ``verdict`` in {"win", "loss", "tie", "n/a"} (win/loss need p < alpha).
    """
    rows = valid_rows(table)
    heads = primary_metrics(rows) if len(rows) else {}
    out: list[dict[str, Any]] = []
    for gkey, grp in rows.groupby([*GROUP, "benchmark"], sort=True):
        metric = heads.get(gkey[2])
        better = higher_is_better(metric) if metric else None
        if better is None:
            continue
        methods = sorted({(r.loss, r.setting) for r in grp[["loss", "setting"]].itertuples()})
        for m in (x for x in methods if x[0] == target_loss):
            for b in (x for x in methods if x[0] != target_loss):
                va, vb, pairing = _pairs(grp, m, b, metric)
                res = paired_test(va - vb)
                good = res["mean_diff"] if better else -res["mean_diff"]
                if not np.isfinite(res["p_value"]):
                    verdict = "n/a"
                elif res["p_value"] < alpha and good > 0:
                    verdict = "win"
                elif res["p_value"] < alpha and good < 0:
                    verdict = "loss"
                else:
                    verdict = "tie"
                out.append(
                    {
                        **dict(zip([*GROUP, "benchmark"], gkey)),
                        "metric": metric,
                        "method": method_label(*m),
                        "baseline": method_label(*b),
                        "pairing": pairing,
                        **res,
                        "verdict": verdict,
                    }
                )
    cols = [
        *GROUP,
        "benchmark",
        "metric",
        "method",
        "baseline",
        "pairing",
        "n_pairs",
        "mean_diff",
        "diff_ci_low",
        "diff_ci_high",
        "t",
        "p_value",
        "effect_size_dz",
        "verdict",
    ]
    return pd.DataFrame(out, columns=cols)


ALL_BASELINES = "every baseline"


def wins(comparisons: pd.DataFrame) -> pd.DataFrame:
    """Per dataset x backbone x method x baseline: wins, losses, ties, untestable and n benchmarks.

    One more row per InterFace setting, baseline ``"every baseline"``: a benchmark counts as a win
    there only if the setting wins against every baseline on it (the paper's "state of the art on
    k of n benchmarks" claim, made checkable), as a loss if it loses to at least one.
    """
    cols = [*GROUP, "method", "baseline", "wins", "losses", "ties", "untestable", "n_benchmarks"]
    out = []
    for key, grp in comparisons.groupby([*GROUP, "method", "baseline"], sort=True):
        out.append(_counts(dict(zip([*GROUP, "method", "baseline"], key)), grp["verdict"]))
    for key, grp in comparisons.groupby([*GROUP, "method"], sort=True):
        overall = grp.groupby("benchmark")["verdict"].agg(_overall_verdict)
        out.append(_counts({**dict(zip([*GROUP, "method"], key)), "baseline": ALL_BASELINES}, overall))
    return pd.DataFrame(out, columns=cols)


def _overall_verdict(verdicts: pd.Series) -> str:
    values = set(verdicts)
    if values == {"win"}:
        return "win"
    if "loss" in values:
        return "loss"
    return "n/a" if "n/a" in values else "tie"


def _counts(key: dict[str, Any], verdicts: pd.Series) -> dict[str, Any]:
    counts = verdicts.value_counts()
    return {
        **key,
        "wins": int(counts.get("win", 0)),
        "losses": int(counts.get("loss", 0)),
        "ties": int(counts.get("tie", 0)),
        "untestable": int(counts.get("n/a", 0)),
        "n_benchmarks": len(verdicts),
    }
