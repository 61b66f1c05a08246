"""``python -m analysis.report``: the HTML report of a run matrix, ``<out>/index.html``.

Reads the tidy table (``analysis.collect``) and its per-item outcomes (``items.npz`` beside it),
the run folders, the dataset folders, the bench JSONs and the resolved workflow config; writes
``index.html`` (Jinja2 template, CSS inlined, no JavaScript, no network), ``tables/`` (html, md,
tex, csv) and ``figures/`` (PNG and SVG) beside it. An empty or partial table still renders:
missing cells are marked and listed.

Order of the page: (1) Summary (generated paragraph, InterFace's best settings against the best
fixed-margin baseline, which benchmarks can carry a claim); (2) the main table; (3) the
critical-difference diagram and the significance heatmap; (4) the margin sweeps; (5) the margin
geometry where InterFace differs from ArcFace; (6) everything else in collapsed ``<details>``.
"""

from __future__ import annotations

import json
import logging
import math
import time
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
import numpy as np
import pandas as pd

from analysis.collect import read_items, read_tidy, write_csv
from analysis.commands import add_tidy_argument, command_parser
from analysis.environment import environment
from analysis.external import as_published, trained_only
from analysis.figures import significance
from analysis.figures.common import Figure
from analysis.figures.geometry import geometry_specs, spec_method
from analysis.figures.palette import Palette
from analysis.figures.training import flatten
from analysis.metrics import method_label
from analysis.power import power_table
from analysis.report_inputs import (
    config_runs,
    copy_contact_sheets,
    dataset_summaries,
    expected_benchmarks,
    figure_views,
    merge_runs,
    missing_report,
    read_json_dir,
    run_index,
    run_plugins,
    score_records,
)
from analysis.report_tables import (
    anchors_view,
    build_tables,
    frame_table,
    stats_tables,
    table_dict,
    write_table,
)
from analysis.runinfo import Run, read_json_object, runs_from_table
from analysis.stats import average_ranks, compare, friedman, summarize
from analysis.summary import summary_paragraph, summary_table
from interface.atomic import atomic_open
from interface.contracts.score_record import Plots, ScoreRecord
from interface.errors import InputError, cli_main
from interface.training.plugins import same_plugin
from interface.training.provenance import git_revision

log = logging.getLogger(__name__)
# Columns the summary-section tables move into their notes when every row has the same value.
CONSTANT_COLUMNS = ("dataset", "backbone", "n_seeds")
# Figure families shown behind <details> in section 6, in this order (the families "sweep" and
# "geometry" have their own sections 4 and 5).
MORE_FIGURES = {
    "geometry_more": "Margin geometry of every loss (target logit, decision boundaries)",
    "toy": "Toy embeddings",
    "learned": "Learned geometry of the trained runs (class centres, angles, pair cosines)",
    "training": "Training curves, ROC, run time and benchmarks of the code",
}


def make_figures(
    table: pd.DataFrame,
    runs: list[Run],
    plots: dict[tuple[str, str], Plots],
    bench: dict[str, Any],
    figures_dir: Path,
    plugins: list[str] | None = None,
) -> tuple[list[Figure], list[str], list[dict[str, Any]]]:
    """Draw every figure family; a family that fails is reported (its error), not fatal to the report.

    ``plugins`` (the loss plugins of the config, which the user wrote) are imported first, so user
    losses get geometry figures too. One palette (every run's method and every registered loss
    at its defaults) colours every figure.
    """
    from analysis.figures import geometry, learned, sweeps, toy, training
    from interface.losses import list_losses
    from interface.training.plugins import import_plugins

    figures: list[Figure] = []
    problems: list[str] = []
    separation: list[dict[str, Any]] = []

    def attempt(name: str, fn: Any) -> None:
        try:
            out = fn()
        except (InputError, OSError, ValueError, RuntimeError, KeyError, TypeError) as exc:
            log.warning("figure %s failed: %s", name, exc)
            problems.append(f"figure {name}: {type(exc).__name__}: {exc}")
            return
        figures.extend(f for f in (out if isinstance(out, list) else [out]) if f is not None)

    attempt("plugins", lambda: import_plugins(list(plugins or [])))
    table_methods = {(str(a), str(b)) for a, b in table[["loss", "setting"]].itertuples(index=False)}
    palette = Palette.for_methods(
        [*(r.method for r in runs), *table_methods, *(spec_method(*s) for s in geometry_specs(list_losses))]
    )

    def learned_family() -> list[Figure | None]:
        separation.extend(learned.centre_separation(runs))
        return [
            learned.separation_figure(separation, figures_dir, palette),
            learned.logged_angles_figure(runs, figures_dir),
            *learned.pair_cosine_figures(plots, runs, figures_dir, palette),
        ]

    attempt("sweeps", lambda: sweeps.sweep_figures(table, figures_dir, palette))
    attempt("geometry", lambda: geometry.geometry_figures(figures_dir, palette=palette))
    attempt("toy", lambda: toy.toy_figure(figures_dir))
    attempt("learned", learned_family)
    attempt("training curves", lambda: training.training_curves_figure(runs, figures_dir, palette))
    attempt("roc", lambda: training.roc_figures(plots, runs, figures_dir, palette))
    attempt("runtime", lambda: training.runtime_figure(table, figures_dir))
    attempt("bench", lambda: training.bench_ratio_figure(bench, figures_dir))
    return figures, problems, separation


