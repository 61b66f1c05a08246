"""The report's tables: main and per-benchmark tables, statistics, published anchors.

Each table is written under the report's ``tables/`` in four formats (:func:`write_table`: HTML,
Markdown and LaTeX from :mod:`analysis.render`; CSV with the values: the paper tables' mean and sd
columns, or a statistics table's own frame) and returned as a template view (its HTML plus
relative links to the files).
"""

from __future__ import annotations

import math
import os
import string
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis import render
from analysis.anchors import load_published, match_published
from analysis.collect import write_csv
from analysis.metrics import primary_metrics
from analysis.runinfo import Run
from analysis.stats import compare, seed_rows, wins
from analysis.tables import Cell, Table, main_table, metric_table


def table_dict(table: Table, files: dict[str, Path], out_dir: Path) -> dict[str, Any]:
    """Template view of a table: its HTML and relative links to its four files."""
    return {
        "title": table.title,
        "html": render.to_html(table),
        "slug": table.slug,
        "files": {ext: os.path.relpath(p, out_dir) for ext, p in files.items()},
    }


def write_table(table: Table, folder: Path) -> dict[str, Path]:
    """Write ``<slug>.{html,md,tex,csv}`` into ``folder`` (atomically); return the paths by format.

    A table built by :func:`frame_table` exports its frame as the CSV (values, not display text):
    the renderer's CSV reads each cell's mean and sd, which a text cell does not have, and so
    wrote empty value cells and "sd" columns for the statistics tables.
    """
    paths = render.write_table(table, folder)
    if table.frame is not None:
        write_csv(table.frame, paths["csv"])
    return paths


def frame_table(
    frame: pd.DataFrame,
    title: str,
    slug: str,
    index: str,
    notes: list[str] | None = None,
    digits: int = 4,
    export: pd.DataFrame | None = None,
) -> Table:
    """A plain (unranked) :class:`Table` of a DataFrame, numbers shown with ``digits`` significant digits.

    ``export``: the values its CSV holds (default ``frame``; a superset of its columns, e.g. with
    the id columns the HTML folds into the row label).
    """
    columns = [c for c in frame.columns if c != index]
    rows = [(str(rec[index]), [text_cell(rec[c], digits) for c in columns]) for _, rec in frame.iterrows()]
    values = (frame if export is None else export).reset_index(drop=True)
    return Table(
        title=title, index_name=index, columns=columns, rows=rows, notes=notes or [], slug=slug, frame=values
    )


# Title and notes of the tables :func:`labelled_table` builds, by slug.
CAPTIONS: dict[str, tuple[str, list[str]]] = {
    "wins": (
        "Wins per InterFace setting (after Holm's correction)",
        [
            "A win (loss) counts only where the Holm-corrected p (within the setting's family of "
            "baselines on that benchmark) is below 0.05 and the mean difference favours InterFace "
            "(the baseline); ties and untestable benchmarks (fewer than 2 seeds) are not counted."
        ],
    ),
    "comparisons": (
        "Paired comparisons (headline metric, method − baseline, fractions)",
        [
            "Paired over training seeds (folds are not replicates); standard error sqrt(s²/n + "
            "v_item), v_item from the benchmark's items where both runs saved them (interval: "
            "seeds + items), Student t with n − 1 df, 95 % interval. p_holm: Holm within each "
            "setting x benchmark family; p_bh: Benjamini-Hochberg over this table; verdicts on "
            "the corrected p < 0.05."
        ],
    ),
    "anchors": (
        "Reproduced vs published (percent)",
        ["difference = reproduced − published in percentage points; within = |difference| ≤ tolerance_pp."],
    ),
}


def labelled_table(
    frame: pd.DataFrame, slug: str, index: str, label: str, hidden: tuple[str, ...] = ()
) -> Table:
    """:func:`frame_table` of ``frame`` with its id columns folded into one row label.

    ``label`` is a :meth:`str.format` pattern over a row's columns (``"{dataset}/{method}"``); the
    label becomes the first column, named ``index``. The HTML drops the columns the label names and
    those in ``hidden``; the CSV keeps them next to the label, so its rows stay filterable by id.
    Title and notes are :data:`CAPTIONS` [``slug``].
    """
    labelled = frame.copy()
    labelled.insert(0, index, [label.format(**rec) for rec in frame.to_dict("records")])
    folded = [name for _, name, _, _ in string.Formatter().parse(label) if name] + list(hidden)
    title, notes = CAPTIONS[slug]
    return frame_table(labelled.drop(columns=folded), title, slug, index, notes, export=labelled)


