"""``python -m interface pack``: folder of identities -> RecordIO set readable by the spec reader."""

from __future__ import annotations

import io

import numpy as np
import pytest
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


def _jpeg_folder(src, names=("a", "b"), per=2):
    """64x64 noise JPEGs (the header is a small part of each file, unlike a flat 20x20 image)."""
    rng = np.random.default_rng(0)
    for name in names:
        (src / name).mkdir(parents=True)
        for k in range(per):
            pixels = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(src / name / f"{k}.jpg", quality=90)


def _one_error(capsys) -> str:
    err = capsys.readouterr().err  # tqdm's bar shares stderr
    errors = [line for line in err.splitlines() if "error: " in line]
    assert len(errors) == 1, errors
    return errors[0]


@pytest.mark.parametrize("keep", [0.5, 0.9])
def test_pack_refuses_a_truncated_jpeg_naming_the_source_file(tmp_path, capsys, keep):
    src, out = tmp_path / "faces", tmp_path / "set"
    _jpeg_folder(src)
    bad = src / "b" / "1.jpg"
    data = bad.read_bytes()
    bad.write_bytes(data[: int(len(data) * keep)])
    with Image.open(bad) as img:  # the header still reads: only a full decode finds the damage
        assert img.size == (64, 64)
    assert main(["--src", str(src), "--out", str(out)]) == 2
    line = _one_error(capsys)
    assert line.startswith(f"error: {bad}: ") and "cannot decode" in line
    assert not out.exists() or not any(out.iterdir())


@pytest.mark.parametrize("where", ["self", "child", "grandchild"])
def test_pack_refuses_an_out_folder_inside_the_source(tmp_path, capsys, where):
    src = tmp_path / "faces"
    _jpeg_folder(src)
    out = {"self": src, "child": src / "packed", "grandchild": src / "a" / "packed"}[where]
    assert main(["--src", str(src), "--out", str(out)]) == 2
    line = _one_error(capsys)
    assert f"--out {out} is inside --src {src}" in line
    assert sorted(p.name for p in src.iterdir()) == ["a", "b"]
    assert sorted(p.name for p in (src / "a").iterdir()) == ["0.jpg", "1.jpg"]


def test_pack_out_beside_the_source_with_a_common_prefix_is_accepted(tmp_path):
    src = tmp_path / "faces"
    _jpeg_folder(src)
    assert main(["--src", str(src), "--out", str(tmp_path / "faces-packed")]) == 0


#: sitecustomize.py that makes each record write of ``pack`` sleep, so it can be killed mid-write.
SLOW_WRITES = """
import time
from interface.data import recordio
_real = recordio.RecordWriter.write
def _slow(self, *args, **kwargs):
    print("writing", flush=True)
    time.sleep(0.5)
    return _real(self, *args, **kwargs)
recordio.RecordWriter.write = _slow
"""


def test_pack_rerun_after_a_kill_leaves_no_temporaries(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    from pathlib import Path

    from interface.data.manifest import verify_manifest

    repo = Path(__file__).resolve().parents[2]
    src, out = tmp_path / "faces", tmp_path / "set"
    _jpeg_folder(src)
    (tmp_path / "hook").mkdir()
    (tmp_path / "hook" / "sitecustomize.py").write_text(SLOW_WRITES)
    command = [sys.executable, "-m", "interface", "pack", "--src", str(src), "--out", str(out)]
    path = os.pathsep.join(filter(None, [str(repo), os.environ.get("PYTHONPATH")]))
    slow = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path / "hook"), path])}
    proc = subprocess.Popen(command, env=slow, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout.readline().strip() == "writing"
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    left = sorted(p.name for p in out.iterdir())
    assert left and all(name.startswith(".") and name.endswith(".tmp") for name in left), left
    result = subprocess.run(command, env={**os.environ, "PYTHONPATH": path}, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    assert sorted(p.name for p in out.iterdir()) == [
        "identities.txt", "manifest.json", "property", "train.idx", "train.rec"
    ]  # fmt: skip
    assert verify_manifest(out, checksums=True) is not None
