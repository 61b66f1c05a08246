"""Figure f: training curves, ROC curves of the IJB-style set, run time and throughput, bench ratios.

- Training curves from ``metrics.jsonl``: loss, theta_y_mean (rad) and, for InterFace, mhat_mean
  (rad) against the optimisation step, one line per run, coloured by method; one row of panels
  per loss family (at most 8 methods on one axes).
- ROC curves from the score records' ``plots.roc`` (thinned {"far", "tar"}), one panel per loss
  family.
- Wall time (s) and images/s per run from the tidy table's joined run metadata.
- Ratios measured by the ``bench`` target (numbers under keys containing "ratio" or "speedup").
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from analysis.figures.common import (
    PAGE_WIDTH_IN,
    Figure,
    benchmark_panels_figure,
    legend_right,
    panel_grid,
    save,
)
from analysis.figures.palette import Palette
from analysis.metrics import method_label
from analysis.runinfo import Run, read_metrics, stat_value
from interface.contracts.score_record import Plots

CURVES = (("loss", "training loss"), ("theta_y_mean", "mean θ_y (rad)"), ("mhat_mean", "mean m̂ (rad)"))


def run_palette(runs: list[Run], palette: Palette | None) -> Palette:
    """``palette``, or one built from the runs' methods when the caller has none."""
    return palette or Palette.for_methods(r.method for r in runs)


def training_curves_figure(runs: list[Run], out_dir: Path, palette: Palette | None = None) -> Figure | None:
    """Loss, theta_y and mhat against step for every run with a metrics.jsonl; a row per family."""
    series = []
    for run in runs:
        recs = read_metrics(run.dir) if run.dir else []
        if recs:
            steps = np.array([stat_value(r, "step") for r in recs])
            if not np.isfinite(steps).any():
                steps = np.arange(len(recs), dtype=float)
            series.append((run, steps, {k: np.array([stat_value(r, k) for r in recs]) for k, _ in CURVES}))
    if not series:
        return None
    palette = run_palette(runs, palette)
    methods = sorted({method_label(*s[0].method) for s in series})
    groups = palette.panels(methods)
    fig, axes = plt.subplots(
        len(groups), len(CURVES), figsize=(PAGE_WIDTH_IN, 2.3 * len(groups) + 0.5), squeeze=False
    )
    for row, (title, labels) in zip(axes, groups):
        for ax, (key, label) in zip(row, CURVES):
            drawn = set()
            for run, steps, values in series:
                m = method_label(*run.method)
                y = values[key]
                if m in labels and np.isfinite(y).any():
                    palette.line(ax, steps, y, m, drawn, lw=1.2)
            if not drawn:
                ax.text(
                    0.5, 0.5, "not logged", ha="center", va="center", transform=ax.transAxes, color="#777"
                )
            ax.set_ylabel(label, fontsize=8.5)
            ax.grid(alpha=0.3)
        row[0].set_title(title, loc="left", fontsize=9.5)
        legend_right(
            row[-1],
            handles=[
                plt.Line2D([], [], color=palette.colour(m), ls=palette.style(m).linestyle, label=m)
                for m in labels
            ],
        )
    for ax in axes[-1]:
        ax.set_xlabel("step")
    fig.tight_layout()
    path = save(fig, out_dir / "training_curves.png", layout="bbox")
    return Figure(
        path,
        "Training curves",
        "Training loss, mean target angle θ_y and (InterFace only) mean m̂ logged in each run's "
        "metrics.jsonl, one line per run (seeds share the colour of their method), one row per "
        "loss family.",
        "Rows of line plots against training step, one row per loss family: loss, mean target "
        "angle, mean m-hat; one colour per method: " + ", ".join(methods) + ".",
        "training",
    )


def roc_points(plots: Plots) -> tuple[np.ndarray, np.ndarray] | None:
    """(far, tar) arrays of a score record's ROC, or None when it has none (or one point)."""
    if plots.roc is None or len(plots.roc.far) < 2:
        return None
    return np.asarray(plots.roc.far, dtype=np.float64), np.asarray(plots.roc.tar, dtype=np.float64)


