"""The score record: what ``python -m interface evaluate`` writes per run x benchmark, and what the
collector and the report read back.

One JSON object per file (``results/scores/<run_id>/<benchmark>.json``)::

    {"format": "interface-score/1", "run_id", "benchmark", "kind",
     "spec": {"name", "evaluator", "version", "reproduces", ...protocol details},
     "rows": [{"metric", "value", "n", "resolved", "n_events"}],
     "items": {metric: [0 | 1, ...]},
     "plots": {"pair_histogram": {"edges", "genuine", "impostor"} | null,
               "roc": {"far", "tar"} | null},
     "extra": {...descriptive numbers of the kind...}}

``rows``: one per metric; ``resolved`` / ``n_events`` follow :mod:`interface.evaluation.resolution`
for rate read-outs at a false-accept rate (``n_events = far * impostor comparisons``), other rows are
resolved with ``n_events`` null. ``items``: per-item outcomes whose mean is the row's value, in an
order fixed by the benchmark files, so two runs scored on the same files pair item by item.
``plots``: everything the report draws for this run x benchmark (the report reads nothing else of
the evaluator's): the pair-score histogram (cosine similarity, bins over [-1, 1]) and the ROC
thinned to at most :data:`MAX_ROC_POINTS` points.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from interface.contracts.versioned import RecordFormat
from interface.errors import InputError

SCORE_FORMAT = RecordFormat("interface-score", 1)
#: Most ROC points a score record keeps (log-spaced in FAR, both ends kept).
MAX_ROC_POINTS = 400
#: Bins of the pair-score histogram over cosine similarity [-1, 1].
HISTOGRAM_BINS = 100


def _fields(record: Any, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    """The dataclass ``record``'s fields by name in declaration order (the JSON key order), less ``skip``."""
    return {f.name: getattr(record, f.name) for f in fields(record) if f.name not in skip}


@dataclass(frozen=True)
class EvaluatorSpec:
    """How a kind computed its numbers. name: protocol identifier; evaluator: ``<name>/v<version>``
    (with the options that change the numbers); reproduces: the source it follows; protocol: the
    kind's own descriptive keys (colour order, distance, fold layout, ...), written beside them."""

    name: str
    evaluator: str
    version: int
    reproduces: str
    protocol: dict[str, Any] = field(default_factory=dict)

    _KEYS = ("name", "evaluator", "version", "reproduces")

    def to_json(self) -> dict[str, Any]:
        return {**_fields(self, skip=("protocol",)), **self.protocol}

    @classmethod
    def from_json(cls, doc: Any, where: str) -> EvaluatorSpec:
        if not isinstance(doc, Mapping) or any(k not in doc for k in cls._KEYS):
            raise InputError(f"{where}: key spec: expected an object with {', '.join(cls._KEYS)}")
        if not isinstance(doc["version"], int) or isinstance(doc["version"], bool):
            raise InputError(f"{where}: key spec.version: {doc['version']!r}; expected an integer")
        return cls(
            str(doc["name"]),
            str(doc["evaluator"]),
            doc["version"],
            str(doc["reproduces"]),
            {k: v for k, v in doc.items() if k not in cls._KEYS},
        )

    def canonical(self) -> str:
        """One-line JSON of the spec, keys sorted (the tidy table's ``evaluator`` column)."""
        return json.dumps(self.to_json(), sort_keys=True, separators=(",", ":"), default=str)


@dataclass(frozen=True)
class ScoreRow:
    """One metric of one run x benchmark. value: the metric (fractions for rates); n: items it is
    computed on; resolved / n_events: see the module docstring."""

    metric: str
    value: float
    n: int
    resolved: bool = True
    n_events: float | None = None

    def to_json(self) -> dict[str, Any]:
        return _fields(self)

    @classmethod
    def from_json(cls, doc: Any, where: str) -> ScoreRow:
        if not isinstance(doc, Mapping) or "metric" not in doc or "value" not in doc:
            raise InputError(f"{where}: expected an object with metric and value")
        value, n_events = doc["value"], doc.get("n_events")
        if not _number(value) or not (n_events is None or _number(n_events)):
            raise InputError(f"{where}: value {value!r} / n_events {n_events!r}; expected numbers")
        n = doc.get("n")
        if not isinstance(n, int) or isinstance(n, bool) or n < 0:
            raise InputError(f"{where}: key n: {n!r}; expected an integer >= 0")
        if not isinstance(doc.get("resolved", True), bool):
            raise InputError(f"{where}: key resolved: {doc.get('resolved')!r}; expected true or false")
        return cls(
            str(doc["metric"]),
            float(value),
            n,
            doc.get("resolved", True),
            None if n_events is None else float(n_events),
        )


def _number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


@dataclass(frozen=True)
class PairHistogram:
    """Counts of genuine and impostor pair scores (cosine similarity) in the bins ``edges``
    (len(edges) = len(genuine) + 1 = len(impostor) + 1, increasing)."""

    edges: list[float]
    genuine: list[int]
    impostor: list[int]

    @classmethod
    def of(cls, scores: np.ndarray, genuine: np.ndarray) -> PairHistogram:
        """Histogram of ``scores`` (cosines, clipped to [-1, 1]) split by the boolean ``genuine``."""
        edges = np.linspace(-1.0, 1.0, HISTOGRAM_BINS + 1)
        s = np.clip(np.asarray(scores, dtype=np.float64), -1.0, 1.0)
        g = np.asarray(genuine, dtype=bool)
        return cls(
            edges.tolist(), np.histogram(s[g], edges)[0].tolist(), np.histogram(s[~g], edges)[0].tolist()
        )

    def to_json(self) -> dict[str, Any]:
        return _fields(self)

    @classmethod
    def from_json(cls, doc: Any, where: str) -> PairHistogram:
        ok = isinstance(doc, Mapping) and all(
            isinstance(doc.get(k), list) for k in ("edges", "genuine", "impostor")
        )
        if not ok or not len(doc["edges"]) == len(doc["genuine"]) + 1 == len(doc["impostor"]) + 1:
            raise InputError(f"{where}: expected edges, genuine, impostor lists (one more edge than counts)")
        return cls(
            [float(x) for x in doc["edges"]],
            [int(x) for x in doc["genuine"]],
            [int(x) for x in doc["impostor"]],
        )


