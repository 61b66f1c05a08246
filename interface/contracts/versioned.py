"""Format tags of the JSON records the stages hand each other (``"format": "<name>/<version>"``).

A reader accepts exactly the version its code writes and refuses any other with one line naming
the file, the tag found and the tag expected: records are rewritten by re-running the stage that
owns them, never migrated in place, so an old file cannot be half-understood.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from interface.errors import InputError

FORMAT_KEY = "format"


@dataclass(frozen=True)
class RecordFormat:
    """The format of one record type. name: a stable identifier (``interface-run``); version: >= 1,
    raised whenever a key is added, removed or changes meaning."""

    name: str
    version: int

    @property
    def tag(self) -> str:
        """The value of the record's ``format`` key, e.g. ``interface-run/1``."""
        return f"{self.name}/{self.version}"

    def stamp(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        """``payload`` with this format's tag as its first key."""
        return {FORMAT_KEY: self.tag, **{k: v for k, v in payload.items() if k != FORMAT_KEY}}

    def check(self, payload: Any, where: str) -> dict[str, Any]:
        """``payload`` without its tag, after checking it is a JSON object of this exact format.

        where: the file (or other source) named in the error.
        """
        if not isinstance(payload, Mapping):
            raise InputError(
                f"{where}: expected a JSON object of format {self.tag}, got {type(payload).__name__}"
            )
        found = payload.get(FORMAT_KEY)
        if found != self.tag:
            what = "no format tag" if found is None else f"format {found!r}"
            raise InputError(
                f"{where}: {what}; this version reads {self.tag} only (re-run the stage that wrote it)"
            )
        return {k: v for k, v in payload.items() if k != FORMAT_KEY}
