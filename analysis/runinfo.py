"""Reading one run folder (``results/runs/<run_id>/``): its identity and its run metadata.

The run id (:class:`interface.contracts.run_id.RunId`) gives dataset, backbone, loss, setting, seed;
``run.json`` (written by the trainer) holds the resolved config, ``tags`` (the workflow puts
dataset, setting and run_id there), wall time and images/s. Both sources are read; run.json wins
where it has a value, the run id fills the rest, so a run whose training failed before writing
run.json still has a dataset, backbone, loss, setting and seed in the table.
"""

from __future__ import annotations

import json
import math
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from interface.contracts.run_id import RunId
from interface.errors import InputError
from interface.textfiles import read_text

RUN_ID_FIELDS = ("dataset", "backbone", "loss", "setting", "seed")

# run.json key spellings accepted for the joined metadata; the trainer owns run.json, so the
# reader looks for the first of these at the shallowest depth rather than one fixed path.
WALL_TIME_KEYS = ("wall_time_s", "wall_time", "train_time_s", "elapsed_s")
IMAGES_PER_S_KEYS = ("images_per_s", "images_per_sec", "img_per_s", "throughput_images_per_s")


def find_key(obj: Any, keys: tuple[str, ...]) -> Any:
    """Return the value of the first of ``keys`` found at the shallowest depth of nested dicts, or None."""
    queue: deque[Any] = deque([obj])
    while queue:
        level = [queue.popleft() for _ in range(len(queue))]
        for node in level:
            if isinstance(node, dict):
                for key in keys:
                    if key in node and node[key] is not None:
                        return node[key]
        for node in level:
            if isinstance(node, dict):
                queue.extend(v for v in node.values() if isinstance(v, dict))
    return None


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


def read_run_json(run_dir: Path) -> dict[str, Any] | None:
    """Return the parsed ``run.json`` of ``run_dir``, or None when it is absent.

    Raises:
        InputError: when the file exists but is not a JSON object.
    """
    path = run_dir / "run.json"
    return read_json_object(path) if path.is_file() else None


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
        info = read_run_json(run_dir)
    except InputError as exc:
        meta["run_status"] = f"bad run.json: {exc}"
        return meta
    if info is None:
        return meta
    tags = info.get("tags") if isinstance(info.get("tags"), dict) else {}
    for field in RUN_ID_FIELDS:
        value = tags.get(field)
        if value is None:
            value = find_key(info, (field,))
        # Only a plain string (an int for the seed) is an identity value; a number under the key
        # "loss" (a logged loss value) is not.
        is_seed = isinstance(value, int) and not isinstance(value, bool)
        if is_seed if field == "seed" else isinstance(value, str) and bool(value):
            meta[field] = value
    meta["wall_time_s"] = as_float(find_key(info, WALL_TIME_KEYS))
    meta["images_per_s"] = as_float(find_key(info, IMAGES_PER_S_KEYS))
    meta["external"] = info.get("external") is True  # written by ``python -m interface import``
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
    """``record[name]`` as float, also accepting a prefixed key (``loss/theta_y_mean``, ``stats.x``); NaN if absent."""
    if name in record:
        return as_float(record[name])
    for key, value in record.items():
        if key.endswith(("/" + name, "." + name, "_" + name)):
            return as_float(value)
    nested = find_key(record, (name,))
    return as_float(nested)


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
