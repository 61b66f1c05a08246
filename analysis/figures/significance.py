"""Significance figures: the critical-difference diagram and the InterFace-vs-baseline heatmap.

- :func:`cd_diagram` (Demsar, JMLR 7, 2006, Fig. 1 style): per dataset x backbone, every method's
  average rank over the benchmarks (1 = best; :func:`analysis.stats.average_ranks`) on one axis,
  methods labelled left (better half) and right; thick bars join groups of methods whose average
  ranks differ by less than the Nemenyi critical difference (not significantly different at the
  5 % level); the CD itself is drawn as a scale bar. The Friedman p-value is in the panel title.
- :func:`significance_heatmap`: rows InterFace settings, columns baselines; a cell's number is
  the corrected wins minus losses over the benchmarks (``verdict`` of
  :func:`analysis.stats.compare`), its colour the mean difference over the benchmarks in points
  (percent of the metric's range), positive where InterFace is better (diverging colour map
  centred at 0; grey where nothing was compared).

Both write ``out_stem.svg`` and ``out_stem.png`` (at most 900 px wide at the report's 100 dpi,
legend and colour bar outside the data) and return the two paths. Input they cannot use (no
methods, one benchmark, no comparisons) gives a figure that says so instead of an error.
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from analysis.figures.common import save
from analysis.metrics import higher_is_better
from analysis.stats import GROUP, average_ranks, friedman

WIDTH_IN = 9.0  # 900 px at the report's 100 dpi
ROW = 0.62  # vertical distance of two method labels, in axis units
INCH_PER_UNIT = 0.27
LABEL_SIZE = 9
CHAR_IN = 0.076  # mean width of one label character at LABEL_SIZE points, inches


def _paths(out_stem: Path) -> list[Path]:
    return [out_stem.with_suffix(".svg"), out_stem.with_suffix(".png")]


def _message_figure(text: str, out_stem: Path) -> list[Path]:
    fig, ax = plt.subplots(figsize=(WIDTH_IN, 1.2))
    ax.axis("off")
    ax.text(0.5, 0.5, text, ha="center", va="center", fontsize=10, wrap=True)
    save(fig, out_stem.with_suffix(".png"), layout="fixed")
    return _paths(out_stem)


def cliques(ranks: np.ndarray, cd: float) -> list[tuple[int, int]]:
    """Maximal runs (i, j) of rank-sorted methods whose average ranks differ by less than ``cd``."""
    out: list[tuple[int, int]] = []
    if not math.isfinite(cd):
        return out
    last = -1
    for i in range(len(ranks)):
        j = i
        while j + 1 < len(ranks) and ranks[j + 1] - ranks[i] < cd:
            j += 1
        if j > i and j > last:
            out.append((i, j))
            last = j
    return out


def _panel_units(k: int, n_cliques: int) -> float:
    return 2.6 + 0.3 * n_cliques + ROW * math.ceil(k / 2)


def _draw_cd(ax: plt.Axes, methods: list[str], ranks: np.ndarray, cd: float, title: str) -> None:
    k = len(methods)
    groups = cliques(ranks, cd)
    top = 0.55 + 0.3 * len(groups)  # first label row, below the clique bars
    height = _panel_units(k, len(groups))
    ax.set_xlim(1, max(k, 2))
    ax.set_ylim(height - 1.8, -1.8)
    ax.axis("off")
    ax.set_title(title, fontsize=10, pad=2)
    # the rank axis
    ax.plot([1, max(k, 2)], [0, 0], color="black", lw=1)
    step = 1 if k <= 12 else 2  # many methods on a narrow axis: label every other rank
    for r in range(1, max(k, 2) + 1):
        ax.plot([r, r], [0, -0.12], color="black", lw=1)
        if (r - 1) % step == 0:
            ax.text(r, -0.2, str(r), ha="center", va="bottom", fontsize=8)
    half = math.ceil(k / 2)
    lo, hi = ax.get_xlim()
    for i, (name, r) in enumerate(zip(methods, ranks)):
        left = i < half
        row = i if left else k - 1 - i  # the worst method on the top right: lines never cross
        y = top + ROW * row
        edge = lo - 0.03 * (hi - lo) if left else hi + 0.03 * (hi - lo)
        ax.plot([r, r, edge], [0, y, y], color="0.25", lw=0.9, clip_on=False)
        ax.text(
            edge + (-0.01 if left else 0.01) * (hi - lo),
            y,
            f"{name}  {r:.2f}" if left else f"{r:.2f}  {name}",
            ha="right" if left else "left",
            va="center",
            fontsize=LABEL_SIZE,
            clip_on=False,
        )
    for g, (i, j) in enumerate(groups):
        y = 0.35 + 0.3 * g
        ax.plot([ranks[i] - 0.04, ranks[j] + 0.04], [y, y], color="black", lw=3.2, solid_capstyle="butt")
    if math.isfinite(cd):
        ax.plot([1, 1 + cd], [-0.8, -0.8], color="black", lw=1.5, clip_on=False)
        for x in (1, 1 + cd):
            ax.plot([x, x], [-0.9, -0.7], color="black", lw=1.5, clip_on=False)
        ax.text(1 + cd / 2, -1.0, f"CD = {cd:.2f}", va="bottom", ha="center", fontsize=8.5)


def cd_diagram(table: pd.DataFrame, out_stem: Path) -> list[Path]:
    """The critical-difference diagram of ``table``'s methods, one panel per dataset x backbone."""
    ranks = average_ranks(table)
    tests = friedman(table)
    if ranks.empty or "cd" not in tests.columns:
        note = "; ".join(n for n in tests.get("note", pd.Series(dtype=str)) if isinstance(n, str) and n)
        return _message_figure(f"No critical-difference diagram: {note or 'no ranked benchmark'}.", out_stem)
    panels = []
    for (dataset, backbone), grp in ranks.groupby(GROUP, sort=True):
        test = tests[(tests["dataset"] == dataset) & (tests["backbone"] == backbone)]
        cd = float(test["cd"].iloc[0]) if len(test) else math.nan
        p = float(test["p_value"].iloc[0]) if len(test) else math.nan
        n_bench = int(grp["n_benchmarks"].iloc[0])
        ptext = f"Friedman p = {p:.2g}" if math.isfinite(p) else "Friedman test not computable"
        title = f"{dataset} / {backbone}: {len(grp)} methods, {n_bench} benchmarks, {ptext}"
        panels.append((grp["method"].tolist(), grp["avg_rank"].to_numpy(), cd, title))
    units = [_panel_units(len(m), len(cliques(r, cd))) for m, r, cd, _ in panels]
    height = INCH_PER_UNIT * sum(units) + 0.35 * len(panels)
    fig, axes = plt.subplots(
        len(panels), 1, figsize=(WIDTH_IN, height), gridspec_kw={"height_ratios": units}, squeeze=False
    )
    for ax, (methods, avg, cd, title) in zip(axes[:, 0], panels):
        if len(methods) < 2:
            ax.axis("off")
            ax.text(0.5, 0.5, f"{title}: fewer than two methods to rank", ha="center", transform=ax.transAxes)
            continue
        _draw_cd(ax, methods, avg, cd, title)
    # the labels sit outside the rank axis: their longest one (+ rank) fixes the side margins
    longest = max(len(name) for methods, *_ in panels for name in methods) + 6
    side = min(0.4, (CHAR_IN * longest + 0.3) / WIDTH_IN)
    fig.subplots_adjust(left=side, right=1 - side, top=1 - 0.3 / height, bottom=0.01, hspace=0.3)
    save(fig, out_stem.with_suffix(".png"), layout="fixed")
    return _paths(out_stem)


