"""A folder of identity sub-folders of aligned face images, read like a RecordDataset.

``root/<identity>/<image>``: identities sorted by folder name get classes ``0..C-1``; images inside
each identity are sorted by file name. Hidden files and files without an image extension are
ignored. This is the layout ``python -m interface pack`` turns into RecordIO.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from interface.data.images import decode_image_file
from interface.errors import InputError

IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}


class ImageFolder:
    """``len``, ``num_classes``, ``identities`` (folder names), ``files``, ``read(i)``, ``read_raw(i)``,
    ``label(i)``; the same reading interface as :class:`interface.data.RecordDataset`."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise InputError(f"{self.root}: image folder not found")
        self.identities = sorted(
            p.name for p in self.root.iterdir() if p.is_dir() and not p.name.startswith(".")
        )
        if not self.identities:
            raise InputError(
                f"{self.root}: no identity sub-folders (expected {self.root}/<identity>/<image files>)"
            )
        files: list[Path] = []
        labels: list[int] = []
        for label, name in enumerate(self.identities):
            found = sorted(
                p
                for p in (self.root / name).iterdir()
                if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in IMAGE_EXTENSIONS
            )
            if not found:  # e.g. the meta/ folder of an IJB set: not an identity, not a training set
                raise InputError(
                    f"{self.root}: identity folder {name!r} holds no images ({', '.join(sorted(IMAGE_EXTENSIONS))}); "
                    "a training set is train.rec + train.idx + property, or <identity>/<image files> folders"
                )
            files += found
            labels += [label] * len(found)
        self.files = files
        self.labels = np.asarray(labels, dtype=np.int64)
        self.num_classes = len(self.identities)
        self.image_size: tuple[int, int] | None = None  # images may differ; pack checks they agree

    def __len__(self) -> int:
        return len(self.files)

    def label(self, i: int) -> int:
        return int(self.labels[i])

    def read_raw(self, i: int) -> tuple[bytes, int]:
        """``(file bytes, class)`` of image ``i``."""
        return self.files[i].read_bytes(), int(self.labels[i])

    def read(self, i: int) -> tuple[np.ndarray, int]:
        """``(uint8 (H, W, 3) RGB, class)`` of image ``i``."""
        return decode_image_file(str(self.files[i])), int(self.labels[i])
