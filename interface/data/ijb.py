"""IJB-B/IJB-C style template sets: the three meta files of insightface's IJB testsuite (§4.1).

Folder ``D``: ``D/loose_crop/<image>``, ``D/meta/<p>_face_tid_mid.txt`` (``image template media``),
``D/meta/<p>_template_pair_label.txt`` (``template1 template2 label``),
``D/meta/<p>_name_5pts_score.txt`` (``image x1 y1 ... x5 y5 face_score``); space separated, no
header. Rows of the first and third file describe the same image, row by row.
"""

from __future__ import annotations

import io
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from interface.data.manifest import verify_listed
from interface.errors import InputError
from interface.textfiles import read_text
from interface.untrusted import relative_name

SUFFIXES = ("_face_tid_mid.txt", "_template_pair_label.txt", "_name_5pts_score.txt")


@dataclass
class IJBMeta:
    """Meta data of one IJB-style set; row ``k`` of the per-image arrays describes image ``k``."""

    root: Path
    prefix: str
    image_names: list[str]
    template_ids: np.ndarray  # (N,) int64
    media_ids: np.ndarray  # (N,) int64
    landmarks: np.ndarray  # (N, 5, 2) float32, pixels in the loose crop
    face_scores: np.ndarray  # (N,) float32, detector confidence
    pairs: np.ndarray  # (K, 2) int64 template ids
    labels: np.ndarray  # (K,) int64, 1 = genuine, 0 = impostor

    def image_path(self, k: int) -> Path:
        return self.root / "loose_crop" / self.image_names[k]


_INT64 = np.iinfo(np.int64)


def _first_bad_line(path: Path, text: str, kinds: list[type]) -> str:
    for number, line in enumerate(text.split("\n"), start=1):
        fields = line.split()
        if not fields and number == text.count("\n") + 1:
            break  # the empty remainder after the final line end
        if len(fields) != len(kinds):
            return f"{path} line {number}: {len(fields)} fields, expected {len(kinds)}"
        for value, kind in zip(fields, kinds):
            try:
                parsed = kind(value)
            except ValueError:
                parsed = None
            if kind is int and parsed is not None and not _INT64.min <= parsed <= _INT64.max:
                return f"{path} line {number}: {value!r} is outside the 64-bit integer range"
            if parsed is None or (kind is float and not math.isfinite(parsed)):
                return f"{path} line {number}: {value!r} is not {'an integer' if kind is int else 'a finite number'}"
    return f"{path}: could not be parsed"


_BLANK_LINE = re.compile(r"\n[ \t]*\n")


def _refuse_blank_lines(path: Path, text: str) -> None:
    """Rows are numbered as lines in every message, so a blank line before or between rows is
    refused (blank lines after the last row are ignored)."""
    first_end = text.find("\n")
    if not text[: len(text) if first_end < 0 else first_end].strip():
        raise InputError(f"{path} line 1: empty line (expected one row per line)")
    end = len(text)
    while end and text[end - 1].isspace():  # the trailing blank lines (a few characters)
        end -= 1
    blank = _BLANK_LINE.search(text, 0, end + 1)
    if blank:
        number = text.count("\n", 0, blank.start()) + 2
        raise InputError(f"{path} line {number}: empty line (expected one row per line)")


def _read_table(path: Path, kinds: list[type]) -> pd.DataFrame:
    """Whitespace-separated table with one column per ``kinds`` entry (str, int or float)."""
    dtypes = {i: {str: "object", int: "int64", float: "float64"}[k] for i, k in enumerate(kinds)}
    try:
        text = read_text(path)  # UTF-8 with or without BOM, any line ends; else one error line
    except FileNotFoundError:
        raise InputError(f"{path}: missing") from None
    if not text.strip():
        raise InputError(f"{path}: empty file")
    _refuse_blank_lines(path, text)
    try:
        table = pd.read_csv(
            io.StringIO(text), sep=r"\s+", header=None, dtype=dtypes, engine="c", na_filter=False
        )
    except (ValueError, OverflowError, pd.errors.ParserError):
        raise InputError(_first_bad_line(path, text, kinds)) from None
    if table.shape[1] != len(kinds):
        raise InputError(_first_bad_line(path, text, kinds))
    return table


