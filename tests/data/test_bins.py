"""``.bin`` pair packs: round trip, Python-2 style pickles, uint8-array items, bad packs."""

from __future__ import annotations

import io
import pickle

import numpy as np
import pytest
from PIL import Image

from interface.data import read_bin, write_bin
from interface.errors import InputError


def _jpeg(img: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="JPEG", quality=95)
    return buf.getvalue()


def _images(n, size=(12, 10)):
    rng = np.random.default_rng(7)
    base = rng.integers(0, 256, (1, *size, 3)).astype(np.uint8)
    return np.clip(base + np.arange(n)[:, None, None, None] * 20, 0, 255).astype(np.uint8)


def test_round_trip_keeps_pair_order(tmp_path):
    imgs = _images(6)
    issame = [True, False, True]
    write_bin(tmp_path / "x.bin", imgs, issame)
    out, same = read_bin(tmp_path / "x.bin")
    assert out.shape == (6, 12, 10, 3) and out.dtype == np.uint8
    assert same.dtype == bool and same.tolist() == issame
    for i in range(6):  # independent decode of each stored JPEG equals the reader's output
        expected = np.array(Image.open(io.BytesIO(_jpeg(imgs[i]))).convert("RGB"))
        np.testing.assert_array_equal(out[i], expected)
    bins, flags = pickle.loads((tmp_path / "x.bin").read_bytes())
    assert all(isinstance(b, bytes) for b in bins) and flags == issame


def test_python2_protocol_pickle_with_bytes_items(tmp_path):
    imgs = _images(4)
    jpegs = [_jpeg(im) for im in imgs]
    # Protocol-2 opcodes as Python 2 writes (bins, issame) with str items: PROTO 2, EMPTY_LIST,
    # MARK, one BINSTRING ('T' + uint32 length) per JPEG, APPENDS, EMPTY_LIST, MARK, NEWTRUE,
    # NEWFALSE, APPENDS, TUPLE2, STOP. Python 3 refuses BINSTRING as ASCII unless encoding='bytes'.
    body = b"\x80\x02](" + b"".join(b"T" + len(j).to_bytes(4, "little") + j for j in jpegs)
    body += b"e](\x88\x89e\x86."
    path = tmp_path / "py2.bin"
    path.write_bytes(body)
    with pytest.raises(UnicodeDecodeError):
        pickle.loads(path.read_bytes())
    out, same = read_bin(path)
    assert same.tolist() == [True, False]
    for i in range(4):
        np.testing.assert_array_equal(out[i], np.array(Image.open(io.BytesIO(jpegs[i])).convert("RGB")))


def test_uint8_array_items_and_bytearray(tmp_path):
    imgs = _images(4)
    bins = [
        np.frombuffer(_jpeg(imgs[0]), np.uint8),
        bytearray(_jpeg(imgs[1])),
        _jpeg(imgs[2]),
        _jpeg(imgs[3]),
    ]
    (tmp_path / "a.bin").write_bytes(pickle.dumps((bins, np.array([False, True]))))
    out, same = read_bin(tmp_path / "a.bin")
    assert same.tolist() == [False, True]
    np.testing.assert_array_equal(out[0], np.array(Image.open(io.BytesIO(_jpeg(imgs[0])))))


def test_image_count_not_twice_pairs(tmp_path):
    imgs = _images(5)
    (tmp_path / "odd.bin").write_bytes(pickle.dumps(([_jpeg(i) for i in imgs], [True, False])))
    with pytest.raises(InputError, match=r"odd\.bin: 5 images but 2 pairs"):
        read_bin(tmp_path / "odd.bin")
    with pytest.raises(InputError, match=r"w\.bin: 5 images for 2 pairs"):
        write_bin(tmp_path / "w.bin", imgs, [True, False])
    assert not (tmp_path / "w.bin").exists()


def test_wrong_shapes(tmp_path):
    a, b = _images(2)[0], _images(1, size=(12, 11))[0]
    (tmp_path / "mixed.bin").write_bytes(pickle.dumps(([_jpeg(a), _jpeg(b)], [True])))
    with pytest.raises(InputError, match=r"mixed\.bin item 1: image shape \(12, 11, 3\) differs"):
        read_bin(tmp_path / "mixed.bin")
    with pytest.raises(InputError, match=r"g\.bin: images array uint8 \(2, 12, 10\)"):
        write_bin(tmp_path / "g.bin", _images(2)[..., 0], [True])
    (tmp_path / "txt.bin").write_bytes(pickle.dumps(([b"not a jpeg", _jpeg(a)], [True])))
    with pytest.raises(InputError, match=r"txt\.bin item 0: payload is not JPEG"):
        read_bin(tmp_path / "txt.bin")
    assert not list(tmp_path.glob("g.bin*"))


def _py2_numpy_uint8(raw: bytes) -> bytes:
    """Protocol-2 opcodes of a 1-D uint8 numpy array as Python 2 pickles it (the state holds the
    raw data as a py2 str, which only encoding='latin1' turns back into bytes)."""
    dtype = b"cnumpy\ndtype\nU\x02u1K\x00K\x01\x87R(K\x03U\x01|NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb"
    head = b"cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\nK\x00\x85U\x01b\x87R"
    state = (
        b"(K\x01J"
        + len(raw).to_bytes(4, "little")
        + b"\x85"
        + dtype
        + b"\x89T"
        + len(raw).to_bytes(4, "little")
    )
    return head + state + raw + b"tb"


def test_python2_pickle_with_numpy_array_items(tmp_path):
    imgs = _images(2)
    jpegs = [_jpeg(im) for im in imgs]
    body = b"\x80\x02](" + b"".join(_py2_numpy_uint8(j) for j in jpegs) + b"e](\x88e\x86."
    (tmp_path / "np2.bin").write_bytes(body)
    with pytest.raises(UnicodeDecodeError):  # a plain pickle.load fails, as on the real py2 packs
        pickle.loads(body)
    out, same = read_bin(tmp_path / "np2.bin")
    assert same.tolist() == [True]
    for i in range(2):
        np.testing.assert_array_equal(out[i], np.array(Image.open(io.BytesIO(jpegs[i])).convert("RGB")))


def test_not_a_pickle(tmp_path):
    (tmp_path / "junk.bin").write_bytes(b"this is not a pickle")
    with pytest.raises(InputError, match=r"junk\.bin: not a readable pickle"):
        read_bin(tmp_path / "junk.bin")


def test_pack_listed_in_a_manifest_is_checked(tmp_path):
    from interface.data.manifest import write_manifest

    write_bin(tmp_path / "lfw.bin", _images(2), [True])
    write_manifest(tmp_path)
    assert read_bin(tmp_path / "lfw.bin")[1].tolist() == [True]
    write_bin(tmp_path / "lfw.bin", _images(2)[::-1], [True])  # same size class, other content
    with pytest.raises(InputError, match=r"lfw\.bin: (SHA-256 differs|\d+ bytes)"):
        read_bin(tmp_path / "lfw.bin")