def figure_of(paths: list[Path], title: str, caption: str, alt: str, family: str) -> list[Figure]:
    """The PNG of a written ``(svg, png)`` pair as a :class:`Figure` record; none when nothing was drawn."""
    return [Figure(p, title, caption, alt, family) for p in paths if p.suffix == ".png" and p.is_file()]


def statistics_views(
    table: pd.DataFrame,
    items: dict[str, np.ndarray],
    tables_dir: Path,
    figures_dir: Path,
    out: Path,
) -> dict[str, Any]:
    """Summary paragraph and tables, power read-out, Friedman test, ranks and the two significance figures."""
    comparisons = compare(table, items)
    power = power_table(table)
    brief = summary_table(table, comparisons)

    def view(
        frame: pd.DataFrame, title: str, slug: str, index: str, notes: list[str], digits: int = 4
    ) -> dict[str, Any]:
        frame = frame.reset_index(drop=True)
        if index not in frame.columns:  # an empty or note-only frame: rows labelled by number
            frame = frame.assign(**{index: [str(i + 1) for i in range(len(frame))]})
        # a column with one value on every row (one dataset, one backbone, one seed count) goes
        # into the notes instead of taking the width of the page
        # (the CSV keeps them: it exports the whole frame); so does a column empty on every row
        full = frame[[index, *(c for c in frame.columns if c != index)]]
        same = [c for c in CONSTANT_COLUMNS if c in full.columns and len(full) > 1 and full[c].nunique() == 1]
        if same:
            notes = [*notes, "Every row: " + ", ".join(f"{c} {full[c].iloc[0]}" for c in same) + "."]
        blank = [
            c
            for c in full.columns
            if c != index and len(full) and full[c].fillna("").astype(str).eq("").all()
        ]
        t = frame_table(full.drop(columns=same + blank), title, slug, index, notes, digits, export=full)
        return table_dict(t, write_table(t, tables_dir), out)

    carries = (
        power[power["carries_claim"].astype(bool)] if "carries_claim" in power.columns else power.iloc[0:0]
    )
    cannot = power[~power.index.isin(carries.index)] if "benchmark" in power.columns else power.iloc[0:0]
    figures = figure_of(
        significance.cd_diagram(table, figures_dir / "cd_diagram"),
        "Critical-difference diagram",
        "Average rank of each method over the benchmarks (1 = best, headline metric, seed means); "
        "methods joined by a bar do not differ at the 5 % level (Friedman test, then Nemenyi's "
        "critical difference, Demšar 2006).",
        "Critical-difference diagram: methods placed on an average-rank axis, joined by bars where "
        "they are not significantly different.",
        "significance",
    ) + figure_of(
        significance.significance_heatmap(comparisons, figures_dir / "significance_heatmap"),
        "Significance heatmap",
        "Rows: InterFace settings; columns: baselines. Each cell counts corrected wins minus losses "
        "over the benchmarks (Holm within each setting x benchmark family); its colour is the mean "
        "difference in the headline metric.",
        "Heat map of InterFace settings against baselines: net corrected wins per cell, coloured "
        "by mean difference.",
        "significance",
    )
    return {
        "paragraph": summary_paragraph(brief, power),
        "summary": view(
            brief,
            "InterFace's best setting per variant against the best fixed-margin baseline",
            "summary",
            "benchmark",
            [
                "mean_diff: InterFace minus baseline in metric units (fractions), 95 % interval "
                "ci_low..ci_high over seeds and benchmark items; p_holm: Holm-corrected within the "
                "setting x benchmark family; verdict after correction."
            ],
            digits=3,
        ),
        "power": view(
            power,
            "Which benchmarks can carry a claim",
            "power",
            "benchmark",
            [
                "mdd: the smallest difference (metric units) a paired comparison over these seeds "
                "detects at α 0.05 with power 0.8; seed_sd: the seed-to-seed standard deviation; "
                "kendall_tau_halves: agreement of the method ranking between two halves of the seeds."
            ],
        ),
        "claims": sorted({str(b) for b in carries.get("benchmark", [])}),
        "no_claims": sorted({str(b) for b in cannot.get("benchmark", [])}),
        "friedman": view(
            friedman(table),
            "Friedman test across benchmarks",
            "friedman",
            "dataset",
            ["Methods ranked within each benchmark on their seed-mean headline metric."],
        ),
        "ranks": view(average_ranks(table), "Average rank over benchmarks", "ranks", "method", []),
        "figures": figure_views(figures, out),
        "n_comparisons": len(comparisons),
    }


