"""Margin geometry of every registered loss, evaluated through the loss modules' own hooks.

Only ``loss.target_curve(theta_y)`` and ``loss.nontarget_curve(theta_j, theta_y, phi)`` (CONTRACTS.md,
"Geometry hooks") are called: the curves are the training code evaluated on given angles, never a
second copy of a formula. Angles are radians.

- Target logit / s against the target angle theta_y (figure a).
- Binary decision boundaries in the (theta_1, theta_2) plane: a class-1 sample is classified with
  margin where target(theta_1) > nontarget(theta_2; theta_1, phi); the class-2 boundary is the mirror
  condition. Between them lies the margin band (figure b). For InterFace the band is
  theta_2 - theta_1 = m + mhat(theta_1, phi) (interface-paper-and-code.md §2.4, §8): its width grows
  with theta_1 and, in dc/dd, with closer centres (smaller phi).
- InterFace's non-target shift mhat over (theta_y, phi) for cc, dc and dd (figure c), recovered from
  the hook: nontarget(pi/2; theta_y, phi) = cos(pi/2 - mhat), so mhat = pi/2 - arccos(that).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import torch

from analysis.figures.common import Figure, colour, save, slug
from analysis.metrics import INTERFACE_LOSS

INTERFACE_VARIANTS = ("cc", "dc", "dd")
PANEL_PHIS = (math.pi / 3, math.pi / 2, 2 * math.pi / 3)
GRID = 181


def geometry_specs(list_losses: Callable[[], list[str]]) -> list[tuple[str, str, dict[str, Any]]]:
    """(label, registry name, params) for every registered loss at its defaults; InterFace per variant."""
    specs = []
    for name in list_losses():
        if name == INTERFACE_LOSS:
            specs += [(f"{name} ({v})", name, {"variant": v}) for v in INTERFACE_VARIANTS]
        else:
            specs.append((name, name, {}))
    return specs


def build_specs(
    build_loss: Callable[..., Any], specs: list[tuple[str, str, dict[str, Any]]]
) -> list[tuple[str, Any]]:
    """Instantiate each spec on a 2-class, 2-D head (the hooks use only the loss's parameters)."""
    return [
        (label, build_loss(name, num_classes=2, embedding_size=2, **params)) for label, name, params in specs
    ]


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().to(torch.float64).cpu().numpy()


def mhat_grid(loss: Any, theta_y: np.ndarray, phi: np.ndarray) -> np.ndarray:
    """InterFace's mhat (rad) at (theta_y, phi), read back from ``loss.nontarget_curve`` at theta_j = pi/2."""
    ty, ph = np.meshgrid(theta_y, phi, indexing="xy")
    value = loss.nontarget_curve(
        torch.full(ty.shape, math.pi / 2, dtype=torch.float64), torch.from_numpy(ty), torch.from_numpy(ph)
    )
    return math.pi / 2 - np.arccos(np.clip(_np(value), -1.0, 1.0))


def boundary_margin(loss: Any, theta1: np.ndarray, phi: float, n: int = 1201) -> np.ndarray:
    """theta_2* - theta_1 at the class-1 boundary target(theta_1) = nontarget(theta_2*; theta_1, phi).

    theta_2* is found on a grid of ``n`` angles in [0, pi] by linear interpolation of the
    difference (nontarget decreases with theta_2 for every loss); NaN where no crossing exists.
    """
    t2 = np.linspace(0.0, math.pi, n)
    target = _np(loss.target_curve(torch.from_numpy(theta1)))
    T1, T2 = np.meshgrid(theta1, t2, indexing="ij")
    other = _np(
        loss.nontarget_curve(
            torch.from_numpy(T2), torch.from_numpy(T1), torch.full(T1.shape, phi, dtype=torch.float64)
        )
    )
    diff = target[:, None] - other  # > 0 where the sample is classified as class 1
    out = np.full(theta1.shape, np.nan)
    for i in range(theta1.size):
        idx = np.flatnonzero(diff[i] > 0)
        if idx.size and idx[0] > 0:
            k = idx[0]
            d0, d1 = diff[i, k - 1], diff[i, k]
            out[i] = t2[k - 1] + (t2[k] - t2[k - 1]) * (-d0) / (d1 - d0) - theta1[i]
    return out


def target_logit_figure(losses: list[tuple[str, Any]], out_dir: Path) -> Figure:
    """Figure a: target logit / s against theta_y for every loss, with cos(theta_y) as reference."""
    theta = np.linspace(0.0, math.pi, 361)
    fig, ax = plt.subplots(figsize=(7.5, 4.8))
    ax.plot(np.degrees(theta), np.cos(theta), color="black", lw=1, ls=":", label="cos θ (no margin)")
    for i, (label, loss) in enumerate(losses):
        ax.plot(
            np.degrees(theta),
            _np(loss.target_curve(torch.from_numpy(theta))),
            color=colour(i),
            lw=1.6,
            label=label,
        )
    ax.set(xlabel="target angle θ_y (degrees)", ylabel="target logit / s", xlim=(0, 180))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    path = save(fig, out_dir / "target_logit.png")
    names = ", ".join(label for label, _ in losses)
    return Figure(
        path,
        "Target logit against the target angle",
        "Target logit divided by the scale s as each loss computes it (loss.target_curve), at "
        "default parameters; the dotted line is the plain cosine. Norm-aware losses are shown "
        "at their documented typical feature norm.",
        f"Line plot of target logit over s versus target angle 0 to 180 degrees for {names}.",
        "geometry",
    )


def decision_boundary_figure(label: str, loss: Any, out_dir: Path) -> Figure:
    """Figure b (one per loss): the two binary decision boundaries in (theta_1, theta_2) at three phi."""
    grid = np.linspace(0.0, math.pi, GRID)
    T1, T2 = np.meshgrid(grid, grid, indexing="xy")
    fig, axes = plt.subplots(1, len(PANEL_PHIS), figsize=(11, 3.9), sharey=True)
    for ax, phi in zip(axes, PANEL_PHIS):
        full = torch.full(T1.shape, phi, dtype=torch.float64)
        # class-1 sample: own angle T1, other class at T2; class-2 sample: the mirror.
        f1 = _np(loss.target_curve(torch.from_numpy(T1))) - _np(
            loss.nontarget_curve(torch.from_numpy(T2), torch.from_numpy(T1), full)
        )
        f2 = _np(loss.target_curve(torch.from_numpy(T2))) - _np(
            loss.nontarget_curve(torch.from_numpy(T1), torch.from_numpy(T2), full)
        )
        band = (f1 <= 0) & (f2 <= 0)  # neither class wins with its margin
        infeasible = (np.abs(T1 - T2) > phi) | (phi > T1 + T2) | (2 * math.pi - phi < T1 + T2)
        deg = np.degrees(grid)
        ax.contourf(deg, deg, band.astype(float), levels=[0.5, 1.5], colors=["#f4c27a"], alpha=0.8)
        ax.contour(deg, deg, f1, levels=[0.0], colors=["#1f77b4"], linewidths=1.6)
        ax.contour(deg, deg, f2, levels=[0.0], colors=["#d62728"], linewidths=1.6)
        ax.contourf(deg, deg, infeasible.astype(float), levels=[0.5, 1.5], colors=["#bbbbbb"], alpha=0.55)
        ax.plot([0, 180], [0, 180], color="black", lw=0.8, ls=":")
        ax.set(title=f"φ = {math.degrees(phi):.0f}°", xlabel="θ1 (degrees)", xlim=(0, 180), ylim=(0, 180))
    axes[0].set_ylabel("θ2 (degrees)")
    fig.suptitle(f"{label}: binary decision boundaries", fontsize=11)
    fig.subplots_adjust(left=0.06, right=0.99, bottom=0.13, top=0.84, wspace=0.08)
    path = save(fig, out_dir / f"boundary_{slug(label)}.png", layout="fixed")
    return Figure(
        path,
        f"Decision boundaries: {label}",
        f"{label}: blue, class-1 boundary target(θ1) = nontarget(θ2; θ1, φ); red, the class-2 "
        "mirror; orange, the margin band where neither class wins; grey, angle pairs impossible "
        "for centres φ apart; dotted, the softmax boundary θ1 = θ2. Only InterFace dc/dd depend "
        "on φ.",
        f"Three panels of the theta1-theta2 plane for {label} at centre angles 60, 90 and 120 degrees "
        "with blue and red boundary curves around an orange margin band.",
        "geometry",
    )


def margin_width_figure(losses: list[tuple[str, Any]], out_dir: Path) -> Figure:
    """Figure b': margin width theta_2* - theta_1 at the class-1 boundary against theta_1.

    Left: every loss at phi = pi/2. Right: each InterFace variant at several phi.
    """
    theta1 = np.linspace(0.02, 1.6, 80)
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(11, 4.2))
    for i, (label, loss) in enumerate(losses):
        ax0.plot(np.degrees(theta1), boundary_margin(loss, theta1, math.pi / 2), color=colour(i), label=label)
    ax0.set(title="all losses, φ = 90°", xlabel="θ1 (degrees)", ylabel="θ2* − θ1 (rad)")
    ax0.legend(fontsize=7, ncol=2)
    styles = {"cc": ":", "dc": "--", "dd": "-"}
    inter = [(lab, loss) for lab, loss in losses if lab.startswith(INTERFACE_LOSS)]
    for j, phi in enumerate((math.pi / 4, math.pi / 2, 3 * math.pi / 4)):
        for label, loss in inter:
            variant = label.split("(")[-1].rstrip(")")
            ax1.plot(
                np.degrees(theta1),
                boundary_margin(loss, theta1, phi),
                color=colour(j),
                ls=styles.get(variant, "-"),
                label=f"{label}, φ={math.degrees(phi):.0f}°",
            )
    ax1.set(title="InterFace: width changes with θ1 and φ", xlabel="θ1 (degrees)")
    if inter:
        ax1.legend(fontsize=7, ncol=1)
    for ax in (ax0, ax1):
        ax.grid(alpha=0.3)
    path = save(fig, out_dir / "margin_width.png")
    return Figure(
        path,
        "Margin width along the boundary",
        "Angular gap θ2* − θ1 between the class-1 decision boundary and the own angle θ1, found from "
        "the loss hooks. ArcFace's is the constant m; InterFace's is m + m̂(θ1, φ), growing with θ1 "
        "and, for dc/dd, larger for closer centres (smaller φ).",
        "Two line plots of margin width in radians versus theta1: all losses at 90 degrees, and "
        "InterFace variants at 45, 90 and 135 degrees.",
        "geometry",
    )


