"""What the report reads besides the tidy table: the score records (their plots and timings), the
resolved config, dataset folders, bench results, run folders; and what it derives from them (expected runs and
benchmarks, the list of missing results, the run index, figure views).
"""

from __future__ import annotations

import json
import logging
import math
import os
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.figures.common import Figure
from analysis.runinfo import Run, run_folder, run_record
from analysis.stats import valid_rows
from interface.atomic import copy_file
from interface.contracts.score_record import Plots, ScoreRecord
from interface.errors import InputError
from interface.untrusted import plain_name

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


def score_records(scores_dir: Path | None) -> dict[tuple[str, str], ScoreRecord]:
    """``{(run_id, benchmark): record}`` of every ``scores_dir/<run>/<benchmark>.json`` that reads as
    a score record (the collector has already listed the others in the table's ``status``)."""
    out: dict[tuple[str, str], ScoreRecord] = {}
    if scores_dir is None or not scores_dir.is_dir():
        return out
    for path in sorted(scores_dir.glob("*/*.json")):
        try:
            record = ScoreRecord.read(path)
        except InputError as exc:
            log.warning("score record not drawn: %s", exc)
            continue
        if record.run_id != path.parent.name:
            log.warning("score record not drawn: %s scores run %r, not its folder's", path, record.run_id)
            continue
        out[(path.parent.name, record.benchmark)] = record
    return out


def score_plots(scores_dir: Path | None) -> dict[tuple[str, str], Plots]:
    """``{(run_id, benchmark): plots}``: what the ROC and pair-score figures draw."""
    return {key: record.plots for key, record in score_records(scores_dir).items()}


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
    for i, entry in enumerate(config.get("runs") or []):
        if isinstance(entry, dict) and entry.get("run_id"):
            seed = entry.get("seed")
            out.append(
                Run(
                    plain_name(entry["run_id"], f"config key runs[{i}].run_id"),
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
            known[run.run_id] = Run(
                run.run_id,
                run.dataset,
                run.backbone,
                run.loss,
                run.setting,
                run.seed,
                run_folder(runs_dir, run.run_id),
            )
    return [known[k] for k in sorted(known)]


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


def copy_contact_sheets(data_dir: Path | None, figures_dir: Path) -> list[dict[str, str]]:
    """Copy ``<data_dir>/<dataset>/contact_sheet.png`` into the report; return (dataset, file) views."""
    sheets = []
    if data_dir is None or not data_dir.is_dir():
        return sheets
    for src in sorted(data_dir.glob("*/contact_sheet.png")):
        dest = figures_dir / f"contact_sheet_{src.parent.name}.png"
        figures_dir.mkdir(parents=True, exist_ok=True)
        copy_file(src, dest)
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


RUN_FILES = ("RUN.yaml", "run.json", "metrics.jsonl", "train.log")


def run_files(run: Run, results_dir: Path | None, score_jsons: Path | None) -> list[Path]:
    """A run's config, metadata, metrics and log, the workflow's per-rule logs
    (``results/logs/<rule>/<run_id>.log``) and its score JSONs, those that exist."""
    files = [run.dir / name for name in RUN_FILES] if run.dir is not None else []
    if results_dir is not None:
        files += sorted((results_dir / "logs").glob(f"*/{run.run_id}.log"))
    if score_jsons is not None:
        files += sorted((score_jsons / run.run_id).glob("*.json"))
    return [f for f in files if f.is_file()]


def run_index(
    runs: list[Run],
    table: pd.DataFrame,
    out_dir: Path,
    results_dir: Path | None = None,
    score_jsons: Path | None = None,
) -> list[dict[str, Any]]:
    """One entry per run: identity, status, time and relative links to its config, metrics, logs and scores."""
    status = table.groupby("run_id")["status"].agg(
        lambda s: "ok" if (s == "ok").all() else "; ".join(sorted(set(s)))
    )
    meta = table.drop_duplicates("run_id").set_index("run_id")
    out = []
    for run in runs:
        links = [
            {
                "name": f"{f.parent.name} log" if f.parent.parent.name == "logs" else f.name,
                "href": os.path.relpath(f, out_dir),
            }
            for f in run_files(run, results_dir, score_jsons)
        ]
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


def figure_views(figures: list[Figure], out_dir: Path) -> list[dict[str, str]]:
    """Template view of each figure: relative src (PNG) and svg, title, caption, alt text, family."""
    return [
        {
            "src": os.path.relpath(f.path, out_dir),
            "svg": os.path.relpath(f.svg, out_dir) if f.svg.is_file() else "",
            "title": f.title,
            "caption": f.caption,
            "alt": f.alt,
            "family": f.family,
        }
        for f in figures
    ]


def run_plugins(runs: list[Run]) -> list[str]:
    """Loss plugins (module names or .py paths) listed in the runs' run.json ``config.plugins``."""
    out: list[str] = []
    for run in runs:
        try:
            record = run_record(run.dir) if run.dir else None
        except InputError:
            continue
        if record is not None:
            out += [p for p in record.plugins if p not in out]
    return out
