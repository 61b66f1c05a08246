"""FaceDataset preprocessing and the folder-of-identities source, against float64 references."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from interface.data import FaceDataset, RecordDataset, write_record_dataset
from interface.data.folder import ImageFolder
from interface.errors import InputError


def _smooth(k: int, h=16, w=16) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w]
    return np.stack([yy * 10 + 5 * k, xx * 12 + 3, 250 - yy * 7 - xx * 3 * (k % 2)], -1).astype(np.uint8)


@pytest.fixture
def rec_root(tmp_path):
    return write_record_dataset(tmp_path / "rec", [_smooth(k) for k in range(4)], [0, 0, 1, 2])


def test_normalisation_and_label_without_resize(rec_root):
    ds = FaceDataset(rec_root, train=False, input_size=16)
    rec = RecordDataset(rec_root)
    assert len(ds) == 4 and ds.num_classes == 3
    for i in range(4):
        x, y = ds[i]
        img, lab = rec.read(i)
        ref = (img.astype(np.float64) / 255.0 - 0.5) / 0.5
        assert x.dtype == torch.float32 and x.shape == (3, 16, 16) and y.dtype == torch.int64
        assert int(y) == lab
        np.testing.assert_allclose(x.numpy(), ref.transpose(2, 0, 1), atol=1e-6)


def test_resize_is_bilinear_antialiased(rec_root):
    img, _ = RecordDataset(rec_root).read(2)
    x, _ = FaceDataset(rec_root, train=False, input_size=8)[2]
    # 16 -> 8 with antialiased bilinear (triangle filter of support 2 input pixels on each side
    # scaled by 2): each output pixel is a weighted mean of input pixels 2o-1 .. 2o+2 with
    # weights 1,3,3,1 (clipped and renormalised at the edges).
    ref = np.empty((8, 8, 3))
    f = img.astype(np.float64) / 127.5 - 1.0

    def weights(o):
        idx = np.arange(2 * o - 1, 2 * o + 3)
        w = np.array([1.0, 3.0, 3.0, 1.0])
        keep = (idx >= 0) & (idx < 16)
        return idx[keep], w[keep] / w[keep].sum()

    for oy in range(8):
        iy, wy = weights(oy)
        for ox in range(8):
            ix, wx = weights(ox)
            ref[oy, ox] = np.einsum("i,j,ijc->c", wy, wx, f[np.ix_(iy, ix)])
    np.testing.assert_allclose(x.numpy().transpose(1, 2, 0), ref, atol=1e-5)


def test_train_flip_follows_torch_seed(rec_root):
    ds = FaceDataset(rec_root, train=True, input_size=16)
    plain = FaceDataset(rec_root, train=False, input_size=16)[1][0]
    torch.manual_seed(123)
    flips = [torch.rand(()).item() < 0.5 for _ in range(40)]
    torch.manual_seed(123)
    seen = []
    for _ in range(40):
        x = ds[1][0]
        assert torch.equal(x, plain) or torch.equal(x, plain.flip(-1))
        seen.append(torch.equal(x, plain.flip(-1)))
    assert seen == flips and 5 < sum(seen) < 35


def test_cache_matches_uncached(rec_root):
    cached = FaceDataset(rec_root, train=False, input_size=12, cache=True)
    fresh = FaceDataset(rec_root, train=False, input_size=12)
    for i in range(4):
        a, la = cached[i]
        b, lb = fresh[i]
        assert int(la) == int(lb)
        assert float((a - b).abs().max()) <= 0.5 / 127.5 + 1e-6  # uint8 rounding of the cache


def test_folder_source(tmp_path):
    for name, ks in (("bob", [0, 1]), ("alice", [2])):
        (tmp_path / "f" / name).mkdir(parents=True)
        for k in ks:
            Image.fromarray(_smooth(k)).save(tmp_path / "f" / name / f"{k}.png")
    (tmp_path / "f" / "alice" / "notes.txt").write_text("ignored")
    folder = ImageFolder(tmp_path / "f")
    assert folder.identities == ["alice", "bob"] and folder.labels.tolist() == [0, 1, 1]
    ds = FaceDataset(tmp_path / "f", train=False, input_size=16)
    x, y = ds[0]
    assert int(y) == 0
    np.testing.assert_allclose(
        x.numpy().transpose(1, 2, 0), _smooth(2) / 127.5 - 1.0, atol=1e-6
    )  # PNG: lossless


def test_bad_sources(tmp_path):
    with pytest.raises(InputError, match="not a RecordIO dataset folder"):
        FaceDataset(tmp_path / "nothing", train=True, input_size=112)
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no identity sub-folders"):
        FaceDataset(tmp_path / "empty", train=True, input_size=112)
    with pytest.raises(InputError, match="input_size=4"):
        FaceDataset(tmp_path / "empty", train=True, input_size=4)


def test_dataloader_workers_reopen_the_map_and_follow_the_generator(rec_root):
    from torch.utils.data import DataLoader

    ds = FaceDataset(rec_root, train=True, input_size=16)
    ds.source.read(0)  # map the .rec in the parent first: workers must not reuse that map
    plain = [FaceDataset(rec_root, train=False, input_size=16)[i][0] for i in range(4)]

    def epoch(seed):
        loader = DataLoader(ds, batch_size=2, num_workers=2, generator=torch.Generator().manual_seed(seed))
        return [(x.clone(), y.clone()) for x, y in loader]

    first, again = epoch(5), epoch(5)
    for (x, y), (x2, y2) in zip(first, again):
        assert torch.equal(x, x2) and torch.equal(y, y2)
    items = [(x[j], int(y[j])) for x, y in first for j in range(len(y))]
    assert [lab for _, lab in items] == [0, 0, 1, 2]
    for i, (x, _) in enumerate(items):
        assert torch.equal(x, plain[i]) or torch.equal(x, plain[i].flip(-1))


def test_items_collate_into_a_batch(rec_root):
    from torch.utils.data import default_collate

    ds = FaceDataset(rec_root, train=True, input_size=16)
    x, y = default_collate([ds[i] for i in range(4)])
    assert x.shape == (4, 3, 16, 16) and x.dtype == torch.float32 and y.tolist() == [0, 0, 1, 2]
    assert float(x.min()) >= -1.0 and float(x.max()) <= 1.0
