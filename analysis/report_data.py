"""Everything the HTML report shows, assembled from the tidy table, runs, data, bench and config.

The result is a plain dict (the Jinja2 context) plus the files it refers to, written under the
report folder: ``tables/`` (every table as html/md/tex/csv) and ``figures/`` (PNG).
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
from pathlib import Path
from typing import Any

import pandas as pd

from analysis import render
from analysis.anchors import load_published, match_published
from analysis.figures.common import Figure
from analysis.metrics import primary_metrics
from analysis.runinfo import Run
from analysis.stats import compare, valid_rows, wins
from analysis.tables import Cell, Table, main_table, metric_table

log = logging.getLogger(__name__)


def read_json_dir(folder: Path | None) -> dict[str, Any]:
    """``{stem: parsed JSON}`` of every ``*.json`` in ``folder`` (unreadable files map to an error string)."""
    out: dict[str, Any] = {}
    if folder is None or not folder.is_dir():
        return out
    for path in sorted(folder.glob("*.json")):
        try:
            out[path.stem] = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            out[path.stem] = f"unreadable: {exc}"
    return out


def score_extras(scores_dir: Path | None) -> dict[tuple[str, str], Any]:
    """``{(run_id, benchmark): extra}`` from ``scores_dir/<run>/<benchmark>.json`` (for ROC and pair figures)."""
    out: dict[tuple[str, str], Any] = {}
    if scores_dir is None or not scores_dir.is_dir():
        return out
    for path in sorted(scores_dir.glob("*/*.json")):
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(doc, dict) and isinstance(doc.get("extra"), dict):
            out[(path.parent.name, str(doc.get("benchmark") or path.stem))] = doc["extra"]
    return out


def _spec_name(spec: Any) -> str:
    return str(spec.get("benchmark") or spec.get("name") or "") if isinstance(spec, dict) else str(spec)


def expected_benchmarks(table: pd.DataFrame, runs: list[Run], config: dict[str, Any]) -> dict[str, list[str]]:
    """Benchmarks per dataset: those scored in the table plus those the config declares.

    ``config["benchmarks"]`` is either ``{dataset: [spec with "benchmark" or "name", ...]}`` (the
    workflow's resolved config) or a plain list applying to every dataset.
    """
    out: dict[str, set[str]] = {r.dataset: set() for r in runs}
    for dataset, bench in table[table["benchmark"] != ""][["dataset", "benchmark"]].itertuples(index=False):
        out.setdefault(str(dataset), set()).add(str(bench))
    declared = config.get("benchmarks")
    if isinstance(declared, dict):
        for dataset, specs in declared.items():
            if isinstance(specs, list) and str(dataset) in out:
                out[str(dataset)] |= {_spec_name(sp) for sp in specs if _spec_name(sp)}
    elif isinstance(declared, list):
        for names in out.values():
            names |= {_spec_name(sp) for sp in declared if _spec_name(sp)}
    return {dataset: sorted(names) for dataset, names in sorted(out.items())}


def config_runs(config: dict[str, Any]) -> list[Run]:
    """Runs the resolved config declares (``runs``: objects with run_id, dataset, backbone, loss, setting, seed)."""
    out = []
    for entry in config.get("runs") or []:
        if isinstance(entry, dict) and entry.get("run_id"):
            seed = entry.get("seed")
            out.append(
                Run(
                    str(entry["run_id"]),
                    str(entry.get("dataset", "")),
                    str(entry.get("backbone", "")),
                    str(entry.get("loss", "")),
                    str(entry.get("setting", "")),
                    seed if isinstance(seed, int) else None,
                    None,
                )
            )
    return out


def merge_runs(from_table: list[Run], declared: list[Run], runs_dir: Path | None) -> list[Run]:
    """Runs of the table plus declared runs the table lacks (e.g. never trained), sorted by id."""
    known = {r.run_id: r for r in from_table}
    for run in declared:
        if run.run_id not in known:
            folder = (
                runs_dir / run.run_id if runs_dir is not None and (runs_dir / run.run_id).is_dir() else None
            )
            known[run.run_id] = Run(
                run.run_id, run.dataset, run.backbone, run.loss, run.setting, run.seed, folder
            )
    return [known[k] for k in sorted(known)]


def table_dict(table: Table, files: dict[str, Path], out_dir: Path) -> dict[str, Any]:
    """Template view of a table: its HTML and relative links to its four files."""
    return {
        "title": table.title,
        "html": render.to_html(table),
        "slug": table.slug,
        "files": {ext: os.path.relpath(p, out_dir) for ext, p in files.items()},
    }


def frame_table(
    frame: pd.DataFrame, title: str, slug: str, index: str, notes: list[str] | None = None, digits: int = 4
) -> Table:
    """A plain (unranked) :class:`Table` of a DataFrame, numbers shown with ``digits`` significant digits."""
    columns = [c for c in frame.columns if c != index]
    rows = [(str(rec[index]), [text_cell(rec[c], digits) for c in columns]) for _, rec in frame.iterrows()]
    return Table(title=title, index_name=index, columns=columns, rows=rows, notes=notes or [], slug=slug)


def text_cell(value: Any, digits: int = 4) -> Cell:
    """A never-ranked cell showing ``value`` as text (floats to ``digits`` significant digits; NaN "n/a")."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return Cell(text="n/a")  # not computable (e.g. a test on one pair), not a missing result
    if isinstance(value, bool):
        return Cell(text="yes" if value else "no")
    if isinstance(value, float):
        return Cell(text=f"{value:.{digits}g}")
    return Cell(text=str(value))


def missing_report(table: pd.DataFrame, runs: list[Run], benchmarks: dict[str, list[str]]) -> list[str]:
    """Human-readable list of what is missing: failed runs, bad score files, absent run x benchmark cells."""
    lines = (
        [] if len(table) else ["the score table has no rows: no run has been trained, scored and collected"]
    )
    for _, row in (
        table[table["status"] != "ok"].drop_duplicates(["run_id", "benchmark", "status"]).iterrows()
    ):
        where = f"{row['run_id']}" + (f" / {row['benchmark']}" if row["benchmark"] else "")
        lines.append(f"{where}: {row['status']}")
    scored = {(r, b) for r, b in valid_rows(table)[["run_id", "benchmark"]].itertuples(index=False)}
    flagged = {
        (r, b) for r, b in table[table["status"] != "ok"][["run_id", "benchmark"]].itertuples(index=False)
    }
    for run in runs:
        absent = [
            b
            for b in benchmarks.get(run.dataset, [])
            if (run.run_id, b) not in scored and (run.run_id, b) not in flagged
        ]
        if absent and (run.run_id, "") not in flagged:
            lines.append(f"{run.run_id}: no score for {', '.join(absent)}")
    return lines


def build_tables(
    table: pd.DataFrame,
    summary: pd.DataFrame,
    runs: list[Run],
    benchmarks: dict[str, list[str]],
    tables_dir: Path,
    out_dir: Path,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[str]]:
    """Main and per-benchmark tables for every dataset x backbone; returns views and missing cells."""
    heads = primary_metrics(valid_rows(table)) if len(valid_rows(table)) else {}
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
        mains.append(table_dict(t, render.write_table(t, tables_dir), out_dir))
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
            per_bench.append(table_dict(bt, render.write_table(bt, tables_dir), out_dir))
    return mains, per_bench, missing


def copy_contact_sheets(data_dir: Path | None, figures_dir: Path) -> list[dict[str, str]]:
    """Copy ``<data_dir>/<dataset>/contact_sheet.png`` into the report; return (dataset, file) views."""
    sheets = []
    if data_dir is None or not data_dir.is_dir():
        return sheets
    for src in sorted(data_dir.glob("*/contact_sheet.png")):
        dest = figures_dir / f"contact_sheet_{src.parent.name}.png"
        figures_dir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dest)
        dest.chmod(0o644)
        sheets.append({"dataset": src.parent.name, "path": dest})
    return sheets


