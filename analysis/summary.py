"""The report's answer in one table and one paragraph: does InterFace beat the fixed-margin losses?

:func:`summary_table`: per dataset x backbone x benchmark and per InterFace variant (cc, dc, dd;
the loss's default ``dd`` when a setting names none), the variant's best setting on that
benchmark (highest seed mean of the headline metric, direction-aware) against the best
fixed-margin baseline there (ArcFace, CosFace, SphereFace, combined margins; any other baseline
only when none of these was run, which the ``note`` says), with that pair's row of
:func:`analysis.stats.compare`: mean difference, 95 % interval, Holm-corrected p and verdict.
Both "best" choices are made on the runs being tested, so the differences are optimistic; the
paragraph says so.

:func:`summary_paragraph`: plain text (no HTML) counting each variant's corrected wins, losses and
ties over the benchmarks, naming the wins with their difference and interval, and listing which
benchmarks can carry a claim according to :func:`analysis.power.power_table`.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from analysis.metrics import INTERFACE_LOSS, higher_is_better, method_label
from analysis.stats import GROUP, missing_columns, note_frame, summarize

FIXED_MARGIN_LOSSES = frozenset({"arcface", "cosface", "sphereface", "combined"})
DEFAULT_VARIANT = "dd"  # interface.losses.interface's default variant
COLUMNS = [
    *GROUP,
    "benchmark",
    "metric",
    "variant",
    "setting",
    "baseline",
    "n_seeds",
    "mean_diff",
    "ci_low",
    "ci_high",
    "p_holm",
    "verdict",
    "note",
]


def variant_of(setting: str) -> str:
    """The ``variant=`` value of an InterFace setting string ("variant=dc,alpha=0.1" -> "dc")."""
    for part in str(setting).split(","):
        key, _, value = part.partition("=")
        if key.strip() == "variant" and value.strip():
            return value.strip()
    return DEFAULT_VARIANT


def _best(means: pd.DataFrame, higher: bool) -> pd.Series | None:
    if means.empty:
        return None
    return means.sort_values(["mean", "label"], ascending=[not higher, True]).iloc[0]


def summary_table(table: pd.DataFrame, comparisons: pd.DataFrame) -> pd.DataFrame:
    """One row per dataset x backbone x benchmark x InterFace variant (module docstring)."""
    lacking = missing_columns(table) or missing_columns(
        comparisons, (*GROUP, "benchmark", "metric", "method", "baseline", "verdict")
    )
    if lacking:
        return note_frame(COLUMNS, lacking)
    summary = summarize(table)
    summary = summary.assign(label=[method_label(*m) for m in zip(summary["loss"], summary["setting"])])
    comp = comparisons[comparisons["method"].astype(str) != ""]
    out: list[dict[str, Any]] = []
    for (dataset, backbone, benchmark, metric), rows in comp.groupby(
        [*GROUP, "benchmark", "metric"], sort=True
    ):
        means = summary[
            (summary["dataset"] == dataset)
            & (summary["backbone"] == backbone)
            & (summary["benchmark"] == benchmark)
            & (summary["metric"] == metric)
        ]
        higher = higher_is_better(str(metric)) is not False
        ours = means[means["loss"] == INTERFACE_LOSS]
        theirs = means[(means["loss"] != INTERFACE_LOSS) & means["label"].isin(set(rows["baseline"]))]
        fixed = theirs[theirs["loss"].isin(FIXED_MARGIN_LOSSES)]
        note = "" if len(fixed) or theirs.empty else "no fixed-margin baseline run: best other baseline"
        baseline = _best(fixed if len(fixed) else theirs, higher)
        for variant, settings in ours.groupby(ours["setting"].map(variant_of), sort=True):
            best = _best(settings, higher)
            key = {"dataset": dataset, "backbone": backbone, "benchmark": benchmark, "metric": metric}
            if best is None or baseline is None:
                continue
            hit = rows[(rows["method"] == best["label"]) & (rows["baseline"] == baseline["label"])]
            if hit.empty:
                continue
            rec = hit.iloc[0]
            out.append(
                {
                    **key,
                    "variant": variant,
                    "setting": best["setting"],
                    "baseline": baseline["label"],
                    **{
                        c: rec.get(c)
                        for c in ("n_seeds", "mean_diff", "ci_low", "ci_high", "p_holm", "verdict")
                    },
                    "note": "; ".join(x for x in (note, str(rec.get("note") or "")) if x),
                }
            )
    return pd.DataFrame(out, columns=COLUMNS)


def _points(value: Any) -> str:
    """A fraction as signed percentage points ("+0.52"), or "n/a"."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        return "n/a"
    return f"{100 * v:+.2f}" if math.isfinite(v) else "n/a"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _variant_sentence(variant: str, rows: pd.DataFrame) -> str:
    counts = rows["verdict"].value_counts()
    won = rows[rows["verdict"] == "win"]
    lost = rows[rows["verdict"] == "loss"]
    parts = [f"InterFace {variant} wins on {int(counts.get('win', 0))} of {_plural(len(rows), 'benchmark')}"]
    if len(won):
        parts[0] += (
            " ("
            + "; ".join(
                f"{r.benchmark}: {_points(r.mean_diff)} points, 95 % interval {_points(r.ci_low)} to "
                f"{_points(r.ci_high)}, against {r.baseline}"
                for r in won.itertuples()
            )
            + ")"
        )
    parts.append(
        f"loses on {int(counts.get('loss', 0))}" + (f" ({', '.join(lost['benchmark'])})" if len(lost) else "")
    )
    parts.append(f"ties on {int(counts.get('tie', 0))}")
    if counts.get("n/a", 0):
        parts.append(f"cannot be tested on {int(counts.get('n/a', 0))}")
    return ", ".join(parts) + "."


