"""RecordDataset / write_record_dataset against the spec writer and reader of tests/data/helpers.py."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image

from interface.data import RecordDataset, write_record_dataset
from interface.data.manifest import match_known_set, verify_manifest
from interface.data.records import iter_identity_ranges
from interface.errors import InputError
from tests.data.helpers import spec_header, spec_read_all, spec_unpack, spec_write


def _jpeg(seed: int, size=(16, 12)) -> bytes:
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 256, (*size, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="JPEG", quality=90)
    return buf.getvalue()


def _pil_rgb(data: bytes) -> np.ndarray:
    return np.array(Image.open(io.BytesIO(data)).convert("RGB"))


def _insightface_set(root, labels, array_labels=False, shuffle_write=True):
    """RecBuilder-style set: images 1..N, identities N+1..N+C, header key 0 written last."""
    root.mkdir(parents=True, exist_ok=True)
    n, c = len(labels), max(labels) + 1
    jpegs = [_jpeg(i) for i in range(n)]
    recs = []
    for k in range(1, n + 1):
        lab = [float(labels[k - 1]), 0.5] if array_labels else float(labels[k - 1])
        recs.append((k, spec_header(lab, jpegs[k - 1], k)))
    for cls in range(c):
        keys = [k for k in range(1, n + 1) if labels[k - 1] == cls]
        recs.append((n + 1 + cls, spec_header([float(keys[0]), float(keys[-1] + 1)], b"", n + 1 + cls)))
    recs.append((0, spec_header([float(n + 1), float(n + 1 + c)], b"", 0, 1)))
    if shuffle_write:  # records located only through the .idx, never by file order
        order = np.random.default_rng(1).permutation(len(recs))
        recs = [recs[i] for i in order]
    spec_write(root / "train.rec", root / "train.idx", recs)
    (root / "property").write_text(f"{c},16,12\n")
    return jpegs


@pytest.mark.parametrize("array_labels", [False, True])
def test_reads_spec_written_insightface_set(tmp_path, array_labels):
    labels = [0, 0, 1, 2, 2, 2]
    jpegs = _insightface_set(tmp_path / "d", labels, array_labels)
    ds = RecordDataset(tmp_path / "d")
    assert (len(ds), ds.num_classes, ds.image_size) == (6, 3, (16, 12))
    assert ds.identity_keys == (7, 10)
    assert iter_identity_ranges(ds) == {0: (1, 3), 1: (3, 4), 2: (4, 7)}
    for i in range(6):
        img, lab = ds.read(i)
        assert lab == labels[i]
        np.testing.assert_array_equal(img, _pil_rgb(jpegs[i]))
        assert ds.read_raw(i)[0] == jpegs[i]


def test_set_without_header_record_uses_every_idx_key(tmp_path):
    root = tmp_path / "plain"
    root.mkdir()
    jpegs = [_jpeg(i) for i in range(4)]
    keys = [3, 0, 2, 1]  # shuffle_rec style: keys 0..N-1, key 0 is an ordinary image (flag 0)
    spec_write(
        root / "train.rec", root / "train.idx", [(k, spec_header(float(k % 2), jpegs[k], k)) for k in keys]
    )
    (root / "property").write_text("2,16,12")
    ds = RecordDataset(root)
    assert ds.identity_keys is None and list(ds.keys) == keys
    for i, k in enumerate(keys):
        img, lab = ds.read(i)
        assert lab == k % 2
        np.testing.assert_array_equal(img, _pil_rgb(jpegs[k]))


def test_written_set_read_by_spec_reader(tmp_path):
    yy, xx = np.mgrid[0:16, 0:12]
    arrays = [np.stack([yy * 12 + k * 30, xx * 15, 200 - yy * 8], -1).astype(np.uint8) for k in range(3)]
    passthrough = _jpeg(99)
    labels = [0, 0, 2, 2]  # class 1 has no images: empty identity range
    root = write_record_dataset(
        tmp_path / "w", [*arrays, passthrough], labels, generator={"name": "t", "seed": 5}
    )
    recs = {k: spec_unpack(v) for k, v in spec_read_all(root / "train.rec", root / "train.idx").items()}
    assert (root / "train.idx").read_text().splitlines()[-1].startswith("0\t")  # header written last
    assert recs[0][:4] == (2, [5.0, 8.0], 0, 1) and recs[0][4] == b""
    assert [recs[k][1] for k in (5, 6, 7)] == [[1.0, 3.0], [3.0, 3.0], [3.0, 5.0]]
    for k in range(1, 5):
        flag, lab, rid, rid2, payload = recs[k]
        assert (flag, lab, rid, rid2) == (0, float(labels[k - 1]), k, 0)
        assert payload[:2] == b"\xff\xd8"
    assert recs[4][4] == passthrough  # JPEG bytes stored unchanged
    for k in range(1, 4):  # quality-95 JPEG of a smooth image: close to the source
        err = np.abs(_pil_rgb(recs[k][4]).astype(float) - arrays[k - 1]).mean()
        assert err < 3
    assert (root / "property").read_text() == "3,16,12\n"
    manifest = json.loads((root / "manifest.json").read_text())
    assert (manifest["classes"], manifest["images"], manifest["generator"]["seed"]) == (3, 4, 5)
    assert set(manifest["files"]) == {"train.rec", "train.idx", "property"}


def test_write_is_deterministic(tmp_path):
    rng = np.random.default_rng(3)
    arrays = [rng.integers(0, 256, (8, 8, 3), dtype=np.uint8) for _ in range(3)]
    a = write_record_dataset(tmp_path / "a", arrays, [0, 1, 1])
    b = write_record_dataset(tmp_path / "b", arrays, [0, 1, 1])
    for name in ("train.rec", "train.idx", "property", "manifest.json"):
        assert (a / name).read_bytes() == (b / name).read_bytes()


def _assert_nothing_written(root):
    assert not root.exists()


@pytest.mark.parametrize(
    "images,labels,match",
    [
        (
            [np.zeros((8, 8, 3), np.uint8), np.zeros((8, 9, 3), np.uint8)],
            [0, 1],
            r"image 1 \(label 1\): image is 8x9",
        ),
        (
            [np.zeros((8, 8, 3), np.uint8), np.zeros((8, 8), np.uint8)],
            [0, 1],
            r"image 1 .*expected uint8 \(H, W, 3\)",
        ),
        ([np.zeros((8, 8, 3), np.float32)], [0], r"image 0 .*dtype float32"),
        ([b"GIF89a...."], [0], r"image 0 .*JPEG marker"),
        ([np.zeros((8, 8, 3), np.uint8)] * 2, [1, 0], r"label 0 of image 1 follows 1"),
        ([np.zeros((8, 8, 3), np.uint8)] * 3, [0, 1], r"more images than the 2 labels"),
        ([np.zeros((8, 8, 3), np.uint8)], [0, 0], r"1 images for 2 labels"),
    ],
)
def test_write_bad_input_leaves_nothing(tmp_path, images, labels, match):
    root = tmp_path / "bad"
    with pytest.raises(InputError, match=match):
        write_record_dataset(root, images, labels)
    _assert_nothing_written(root)


def test_missing_property(tmp_path):
    _insightface_set(tmp_path / "d", [0, 1])
    (tmp_path / "d" / "property").unlink()
    with pytest.raises(InputError, match=r"d/property: missing"):
        RecordDataset(tmp_path / "d")


def test_label_not_below_class_count(tmp_path):
    _insightface_set(tmp_path / "d", [0, 1, 2])
    (tmp_path / "d" / "property").write_text("2,16,12")
    ds = RecordDataset(tmp_path / "d")
    assert ds.read(1)[1] == 1
    with pytest.raises(InputError, match=r"train\.rec key 3: label 2 outside \[0, 2\)"):
        ds.read(2)


def test_non_jpeg_payload(tmp_path):
    root = tmp_path / "p"
    root.mkdir()
    spec_write(root / "train.rec", root / "train.idx", [(0, spec_header(0.0, b"\x89PNG....", 0))])
    (root / "property").write_text("1,16,12")
    with pytest.raises(InputError, match=r"train\.rec key 0: payload is not JPEG"):
        RecordDataset(root).read(0)


def test_image_size_differs_from_property(tmp_path):
    _insightface_set(tmp_path / "d", [0, 1])
    (tmp_path / "d" / "property").write_text("2,112,112")
    with pytest.raises(InputError, match=r"key 1: image is 16x12, property says 112x112"):
        RecordDataset(tmp_path / "d").read(0)


def test_manifest_detects_changed_file(tmp_path):
    root = write_record_dataset(tmp_path / "m", [np.zeros((8, 8, 3), np.uint8)] * 2, [0, 1])
    assert verify_manifest(root)["images"] == 2
    (root / "property").write_text("3,8,8\n")  # same size, different content
    with pytest.raises(InputError, match=r"m/property: SHA-256 differs"):
        RecordDataset(root)
    (root / "property").write_text("3,8,8,\n")
    with pytest.raises(InputError, match=r"m/property: 7 bytes"):
        verify_manifest(root)
    (root / "property").unlink()
    with pytest.raises(InputError, match=r"m/property: listed in .* but missing"):
        verify_manifest(root)


def test_known_real_sets():
    assert match_known_set(85_742, 5_822_653) == ("MS1MV2", None)
    assert match_known_set(10_572, 490_623)[0] == "CASIA-WebFace"
    assert match_known_set(93_431, 5_179_510)[0] == "MS1MV3"
    assert match_known_set(360_232, 17_091_657)[0] == "Glint360K"
    name, note = match_known_set(85_742, 5_822_000)
    assert name is None and "MS1MV2" in note and "-653 images" in note
    assert match_known_set(500, 10_000) == (None, None)


def test_direct_decoder_equals_pillow_open():
    from interface.data.images import _decode_rgb_direct, decode_jpeg

    yy, xx = np.mgrid[0:40, 0:30]
    img = np.stack([yy * 6, xx * 8, (yy * xx) % 256], -1).astype(np.uint8)
    for kwargs in ({"quality": 95}, {"quality": 60, "progressive": True}, {"quality": 90, "subsampling": 0}):
        buf = io.BytesIO()
        Image.fromarray(img).save(buf, format="JPEG", **kwargs)
        data = buf.getvalue()
        direct = _decode_rgb_direct(data)
        assert direct is not None
        np.testing.assert_array_equal(direct, _pil_rgb(data))
        assert _decode_rgb_direct(data[: len(data) // 2]) is None  # truncated: ordinary path reports it
        with pytest.raises(InputError, match="x: corrupt JPEG"):
            decode_jpeg(data[: len(data) // 2], "x")
    gray = io.BytesIO()
    Image.fromarray(img[..., 0]).save(gray, format="JPEG")
    assert _decode_rgb_direct(gray.getvalue()) is None  # one component: Pillow path, then RGB
    out = decode_jpeg(gray.getvalue(), "g")
    assert out.shape == (40, 30, 3) and np.array_equal(out[..., 0], out[..., 2])


def test_header_keys_above_float32_precision_are_probed(tmp_path, monkeypatch):
    # A float32 header label above 2**24 can be off by one; the reader then finds the first
    # identity record (flag 2, empty payload, preceded by an image) near the stored value.
    import interface.data.records as records

    root = tmp_path / "big"
    root.mkdir()
    jpegs = [_jpeg(i) for i in range(5)]
    recs = [(k, spec_header(0.0, jpegs[k - 1], k)) for k in range(1, 6)]
    recs.append((6, spec_header([1.0, 6.0], b"", 6)))
    recs.append((0, spec_header([7.0, 8.0], b"", 0, 1)))  # A stored one too high
    spec_write(root / "train.rec", root / "train.idx", recs)
    (root / "property").write_text("1,16,12")
    monkeypatch.setattr(records, "FLOAT32_EXACT", 4)
    ds = RecordDataset(root)
    assert len(ds) == 5 and ds.identity_keys == (6, 7)