def dataset_summaries(data_dir: Path | None) -> list[dict[str, Any]]:
    """Name, path and manifest headline (classes, images, generator) of each dataset folder."""
    out = []
    if data_dir is None or not data_dir.is_dir():
        return out
    for folder in sorted(p for p in data_dir.iterdir() if p.is_dir()):
        info: dict[str, Any] = {"name": folder.name, "path": str(folder)}
        manifest = folder / "manifest.json"
        if manifest.is_file():
            try:
                doc = json.loads(manifest.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                doc = {}
            if isinstance(doc, dict):
                info.update(
                    {k: v for k, v in doc.items() if isinstance(v, str | int | float) and k != "files"}
                )
        out.append(info)
    return out


def run_index(runs: list[Run], table: pd.DataFrame, out_dir: Path) -> list[dict[str, Any]]:
    """One entry per run: identity, status, time and relative links to its config, metrics and log files."""
    status = table.groupby("run_id")["status"].agg(
        lambda s: "ok" if (s == "ok").all() else "; ".join(sorted(set(s)))
    )
    meta = table.drop_duplicates("run_id").set_index("run_id")
    out = []
    for run in runs:
        links = []
        if run.dir is not None:
            for name in ("run.json", "config.yaml", "run.yaml", "RUN.yaml", "metrics.jsonl", "train.log"):
                if (run.dir / name).is_file():
                    links.append({"name": name, "href": os.path.relpath(run.dir / name, out_dir)})
        wall = meta.loc[run.run_id, "wall_time_s"] if run.run_id in meta.index else math.nan
        ips = meta.loc[run.run_id, "images_per_s"] if run.run_id in meta.index else math.nan
        out.append(
            {
                "run": run,
                "status": status.get(run.run_id, "not in the score table"),
                "links": links,
                "wall": "" if not math.isfinite(wall) else f"{wall:.1f}",
                "ips": "" if not math.isfinite(ips) else f"{ips:.1f}",
            }
        )
    return out


def stats_tables(table: pd.DataFrame, tables_dir: Path, out_dir: Path) -> tuple[list[dict[str, Any]], int]:
    """Wins table and full paired-comparison table; returns views and the number of comparisons."""
    comparisons = compare(table)
    views = []
    if comparisons.empty:
        return views, 0
    w = wins(comparisons)
    w = w.assign(summary=[f"wins on {r.wins} of {r.n_benchmarks}" for r in w.itertuples()])
    w.insert(
        0, "comparison", [f"{r.dataset}/{r.backbone}: {r.method} vs {r.baseline}" for r in w.itertuples()]
    )
    wt = frame_table(
        w.drop(columns=["dataset", "backbone", "method", "baseline"]),
        "Wins per InterFace setting",
        "wins",
        "comparison",
        [
            "A win (loss) counts only where the paired t-test gives p < 0.05 and the mean difference "
            "favours InterFace (the baseline); ties and untestable benchmarks (fewer than 2 pairs) are "
            "not counted."
        ],
    )
    views.append(table_dict(wt, render.write_table(wt, tables_dir), out_dir))
    c = comparisons.copy()
    c.insert(
        0,
        "comparison",
        [f"{r.dataset}/{r.backbone}/{r.benchmark}: {r.method} vs {r.baseline}" for r in c.itertuples()],
    )
    ct = frame_table(
        c.drop(columns=["dataset", "backbone", "benchmark", "method", "baseline"]),
        "Paired comparisons (headline metric, method − baseline, fractions)",
        "comparisons",
        "comparison",
        [
            "Paired over seeds; over seed x fold where both runs saved verification fold accuracies "
            "(folds of one seed share the threshold search, so that p-value is optimistic). "
            "Effect size: Cohen's d_z = mean(diff)/sd(diff)."
        ],
    )
    views.append(table_dict(ct, render.write_table(ct, tables_dir), out_dir))
    return views, len(comparisons)


def anchors_view(summary: pd.DataFrame, tables_dir: Path, out_dir: Path) -> dict[str, Any]:
    """Published numbers next to matching reproduced ones, and the full published list's file."""
    published = load_published()
    matched = match_published(summary, published)
    full = tables_dir / "published.csv"
    published.to_csv(full, index=False)
    view: dict[str, Any] = {
        "n_published": len(published),
        "csv": os.path.relpath(full, out_dir),
        "table": None,
    }
    if len(matched):
        m = matched.copy()
        m.insert(
            0,
            "row",
            [
                f"{r.dataset}/{r.backbone}/{r.loss} ({r.setting}) {r.benchmark} {r.metric}"
                for r in m.itertuples()
            ],
        )
        t = frame_table(
            m.drop(columns=["dataset", "backbone", "loss", "setting", "benchmark", "metric"]),
            "Reproduced vs published (percent)",
            "anchors",
            "row",
            [
                "difference = reproduced − published in percentage points; within = |difference| ≤ "
                "tolerance_pp."
            ],
        )
        view["table"] = table_dict(t, render.write_table(t, tables_dir), out_dir)
    return view


def figure_views(figures: list[Figure], out_dir: Path) -> list[dict[str, str]]:
    """Template view of each figure: relative src, title, caption, alt text, family."""
    return [
        {
            "src": os.path.relpath(f.path, out_dir),
            "title": f.title,
            "caption": f.caption,
            "alt": f.alt,
            "family": f.family,
        }
        for f in figures
    ]
