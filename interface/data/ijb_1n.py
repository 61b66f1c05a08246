"""IJB-B / IJB-C 1:N protocol files: the two galleries and the mixed-media probe list.

They sit next to the 1:1 meta files of the same folder (``interface.data.ijb``), as in
insightface's IJB release::

    D/meta/<p>_1N_gallery_G1.csv, <p>_1N_gallery_G2.csv   (IJB-C; IJB-B names them S1, S2)
    D/meta/<p>_1N_probe_mixed.csv

Each is a comma-separated file with one header row (``TEMPLATE_ID,SUBJECT_ID,FILENAME,...``) and
one row per image of a template: column 0 is the template id, column 1 the subject id; the other
columns are not used (the template's images and media come from ``<p>_face_tid_mid.txt``).

Checks (each failure is one line naming the file and line): the header row is present; every row
has two integer fields first; a template names one subject on all its rows and has images in
``face_tid_mid``; a subject has exactly one template per gallery and lies in at most one
gallery; no probe template is a gallery template; every probe's subject lies in G1 or G2 (a probe
is mated in one gallery and non-mated in the other, as in the release).
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from interface.data.ijb import IJBMeta, read_ijb
from interface.data.manifest import verify_listed
from interface.errors import InputError
from interface.textfiles import read_text

#: Gallery file stems: IJB-C's G1/G2, IJB-B's S1/S2 (insightface ``ijb_1n.py`` naming).
GALLERY_NAMES = (("G1", "G2"), ("S1", "S2"))
PROBE_SUFFIX = "_1N_probe_mixed.csv"


@dataclass
class TemplateList:
    """One 1:N list: unique template ids (ascending) and the subject of each."""

    path: Path
    templates: np.ndarray  # (T,) int64, ascending
    subjects: np.ndarray  # (T,) int64
    lines: np.ndarray  # (T,) int, file line of each template's first row (for messages)


@dataclass
class IJB1NMeta:
    """An IJB folder's 1:1 meta (images, templates, media, landmarks) and its 1:N lists."""

    meta: IJBMeta
    galleries: dict[str, TemplateList]  # "G1", "G2" (or "S1", "S2"), in that order
    probes: TemplateList


def read_template_list(path: Path) -> TemplateList:
    """Read one 1:N CSV (header row, then ``template_id,subject_id,...`` per image row)."""
    try:
        text = read_text(path)
    except FileNotFoundError:
        raise InputError(f"{path}: missing (IJB 1:N template list)") from None
    rows = list(csv.reader(io.StringIO(text)))
    if not rows or not any(field.strip() for field in rows[0]):
        raise InputError(f"{path}: empty file (expected a header row, then template_id,subject_id,... rows)")
    if _integers(rows[0]) is not None:
        raise InputError(f"{path} line 1: {','.join(rows[0][:2])!r} is data; expected the header row")
    subject_of: dict[int, tuple[int, int]] = {}
    for number, row in enumerate(rows[1:], start=2):
        if not any(field.strip() for field in row):
            continue  # blank line (e.g. a trailing one)
        pair = _integers(row)
        if pair is None:
            raise InputError(
                f"{path} line {number}: {','.join(row[:2])!r}; expected integer template_id,subject_id first"
            )
        template, subject = pair
        seen = subject_of.setdefault(template, (subject, number))
        if seen[0] != subject:
            raise InputError(
                f"{path} line {number}: template {template} has subject {subject}, "
                f"but line {seen[1]} gives subject {seen[0]}"
            )
    if not subject_of:
        raise InputError(f"{path}: no template rows after the header")
    templates = np.array(sorted(subject_of), dtype=np.int64)
    return TemplateList(
        path=path,
        templates=templates,
        subjects=np.array([subject_of[t][0] for t in templates], dtype=np.int64),
        lines=np.array([subject_of[t][1] for t in templates], dtype=np.int64),
    )


def _integers(row: list[str]) -> tuple[int, int] | None:
    if len(row) < 2:
        return None
    try:
        return int(row[0].strip()), int(row[1].strip())
    except ValueError:
        return None