def heatmap_frames(comparisons: pd.DataFrame) -> dict[tuple[str, str], tuple[pd.DataFrame, pd.DataFrame]]:
    """Per dataset x backbone: (net corrected wins - losses, mean difference in points) method x baseline."""
    needed = {*GROUP, "method", "baseline", "verdict", "mean_diff", "metric"}
    if not needed <= set(comparisons.columns):
        return {}
    comp = comparisons[comparisons["method"].astype(str).ne("") & comparisons["baseline"].astype(str).ne("")]
    comp = comp.assign(
        net=comp["verdict"].map({"win": 1, "loss": -1, "tie": 0}),  # NaN: untestable
        good=[
            100.0 * d * (1 if higher_is_better(str(m)) is not False else -1)
            for d, m in zip(comp["mean_diff"].astype(float), comp["metric"])
        ],
    )
    out = {}
    for key, grp in comp.groupby(GROUP, sort=True):
        # min_count=1: a cell with no testable benchmark stays NaN ("n/a"), not a net 0
        net = grp.pivot_table(
            index="method",
            columns="baseline",
            values="net",
            aggfunc=lambda v: v.sum(min_count=1),
            dropna=False,
        )
        diff = grp.pivot_table(index="method", columns="baseline", values="good", aggfunc="mean")
        out[(str(key[0]), str(key[1]))] = (net, diff.reindex_like(net))
    return out


