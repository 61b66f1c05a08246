"""Figure d: the geometry that training produced.

- Class-centre separation from ``head.pt`` (the loss module's state_dict, ``weight`` (C, D)): for
  every class the angle to its nearest other centre, and the minimum over classes (how separable
  the learned centres are; a larger minimum means a larger worst-case inter-class margin).
- theta_y and nearest non-target angle logged during training (``metrics.jsonl`` keys
  ``theta_y_mean`` and ``theta_nn_mean``, rad, from the loss's ``last_stats``): the last value of
  each run, one dot per seed.
- Positive and negative pair cosines on each benchmark whose score record carries a pair-score
  histogram (``plots.pair_histogram``, :class:`interface.contracts.score_record.PairHistogram`).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np

from analysis.figures.common import (
    Figure,
    benchmark_panels_figure,
    legend_below,
    legend_right,
    panel_grid,
    save,
)
from analysis.figures.palette import Palette
from analysis.metrics import method_label
from analysis.runinfo import Run, read_metrics, stat_value
from interface.contracts.score_record import PairHistogram, Plots


def load_head_weight(path: Path) -> np.ndarray | None:
    """The (C, D) class-centre matrix of a ``head.pt`` state_dict, or None if absent/unreadable."""
    if not path.is_file():
        return None
    import torch

    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # a corrupt or foreign file: the figure skips this run, the report says so
        return None
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        return None
    keys = ["weight", *(k for k in state if str(k).endswith("weight") and k != "weight")]
    for key in keys:
        value = state.get(key)
        if isinstance(value, torch.Tensor) and value.dim() == 2 and value.is_floating_point():
            return value.detach().to(torch.float64).numpy()
    return None


def nearest_centre_angles(weight: np.ndarray) -> np.ndarray:
    """For each class centre (row of ``weight``), the angle (rad) to its nearest other centre."""
    unit = weight / np.maximum(np.linalg.norm(weight, axis=1, keepdims=True), 1e-12)
    cos = np.clip(unit @ unit.T, -1.0, 1.0)
    np.fill_diagonal(cos, -np.inf)
    return np.arccos(np.clip(cos.max(axis=1), -1.0, 1.0))


def centre_separation(runs: list[Run]) -> list[dict[str, Any]]:
    """Per run with a readable ``head.pt``: classes, min and mean nearest-centre angle (degrees)."""
    rows = []
    for run in runs:
        weight = load_head_weight(run.dir / "head.pt") if run.dir else None
        if weight is None or weight.shape[0] < 2:
            continue
        near = np.degrees(nearest_centre_angles(weight))
        rows.append(
            {
                "run_id": run.run_id,
                "method": method_label(*run.method),
                "_method": run.method,
                "classes": weight.shape[0],
                "min_angle_deg": float(near.min()),
                "mean_nearest_deg": float(near.mean()),
                "_angles": near,
            }
        )
    return rows


def separation_figure(
    rows: list[dict[str, Any]], out_dir: Path, palette: Palette | None = None
) -> Figure | None:
    """Histogram of nearest-centre angles per method (all seeds pooled), a panel per loss family."""
    if not rows:
        return None
    methods = sorted({r["method"] for r in rows})
    palette = palette or Palette.for_methods(tuple(r["_method"]) for r in rows)
    groups = palette.panels(methods)
    fig, axes = panel_grid(len(groups), cols=3, height=3.0)
    every = np.concatenate([r["_angles"] for r in rows])
    bins = np.linspace(float(every.min()) - 1e-9, float(every.max()) + 1e-9, 31)
    for ax, (title, labels) in zip(axes, groups):
        for m in labels:
            angles = np.concatenate([r["_angles"] for r in rows if r["method"] == m])
            low = min(r["min_angle_deg"] for r in rows if r["method"] == m)
            st = palette.style(m)
            ax.hist(
                angles,
                bins=bins,
                histtype="step",
                lw=1.6,
                color=st.colour,
                ls=st.linestyle,
                label=f"{m} (min {low:.1f}°)",
            )
        ax.axvline(90, color="black", lw=0.8, ls=":")
        ax.set(xlabel="angle to nearest centre (degrees)", title=title)
        legend_below(ax, fontsize=7.5)
    axes[0].set_ylabel("classes")
    fig.tight_layout()
    path = save(fig, out_dir / "centre_separation.png", layout="bbox")
    return Figure(
        path,
        "Separation of the learned class centres",
        "For every class, the angle between its centre (row of the trained head's weight) and the "
        "nearest other centre, one panel per loss family; the legend gives the minimum over classes "
        "and seeds. 90° (dotted) is orthogonal.",
        "Step histograms of nearest class-centre angles, one per method: " + ", ".join(methods) + ".",
        "learned",
    )


#: The two angles of :func:`logged_angles_figure`: (index in a point, marker, colour, legend).
ANGLE_SERIES = ((1, "o", "#1f77b4", "θ_y (own centre)"), (2, "s", "#d62728", "nearest non-target"))


def logged_angles_figure(runs: list[Run], out_dir: Path) -> Figure | None:
    """Last logged theta_y_mean and theta_nn_mean per run (degrees), grouped by method."""
    points = []
    for run in runs:
        if run.dir is None:
            continue
        recs = [r for r in read_metrics(run.dir) if math.isfinite(stat_value(r, "theta_y_mean"))]
        if recs:
            points.append(
                (
                    method_label(*run.method),
                    math.degrees(stat_value(recs[-1], "theta_y_mean")),
                    math.degrees(stat_value(recs[-1], "theta_nn_mean")),
                )
            )
    if not points:
        return None
    methods = sorted({p[0] for p in points})
    fig, ax = plt.subplots(figsize=(7.5, 0.45 * len(methods) + 1.8))
    for i, m in enumerate(methods):
        ys = [p for p in points if p[0] == m]
        for col, marker, color, name in ANGLE_SERIES:
            xs = [p[col] for p in ys]
            ax.scatter(xs, [i] * len(ys), marker=marker, color=color, label=name if i == 0 else None)
    ax.set_yticks(range(len(methods)), methods)
    ax.set(xlabel="angle at the end of training (degrees)")
    ax.grid(alpha=0.3, axis="x")
    legend_right(ax)
    path = save(fig, out_dir / "logged_angles.png", layout="bbox")
    return Figure(
        path,
        "Angles at the end of training",
        "Mean angle of training samples to their own class centre (θ_y) and to the nearest other "
        "centre, from the last metrics.jsonl record of each run (one dot per seed). A margin loss "
        "should pull θ_y down and push the non-target angle up.",
        "Dot plot of final mean target angle and nearest non-target angle for each method.",
        "learned",
    )


def pair_cosine_figures(
    plots: dict[tuple[str, str], Plots], runs: list[Run], out_dir: Path, palette: Palette | None = None
) -> list[Figure]:
    """One figure per benchmark: histograms of positive and negative pair cosines per method.

    ``plots``: each run x benchmark's score-record plots; the histograms share the record's bins.
    Two series per method (same / different identity), so at most four methods share a panel.
    """
    by_id = {r.run_id: r for r in runs}
    palette = palette or Palette.for_methods(r.method for r in runs)
    figures = []
    for benchmark in sorted({b for _, b in plots}):
        series: dict[str, PairHistogram] = {}
        for (run_id, b), p in sorted(plots.items()):
            if b == benchmark and p.pair_histogram is not None and run_id in by_id:
                series.setdefault(method_label(*by_id[run_id].method), p.pair_histogram)
        if not series:
            continue
        groups = palette.panels(series, per_panel=4)
        fig, axes = panel_grid(len(groups), cols=3, height=2.9)
        for ax, (title, labels) in zip(axes, groups):
            for m in labels:
                hist = series[m]
                colour = palette.colour(m)
                ax.stairs(hist.genuine, hist.edges, color=colour, lw=1.5, label=f"{m} same")
                ax.stairs(hist.impostor, hist.edges, color=colour, lw=1.0, ls="--", label=f"{m} different")
            ax.set(xlabel="cosine of the pair", title=title, xlim=_occupied(series.values()))
        texts = (
            "pair_cosines",
            f"Pair cosines on {benchmark}",
            f"Cosine similarity of same-identity (solid) and different-identity (dashed) pairs on "
            f"{benchmark}, first seed of each method, at most four methods to a panel.",
            f"Histograms of positive and negative pair cosines on {benchmark}.",
            "learned",
        )
        figures.append(benchmark_panels_figure(fig, axes, benchmark, "pairs", out_dir, texts))
    return figures


def _occupied(histograms) -> tuple[float, float]:
    """The cosine range holding any pair of any histogram (shared, so methods compare)."""
    lo, hi = 1.0, -1.0
    for h in histograms:
        edges = np.asarray(h.edges)
        filled = np.flatnonzero(np.asarray(h.genuine) + np.asarray(h.impostor))
        if filled.size:
            lo, hi = min(lo, edges[filled[0]]), max(hi, edges[filled[-1] + 1])
    return (lo, hi) if lo < hi else (-1.0, 1.0)
