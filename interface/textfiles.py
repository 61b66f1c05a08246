"""Reading the text files people hand the harness: one decoding rule, one YAML loader.

Every text input (RUN.yaml, the RecordIO ``property`` file, IJB meta ``.txt`` files, noise lists,
``--benchmarks-json``, the workflow's config files) is read here, so they all accept the same
thing: UTF-8, with or without a byte-order mark, with LF, CRLF or CR line ends. Anything else is
one :class:`InputError` naming the file, the first undecodable byte and the encoding expected.

YAML is parsed with :class:`UniqueKeyLoader`, a ``yaml.SafeLoader`` that refuses a key given twice
in one mapping (plain PyYAML keeps the last one silently), naming the file, the key and its line.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import yaml

from interface.errors import InputError

ENCODING = "UTF-8 (with or without BOM)"


def decode_text(raw: bytes, where: str) -> str:
    """``raw`` decoded as UTF-8 (a leading BOM dropped), line ends normalised to ``\\n``."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        byte = raw[exc.start]
        raise InputError(
            f"{where}: not {ENCODING} text: byte 0x{byte:02X} at offset {exc.start} cannot be decoded; "
            "save the file as UTF-8"
        ) from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def read_text(path: str | os.PathLike[str]) -> str:
    """The text of the file at ``path`` (see :func:`decode_text`).

    A missing file raises ``FileNotFoundError`` so callers can say what the file should have been.
    """
    path = Path(path)
    return decode_text(path.read_bytes(), str(path))


class UniqueKeyLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses a mapping key given twice (``where`` names the source)."""

    where = "YAML"

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue  # '<<' merges are resolved by flatten_mapping below, not duplicates
            key = self.construct_object(key_node, deep=True)
            try:
                duplicate = key in seen
            except TypeError:  # an unhashable key: SafeLoader's own error names it
                break
            if duplicate:
                line = key_node.start_mark.line + 1
                raise InputError(f"{self.where}: key {key!r} given twice (second time at line {line})")
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


# YAML 1.2 floats: PyYAML follows YAML 1.1, where an exponent needs a dot ("1.0e-1"), so "1e-1" or
# "5e-4" in a RUN.yaml or --set would be a string and refused as the wrong type. The 1.2 pattern is
# tried after SafeLoader's own int and float patterns, so every value they read stays as it was.
UniqueKeyLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


def parse_yaml(text: str, where: str) -> Any:
    """Parse YAML ``text`` (from ``where``, named in errors); duplicate keys and syntax errors are
    one-line :class:`InputError` messages."""
    loader = UniqueKeyLoader(text)
    loader.where = where
    try:
        return loader.get_single_data()
    except yaml.YAMLError as exc:
        raise InputError(f"{where}: not valid YAML ({' '.join(str(exc).split())})") from None
    finally:
        loader.dispose()


def load_yaml(path: str | os.PathLike[str]) -> Any:
    """Read and parse the YAML file at ``path`` (:func:`read_text`, then :func:`parse_yaml`)."""
    return parse_yaml(read_text(path), str(path))