def roc_figures(
    plots: dict[tuple[str, str], Plots], runs: list[Run], out_dir: Path, palette: Palette | None = None
) -> list[Figure]:
    """One ROC figure (log FAR axis) per benchmark whose score records carry a ROC; a panel per family."""
    by_id = {r.run_id: r for r in runs}
    palette = run_palette(runs, palette)
    figures = []
    for benchmark in sorted({b for _, b in plots}):
        curves = [
            (by_id[rid], points)
            for (rid, b), p in sorted(plots.items())
            if b == benchmark and rid in by_id and (points := roc_points(p)) is not None
        ]
        if not curves:
            continue
        methods = sorted({method_label(*r.method) for r, _ in curves})
        groups = palette.panels(methods)
        fig, axes = panel_grid(len(groups), cols=3, height=3.0)
        for ax, (title, labels) in zip(axes, groups):
            seen: set[str] = set()
            for run, (far, tar) in curves:
                m = method_label(*run.method)
                if m not in labels:
                    continue
                keep = far > 0
                palette.line(ax, far[keep], tar[keep], m, seen, lw=1.3)
            ax.set_xscale("log")
            ax.set(xlabel="false accept rate", title=title, ylim=(0, 1.01))
            ax.grid(alpha=0.3, which="both")
        figures.append(
            benchmark_panels_figure(
                fig,
                axes,
                benchmark,
                "true accept rate",
                out_dir,
                (
                    "roc",
                    f"ROC on {benchmark}",
                    f"Template-pair ROC on {benchmark} (TAR against FAR, log axis), one line per run "
                    "(seeds share their method's colour), one panel per loss family.",
                    f"ROC curves on {benchmark} for " + ", ".join(methods) + ".",
                    "training",
                ),
            )
        )
    return figures


def runtime_figure(table: pd.DataFrame, out_dir: Path) -> Figure | None:
    """Horizontal bars of wall time (s) and images/s per run."""
    meta = table.drop_duplicates("run_id")[["run_id", "wall_time_s", "images_per_s"]].sort_values("run_id")
    meta = meta[np.isfinite(meta["wall_time_s"]) | np.isfinite(meta["images_per_s"])]
    if meta.empty:
        return None
    fig, axes = plt.subplots(1, 2, figsize=(PAGE_WIDTH_IN, 0.2 * len(meta) + 1.2), sharey=True)
    y = np.arange(len(meta))
    axes[0].barh(y, meta["wall_time_s"].fillna(0), color="#4c72b0")
    axes[0].set(xlabel="wall time (s)")
    axes[1].barh(y, meta["images_per_s"].fillna(0), color="#55a868")
    axes[1].set(xlabel="training images/s")
    axes[0].set_yticks(y, meta["run_id"], fontsize=7.5)
    axes[0].set_ylim(len(meta) - 0.5, -0.5)  # first run on top, no empty margin
    path = save(fig, out_dir / "runtime.png")
    total = float(np.nansum(meta["wall_time_s"]))
    return Figure(
        path,
        "Run time and throughput",
        f"Training wall time and images/s per run from run.json (total {total:.0f} s over {len(meta)} runs).",
        "Two horizontal bar charts: wall time in seconds and images per second for each run.",
        "training",
    )


def flatten(obj: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """Leaves of nested dicts/lists as (dotted key, value) pairs."""
    if isinstance(obj, dict):
        return [kv for k, v in obj.items() for kv in flatten(v, f"{prefix}.{k}" if prefix else str(k))]
    if isinstance(obj, list) and len(obj) <= 50:
        return [kv for i, v in enumerate(obj) for kv in flatten(v, f"{prefix}[{i}]")]
    return [(prefix, obj)]


def bench_ratio_figure(bench: dict[str, Any], out_dir: Path) -> Figure | None:
    """Bars of every numeric bench result whose key names a ratio or speed-up (1.0 marked)."""
    items = [
        (f"{name}: {k}", float(v))
        for name, doc in sorted(bench.items())
        for k, v in flatten(doc)
        if isinstance(v, int | float)
        and not isinstance(v, bool)
        and math.isfinite(v)
        and ("ratio" in k.lower() or "speedup" in k.lower())
    ]
    if not items:
        return None
    fig, ax = plt.subplots(figsize=(9, 0.3 * len(items) + 1.5))
    ax.barh(range(len(items)), [v for _, v in items], color="#8172b2")
    ax.axvline(1.0, color="black", lw=0.8, ls=":")
    ax.set_yticks(range(len(items)), [k for k, _ in items], fontsize=7)
    ax.invert_yaxis()
    ax.set(xlabel="ratio")
    path = save(fig, out_dir / "bench_ratios.png")
    return Figure(
        path,
        "Benchmark ratios",
        "Ratios and speed-ups measured side by side by `python -m interface bench` "
        "(results/bench/*.json); 1.0 (dotted) means parity.",
        "Horizontal bars of benchmark ratios: " + ", ".join(k for k, _ in items[:8]) + ".",
        "training",
    )
