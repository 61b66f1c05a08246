"""``python -m analysis.collect``: score JSONs + run metadata -> the tidy table ``scores.csv``.

One row per run x benchmark x metric (CONTRACTS.md "Tidy table"), joined with the run's wall time
and images/s. Verification folds found in a score JSON's ``extra`` become extra rows with metric
``fold_accuracy`` and a ``fold`` index, so the statistics can pair over seeds and folds.

Nothing is dropped silently: a run folder with no score file, an unreadable score JSON or a run
without ``run.json`` gives a row whose ``status`` says so (value empty), and the report lists it.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
from pathlib import Path
from typing import Any

import pandas as pd

from analysis.runinfo import as_float, run_metadata
from interface.atomic import atomic_path
from interface.errors import InputError, cli_main
from interface.untrusted import plain_name

log = logging.getLogger(__name__)

TIDY_COLUMNS = [
    "run_id",
    "dataset",
    "backbone",
    "loss",
    "setting",
    "seed",
    "benchmark",
    "metric",
    "value",
    "n",
    "evaluator",
    "fold",
    "wall_time_s",
    "images_per_s",
    "status",
    "external",  # run.json ``external: true``: a released checkpoint, a reference row, not a trained method
]
TEXT_COLUMNS = (
    "run_id",
    "dataset",
    "backbone",
    "loss",
    "setting",
    "benchmark",
    "metric",
    "evaluator",
    "status",
)
FOLD_METRIC = "fold_accuracy"
# Keys of a verification score JSON's ``extra`` that may hold the per-fold accuracies (fractions).
FOLD_KEYS = ("fold_accuracy", "fold_accuracies", "accuracy_folds")


def evaluator_spec(doc: dict[str, Any]) -> str:
    """Canonical one-line evaluator description: the score JSON's kind plus its spec, keys sorted."""
    spec = doc.get("spec") if isinstance(doc.get("spec"), dict) else {}
    return json.dumps({"kind": doc.get("kind"), **spec}, sort_keys=True, separators=(",", ":"), default=str)


def read_score_json(path: Path) -> dict[str, Any]:
    """Parse one ``<benchmark>.json`` written by ``python -m interface evaluate``.

    Raises:
        InputError: not JSON, not an object, or ``rows`` missing / not a list of objects with
            ``metric`` and ``value``.
    """
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: not readable JSON ({exc})") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("rows"), list):
        raise InputError(f"{path}: expected an object with a 'rows' list (evaluate's score JSON)")
    for i, row in enumerate(doc["rows"]):
        if not isinstance(row, dict) or "metric" not in row or "value" not in row:
            raise InputError(f"{path}: rows[{i}] lacks 'metric' or 'value'")
    return doc


def _fold_values(extra: Any) -> list[float]:
    if not isinstance(extra, dict):
        return []
    for key in FOLD_KEYS:
        values = extra.get(key)
        if isinstance(values, list) and all(isinstance(v, int | float) for v in values):
            return [float(v) for v in values]
    return []


def score_rows(path: Path, run_id: str, meta: dict[str, Any]) -> list[dict[str, Any]]:
    """Tidy rows of one score JSON; a bad file gives one row with ``status`` naming the problem."""
    benchmark = path.stem
    base = {**meta, "run_id": run_id, "benchmark": benchmark}
    try:
        doc = read_score_json(path)
    except InputError as exc:
        log.warning("%s", exc)
        return [{**base, "metric": "", "value": math.nan, "status": f"bad score file: {exc}"}]
    benchmark = str(doc.get("benchmark") or benchmark)
    base["benchmark"] = benchmark
    evaluator = evaluator_spec(doc)
    status = "ok" if meta["run_status"] == "ok" else meta["run_status"]
    rows = [
        {
            **base,
            "metric": str(r["metric"]),
            "value": as_float(r["value"]),
            "n": as_float(r.get("n")),
            "evaluator": evaluator,
            "status": status,
        }
        for r in doc["rows"]
    ]
    rows += [
        {**base, "metric": FOLD_METRIC, "value": v, "fold": k, "evaluator": evaluator, "status": status}
        for k, v in enumerate(_fold_values(doc.get("extra")))
    ]
    return rows


