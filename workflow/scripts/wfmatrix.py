"""The run matrix: a config entry's margin settings, expanded into points.

The run-id and setting grammar (parse, format, canonical spelling of values) lives in
:mod:`interface.contracts.run_id`; this module expands a matrix entry's ``params`` and ``sweep``
into typed, canonically spelled points and holds the workflow's view of a declared run.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from interface.contracts.run_id import RunId, canonical
from interface.errors import InputError


@dataclass(frozen=True)
class Run(RunId):
    """A run the workflow declares: its identity, the explicit loss parameters (typed) and the
    config key that declared it (for messages)."""

    params: dict[str, Any] = field(default_factory=dict, compare=False)
    where: str = field(default="", compare=False)

    @classmethod
    def declared(cls, ident: RunId, params: dict[str, Any], where: str) -> Run:
        """The run ``ident`` with its typed ``params``, declared by config key ``where``."""
        return cls(ident.dataset, ident.backbone, ident.loss, ident.setting, ident.seed, dict(params), where)


@dataclass(frozen=True)
class Point:
    """One margin setting of a matrix entry: typed values, canonical texts, and where each was given."""

    typed: dict[str, Any]
    texts: dict[str, str]
    wheres: dict[str, str]
    where: str  # the entry, or its first sweep value, for messages about the whole point


def entry_points(entry: dict[str, Any], defaults: dict[str, Any], where: str) -> list[Point]:
    """Expand one matrix entry (``params`` x the product of its ``sweep`` lists) into points."""
    fixed = entry.get("params") or {}
    sweep = entry.get("sweep") or {}
    both = sorted(set(fixed) & set(sweep))
    if both:
        raise InputError(f"config key {where}.sweep.{both[0]}: also given in {where}.params; give it once")
    for section, keys in (("params", fixed), ("sweep", sweep)):
        for key in keys:
            if key not in defaults:
                accepted = ", ".join(defaults) or "none"
                raise InputError(
                    f"config key {where}.{section}.{key}: loss {entry['loss']!r} has no parameter {key!r}; "
                    f"accepted: {accepted}"
                )
    points = []
    for combo in itertools.product(*(enumerate(values) for values in sweep.values())):
        chosen = {key: (f"{where}.sweep.{key}[{i}]", value) for key, (i, value) in zip(sweep, combo)}
        given = {key: (f"{where}.params.{key}", value) for key, value in fixed.items()} | chosen
        typed, texts, wheres = {}, {}, {}
        for key, (key_where, value) in given.items():
            if value is None:
                continue  # null spells "the loss's default"
            typed[key], texts[key] = canonical(value, defaults[key], key_where)
            wheres[key] = key_where
        point_where = next(iter(chosen.values()))[0] if chosen else where
        points.append(Point(typed, texts, wheres, point_where))
    return points
