"""Figure e: a toy showing what each loss does to 2-D embeddings of a few identities.

Eight identities, each a Gaussian cloud of fixed 16-D feature vectors (seeded), are mapped by a
small MLP to 2-D embeddings and trained full-batch with one loss module from the registry
(``build_loss``: the training code itself). The normalised embeddings are drawn on the unit
circle (jittered radially per identity so clouds stay visible) with the learned class centres.
Margin losses pull each identity into a tighter arc and leave wider gaps between arcs than
softmax. Runs in well under 10 s on one CPU core for three losses.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import torch
from torch import nn

from analysis.figures.common import Figure, save

TOY_LOSSES: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("softmax", "softmax", {}),
    ("arcface (s=16, m=0.3)", "arcface", {"s": 16.0, "m": 0.3}),
    ("interface dd (s=16, m=0.3)", "interface", {"s": 16.0, "m": 0.3, "variant": "dd"}),
)
N_IDS, PER_ID, IN_DIM, STEPS = 8, 30, 16, 200
# colours of identities (not of methods: the palette of analysis.figures.palette is for methods)
IDENTITY_COLOURS = [matplotlib.colors.to_hex(c) for c in plt.get_cmap("tab10").colors[:N_IDS]]


def toy_features(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Fixed features (N_IDS*PER_ID, IN_DIM) float32 and labels: unit class means + N(0, 0.35^2) noise."""
    gen = torch.Generator().manual_seed(seed)
    means = torch.nn.functional.normalize(torch.randn(N_IDS, IN_DIM, generator=gen), dim=1)
    labels = torch.arange(N_IDS).repeat_interleave(PER_ID)
    feats = means[labels] + 0.35 * torch.randn(labels.numel(), IN_DIM, generator=gen)
    return feats, labels


def train_toy(
    build_loss: Callable[..., Any], name: str, params: dict[str, Any], seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Train MLP + loss; return unit embeddings (N, 2), labels (N,) and unit class centres (C, 2)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # 240 x 32 matrices: extra threads only add synchronisation
    try:
        return _train(build_loss, name, params, seed)
    finally:
        torch.set_num_threads(threads)


def _train(
    build_loss: Callable[..., Any], name: str, params: dict[str, Any], seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    torch.manual_seed(seed)
    feats, labels = toy_features(seed)
    net = nn.Sequential(nn.Linear(IN_DIM, 32), nn.ReLU(), nn.Linear(32, 2))
    loss = build_loss(name, num_classes=N_IDS, embedding_size=2, **params)
    opt = torch.optim.Adam([*net.parameters(), *loss.parameters()], lr=0.02)
    for _ in range(STEPS):
        opt.zero_grad()
        loss(net(feats), labels).backward()
        opt.step()
    with torch.no_grad():
        emb = torch.nn.functional.normalize(net(feats), dim=1).numpy()
        centres = torch.nn.functional.normalize(loss.weight, dim=1).numpy()
    return emb.astype(np.float64), labels.numpy(), centres.astype(np.float64)


def intra_spread(emb: np.ndarray, labels: np.ndarray) -> float:
    """Mean angle (rad) of embeddings to their identity's mean direction."""
    out = []
    for k in np.unique(labels):
        e = emb[labels == k]
        mean = e.mean(axis=0)
        mean /= np.linalg.norm(mean)
        out.append(np.arccos(np.clip(e @ mean, -1, 1)).mean())
    return float(np.mean(out))


def toy_figure(
    out_dir: Path,
    build_loss: Callable[..., Any] | None = None,
    losses: tuple[tuple[str, str, dict[str, Any]], ...] = TOY_LOSSES,
) -> Figure:
    """Train each toy loss and draw its embeddings on the unit circle, one panel per loss."""
    if build_loss is None:
        from interface.losses import build_loss
    fig, axes = plt.subplots(1, len(losses), figsize=(4 * len(losses), 4.2))
    spreads = []
    for ax, (label, name, params) in zip(np.atleast_1d(axes), losses):
        emb, labels, centres = train_toy(build_loss, name, params)
        spread = intra_spread(emb, labels)
        spreads.append(f"{label}: {math.degrees(spread):.1f}°")
        t = np.linspace(0, 2 * math.pi, 200)
        ax.plot(np.cos(t), np.sin(t), color="#999999", lw=0.8)
        for k in range(N_IDS):
            r = 1.0 + 0.04 * (k % 3)  # radial jitter per identity keeps overlapping clouds visible
            sel = labels == k
            ax.scatter(r * emb[sel, 0], r * emb[sel, 1], s=9, color=IDENTITY_COLOURS[k], alpha=0.8)
            ax.plot([0, 0.8 * centres[k, 0]], [0, 0.8 * centres[k, 1]], color=IDENTITY_COLOURS[k], lw=1.2)
        ax.set(
            title=f"{label}\nmean intra-class angle {math.degrees(spread):.1f}°",
            aspect="equal",
            xlim=(-1.25, 1.25),
            ylim=(-1.25, 1.25),
        )
        ax.set_xticks([])
        ax.set_yticks([])
    path = save(fig, out_dir / "toy_embeddings.png", layout="bbox")
    return Figure(
        path,
        "Toy: 2-D embeddings of eight identities",
        f"{N_IDS} identities x {PER_ID} fixed 16-D feature vectors, a 16-32-2 MLP trained "
        f"{STEPS} full-batch Adam steps with each loss module; dots: normalised embeddings "
        "(radially offset per identity), lines: learned class centres. Mean intra-class angle: "
        + "; ".join(spreads)
        + ".",
        "Unit circles with coloured clusters of embeddings and class-centre spokes, one per loss: "
        + ", ".join(label for label, _, _ in losses)
        + ".",
        "toy",
    )
