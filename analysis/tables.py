"""Paper-style tables from the seed summary: methods (with margin settings) x benchmarks + average.

Cells show ``mean +- sd`` over seeds in percent (all contract metrics except ``xnorm`` and
``threshold`` are fractions). In every ranked column the best displayed value is bold and the
second best underlined (ties at the displayed precision share a rank); direction comes from
:func:`analysis.metrics.higher_is_better`. A method or benchmark that the run matrix has but the
scores lack gets a visible "missing" cell, never a silently dropped row. Renderers for HTML,
Markdown, LaTeX (booktabs) and CSV live in :mod:`analysis.render`.

A statistics table (text cells: p-values, verdicts) carries the DataFrame it shows in
``Table.frame``; its CSV export is that frame (numbers as numbers, verdicts as words), written by
:func:`analysis.report_tables.write_table`, because the paper-table CSV layout (``<column>`` and
``<column> sd`` from each cell's mean and sd) has no value in a text cell.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis.metrics import INTERFACE_LOSS, higher_is_better, method_label
from interface.external.importer import EXTERNAL_LOSS

RAW_METRICS = frozenset({"xnorm", "threshold"})
DECIMALS = 2
AVERAGE = "Average"


@dataclass
class Cell:
    """One table cell: the displayed ``value`` (percent or raw), its seed ``sd``, rank 1/2 or None.

    A cell with ``text`` shows that text instead (statistics tables); ``missing`` shows a dash.
    """

    value: float | None = None
    sd: float | None = None
    n: int = 0
    rank: int | None = None
    missing: bool = False
    text: str | None = None  # free text shown instead of the number (statistics tables)
    few_seeds: bool = False  # fewer seeds than the table's fullest cell: the count is shown


@dataclass
class Table:
    """A rendered-agnostic table: ``rows`` are (label, cells) with one cell per column."""

    title: str
    index_name: str
    columns: list[str]
    rows: list[tuple[str, list[Cell]]]
    notes: list[str] = field(default_factory=list)
    slug: str = "table"
    frame: pd.DataFrame | None = None  # the values a text-cell table shows, for its CSV export

    def missing_cells(self) -> list[tuple[str, str]]:
        """(row label, column) of every missing cell."""
        return [
            (label, col) for label, cells in self.rows for col, c in zip(self.columns, cells) if c.missing
        ]


def scale(metric: str) -> float:
    """Display factor: 100 for fractions (shown in percent), 1 for raw numbers."""
    return 1.0 if metric in RAW_METRICS else 100.0


def cell_text(cell: Cell, pm: str = "±", dash: str = "—") -> str:
    """``mean ± sd`` at :data:`DECIMALS` places; ``mean`` alone for one seed; ``dash`` when missing;
    ``(n=k)`` appended when the cell has fewer seeds than the table's fullest cell."""
    if cell.missing:
        return dash
    if cell.text is not None:
        return cell.text
    if cell.value is None:
        return dash
    text = f"{cell.value:.{DECIMALS}f}"
    if cell.sd is not None and math.isfinite(cell.sd):
        text += f" {pm} {cell.sd:.{DECIMALS}f}"
    if cell.few_seeds:
        text += f" (n={cell.n})"
    return text


def mark_few_seeds(cells: list[Cell]) -> None:
    """Flag cells averaged over fewer seeds than the fullest cell (a failed seed must be visible)."""
    full = max((c.n for c in cells if not c.missing), default=0)
    for c in cells:
        c.few_seeds = not c.missing and c.n < full


def rank_cells(cells: list[Cell], higher: bool | None) -> None:
    """Set rank 1 (best) and 2 (second) on ``cells`` in place by displayed value; ties share a rank."""
    if higher is None:
        return
    shown = sorted(
        {round(c.value, DECIMALS) for c in cells if c.value is not None and not c.missing}, reverse=higher
    )
    for c in cells:
        if c.value is not None and not c.missing:
            pos = shown.index(round(c.value, DECIMALS)) + 1
            c.rank = pos if pos <= 2 else None


