"""Statistics over training seeds: summaries, paired comparisons with multiplicity control, ranks.

Unit of replication: the training seed. Runs of two methods with the same seed share the data
order and the initial draw, so they are paired by seed. Verification folds are not replicates
(they are ten slices of one trained model's evaluation) and do not enter any test.

- Summary: mean, sample standard deviation (ddof 1) and the two-sided 95 % Student-t interval
  ``mean +- t_{0.975, n-1} * sd / sqrt(n)`` over seeds, per method x benchmark x metric, on
  resolved read-outs only (:mod:`analysis.metrics`).
- Paired comparison of each InterFace setting (Sang et al. 2022, arXiv 2210.02018) against each
  baseline on a benchmark's headline metric. With d_1..d_n the per-seed differences (method minus
  baseline, metric units), ``s^2`` their sample variance and ``v_item`` the evaluation-sample
  variance below::

      se = sqrt(s^2 / n + v_item),   t = mean(d) / se,   df = n - 1,
      p  = 2 * P(T_{n-1} > |t|),     95 % interval: mean(d) +- t_{0.975, n-1} * se.

  ``v_item`` is the evaluation-sample (benchmark items: pairs, genuine template pairs, probes)
  variance of the seed-averaged difference. Write w[s, i] = x[s, i] - y[s, i] for the two
  methods' 0/1 outcomes on item i with seed s (the same N items for both methods and all seeds),
  and model w[s, i] = delta + a_s + b_i + g_si (seed, item and seed x item parts, variances
  sa^2, sb^2, sg^2). The seed-averaged difference mean(w) then has variance
  ``sa^2/n + sb^2/N + sg^2/(n N)``. The per-seed differences already carry ``sa^2 + sg^2/N``
  (s^2/n estimates ``sa^2/n + sg^2/(nN)``), so the item term is the rest, ``sb^2/N``, estimated
  from the two-way seeds x items mean squares::

      MS_item = n * var_i(mean_s w[s, i])          (E = n sb^2 + sg^2)
      MS_res  = sum (w - row mean - column mean + grand mean)^2 / ((n-1)(N-1))   (E = sg^2)
      v_item  = max(0, MS_item - MS_res) / (n N).

  This is the paired bootstrap over items (the same item resample for both methods and every
  seed, seeds held fixed) in closed form: that bootstrap's variance, the B -> infinity limit of
  its Monte-Carlo estimate, is ``var_i(mean_s w[s, i]) / N`` = MS_item (N-1) / (n N^2), which
  also contains the seed x item part ``sg^2 / (n N)`` that s^2/n counts already; MS_res removes
  that double count (otherwise the test is conservative by up to a factor 2 in variance under
  identical methods). No resampling, hence no Monte-Carlo error and no random seed. ``v_item`` is
  used only when both methods have items of equal length for every paired seed; otherwise
  ``v_item = 0``, the interval covers seed variation only and the row's ``interval`` says so.
  With 3-5 seeds a bootstrap over seeds would be badly anti-conservative, hence the t reference;
  where ``v_item`` dominates the standard error, the n - 1 degrees of freedom make the test
  conservative (an item part estimated from thousands of items is nearly exact), which the null
  simulations of the test suite show.
  Fewer than two paired seeds: no test (verdict "n/a", note "one seed: no statistics").
- Multiplicity. A *family* is one InterFace setting against every baseline on one benchmark
  (dataset x backbone x benchmark x method). Holm's step-down correction within each family gives
  ``p_holm`` and ``verdict``; Benjamini-Hochberg over the whole comparison table gives ``p_bh``
  and ``verdict_bh``. A verdict is "win" ("loss") when the corrected p < 0.05 and the difference
  favours the InterFace setting (the baseline), "tie" otherwise, "n/a" when untestable. "Wins on
  k of n" (:func:`wins`) counts ``verdict``, i.e. after correction.
- Across benchmarks (:func:`friedman`, :func:`average_ranks`): per dataset x backbone the methods
  are ranked within each benchmark (block) on their seed-mean headline metric, 1 = best,
  direction-aware, ties averaged; the Friedman statistic with tie correction is
  ``chi2 = (12 / (N k (k+1)) * sum_j R_j^2 - 3 N (k+1)) / (1 - sum(t^3 - t) / (N (k^3 - k)))``
  (R_j rank sums, N benchmarks, k methods), referred to chi^2 with k - 1 df. The Nemenyi critical
  difference of average ranks (Demsar, JMLR 7, 2006) is ``CD = q_alpha * sqrt(k (k+1) / (6 N))``,
  ``q_alpha`` the studentized range quantile (k groups, infinite df) divided by sqrt(2). Only
  methods scored on every benchmark kept (a complete block design).

Every function returns a frame, never raises on a table with missing columns, no finished rows
or a single seed: the frame is then empty or carries a ``note`` saying what cannot be computed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
from scipy import special
from scipy import stats as sps

from analysis.collect import items_key
from analysis.metrics import INTERFACE_LOSS, higher_is_better, method_label, primary_metrics, resolved_mask

GROUP = ["dataset", "backbone"]
METHOD = ["loss", "setting"]
ALPHA = 0.05
ZERO_SD = 1e-12
ONE_SEED = "one seed: no statistics"
# The columns a tidy table needs for any statistic (the rest are optional).
NEEDED = ("dataset", "backbone", "loss", "setting", "seed", "benchmark", "metric", "value", "status")
COMPARE_COLUMNS = [
    *GROUP,
    "benchmark",
    "metric",
    "family",
    "method",
    "baseline",
    "n_seeds",
    "mean_diff",
    "ci_low",
    "ci_high",
    "p_value",
    "p_holm",
    "p_bh",
    "verdict",
    "verdict_bh",
    "interval",
    "note",
]
WORD_COLUMNS = frozenset(
    [
        *GROUP,
        "benchmark",
        "metric",
        "family",
        "method",
        "baseline",
        "variant",
        "setting",
        "interval",
        "verdict",
        "verdict_bh",
    ]
)
SEEDS_ONLY = "seeds only"
SEEDS_AND_ITEMS = "seeds + items"


def note_frame(columns: list[str], note: str) -> pd.DataFrame:
    """A one-row frame of ``columns`` that only says ``note``: verdict columns "n/a", other text "",
    numbers NaN (so nothing prints "nan" where a word belongs)."""
    row: dict[str, Any] = {c: "" for c in columns if c in WORD_COLUMNS}
    row.update({c: "n/a" for c in columns if c.startswith("verdict")})
    return pd.DataFrame([{**row, "note": note}], columns=columns)


def missing_columns(table: pd.DataFrame, needed: tuple[str, ...] = NEEDED) -> str:
    """A note naming the columns of ``needed`` that ``table`` lacks ("" when none is missing)."""
    lacking = [c for c in needed if c not in table.columns]
    return f"table lacks column(s) {', '.join(lacking)}" if lacking else ""


def valid_rows(table: pd.DataFrame) -> pd.DataFrame:
    """Rows that carry a finite score value of a finished run (resolved or not)."""
    if missing_columns(table, ("status", "value", "metric")):
        return table.iloc[0:0]
    return table[
        (table["status"] == "ok") & np.isfinite(table["value"].astype(float)) & (table["metric"] != "")
    ]


def seed_rows(table: pd.DataFrame) -> pd.DataFrame:
    """Valid, resolved, seed-level rows (no fold rows): the rows every statistic uses."""
    rows = valid_rows(table)
    if "fold" in rows.columns:
        rows = rows[rows["fold"].isna()]
    return rows[resolved_mask(rows)]


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
    """Per dataset x backbone x method x benchmark x metric: n_seeds, mean, std, ci_low, ci_high.

    Resolved seed-level rows only; a one-seed cell has std and interval NaN (shown as one value).
    """
    keys = [*GROUP, *METHOD, "benchmark", "metric"]
    cols = [*keys, "n_seeds", "mean", "std", "ci_low", "ci_high"]
    if missing_columns(table):
        return pd.DataFrame(columns=cols)
    out = []
    for key, grp in seed_rows(table).groupby(keys, sort=True):
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
    return pd.DataFrame(out, columns=cols)


def item_variance(method_items: list[np.ndarray], baseline_items: list[np.ndarray]) -> float:
    """Evaluation-sample variance ``v_item`` of the seed-averaged difference (module docstring).

    ``method_items[s]`` and ``baseline_items[s]`` are seed s's 0/1 outcomes over the same N items;
    w[s, i] is their difference. Returns ``max(0, MS_item - MS_res) / (n N)`` from the two-way
    seeds x items table of w (0 with fewer than 2 seeds or 2 items).
    """
    w = np.stack(method_items).astype(np.float64) - np.stack(baseline_items).astype(np.float64)
    n, big_n = w.shape
    if n < 2 or big_n < 2:
        return 0.0
    item_means = w.mean(axis=0)
    ms_item = n * float(item_means.var(ddof=1))
    resid = w - w.mean(axis=1, keepdims=True) - item_means + w.mean()
    ms_res = float(np.sum(resid**2)) / ((n - 1) * (big_n - 1))
    return max(0.0, ms_item - ms_res) / (n * big_n)


def paired_test(diff: np.ndarray, v_item: float = 0.0) -> dict[str, Any]:
    """Test of ``diff`` (per-seed differences, method minus baseline) with item variance ``v_item``.

    Returns n_seeds, mean_diff, ci_low, ci_high, t, p_value and a ``note``. Fewer than two seeds,
    or a zero standard error with a non-zero mean (identical differences and no item variance),
    leave t, p and the interval NaN (not testable); all-zero differences give t = 0, p = 1.
    """
    diff = np.asarray(diff, dtype=np.float64)
    n = diff.size
    mean = float(diff.mean()) if n else math.nan
    result: dict[str, Any] = {
        "n_seeds": n,
        "mean_diff": mean,
        "ci_low": math.nan,
        "ci_high": math.nan,
        "t": math.nan,
        "p_value": math.nan,
        "note": "",
    }
    if n < 2:
        result["note"] = ONE_SEED if n == 1 else "no paired seeds"
        return result
    se = math.sqrt(float(diff.var(ddof=1)) / n + v_item)
    # se below float64 rounding of the differences: identical pairs, where a t-test is undefined.
    if not se > ZERO_SD * max(1.0, float(np.abs(diff).max())):
        if np.all(diff == 0):
            result.update(t=0.0, p_value=1.0, ci_low=0.0, ci_high=0.0)
        else:
            result["note"] = "identical differences on every seed: no spread to test against"
        return result
    t = mean / se
    # scipy.special's Student-t cdf and its inverse: the same numbers as scipy.stats.t, without the
    # distribution-object overhead (compare runs thousands of tests in the null simulations).
    half = float(special.stdtrit(n - 1, 1 - ALPHA / 2)) * se
    p = float(2 * special.stdtr(n - 1, -abs(t)))
    result.update(t=t, p_value=p, ci_low=mean - half, ci_high=mean + half)
    return result


def _adjust_finite(p: np.ndarray, step: Callable[[np.ndarray, int], np.ndarray]) -> np.ndarray:
    """Apply a multiple-testing ``step`` to the finite entries of ``p``; NaN entries stay NaN.

    ``step(sorted_p, m)`` gets the m finite p-values in ascending (stable) order and returns their
    adjusted values in that order; the result is capped at 1 and put back in the input's order.
    """
    p = np.asarray(p, dtype=np.float64)
    out = np.full(p.shape, np.nan)
    idx = np.flatnonzero(np.isfinite(p))
    m = idx.size
    if m == 0:
        return out
    order = idx[np.argsort(p[idx], kind="stable")]
    out[order] = np.minimum(step(p[order], m), 1.0)
    return out


def holm(p: np.ndarray) -> np.ndarray:
    """Holm's step-down adjusted p-values (NaN entries stay NaN and do not count as tests)."""
    return _adjust_finite(p, lambda s, m: np.maximum.accumulate((m - np.arange(m)) * s))