def collect(scores_dir: Path, runs_dir: Path) -> pd.DataFrame:
    """Build the tidy table from ``scores_dir/<run>/<benchmark>.json`` and ``runs_dir/<run>/run.json``.

    Every run folder and every score folder contributes: runs without scores give one row with
    ``status`` ``"no scores"`` (or the run's own problem, e.g. ``"no run.json"``).
    """
    for folder, flag in ((scores_dir, "--scores"), (runs_dir, "--runs")):
        if folder.exists() and not folder.is_dir():
            raise InputError(f"{flag} {folder}: expected a folder")
    run_ids = {p.name for p in runs_dir.iterdir() if p.is_dir()} if runs_dir.is_dir() else set()
    score_ids = {p.name for p in scores_dir.iterdir() if p.is_dir()} if scores_dir.is_dir() else set()
    rows: list[dict[str, Any]] = []
    for run_id in sorted(run_ids | score_ids):
        run_dir = runs_dir / run_id if run_id in run_ids else None
        meta = run_metadata(run_id, run_dir)
        files = sorted((scores_dir / run_id).glob("*.json")) if run_id in score_ids else []
        if not files:
            status = "no scores" if meta["run_status"] == "ok" else meta["run_status"]
            rows.append(
                {**meta, "run_id": run_id, "benchmark": "", "metric": "", "value": math.nan, "status": status}
            )
        for path in files:
            rows.extend(score_rows(path, run_id, meta))
    table = normalise(pd.DataFrame(rows, columns=[*TIDY_COLUMNS, "run_status"]).drop(columns="run_status"))
    return table.sort_values(["run_id", "benchmark", "metric", "fold"], na_position="first").reset_index(
        drop=True
    )


def read_tidy(path: Path) -> pd.DataFrame:
    """Read ``scores.csv`` back with the column types of :func:`collect`.

    Raises:
        InputError: file missing, a contract column absent, or a run id that is not a plain name.
    """
    if not path.is_file():
        raise InputError(f"{path}: tidy score table not found (run python -m analysis.collect first)")
    table = pd.read_csv(path, keep_default_na=True, dtype={"setting": str, "benchmark": str, "metric": str})
    missing = [c for c in TIDY_COLUMNS if c not in table.columns]
    if missing:
        raise InputError(
            f"{path}: missing column(s) {', '.join(missing)}; expected {', '.join(TIDY_COLUMNS)}"
        )
    table = normalise(table)
    for run_id in table["run_id"].unique():  # the report joins each to the runs, scores, cache folders
        plain_name(run_id, f"{path} column run_id")
    return table


def normalise(table: pd.DataFrame) -> pd.DataFrame:
    """Column types of the tidy table: text columns str ("" when absent), seed/fold Int64, numbers float."""
    for col in TEXT_COLUMNS:
        table[col] = table[col].fillna("").astype(str)
    for col in ("seed", "fold"):
        table[col] = pd.to_numeric(table[col], errors="coerce").astype("Int64")
    for col in ("value", "n", "wall_time_s", "images_per_s"):
        table[col] = pd.to_numeric(table[col], errors="coerce").astype(float)
    table["external"] = [v is True or str(v).lower() == "true" for v in table["external"]]
    return table


def write_csv(table: pd.DataFrame, out: Path) -> None:
    """Write a table atomically as CSV (no index column)."""
    with atomic_path(out) as tmp:
        table.to_csv(tmp, index=False)


@cli_main
def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m analysis.collect", description=__doc__.splitlines()[0].replace("``", "")
    )
    parser.add_argument("--scores", type=Path, required=True, help="folder of <run_id>/<benchmark>.json")
    parser.add_argument("--runs", type=Path, required=True, help="folder of <run_id>/run.json")
    parser.add_argument("--out", type=Path, required=True, help="tidy CSV to write (atomically)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    for flag, folder in (("--scores", args.scores), ("--runs", args.runs)):
        if not folder.is_dir():
            raise InputError(f"{flag} {folder}: not found; expected a folder with one sub-folder per run id")
    table = collect(args.scores, args.runs)
    write_csv(table, args.out)
    bad = table[table["status"] != "ok"]
    log.info(
        "wrote %s: %d rows, %d runs, %d rows flagged",
        args.out,
        len(table),
        table["run_id"].nunique(),
        len(bad),
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