@dataclass(frozen=True)
class RocPoints:
    """ROC points: false-accept rates ``far`` (increasing) and true-accept rates ``tar``, fractions."""

    far: list[float]
    tar: list[float]

    @classmethod
    def thinned(cls, fpr: np.ndarray, tpr: np.ndarray) -> RocPoints:
        """At most :data:`MAX_ROC_POINTS` points, log-spaced in FAR over [1e-7, 1], both ends kept."""
        fpr, tpr = np.asarray(fpr, dtype=np.float64), np.asarray(tpr, dtype=np.float64)
        if fpr.size > MAX_ROC_POINTS:
            grid = np.searchsorted(fpr, np.logspace(-7, 0, MAX_ROC_POINTS - 2)).clip(0, fpr.size - 1)
            keep = np.unique(np.r_[0, grid, fpr.size - 1])
            fpr, tpr = fpr[keep], tpr[keep]
        return cls(fpr.tolist(), tpr.tolist())

    def to_json(self) -> dict[str, Any]:
        return _fields(self)

    @classmethod
    def from_json(cls, doc: Any, where: str) -> RocPoints:
        if (
            not isinstance(doc, Mapping)
            or not isinstance(doc.get("far"), list)
            or not isinstance(doc.get("tar"), list)
        ):
            raise InputError(f"{where}: expected far and tar lists")
        if len(doc["far"]) != len(doc["tar"]):
            raise InputError(f"{where}: far and tar differ in length")
        return cls([float(x) for x in doc["far"]], [float(x) for x in doc["tar"]])


@dataclass(frozen=True)
class Plots:
    """What the report draws for one run x benchmark (either may be absent for a kind)."""

    pair_histogram: PairHistogram | None = None
    roc: RocPoints | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "pair_histogram": None if self.pair_histogram is None else self.pair_histogram.to_json(),
            "roc": None if self.roc is None else self.roc.to_json(),
        }

    @classmethod
    def from_json(cls, doc: Any, where: str) -> Plots:
        if not isinstance(doc, Mapping):
            raise InputError(f"{where}: key plots: expected an object")
        hist, roc = doc.get("pair_histogram"), doc.get("roc")
        return cls(
            None if hist is None else PairHistogram.from_json(hist, f"{where}: key plots.pair_histogram"),
            None if roc is None else RocPoints.from_json(roc, f"{where}: key plots.roc"),
        )


@dataclass(frozen=True)
class ScoreRecord:
    """One run x benchmark as scored (see the module docstring for the JSON)."""

    run_id: str
    benchmark: str
    kind: str
    spec: EvaluatorSpec
    rows: list[ScoreRow]
    items: dict[str, list[int]] = field(default_factory=dict)
    plots: Plots = field(default_factory=Plots)
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return SCORE_FORMAT.stamp(
            {
                "run_id": self.run_id,
                "benchmark": self.benchmark,
                "kind": self.kind,
                "spec": self.spec.to_json(),
                "rows": [r.to_json() for r in self.rows],
                "items": self.items,
                "plots": self.plots.to_json(),
                "extra": self.extra,
            }
        )

    @classmethod
    def from_json(cls, payload: Any, where: str) -> ScoreRecord:
        """Read a parsed score JSON; InputError (one line naming ``where`` and the key) if it is not
        this exact format."""
        doc = SCORE_FORMAT.check(payload, where)
        for key in ("run_id", "benchmark", "kind"):
            if not isinstance(doc.get(key), str) or not doc[key]:
                raise InputError(f"{where}: key {key}: {doc.get(key)!r}; expected a non-empty string")
        if not isinstance(doc.get("rows"), list):
            raise InputError(f"{where}: key rows: expected a list of objects")
        rows = [ScoreRow.from_json(r, f"{where}: rows[{i}]") for i, r in enumerate(doc["rows"])]
        items = doc.get("items", {})
        if not isinstance(items, Mapping) or not all(isinstance(v, list) for v in items.values()):
            raise InputError(f"{where}: key items: expected an object of lists")
        extra = doc.get("extra", {})
        if not isinstance(extra, Mapping):
            raise InputError(f"{where}: key extra: expected an object")
        return cls(
            doc["run_id"],
            doc["benchmark"],
            doc["kind"],
            EvaluatorSpec.from_json(doc.get("spec"), where),
            rows,
            {str(k): v for k, v in items.items()},
            Plots.from_json(doc.get("plots", {}), where),
            dict(extra),
        )

    @classmethod
    def read(cls, path: Path) -> ScoreRecord:
        """Parse and check the score JSON at ``path`` (InputError naming it when unreadable)."""
        try:
            payload = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InputError(f"{path}: not readable JSON ({exc})") from None
        return cls.from_json(payload, str(path))
