"""``python -m analysis.report``: the HTML report of a run matrix, ``<out>/index.html``.

Reads the tidy table (``analysis.collect``), the run folders, the dataset folders, the bench
JSONs and the resolved workflow config; writes ``index.html`` (Jinja2 template, CSS inlined, no
JavaScript, no network), ``tables/`` (html, md, tex, csv) and ``figures/`` (PNG) beside it. An
empty or partial table still renders: missing cells are marked and listed.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import time
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd

from analysis.cached import cached_extras
from analysis.collect import read_tidy, write_csv
from analysis.environment import environment
from analysis.figures.common import Figure
from analysis.figures.training import flatten
from analysis.metrics import method_label
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
    score_extras,
)
from analysis.report_tables import anchors_view, build_tables, stats_tables
from analysis.runinfo import Run, read_json_object, runs_from_table
from analysis.stats import summarize
from interface.atomic import atomic_open
from interface.errors import InputError, cli_main
from interface.training.plugins import same_plugin
from interface.training.provenance import git_revision

log = logging.getLogger(__name__)
FIGURE_FAMILIES = {
    "geometry": "Margin geometry (from the loss modules)",
    "toy": "Toy embeddings",
    "learned": "Learned geometry of the trained runs",
    "training": "Training, ROC, run time and benchmarks",
}


def make_figures(
    table: pd.DataFrame,
    runs: list[Run],
    extras: dict[tuple[str, str], Any],
    bench: dict[str, Any],
    figures_dir: Path,
    plugins: list[str] | None = None,
) -> tuple[list[Figure], list[str], list[dict[str, Any]]]:
    """Draw every figure family; a family that fails is reported (its error), not fatal to the report.

    ``plugins`` (the loss plugins of the config, which the user wrote) are imported first, so user
    losses get geometry figures too.
    """
    from analysis.figures import geometry, learned, toy, training
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

    def learned_family() -> list[Figure | None]:
        separation.extend(learned.centre_separation(runs))
        return [
            learned.separation_figure(separation, figures_dir),
            learned.logged_angles_figure(runs, figures_dir),
            *learned.pair_cosine_figures(extras, runs, figures_dir),
        ]

    attempt("geometry", lambda: geometry.geometry_figures(figures_dir))
    attempt("toy", lambda: toy.toy_figure(figures_dir))
    attempt("learned", learned_family)
    attempt("training curves", lambda: training.training_curves_figure(runs, figures_dir))
    attempt("roc", lambda: training.roc_figures(extras, runs, figures_dir))
    attempt("runtime", lambda: training.runtime_figure(table, figures_dir))
    attempt("bench", lambda: training.bench_ratio_figure(bench, figures_dir))
    return figures, problems, separation


def eval_seconds(extras: dict[tuple[str, str], Any]) -> str:
    """Sum of the evaluator's per-benchmark ``extra.wall_time_s`` (s), or "unknown"."""
    times = [
        float(e["wall_time_s"]) for e in extras.values() if isinstance(e.get("wall_time_s"), int | float)
    ]
    return f"{sum(times):.0f} s over {len(times)} scorings" if times else "unknown"


def read_config(path: Path | None) -> dict[str, Any]:
    """The resolved workflow config (JSON object), ``{}`` when not given.

    Raises:
        InputError: the file is missing or not a JSON object.
    """
    return {} if path is None else read_json_object(path, "--config")


def matrix_view(runs: list[Run], benchmarks: dict[str, list[str]]) -> dict[str, Any]:
    """What the matrix contained: datasets, backbones, methods, seeds, benchmarks, run count."""
    return {
        "datasets": sorted({r.dataset for r in runs}),
        "backbones": sorted({r.backbone for r in runs}),
        "methods": sorted({method_label(*r.method) for r in runs}),
        "seeds": sorted({r.seed for r in runs if r.seed is not None}),
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
    cache_dir: Path | None = None,
) -> Path:
    """Write ``out/index.html`` with ``out/tables`` and ``out/figures``; return the index path."""
    started = time.time()
    table = read_tidy(scores)
    config = read_config(config_path)
    # the workflow's layout: results/tables/scores.csv beside results/scores and results/cache
    if score_jsons is None and (scores.parent.parent / "scores").is_dir():
        score_jsons = scores.parent.parent / "scores"
    if cache_dir is None and (scores.parent.parent / "cache").is_dir():
        cache_dir = scores.parent.parent / "cache"
    tables_dir, figures_dir = out / "tables", out / "figures"
    tables_dir.mkdir(parents=True, exist_ok=True)
    figures_dir.mkdir(parents=True, exist_ok=True)
    runs = merge_runs(runs_from_table(table, runs_dir), config_runs(config), runs_dir)
    benchmarks = expected_benchmarks(table, runs, config)
    summary = summarize(table)
    write_csv(summary, tables_dir / "summary.csv")
    mains, per_bench, missing_cells = build_tables(table, summary, runs, benchmarks, tables_dir, out)
    stat_views, n_comparisons = stats_tables(table, tables_dir, out)
    bench = read_json_dir(bench_dir)
    extras = cached_extras(cache_dir, config, {r.run_id: r.dataset for r in runs}, data_dir)
    for key, saved in score_extras(score_jsons).items():  # keys the evaluator saved itself win
        extras[key] = {**extras.get(key, {}), **saved}
    workflow_config = config.get("config") if isinstance(config.get("config"), dict) else config
    plugins = workflow_config.get("plugins") if isinstance(workflow_config.get("plugins"), list) else []
    plugins = list(dict.fromkeys(map(str, plugins)))
    figures, problems, separation = make_figures(table, runs, extras, bench, figures_dir, plugins)
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
        "eval_time": eval_seconds(score_extras(score_jsons)),
        "datasets": dataset_summaries(data_dir),
        "mains": mains,
        "per_bench": per_bench,
        "stats": stat_views,
        "n_comparisons": n_comparisons,
        "anchors": anchors_view(summary, tables_dir, out),
        "missing": missing_report(table, runs, benchmarks),
        "missing_cells": missing_cells,
        "problems": problems,
        "figures": {
            fam: [f for f in figure_views(figures, out) if f["family"] == fam] for fam in FIGURE_FAMILIES
        },
        "families": FIGURE_FAMILIES,
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


@cli_main
def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m analysis.report", description=__doc__.splitlines()[0].replace("``", "")
    )
    parser.add_argument("--scores", type=Path, required=True, help="tidy table written by analysis.collect")
    parser.add_argument("--runs", type=Path, help="folder of run folders (run.json, metrics.jsonl, head.pt)")
    parser.add_argument(
        "--data-dir", type=Path, help="folder of dataset folders (manifest, contact_sheet.png)"
    )
    parser.add_argument("--bench", type=Path, help="folder of bench JSON results")
    parser.add_argument("--config", type=Path, help="resolved workflow config (JSON)")
    parser.add_argument(
        "--score-jsons",
        type=Path,
        help="folder of <run>/<benchmark>.json for ROC and pair-cosine figures "
        "(default: ../../scores beside --scores when present)",
    )
    parser.add_argument(
        "--cache",
        type=Path,
        help="evaluator embedding cache <run>/<benchmark>.npz for pair cosines and IJB ROC "
        "(default: ../../cache beside --scores when present)",
    )
    parser.add_argument(
        "--out", type=Path, required=True, help="report folder (index.html, tables/, figures/)"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    index = build_report(
        args.scores, args.runs, args.data_dir, args.bench, args.config, args.out, args.score_jsons, args.cache
    )
    log.info("wrote %s", index)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
