"""The registry of benchmark kinds: one module per kind, registered in :data:`KIND_MODULES`.

A kind module defines ``KIND = BenchmarkKind(...)`` (:mod:`interface.evaluation.kinds.base`): its
name, options with their ranges or choices, the folder layout it scores, its metrics with
direction, the headline rule and its scorer. The evaluator's CLI (choices and ``--help``), the
workflow schema (kind enum and options, filled in when the schema is loaded), the workflow's
parse-time dataset checks and the analysis (direction, headline) all read this registry, so a new
kind is its module plus one line in :data:`KIND_MODULES`.

Importing this package needs numpy only (no torch): scorers import what they need when called.
"""

from __future__ import annotations

import importlib
from typing import Any

from interface.errors import InputError
from interface.evaluation.kinds.base import BenchmarkKind, Layout, Metric, Option, Scored

__all__ = [
    "KIND_MODULES",
    "BenchmarkKind",
    "Layout",
    "Metric",
    "Option",
    "Scored",
    "get_kind",
    "list_benchmark_kinds",
    "all_options",
    "options_schema",
    "registry",
]

#: The registration: one module of this package per kind, in the order --help and the schema list them.
KIND_MODULES = ("verification", "ijb", "identification", "ijb_1n", "tinyface")


def _load() -> dict[str, BenchmarkKind]:
    kinds: dict[str, BenchmarkKind] = {}
    for module in KIND_MODULES:
        kind = importlib.import_module(f"{__name__}.{module}").KIND
        if kind.name in kinds:
            raise ValueError(f"benchmark kind {kind.name!r} registered twice")
        kinds[kind.name] = kind
    _check_shared_options(kinds)
    return kinds


def _check_shared_options(kinds: dict[str, BenchmarkKind]) -> None:
    """An option name used by two kinds must mean the same there (the workflow schema and the
    CLI's flags state each option once)."""
    seen: dict[str, tuple[str, Option]] = {}
    for kind in kinds.values():
        for opt in kind.options:
            first = seen.setdefault(opt.name, (kind.name, opt))
            if first[1] != opt:
                raise ValueError(
                    f"option {opt.name!r} of kinds {first[0]!r} and {kind.name!r} declared differently"
                )


_REGISTRY: dict[str, BenchmarkKind] | None = None


def registry() -> dict[str, BenchmarkKind]:
    """``{name: BenchmarkKind}`` of every registered kind, in :data:`KIND_MODULES` order."""
    global _REGISTRY
    if _REGISTRY is None:
        _REGISTRY = _load()
    return _REGISTRY


def list_benchmark_kinds() -> list[str]:
    """The names of the registered benchmark kinds."""
    return list(registry())


def get_kind(name: Any, where: str = "benchmark kind") -> BenchmarkKind:
    """The kind called ``name``; one-line InputError naming ``where`` otherwise."""
    kinds = registry()
    if not isinstance(name, str) or name not in kinds:
        raise InputError(f"{where}: kind {name!r}; expected one of {', '.join(kinds)}")
    return kinds[name]


def all_options() -> dict[str, Option]:
    """Every option of every kind by name (one declaration per name, see _check_shared_options)."""
    return {opt.name: opt for kind in registry().values() for opt in kind.options}


def options_schema() -> dict[str, Any]:
    """JSON Schema ``properties`` of the union of all kinds' options (the workflow schema's)."""
    return {name: opt.schema() for name, opt in all_options().items()}
