"""Extraction (§2.2-§2.3): RGB (x/255-0.5)/0.5 input, width flip, batch independence; the cache."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from interface.errors import InputError
from interface.evaluation.cache import cache_key, cached_arrays
from interface.evaluation.embed import extract


class _Linear(torch.nn.Module):
    def __init__(self, side, dim=5):
        super().__init__()
        g = torch.Generator().manual_seed(0)
        self.w = torch.nn.Parameter(torch.randn(3 * side * side, dim, generator=g, dtype=torch.float64))

    def forward(self, x):
        return (x.double().flatten(1) @ self.w).float()


def test_extract_matches_manual_preprocessing():
    rng = np.random.default_rng(0)
    imgs = rng.integers(0, 256, size=(7, 6, 6, 3), dtype=np.uint8)
    model = _Linear(6)
    E0, E1 = extract(model, imgs, input_size=6, batch_size=3, device="cpu")
    w = model.w.detach().numpy()

    def manual(batch):  # NHWC uint8 -> NCHW in [-1, 1], flattened like the model
        x = (batch.astype(np.float64) / 255.0 - 0.5) / 0.5
        return x.transpose(0, 3, 1, 2).reshape(len(batch), -1) @ w

    np.testing.assert_allclose(E0, manual(imgs), rtol=1e-6, atol=1e-5)
    np.testing.assert_allclose(E1, manual(imgs[:, :, ::-1, :]), rtol=1e-6, atol=1e-5)
    # a lazy sequence and another batch size give the same result
    F0, F1 = extract(model, [imgs[i] for i in range(7)], input_size=6, batch_size=64, device="cpu")
    np.testing.assert_array_equal(E0, F0)
    np.testing.assert_array_equal(E1, F1)


def test_extract_resizes_and_rejects_bad_images():
    model = _Linear(4)
    imgs = np.zeros((2, 8, 8, 3), dtype=np.uint8)
    E0, _ = extract(model, imgs, input_size=4, device="cpu")
    assert E0.shape == (2, 5)
    with pytest.raises(InputError, match="uint8"):
        extract(model, imgs.astype(np.float32), input_size=4, device="cpu")
    with pytest.raises(InputError, match="0 images"):
        extract(model, imgs[:0], input_size=4, device="cpu")


def test_extract_rejects_nan_model_output():
    class _Nan(torch.nn.Module):
        def forward(self, x):
            return torch.full((x.shape[0], 3), float("nan"))

    with pytest.raises(InputError, match="NaN"):
        extract(_Nan(), np.zeros((2, 4, 4, 3), np.uint8), input_size=4, device="cpu")


def test_cache_hit_miss(tmp_path):
    calls = []

    def compute():
        calls.append(1)
        return {"E0": np.arange(6.0).reshape(3, 2)}

    f = tmp_path / "run" / "bench.npz"
    k1 = cache_key(model="a", data=[["x", 1, 2]])
    a, hit = cached_arrays(f, k1, compute)
    b, hit2 = cached_arrays(f, k1, compute)
    assert (hit, hit2, len(calls)) == (False, True, 1)
    np.testing.assert_array_equal(a["E0"], b["E0"])
    _, hit3 = cached_arrays(f, cache_key(model="b", data=[["x", 1, 2]]), compute)
    assert not hit3 and len(calls) == 2
    f.write_bytes(b"garbage")  # an unreadable cache is recomputed, never fatal
    _, hit4 = cached_arrays(f, k1, compute)
    assert not hit4 and len(calls) == 3
