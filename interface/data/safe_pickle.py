"""A pickle reader for InsightFace ``.bin`` packs that can build data and nothing else.

Unpickling calls whatever global a pickle names, so a plain ``pickle.load`` of a downloaded pack
can run any code. This reader resolves only the globals that a pack written by Python 2 or 3,
with or without numpy, needs (every protocol 0-5): ``bytes``/``bytearray`` from latin-1 text,
numpy ``ndarray``/``dtype``/scalars of bool, integer or byte-string dtypes. Anything else is
refused before it is called, naming ``module.name``.
"""

from __future__ import annotations

import codecs
import io
import pickle
from collections.abc import Callable
from typing import Any

import numpy as np

from interface.untrusted import global_name

#: numpy dtype kinds a pack may hold: bool, signed/unsigned integers, byte strings.
ALLOWED_KINDS = "biuS"

_core = np._core if hasattr(np, "_core") else np.core  # numpy 2 renamed numpy.core


class Refused(pickle.UnpicklingError):
    """A pickle names a global or a dtype outside the allow-list; ``what`` says which."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


def _checked_dtype(dtype: np.dtype) -> np.dtype:
    if dtype.kind not in ALLOWED_KINDS or dtype.fields is not None:
        raise Refused(f"numpy dtype {dtype.str!r}")
    return dtype


def _dtype(spec: Any, *args: Any) -> np.dtype:
    if isinstance(spec, bytes):  # Python 2 str under encoding='bytes'
        spec = spec.decode("latin1")
    if not isinstance(spec, str):
        raise Refused(f"numpy dtype from {type(spec).__name__}")
    return _checked_dtype(np.dtype(spec, *args))


def _reconstruct(subtype: Any, shape: Any, dtype_char: Any) -> np.ndarray:
    if subtype is not np.ndarray:  # a subclass would bring its own __setstate__
        raise Refused(f"array subclass {subtype!r}")
    return _core.multiarray._reconstruct(subtype, shape, dtype_char)


def _scalar(dtype: Any, *args: Any) -> Any:
    if not isinstance(dtype, np.dtype):
        raise Refused(f"numpy scalar of {type(dtype).__name__}")
    return _core.multiarray.scalar(_checked_dtype(dtype), *args)


def _frombuffer(buffer: Any, dtype: Any, shape: Any, order: Any) -> np.ndarray:
    if not isinstance(dtype, np.dtype):
        raise Refused(f"numpy buffer of {type(dtype).__name__}")
    return _core.numeric._frombuffer(buffer, _checked_dtype(dtype), shape, order)


def _latin1_bytes(text: Any, encoding: Any = "latin1") -> bytes:
    # Python 3 pickles bytes with protocol < 3 as _codecs.encode(latin-1 text, 'latin1')
    if not isinstance(text, str) or codecs.lookup(str(encoding)).name != "iso8859-1":
        raise Refused(f"_codecs.encode({type(text).__name__}, {encoding!r})")
    return codecs.encode(text, "latin1")


def _binary(kind: type) -> Callable[..., bytes | bytearray]:
    def build(*args: Any) -> bytes | bytearray:
        # bytes() / bytearray(b) / bytearray(latin-1 text, 'latin-1'); never bytes(n), which allocates n
        if len(args) > 2 or (args and isinstance(args[0], int)):
            raise Refused(f"builtins.{kind.__name__} from {[type(a).__name__ for a in args]}")
        if len(args) == 2:
            return kind(_latin1_bytes(*args))
        return kind(*args)

    return build


def _numpy_names(name: str, value: Callable[..., Any]) -> dict[tuple[str, str], Callable[..., Any]]:
    module, attr = name.rsplit(".", 1)
    return {(f"numpy.{p}{module}", attr): value for p in ("core.", "_core.")}


ALLOWED: dict[tuple[str, str], Callable[..., Any]] = {
    ("builtins", "bytes"): _binary(bytes),
    ("builtins", "bytearray"): _binary(bytearray),
    ("_codecs", "encode"): _latin1_bytes,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): _dtype,
    **_numpy_names("multiarray._reconstruct", _reconstruct),
    **_numpy_names("multiarray.scalar", _scalar),
    **_numpy_names("numeric._frombuffer", _frombuffer),
}


class _PackUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        full = global_name(module, name)  # Python 2 spellings such as __builtin__.bytearray
        found = ALLOWED.get(tuple(full.rsplit(".", 1)))
        if found is None:
            raise Refused(full)
        return found


def _check_arrays(obj: Any) -> None:
    """Every array in the nested lists/tuples has an allowed dtype (object arrays are refused)."""
    stack = [obj]
    while stack:
        item = stack.pop()
        if isinstance(item, list | tuple):
            stack.extend(item)
        elif isinstance(item, np.ndarray | np.generic):
            _checked_dtype(item.dtype)


def load_pack_pickle(raw: bytes, **kwargs: Any) -> Any:
    """Unpickle ``raw`` through the allow-list; ``kwargs`` as ``pickle.loads`` (``encoding``...).

    Raises:
        Refused: the pickle names a global or dtype outside :data:`ALLOWED` / :data:`ALLOWED_KINDS`.
        pickle.UnpicklingError, EOFError, ValueError, ...: the bytes are not a valid pickle.
    """
    obj = _PackUnpickler(io.BytesIO(raw), **kwargs).load()
    _check_arrays(obj)
    return obj
