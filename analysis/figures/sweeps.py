"""The margin sweeps of the matrix: each benchmark's headline metric against a swept loss parameter.

Read from the tidy table. A method's parameters are its loss's defaults
(``loss_class(loss).default_params``) overridden by its setting string (``m=0.4``,
``variant=dd,alpha=0.2``; parsed by the workflow's parser, :func:`analysis.figures.palette.setting_params`).
A *line* is every method of one loss whose parameters agree except the swept one, when it holds at
least two values of it: ArcFace, CosFace and InterFace against ``m``; InterFace cc, dc and dd
against ``alpha``. Each point is the mean over seeds with its 95 % t-interval (none from one seed).
One panel per benchmark; metrics in [0, 1] are shown in percent.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy import stats as sps

from analysis.figures.common import PAGE_WIDTH_IN, Figure, save
from analysis.figures.palette import MAX_SERIES, Palette, setting_params
from analysis.metrics import method_label, primary_metrics
from analysis.stats import valid_rows

SWEEPS = (("m", "margin m", ("arcface", "cosface", "interface")), ("alpha", "InterFace α", ("interface",)))


@dataclass(frozen=True)
class Line:
    """One swept line: its legend label, the palette key it is coloured by, and (value, label) points."""

    label: str
    colour_key: str
    points: tuple[tuple[float, str], ...]


def method_params(loss: str, setting: str) -> dict[str, Any] | None:
    """The loss's default parameters overridden by the setting's; None for a loss not in the registry."""
    from interface.losses.registry import loss_class

    try:
        defaults = dict(loss_class(loss).default_params)
    except (KeyError, ValueError):
        return None
    return {**defaults, **setting_params(setting)}


def sweep_lines(methods: list[tuple[str, str]], param: str, losses: tuple[str, ...]) -> list[Line]:
    """Lines of ``methods`` that vary ``param`` (number) with every other parameter fixed."""
    groups: dict[tuple[str, tuple[tuple[str, str], ...]], list[tuple[float, str, str]]] = {}
    for loss, setting in sorted(set(methods)):
        params = method_params(loss, setting) if loss in losses else None
        value = params.get(param) if params else None
        if not isinstance(value, int | float) or isinstance(value, bool):
            continue
        fixed = tuple(sorted((k, repr(v)) for k, v in params.items() if k != param))
        groups.setdefault((loss, fixed), []).append((float(value), setting, method_label(loss, setting)))
    lines = []
    for (loss, fixed), members in sorted(groups.items()):
        if len({v for v, _, _ in members}) < 2:
            continue
        fixed_map = dict(fixed)
        variant = fixed_map.get("variant", "").strip("'")
        # name a line by its loss and what varies besides the sweep (InterFace's variant, and its m
        # when the alpha sweep is taken at a non-default m)
        name = loss + (f" {variant}" if variant else "")
        by_len = sorted(members, key=lambda m: (len(m[1].split(",")), m[1]))  # fewest overrides first
        lines.append(Line(name, by_len[0][2], tuple(sorted((v, lab) for v, _, lab in members))))
    return lines


def seed_summary(values: np.ndarray) -> tuple[float, float]:
    """Mean and the half-width of its 95 % t-interval over seeds (NaN half-width from one seed)."""
    n = values.size
    mean = float(values.mean())
    if n < 2:
        return mean, math.nan
    half = float(sps.t.ppf(0.975, n - 1) * values.std(ddof=1) / math.sqrt(n))
    return mean, half


def sweep_figures(table: pd.DataFrame, out_dir: Path, palette: Palette | None = None) -> list[Figure]:
    """One figure per swept parameter (m, alpha) with lines, one panel per benchmark."""
    rows = valid_rows(table)
    if rows.empty:
        return []
    heads = primary_metrics(rows)
    methods = sorted({(str(a), str(b)) for a, b in rows[["loss", "setting"]].itertuples(index=False)})
    palette = palette or Palette.for_methods(methods)
    figures = []
    for param, xlabel, losses in SWEEPS:
        lines = sweep_lines(methods, param, losses)[:MAX_SERIES]
        if not lines:
            continue
        figures.append(_sweep_figure(rows, heads, lines, param, xlabel, out_dir, palette))
    return figures


def _sweep_figure(
    rows: pd.DataFrame,
    heads: dict[str, str],
    lines: list[Line],
    param: str,
    xlabel: str,
    out_dir: Path,
    palette: Palette,
) -> Figure:
    groups = sorted(rows.groupby(["dataset", "backbone", "benchmark"]).groups)
    n = len(groups)
    cols = min(n, 4)
    n_rows = math.ceil(n / cols)
    fig, axes = plt.subplots(n_rows, cols, figsize=(PAGE_WIDTH_IN, 2.6 * n_rows + 0.7), squeeze=False)
    label_of = {
        (str(a), str(b)): method_label(str(a), str(b))
        for a, b in rows[["loss", "setting"]].itertuples(index=False)
    }
    lab = rows.assign(
        method=[label_of[(str(a), str(b))] for a, b in rows[["loss", "setting"]].itertuples(index=False)]
    )
    multi_group = len({(d, b) for d, b, _ in groups}) > 1
    for ax, (dataset, backbone, benchmark) in zip(axes.flat, groups):
        metric = heads[benchmark]
        sel = lab[
            (lab["dataset"] == dataset)
            & (lab["backbone"] == backbone)
            & (lab["benchmark"] == benchmark)
            & (lab["metric"] == metric)
        ]
        scale = 100.0 if sel["value"].between(0, 1).all() else 1.0
        for i, line in enumerate(lines):
            xs, means, halves = [], [], []
            for value, label in line.points:
                vals = sel.loc[sel["method"] == label, "value"].to_numpy(dtype=float) * scale
                if vals.size:
                    mean, half = seed_summary(vals)
                    xs.append(value)
                    means.append(mean)
                    halves.append(half)
            if not xs:
                continue
            st = palette.style(line.colour_key)
            x = np.asarray(xs) + (i - (len(lines) - 1) / 2) * 0.004  # a nudge keeps error bars apart
            ax.errorbar(
                x,
                means,
                yerr=np.nan_to_num(np.asarray(halves), nan=0.0),
                color=st.colour,
                marker=st.marker,
                ms=4.5,
                lw=1.5,
                capsize=2.5,
                label=line.label,
            )
        title = benchmark if not multi_group else f"{benchmark} ({dataset}/{backbone})"
        ax.set_title(title, fontsize=9.5)
        ax.set_ylabel(f"{metric}{' (%)' if scale == 100 else ''}", fontsize=8.5)
        ax.grid(alpha=0.3)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    for ax in axes.flat[:n]:
        ax.set_xlabel(xlabel, labelpad=1)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    for ax in axes.flat[1:n]:  # a benchmark may miss a line: collect every label once
        for h, l in zip(*ax.get_legend_handles_labels()):
            if l not in labels:
                handles.append(h)
                labels.append(l)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    fig.legend(handles, labels, loc="lower center", ncol=min(len(labels), 6), frameon=False, fontsize=9)
    path = save(fig, out_dir / f"sweep_{param}.png", layout="fixed")
    unit = (
        "; CosFace's m is in cosine units, the angular losses' in radians" if param == "m" else " (radians)"
    )
    return Figure(
        path,
        f"Headline metric against {xlabel}",
        f"Each benchmark's headline metric against {xlabel}{unit}, mean over seeds with its 95 % "
        "t-interval (no bar from one seed); every other parameter at the value named in the legend's "
        "line (the loss's default unless the matrix set it). Points of different lines are nudged "
        "apart by 0.004 so their bars do not overlap.",
        f"Small line plots, one per benchmark, of the headline metric against {param} for "
        + ", ".join(line.label for line in lines)
        + ".",
        "sweep",
    )
