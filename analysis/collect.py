"""``python -m analysis.collect``: score JSONs + run metadata -> the tidy table ``scores.csv``.

Score JSONs are read only as :class:`interface.contracts.score_record.ScoreRecord` (one format
version; another is refused with one line, which becomes the file's ``status``). One row per run x
benchmark x metric, joined with the run's wall time and images/s; ``kind`` is the record's
benchmark kind and ``evaluator`` its evaluator spec as one canonical JSON line (descriptive: the
analysis never parses it back). Verification folds (the record's ``extra.fold_accuracy``) become
extra rows with metric ``fold_accuracy`` and a ``fold`` index (descriptive only: folds of one
trained model are not replicates of training). ``resolved`` (true/false) and ``n_events`` (f * n
for a read-out at a rate f from n impostor comparisons, empty otherwise) come from each score row.

The score JSONs' per-item outcomes (``items``: {metric: [0|1, ...]}) go to a second file,
``items.npz``: one uint8 array per (run, benchmark, metric) under the key
``"<run_id>::<benchmark>::<metric>"`` (:func:`items_key`), for the paired item bootstrap of
:mod:`analysis.stats`.

Nothing is dropped silently: a run folder with no score file, an unreadable score JSON or a run
without ``run.json`` gives a row whose ``status`` says so (value empty), and the report lists it.
"""

from __future__ import annotations

import argparse
import logging
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.runinfo import run_metadata
from interface.atomic import atomic_open, atomic_path
from interface.contracts.score_record import ScoreRecord
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
    "kind",
    "metric",
    "value",
    "n",
    "evaluator",
    "fold",
    "wall_time_s",
    "images_per_s",
    "status",
    "resolved",
    "n_events",
    "external",  # run.json ``external: true``: a released checkpoint, a reference row, not a trained method
]
# Columns added after the first tidy tables were written: read_tidy fills them when absent.
OPTIONAL_COLUMNS = ("resolved", "n_events", "external", "kind")
TEXT_COLUMNS = (
    "run_id",
    "dataset",
    "backbone",
    "loss",
    "setting",
    "benchmark",
    "kind",
    "metric",
    "evaluator",
    "status",
)
FOLD_METRIC = "fold_accuracy"  # the key of a verification record's extra holding its per-fold accuracies
ITEMS_SEP = "::"


def items_key(run_id: str, benchmark: str, metric: str) -> str:
    """Key of one run's per-item outcomes in ``items.npz``: ``"<run_id>::<benchmark>::<metric>"``."""
    return ITEMS_SEP.join((run_id, benchmark, metric))


def _fold_values(extra: dict[str, Any]) -> list[float]:
    values = extra.get(FOLD_METRIC)
    if isinstance(values, list) and all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in values
    ):
        return [float(v) for v in values]
    return []


def score_rows(
    path: Path, run_id: str, meta: dict[str, Any], items: dict[str, np.ndarray] | None = None
) -> list[dict[str, Any]]:
    """Tidy rows of one score JSON; a bad file gives one row with ``status`` naming the problem.

    ``items``, when given, receives the file's per-item outcomes (:func:`score_items`).
    """
    base = {**meta, "run_id": run_id, "benchmark": path.stem}
    try:
        record = ScoreRecord.read(path)
    except InputError as exc:
        log.warning("%s", exc)
        return [{**base, "metric": "", "value": math.nan, "status": f"bad score file: {exc}"}]
    if record.run_id != run_id:
        problem = f"bad score file: {path} scores run {record.run_id!r}, not the run of its folder"
        log.warning("%s", problem)
        return [{**base, "metric": "", "value": math.nan, "status": problem}]
    base.update(benchmark=record.benchmark, kind=record.kind, evaluator=record.spec.canonical())
    if items is not None:
        items.update(score_items(record, path, run_id))
    status = "ok" if meta["run_status"] == "ok" else meta["run_status"]
    rows = [
        {
            **base,
            "metric": r.metric,
            "value": r.value,
            "n": float(r.n),
            "status": status,
            "resolved": r.resolved,
            "n_events": math.nan if r.n_events is None else r.n_events,
        }
        for r in record.rows
    ]
    rows += [
        {**base, "metric": FOLD_METRIC, "value": v, "fold": k, "status": status}
        for k, v in enumerate(_fold_values(record.extra))
    ]
    return rows


def score_items(record: ScoreRecord, path: Path, run_id: str) -> dict[str, np.ndarray]:
    """Per-item outcome arrays of one score record (read from ``path``), by :func:`items_key`.

    A list that is not all 0/1 integers is skipped with a warning (the statistics then fall back
    to the seed-only interval for that comparison).
    """
    out = {}
    for metric, values in record.items.items():
        arr = np.asarray(values)
        if arr.ndim != 1 or arr.dtype.kind not in "iub" or not np.isin(arr, (0, 1)).all():
            log.warning("%s: items[%r] is not a list of 0/1; ignored", path, metric)
            continue
        out[items_key(run_id, record.benchmark, metric)] = arr.astype(np.uint8)
    return out


def write_items(items: dict[str, np.ndarray], out: Path) -> None:
    """Write ``items`` atomically as a compressed ``.npz`` (one member per key)."""
    with atomic_open(out, "wb") as handle:
        np.savez_compressed(handle, **items)


def read_items(path: Path | None) -> dict[str, np.ndarray]:
    """Read ``items.npz`` back ({} when ``path`` is None or absent: the statistics then use seeds only).

    Raises:
        InputError: the file exists but is not a readable npz archive.
    """
    if path is None or not path.is_file():
        return {}
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {k: np.asarray(archive[k], dtype=np.uint8) for k in archive.files}
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: not a readable items archive ({exc})") from exc


def collect(scores_dir: Path, runs_dir: Path, items: dict[str, np.ndarray] | None = None) -> pd.DataFrame:
    """Build the tidy table from ``scores_dir/<run>/<benchmark>.json`` and ``runs_dir/<run>/run.json``.

    Every run folder and every score folder contributes: runs without scores give one row with
    ``status`` ``"no scores"`` (or the run's own problem, e.g. ``"no run.json"``). ``items``, when
    given, is filled with every score JSON's per-item outcomes (the JSONs are read once).
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
            rows.extend(score_rows(path, run_id, meta, items))
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
    for col in OPTIONAL_COLUMNS:
        if col not in table.columns:
            table[col] = np.nan
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
    for col in ("value", "n", "wall_time_s", "images_per_s", "n_events"):
        table[col] = pd.to_numeric(table[col], errors="coerce").astype(float)
    # absent (NaN) means resolved: rows written before the evaluator marked resolution
    table["resolved"] = [
        not (v is False or str(v).strip().lower() in ("false", "0")) for v in table["resolved"]
    ]
    table["resolved"] = table["resolved"].astype(bool)
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
    parser.add_argument(
        "--items",
        type=Path,
        help="per-item outcomes archive to write (atomically; default: items.npz beside --out)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    for flag, folder in (("--scores", args.scores), ("--runs", args.runs)):
        if not folder.is_dir():
            raise InputError(f"{flag} {folder}: not found; expected a folder with one sub-folder per run id")
    items: dict[str, np.ndarray] = {}
    table = collect(args.scores, args.runs, items)
    write_csv(table, args.out)
    write_items(items, args.items or args.out.parent / "items.npz")
    bad = table[table["status"] != "ok"]
    log.info(
        "wrote %s: %d rows, %d runs, %d rows flagged, %d unresolved; %d item arrays",
        args.out,
        len(table),
        table["run_id"].nunique(),
        len(bad),
        int((~table["resolved"]).sum()),
        len(items),
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
