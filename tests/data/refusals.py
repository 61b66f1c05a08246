"""The check the benchmark-folder readers share: a part removed from a good folder is refused."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from interface.errors import InputError


def refuses_without(read: Callable[[Path], Any], root: Path, part: str, match: str) -> None:
    """Remove ``root / part``; ``read(root)`` must then raise an InputError matching ``match``."""
    (root / part).unlink()
    with pytest.raises(InputError, match=match):
        read(root)
