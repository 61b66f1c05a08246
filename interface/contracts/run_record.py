"""The run record ``RUN_DIR/run.json``: what a finished run folder says about its model.

Two stages write one: the trainer (:class:`RunRecord`, format :data:`RUN_FORMAT`) and
``python -m interface import`` for a released checkpoint (:class:`ImportedRunRecord`, format
:data:`IMPORTED_RUN_FORMAT`, ``external: true``). The evaluator and the analysis read either with
:func:`read_run_record`; each record reads back only its own format tag, and every key it
declares must be present with its type (one line naming the file and the key otherwise).
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Union

from interface.contracts.versioned import FORMAT_KEY, RecordFormat
from interface.errors import InputError
from interface.textfiles import read_text

#: the record's file name in a run folder.
RUN_RECORD_NAME = "run.json"
RUN_FORMAT = RecordFormat("interface-run", 1)
IMPORTED_RUN_FORMAT = RecordFormat("interface-imported-run", 1)


@dataclass(frozen=True)
class RunRecord:
    """run.json of a trained run (keys in this order). Times in seconds, ``images_per_s`` over the
    training loop only; ``config`` is the resolved RunConfig, ``tags`` the workflow's (dataset,
    setting, run_id); ``final_loss`` is None when every logging window was non-finite."""

    FORMAT: ClassVar[RecordFormat] = RUN_FORMAT
    external: ClassVar[bool] = False

    backbone: str
    embedding_size: int
    input_size: int
    loss: str
    loss_params: dict[str, Any]
    seed: int
    num_classes: int
    num_images: int
    data_cached_in_memory: bool
    decoded_cache_file: str | None
    steps: int
    steps_per_epoch: int
    epochs_done: float
    global_batch: int
    lr_applied: float
    precision: str
    channels_last: bool
    nonfinite_steps: int
    wall_time_s: float
    setup_time_s: float
    train_time_s: float
    train_cpu_time_s: float
    images_per_s: float
    final_loss: float | None
    device: dict[str, Any]
    git_revision: str
    versions: dict[str, str]
    finished_utc: str
    tags: dict[str, Any]
    config: dict[str, Any]

    @property
    def run_id(self) -> str | None:
        """The run id the workflow tagged the run with (``tags.run_id``), if any."""
        value = self.tags.get("run_id")
        return value if isinstance(value, str) else None

    @property
    def plugins(self) -> list[str]:
        """The plugins the run was trained with (``config.plugins``; checked by :meth:`from_json`)."""
        return list(self.config.get("plugins", []))

    @property
    def published_as(self) -> dict[str, str] | None:
        return None

    def to_json(self) -> dict[str, Any]:
        return _to_json(self)

    @classmethod
    def from_json(cls, payload: Any, where: str) -> RunRecord:
        record = _from_json(cls, payload, where)
        plugins = record.config.get("plugins", [])
        if not isinstance(plugins, list) or not all(isinstance(p, str) for p in plugins):
            raise InputError(f"{where}: key config.plugins is {plugins!r}; expected a list of strings")
        return record


@dataclass(frozen=True)
class ImportedRunRecord:
    """run.json of an imported checkpoint: ``external`` (always true), ``provenance`` (source
    path, sha256, layout, label, ...), ``tags`` (run_id, loss ``external``, setting
    ``label=<label>``, seed 0, dataset) and, when given, ``published_as`` ({"dataset", "loss"}
    under which published tables list the model)."""

    FORMAT: ClassVar[RecordFormat] = IMPORTED_RUN_FORMAT
    wall_time_s: ClassVar[float] = float("nan")  # not trained here
    images_per_s: ClassVar[float] = float("nan")

    run_id: str
    backbone: str
    embedding_size: int
    input_size: int
    external: bool
    provenance: dict[str, Any]
    tags: dict[str, Any]
    published_as: dict[str, str] | None = None

    @property
    def plugins(self) -> list[str]:
        return []

    def to_json(self) -> dict[str, Any]:
        out = _to_json(self)
        if self.published_as is None:
            del out["published_as"]
        return out

    @classmethod
    def from_json(cls, payload: Any, where: str) -> ImportedRunRecord:
        record = _from_json(cls, payload, where)
        if record.external is not True:
            raise InputError(f"{where}: key 'external' is {record.external!r}; expected true")
        published = record.published_as
        if published is not None and not all(isinstance(published.get(k), str) for k in ("dataset", "loss")):
            raise InputError(
                f"{where}: key 'published_as' is {published!r}; expected dataset and loss strings"
            )
        return record


AnyRunRecord = RunRecord | ImportedRunRecord
READERS: dict[str, type[RunRecord] | type[ImportedRunRecord]] = {
    RUN_FORMAT.tag: RunRecord,
    IMPORTED_RUN_FORMAT.tag: ImportedRunRecord,
}


def read_run_record(path: Path) -> AnyRunRecord:
    """The record in ``path`` (a run.json of either kind).

    Raises:
        InputError: unreadable, not JSON, another format or version, or a key missing or mistyped;
            one line naming ``path``.
    """
    try:
        payload = json.loads(read_text(path))
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: not readable JSON ({' '.join(str(exc).split())})") from None
    if not isinstance(payload, dict):
        raise InputError(f"{path}: expected a JSON object (a run record), got {type(payload).__name__}")
    found = payload.get(FORMAT_KEY)
    reader = READERS.get(found) if isinstance(found, str) else None
    if reader is None:
        what = "no format tag" if found is None else f"format {found!r}"
        raise InputError(
            f"{path}: {what}; this version reads run records of format {' or '.join(READERS)} only "
            "(re-run the stage that wrote it)"
        )
    return reader.from_json(payload, str(path))


# --------------------------------------------------------------------------------- helpers
def _to_json(record: Any) -> dict[str, Any]:
    """The record's fields in declaration order, tagged with its format (values are plain JSON)."""
    return record.FORMAT.stamp({f.name: getattr(record, f.name) for f in dataclasses.fields(record)})


def _from_json(cls: type, payload: Any, where: str) -> Any:
    """``cls`` built from ``payload`` after checking its format tag, that every field without a
    default is present, that no other key is, and each value's type (see :func:`_fits`)."""
    body = cls.FORMAT.check(payload, where)
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = [k for k in body if k not in fields]
    if unknown:
        raise InputError(f"{where}: unexpected key {unknown[0]!r} in a {cls.FORMAT.tag} record")
    for name, field in fields.items():
        if name not in body:
            if field.default is dataclasses.MISSING:
                raise InputError(
                    f"{where}: key {name!r} is missing; expected it in a {cls.FORMAT.tag} record"
                )
            continue
        if not _fits(body[name], hints[name]):
            raise InputError(
                f"{where}: key {name!r} is {type(body[name]).__name__}; expected {_describe(hints[name])}"
            )
    return cls(**body)


def _fits(value: Any, hint: Any) -> bool:
    """Whether a JSON value fits a field's type: str, int (no bool), float (int or float, also
    NaN), bool, dict, list, or a union of them with None."""
    if typing.get_origin(hint) in (Union, types.UnionType):
        return any(_fits(value, arm) for arm in typing.get_args(hint))
    base = typing.get_origin(hint) or hint
    if base is type(None):
        return value is None
    if base is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if base is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, base)


def _describe(hint: Any) -> str:
    if typing.get_origin(hint) in (Union, types.UnionType):
        return " or ".join(_describe(arm) for arm in typing.get_args(hint))
    base = typing.get_origin(hint) or hint
    return {type(None): "null", dict: "an object", list: "a list"}.get(base, base.__name__)