def eval_seconds(records: dict[tuple[str, str], ScoreRecord]) -> str:
    """Sum of the evaluator's per-benchmark ``extra.wall_time_s`` (s), or "unknown"."""
    times = [float(t) for r in records.values() if isinstance(t := r.extra.get("wall_time_s"), int | float)]
    return f"{sum(times):.0f} s over {len(times)} scorings" if times else "unknown"


def read_config(path: Path | None) -> dict[str, Any]:
    """The resolved workflow config (JSON object), ``{}`` when not given.

    Raises:
        InputError: the file is missing or not a JSON object.
    """
    return {} if path is None else read_json_object(path, "--config")


def matrix_view(runs: list[Run], benchmarks: dict[str, list[str]]) -> dict[str, Any]:
    """What the matrix contained: datasets, backbones, methods, seeds (and the distinct numbers of
    seeds a method has: a sweep may run on fewer), benchmarks, run count."""
    per_method: dict[str, set[int]] = {}
    for r in runs:
        if r.seed is not None:
            per_method.setdefault(method_label(*r.method), set()).add(r.seed)
    return {
        "datasets": sorted({r.dataset for r in runs}),
        "backbones": sorted({r.backbone for r in runs}),
        "methods": sorted({method_label(*r.method) for r in runs}),
        "seeds": sorted({r.seed for r in runs if r.seed is not None}),
        "seed_counts": sorted({len(seeds) for seeds in per_method.values()}),
        "benchmarks": sorted({b for names in benchmarks.values() for b in names}),
        "n_runs": len(runs),
    }


