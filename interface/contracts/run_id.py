"""The run id and the margin-setting grammar: the one place that parses and spells them.

A run id is ``<dataset>__<backbone>__<loss>__<setting>__s<seed>``, e.g.
``synthface__tiny__arcface__m=0.5__s6``: it names the run's folders (``results/runs/<run_id>/``),
so every part is a filesystem-safe word (:data:`NAME` for dataset and backbone, :data:`IDENT` for
the loss and parameter names). The setting lists the loss parameters a matrix entry gives
explicitly, in the loss's own parameter order with categorical ones (InterFace's ``variant``)
first, each value in one canonical spelling (:func:`canonical`): 0.5, "0.50" and 5e-1 all become
``m=0.5``, an integer parameter stays ``m=4``, a float one keeps its point (``m1=1.0``). No
explicit parameter gives the setting ``default`` (the paper defaults the loss declares); an
imported checkpoint's setting is ``label=<label>`` (loss ``external``, seed 0).

The workflow builds run ids with :meth:`RunId.make`, the Snakemake ``{run}`` wildcard is
constrained by :data:`RUN_ID_WILDCARD` (the same grammar), and analysis reads the identity back with
:meth:`RunId.parse`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from interface.errors import InputError

#: dataset and backbone names: lower-case words joined by '-' or '_'.
NAME = r"[a-z0-9]+(?:[-_][a-z0-9]+)*"
#: loss and parameter names: a lower-case identifier (no leading digit, single '_' between words).
IDENT = r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*"
#: one canonical parameter value (a number, true/false or a word).
VALUE = r"[A-Za-z0-9.+-]+"
DEFAULT_SETTING = "default"
SETTING = rf"{DEFAULT_SETTING}|{IDENT}={VALUE}(?:,{IDENT}={VALUE})*"
SEP = "__"


def _run_id_regex(named: bool) -> str:
    """The run-id grammar as a regex string; ``named``: one named group per part."""

    def part(name: str, regex: str) -> str:
        return f"(?P<{name}>{regex})" if named else f"(?:{regex})"

    return (
        SEP.join(
            (part("dataset", NAME), part("backbone", NAME), part("loss", IDENT), part("setting", SETTING))
        )
        + SEP
        + "s"
        + part("seed", "[0-9]+")
    )


#: the run-id grammar with a named group per part, for ``re.fullmatch``.
RUN_ID = re.compile(_run_id_regex(named=True))
#: the same grammar without groups: the Snakemake ``{run}`` wildcard constraint (a rule's pattern
#: may have its own ``{dataset}`` wildcard, and group names must be unique in one regex).
RUN_ID_WILDCARD = _run_id_regex(named=False)
FORM = f"<dataset>{SEP}<backbone>{SEP}<loss>{SEP}<setting>{SEP}s<seed>"


@dataclass(frozen=True)
class RunId:
    """The identity of one run. seed: >= 0; setting: canonical (:func:`setting_string`).

    :attr:`run_id` (also ``str()``) is the run id string; :meth:`parse` is its inverse.
    """

    dataset: str
    backbone: str
    loss: str
    setting: str
    seed: int

    @classmethod
    def parse(cls, text: str, where: str = "run id") -> RunId:
        """Read a run id; InputError (``where`` names the source) when it does not fit the grammar."""
        match = RUN_ID.fullmatch(text) if isinstance(text, str) else None
        if match is None:
            raise InputError(f"{where}: {text!r} is not a run id; expected {FORM}")
        parts = match.groupdict()
        return cls(parts["dataset"], parts["backbone"], parts["loss"], parts["setting"], int(parts["seed"]))

    @classmethod
    def make(cls, dataset: str, backbone: str, loss: str, setting: str, seed: int) -> RunId:
        """The run id of these parts; InputError when one of them is not filesystem-safe."""
        made = cls(dataset, backbone, loss, setting, seed)
        if not RUN_ID.fullmatch(made.run_id):
            raise InputError(
                f"run id {made.run_id!r} is not filesystem-safe: dataset and backbone must match {NAME}, "
                f"loss and parameter names {IDENT}"
            )
        return made

    @property
    def run_id(self) -> str:
        """The run id string."""
        return f"{self.dataset}{SEP}{self.backbone}{SEP}{self.loss}{SEP}{self.setting}{SEP}s{self.seed}"

    def __str__(self) -> str:
        return self.run_id

    @property
    def method(self) -> tuple[str, str]:
        """(loss, setting): what the seeds of one method share."""
        return (self.loss, self.setting)


def canonical(value: Any, default: Any, where: str) -> tuple[Any, str]:
    """``value`` coerced to the type of the loss's ``default`` and its canonical text.

    bool -> true/false; int -> decimal; float -> Python's shortest round-trip repr; str -> as is
    (letters, digits, '.', '+', '-'). A ``None`` default (e.g. InterFace ``mid``) takes a number
    (as float) or a word. ``where`` (a config key) names the value in errors.
    """
    kind = type(default)
    if isinstance(value, str) and kind is not str:
        value = _parse_word(value)
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


def _parse_word(text: str) -> Any:
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
    if not isinstance(setting, str) or not re.fullmatch(SETTING, setting):
        raise InputError(f"setting {setting!r}; expected 'default' or name=value pairs joined by ','")
    if setting == DEFAULT_SETTING:
        return {}
    pairs = (item.split("=", 1) for item in setting.split(","))
    return {key: _parse_word(text) for key, text in pairs}


def setting_string(texts: dict[str, str], order: list[str]) -> str:
    """Join canonical ``name=value`` texts in ``order``; ``default`` when there are none."""
    keys = sorted(texts, key=order.index)
    return ",".join(f"{key}={texts[key]}" for key in keys) or DEFAULT_SETTING


def param_order(defaults: dict[str, Any]) -> list[str]:
    """Categorical (string-valued) parameters first, then the loss's declaration order."""
    names = list(defaults)
    return sorted(names, key=lambda n: (not isinstance(defaults[n], str), names.index(n)))
