"""A loss parameter, declared once: name, default, unit, legal values, type and meaning.

A loss lists its parameters as ``PARAMS = (Param(...), ...)`` (:class:`~interface.losses.base.
MarginLoss` reads it). Everything else is derived from that one line per parameter: the keyword
arguments the constructor accepts and their defaults (``default_params``), the validation of each
value (:meth:`Param.check`), the unit-and-range text (``param_units``), the workflow schema's
``loss_params`` block (:func:`param_schemas`, built at parse time for every registered loss,
plugins included) and the parameter list in the class docstring (:func:`param_lines`).

Legal values are an interval written as text, ``"[0, pi/2)"`` (closed ``[ ]``, open ``( )``;
bounds are numbers, ``inf``, ``pi`` or ``pi/N``), or a tuple of choices, ``("cc", "dc", "dd")``.
A default of ``None`` means the loss resolves the value itself (e.g. from another parameter), and
``None`` is then legal too. Relations between parameters (MagFace's ``l_a < u_a``) stay in the
loss's constructor.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from interface.errors import InputError
from interface.limits import Range

_BOUND = r"-?(?:inf|pi(?:/[0-9]+)?|[0-9]+(?:\.[0-9]+)?(?:e-?[0-9]+)?)"
_INTERVAL = re.compile(rf"([\[(])\s*({_BOUND})\s*,\s*({_BOUND})\s*([\])])")
_JSON_TYPE = {float: "number", int: "integer", bool: "boolean", str: "string"}


def _bound(text: str) -> float | None:
    """A bound's value; None for an infinite one (no bound)."""
    sign, body = (-1.0, text[1:]) if text.startswith("-") else (1.0, text)
    if body == "inf":
        return None
    if body.startswith("pi"):
        return sign * math.pi / (int(body[3:]) if "/" in body else 1)
    return sign * float(body)


def parse_interval(text: str, kind: type) -> Range:
    """``"[0, pi/2)"`` -> the :class:`~interface.limits.Range` of ``kind`` (int or float) it states."""
    match = _INTERVAL.fullmatch(text)
    if match is None:
        raise ValueError(f"interval {text!r}; expected e.g. '[0, pi/2)' or '(0, inf)'")
    left, low, high, right = match.groups()
    low_value, high_value = _bound(low), _bound(high)
    return Range(
        kind,
        minimum=low_value if left == "[" else None,
        exclusive_minimum=low_value if left == "(" else None,
        maximum=high_value if right == "]" else None,
        exclusive_maximum=high_value if right == ")" else None,
    )


@dataclass(frozen=True)
class Param:
    """One loss parameter.

    ``unit``: what the number is measured in ("radians", "cosine units", "dimensionless", ...;
    empty for a choice); ``legal``: an interval text or a tuple of choices; ``kind``: float, int,
    bool or str; ``meaning``: one line saying what it does (and, for a ``None`` default, how the
    loss resolves it).
    """

    name: str
    default: Any
    unit: str
    legal: str | tuple[Any, ...]
    kind: type
    meaning: str
    interval: Range | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.name.isidentifier() or self.kind not in _JSON_TYPE:
            raise ValueError(
                f"Param {self.name!r}: a Python identifier and a kind of float, int, bool or str"
            )
        interval = parse_interval(self.legal, self.kind) if isinstance(self.legal, str) else None
        if interval is not None and self.kind not in (int, float):
            raise ValueError(f"Param {self.name!r}: an interval needs kind int or float")
        object.__setattr__(self, "interval", interval)
        if self.default is not None and not self.ok(self.default):
            raise ValueError(f"Param {self.name!r}: default {self.default!r} is not {self.units}")

    @property
    def nullable(self) -> bool:
        """Whether ``None`` is a legal value (the loss resolves it): a ``None`` default."""
        return self.default is None

    @property
    def units(self) -> str:
        """Unit and legal values in words, e.g. ``radians, [0, pi/2)`` or ``one of 'cc', 'dc', 'dd'``."""
        if self.interval is not None:
            legal = f"integer in {self.legal}" if self.kind is int else str(self.legal)
            return f"{self.unit}, {legal}" if self.unit else legal
        if self.kind is bool:
            return "bool"
        return "one of " + ", ".join(map(repr, self.legal))

    def ok(self, value: Any) -> bool:
        """Whether ``value`` is legal: the declared type (bools are not numbers; an integral float
        is an integer, as JSON Schema counts it) and range or choices."""
        value = self._typed(value)
        if self.interval is not None:
            return self.interval.ok(value)
        # bool is an int subclass and 1 == True: the type must match exactly, then the value.
        return type(value) is self.kind and value in self.legal

    def check(self, loss: str, value: Any) -> Any:
        """``value`` as ``kind`` (ints widen to float), or :class:`InputError` naming loss, name and range."""
        if value is None and self.nullable:
            return None
        if not self.ok(value):
            raise InputError(f"loss {loss!r}: {self.name}={value!r}; expected {self.units}")
        return float(value) if self.kind is float else self._typed(value)

    def _typed(self, value: Any) -> Any:
        if self.kind is int and type(value) is float and value.is_integer():
            return int(value)
        return value

    def schema(self) -> dict[str, Any]:
        """The JSON Schema of this parameter (the workflow validates each matrix point with it)."""
        out: dict[str, Any] = {}
        if self.interval is not None or self.kind is bool:
            kind = _JSON_TYPE[self.kind]
            out["type"] = [kind, "null"] if self.nullable else kind
        if self.interval is not None:
            out.update(self.interval.schema())
        elif self.kind is not bool:
            out["enum"] = [*self.legal, None] if self.nullable else list(self.legal)
        out["description"] = f"{self.meaning}; {self.units}"
        return out


def param_schemas(params: tuple[Param, ...]) -> dict[str, dict[str, Any]]:
    """``{name: JSON Schema}`` for a loss's ``PARAMS`` (the workflow schema's ``loss_params.<loss>``)."""
    return {p.name: p.schema() for p in params}


def param_lines(params: tuple[Param, ...]) -> list[str]:
    """One line per parameter for docstrings and docs: ``name`` (default): meaning; unit, range."""
    return [f"``{p.name}`` ({p.default!r}): {p.meaning}; {p.units}" for p in params]


#: the logit scale most losses share.
SCALE = Param("s", 64.0, "dimensionless", "(0, inf)", float, "logit scale")