def build_report(
    scores: Path,
    runs_dir: Path | None,
    data_dir: Path | None,
    bench_dir: Path | None,
    config_path: Path | None,
    out: Path,
    score_jsons: Path | None = None,
    items_path: Path | None = None,
) -> Path:
    """Write ``out/index.html`` with ``out/tables`` and ``out/figures``; return the index path.

    ``score_jsons``: the folder of score records (``<run>/<benchmark>.json``) whose plots the ROC
    and pair-score figures draw (none drawn when None); ``items_path``: the collector's
    ``items.npz`` (default: beside ``scores``, when present).
    """
    started = time.time()
    table = read_tidy(scores)
    items = read_items(items_path if items_path is not None else scores.parent / "items.npz")
    config = read_config(config_path)
    tables_dir, figures_dir = out / "tables", out / "figures"
    tables_dir.mkdir(parents=True, exist_ok=True)
    figures_dir.mkdir(parents=True, exist_ok=True)
    runs = merge_runs(runs_from_table(table, runs_dir), config_runs(config), runs_dir)
    benchmarks = expected_benchmarks(table, runs, config)
    summary = summarize(table)
    write_csv(summary, tables_dir / "summary.csv")
    mains, per_bench, missing_cells = build_tables(table, summary, runs, benchmarks, tables_dir, out)
    # external models (released checkpoints) are reference rows: never in the trained methods' statistics
    trained = trained_only(table)
    stat_views, n_comparisons = stats_tables(trained, tables_dir, out, items)
    statistics = statistics_views(trained, items, tables_dir, figures_dir, out)
    bench = read_json_dir(bench_dir)
    records = score_records(score_jsons)
    workflow_config = config.get("config") if isinstance(config.get("config"), dict) else config
    plugins = workflow_config.get("plugins") if isinstance(workflow_config.get("plugins"), list) else []
    plugins = list(dict.fromkeys(map(str, plugins)))
    plots = {key: record.plots for key, record in records.items()}
    figures, problems, separation = make_figures(table, runs, plots, bench, figures_dir, plugins)
    # run folders may come from anyone: what their run.json records is listed, never imported
    recorded = [p for p in run_plugins(runs) if not any(same_plugin(p, q) for q in plugins)]
    if recorded:
        problems.append(
            f"plugins recorded in run.json but not in the config's plugins were not imported (their "
            f"losses get no geometry figure; list them under the config's plugins): {', '.join(recorded)}"
        )
    sheets = copy_contact_sheets(data_dir, figures_dir)
    wall = table.drop_duplicates("run_id")["wall_time_s"]
    context = {
        "generated": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
        "revision": git_revision(),
        "environment": environment(),
        "config_json": json.dumps(config, indent=2, sort_keys=True, default=str) if config else "",
        "matrix": matrix_view(runs, benchmarks),
        "total_time": f"{float(wall[wall.notna()].sum()):.0f} s" if wall.notna().any() else "unknown",
        "eval_time": eval_seconds(records),
        "datasets": dataset_summaries(data_dir),
        "mains": mains,
        "per_bench": per_bench,
        "stats": stat_views,
        "n_comparisons": n_comparisons,
        "statistics": statistics,
        "anchors": anchors_view(as_published(summary, runs_dir), tables_dir, out),
        "missing": missing_report(table, runs, benchmarks),
        "missing_cells": missing_cells,
        "problems": problems,
        "figures": {
            fam: [f for f in figure_views(figures, out) if f["family"] == fam]
            for fam in ("sweep", "geometry", *MORE_FIGURES)
        },
        "families": MORE_FIGURES,
        "separation": [{k: v for k, v in r.items() if not k.startswith("_")} for r in separation],
        "sheets": [{"dataset": s["dataset"], "src": s["path"].relative_to(out).as_posix()} for s in sheets],
        "bench": {
            name: (flatten(doc) if not isinstance(doc, str) else [("error", doc)])
            for name, doc in bench.items()
        },
        "runs": run_index(runs, table, out, runs_dir.parent if runs_dir else None, score_jsons),
        "scores_csv": str(scores),
        "n_rows": len(table),
        "css": resources.files("analysis").joinpath("report.css").read_text(encoding="utf-8"),
    }
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("analysis", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["num"] = lambda v, d=2: (
        "" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.{d}f}"
    )
    html = env.get_template("index.html.j2").render(**context, build_seconds=f"{time.time() - started:.1f}")
    index = out / "index.html"
    with atomic_open(index, "w", encoding="utf-8") as handle:
        handle.write(html)
    index.chmod(0o644)
    return index


#: The report's optional inputs besides the tidy table: (flag, what it names).
_INPUT_PATHS = (
    ("--runs", "folder of run folders (run.json, metrics.jsonl, head.pt)"),
    ("--data-dir", "folder of dataset folders (manifest, contact_sheet.png)"),
    ("--bench", "folder of bench JSON results"),
    ("--config", "resolved workflow config (JSON)"),
    (
        "--score-jsons",
        "folder of score records <run>/<benchmark>.json whose plots the ROC and pair-cosine "
        "figures draw (no such figures without it)",
    ),
    ("--items", "per-item outcomes written by analysis.collect (default: items.npz beside --scores)"),
)


@cli_main
def main(argv: list[str]) -> int:
    parser = command_parser("analysis.report", __doc__)
    add_tidy_argument(parser)
    for flag, what in _INPUT_PATHS:
        parser.add_argument(flag, type=Path, help=what)
    parser.add_argument(
        "--out", type=Path, required=True, help="report folder (index.html, tables/, figures/)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    index = build_report(
        args.scores,
        args.runs,
        args.data_dir,
        args.bench,
        args.config,
        args.out,
        args.score_jsons,
        args.items,
    )
    log.info("wrote %s", index)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
