"""MXNet/dmlc RecordIO (``.rec`` + ``.idx``) in pure Python and numpy, no MXNet.

Format (formats-and-protocols.md §1, from dmlc-core ``recordio.h`` and ``mxnet/recordio.py``):

- a chunk is ``magic:uint32 | lrec:uint32 | data | zero padding to a multiple of 4`` (little
  endian), magic ``0xCED7230A``, ``lrec = cflag << 29 | length`` (cflag 3 bits, length 29 bits);
- a payload that contains the magic at a 4-byte-aligned offset is cut there, the 4 magic bytes
  are dropped and the pieces go out as chunks with cflag 1 (first), 2 (middle), 3 (last); the
  reader puts the magic back between them;
- the ``.idx`` text file lists ``key<TAB>byte_offset`` per record, in write order;
- a logical record is the 24-byte ``IfQQ`` IRHeader ``(flag, label, id, id2)``, then ``flag``
  float32 labels when ``flag > 0``, then the payload (a JPEG file for face images).

The reader maps the ``.rec`` file lazily, once per process, so a :class:`RecordReader` built in the
parent can be handed to ``torch.utils.data.DataLoader`` workers (fork or spawn) safely.
"""

from __future__ import annotations

import mmap
import os
import struct
from collections.abc import Sequence
from pathlib import Path
from typing import IO, NamedTuple

import numpy as np

from interface.data.labels import class_label
from interface.errors import InputError

MAGIC = 0xCED7230A
MAGIC_BYTES = struct.pack("<I", MAGIC)
LENGTH_BITS = 29
MAX_CHUNK = (1 << LENGTH_BITS) - 1
_CHUNK_HEAD = struct.Struct("<II")
_IRHEADER = struct.Struct("<IfQQ")
IRHEADER_SIZE = _IRHEADER.size  # 24 bytes


def _ceil4(n: int) -> int:
    return (n + 3) & ~3


class IRHeader(NamedTuple):
    """Image-record header. ``flag`` = number of float32 labels after the header (0: scalar label).

    ``label`` is a float (scalar record) or a float32 array of length ``flag``; ``id``/``id2`` are
    the record id and its high part (insightface: id = key, id2 = 1 only for the key-0 header).
    """

    flag: int
    label: float | np.ndarray
    id: int
    id2: int


# ---------------------------------------------------------------------------------------------
# Logical record payload (IRHeader)
# ---------------------------------------------------------------------------------------------


def pack_record(
    label: float | Sequence[float] | np.ndarray, payload: bytes = b"", id: int = 0, id2: int = 0
) -> bytes:
    """Serialise ``IRHeader + [float32 label array] + payload`` as ``mxnet.recordio.pack`` does.

    A Python/numpy scalar label gives ``flag = 0`` and the label in the header (float32); anything
    else is converted to a float32 array, ``flag`` = its size and the header label 0.
    """
    if np.ndim(label) == 0:
        return _IRHEADER.pack(0, float(label), int(id), int(id2)) + bytes(payload)
    arr = np.ascontiguousarray(np.asarray(label, dtype="<f4").ravel())
    return _IRHEADER.pack(arr.size, 0.0, int(id), int(id2)) + arr.tobytes() + bytes(payload)


def unpack_record(record: bytes | memoryview, where: str = "record") -> tuple[IRHeader, bytes]:
    """Split a logical record into its :class:`IRHeader` and payload bytes.

    ``where`` names the record (file and key) in the :class:`InputError` raised when it is too short.
    """
    if len(record) < IRHEADER_SIZE:
        raise InputError(
            f"{where}: record is {len(record)} bytes, expected at least a {IRHEADER_SIZE}-byte IRHeader"
        )
    flag, label, rid, rid2 = _IRHEADER.unpack_from(record, 0)
    start = IRHEADER_SIZE
    if flag > 0:
        end = start + 4 * flag
        if len(record) < end:
            raise InputError(
                f"{where}: IRHeader flag {flag} announces {flag} float32 labels but the record has "
                f"only {len(record) - start} bytes after the header"
            )
        label = np.frombuffer(record[start:end], dtype="<f4").copy()
        start = end
    return IRHeader(flag, label, rid, rid2), bytes(record[start:])


def record_class(header: IRHeader, where: str = "record") -> int:
    """Class index of an image record: the scalar label, or ``label[0]`` for array labels.

    A NaN, infinite, fractional or negative label raises InputError naming ``where``.
    """
    value = header.label if header.flag == 0 else header.label[0]
    return class_label(value, where)


# ---------------------------------------------------------------------------------------------
# Physical framing
# ---------------------------------------------------------------------------------------------


