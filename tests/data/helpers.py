"""Independent RecordIO writer and reader written from the spec (formats-and-protocols.md §1),
sharing no code with interface.data.recordio, used to cross-check it in both directions."""

from __future__ import annotations

import struct
from pathlib import Path

MAGIC_LE = b"\x0a\x23\xd7\xce"  # 0xCED7230A as stored on disk


def spec_chunks(payload: bytes) -> bytes:
    """dmlc writer rule, written with a plain byte loop."""
    out = b""
    begin = 0
    cuts = []
    i = 0
    while i + 4 <= (len(payload) // 4) * 4:
        if payload[i : i + 4] == MAGIC_LE:
            cuts.append(i)
        i += 4
    for n, cut in enumerate(cuts):
        flag = 1 if n == 0 else 2
        out += MAGIC_LE + struct.pack("<I", (flag << 29) + (cut - begin)) + payload[begin:cut]
        begin = cut + 4
    tail = payload[begin:]
    flag = 3 if cuts else 0
    out += MAGIC_LE + struct.pack("<I", (flag << 29) + len(tail)) + tail + bytes((-len(tail)) % 4)
    return out


def spec_header(label, payload: bytes, rid: int, rid2: int = 0) -> bytes:
    if isinstance(label, int | float):
        return (
            struct.pack("<I", 0)
            + struct.pack("<f", label)
            + struct.pack("<Q", rid)
            + struct.pack("<Q", rid2)
            + payload
        )
    arr = b"".join(struct.pack("<f", float(v)) for v in label)
    return (
        struct.pack("<I", len(label)) + struct.pack("<f", 0.0) + struct.pack("<QQ", rid, rid2) + arr + payload
    )


def spec_write(rec_path, idx_path, records: list[tuple[int, bytes]]) -> None:
    """Write (key, logical record) pairs in order, with the .idx."""
    pos = 0
    with open(rec_path, "wb") as rec, open(idx_path, "w") as idx:
        for key, data in records:
            framed = spec_chunks(data)
            rec.write(framed)
            idx.write(f"{key}\t{pos}\n")
            pos += len(framed)


def spec_read_all(rec_path, idx_path) -> dict[int, bytes]:
    """Reader rule of §1.1 over every index entry."""
    blob = Path(rec_path).read_bytes()
    out = {}
    for line in Path(idx_path).read_text().splitlines():
        key, off = (int(x) for x in line.split("\t"))
        parts = []
        pos = off
        while True:
            assert blob[pos : pos + 4] == MAGIC_LE
            (lrec,) = struct.unpack("<I", blob[pos + 4 : pos + 8])
            flag, length = lrec >> 29, lrec & (2**29 - 1)
            parts.append(blob[pos + 8 : pos + 8 + length])
            pos += 8 + length + (-length) % 4
            if flag in (0, 3):
                break
        out[key] = MAGIC_LE.join(parts)
    return out


def spec_unpack(data: bytes):
    flag, label, rid, rid2 = struct.unpack("<IfQQ", data[:24])
    if flag:
        labels = list(struct.unpack(f"<{flag}f", data[24 : 24 + 4 * flag]))
        return flag, labels, rid, rid2, data[24 + 4 * flag :]
    return flag, label, rid, rid2, data[24:]