def benjamini_hochberg(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg step-up adjusted p-values (NaN entries stay NaN and do not count)."""
    return _adjust_finite(p, lambda s, m: np.minimum.accumulate((s * m / np.arange(1, m + 1))[::-1])[::-1])


def verdict(p: float, good: float, alpha: float = ALPHA) -> str:
    """Verdict "win"/"loss" when ``p`` < alpha and ``good`` (difference in the better direction) > 0 / < 0."""
    if not np.isfinite(p):
        return "n/a"
    if p < alpha and good > 0:
        return "win"
    if p < alpha and good < 0:
        return "loss"
    return "tie"


def _method_seeds(rows: pd.DataFrame) -> dict[tuple[str, str], dict[int, tuple[float, str]]]:
    """(loss, setting) -> {seed: (value, run_id)}; a repeated seed keeps its first row."""
    out: dict[tuple[str, str], dict[int, tuple[float, str]]] = {}
    run_ids = rows["run_id"] if "run_id" in rows.columns else pd.Series("", index=rows.index)
    for loss, setting, seed, value, rid in zip(
        rows["loss"], rows["setting"], rows["seed"], rows["value"], run_ids
    ):
        if pd.isna(seed):
            continue
        out.setdefault((loss, setting), {}).setdefault(int(seed), (float(value), str(rid)))
    return out


def _items_of(
    items: Mapping[str, np.ndarray] | None, runs: list[str], benchmark: str, metric: str
) -> list[np.ndarray] | None:
    if not items:
        return None
    arrays = [items.get(items_key(r, benchmark, metric)) for r in runs]
    return None if any(a is None for a in arrays) else [np.asarray(a) for a in arrays]


def compare(
    table: pd.DataFrame,
    items: Mapping[str, np.ndarray] | None = None,
    target_loss: str = INTERFACE_LOSS,
    alpha: float = ALPHA,
) -> pd.DataFrame:
    """Paired comparison of every ``target_loss`` setting against every other method, per benchmark.

    ``items``: per-item outcomes keyed by :func:`analysis.collect.items_key` (``items.npz``);
    without them the intervals cover seeds only. Returns one row per dataset x backbone x benchmark
    x (method, baseline) on the benchmark's headline metric with the columns of
    :data:`COMPARE_COLUMNS`: mean_diff (method - baseline, metric units) and its 95 % interval,
    p_value, p_holm (Holm within ``family``), p_bh (Benjamini-Hochberg over the table), verdict
    and verdict_bh, ``interval`` ("seeds + items" or "seeds only") and ``note``.
    """
    lacking = missing_columns(table)
    if lacking:
        return note_frame(COMPARE_COLUMNS, lacking)
    rows = seed_rows(table)
    heads = primary_metrics(rows)
    out: list[dict[str, Any]] = []
    for gkey, grp in rows.groupby([*GROUP, "benchmark"], sort=True):
        metric = heads.get(gkey[2])
        better = higher_is_better(metric) if metric else None
        if better is None:
            continue
        seeds = _method_seeds(grp[grp["metric"] == metric])
        methods = sorted(seeds)
        for m in (x for x in methods if x[0] == target_loss):
            family = "/".join([*map(str, gkey), method_label(*m)])
            for b in (x for x in methods if x[0] != target_loss):
                common = sorted(set(seeds[m]) & set(seeds[b]))
                diff = np.array([seeds[m][s][0] - seeds[b][s][0] for s in common])
                xm = _items_of(items, [seeds[m][s][1] for s in common], gkey[2], metric)
                xb = _items_of(items, [seeds[b][s][1] for s in common], gkey[2], metric)
                usable = xm is not None and xb is not None and len({a.size for a in xm + xb}) == 1
                res = paired_test(diff, item_variance(xm, xb) if usable and common else 0.0)
                res.pop("t")
                out.append(
                    {
                        **dict(zip([*GROUP, "benchmark"], gkey)),
                        "metric": metric,
                        "family": family,
                        "method": method_label(*m),
                        "baseline": method_label(*b),
                        **res,
                        "interval": SEEDS_AND_ITEMS if usable else SEEDS_ONLY,
                        "_sign": 1.0 if better else -1.0,
                    }
                )
    frame = pd.DataFrame(out, columns=[*COMPARE_COLUMNS, "_sign"])
    if frame.empty:
        note = "no InterFace setting and baseline scored on the same benchmark"
        return note_frame(COMPARE_COLUMNS, note) if len(rows) else pd.DataFrame(columns=COMPARE_COLUMNS)
    frame["p_holm"] = frame.groupby("family", sort=False)["p_value"].transform(
        lambda p: holm(p.to_numpy(float))
    )
    frame["p_bh"] = benjamini_hochberg(frame["p_value"].to_numpy(dtype=float))
    good = frame["mean_diff"] * frame["_sign"]
    frame["verdict"] = [verdict(p, g, alpha) for p, g in zip(frame["p_holm"], good)]
    frame["verdict_bh"] = [verdict(p, g, alpha) for p, g in zip(frame["p_bh"], good)]
    return frame.drop(columns="_sign")


ALL_BASELINES = "every baseline"
WINS_COLUMNS = [*GROUP, "method", "baseline", "wins", "losses", "ties", "untestable", "n_benchmarks"]


def wins(comparisons: pd.DataFrame) -> pd.DataFrame:
    """Per dataset x backbone x method x baseline: wins, losses, ties, untestable and n benchmarks.

    Counted on ``verdict``, i.e. after Holm's correction. One more row per InterFace setting,
    baseline ``"every baseline"``: a benchmark counts as a win there only if the setting wins
    against every baseline on it (the paper's "state of the art on k of n benchmarks" claim, made
    checkable), as a loss if it loses to at least one.
    """
    lacking = missing_columns(comparisons, (*GROUP, "benchmark", "method", "baseline", "verdict"))
    if lacking:
        return note_frame([*WINS_COLUMNS, "note"], lacking)
    # a note-only frame (nothing compared) has empty method/baseline: no counts
    named = comparisons["method"].fillna("").astype(str).ne("") & comparisons["baseline"].fillna("").astype(
        str
    ).ne("")
    comparisons = comparisons[named]
    out = []
    for key, grp in comparisons.groupby([*GROUP, "method", "baseline"], sort=True):
        out.append(_counts(dict(zip([*GROUP, "method", "baseline"], key)), grp["verdict"]))
    for key, grp in comparisons.groupby([*GROUP, "method"], sort=True):
        overall = grp.groupby("benchmark")["verdict"].agg(_overall_verdict)
        out.append(_counts({**dict(zip([*GROUP, "method"], key)), "baseline": ALL_BASELINES}, overall))
    return pd.DataFrame(out, columns=WINS_COLUMNS)


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


def rank_blocks(table: pd.DataFrame) -> dict[tuple[str, str], tuple[pd.DataFrame, str]]:
    """Per dataset x backbone: (benchmarks x methods matrix of ranks, note of what was left out).

    Values are seed means of each benchmark's headline metric; rank 1 = best (direction-aware),
    ties share the average rank. Methods missing a benchmark are dropped (complete blocks only).
    """
    rows = seed_rows(table)
    heads = primary_metrics(rows)
    out: dict[tuple[str, str], tuple[pd.DataFrame, str]] = {}
    for gkey, grp in rows.groupby(GROUP, sort=True):
        grp = grp[[heads.get(b) == m for b, m in zip(grp["benchmark"], grp["metric"])]]
        grp = grp[[higher_is_better(m) is not None for m in grp["metric"]]]
        if grp.empty:
            continue
        means = grp.assign(method=[method_label(*m) for m in zip(grp["loss"], grp["setting"])]).pivot_table(
            index="benchmark", columns="method", values="value", aggfunc="mean"
        )
        complete = means.dropna(axis=1)
        dropped = sorted(set(means.columns) - set(complete.columns))
        signs = np.array([1.0 if higher_is_better(heads[b]) else -1.0 for b in complete.index])
        ranks = pd.DataFrame(
            [sps.rankdata(-sign * values) for sign, values in zip(signs, complete.to_numpy())],
            index=complete.index,
            columns=complete.columns,
            dtype=float,
        )
        note = f"left out (not scored on every benchmark): {', '.join(dropped)}" if dropped else ""
        out[(str(gkey[0]), str(gkey[1]))] = (ranks, note)
    return out


@lru_cache(maxsize=64)
def nemenyi_q(k: int, alpha: float = ALPHA) -> float:
    """Nemenyi's q_alpha for k methods: studentized range quantile (k, infinite df) / sqrt(2)."""
    return float(sps.studentized_range.ppf(1 - alpha, k, np.inf)) / math.sqrt(2)


def critical_difference(k: int, n_blocks: int, alpha: float = ALPHA) -> float:
    """Nemenyi critical difference of average ranks: q_alpha * sqrt(k (k+1) / (6 N))."""
    if k < 2 or n_blocks < 1:
        return math.nan
    return nemenyi_q(k, alpha) * math.sqrt(k * (k + 1) / (6 * n_blocks))


def friedman_chi2(ranks: np.ndarray) -> float:
    """Tie-corrected Friedman statistic of an (N blocks x k methods) rank matrix (module docstring)."""
    n, k = ranks.shape
    sums = ranks.sum(axis=0)
    chi2 = 12.0 / (n * k * (k + 1)) * float(np.sum(sums**2)) - 3.0 * n * (k + 1)
    ties = 0.0
    for row in ranks:
        _, counts = np.unique(row, return_counts=True)
        ties += float(np.sum(counts**3 - counts))
    denom = 1.0 - ties / (n * (k**3 - k))
    return chi2 / denom if denom > 0 else math.nan


FRIEDMAN_COLUMNS = [*GROUP, "n_benchmarks", "n_methods", "chi2", "p_value", "cd", "note"]


def friedman(table: pd.DataFrame) -> pd.DataFrame:
    """Friedman test over benchmarks per dataset x backbone: n_benchmarks, n_methods, chi2, p_value.

    Also ``cd``, the Nemenyi critical difference of average ranks at alpha 0.05, and ``note``
    (methods left out, or why no test: fewer than 2 benchmarks or 2 methods, all ranks tied).
    """
    lacking = missing_columns(table)
    if lacking:
        return note_frame(FRIEDMAN_COLUMNS, lacking)
    out = []
    for (dataset, backbone), (ranks, note) in rank_blocks(table).items():
        n, k = ranks.shape
        chi2 = p = math.nan
        if n < 2 or k < 2:
            note = "; ".join(x for x in (note, "needs at least 2 benchmarks and 2 methods") if x)
        else:
            chi2 = friedman_chi2(ranks.to_numpy())
            if np.isfinite(chi2):
                p = float(sps.chi2.sf(chi2, k - 1))
            else:
                note = "; ".join(x for x in (note, "every method tied on every benchmark") if x)
        out.append(
            {
                "dataset": dataset,
                "backbone": backbone,
                "n_benchmarks": n,
                "n_methods": k,
                "chi2": chi2,
                "p_value": p,
                "cd": critical_difference(k, n) if n >= 2 else math.nan,
                "note": note,
            }
        )
    return pd.DataFrame(out, columns=FRIEDMAN_COLUMNS)


RANK_COLUMNS = [*GROUP, "method", "avg_rank", "n_benchmarks"]


def average_ranks(table: pd.DataFrame) -> pd.DataFrame:
    """Average rank of each method over the benchmarks (1 = best), per dataset x backbone, best first."""
    if missing_columns(table):
        return pd.DataFrame(columns=RANK_COLUMNS)
    out = []
    for (dataset, backbone), (ranks, _) in rank_blocks(table).items():
        for method, avg in ranks.mean(axis=0).sort_values(kind="stable").items():
            row = {"dataset": dataset, "backbone": backbone, "method": method, "avg_rank": float(avg)}
            out.append({**row, "n_benchmarks": len(ranks)})
    return pd.DataFrame(out, columns=RANK_COLUMNS)
