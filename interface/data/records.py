"""InsightFace training sets in RecordIO: :class:`RecordDataset` and :func:`write_record_dataset`.

Layout (formats-and-protocols.md §1.4, insightface ``RecBuilder`` / arcface_torch ``MXFaceDataset``):
``property`` = ``num_classes,H,W``; key 0 = header record with label ``[A, B]`` (``A`` = first
identity-record key = images + 1, ``B`` = one past the last); keys ``1..A-1`` = JPEG images with the
0-based class as label; keys ``A..B-1`` = identity records with label ``[start, end)``. Sets without
a header record (``im2rec``, ``shuffle_rec.py``) use every key of the ``.idx`` as an image.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from interface.atomic import atomic_path
from interface.data.images import DEFAULT_QUALITY, as_jpeg, check_image, decode_jpeg, encode_jpeg, jpeg_size
from interface.data.labels import class_label
from interface.data.manifest import match_known_set, verify_manifest, write_manifest
from interface.data.recordio import RecordReader, RecordWriter, pack_record, record_class, unpack_record
from interface.errors import InputError
from interface.textfiles import read_text

log = logging.getLogger(__name__)

FLOAT32_EXACT = 2**24  # float32 holds every integer up to here; keys above may be stored off by one


def read_property(root: Path) -> tuple[int, int, int]:
    """``(num_classes, H, W)`` from ``root/property`` (one line ``num_classes,H,W``)."""
    path = root / "property"
    try:
        text = read_text(path).strip()
    except FileNotFoundError:
        raise InputError(
            f"{path}: missing (expected one line 'num_classes,H,W', e.g. '85742,112,112')"
        ) from None
    parts = text.split(",")
    if len(parts) != 3 or not all(p.strip().isdigit() for p in parts):
        raise InputError(f"{path}: {text[:60]!r} is not 'num_classes,H,W' with three non-negative integers")
    c, h, w = (int(p) for p in parts)
    if c < 1 or h < 1 or w < 1:
        raise InputError(f"{path}: {text!r} must have num_classes, H and W >= 1")
    return c, h, w


class RecordDataset:
    """Random access to an InsightFace RecordIO training set in folder ``root``.

    ``len(ds)`` images, ``ds.num_classes``, ``ds.image_size`` = (H, W) from ``property``;
    ``ds.read(i) -> (uint8 (H, W, 3) RGB, class)``. ``verify``: check ``manifest.json`` when present.
    Safe to use from DataLoader workers (the ``.rec`` is mapped lazily per process).
    """

    def __init__(self, root: str | os.PathLike[str], verify: bool = True) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise InputError(f"{self.root}: dataset folder not found")
        self.num_classes, h, w = read_property(self.root)
        self.image_size = (h, w)
        self.manifest = verify_manifest(self.root) if verify else None
        self.reader = RecordReader(self.root / "train.rec", self.root / "train.idx")
        self.identity_keys: tuple[int, int] | None = None
        self.keys = self._image_keys()
        self.known_set, note = match_known_set(self.num_classes, len(self.keys))
        if note:
            log.warning("%s: %s", self.root, note)

    def _image_keys(self) -> np.ndarray:
        reader = self.reader
        if 0 in reader:
            header, _ = reader.read_header(0)
            if header.flag > 0:
                if header.flag < 2:
                    raise InputError(
                        f"{reader.where(0)}: header record has {header.flag} label, expected [A, B]"
                    )
                first = self._first_identity_key(class_label(header.label[0], reader.where(0)))
                last = class_label(header.label[1], reader.where(0))
                if last > FLOAT32_EXACT:  # B may be rounded too; one identity record per class
                    last = first + self.num_classes
                keys = np.arange(1, first, dtype=np.int64)
                missing = [k for k in (1, first - 1) if first > 1 and k not in reader]
                if missing or (first - 1) > len(reader):
                    raise InputError(
                        f"{reader.idx_path}: header record says images are keys 1..{first - 1}, "
                        f"but key {missing[0] if missing else first - 1} is not in the index"
                    )
                self.identity_keys = (first, last)
                return keys
        return reader.keys.copy()

    def _first_identity_key(self, stored: int) -> int:
        """Correct a header key stored in float32 above 2**24 by probing the records around it."""
        if stored <= FLOAT32_EXACT:
            return stored
        for key in range(stored - 2, stored + 3):
            if key in self.reader and key - 1 in self.reader:
                head, payload = self.reader.read_header(key)
                _, prev_payload = self.reader.read_header(key - 1)
                if head.flag >= 2 and not payload and prev_payload:
                    return key
        return stored

    def __len__(self) -> int:
        return int(self.keys.size)

    def _check_index(self, i: int) -> int:
        if not -len(self) <= i < len(self):
            raise IndexError(f"image index {i} out of range for {len(self)} images in {self.root}")
        return int(self.keys[i])

    def _class(self, key: int, header) -> int:
        label = record_class(header, self.reader.where(key))
        if not 0 <= label < self.num_classes:
            raise InputError(
                f"{self.reader.where(key)}: label {label} outside [0, {self.num_classes}) "
                f"(num_classes from {self.root / 'property'})"
            )
        return label

    def read_raw(self, i: int) -> tuple[bytes, int]:
        """``(JPEG bytes, class)`` of image ``i`` (0-based position, not the record key)."""
        key = self._check_index(i)
        header, payload = self.reader.read_header(key)
        return payload, self._class(key, header)

    def label(self, i: int) -> int:
        """Class of image ``i`` from its record header only (no payload copy, no decoding)."""
        key = self._check_index(i)
        return self._class(key, self.reader.read_label_header(key))

    def read(self, i: int) -> tuple[np.ndarray, int]:
        """``(uint8 (H, W, 3) RGB, class)`` of image ``i``; the shape must match ``property``."""
        payload, label = self.read_raw(i)
        where = self.reader.where(int(self.keys[i]))
        img = decode_jpeg(payload, where)
        if img.shape[:2] != self.image_size:
            raise InputError(
                f"{where}: image is {img.shape[0]}x{img.shape[1]}, property says {self.image_size[0]}x{self.image_size[1]}"
            )
        return img, label


def _check_labels(labels: Iterable[int], root: Path) -> list[int]:
    arr = np.asarray(list(labels))
    if arr.ndim != 1 or arr.size == 0:
        raise InputError(
            f"{root}: labels must be a non-empty 1-D sequence of class indices, got shape {arr.shape}"
        )
    integral = np.issubdtype(arr.dtype, np.integer) or (
        np.issubdtype(arr.dtype, np.floating) and bool(np.all(arr == np.round(arr)))
    )
    if not integral:
        raise InputError(f"{root}: labels must be integers, got dtype {arr.dtype}")
    out = [int(x) for x in arr]
    for i, (a, b) in enumerate(zip(out, out[1:])):
        if b < a:
            raise InputError(
                f"{root}: label {b} of image {i + 1} follows {a}; images must be grouped by identity in increasing label order"
            )
    if out[0] < 0:
        raise InputError(f"{root}: label {out[0]} of image 0 is negative")
    return out


def write_record_dataset(
    root: str | os.PathLike[str],
    images: Iterable[object],
    labels: Iterable[int],
    *,
    num_classes: int | None = None,
    quality: int = DEFAULT_QUALITY,
    generator: dict | None = None,
) -> Path:
    """Write ``root/{train.rec, train.idx, property, manifest.json}`` in the InsightFace layout.

    ``images``: uint8 (H, W, 3) RGB arrays (JPEG-encoded with Pillow at ``quality``) or JPEG bytes
    (stored unchanged), all of one size. ``labels``: 0-based class per image, grouped by identity
    in non-decreasing order (identity records need contiguous key ranges). ``num_classes``
    defaults to ``max(label) + 1``; classes without images get empty ranges. ``generator`` is
    recorded in the manifest. Files appear only when everything was written (atomic renames).
    Records: images under keys ``1..N``, identity records ``N+1..N+C``, header key 0 last.
    """
    root = Path(root)
    labels = _check_labels(labels, root)
    n = len(labels)
    classes = labels[-1] + 1 if num_classes is None else int(num_classes)
    if classes <= labels[-1]:
        raise InputError(f"{root}: label {labels[-1]} >= num_classes {classes}")
    created = not root.exists()
    root.mkdir(parents=True, exist_ok=True)
    try:
        _write_records(root, images, labels, classes, quality)
    except BaseException:
        if created and not any(root.iterdir()):
            root.rmdir()  # leave no empty folder behind for a failed write
        raise
    write_manifest(root, classes=classes, images=n, generator=generator)
    return root


def _write_records(
    root: Path, images: Iterable[object], labels: list[int], classes: int, quality: int
) -> None:
    """Write train.rec, train.idx and property through temporary files renamed only on success."""
    n = len(labels)
    with contextlib.ExitStack() as stack:
        rec_tmp = stack.enter_context(atomic_path(root / "train.rec"))
        idx_tmp = stack.enter_context(atomic_path(root / "train.idx"))
        prop_tmp = stack.enter_context(atomic_path(root / "property"))
        rec = stack.enter_context(open(rec_tmp, "wb"))
        idx = stack.enter_context(open(idx_tmp, "w", encoding="ascii", newline="\n"))
        writer = RecordWriter(rec, idx)
        shape = None
        starts = np.full(classes + 1, -1, dtype=np.int64)
        count = 0
        for i, item in enumerate(images):
            if i >= n:
                raise InputError(f"{root}: more images than the {n} labels")
            where = f"{root} image {i} (label {labels[i]})"
            if isinstance(item, bytes | bytearray | memoryview):
                jpeg = as_jpeg(item, where, quality)
                size = jpeg_size(jpeg, where)
            else:
                arr = check_image(item, where)
                jpeg, size = encode_jpeg(arr, quality), arr.shape[:2]
            if shape is None:
                shape = size
            elif size != shape:
                raise InputError(
                    f"{where}: image is {size[0]}x{size[1]}, the first image is {shape[0]}x{shape[1]}"
                )
            key = i + 1
            if starts[labels[i]] < 0:
                starts[labels[i]] = key
            writer.write(key, pack_record(float(labels[i]), jpeg, id=key))
            count += 1
        if count != n:
            raise InputError(f"{root}: {count} images for {n} labels; expected one label per image")
        first_identity = n + 1
        end = n + 1
        for c in range(classes - 1, -1, -1):  # fill empty ranges from the right: [end, end)
            if starts[c] < 0:
                starts[c] = end
            end = starts[c]
        starts[classes] = n + 1
        for c in range(classes):
            writer.write(
                first_identity + c, pack_record([starts[c], starts[c + 1]], b"", id=first_identity + c)
            )
        writer.write(0, pack_record([first_identity, first_identity + classes], b"", id=0, id2=1))
        rec.close()
        idx.close()
        prop_tmp.write_text(f"{classes},{shape[0]},{shape[1]}\n", encoding="ascii")


def iter_identity_ranges(ds: RecordDataset) -> dict[int, tuple[int, int]]:
    """``{class: (start_key, end_key)}`` from the identity records (only sets with a header record)."""
    if ds.identity_keys is None:
        return {}
    out = {}
    first, last = ds.identity_keys
    for c, key in enumerate(range(first, last)):
        header, _ = unpack_record(ds.reader.read(key), ds.reader.where(key))
        out[c] = (int(round(float(header.label[0]))), int(round(float(header.label[1]))))
    return out