def find_1n_files(meta_dir: Path, prefix: str) -> tuple[dict[str, Path], Path]:
    """``({gallery name: path}, probe path)`` for ``prefix`` in ``meta_dir``; InputError if absent."""
    for names in GALLERY_NAMES:
        paths = {name: meta_dir / f"{prefix}_1N_gallery_{name}.csv" for name in names}
        if any(p.is_file() for p in paths.values()):
            break
    else:
        expected = " or ".join(f"{prefix}_1N_gallery_{a}.csv + {b}.csv" for a, b in GALLERY_NAMES)
        raise InputError(f"{meta_dir}: no IJB 1:N gallery files (expected {expected})")
    for path in paths.values():
        if not path.is_file():
            raise InputError(f"{path}: missing (IJB 1:N galleries come in pairs: {', '.join(paths)})")
    probe = meta_dir / f"{prefix}{PROBE_SUFFIX}"
    if not probe.is_file():
        raise InputError(f"{probe}: missing (IJB 1:N mixed-media probe list)")
    return paths, probe


def _check_gallery(name: str, gallery: TemplateList) -> None:
    subjects, first, counts = np.unique(gallery.subjects, return_index=True, return_counts=True)
    if np.any(counts > 1):
        k = int(np.flatnonzero(counts > 1)[0])
        again = np.flatnonzero(gallery.subjects == subjects[k])
        raise InputError(
            f"{gallery.path} line {gallery.lines[again[1]]}: subject {subjects[k]} has a second template "
            f"in gallery {name} (first at line {gallery.lines[first[k]]}); expected one template per subject"
        )


def read_ijb_1n(root: str | os.PathLike[str], meta: IJBMeta | None = None) -> IJB1NMeta:
    """Read the IJB folder ``root`` (1:1 meta files, ``interface.data.ijb``; pass ``meta`` when
    already read) and its 1:N lists."""
    root = Path(root)
    meta = read_ijb(root) if meta is None else meta
    gallery_paths, probe_path = find_1n_files(root / "meta", meta.prefix)
    for path in [*gallery_paths.values(), probe_path]:
        verify_listed(path)
    galleries = {name: read_template_list(path) for name, path in gallery_paths.items()}
    probes = read_template_list(probe_path)
    known = np.unique(meta.template_ids)
    for tl in [*galleries.values(), probes]:
        missing = np.flatnonzero(~np.isin(tl.templates, known))
        if missing.size:
            k = int(missing[0])
            raise InputError(
                f"{tl.path} line {tl.lines[k]}: template {tl.templates[k]} has no images in "
                f"{meta.prefix}_face_tid_mid.txt"
            )
    for name, gallery in galleries.items():
        _check_gallery(name, gallery)
    (n1, g1), (n2, g2) = galleries.items()
    both = np.intersect1d(g1.subjects, g2.subjects)
    if both.size:
        line = g2.lines[np.flatnonzero(g2.subjects == both[0])[0]]
        raise InputError(f"{g2.path} line {line}: subject {both[0]} is in both galleries {n1} and {n2}")
    for gallery in galleries.values():
        shared = np.flatnonzero(np.isin(probes.templates, gallery.templates))
        if shared.size:
            k = int(shared[0])
            raise InputError(f"{probe_path} line {probes.lines[k]}: template {probes.templates[k]} is also a "
                             f"gallery template ({gallery.path.name}); a probe must not search for itself")  # fmt: skip
    absent = np.flatnonzero(~np.isin(probes.subjects, np.concatenate([g1.subjects, g2.subjects])))
    if absent.size:
        k = int(absent[0])
        raise InputError(
            f"{probe_path} line {probes.lines[k]}: probe template {probes.templates[k]} has subject "
            f"{probes.subjects[k]}, which is in neither gallery ({n1}, {n2})"
        )
    return IJB1NMeta(meta=meta, galleries=galleries, probes=probes)
