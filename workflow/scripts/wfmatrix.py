"""The run matrix: canonical margin settings, run ids, and the per-run RUN.yaml mapping.

A run id is ``<dataset>__<backbone>__<loss>__<setting>__s<seed>``. The setting
lists the parameters a matrix entry gives explicitly, in the loss's own parameter order with
categorical ones (e.g. InterFace's ``variant``) first, each value in one canonical spelling:
0.5, "0.50" and 5e-1 all become ``m=0.5``, an integer parameter stays ``m=4``, a float one
keeps its point (``m1=1.0``). Paths therefore never depend on how a number was typed. No
explicit parameter gives the setting ``default`` (the paper defaults the loss declares).
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass, field
from typing import Any

from interface.errors import InputError

NAME = r"[a-z0-9]+(?:[-_][a-z0-9]+)*"
IDENT = r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*"
VALUE = r"[A-Za-z0-9.+-]+"
SETTING = rf"default|{IDENT}={VALUE}(?:,{IDENT}={VALUE})*"
RUN_ID = re.compile(
    rf"(?P<dataset>{NAME})__(?P<backbone>{NAME})__(?P<loss>{IDENT})__(?P<setting>{SETTING})__s(?P<seed>[0-9]+)"
)
DEFAULT_SETTING = "default"


@dataclass(frozen=True)
class Run:
    """One training run of the matrix; ``params`` are the explicit loss parameters (typed)."""

    run_id: str
    dataset: str
    backbone: str
    loss: str
    setting: str
    seed: int
    params: dict[str, Any] = field(default_factory=dict, compare=False)
    where: str = field(default="", compare=False)  # config key that declared it (for messages)


def canonical(value: Any, default: Any, where: str) -> tuple[Any, str]:
    """``value`` coerced to the type of the loss's ``default`` and its canonical text.

    bool -> true/false; int -> decimal; float -> Python's shortest round-trip repr; str -> as is
    (letters, digits, '.', '+', '-'). A ``None`` default (e.g. InterFace ``mid``) takes a number
    (as float) or a word.
    """
    kind = type(default)
    if isinstance(value, str) and kind is not str:
        value = _parse_word(value, where)
    if kind is bool or (default is None and isinstance(value, bool)):
        if not isinstance(value, bool):
            raise InputError(f"config key {where}: {value!r}; expected true or false")
        return value, "true" if value else "false"
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int | float) or float(value) != int(value):
            raise InputError(f"config key {where}: {value!r}; expected an integer")
        return int(value), str(int(value))
    if kind is float or (default is None and isinstance(value, int | float)):
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise InputError(f"config key {where}: {value!r}; expected a finite number")
        value = float(value) + 0.0  # -0.0 -> 0.0: one spelling per value
        return value, repr(value)
    if not isinstance(value, str) or not re.fullmatch(VALUE, value):
        raise InputError(f"config key {where}: {value!r}; expected a word of letters, digits, '.', '+', '-'")
    return value, value


def _parse_word(text: str, where: str) -> Any:
    """A number or boolean written as a string (``"0.5"``, ``"true"``); other words unchanged."""
    if text in ("true", "false"):
        return text == "true"
    if re.fullmatch(r"[+-]?[0-9]+", text):
        return int(text)
    try:
        return float(text)
    except ValueError:
        return text


def parse_setting(setting: str) -> dict[str, Any]:
    """Inverse of the setting string: ``"variant=dd,alpha=0.2"`` -> ``{"variant": "dd", "alpha": 0.2}``."""
    if not re.fullmatch(SETTING, setting):
        raise InputError(f"setting {setting!r}; expected 'default' or name=value pairs joined by ','")
    if setting == DEFAULT_SETTING:
        return {}
    pairs = (item.split("=", 1) for item in setting.split(","))
    return {key: _parse_word(text, f"setting {setting!r}") for key, text in pairs}


def setting_string(texts: dict[str, str], order: list[str]) -> str:
    """Join canonical ``name=value`` texts in ``order``; ``default`` when there are none."""
    keys = sorted(texts, key=order.index)
    return ",".join(f"{key}={texts[key]}" for key in keys) or DEFAULT_SETTING


def param_order(defaults: dict[str, Any]) -> list[str]:
    """Categorical (string-valued) parameters first, then the loss's declaration order."""
    names = list(defaults)
    return sorted(names, key=lambda n: (not isinstance(defaults[n], str), names.index(n)))


def make_run_id(dataset: str, backbone: str, loss: str, setting: str, seed: int) -> str:
    """``<dataset>__<backbone>__<loss>__<setting>__s<seed>``, checked against the run-id grammar."""
    run_id = f"{dataset}__{backbone}__{loss}__{setting}__s{seed}"
    if not RUN_ID.fullmatch(run_id):
        raise InputError(
            f"run id {run_id!r} is not filesystem-safe: dataset and backbone must match {NAME}, "
            f"loss and parameter names {IDENT}"
        )
    return run_id


def parse_run_id(run_id: str, where: str = "run id") -> dict[str, Any]:
    """Split a run id into dataset, backbone, loss, setting, seed (int) and params (typed)."""
    match = RUN_ID.fullmatch(run_id)
    if not match:
        raise InputError(
            f"{where}: {run_id!r} is not a run id; expected <dataset>__<backbone>__<loss>__<setting>__s<seed>"
        )
    parts = match.groupdict()
    return {**parts, "seed": int(parts["seed"]), "params": parse_setting(parts["setting"])}


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
