"""Embedding extraction for evaluation: batched, original plus horizontal flip (§2.2-§2.3, §4.3).

Images are RGB uint8 (N, H, W, 3); the model sees ``(x/255 - 0.5)/0.5`` in NCHW (the arcface_torch
/ InterFace test transform, formats-and-protocols.md §7). The mirrored view flips the width axis.
On CUDA the forward pass runs under bf16 autocast; on CPU in float32 with ``threads`` intra-op
threads. Outputs are the raw (unnormalised) float32 embeddings; fusion happens in the scorers.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from interface.errors import InputError
from interface.limits import check_device

log = logging.getLogger(__name__)


def resolve_device(device: str | torch.device) -> torch.device:
    """ "auto" -> cuda if available else cpu; otherwise ``torch.device(device)``."""
    if isinstance(device, torch.device):
        return device
    check_device(device, label="device")
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def _batch(images: np.ndarray | Sequence[np.ndarray], lo: int, hi: int) -> np.ndarray:
    if isinstance(images, np.ndarray):
        return images[lo:hi]
    return np.stack([np.asarray(images[i]) for i in range(lo, hi)])


def to_input(batch: np.ndarray, input_size: int, device: torch.device) -> torch.Tensor:
    """uint8 (B, H, W, 3) RGB -> float32 (B, 3, S, S) in [-1, 1] on ``device`` (bilinear antialiased
    resize when H or W differs from ``input_size``). A float32 (B, 3, S, S) batch is taken as this
    function's output already (the prepared inputs of ``inputs.py``) and only moved to ``device``."""
    if batch.dtype == np.float32 and batch.shape[1:] == (3, input_size, input_size):
        return torch.from_numpy(np.ascontiguousarray(batch)).to(device)
    if batch.ndim != 4 or batch.shape[-1] != 3 or batch.dtype != np.uint8:
        raise InputError(f"images: expected uint8 (N, H, W, 3) RGB, got {batch.dtype} {batch.shape}")
    x = torch.from_numpy(np.ascontiguousarray(batch)).to(device).permute(0, 3, 1, 2).float()
    x = (x / 255.0 - 0.5) / 0.5
    if x.shape[-2:] != (input_size, input_size):
        x = F.interpolate(
            x, size=(input_size, input_size), mode="bilinear", align_corners=False, antialias=True
        )
    # contiguous NCHW whatever the path (the permuted view would otherwise reach the model in
    # channels-last layout, whose kernels round differently from a prepared, cached batch)
    return x.contiguous()


@torch.inference_mode()
def extract(
    model: torch.nn.Module,
    images: np.ndarray | Sequence[np.ndarray],
    input_size: int = 112,
    batch_size: int = 64,
    device: str | torch.device = "auto",
    threads: int | None = None,
    progress: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Raw embeddings of the images and of their mirrors.

    Args:
        model: maps (B, 3, S, S) float in [-1, 1] to (B, D) raw embeddings; put in eval mode here.
        images: uint8 (N, H, W, 3) RGB array, a sequence of (H, W, 3) arrays read lazily, or
            float32 (N, 3, S, S) prepared network input (``inputs.prepare``).
        input_size: S, the model's input side in pixels (images are resized if different).
        batch_size: images per forward pass (>= 1); eval mode makes results batch-independent.
        device: "auto", "cpu", "cuda", "cuda:N".
        threads: CPU intra-op threads (None leaves torch's setting).
        progress: show a tqdm bar.

    Returns:
        (E0, E1): float32 (N, D) embeddings of originals and horizontal flips.
    """
    n = len(images)
    if n == 0:
        raise InputError("images: nothing to embed (0 images)")
    if batch_size < 1:
        raise InputError(f"batch_size={batch_size}; expected >= 1")
    dev = resolve_device(device)
    if threads is not None and dev.type == "cpu":
        torch.set_num_threads(int(threads))
    model = model.to(dev).eval()
    use_bf16 = dev.type == "cuda"
    outs0, outs1 = [], []
    for lo in tqdm(range(0, n, batch_size), disable=not progress, desc="embed", unit="batch"):
        x = to_input(_batch(images, lo, min(n, lo + batch_size)), input_size, dev)
        both = torch.cat([x, torch.flip(x, dims=[3])])
        with torch.autocast(device_type=dev.type, dtype=torch.bfloat16, enabled=use_bf16):
            e = model(both)
        e = e.float().cpu().numpy()
        outs0.append(e[: x.shape[0]])
        outs1.append(e[x.shape[0] :])
    E0 = np.concatenate(outs0)
    E1 = np.concatenate(outs1)
    if not np.all(np.isfinite(E0)) or not np.all(np.isfinite(E1)):
        raise InputError("model produced NaN/inf embeddings (check the checkpoint)")
    log.info("embedded %d images (+flips) on %s, D=%d", n, dev, E0.shape[1])
    return E0, E1
