"""Reading one run folder (``results/runs/<run_id>/``): its identity and its run metadata.

The run id (:class:`interface.contracts.run_id.RunId`) gives dataset, backbone, loss, setting, seed;
``run.json`` is read only as its run record (:func:`interface.contracts.run_record.read_run_record`:
the trainer's or the importer's, format-checked), whose ``tags`` (the workflow puts dataset,
setting and run_id there), wall time and images/s join the table. Both sources are read; run.json
wins where it has a value, the run id fills the rest, so a run whose training failed before
writing run.json still has a dataset, backbone, loss, setting and seed in the table.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from interface.contracts.run_id import RunId
from interface.contracts.run_record import RUN_RECORD_NAME, AnyRunRecord, RunRecord, read_run_record
from interface.errors import InputError
from interface.textfiles import read_text

RUN_ID_FIELDS = ("dataset", "backbone", "loss", "setting", "seed")


def read_json_object(path: Path, label: str = "") -> dict[str, Any]:
    """Parse ``path`` as a JSON object; ``label`` (e.g. ``--config``) prefixes error messages.

    Raises:
        InputError: the file is unreadable, not JSON, or not a JSON object.
    """
    where = f"{label} {path}".strip()
    try:
        data = json.loads(read_text(path))  # UTF-8 with or without BOM (a hand-edited config)
    except (OSError, ValueError) as exc:
        raise InputError(f"{where}: not readable JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise InputError(f"{where}: expected a JSON object, got {type(data).__name__}")
    return data


def run_record(run_dir: Path) -> AnyRunRecord | None:
    """The run record in ``run_dir/run.json``, or None when the file is absent.

    Raises:
        InputError: the file exists but is not a run record this version reads (one line naming it).
    """
    path = run_dir / RUN_RECORD_NAME
    return read_run_record(path) if path.is_file() else None


def record_identity(record: AnyRunRecord) -> dict[str, Any]:
    """The identity fields a run record states: the trained run's backbone, loss and seed, then
    its ``tags`` (dataset, setting; an imported model's loss and seed) over them."""
    stated: dict[str, Any] = {"backbone": record.backbone}
    if isinstance(record, RunRecord):
        stated.update(loss=record.loss, seed=record.seed)
    stated.update({k: record.tags[k] for k in RUN_ID_FIELDS if k in record.tags})
    # only a plain string (an int for the seed) is an identity value
    return {
        k: v
        for k, v in stated.items()
        if (isinstance(v, int) and not isinstance(v, bool) if k == "seed" else isinstance(v, str) and bool(v))
    }


def as_float(value: Any) -> float:
    """``float(value)``, or NaN when it is missing or not a number."""
    try:
        out = float(value)
    except (TypeError, ValueError):
        return math.nan
    return out


def run_metadata(run_id: str, run_dir: Path | None) -> dict[str, Any]:
    """Identity fields plus ``wall_time_s``, ``images_per_s``, ``external`` and ``run_status`` for one run.

    ``run_status`` is ``"ok"``, ``"no run.json"`` (training did not finish) or ``"bad run.json: ..."``.
    """
    try:
        ident = RunId.parse(run_id)
        meta: dict[str, Any] = {field: getattr(ident, field) for field in RUN_ID_FIELDS}
    except InputError:
        meta = dict.fromkeys(RUN_ID_FIELDS, "")
    meta.update(wall_time_s=math.nan, images_per_s=math.nan, external=False, run_status="no run.json")
    if run_dir is None:
        return meta
    try:
        record = run_record(run_dir)
    except InputError as exc:
        meta["run_status"] = f"bad run.json: {exc}"
        return meta
    if record is None:
        return meta
    meta.update(record_identity(record))
    meta["wall_time_s"] = as_float(record.wall_time_s)
    meta["images_per_s"] = as_float(record.images_per_s)
    meta["external"] = record.external
    meta["run_status"] = "ok"
    return meta


def read_metrics(run_dir: Path) -> list[dict[str, Any]]:
    """Records of ``run_dir/metrics.jsonl`` (one JSON object a line); unreadable lines are skipped.

    A run killed mid-write can leave a torn last line; the report shows the rest rather than fail.
    """
    path = run_dir / "metrics.jsonl"
    if not path.is_file():
        return []
    records = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if isinstance(rec, dict):
            records.append(rec)
    return records


def stat_value(record: dict[str, Any], name: str) -> float:
    """``record[name]`` (a metrics.jsonl line's key, as the trainer writes it) as float; NaN if absent."""
    return as_float(record.get(name))


@dataclass(frozen=True)
class Run:
    """One run of the matrix as the report sees it; ``dir`` is None when the run folder is absent."""

    run_id: str
    dataset: str
    backbone: str
    loss: str
    setting: str
    seed: int | None
    dir: Path | None

    @property
    def method(self) -> tuple[str, str]:
        return (self.loss, self.setting)


def run_folder(runs_dir: Path | None, run_id: str) -> Path | None:
    """``runs_dir/run_id`` when that folder exists, else None."""
    return runs_dir / run_id if runs_dir is not None and (runs_dir / run_id).is_dir() else None


def runs_from_table(table: Any, runs_dir: Path | None) -> list[Run]:
    """One :class:`Run` per distinct ``run_id`` of the tidy table (sorted), with its folder if present."""
    out = []
    for run_id, grp in table.groupby("run_id", sort=True):
        row = grp.iloc[0]
        folder = run_folder(runs_dir, str(run_id))
        seed = None if row["seed"] is None or str(row["seed"]) in ("", "<NA>", "nan") else int(row["seed"])
        out.append(
            Run(
                str(run_id),
                str(row["dataset"]),
                str(row["backbone"]),
                str(row["loss"]),
                str(row["setting"]),
                seed,
                folder,
            )
        )
    return out