def _power_sentence(power: pd.DataFrame) -> str:
    if "benchmark" not in power.columns or power["benchmark"].astype(str).eq("").all():
        return "No power read-out is available."
    usable = power[power["benchmark"].astype(str) != ""]
    claim = usable[usable["carries_claim"].astype(bool)]
    rest = usable[~usable["carries_claim"].astype(bool)]
    rule = "ANOVA over methods p < 0.01 and Kendall τ ≥ 0.6 between the method orders of two seed halves"
    if claim.empty:
        text = f"No benchmark can carry a claim ({rule})"
    else:
        text = f"Benchmarks that can carry a claim ({rule}): {', '.join(claim['benchmark'])}"

    def why(r: Any) -> str:
        tau = float(r.kendall_tau_halves)
        p = float(r.anova_p)
        tau_s = f"τ {tau:.2f}" if math.isfinite(tau) else "τ not computable"
        p_s = f"ANOVA p {p:.2g}" if math.isfinite(p) else "no ANOVA"
        return f"{r.benchmark} ({tau_s}, {p_s})"

    if len(rest) and len(claim):
        text += "; the others cannot: " + ", ".join(why(r) for r in rest.itertuples())
    elif len(rest):
        text += ": " + ", ".join(why(r) for r in rest.itertuples())
    return text + "."


def summary_paragraph(summary: pd.DataFrame, power: pd.DataFrame) -> str:
    """Plain-text answer: per variant, corrected wins/losses/ties over benchmarks, then the power read-out."""
    sentences: list[str] = []
    usable = (
        summary[summary["variant"].astype(str) != ""] if "variant" in summary.columns else summary.iloc[0:0]
    )
    if usable.empty:
        note = ""
        if "note" in summary.columns and len(summary):
            note = f" ({summary['note'].iloc[0]})"
        sentences.append(f"No InterFace setting could be compared with a fixed-margin baseline{note}.")
    elif set(usable["verdict"]) == {"n/a"}:
        sentences.append(
            "Only one seed per method (or no paired seeds): no statistics; the tables show single runs, "
            "which cannot support a difference between losses."
        )
    else:
        sentences.append(
            "Each InterFace variant's best setting on each benchmark against the best fixed-margin "
            "baseline there, paired over training seeds, Holm-corrected within each setting's family "
            "of baselines (both best choices are made on the runs tested, so the differences are "
            "optimistic)."
        )
        for (dataset, backbone), grp in usable.groupby(GROUP, sort=True):
            prefix = f"On {dataset} / {backbone}: " if usable[GROUP].drop_duplicates().shape[0] > 1 else ""
            sentences += [
                prefix + _variant_sentence(v, rows) for v, rows in grp.groupby("variant", sort=True)
            ]
    sentences.append(_power_sentence(power))
    return " ".join(sentences)
