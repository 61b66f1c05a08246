"""``python -m analysis.power``: which benchmarks can carry a claim, from the seeds that were run.

Per dataset x backbone x benchmark, on its headline metric (:func:`analysis.metrics.primary_metrics`,
resolved read-outs only), with the methods as groups and the training seeds as replicates:

- ``seed_sd``: the seed standard deviation pooled within methods,
  ``sqrt(sum_m sum_s (x_ms - mean_m)^2 / sum_m (n_m - 1))`` (metric units).
- ``kendall_tau_halves``: Kendall's tau-b between the method orderings of two disjoint halves of
  the seeds (even-indexed and odd-indexed seeds in sorted order; methods' means in each half).
  It needs at least 2 seeds in each half and 3 methods, else NaN with a ``note``.
- ``anova_f``, ``anova_p``: one-way ANOVA over methods, ``F = (SS_between / (k-1)) /
  (SS_within / (N-k))``, p from the F(k-1, N-k) distribution.
- ``mdd``: the minimal detectable difference of a two-sided paired t-test at alpha 0.05 and power
  0.8 with n = the seeds run (the most common seed count per method): the delta solving
  ``P(|T'| > t_{0.975, n-1}) = 0.8`` with T' noncentral t (n-1 df, noncentrality
  ``delta sqrt(n) / sd_d``). ``sd_d`` is the pooled standard deviation of per-seed paired
  differences over all method pairs (each pair's sample variance weighted by its df), or
  ``sqrt(2) * seed_sd`` when no pair shares two seeds.
- ``carries_claim``: ``anova_p < 0.01`` and ``kendall_tau_halves >= 0.6``. The first says the
  methods differ by more than seed noise on this benchmark; the second that their order
  reproduces on seeds not used to see it (with few seeds a significant F can come from one or two
  outlying methods while the rest of the ranking is noise). Both thresholds are the goals the
  embedded experiment is held to. A benchmark without a computable tau cannot carry a claim.

The command prints the table and, with ``--out``, writes it as CSV atomically.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import optimize
from scipy import stats as sps

from analysis.collect import read_tidy, write_csv
from analysis.commands import add_tidy_argument, command_parser
from analysis.metrics import method_label, primary_metrics
from analysis.stats import GROUP, METHOD, missing_columns, note_frame, seed_rows
from interface.errors import cli_main

ALPHA = 0.05
POWER = 0.8
ANOVA_P_MAX = 0.01
TAU_MIN = 0.6
COLUMNS = [
    *GROUP,
    "benchmark",
    "metric",
    "n_methods",
    "n_seeds",
    "seed_sd",
    "kendall_tau_halves",
    "anova_f",
    "anova_p",
    "mdd",
    "carries_claim",
    "note",
]


def pooled_sd(groups: list[np.ndarray]) -> float:
    """Standard deviation pooled within groups (NaN without a group of two)."""
    ss = sum(float(np.sum((g - g.mean()) ** 2)) for g in groups if g.size >= 2)
    df = sum(g.size - 1 for g in groups if g.size >= 2)
    return math.sqrt(ss / df) if df > 0 else math.nan


def kendall_tau_b(x: np.ndarray, y: np.ndarray) -> float:
    """Kendall's tau-b of two equally long vectors (ties handled as in tau-b; NaN if undefined)."""
    n = len(x)
    concordant = discordant = ties_x = ties_y = 0
    for i in range(n):
        for j in range(i + 1, n):
            dx, dy = np.sign(x[i] - x[j]), np.sign(y[i] - y[j])
            if dx == 0 and dy == 0:
                continue
            if dx == 0:
                ties_x += 1
            elif dy == 0:
                ties_y += 1
            elif dx == dy:
                concordant += 1
            else:
                discordant += 1
    denom = math.sqrt((concordant + discordant + ties_x) * (concordant + discordant + ties_y))
    return (concordant - discordant) / denom if denom > 0 else math.nan


def one_way_anova(groups: list[np.ndarray]) -> tuple[float, float]:
    """(F, p) of a one-way ANOVA over ``groups``; NaN when k < 2, N - k < 1 or zero within-spread."""
    groups = [g for g in groups if g.size]
    k, n = len(groups), sum(g.size for g in groups)
    if k < 2 or n - k < 1:
        return math.nan, math.nan
    grand = np.concatenate(groups).mean()
    between = sum(g.size * (g.mean() - grand) ** 2 for g in groups)
    within = sum(float(np.sum((g - g.mean()) ** 2)) for g in groups)
    if within <= 0:
        return math.nan, math.nan
    f = (between / (k - 1)) / (within / (n - k))
    return float(f), float(sps.f.sf(f, k - 1, n - k))


def paired_power(delta: float, sd: float, n: int, alpha: float = ALPHA) -> float:
    """Power of a two-sided paired t-test with n pairs, true difference ``delta``, difference sd ``sd``."""
    df = n - 1
    crit = sps.t.ppf(1 - alpha / 2, df)
    nc = delta * math.sqrt(n) / sd
    upper = float(sps.nct.sf(crit, df, nc))
    lower = float(sps.nct.cdf(-crit, df, nc))  # scipy returns NaN where this tail underflows
    return upper + (lower if math.isfinite(lower) else 0.0)


