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
    """``(height, width)`` of a JPEG from its frame header only."""
    sof = _sof(data)
    if sof is not None and sof[1] > 0 and sof[2] > 0:
        return sof[1], sof[2]
    try:
        with Image.open(io.BytesIO(data)) as im:
            return im.size[1], im.size[0]
    except Exception as exc:  # Pillow raises several types for corrupt data
        raise InputError(f"{where}: cannot read JPEG header ({exc})") from None


def _sof(data: bytes) -> tuple[int, int, int, int] | None:
    """``(bits, H, W, components)`` from the first SOF0/1/2 marker, or None (other JPEG flavours)."""
    pos, n = 2, len(data)
    while pos + 4 <= n:
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker == 0x01 or 0xD0 <= marker <= 0xD8:  # markers without a length field
            pos += 2
            continue
        if marker in (0xC0, 0xC1, 0xC2) and pos + 10 <= n:
            s = data[pos + 4 : pos + 10]
            return s[0], (s[1] << 8) | s[2], (s[3] << 8) | s[4], s[5]
        if marker == 0xDA:  # scan data before any frame header
            return None
        pos += 2 + ((data[pos + 2] << 8) | data[pos + 3])
    return None


def _decode_rgb_direct(data: bytes) -> np.ndarray | None:
    """Decode an 8-bit 3-component JPEG with Pillow's libjpeg decoder, skipping ``Image.open``'s
    Python-level marker parsing (about 20 % of the time for a 112x112 face). The decoder and its
    arguments are the ones ``JpegImagePlugin`` uses for such files, so pixels are identical; any
    other file, or any failure, returns None and the caller takes the ordinary path."""
    sof = _sof(data)
    if sof is None or sof[0] != 8 or sof[3] != 3 or sof[1] == 0 or sof[2] == 0:
        return None
    _, h, w, _ = sof
    try:
        core = Image.core.new("RGB", (w, h))
        decoder = Image._getdecoder("RGB", "jpeg", ("RGB", ""), ())
        try:
            decoder.setimage(core, (0, 0, w, h))
            consumed, err = decoder.decode(data)
        finally:
            decoder.cleanup()
    except Exception:
        return None
    if consumed >= 0 or err < 0:  # libjpeg wanted more data (truncated) or failed
        return None
    return np.array(Image.Image()._new(core))


def decode_jpeg(data: bytes | memoryview, where: str) -> np.ndarray:
    """Decode JPEG bytes to a writable uint8 (H, W, 3) RGB array; anything else raises :class:`InputError`."""
    data = bytes(data)
    if data[:2] != JPEG_SOI:
        raise InputError(
            f"{where}: payload is not JPEG (starts with {data[:4].hex() or 'nothing'}, expected ffd8)"
        )
    fast = _decode_rgb_direct(data)
    if fast is not None:
        return fast
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
