"""``python -m interface pack --src FOLDER --out DIR``: identity sub-folders of aligned faces -> RecordIO.

FOLDER/<identity>/<image> (identities sorted by name get classes 0..C-1) becomes DIR/{train.rec,
train.idx, property, manifest.json} in the InsightFace layout, readable by
``interface.data.RecordDataset`` and by MXNet. JPEG files are stored byte for byte; other formats
are decoded and encoded as JPEG; every image is decoded once, so a truncated file is refused by
name. All images must have the same size (the aligned crop, e.g.
112x112); ``--size`` resizes instead. DIR/identities.txt maps class index to folder name.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from tqdm import tqdm

from interface.atomic import atomic_open
from interface.data.folder import ImageFolder
from interface.data.images import DEFAULT_QUALITY, JPEG_SOI
from interface.data.manifest import write_manifest
from interface.data.records import write_record_dataset
from interface.errors import InputError, cli_main

log = logging.getLogger(__name__)


def _decoded_size(data: bytes, path: Path) -> tuple[int, int]:
    """``(W, H)`` of JPEG ``data`` after decoding every pixel: a truncated or damaged file (which
    the header alone does not reveal) is refused here, naming ``path``, not at training time."""
    from io import BytesIO

    from PIL import Image

    try:
        with Image.open(BytesIO(data)) as img:
            img.load()
            return img.size
    except Exception as exc:  # noqa: BLE001  (Pillow raises OSError, SyntaxError, ValueError, ...)
        raise InputError(f"{path}: cannot decode the JPEG image ({' '.join(str(exc).split())})") from None


def _items(folder: ImageFolder, size: int | None) -> Iterator[bytes | np.ndarray]:
    """Images in label order; without ``size`` every image must match the first one's size, and a
    mismatch names the source file (the bar is closed first, so the error is the last line)."""
    from interface.data.dataset import resize_uint8

    expected: tuple[int, ...] | None = None
    with tqdm(total=len(folder), desc="packing", unit="img") as bar:
        for i in range(len(folder)):
            if size is not None:
                img, _ = folder.read(i)
                yield resize_uint8(img, size)
            else:
                data, _ = folder.read_raw(i)
                is_jpeg = data.startswith(JPEG_SOI)
                item = data if is_jpeg else folder.read(i)[0]
                hw = _decoded_size(data, folder.files[i])[::-1] if is_jpeg else item.shape[:2]
                expected = expected or hw
                if hw != expected:
                    bar.close()
                    raise InputError(
                        f"{folder.files[i]}: image is {hw[0]}x{hw[1]} (HxW), expected {expected[0]}x{expected[1]}"
                        " like the first image (use --size to resize)"
                    )
                yield item
            bar.update()


def pack_folder(src: Path, out: Path, size: int | None = None, quality: int = DEFAULT_QUALITY) -> dict:
    """Pack ``src`` into the RecordIO dataset folder ``out``; return the manifest written."""
    inside = src.resolve()
    if out.resolve() == inside or inside in out.resolve().parents:
        raise InputError(
            f"--out {out} is inside --src {src}: a second run would pack the output folder as an identity; "
            "expected an output folder outside the source"
        )
    folder = ImageFolder(src)
    write_record_dataset(
        out, _items(folder, size), folder.labels.tolist(), num_classes=folder.num_classes, quality=quality
    )
    with atomic_open(out / "identities.txt", "w", encoding="utf-8") as handle:
        handle.writelines(f"{c}\t{name}\n" for c, name in enumerate(folder.identities))
    manifest = write_manifest(out, generator={"name": "interface.pack", "source": str(src)})
    log.info("packed %d images of %d identities into %s", len(folder), folder.num_classes, out)
    return manifest


@cli_main
def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m interface pack", description=__doc__)
    parser.add_argument(
        "--src", type=Path, required=True, help="folder of identity sub-folders of aligned face images"
    )
    parser.add_argument("--out", type=Path, required=True, help="output dataset folder (created)")
    parser.add_argument(
        "--size", type=int, default=None, help="resize every image to SIZE x SIZE pixels (bilinear)"
    )
    parser.add_argument(
        "--quality", type=int, default=DEFAULT_QUALITY, help="JPEG quality 1-100 for re-encoded images"
    )
    args = parser.parse_args(argv)
    if not 1 <= args.quality <= 100:
        raise InputError(f"--quality {args.quality}: expected 1-100")
    if args.size is not None and args.size < 8:
        raise InputError(f"--size {args.size}: expected >= 8 pixels")
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    manifest = pack_folder(args.src, args.out, args.size, args.quality)
    note = f" ({manifest['known_set']})" if manifest.get("known_set") else ""
    print(f"{args.out}: {manifest['images']} images, {manifest['classes']} identities{note}")
    if manifest.get("note"):
        print(f"note: {manifest['note']}")
    return 0
