"""``python -m interface pack``: folder of identities -> RecordIO set readable by the spec reader."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from interface.data import RecordDataset
from interface.data.pack import main
from tests.data.helpers import spec_read_all, spec_unpack


def _face(k):
    yy, xx = np.mgrid[0:20, 0:20]
    return np.stack([yy * 9 + k * 10, xx * 9, 120 + 0 * xx], -1).astype(np.uint8)


def test_pack_folder(tmp_path, capsys):
    src = tmp_path / "faces"
    jpeg_bytes = {}
    for name, ks in (("zed", [0]), ("amy", [1, 2])):
        (src / name).mkdir(parents=True)
        for k in ks:
            buf = io.BytesIO()
            Image.fromarray(_face(k)).save(buf, format="JPEG", quality=90)
            jpeg_bytes[(name, k)] = buf.getvalue()
            (src / name / f"{k}.jpg").write_bytes(buf.getvalue())
    Image.fromarray(_face(3)).save(src / "zed" / "9.png")
    out = tmp_path / "set"
    assert main(["--src", str(src), "--out", str(out)]) == 0
    assert "3 images" not in capsys.readouterr().out  # 4 images: 2 amy + 2 zed
    ds = RecordDataset(out)
    assert (len(ds), ds.num_classes, ds.image_size) == (4, 2, (20, 20))
    assert [ds.label(i) for i in range(4)] == [0, 0, 1, 1]
    recs = spec_read_all(out / "train.rec", out / "train.idx")
    assert spec_unpack(recs[1])[4] == jpeg_bytes[("amy", 1)]  # JPEG files stored byte for byte
    assert spec_unpack(recs[3])[4] == jpeg_bytes[("zed", 0)]
    png_decoded, _ = ds.read(3)  # re-encoded PNG at quality 95
    assert np.abs(png_decoded.astype(float) - _face(3)).mean() < 3
    assert (out / "identities.txt").read_text() == "0\tamy\n1\tzed\n"


def test_pack_mixed_sizes_fails_cleanly(tmp_path, capsys):
    src = tmp_path / "faces"
    (src / "a").mkdir(parents=True)
    Image.fromarray(_face(0)).save(src / "a" / "0.jpg")
    Image.fromarray(_face(0)[:10]).save(src / "a" / "1.jpg")
    out = tmp_path / "set"
    assert main(["--src", str(src), "--out", str(out)]) == 2
    errors = [
        line for line in capsys.readouterr().err.splitlines() if "error: " in line
    ]  # tqdm shares stderr
    assert len(errors) == 1 and f"{src / 'a' / '1.jpg'}: image is 10x20 (HxW)" in errors[0]
    assert not out.exists() or not any(out.iterdir())
    assert main(["--src", str(src), "--out", str(out), "--size", "16"]) == 0
    assert RecordDataset(out).image_size == (16, 16)


def test_pack_missing_source(tmp_path, capsys):
    assert main(["--src", str(tmp_path / "nope"), "--out", str(tmp_path / "o")]) == 2
    assert "image folder not found" in capsys.readouterr().err
