"""Decoded benchmark inputs shared by every run: decode, deduplicate and resize once per
(benchmark files, input size), then read by each run's evaluation instead of the JPEGs.

What a model sees of a benchmark does not depend on the model: decoding, IJB alignment, removing
repeated images (SynthFace packs and IJB templates reuse renders) and the resize to the input size
are done once and stored as ``<cache_dir>/inputs-<benchmark>-<S>px-<fingerprint>.npz``. The name
carries a fingerprint of the source files (paths, sizes, modification times), so regenerated data
misses. The file is never trusted: it holds a SHA-256 over its arrays, checked on every read; a
damaged or unreadable file is rebuilt (with a log line). Writes go to a temporary name and are
renamed into place, so two evaluate jobs building the same file at once both end with a complete
one.

Sets whose prepared images would exceed :data:`MAX_CACHED_MIB` (real IJB-C, MegaFace's million
distractors) are not cached: their images stay a lazy sequence that ``extract`` reads batch by
batch, as without a cache, so memory stays bounded.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from interface.atomic import atomic_open
from interface.evaluation.cache import cache_key, data_fingerprint
from interface.evaluation.embed import to_input

log = logging.getLogger(__name__)

INPUTS_VERSION = 1
PREPARE_BLOCK = 256  # images resized per block (bounds the float32 temporaries)
MAX_CACHED_MIB = 2048  # larger prepared sets are streamed lazily and not cached


@dataclass
class Inputs:
    """A benchmark ready to embed.

    x: the distinct images as :func:`interface.evaluation.embed.extract` takes them: uint8
    (U, H, W, 3) RGB when already at the input size, else float32 (U, 3, S, S) network input;
    or a lazy sequence of uint8 (H, W, 3) images for sets too large to cache.
    index: (N,) int64, row of ``x`` for each benchmark item (pack image, IJB meta row, record).
    meta: kind-specific arrays (e.g. ``issame``, ``labels``).
    """

    x: np.ndarray | Sequence[np.ndarray]
    index: np.ndarray
    meta: dict[str, np.ndarray]


def distinct(images: np.ndarray, keys: list[bytes] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(first occurrence of each distinct image, (N,) index into them), in first-occurrence order.

    Images are equal when their pixels (or the given per-image ``keys``) are byte-equal.
    """
    digests = keys if keys is not None else [hashlib.sha1(img.tobytes()).digest() for img in images]
    rows: dict[bytes, int] = {}
    index = np.array([rows.setdefault(d, len(rows)) for d in digests], dtype=np.int64)
    _, first = np.unique(index, return_index=True)  # rows are numbered in first-occurrence order
    return images[first], index


class LazyImages(Sequence):
    """``n`` images read on demand by ``fetch(i) -> uint8 (H, W, 3)`` (for sets that may not fit in memory)."""

    def __init__(self, fetch: Callable[[int], np.ndarray], n: int):
        self.fetch, self.n = fetch, n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> np.ndarray:
        if not 0 <= i < self.n:
            raise IndexError(i)
        return self.fetch(i)


def prepared_mib(n: int, shape: tuple[int, ...], input_size: int) -> float:
    """MiB of ``n`` prepared images of ``shape`` (H, W, 3): uint8 at the input size, else float32."""
    per = shape[0] * shape[1] * 3 if tuple(shape[:2]) == (input_size, input_size) else 3 * input_size**2 * 4
    return n * per / 2**20


def prepare(images: np.ndarray, input_size: int) -> np.ndarray:
    """uint8 (U, H, W, 3) images -> the array ``extract`` consumes (unchanged at the input size,
    else float32 (U, 3, S, S), computed on the CPU exactly as ``embed.to_input`` does)."""
    if images.shape[1:3] == (input_size, input_size):
        return images
    out = np.empty((images.shape[0], 3, input_size, input_size), dtype=np.float32)
    cpu = torch.device("cpu")
    for lo in range(0, images.shape[0], PREPARE_BLOCK):
        out[lo : lo + PREPARE_BLOCK] = to_input(images[lo : lo + PREPARE_BLOCK], input_size, cpu).numpy()
    return out


def _checksum(arrays: dict[str, np.ndarray]) -> str:
    h = hashlib.sha256()
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(f"{name}|{a.dtype.str}|{a.shape}|".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def inputs_file(cache_dir: Path, name: str, kind: str, files: list[Path], input_size: int) -> Path:
    """Where the inputs of benchmark ``name`` at ``input_size`` px live for these source files."""
    key = cache_key(version=INPUTS_VERSION, kind=kind, input_size=input_size, data=data_fingerprint(files))
    return Path(cache_dir) / f"inputs-{name}-{input_size}px-{key[:16]}.npz"


def _load(path: Path) -> Inputs:
    """Read and verify an inputs file; raises (ValueError, zip or OS errors) when it is damaged."""
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files if k != "__checksum__"}
        stored = str(z["__checksum__"])
    if _checksum(arrays) != stored:
        raise ValueError("checksum mismatch")
    x, index = arrays.pop("x"), arrays.pop("index")
    if index.ndim != 1 or (index.size and not 0 <= index.min() <= index.max() < x.shape[0]):
        raise ValueError("index out of range")
    return Inputs(x, index, {k.removeprefix("meta_"): v for k, v in arrays.items()})


def cached_inputs(
    cache_dir: Path | None,
    name: str,
    kind: str,
    files: list[Path],
    input_size: int,
    decode: Callable[[], tuple[np.ndarray | Sequence[np.ndarray], np.ndarray, dict[str, np.ndarray]]],
) -> tuple[Inputs, str]:
    """The prepared inputs of a benchmark, read from ``cache_dir`` or built and stored there.

    ``decode()`` returns (distinct uint8 images, as an array or a lazy sequence; (N,) index; meta
    arrays). Returns (inputs, status) with status "read", "written", "off" (no ``cache_dir``) or
    "streamed" (a lazy set above :data:`MAX_CACHED_MIB`, left lazy and not cached).
    """
    path = None if cache_dir is None else inputs_file(cache_dir, name, kind, files, input_size)
    if path is not None and path.is_file():
        try:
            inputs = _load(path)
            log.info("%s: read %d prepared images from %s", name, inputs.x.shape[0], path)
            return inputs, "read"
        except Exception as exc:  # noqa: BLE001  (damaged in any way: rebuilt, never trusted)
            log.warning("%s: damaged benchmark cache %s (%s); rebuilding it", name, path, exc)
    images, index, meta = decode()
    if not isinstance(images, np.ndarray):
        mib = prepared_mib(len(images), images[0].shape, input_size) if len(images) else 0.0
        if mib > MAX_CACHED_MIB:
            log.info("%s: %d images (%.0f MiB prepared) are streamed, not cached", name, len(images), mib)
            return Inputs(images, index, meta), "streamed"
        images = np.stack([images[i] for i in range(len(images))])
    inputs = Inputs(prepare(images, input_size), index, meta)
    if path is None:
        return inputs, "off"
    arrays = {"x": inputs.x, "index": inputs.index, **{f"meta_{k}": v for k, v in meta.items()}}
    with atomic_open(path, "wb") as handle:
        np.savez(handle, __checksum__=np.asarray(_checksum(arrays)), **arrays)
    log.info("%s: wrote %d prepared images (%d items) to %s", name, inputs.x.shape[0], index.size, path)
    return inputs, "written"
