"""Open a run's training set and choose how its batches are delivered (memory cache or stream).

The dataset is read through :mod:`interface.data` only (RecordDataset for the files,
FaceDataset for the preprocessing: RGB, (x/255 - 0.5)/0.5, bilinear antialiased resize to the
input size), so the trainer and the evaluators see identically prepared pixels.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

import torch

from interface.atomic import save_torch
from interface.errors import InputError
from interface.training.batches import MemorySource, StreamSource

log = logging.getLogger(__name__)


@dataclass
class TrainingData:
    """A training set ready to batch: ``source.batches(indices, flips)`` yields (images, labels)."""

    source: MemorySource | StreamSource
    num_images: int
    num_classes: int
    cached: bool
    decoded_file: str | None = None  # "read" or "written" when a cache_dir file was used


def open_records(folder: str | Path):
    """The image source in ``folder`` (RecordIO set, or a folder of identity sub-folders).

    A missing folder, or one that is neither, raises a one-line InputError naming it.
    """
    from interface.data.dataset import open_source

    root = Path(folder)
    if not root.is_dir():
        raise InputError(f"config key 'data': dataset folder {root} not found")
    records = open_source(root)
    if records.num_classes < 2:
        raise InputError(
            f"config key 'data': {root} holds {records.num_classes} class; training needs at least 2 identities"
        )
    return records


def cache_megabytes(num_images: int, input_size: int) -> float:
    """Memory (MiB) of the decoded float32 set at ``input_size`` pixels."""
    return num_images * 3 * input_size * input_size * 4 / 2**20


def _decode_all(faces, num_images: int, input_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    images = torch.empty((num_images, 3, input_size, input_size), dtype=torch.float32)
    labels = torch.empty(num_images, dtype=torch.int64)
    for i in range(num_images):
        images[i], labels[i] = faces[i]
    return images, labels


def decoded_file(cache_dir: str | Path, records, input_size: int) -> Path:
    """Where the decoded set lives in ``cache_dir``: named by a fingerprint of the dataset's files
    (absolute paths, sizes, modification times) and the input size, so an edited dataset misses."""
    root = Path(records.root).resolve()
    files = list(getattr(records, "files", [])) or [root / n for n in ("train.rec", "train.idx", "property")]
    digest = hashlib.sha256(f"decoded-v1|{root}|{input_size}".encode())
    for path in files:
        stat = Path(path).stat()
        digest.update(f"|{path}|{stat.st_size}|{stat.st_mtime_ns}".encode())
    return Path(cache_dir) / f"decoded-{root.name}-{input_size}px-{digest.hexdigest()[:16]}.pt"


def _decode_or_load(
    faces, records, input_size: int, cache_dir: str | None
) -> tuple[torch.Tensor, torch.Tensor, str | None]:
    """Decode the whole set, or read it from ``cache_dir`` (written there after a first decode)."""
    num_images = len(records)
    path = decoded_file(cache_dir, records, input_size) if cache_dir else None
    if path is not None and path.is_file():
        try:
            saved = torch.load(path, map_location="cpu", weights_only=True)
            images, labels = saved["images"], saved["labels"]
            if images.shape == (num_images, 3, input_size, input_size) and labels.shape == (num_images,):
                log.info("read %d decoded images from %s", num_images, path)
                return images, labels, "read"
        except Exception as exc:  # noqa: BLE001  (a damaged cache file is rebuilt, never trusted)
            log.warning("%s: unreadable decoded cache (%s); decoding again", path, type(exc).__name__)
    log.info("decoding %d images into memory (%.0f MiB)", num_images, cache_megabytes(num_images, input_size))
    images, labels = _decode_all(faces, num_images, input_size)
    if path is None:
        return images, labels, None
    save_torch(path, {"images": images, "labels": labels})
    return images, labels, "written"


def open_training_data(
    records, input_size: int, cache_mb: int, num_workers: int, pin_memory: bool, cache_dir: str | None = None
) -> TrainingData:
    """Prepare ``records`` (from :func:`open_records`), checking every label before any training step.

    Sets needing at most ``cache_mb`` MiB decoded are decoded once into memory (and, with
    ``cache_dir``, kept there as a file that later runs on the same set read instead of decoding);
    larger sets stream through ``num_workers`` DataLoader workers. A label outside
    [0, num_classes) raises InputError naming the record (the readers check it).
    """
    from interface.data import FaceDataset

    num_images = len(records)
    if num_images == 0:
        raise InputError(f"config key 'data': {getattr(records, 'root', records)} holds no training images")
    faces = FaceDataset(records, train=False, input_size=input_size)
    if cache_megabytes(num_images, input_size) <= cache_mb:
        images, labels, used = _decode_or_load(faces, records, input_size, cache_dir)
        return TrainingData(MemorySource(images, labels), num_images, records.num_classes, True, used)
    if hasattr(records, "label"):  # reads headers only: catches bad labels before training
        for i in range(num_images):
            records.label(i)
    return TrainingData(StreamSource(faces, num_workers, pin_memory), num_images, records.num_classes, False)
