"""RecordIO framing, index and IRHeader, cross-checked against an independent spec writer/reader."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from interface.data.recordio import (
    MAGIC,
    RecordReader,
    RecordWriter,
    decode_chunks,
    encode_chunks,
    pack_record,
    unpack_record,
)
from interface.errors import InputError
from tests.data.helpers import MAGIC_LE, spec_chunks, spec_header, spec_read_all, spec_unpack, spec_write

PAYLOADS = [
    b"",
    b"a",
    b"abc",
    b"abcde",
    MAGIC_LE,  # the whole payload is the magic
    MAGIC_LE + b"xy",  # magic at offset 0, tail not multiple of 4
    b"abcd" + MAGIC_LE + b"efgh" + MAGIC_LE + MAGIC_LE + b"z",  # several cuts, consecutive magics
    b"ab" + MAGIC_LE + b"cd",  # magic at an UNALIGNED offset: no cut
    b"abcdefg" + MAGIC_LE[:3],  # partial magic at the end
    bytes(range(256)) * 3 + MAGIC_LE,  # magic in the last aligned word
]


def test_magic_value_on_disk():
    assert MAGIC == 0xCED7230A and bytes.fromhex("0a23d7ce") == MAGIC_LE


@pytest.mark.parametrize("payload", PAYLOADS)
def test_chunks_match_spec_writer_and_round_trip(payload):
    framed = encode_chunks(payload)
    assert framed == spec_chunks(payload)
    assert len(framed) % 4 == 0
    assert decode_chunks(framed, 0, "test") == payload


def test_split_record_chunk_flags():
    payload = b"abcd" + MAGIC_LE + b"efgh" + MAGIC_LE + b"ij"
    framed = encode_chunks(payload)
    # three chunks: 'abcd' (cflag 1), 'efgh' (cflag 2), 'ij' + 2 pad (cflag 3)
    assert framed[4:8] == ((1 << 29) | 4).to_bytes(4, "little")
    assert framed[16:20] == ((2 << 29) | 4).to_bytes(4, "little")
    assert framed[28:32] == ((3 << 29) | 2).to_bytes(4, "little")
    assert framed[32:] == b"ij\0\0"


@pytest.mark.parametrize(
    "label,payload",
    [
        (3.0, b"jpegbytes"),
        (0, b""),
        ([7.0, 11.0], b""),
        (np.array([1.5, 2.5, 3.5], dtype=np.float64), b"xyz"),
    ],
)
def test_irheader_matches_spec(label, payload):
    rid = 42
    ours = pack_record(label, payload, id=rid)
    spec_label = label.tolist() if isinstance(label, np.ndarray) else label
    assert ours == spec_header(spec_label, payload, rid)
    header, body = unpack_record(ours)
    flag, lab, rid_, rid2_, body_ = spec_unpack(ours)
    assert (header.flag, header.id, header.id2, body) == (flag, rid_, rid2_, body_)
    np.testing.assert_array_equal(
        np.asarray(header.label, dtype=np.float64), np.asarray(lab, dtype=np.float64)
    )


def _records():
    return [(k, spec_header(float(k % 5), p, k)) for k, p in enumerate(PAYLOADS, start=1)] + [
        (0, spec_header([11.0, 12.0], b"", 0, 1))
    ]


def test_reader_reads_spec_written_file(tmp_path):
    records = _records()
    spec_write(tmp_path / "a.rec", tmp_path / "a.idx", records)
    reader = RecordReader(tmp_path / "a.rec", tmp_path / "a.idx")
    assert list(reader.keys) == [k for k, _ in records]
    for key, data in records:
        assert reader.read(key) == data


def test_writer_output_read_by_spec_reader(tmp_path):
    records = _records()
    with open(tmp_path / "b.rec", "wb") as rec, open(tmp_path / "b.idx", "w") as idx:
        writer = RecordWriter(rec, idx)
        for key, data in records:
            writer.write(key, data)
    assert spec_read_all(tmp_path / "b.rec", tmp_path / "b.idx") == dict(records)


def test_reader_pickles_and_reopens_per_process(tmp_path):
    records = _records()
    spec_write(tmp_path / "a.rec", tmp_path / "a.idx", records)
    reader = RecordReader(tmp_path / "a.rec", tmp_path / "a.idx")
    reader.read(3)  # maps the file
    clone = pickle.loads(pickle.dumps(reader))
    assert clone._map is None and clone.read(7) == dict(records)[7]


def test_sparse_keys_use_sorted_lookup(tmp_path):
    records = [(10**9 + k, spec_header(1.0, b"p" * k, k)) for k in (5, 1, 3)]
    spec_write(tmp_path / "s.rec", tmp_path / "s.idx", records)
    reader = RecordReader(tmp_path / "s.rec", tmp_path / "s.idx")
    assert reader._lookup is None
    for key, data in records:
        assert reader.read(key) == data
    assert 10**9 + 2 not in reader


def _write_one(tmp_path, data=b"hello world!"):
    spec_write(tmp_path / "t.rec", tmp_path / "t.idx", [(1, spec_header(0.0, data, 1))])
    return tmp_path / "t.rec", tmp_path / "t.idx"


def test_truncated_rec_names_file_and_key(tmp_path):
    rec, idx = _write_one(tmp_path)
    rec.write_bytes(rec.read_bytes()[:-8])
    with pytest.raises(InputError, match=r"t\.rec key 1: truncated"):
        RecordReader(rec, idx).read(1)


def test_wrong_magic_names_file_and_key(tmp_path):
    rec, idx = _write_one(tmp_path)
    rec.write_bytes(b"\0\0\0\0" + rec.read_bytes()[4:])
    with pytest.raises(InputError, match=r"t\.rec key 1: bad magic 0x00000000"):
        RecordReader(rec, idx).read(1)


def test_idx_offset_past_end(tmp_path):
    rec, idx = _write_one(tmp_path)
    idx.write_text("1\t0\n2\t4096\n")
    with pytest.raises(InputError, match=r"t\.idx line 2: offset 4096 for key 2 is past the end"):
        RecordReader(rec, idx)


def test_bad_idx_line(tmp_path):
    rec, idx = _write_one(tmp_path)
    idx.write_text("1\t0\nseven\t12\n")
    with pytest.raises(InputError, match=r"t\.idx line 2"):
        RecordReader(rec, idx)


def test_record_shorter_than_header(tmp_path):
    spec_write(tmp_path / "t.rec", tmp_path / "t.idx", [(1, b"short")])
    reader = RecordReader(tmp_path / "t.rec", tmp_path / "t.idx")
    with pytest.raises(InputError, match=r"key 1: record is 5 bytes"):
        reader.read_header(1)


def test_header_only_read_handles_a_split_header(tmp_path):
    # id = MAGIC puts the magic at aligned offset 8 of the record: the IRHeader itself is split.
    records = [(1, spec_header(3.0, b"payload", MAGIC)), (2, spec_header([5.0, 1.0], b"xy", 2))]
    spec_write(tmp_path / "h.rec", tmp_path / "h.idx", records)
    assert (tmp_path / "h.rec").read_bytes()[4:8] == ((1 << 29) | 8).to_bytes(4, "little")
    reader = RecordReader(tmp_path / "h.rec", tmp_path / "h.idx")
    assert reader.read_label_header(1) == reader.read_header(1)[0]
    assert reader.read_label_header(1).id == MAGIC and reader.read_label_header(1).label == 3.0
    assert reader.read_label_header(2).label.tolist() == [5.0, 1.0]
