"""Type checks of the labels read from data files, before any of them is used.

A label of the wrong type must never be coerced silently: ``bool('False')`` is True, so string
``issame`` flags would all read as genuine pairs, and ``int(round(nan))`` raises deep inside
training. Each check returns the label in its one legal type or raises a one-line InputError.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from interface.errors import InputError


def pair_labels(values: Any, where: str) -> np.ndarray:
    """``issame`` flags of a verification pack as a bool (P,) array.

    Accepted: Python or numpy booleans, and the integers 0 and 1 (some packs store them so).
    Anything else (strings such as ``'True'``, floats, other integers) is refused, naming the
    first offending pair.
    """
    seq = list(values) if isinstance(values, list | tuple) else np.asarray(values).ravel().tolist()
    out = np.empty(len(seq), dtype=bool)
    for i, value in enumerate(seq):
        if isinstance(value, bool | np.bool_):
            out[i] = bool(value)
        elif isinstance(value, int | np.integer) and value in (0, 1):
            out[i] = value == 1
        else:
            raise InputError(
                f"{where}: issame label of pair {i} is {value!r} ({type(value).__name__}); "
                "expected a boolean (or 0/1)"
            )
    return out


def class_label(value: Any, where: str) -> int:
    """A 0-based class index from a record's float label: finite, whole and >= 0."""
    number = float(value)
    if not math.isfinite(number) or number != math.floor(number) or number < 0:
        raise InputError(f"{where}: label {number!r} is not a class index (expected a whole number >= 0)")
    return int(number)
