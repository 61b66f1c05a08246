"""torch Dataset with the arcface_torch / InterFace training preprocessing (formats-and-protocols.md §7).

Each item is ``(float32 (3, S, S) in [-1, 1], int64 class)``: RGB, ``(x/255 - 0.5)/0.5`` (computed as
``(x - 127.5)/127.5``, equal within 6e-8), a bilinear antialiased resize to ``input_size`` when the
stored size differs (as in ``interface.evaluation.embed.to_input``), and for training a horizontal flip with
probability 0.5 drawn from torch's RNG, so DataLoader worker seeds make epochs reproducible.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Protocol

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset
from tqdm import tqdm

from interface.errors import InputError

log = logging.getLogger(__name__)

RECORDIO_FILES = ("train.rec", "train.idx", "property")  # an InsightFace training folder
CACHE_LIMIT_MB = 4096  # refuse an in-memory cache larger than this (uint8 bytes)


class ImageSource(Protocol):
    """What FaceDataset reads: RecordDataset, ImageFolder, or anything with this interface."""

    num_classes: int

    def __len__(self) -> int: ...

    def read(self, i: int) -> tuple[np.ndarray, int]: ...


def open_source(source: str | os.PathLike[str] | ImageSource) -> ImageSource:
    """A RecordIO folder (has ``train.rec``) -> RecordDataset; another folder -> ImageFolder."""
    if not isinstance(source, str | os.PathLike):
        return source
    root = Path(source)
    present = [name for name in RECORDIO_FILES if (root / name).is_file()]
    if present and len(present) < len(RECORDIO_FILES):
        missing = [name for name in RECORDIO_FILES if name not in present]
        raise InputError(
            f"{root}: RecordIO set without {' and '.join(missing)} (has {', '.join(present)}; needs "
            f"{', '.join(RECORDIO_FILES)})"
        )
    if present:
        from interface.data.records import RecordDataset

        return RecordDataset(root)
    if root.is_dir():
        from interface.data.folder import ImageFolder

        return ImageFolder(root)
    raise InputError(f"{root}: not a RecordIO dataset folder or a folder of identity sub-folders")


_HALF = np.float32(127.5)
_SCALE = np.float32(1.0 / 127.5)


def _normalise(img: np.ndarray, size: int, flip: bool = False) -> torch.Tensor:
    """uint8 (H, W, 3) RGB -> contiguous float32 (3, size, size), (x/255 - 0.5)/0.5, mirrored along
    the width when ``flip``, resized when the stored size differs from ``size``.

    Computed in numpy as (x - 127.5) * (1/127.5): the subtraction is exact in float32 and the
    product differs from (x/255 - 0.5)/0.5 by at most 6e-8. The flip and the HWC -> CHW transpose
    are free views read by that single conversion pass; measured side by side with JPEG decoding
    (interface/bench/data.py) this costs far less than the equivalent chain of torch ops.
    """
    view = img[:, ::-1] if flip else img
    x = np.subtract(view.transpose(2, 0, 1), _HALF, dtype=np.float32)
    x *= _SCALE
    t = torch.from_numpy(x)
    if t.shape[-2:] != (size, size):
        t = F.interpolate(t[None], size=(size, size), mode="bilinear", align_corners=False, antialias=True)[0]
    return t


def resize_uint8(img: np.ndarray, size: int) -> np.ndarray:
    """Bilinear antialiased resize of a uint8 (H, W, 3) image to (size, size, 3), rounded to uint8."""
    if img.shape[:2] == (size, size):
        return img
    x = torch.from_numpy(img).permute(2, 0, 1).float()[None]
    x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=True)[0]
    return x.round_().clamp_(0, 255).to(torch.uint8).permute(1, 2, 0).contiguous().numpy()


class FaceDataset(Dataset):
    """Training/evaluation view of a face set.

    Args:
        source: a RecordIO dataset folder, a folder of identity sub-folders, or an object with
            ``__len__``, ``num_classes`` and ``read(i) -> (uint8 (H, W, 3) RGB, int)``.
        train: apply the random horizontal flip (p = 0.5, torch RNG).
        input_size: output side S in pixels (>= 8).
        cache: decode every image once, resized to S x S, into one shared uint8 array (N, S, S, 3)
            at construction (before DataLoader workers fork, so they share it copy-on-write).
            Meant for small sets trained for many epochs; at most 4096 MiB. Cached pixels are
            rounded to uint8 after the resize (at most 0.5 grey levels from the uncached value).
    """

    def __init__(
        self,
        source: str | os.PathLike[str] | ImageSource,
        train: bool,
        input_size: int,
        cache: bool = False,
    ) -> None:
        if int(input_size) < 8:
            raise InputError(f"input_size={input_size}; expected an integer >= 8 (pixels)")
        self.source = open_source(source)
        self.train = bool(train)
        self.input_size = int(input_size)
        self.num_classes = int(self.source.num_classes)
        self._cache: np.ndarray | None = None
        self._labels: np.ndarray | None = None
        if cache:
            self._fill_cache()

    def _fill_cache(self) -> None:
        n, s = len(self.source), self.input_size
        mb = n * s * s * 3 / 2**20
        if mb > CACHE_LIMIT_MB:
            raise InputError(
                f"cache=True needs {mb:.0f} MiB for {n} images at {s}px; limit {CACHE_LIMIT_MB} MiB"
            )
        images = np.empty((n, s, s, 3), dtype=np.uint8)
        labels = np.empty(n, dtype=np.int64)
        for i in tqdm(range(n), desc="decoding faces", unit="img", disable=n < 2000, leave=False):
            img, labels[i] = self.source.read(i)
            images[i] = resize_uint8(img, s)
        log.info("cached %d images at %dx%d (%.0f MiB)", n, s, s, mb)
        self._cache, self._labels = images, labels

    def __len__(self) -> int:
        return len(self.source)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        if self._cache is not None:
            img, label = self._cache[i], int(self._labels[i])
        else:
            img, label = self.source.read(i)
        flip = self.train and torch.rand(1).item() < 0.5
        return _normalise(img, self.input_size, flip), torch.tensor(label, dtype=torch.int64)
