"""TinyFace's identification split as released (QMUL TinyFace, read as AdaFace's
``validation_lq/tinyface_helper.py`` reads it).

Folder ``D`` (the release's ``tinyface/`` folder)::

    D/Testing_Set/Probe/<id>_<k>.jpg                probe images
    D/Testing_Set/Gallery_Match/<id>_<k>.jpg        gallery images of the probe identities
    D/Testing_Set/Gallery_Distractor/<name>.jpg     distractor images (no identity)
    D/Testing_Set/probe_img_ID_pairs.mat            keys probe_set (names), probe_ids
    D/Testing_Set/gallery_match_img_ID_pairs.mat    keys gallery_set (names), gallery_ids

The identity of a probe or gallery-match image is the integer before the first ``_`` of its file
name (AdaFace ``get_label``); the ``.mat`` ids must agree with it. AdaFace takes the probes and
gallery matches from the folder listings and loads the ``.mat`` files without using them, so
here the listing of each folder must equal its ``.mat`` list (then both readings give the same
sets). Distractors are every ``.jpg``/``.jpeg``/``.png`` file of ``Gallery_Distractor``
(AdaFace's extension list), in sorted order, labelled -100. Every probe identity must have a
gallery match (TinyFace is closed-set; AdaFace would silently drop such a probe).

The ``.mat`` files are read with ``scipy.io.loadmat`` (MATLAB v5 data, no code is run).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from interface.errors import InputError
from interface.untrusted import relative_name

SPLIT = "Testing_Set"
PROBE, MATCH, DISTRACTOR = "Probe", "Gallery_Match", "Gallery_Distractor"
MAT_FILES = {PROBE: ("probe_img_ID_pairs.mat", "probe_set", "probe_ids"),
             MATCH: ("gallery_match_img_ID_pairs.mat", "gallery_set", "gallery_ids")}  # fmt: skip
IMAGE_EXTENSIONS = (".jpg", ".png", ".jpeg")  # AdaFace get_all_files (case-sensitive)
DISTRACTOR_LABEL = -100


@dataclass
class TinyFaceSplit:
    """File names (relative to their sub-folder of ``root/Testing_Set``) and identities."""

    root: Path
    probes: list[str]
    probe_labels: np.ndarray  # (P,) int64
    matches: list[str]
    match_labels: np.ndarray  # (M,) int64
    distractors: list[str]

    def path(self, folder: str, name: str) -> Path:
        return self.root / SPLIT / folder / name


def label_from_name(name: str, where: str) -> int:
    """The identity: the integer before the first ``_`` of the file name (AdaFace ``get_label``)."""
    head = os.path.basename(name).split("_", 1)[0]
    try:
        return int(head)
    except ValueError:
        raise InputError(
            f"{where}: file name {name!r} does not start with an integer identity and '_'"
        ) from None


def _cell_text(value: object) -> str | None:
    """A MATLAB cell holding one string, as loadmat returns it (nested 1-element arrays)."""
    while isinstance(value, np.ndarray) and value.size == 1 and value.dtype == object:
        value = value.ravel()[0]
    if isinstance(value, np.ndarray) and value.dtype.kind == "U" and value.size == 1:
        return str(value.ravel()[0])
    return value if isinstance(value, str) else None


def read_mat_list(path: Path, names_key: str, ids_key: str) -> tuple[list[str], np.ndarray]:
    """``(names, ids)`` from one TinyFace ``.mat`` list; InputError naming the file, key and row."""
    import scipy.io

    if not path.is_file():
        raise InputError(f"{path}: missing (TinyFace protocol list)")
    try:
        mat = scipy.io.loadmat(str(path))
    except (ValueError, TypeError, OSError, NotImplementedError) as exc:
        raise InputError(f"{path}: not a readable MATLAB v5 .mat file ({exc})") from None
    for key in (names_key, ids_key):
        if key not in mat:
            found = ", ".join(k for k in mat if not k.startswith("__")) or "none"
            raise InputError(f"{path}: no key {key!r} (found: {found})")
    cells = np.asarray(mat[names_key], dtype=object).ravel()
    ids = np.asarray(mat[ids_key]).ravel()
    if cells.size != ids.size or cells.size == 0:
        raise InputError(f"{path}: {names_key} has {cells.size} entries and {ids_key} {ids.size}; "
                         f"expected the same non-zero count")  # fmt: skip
    names = []
    for row, cell in enumerate(cells, start=1):
        text = _cell_text(cell)
        if text is None:
            raise InputError(f"{path}: {names_key} row {row} is not a file name string")
        names.append(relative_name(text, f"{path}: {names_key} row {row}"))
    if ids.dtype.kind not in "iuf" or not np.all(np.isfinite(ids)) or np.any(ids != np.round(ids)):
        raise InputError(f"{path}: {ids_key} must be integers")
    ids = ids.astype(np.int64)
    for row, (name, ident) in enumerate(zip(names, ids), start=1):
        if label_from_name(name, f"{path}: {names_key} row {row}") != ident:
            raise InputError(f"{path}: row {row}: {ids_key} {ident} but the file name {name!r} names "
                             f"identity {label_from_name(name, str(path))}")  # fmt: skip
    return names, ids


def list_images(folder: Path) -> list[str]:
    """Image file names (IMAGE_EXTENSIONS) directly in ``folder``, sorted."""
    if not folder.is_dir():
        raise InputError(f"{folder}: missing (TinyFace image folder)")
    return sorted(p.name for p in folder.iterdir() if p.is_file() and p.suffix in IMAGE_EXTENSIONS)


def read_tinyface(root: str | os.PathLike[str]) -> TinyFaceSplit:
    """Read and cross-check the TinyFace split under ``root`` (module docstring)."""
    root = Path(root)
    split = root / SPLIT
    if not split.is_dir():
        raise InputError(f"{split}: missing (expected the TinyFace release folder with {SPLIT}/)")
    lists = {}
    for folder, (mat_name, names_key, ids_key) in MAT_FILES.items():
        mat_path = split / mat_name
        names, ids = read_mat_list(mat_path, names_key, ids_key)
        listed = list_images(split / folder)
        on_disk = set(listed)
        extra = sorted(on_disk - set(names))
        missing = [n for n in names if n not in on_disk]
        if missing:
            raise InputError(f"{mat_path}: lists {missing[0]!r}, which is not in {split / folder}")
        if extra:
            raise InputError(f"{split / folder}/{extra[0]}: not listed in {mat_path} ({names_key})")
        if len(set(names)) != len(names):
            dup = next(n for n in names if names.count(n) > 1)
            raise InputError(f"{mat_path}: {names_key} lists {dup!r} twice")
        lists[folder] = (names, ids)
    (probes, probe_ids), (matches, match_ids) = lists[PROBE], lists[MATCH]
    absent = np.flatnonzero(~np.isin(probe_ids, match_ids))
    if absent.size:
        k = int(absent[0])
        raise InputError(f"{split / MAT_FILES[PROBE][0]}: row {k + 1}: probe {probes[k]!r} has identity "
                         f"{probe_ids[k]}, which has no image in {MATCH}")  # fmt: skip
    distractors = list_images(split / DISTRACTOR)
    return TinyFaceSplit(root, probes, probe_ids, matches, match_ids, distractors)
