"""InsightFace ``.bin`` verification packs: a pickled ``(bins, issame_list)`` tuple.

``bins`` holds ``2P`` JPEG images (Python-2 ``str`` -> ``bytes``, ``bytearray`` or 1-D uint8 arrays
from ``cv2.imencode``); pair ``i`` is ``(bins[2i], bins[2i+1])`` with label ``issame_list[i]``.
The pair order is the official fold order (10 contiguous folds) and is never changed
(formats-and-protocols.md §2). Packs are untrusted: they are read through
:mod:`interface.data.safe_pickle`, which builds data only and never runs code from the file.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np

from interface.atomic import write_bytes
from interface.data.images import DEFAULT_QUALITY, as_jpeg, decode_jpeg
from interface.data.labels import pair_labels
from interface.data.manifest import verify_listed
from interface.data.safe_pickle import Refused, load_pack_pickle
from interface.errors import InputError


def _load_pickle(path: Path) -> object:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: verification pack not found") from None
    # Python-2 packs: str items need encoding='bytes'; numpy arrays inside need 'latin1'.
    first_error: Exception | None = None
    for kwargs in ({}, {"encoding": "bytes"}, {"encoding": "latin1"}):
        try:
            return load_pack_pickle(raw, **kwargs)
        except Refused as exc:
            raise InputError(
                f"{path}: refused {exc.what} (a .bin pack holds only bytes, lists, tuples, bools, "
                "ints and numpy arrays of those; this pickle asks for more, so it is not loaded)"
            ) from None
        except Exception as exc:
            if first_error is None and not isinstance(exc, UnicodeDecodeError):
                first_error = exc
    detail = f"{type(first_error).__name__}: {first_error}" if first_error else "undecodable strings"
    raise InputError(f"{path}: not a readable pickle of (bins, issame_list) ({detail})")


def _item_bytes(item: object, where: str) -> bytes:
    if isinstance(item, bytes | bytearray | memoryview):
        return bytes(item)
    if isinstance(item, str):  # a py2 str loaded with encoding='latin1'
        return item.encode("latin1")
    if isinstance(item, np.ndarray) and item.dtype == np.uint8:
        return item.ravel().tobytes()
    raise InputError(f"{where}: item of type {type(item).__name__}, expected JPEG bytes or a uint8 array")


def read_bin(path: str | os.PathLike[str]) -> tuple[np.ndarray, np.ndarray]:
    """Load a ``.bin`` pack as ``(images uint8 (2P, H, W, 3) RGB, issame bool (P,))``, order kept.

    Raises :class:`InputError` naming the file and item index when the pack is not a 2-tuple, when
    ``len(bins) != 2 * len(issame)``, when an item is not JPEG, or when image shapes differ.
    """
    path = Path(path)
    if path.is_file():
        verify_listed(path)  # a pack listed in a dataset manifest must be the one recorded there
    obj = _load_pickle(path)
    if not isinstance(obj, tuple | list) or len(obj) != 2:
        raise InputError(f"{path}: expected a pickled (bins, issame_list) pair, got {type(obj).__name__}")
    bins, issame = obj
    issame = pair_labels(issame, str(path))
    if len(bins) != 2 * issame.size:
        raise InputError(
            f"{path}: {len(bins)} images but {issame.size} pairs; expected exactly 2 images per pair"
        )
    if issame.size == 0:
        raise InputError(f"{path}: the pack holds no pairs")
    first = decode_jpeg(_item_bytes(bins[0], f"{path} item 0"), f"{path} item 0")
    images = np.empty((len(bins), *first.shape), dtype=np.uint8)
    images[0] = first
    for i in range(1, len(bins)):
        where = f"{path} item {i}"
        img = decode_jpeg(_item_bytes(bins[i], where), where)
        if img.shape != first.shape:
            raise InputError(f"{where}: image shape {img.shape} differs from item 0 shape {first.shape}")
        images[i] = img
    return images, issame


def write_bin(
    path: str | os.PathLike[str], images: object, issame: object, quality: int = DEFAULT_QUALITY
) -> None:
    """Write a ``.bin`` pack atomically: JPEG ``bytes`` items and a list of bools, pickle protocol 4.

    ``images``: uint8 ``(2P, H, W, 3)`` RGB (array or sequence of arrays, or JPEG bytes items);
    ``issame``: ``P`` booleans, pair ``i`` = images ``2i, 2i+1``. ``quality``: JPEG quality 1-100.
    """
    path = Path(path)
    flags = [bool(x) for x in np.asarray(issame).ravel()]
    if isinstance(images, np.ndarray) and (
        images.ndim != 4 or images.shape[-1] != 3 or images.dtype != np.uint8
    ):
        raise InputError(
            f"{path}: images array {images.dtype} {images.shape}, expected uint8 (2P, H, W, 3) RGB"
        )
    items = list(images)
    if len(items) != 2 * len(flags) or not flags:
        raise InputError(
            f"{path}: {len(items)} images for {len(flags)} pairs; expected 2 images per pair, P >= 1"
        )
    bins = [as_jpeg(item, f"{path} image {i}", quality) for i, item in enumerate(items)]
    write_bytes(path, pickle.dumps((bins, flags), protocol=4))