def text_cell(value: Any, digits: int = 4) -> Cell:
    """A never-ranked cell showing ``value`` as text (floats to ``digits`` significant digits; NaN "n/a")."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return Cell(text="n/a")  # not computable (e.g. a test on one pair), not a missing result
    if isinstance(value, bool | np.bool_):
        return Cell(text="yes" if value else "no")
    if isinstance(value, float):
        return Cell(text=f"{value:.{digits}g}")
    return Cell(text=str(value))


def build_tables(
    table: pd.DataFrame,
    summary: pd.DataFrame,
    runs: list[Run],
    benchmarks: dict[str, list[str]],
    tables_dir: Path,
    out_dir: Path,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[str]]:
    """Main and per-benchmark tables for every dataset x backbone; returns views and missing cells."""
    heads = primary_metrics(seed_rows(table))
    mains, per_bench, missing = [], [], []
    groups = sorted({(r.dataset, r.backbone) for r in runs})
    for dataset, backbone in groups:
        methods = [r.method for r in runs if (r.dataset, r.backbone) == (dataset, backbone)]
        sub = summary[(summary["dataset"] == dataset) & (summary["backbone"] == backbone)]
        gslug = f"{dataset}__{backbone}".replace("/", "-")
        t = main_table(
            sub,
            methods,
            benchmarks.get(dataset, []),
            heads,
            f"{dataset} / {backbone}: headline metric per benchmark",
            f"main__{gslug}",
        )
        mains.append(table_dict(t, write_table(t, tables_dir), out_dir))
        missing += [
            f"{dataset}/{backbone}: {row} x {col}" for row, col in t.missing_cells() if col != "Average"
        ]
        for b in benchmarks.get(dataset, []):
            metrics = sorted(set(sub[sub["benchmark"] == b]["metric"]), key=lambda k: (k != heads.get(b), k))
            if not metrics:
                continue
            bt = metric_table(
                sub, methods, b, metrics, f"{dataset} / {backbone} / {b}: all metrics", f"bench__{gslug}__{b}"
            )
            per_bench.append(table_dict(bt, write_table(bt, tables_dir), out_dir))
    return mains, per_bench, missing


def stats_tables(
    table: pd.DataFrame, tables_dir: Path, out_dir: Path, items: Mapping[str, np.ndarray] | None = None
) -> tuple[list[dict[str, Any]], int]:
    """Wins table and full paired-comparison table; returns views and the number of comparisons.

    ``items``: per-item outcomes (``items.npz``) for the item part of the intervals.
    """
    comparisons = compare(table, items)
    comparisons = comparisons[comparisons["method"].astype(str) != ""]
    views: list[dict[str, Any]] = []
    if comparisons.empty:
        return views, 0
    w = wins(comparisons)
    w = w.assign(summary=[f"wins on {r.wins} of {r.n_benchmarks}" for r in w.itertuples()])
    wt = labelled_table(w, "wins", "comparison", "{dataset}/{backbone}: {method} vs {baseline}")
    views.append(table_dict(wt, write_table(wt, tables_dir), out_dir))
    label = "{dataset}/{backbone}/{benchmark}: {method} vs {baseline}"
    # family (dataset/backbone/benchmark/method) repeats the label's ids
    ct = labelled_table(comparisons, "comparisons", "comparison", label, hidden=("family",))
    views.append(table_dict(ct, write_table(ct, tables_dir), out_dir))
    return views, len(comparisons)


def anchors_view(summary: pd.DataFrame, tables_dir: Path, out_dir: Path) -> dict[str, Any]:
    """Published numbers next to matching reproduced ones, and the full published list's file."""
    published = load_published()
    matched = match_published(summary, published)
    full = tables_dir / "published.csv"
    write_csv(published, full)
    view: dict[str, Any] = {
        "n_published": len(published),
        "csv": os.path.relpath(full, out_dir),
        "table": None,
    }
    if len(matched):
        label = "{dataset}/{backbone}/{loss} ({setting}) {benchmark} {metric}"
        t = labelled_table(matched, "anchors", "row", label)
        view["table"] = table_dict(t, write_table(t, tables_dir), out_dir)
    return view