def significance_heatmap(comparisons: pd.DataFrame, out_stem: Path) -> list[Path]:
    """Rows InterFace settings, columns baselines: corrected wins - losses, coloured by mean difference."""
    frames = heatmap_frames(comparisons)
    if not frames:
        return _message_figure(
            "No significance heatmap: no InterFace setting was compared with a baseline.", out_stem
        )
    vmax = max(
        (
            float(np.nanmax(np.abs(d.to_numpy())))
            for _, d in frames.values()
            if np.isfinite(d.to_numpy()).any()
        ),
        default=1.0,
    )
    vmax = vmax if vmax > 0 else 1.0
    n_cols = max(net.shape[1] for net, _ in frames.values())
    heights = [net.shape[0] * 0.3 + 0.45 for net, _ in frames.values()]
    # rotated column labels: about 0.045 in of height per character
    label_in = 0.045 * max(len(str(c)) for net, _ in frames.values() for c in net.columns) + 0.3
    fig, axes = plt.subplots(
        len(frames),
        1,
        # the cropped figure adds the row labels and colour bar: 8 in of axes stay under 900 px
        figsize=(WIDTH_IN - 1.4, sum(heights) + min(label_in, 2.6) + 0.4),
        gridspec_kw={"height_ratios": heights},
        squeeze=False,
    )
    cmap = plt.get_cmap("RdBu").with_extremes(bad="0.85")
    image = None
    for ax, ((dataset, backbone), (net, diff)) in zip(axes[:, 0], frames.items()):
        values = np.ma.masked_invalid(diff.to_numpy(dtype=float))
        image = ax.imshow(values, cmap=cmap, vmin=-vmax, vmax=vmax, aspect="auto")
        ax.set_xticks(
            range(net.shape[1]), [str(c) for c in net.columns], rotation=40, ha="right", fontsize=8.5
        )
        ax.set_yticks(range(net.shape[0]), [str(r) for r in net.index], fontsize=8.5)
        ax.set_title(f"{dataset} / {backbone}: corrected wins − losses over benchmarks", fontsize=10)
        for (i, j), n in np.ndenumerate(net.to_numpy(dtype=float)):
            shade = values[i, j]
            dark = shade is not np.ma.masked and abs(float(shade)) > 0.6 * vmax
            ax.text(
                j,
                i,
                "n/a" if not math.isfinite(n) else f"{int(n):+d}" if n else "0",
                ha="center",
                va="center",
                fontsize=8.5,
                color="white" if dark else "black",
            )
        ax.set_xlim(-0.5, n_cols - 0.5)
    bar = fig.colorbar(image, ax=list(axes[:, 0]), fraction=0.035, pad=0.015)
    bar.set_label("mean difference (points; + = InterFace better)", fontsize=9)
    save(fig, out_stem.with_suffix(".png"), layout="bbox")
    return _paths(out_stem)