def minimal_detectable_difference(sd: float, n: int, alpha: float = ALPHA, power: float = POWER) -> float:
    """The difference a two-sided paired t-test (n pairs, difference sd ``sd``) detects with ``power``."""
    if n < 2 or not (math.isfinite(sd) and sd > 0):
        return math.nan
    hi = sd
    while paired_power(hi, sd, n, alpha) < power:
        hi *= 2
    return float(optimize.brentq(lambda d: paired_power(d, sd, n, alpha) - power, 0.0, hi, xtol=sd * 1e-9))


def _diff_sd(wide: pd.DataFrame) -> float:
    """Pooled sd of per-seed differences over all method pairs (methods as columns, seeds as rows)."""
    ss = df = 0.0
    cols = list(wide.columns)
    for i, a in enumerate(cols):
        for b in cols[i + 1 :]:
            d = (wide[a] - wide[b]).dropna().to_numpy()
            if d.size >= 2:
                ss += float(np.sum((d - d.mean()) ** 2))
                df += d.size - 1
    return math.sqrt(ss / df) if df > 0 else math.nan


def benchmark_power(values: pd.DataFrame) -> dict[str, object]:
    """Power read-out of one benchmark; ``values`` has columns method, seed, value."""
    wide = values.pivot_table(index="seed", columns="method", values="value", aggfunc="mean")
    groups = [wide[c].dropna().to_numpy() for c in wide.columns]
    counts = [g.size for g in groups]
    n = int(pd.Series(counts).mode().max()) if counts else 0
    notes = []
    seed_sd = pooled_sd(groups)
    seeds = sorted(wide.index)
    halves = [seeds[0::2], seeds[1::2]]
    tau = math.nan
    if min(len(h) for h in halves) < 2:
        notes.append(f"Kendall tau needs at least 2 seeds in each half (4 in all); {len(seeds)} run")
    elif wide.shape[1] < 3:
        notes.append("Kendall tau needs at least 3 methods")
    else:
        means = [wide.loc[h].mean() for h in halves]
        both = means[0].notna() & means[1].notna()
        tau = kendall_tau_b(means[0][both].to_numpy(), means[1][both].to_numpy())
    f, p = one_way_anova(groups)
    if not math.isfinite(p):
        notes.append(
            "one seed per method: no ANOVA" if max(counts, default=0) < 2 else "ANOVA not computable"
        )
    sd_d = _diff_sd(wide)
    if not math.isfinite(sd_d):
        sd_d = math.sqrt(2) * seed_sd
    mdd = minimal_detectable_difference(sd_d, n)
    if not math.isfinite(mdd):
        notes.append("no seed spread: no minimal detectable difference")
    claim = bool(math.isfinite(p) and p < ANOVA_P_MAX and math.isfinite(tau) and tau >= TAU_MIN)
    return {
        "n_methods": wide.shape[1],
        "n_seeds": n,
        "seed_sd": seed_sd,
        "kendall_tau_halves": tau,
        "anova_f": f,
        "anova_p": p,
        "mdd": mdd,
        "carries_claim": claim,
        "note": "; ".join(notes),
    }


def power_table(table: pd.DataFrame) -> pd.DataFrame:
    """Per dataset x backbone x benchmark: the read-out of the module docstring (:data:`COLUMNS`)."""
    lacking = missing_columns(table)
    if lacking:
        return note_frame(COLUMNS, lacking).assign(carries_claim=False)
    rows = seed_rows(table)
    heads = primary_metrics(rows)
    out = []
    for (dataset, backbone, benchmark), grp in rows.groupby([*GROUP, "benchmark"], sort=True):
        metric = heads.get(benchmark)
        sel = grp[grp["metric"] == metric]
        if metric is None or sel.empty:
            continue
        values = pd.DataFrame(
            {
                "method": [method_label(*m) for m in zip(sel[METHOD[0]], sel[METHOD[1]])],
                "seed": sel["seed"].astype(int).to_numpy(),
                "value": sel["value"].to_numpy(float),
            }
        )
        key = {"dataset": dataset, "backbone": backbone, "benchmark": benchmark, "metric": metric}
        out.append({**key, **benchmark_power(values)})
    return pd.DataFrame(out, columns=COLUMNS)


@cli_main
def main(argv: list[str]) -> int:
    parser = command_parser("analysis.power", __doc__)
    add_tidy_argument(parser)
    parser.add_argument("--out", type=Path, help="CSV to write (atomically)")
    args = parser.parse_args(argv)
    power = power_table(read_tidy(args.scores))
    with pd.option_context("display.width", 200, "display.max_columns", None, "display.max_colwidth", 60):
        print(power.to_string(index=False, na_rep="n/a", float_format=lambda v: f"{v:.4g}"))
    if args.out is not None:
        write_csv(power, args.out)
        print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
