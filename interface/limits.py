"""The legal range of every numeric setting, in one table shared by every place that takes it.

RUN.yaml (:mod:`interface.training.config`), the command lines (``train --set``, ``evaluate``'s
flags) and the workflow check values against :data:`RUN_RANGES` and :data:`EVALUATE_RANGES`
(each benchmark kind declares its options' ranges with :class:`Range` in its own module,
:mod:`interface.evaluation.kinds`); ``workflow/schemas/config.schema.yaml`` states the same bounds for the
dry run, and ``tests/workflow/test_config.py`` compares it key by key with :meth:`Range.schema`,
so a bound changed here and not there fails a test. Numbers must be finite: JSON Schema cannot
say so (NaN passes every numeric keyword), so the workflow also runs :func:`check` on its recipe.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from interface.errors import InputError

SEED_MAX = 2**31 - 1  # seeds go to numpy's legacy seeding, which takes [0, 2^32); kept to int32


@dataclass(frozen=True)
class Range:
    """Legal values of one numeric setting: an int or a finite float within the given bounds.

    ``nullable``: ``None`` is legal too. ``multiple_of``: the value must divide by it. ``why``:
    the reason for a bound that is not obvious (shown in the error message).
    """

    kind: type  # int or float
    minimum: float | None = None
    exclusive_minimum: float | None = None
    maximum: float | None = None
    exclusive_maximum: float | None = None
    multiple_of: int | None = None
    nullable: bool = False
    why: str = ""

    def ok(self, value: Any) -> bool:
        """Whether ``value`` is legal (type included: bools are not numbers here)."""
        if value is None:
            return self.nullable
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        if self.kind is int and not isinstance(value, int):
            return False
        if not math.isfinite(value):
            return False
        return (
            (self.minimum is None or value >= self.minimum)
            and (self.exclusive_minimum is None or value > self.exclusive_minimum)
            and (self.maximum is None or value <= self.maximum)
            and (self.exclusive_maximum is None or value < self.exclusive_maximum)
            and (self.multiple_of is None or value % self.multiple_of == 0)
        )

    def expected(self) -> str:
        """The range in words, e.g. ``a finite number > 0`` or ``an integer >= 16, a multiple of 16``."""
        parts = [
            f"{op} {_number(bound)}"
            for op, bound in (
                (">=", self.minimum),
                (">", self.exclusive_minimum),
                ("<=", self.maximum),
                ("<", self.exclusive_maximum),
            )
            if bound is not None
        ]
        text = ("an integer" if self.kind is int else "a finite number") + (
            " " + " and ".join(parts) if parts else ""
        )
        if self.multiple_of is not None:
            text += f", a multiple of {self.multiple_of}"
        if self.nullable:
            text = "null or " + text
        return text + (f" ({self.why})" if self.why else "")

    def schema(self) -> dict[str, Any]:
        """The JSON Schema keywords stating this range (what config.schema.yaml must say)."""
        out: dict[str, Any] = {}
        names = ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum", "multipleOf")
        values = (
            self.minimum,
            self.exclusive_minimum,
            self.maximum,
            self.exclusive_maximum,
            self.multiple_of,
        )
        for name, value in zip(names, values, strict=True):
            if value is not None:
                out[name] = value
        return out


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(value)


#: RUN.yaml keys (interface.training.config.RunConfig) that have a numeric range.
RUN_RANGES: dict[str, Range] = {
    "embedding_size": Range(int, minimum=1),
    "input_size": Range(
        int, minimum=16, multiple_of=16, why="pixels; the backbones' four stride-2 stages need S/16 whole"
    ),
    "batch_size": Range(int, minimum=2, why="global batch; BatchNorm needs at least 2 images per process"),
    "epochs": Range(int, minimum=1),
    "lr": Range(float, exclusive_minimum=0),
    "seed": Range(int, minimum=0, maximum=SEED_MAX),
    "max_steps": Range(int, minimum=1, nullable=True),
    "momentum": Range(float, minimum=0, exclusive_maximum=1),
    "weight_decay": Range(float, minimum=0),
    "warmup_epochs": Range(float, minimum=0),
    "poly_power": Range(float, exclusive_minimum=0),
    "grad_clip": Range(float, exclusive_minimum=0, nullable=True),
    "num_workers": Range(int, minimum=0),
    "threads": Range(int, minimum=1, nullable=True),
    "log_every": Range(int, minimum=1),
    "checkpoint_every": Range(int, minimum=0),
    "max_nonfinite": Range(int, minimum=1),
    "cache_mb": Range(int, minimum=0, why="MiB"),
}

#: RUN.yaml list keys: the range of each item.
RUN_ITEM_RANGES: dict[str, Range] = {
    "milestones": Range(float, exclusive_minimum=0, why="epochs"),
}

#: The numeric flags of ``python -m interface evaluate`` itself.
EVALUATE_RANGES: dict[str, Range] = {
    "batch_size": Range(int, minimum=1),
    "threads": Range(int, minimum=1),
}

#: Devices a run or an evaluation may ask for (RUN.yaml ``device``, ``evaluate --device``).
DEVICE_PATTERN = r"auto|cpu|cuda(:[0-9]+)?"

#: Smallest batch a BatchNorm layer in training mode accepts, per process.
MIN_BATCH_PER_PROCESS = 2


def check(key: str, value: Any, table: dict[str, Range], label: str | None = None) -> None:
    """Raise a one-line :class:`InputError` naming ``key`` (or ``label``, e.g. ``--threads``) and
    ``value`` if ``value`` is outside ``table[key]`` (keys without a range are not checked)."""
    legal = table.get(key)
    if legal is not None and not legal.ok(value):
        raise InputError(f"{label or f'config key {key!r}'}: value {value!r}; expected {legal.expected()}")


def check_items(key: str, values: Any, table: dict[str, Range], label: str | None = None) -> None:
    """:func:`check` for a list setting: ``values`` must be a list whose every item is in ``table[key]``."""
    legal = table.get(key)
    if legal is None:
        return
    label = label or f"config key {key!r}"
    if not isinstance(values, list):
        raise InputError(f"{label}: value {values!r}; expected a list, each item {legal.expected()}")
    for item in values:
        if not legal.ok(item):
            raise InputError(f"{label}: item {item!r} of {values!r}; expected {legal.expected()}")


def check_device(value: Any, label: str = "config key 'device'", available: bool = True) -> None:
    """Refuse a device string other than auto, cpu, cuda, cuda:N; with ``available``, also a CUDA
    device this machine does not have (one line instead of torch's assertion deep in a run)."""
    if not isinstance(value, str) or not re.fullmatch(DEVICE_PATTERN, value):
        raise InputError(f"{label}: value {value!r}; expected auto, cpu, cuda or cuda:N")
    if not available or not value.startswith("cuda"):
        return
    import torch

    if not torch.cuda.is_available():
        raise InputError(
            f"{label}: {value!r} requested but CUDA is not available on this machine (use auto or cpu)"
        )
    index = int(value.partition(":")[2] or 0)
    if index >= torch.cuda.device_count():
        raise InputError(
            f"{label}: {value!r} requested but this machine has {torch.cuda.device_count()} CUDA device(s)"
        )