def method_order(methods: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """External reference models first, then baselines (by name), InterFace settings last, so the
    subject sits at the bottom as in papers."""
    return sorted(set(methods), key=lambda m: (m[0] != EXTERNAL_LOSS, m[0] == INTERFACE_LOSS, m[0], m[1]))


def ranked(rows: list[tuple[str, list[Cell]]], methods: list[tuple[str, str]], j: int) -> list[Cell]:
    """Column ``j`` of the trained methods' rows: external models (released checkpoints, trained
    elsewhere on other data) are reference rows, never ranked against the runs of this matrix."""
    return [cells[j] for (_, cells), m in zip(rows, methods) if m[0] != EXTERNAL_LOSS]


def _cell(summary: pd.DataFrame, method: tuple[str, str], benchmark: str, metric: str) -> Cell:
    hit = summary[
        (summary["loss"] == method[0])
        & (summary["setting"] == method[1])
        & (summary["benchmark"] == benchmark)
        & (summary["metric"] == metric)
    ]
    if hit.empty:
        return Cell(missing=True)
    row = hit.iloc[0]
    k = scale(metric)
    sd = float(row["std"]) * k if np.isfinite(row["std"]) else None
    return Cell(value=float(row["mean"]) * k, sd=sd, n=int(row["n_seeds"]))


def main_table(
    summary: pd.DataFrame,
    methods: list[tuple[str, str]],
    benchmarks: list[str],
    heads: dict[str, str],
    title: str,
    slug: str,
) -> Table:
    """Methods x benchmarks (headline metric each) plus the average over benchmarks.

    The average is over the benchmarks' means and shown only for a method with every benchmark
    present (an average over a subset would not be comparable).
    """
    columns = [f"{b} ({heads.get(b, '?')})" for b in benchmarks] + [AVERAGE]
    rows, order = [], method_order(methods)
    for m in order:
        cells = [_cell(summary, m, b, heads.get(b, "")) for b in benchmarks]
        vals = [c.value for c in cells]
        full = bool(cells) and all(v is not None for v in vals)
        cells.append(
            Cell(value=float(np.mean(vals)), n=min(c.n for c in cells)) if full else Cell(missing=True)
        )
        rows.append((method_label(*m), cells))
    mark_few_seeds([c for _, cells in rows for c in cells[:-1]])
    for j, b in enumerate(benchmarks):
        rank_cells(ranked(rows, order, j), higher_is_better(heads.get(b, "")))
    directions = {higher_is_better(heads.get(b, "")) for b in benchmarks}
    if len(directions) == 1:
        rank_cells(ranked(rows, order, len(benchmarks)), directions.pop())
    notes = [
        "Mean ± sample sd over seeds, in percent; bold = best, underlined = second best per column; "
        "(n=k): only k seeds scored; external (label=…) rows are released checkpoints, shown for "
        "reference and never ranked.",
        "Average = mean of the benchmark columns, shown only when every benchmark is present.",
    ]
    return Table(title=title, index_name="Method", columns=columns, rows=rows, notes=notes, slug=slug)


def metric_table(
    summary: pd.DataFrame,
    methods: list[tuple[str, str]],
    benchmark: str,
    metrics: list[str],
    title: str,
    slug: str,
) -> Table:
    """Methods x every metric of one benchmark (percent, except raw ``xnorm``/``threshold``)."""
    order = method_order(methods)
    rows = [(method_label(*m), [_cell(summary, m, benchmark, k) for k in metrics]) for m in order]
    mark_few_seeds([c for _, cells in rows for c in cells])
    for j, k in enumerate(metrics):
        rank_cells(ranked(rows, order, j), higher_is_better(k))
    notes = ["Mean ± sd over seeds; fractions in percent, xnorm and threshold raw; eer: lower is better."]
    return Table(title=title, index_name="Method", columns=list(metrics), rows=rows, notes=notes, slug=slug)
