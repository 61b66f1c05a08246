"""JPEG encode/decode with Pillow (no OpenCV) and checks on image arrays.

Face images in InsightFace packs are plain JPEG files of aligned faces, decoded to RGB
(formats-and-protocols.md §1.3, §2.2).
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from interface.errors import InputError

JPEG_SOI = b"\xff\xd8"
DEFAULT_QUALITY = 95  # mxnet.recordio.pack_img default; fixed so outputs are byte-identical


def check_image(img: object, where: str) -> np.ndarray:
    """Return ``img`` as a contiguous uint8 ``(H, W, 3)`` array or raise :class:`InputError`."""
    arr = np.asarray(img)
    if arr.dtype != np.uint8 or arr.ndim != 3 or arr.shape[2] != 3 or arr.shape[0] < 1 or arr.shape[1] < 1:
        raise InputError(
            f"{where}: image has dtype {arr.dtype} and shape {arr.shape}, expected uint8 (H, W, 3) RGB"
        )
    return np.ascontiguousarray(arr)


def encode_jpeg(img: np.ndarray, quality: int = DEFAULT_QUALITY) -> bytes:
    """Encode a uint8 (H, W, 3) RGB array as baseline JPEG at ``quality`` (1-100)."""
    buf = io.BytesIO()
    Image.fromarray(img, mode="RGB").save(buf, format="JPEG", quality=int(quality))
    return buf.getvalue()


def as_jpeg(item: object, where: str, quality: int = DEFAULT_QUALITY) -> bytes:
    """JPEG bytes for ``item``: bytes-like JPEG passed through unchanged, arrays encoded."""
    if isinstance(item, bytes | bytearray | memoryview):
        data = bytes(item)
        if not data.startswith(JPEG_SOI):
            raise InputError(f"{where}: bytes do not start with the JPEG marker FF D8 (got {data[:4].hex()})")
        return data
    return encode_jpeg(check_image(item, where), quality)


def jpeg_size(data: bytes, where: str) -> tuple[int, int]:
    """``(height, width)`` of a JPEG from its header only."""
    try:
        with Image.open(io.BytesIO(data)) as im:
            return im.size[1], im.size[0]
    except Exception as exc:  # Pillow raises several types for corrupt data
        raise InputError(f"{where}: cannot read JPEG header ({exc})") from None


def decode_jpeg(data: bytes | memoryview, where: str) -> np.ndarray:
    """Decode JPEG bytes to a writable uint8 (H, W, 3) RGB array; anything else raises :class:`InputError`."""
    if bytes(data[:2]) != JPEG_SOI:
        raise InputError(
            f"{where}: payload is not JPEG (starts with {bytes(data[:4]).hex() or 'nothing'}, expected ffd8)"
        )
    try:
        with Image.open(io.BytesIO(data)) as im:
            if im.mode != "RGB":
                im = im.convert("RGB")
            return np.array(im)  # writable copy (np.asarray of a PIL image is read-only)
    except Exception as exc:
        raise InputError(f"{where}: corrupt JPEG ({exc})") from None


def decode_image_file(path: str, where: str | None = None) -> np.ndarray:
    """Decode an image file of any Pillow-readable format to a uint8 (H, W, 3) RGB array."""
    try:
        with Image.open(path) as im:
            return np.array(im.convert("RGB"))
    except FileNotFoundError:
        raise InputError(f"{where or path}: image file not found") from None
    except Exception as exc:
        raise InputError(f"{where or path}: cannot decode image ({exc})") from None
