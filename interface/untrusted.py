"""Reading files someone else may have written: names that become paths, tensor files.

A downloaded run folder or dataset decides these strings, so each name is checked before it is
joined to a folder: it must name something inside that folder, never an absolute path or a
``..`` hop. Tensor files are loaded without running any code they carry.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from interface.errors import InputError


def global_name(module: str, name: str) -> str:
    """``module.name`` of a global a pickle refers to, Python-2 spellings (``__builtin__.exec``,
    protocol < 3) mapped to their Python 3 names as ``pickle`` itself maps them."""
    import _compat_pickle

    if (module, name) in _compat_pickle.NAME_MAPPING:
        module, name = _compat_pickle.NAME_MAPPING[(module, name)]
    return f"{_compat_pickle.IMPORT_MAPPING.get(module, module)}.{name}"


_WHY = "expected a name inside its folder (not empty, not absolute, no '..')"


def plain_name(value: object, where: str) -> str:
    """``value`` if it is one path component: a non-empty string without ``/``, ``\\``, NUL,
    other than ``.`` and ``..``. ``where`` names the file and key it was read from.

    Raises:
        InputError: naming ``where`` and the value.
    """
    if not isinstance(value, str) or value in ("", ".", "..") or any(c in value for c in "/\\\0"):
        raise InputError(f"{where}: {value!r} is not a plain file name ({_WHY}, no separators)")
    return value


def relative_name(value: object, where: str) -> str:
    """``value`` if it is a relative path that stays inside its folder: non-empty, ``/``-separated
    components, none of them empty, ``.`` or ``..``, no ``\\`` or NUL, not absolute.

    Raises:
        InputError: naming ``where`` and the value.
    """
    parts = value.split("/") if isinstance(value, str) else []
    if not parts or any(p in ("", ".", "..") or "\\" in p or "\0" in p for p in parts):
        raise InputError(f"{where}: {value!r} is not a relative path inside its folder ({_WHY})")
    return value


def load_tensors(path: Path, what: str) -> Any:
    """``torch.load(path)`` of a file someone else may have written (``weights_only=True``: only
    tensors and plain containers are built, never code); ``what`` names the file's role.

    Raises:
        InputError: one line naming ``path`` and, when the file asks for a global that loading
        refuses (a pickled callable or class), that global's ``module.name``.
    """
    import pickle

    import torch

    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        found = re.search(r"GLOBAL (\S+?)(?:\s|$)", str(exc))
        if found:
            module, _, name = found.group(1).rpartition(".")
            detail = f"refused {global_name(module or 'builtins', name)}"  # torch drops "builtins."
        else:
            detail = " ".join(str(exc).split())[:200]
        raise InputError(
            f"{path}: {what} not loaded: {detail} (it may hold only tensors and plain values)"
        ) from None
    except FileNotFoundError:
        raise InputError(f"{path}: {what} not found") from None
    except Exception as exc:  # noqa: BLE001  (a truncated or foreign file: the same for the user)
        raise InputError(f"{path}: unreadable {what} ({type(exc).__name__}: {str(exc)[:200]})") from None