def encode_chunks(data: bytes) -> bytes:
    """Frame one logical record into dmlc chunks (split at aligned magic words, pad the last)."""
    n = len(data)
    aligned = n & ~3
    words = np.frombuffer(data, dtype="<u4", count=aligned // 4)
    cuts = (np.flatnonzero(words == MAGIC) * 4).tolist()
    out = bytearray()
    begin = 0
    for k, cut in enumerate(cuts):
        piece = data[begin:cut]
        if len(piece) > MAX_CHUNK:
            raise InputError(f"record chunk of {len(piece)} bytes exceeds the RecordIO limit of {MAX_CHUNK}")
        out += _CHUNK_HEAD.pack(MAGIC, ((1 if k == 0 else 2) << LENGTH_BITS) | len(piece))
        out += piece  # cut is 4-aligned and so is begin, so no padding is needed here
        begin = cut + 4
    tail = data[begin:]
    if len(tail) > MAX_CHUNK:
        raise InputError(f"record chunk of {len(tail)} bytes exceeds the RecordIO limit of {MAX_CHUNK}")
    out += _CHUNK_HEAD.pack(MAGIC, ((3 if cuts else 0) << LENGTH_BITS) | len(tail))
    out += tail
    out += b"\0" * (_ceil4(len(tail)) - len(tail))
    return bytes(out)


def decode_chunks(buf: bytes | mmap.mmap | memoryview, offset: int, where: str) -> bytes:
    """Read the logical record whose first chunk starts at ``offset`` of ``buf`` (reader rule §1.1)."""
    size = len(buf)
    parts: list[bytes] = []
    pos = offset
    first = True
    while True:
        if pos + 8 > size:
            raise InputError(f"{where}: truncated at byte {pos}: chunk header needs 8 bytes, file has {size}")
        magic, lrec = _CHUNK_HEAD.unpack_from(buf, pos)
        if magic != MAGIC:
            raise InputError(f"{where}: bad magic 0x{magic:08X} at byte {pos}, expected 0x{MAGIC:08X}")
        cflag, length = lrec >> LENGTH_BITS, lrec & MAX_CHUNK
        if cflag > 3 or (first and cflag in (2, 3)) or (not first and cflag in (0, 1)):
            raise InputError(f"{where}: unexpected continuation flag {cflag} at byte {pos}")
        start = pos + 8
        if start + length > size:
            raise InputError(
                f"{where}: truncated at byte {pos}: chunk announces {length} bytes, only {size - start} remain"
            )
        if cflag == 0:
            return bytes(buf[start : start + length])
        parts.append(bytes(buf[start : start + length]))
        if cflag == 3:
            return MAGIC_BYTES.join(parts)
        first = False
        pos = start + _ceil4(length)


# ---------------------------------------------------------------------------------------------
# Writer
# ---------------------------------------------------------------------------------------------


class RecordWriter:
    """Append logical records to an open ``.rec`` handle and their ``key<TAB>offset`` lines to ``.idx``.

    The caller owns the handles (so it can write to temporary files and rename them atomically).
    """

    def __init__(self, rec: IO[bytes], idx: IO[str]) -> None:
        self._rec, self._idx = rec, idx
        self._pos = 0
        self.count = 0

    def write(self, key: int, record: bytes) -> int:
        """Write ``record`` (already :func:`pack_record`-ed) under ``key``; return its byte offset."""
        offset = self._pos
        framed = encode_chunks(record)
        self._rec.write(framed)
        self._idx.write(f"{int(key)}\t{offset}\n")
        self._pos += len(framed)
        self.count += 1
        return offset


# ---------------------------------------------------------------------------------------------
# Index + random-access reader
# ---------------------------------------------------------------------------------------------


def read_idx(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Parse a ``.idx`` file into ``(keys, offsets)`` int64 arrays, in file order.

    Bad lines raise :class:`InputError` naming the file and the 1-based line number.
    """
    try:
        text = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: index file not found (expected key<TAB>offset lines)") from None
    lines = text.splitlines()
    try:
        values = np.array(text.split(), dtype=np.int64)  # about 1 s per million lines
    except (ValueError, OverflowError):
        values = None
    if values is None or values.size != 2 * sum(1 for line in lines if line.strip()):
        for number, line in enumerate(lines, start=1):
            parts = line.split()
            if parts and (len(parts) != 2 or not all(p.lstrip(b"-").isdigit() for p in parts)):
                raise InputError(f"{path} line {number}: {line[:60]!r} is not 'key<TAB>offset'")
        raise InputError(f"{path}: could not be parsed as key<TAB>offset lines")
    pairs = values.reshape(-1, 2)
    keys, offsets = pairs[:, 0].copy(), pairs[:, 1].copy()
    bad = np.flatnonzero((offsets < 0) | (keys < 0))
    if bad.size:
        i = int(bad[0])
        raise InputError(f"{path} line {i + 1}: negative key or offset ({keys[i]}, {offsets[i]})")
    _refuse_duplicate_keys(path, keys)
    return keys, offsets


def _refuse_duplicate_keys(path: Path, keys: np.ndarray) -> None:
    """A key listed twice would make one record shadow another: name both lines (1-based)."""
    order = np.argsort(keys, kind="stable")  # stable: of equal keys, the earlier line comes first
    ordered = keys[order]
    repeats = np.flatnonzero(ordered[1:] == ordered[:-1])
    if repeats.size:
        second = int(order[repeats + 1].min())
        first = int(np.flatnonzero(keys == keys[second])[0])
        raise InputError(
            f"{path} line {second + 1}: key {keys[second]} is listed twice (first at line {first + 1}); "
            "every record key must appear once"
        )


class RecordReader:
    """Random access to the logical records of ``rec_path`` through ``idx_path``.

    The ``.rec`` file is memory-mapped on first use in each process (the map is dropped when the
    object is pickled or when the process id changes after a fork), so instances are safe to share
    with DataLoader workers.
    """

    def __init__(self, rec_path: str | os.PathLike[str], idx_path: str | os.PathLike[str]) -> None:
        self.rec_path, self.idx_path = Path(rec_path), Path(idx_path)
        self._rec_name = str(self.rec_path)  # formatted once: where() runs on every read
        if not self.rec_path.is_file():
            raise InputError(f"{self.rec_path}: record file not found")
        self.keys, self.offsets = read_idx(self.idx_path)
        self.size = self.rec_path.stat().st_size
        past = np.flatnonzero(self.offsets + 8 > self.size)
        if past.size:
            i = int(past[0])
            raise InputError(
                f"{self.idx_path} line {i + 1}: offset {self.offsets[i]} for key {self.keys[i]} is past the "
                f"end of {self.rec_path.name} ({self.size} bytes)"
            )
        self._lookup = self._build_lookup()
        self._map: mmap.mmap | None = None
        self._pid = -1

    def _build_lookup(self) -> np.ndarray | None:
        """Dense key -> row table when keys are compact (insightface keys are 0..N+C), else None."""
        if self.keys.size == 0:
            return np.zeros(0, dtype=np.int64)
        top = int(self.keys.max())
        if top > 4 * self.keys.size + 16:
            self._order = np.argsort(self.keys, kind="stable")
            return None
        table = np.full(top + 1, -1, dtype=np.int64)
        table[self.keys[::-1]] = np.arange(self.keys.size - 1, -1, -1)  # first occurrence wins
        return table

    def __len__(self) -> int:
        return int(self.keys.size)

    def __contains__(self, key: int) -> bool:
        return self._row(int(key)) >= 0

    def _row(self, key: int) -> int:
        if self._lookup is not None:
            return int(self._lookup[key]) if 0 <= key < self._lookup.size else -1
        pos = int(np.searchsorted(self.keys, key, sorter=self._order))
        if pos < self.keys.size and self.keys[self._order[pos]] == key:
            return int(self._order[pos])
        return -1

    def _buffer(self) -> mmap.mmap | bytes:
        if self._map is None or self._pid != os.getpid():
            if self.size == 0:
                return b""
            with open(self.rec_path, "rb") as handle:
                self._map = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
            self._pid = os.getpid()
        return self._map

    def where(self, key: int) -> str:
        """Human-readable location of a record for error messages."""
        return f"{self._rec_name} key {key}"

    def read(self, key: int) -> bytes:
        """Logical record bytes (IRHeader + labels + payload) for ``key``."""
        row = self._row(int(key))
        if row < 0:
            raise InputError(f"{self.idx_path}: key {key} is not in the index")
        return decode_chunks(self._buffer(), int(self.offsets[row]), self.where(key))

    def read_label_header(self, key: int) -> IRHeader:
        """The IRHeader of ``key`` without copying the payload (reads the first chunk's prefix)."""
        row = self._row(int(key))
        if row < 0:
            raise InputError(f"{self.idx_path}: key {key} is not in the index")
        buf, off = self._buffer(), int(self.offsets[row])
        if off + 8 + IRHEADER_SIZE <= self.size:
            magic, lrec = _CHUNK_HEAD.unpack_from(buf, off)
            length = lrec & MAX_CHUNK
            if (
                magic == MAGIC
                and lrec >> LENGTH_BITS in (0, 1)
                and length >= IRHEADER_SIZE
                and off + 8 + length <= self.size
            ):
                flag = _IRHEADER.unpack_from(buf, off + 8)[0]
                if length >= IRHEADER_SIZE + 4 * flag:
                    return unpack_record(
                        bytes(buf[off + 8 : off + 8 + IRHEADER_SIZE + 4 * flag]), self.where(key)
                    )[0]
        return self.read_header(key)[0]  # split header or damaged record: full path, full checks

    def read_header(self, key: int) -> tuple[IRHeader, bytes]:
        """``(IRHeader, payload)`` of record ``key``."""
        return unpack_record(self.read(key), self.where(key))

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_map"], state["_pid"] = None, -1
        return state

    def close(self) -> None:
        if self._map is not None and self._pid == os.getpid():
            self._map.close()
        self._map = None
