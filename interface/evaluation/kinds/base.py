"""What a benchmark kind declares: options, folder layout, metrics, headline and its scorer.

Light on purpose (numpy only, no torch): the workflow's parse-time checks and the analysis read
the declarations; only a kind's ``score`` function, called by the evaluator, imports the heavy
parts (lazily, inside it).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from interface.contracts.score_record import EvaluatorSpec, Plots, ScoreRow
from interface.errors import InputError
from interface.evaluation.resolution import rate_resolution
from interface.limits import Range

if TYPE_CHECKING:
    from interface.evaluation.tasks import Benchmark, Context


@dataclass(frozen=True)
class Option:
    """One per-benchmark option. Exactly one of: ``range`` (a number in it; with ``is_list`` a
    non-empty list of such numbers), ``choices`` (one of these strings), ``boolean`` (true/false).
    ``help``: meaning and default, shown by ``evaluate --help`` and in the workflow schema."""

    name: str
    help: str
    range: Range | None = None
    choices: tuple[str, ...] = ()
    boolean: bool = False
    is_list: bool = False

    def __post_init__(self) -> None:
        if (self.range is not None) + bool(self.choices) + self.boolean != 1:
            raise ValueError(f"option {self.name!r}: declare exactly one of range, choices, boolean")

    def check(self, value: Any, label: str) -> None:
        """One-line InputError naming ``label`` when ``value`` is not legal."""
        if self.boolean:
            if not isinstance(value, bool):
                raise InputError(f"{label}: value {value!r}; expected true or false")
        elif self.choices:
            if value not in self.choices:
                raise InputError(f"{label}: value {value!r}; expected one of {', '.join(self.choices)}")
        elif self.is_list:
            if not isinstance(value, list) or not value:
                raise InputError(
                    f"{label}: value {value!r}; expected a non-empty list, each item {self.range.expected()}"
                )
            for item in value:
                if not self.range.ok(item):
                    raise InputError(f"{label}: item {item!r} of {value!r}; expected {self.range.expected()}")
        elif not self.range.ok(value):
            raise InputError(f"{label}: value {value!r}; expected {self.range.expected()}")

    def schema(self) -> dict[str, Any]:
        """The JSON Schema of this option (the workflow schema's ``options`` entry)."""
        if self.boolean:
            return {"type": "boolean", "description": self.help}
        if self.choices:
            return {"enum": list(self.choices), "description": self.help}
        number = {"type": "integer" if self.range.kind is int else "number", **self.range.schema()}
        if self.is_list:
            return {"type": "array", "minItems": 1, "items": number, "description": self.help}
        return {**number, "description": self.help}


@dataclass(frozen=True)
class Layout:
    """The file or folder a kind scores. ``is_dir``: a folder (else one file); ``needs``: entries
    that must exist inside the folder; ``description``: the layout in words for error messages."""

    description: str
    is_dir: bool = True
    needs: tuple[str, ...] = ()

    def missing(self, path: Path) -> str | None:
        """What is missing at ``path`` (None when the layout is there)."""
        if not self.is_dir:
            return None if path.is_file() else "no such file"
        if not path.is_dir():
            return "no such folder"
        absent = [item for item in self.needs if not (path / item).exists()]
        return f"missing {', '.join(absent)}" if absent else None

    def require(self, path: Path, what: str) -> Path:
        """``path`` when the layout is there, else a one-line InputError naming ``what`` and ``path``."""
        problem = self.missing(path)
        if problem:
            raise InputError(
                f"{what} {path} does not exist or is incomplete ({problem}); expected {self.description}"
            )
        return path


@dataclass(frozen=True)
class Metric:
    """A metric a kind reports. ``name``: the exact name, or with ``family`` the prefix of a family
    (``tar_at_far_`` for ``tar_at_far_1e-04``...); ``higher_is_better``: True / False, or None for a
    descriptive number never ranked nor compared."""

    name: str
    higher_is_better: bool | None
    help: str = ""
    family: bool = False

    def matches(self, metric: str) -> bool:
        return metric.startswith(self.name) if self.family else metric == self.name


@dataclass
class Scored:
    """What a kind's scorer returns for one benchmark (the evaluator adds run id, kind and timing).

    ``items``: per-item outcomes by metric, given as any boolean flags (array or sequence) and kept
    as JSON 0/1 integers, the one form the score record stores.
    """

    spec: EvaluatorSpec
    rows: list[ScoreRow]
    extra: dict[str, Any] = field(default_factory=dict)
    items: dict[str, list[int]] = field(default_factory=dict)
    plots: Plots = field(default_factory=Plots)

    def __post_init__(self) -> None:
        self.items = {metric: _outcomes(flags) for metric, flags in self.items.items()}


def _outcomes(flags: np.ndarray | Sequence[bool]) -> list[int]:
    """Per-item outcomes as JSON 0/1 integers."""
    return np.asarray(flags, dtype=bool).astype(int).tolist()


#: ``score(ctx, bench) -> Scored``: embeds through ``ctx`` and scores ``bench``.
Scorer = Callable[["Context", "Benchmark"], Scored]
#: ``headline(resolved metric names) -> chosen name or None``.
Headline = Callable[[set[str]], "str | None"]


@dataclass(frozen=True)
class BenchmarkKind:
    """One benchmark kind: everything the CLI, workflow, evaluator and analysis need to know.

    name: the ``kind`` in configs and score records; help: one line for ``--help`` and the schema;
    layout: what the benchmark path must hold; options: its per-benchmark options; metrics: every
    metric (or family) its score rows carry, with direction; headline: picks the paper-table metric
    from the resolved metrics present; score: the scorer (imports heavy modules lazily); synth:
    where ``python -m interface synth`` writes a benchmark of this kind, relative to the suite
    folder (the default workflow and the tests score it; "" when the generator has none).
    """

    name: str
    help: str
    layout: Layout
    options: tuple[Option, ...]
    metrics: tuple[Metric, ...]
    headline: Headline
    score: Scorer
    synth: str = ""

    def option(self, key: str) -> Option | None:
        return next((o for o in self.options if o.name == key), None)

    def metric(self, name: str) -> Metric | None:
        return next((m for m in self.metrics if m.matches(name)), None)

    def check_options(
        self, options: dict[str, Any], where: Callable[[str], str], strict: bool = True
    ) -> None:
        """Every option legal (``where(key)`` names it in the error); with ``strict`` an option this
        kind does not have is refused, else skipped (a command-line flag given to every benchmark)."""
        for key, value in options.items():
            opt = self.option(key)
            if opt is None:
                if strict:
                    accepted = ", ".join(o.name for o in self.options) or "none"
                    raise InputError(
                        f"{where(key)}: not an option of {self.name} benchmarks; accepted: {accepted}"
                    )
                continue
            opt.check(value, where(key))


def exact(name: str) -> Headline:
    """Headline rule: ``name`` when it is present."""
    return lambda metrics: name if name in metrics else None


def lowest_parameter(prefix: str, parse: Callable[[str], float | None]) -> Headline:
    """Headline rule: among names ``prefix<p>`` present, the one with the lowest ``p`` (e.g. the
    TAR at the lowest resolved FAR); ``parse`` reads ``p`` from a name (None: not of the family)."""

    def pick(metrics: set[str]) -> str | None:
        found = {m: p for m in metrics if m.startswith(prefix) and (p := parse(m)) is not None}
        return min(found, key=lambda m: found[m]) if found else None

    return pick


def row(metric: str, value: float, n: int, far: float | None = None, n_impostor: int = 0) -> ScoreRow:
    """One score row; ``far`` (with the ``n_impostor`` comparisons it is read on) marks a rate read-out."""
    n_events, resolved = (None, True) if far is None else rate_resolution(far, n_impostor)
    return ScoreRow(metric, float(value), int(n), bool(resolved), n_events)
