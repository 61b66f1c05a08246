"""Names read from files (run ids, image names, manifest entries) that become paths.

A downloaded run folder or dataset decides these strings, so each is checked before it is joined
to a folder: it must name something inside that folder, never an absolute path or a ``..`` hop.
"""

from __future__ import annotations

from interface.errors import InputError

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
