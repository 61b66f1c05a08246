"""``manifest.json`` per dataset folder: counts, per-file sizes and SHA-256, generator provenance.

Written after a dataset folder is produced (``write_record_dataset``, ``pack``, SynthFace) and
checked when the folder is opened, so a swapped or truncated file is reported by name instead of
silently training on something else. Real sets are recognised by their published
(identities, images) counts (formats-and-protocols.md §1.4) and a near miss is reported.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from interface.atomic import write_json
from interface.errors import InputError
from interface.evaluation.cache import file_sha256
from interface.untrusted import relative_name

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
FORMAT = "interface-dataset-manifest/1"
CHECKSUM_LIMIT = 256 * 2**20  # verify SHA-256 automatically only up to this many bytes in total

# (identities, images) of the real training sets in insightface's packs.
KNOWN_SETS: dict[str, tuple[int, int]] = {
    "CASIA-WebFace": (10_572, 490_623),
    "MS1MV2": (85_742, 5_822_653),
    "MS1MV3": (93_431, 5_179_510),
    "Glint360K": (360_232, 17_091_657),
}
NEAR_MISS = 0.02  # relative difference under which a count counts as "almost" a known set's


def match_known_set(classes: int, images: int) -> tuple[str | None, str | None]:
    """``(name, note)``: ``name`` when the counts equal a known set's; ``note`` describes a near miss.

    A near miss is a set whose identity and image counts both lie within 2 % of a known set's
    without matching exactly (a partial download, or a cleaned variant).
    """
    for name, (c, n) in KNOWN_SETS.items():
        if (classes, images) == (c, n):
            return name, None
    for name, (c, n) in KNOWN_SETS.items():
        if abs(classes - c) <= NEAR_MISS * c and abs(images - n) <= NEAR_MISS * n:
            return None, (
                f"{classes} identities / {images} images is close to but not {name} "
                f"({c} / {n}: {classes - c:+d} identities, {images - n:+d} images)"
            )
    return None, None


def _dataset_files(root: Path) -> list[Path]:
    """Regular files under ``root`` except the manifest and hidden (temporary) files, sorted."""
    files = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if name != MANIFEST and not name.startswith("."):
                files.append(Path(dirpath, name))
    return files


def write_manifest(
    root: str | os.PathLike[str],
    *,
    classes: int | None = None,
    images: int | None = None,
    generator: dict | None = None,
) -> dict:
    """Write ``root/manifest.json`` describing every file now in ``root`` (recursively); return it.

    ``classes``/``images`` default to the counts of the RecordIO set in ``root`` when it has one.
    ``generator``: e.g. ``{"name": "synthface", "version": "1", "seed": 0, "preset": "default"}``.
    """
    root = Path(root)
    if (classes is None or images is None) and (root / "train.rec").is_file():
        from interface.data.records import RecordDataset

        ds = RecordDataset(root, verify=False)
        classes = ds.num_classes if classes is None else classes
        images = len(ds) if images is None else images
    known, note = (
        match_known_set(classes, images) if classes is not None and images is not None else (None, None)
    )
    manifest = {
        "format": FORMAT,
        "classes": classes,
        "images": images,
        "known_set": known,
        "generator": generator,
        "files": {
            f.relative_to(root).as_posix(): {"bytes": f.stat().st_size, "sha256": file_sha256(f)}
            for f in _dataset_files(root)
        },
    }
    if note:
        manifest["note"] = note
    write_json(root / MANIFEST, manifest)
    return manifest


def _check_entry(file: Path, entry: dict, manifest_path: Path, deep: bool) -> None:
    if not file.is_file():
        raise InputError(f"{file}: listed in {manifest_path} but missing")
    size = file.stat().st_size
    if size != int(entry["bytes"]):
        raise InputError(f"{file}: {size} bytes, {manifest_path} records {entry['bytes']}")
    if deep and file_sha256(file) != entry["sha256"]:
        raise InputError(f"{file}: SHA-256 differs from the one recorded in {manifest_path}")


def _load(path: Path) -> dict:
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(manifest.get("files"), dict):
            raise KeyError("files")
    except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
        raise InputError(f"{path}: not a dataset manifest ({exc})") from None
    return manifest


def verify_listed(path: str | os.PathLike[str], levels: int = 3) -> bool:
    """Check one file against the nearest manifest (in its folder or up to ``levels`` folders
    above) that lists it: size always, SHA-256 when the file is at most 256 MiB. Returns whether
    a manifest listed it; a mismatch raises :class:`InputError` naming the file."""
    file = Path(path).absolute()
    folder = file.parent
    for _ in range(levels + 1):
        manifest_path = folder / MANIFEST
        if manifest_path.is_file():
            entry = _load(manifest_path)["files"].get(file.relative_to(folder).as_posix())
            if entry is not None:
                _check_entry(file, entry, manifest_path, int(entry["bytes"]) <= CHECKSUM_LIMIT)
                return True
        if folder.parent == folder:
            break
        folder = folder.parent
    return False


def verify_manifest(root: str | os.PathLike[str], checksums: bool | None = None) -> dict | None:
    """Check ``root`` against its manifest; return the manifest, or None when there is none.

    Sizes are always compared; SHA-256 digests when ``checksums`` is True, or (``None``) when the
    listed files total at most 256 MiB. Files not listed are not checked. A missing, resized or
    changed file raises :class:`InputError` naming it.
    """
    root = Path(root)
    path = root / MANIFEST
    if not path.is_file():
        return None
    manifest = _load(path)
    total = sum(int(entry["bytes"]) for entry in manifest["files"].values())
    deep = checksums if checksums is not None else total <= CHECKSUM_LIMIT
    for rel, entry in manifest["files"].items():
        _check_entry(root / relative_name(rel, f"{path} key files"), entry, path, deep)
    return manifest