def mhat_figure(build_loss: Callable[..., Any], out_dir: Path) -> Figure:
    """Figure c: InterFace's mhat (rad) over (theta_y, phi) for cc, dc and dd at default alpha and mid."""
    theta_y = np.linspace(0.0, math.pi / 2, 181)
    phi = np.linspace(0.05, math.pi, 181)
    maps = {
        v: mhat_grid(build_loss(INTERFACE_LOSS, num_classes=2, embedding_size=2, variant=v), theta_y, phi)
        for v in INTERFACE_VARIANTS
    }
    vmax = max(float(np.abs(m).max()) for m in maps.values())
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.9), sharey=True)
    for ax, (variant, grid) in zip(axes, maps.items()):
        im = ax.pcolormesh(
            np.degrees(theta_y), np.degrees(phi), grid, cmap="RdBu_r", vmin=-vmax, vmax=vmax, shading="auto"
        )
        ax.contour(np.degrees(theta_y), np.degrees(phi), grid, levels=[0.0], colors="black", linewidths=1)
        ax.set(title=f"variant {variant}", xlabel="θ_y (degrees)")
    axes[0].set_ylabel("centre angle φ (degrees)")
    fig.colorbar(im, ax=list(axes), label="m̂ (rad)")
    path = save(fig, out_dir / "mhat.png", layout="bbox")
    return Figure(
        path,
        "InterFace's non-target shift m̂",
        "m̂ = α(e^{−μ} − e^{−θ_y/φ̄}) read back from loss.nontarget_curve for cc (φ ≡ 90°), dc and dd "
        "at α = 0.1 and the release's mid; black: m̂ = 0. Red (m̂ > 0) is a harsher inter-class "
        "penalty for samples far from their centre, blue relaxes it near the centre.",
        "Three heat maps of m-hat over target angle and centre angle for variants cc, dc and dd, "
        "with a black zero contour.",
        "geometry",
    )


def geometry_figures(
    out_dir: Path,
    list_losses: Callable[[], list[str]] | None = None,
    build_loss: Callable[..., Any] | None = None,
) -> list[Figure]:
    """All figures of families a, b and c for the loss registry (``interface.losses`` by default)."""
    if list_losses is None or build_loss is None:
        from interface.losses import build_loss as _build
        from interface.losses import list_losses as _list

        list_losses, build_loss = list_losses or _list, build_loss or _build
    losses = build_specs(build_loss, geometry_specs(list_losses))
    figures = [target_logit_figure(losses, out_dir)]
    figures += [decision_boundary_figure(label, loss, out_dir) for label, loss in losses]
    figures.append(margin_width_figure(losses, out_dir))
    if INTERFACE_LOSS in list_losses():
        figures.append(mhat_figure(build_loss, out_dir))
    return figures