def find_meta(root: Path) -> tuple[str, list[Path]]:
    """``(prefix, [tid_mid, pair_label, 5pts])`` under ``root/meta``; InputError if absent/ambiguous."""
    meta = root / "meta"
    found = sorted(meta.glob(f"*{SUFFIXES[0]}")) if meta.is_dir() else []
    if not found:
        raise InputError(
            f"{meta}: no *{SUFFIXES[0]} file (expected the IJB meta files {', '.join(SUFFIXES)})"
        )
    if len(found) > 1:
        raise InputError(
            f"{meta}: several *{SUFFIXES[0]} files ({', '.join(p.name for p in found)}); expected one"
        )
    prefix = found[0].name[: -len(SUFFIXES[0])]
    paths = [meta / f"{prefix}{s}" for s in SUFFIXES]
    for p in paths:
        if not p.is_file():
            raise InputError(f"{p}: missing (IJB meta files with prefix {prefix!r}: {', '.join(SUFFIXES)})")
    return prefix, paths


def read_ijb(root: str | os.PathLike[str]) -> IJBMeta:
    """Read and cross-check the meta files of the IJB-style set in folder ``root``."""
    root = Path(root)
    prefix, (tid_path, pair_path, pts_path) = find_meta(root)
    for meta_file in (tid_path, pair_path, pts_path):
        verify_listed(meta_file)
    tid = _read_table(tid_path, [str, int, int])
    pts = _read_table(pts_path, [str] + [float] * 11)
    pairs = _read_table(pair_path, [int, int, int])
    if len(tid) != len(pts):
        raise InputError(
            f"{pts_path}: {len(pts)} rows but {tid_path.name} has {len(tid)}; the files must be row-aligned"
        )
    names = tid[0].astype(str).tolist()
    for k, name in enumerate(names):  # each names a file under loose_crop/, which it must not leave
        relative_name(name, f"{tid_path} line {k + 1}: image name")
    mismatch = np.flatnonzero(tid[0].to_numpy() != pts[0].to_numpy())
    if mismatch.size:
        k = int(mismatch[0])
        raise InputError(
            f"{pts_path} line {k + 1}: image {pts[0][k]!r}, but {tid_path.name} line {k + 1} has {names[k]!r}"
        )
    labels = pairs[2].to_numpy(np.int64)
    bad = np.flatnonzero((labels != 0) & (labels != 1))
    if bad.size:
        k = int(bad[0])
        raise InputError(f"{pair_path} line {k + 1}: label {labels[k]}, expected 0 or 1")
    template_ids = tid[1].to_numpy(np.int64)
    pair_ids = pairs[[0, 1]].to_numpy(np.int64)
    unknown = np.flatnonzero(~np.isin(pair_ids, template_ids).all(axis=1))
    if unknown.size:
        k = int(unknown[0])
        raise InputError(
            f"{pair_path} line {k + 1}: template {pair_ids[k].tolist()} not listed in {tid_path.name}"
        )
    values = pts.iloc[:, 1:].to_numpy(np.float64)
    if not np.isfinite(values).all():
        k = int(np.flatnonzero(~np.isfinite(values).all(axis=1))[0])
        raise InputError(f"{pts_path} line {k + 1}: landmark or score is not finite")
    return IJBMeta(
        root=root,
        prefix=prefix,
        image_names=names,
        template_ids=template_ids,
        media_ids=tid[2].to_numpy(np.int64),
        landmarks=values[:, :10].reshape(-1, 5, 2).astype(np.float32),
        face_scores=values[:, 10].astype(np.float32),
        pairs=pair_ids,
        labels=labels,
    )
