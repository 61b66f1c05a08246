"""Margin geometry of every registered loss, evaluated through the loss modules' own hooks.

Only ``loss.target_curve(theta_y)`` and ``loss.nontarget_curve(theta_j, theta_y, phi)`` (the
geometry hooks of :class:`interface.losses.base.MarginLoss`) are called: the curves are the
training code evaluated on given angles, never a second copy of a formula. Angles are radians
in the code, degrees on the axes.

Shown first (the difference InterFace exists for):

- the boundary shift relative to ArcFace: at the class-1 decision boundary
  target(theta_1) = nontarget(theta_2*; theta_1, phi) the angular gap theta_2* - theta_1 is
  ArcFace's constant m; for InterFace it is m + mhat(theta_1, phi). The figure draws the gap minus
  ArcFace's, in degrees, so a shift of a few degrees is visible (drawn as absolute boundaries it
  hides under the 29-degree margin); InterFace at its default alpha and at the sweep's largest
  alpha, the other losses as small multiples by family;
- InterFace's non-target shift mhat over (theta_y, phi) for cc, dc and dd, recovered from the
  hook: nontarget(pi/2; theta_y, phi) = cos(pi/2 - mhat), so mhat = pi/2 - arccos(that).

Behind those, for reference: target logit / s against theta_y by family, and the binary decision
boundaries of every loss in the (theta_1, theta_2) plane.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import torch

from analysis.figures.common import PAGE_WIDTH_IN, Figure, legend_right, panel_grid, save
from analysis.figures.palette import Palette
from analysis.metrics import INTERFACE_LOSS, method_label

INTERFACE_VARIANTS = ("cc", "dc", "dd")
BOUNDARY_PHI = math.pi / 3  # closer centres than orthogonal: where dc/dd differ from cc
SHIFT_PHIS = (math.pi / 4, math.pi / 2, 3 * math.pi / 4)
SHIFT_ALPHAS = (0.1, 0.2)  # InterFace's default and the default sweep's largest alpha
THETA1_MAX = math.pi / 2  # trained samples lie well inside 90 degrees of their centre
GRID = 181
REFERENCE = "arcface"


def geometry_specs(list_losses: Callable[[], list[str]]) -> list[tuple[str, str, dict[str, Any]]]:
    """(label, registry name, params) for every registered loss at its defaults; InterFace per variant.

    Labels are the method labels of the score table (``arcface (default)``,
    ``interface (variant=dd)``), so a loss has the colour of its default run in every figure.
    """
    specs = []
    for name in list_losses():
        if name == INTERFACE_LOSS:
            specs += [(method_label(name, f"variant={v}"), name, {"variant": v}) for v in INTERFACE_VARIANTS]
        else:
            specs.append((method_label(name, "default"), name, {}))
    return specs


def spec_method(label: str, name: str, params: dict[str, Any]) -> tuple[str, str]:
    """The (loss, setting) a geometry spec stands for (its palette key)."""
    return (name, f"variant={params['variant']}" if "variant" in params else "default")


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


def target_logit_figure(
    losses: list[tuple[str, Any]], out_dir: Path, palette: Palette | None = None
) -> Figure:
    """Target logit / s against theta_y, one panel per loss family, cos(theta_y) as reference."""
    palette = palette or Palette.for_methods([])
    theta = np.linspace(0.0, math.pi, 361)
    groups = (
        palette.panels(label for label, _ in losses)
        if palette.styles
        else [("losses", [l for l, _ in losses])]
    )
    by_label = dict(losses)
    fig, axes = panel_grid(len(groups), height=2.7)
    for ax, (title, labels) in zip(axes, groups):
        ax.plot(np.degrees(theta), np.cos(theta), color="black", lw=1, ls=":", label="cos θ")
        for label in labels:
            st = palette.style(label)
            y = _np(by_label[label].target_curve(torch.from_numpy(theta)))
            ax.plot(
                np.degrees(theta), y, color=st.colour, ls=st.linestyle, lw=1.6, label=_short(label), gid=label
            )
        ax.set(title=title, xlabel="θ_y (degrees)", xlim=(0, 180), xticks=[0, 45, 90, 135, 180])
        ax.grid(alpha=0.3)
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.25), ncol=2, frameon=False, fontsize=8)
    axes[0].set_ylabel("target logit / s")
    fig.tight_layout()
    path = save(fig, out_dir / "target_logit.png", layout="bbox")
    names = ", ".join(label for label, _ in losses)
    return Figure(
        path,
        "Target logit against the target angle",
        "Target logit divided by the scale s as each loss computes it (loss.target_curve), at "
        "default parameters, one panel per loss family; the dotted line is the plain cosine. "
        "Norm-aware losses are shown at their documented typical feature norm.",
        f"Line plots of target logit over s versus target angle 0 to 180 degrees for {names}.",
        "geometry_more",
    )


def _short(label: str) -> str:
    """A legend label without the redundant ``(default)``."""
    return label.removesuffix(" (default)")


def _band(loss: Any, grid: np.ndarray, phi: float) -> tuple[np.ndarray, np.ndarray]:
    """f1, f2 on the (theta_1, theta_2) grid: target minus nontarget for a class-1 / class-2 sample."""
    T1, T2 = np.meshgrid(grid, grid, indexing="xy")
    full = torch.full(T1.shape, phi, dtype=torch.float64)
    f1 = _np(loss.target_curve(torch.from_numpy(T1))) - _np(
        loss.nontarget_curve(torch.from_numpy(T2), torch.from_numpy(T1), full)
    )
    f2 = _np(loss.target_curve(torch.from_numpy(T2))) - _np(
        loss.nontarget_curve(torch.from_numpy(T1), torch.from_numpy(T2), full)
    )
    return f1, f2


def decision_boundary_figure(
    losses: list[tuple[str, Any]], out_dir: Path, phi: float = BOUNDARY_PHI
) -> Figure:
    """The two binary decision boundaries of every loss in the (theta_1, theta_2) plane at centre angle ``phi``."""
    grid = np.linspace(0.0, math.pi, GRID)
    deg = np.degrees(grid)
    T1, T2 = np.meshgrid(grid, grid, indexing="xy")
    infeasible = (np.abs(T1 - T2) > phi) | (phi > T1 + T2) | (2 * math.pi - phi < T1 + T2)
    n = len(losses)
    cols = min(n, 5)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(PAGE_WIDTH_IN, 2.35 * rows + 0.5), squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    for ax, (label, loss) in zip(axes.flat, losses):
        f1, f2 = _band(loss, grid, phi)
        band = (f1 <= 0) & (f2 <= 0)  # neither class wins with its margin
        ax.contourf(deg, deg, band.astype(float), levels=[0.5, 1.5], colors=["#f4c27a"], alpha=0.8)
        ax.contour(deg, deg, f1, levels=[0.0], colors=["#1f77b4"], linewidths=1.4)
        ax.contour(deg, deg, f2, levels=[0.0], colors=["#d62728"], linewidths=1.4)
        ax.contourf(deg, deg, infeasible.astype(float), levels=[0.5, 1.5], colors=["#bbbbbb"], alpha=0.55)
        ax.plot([0, 180], [0, 180], color="black", lw=0.8, ls=":")
        ax.set(xlim=(0, 180), ylim=(0, 180), xticks=[0, 90, 180], yticks=[0, 90, 180], aspect="equal")
        ax.set_title(_short(label), fontsize=9.5)
    for ax in axes[:, 0]:
        ax.set_ylabel("θ2 (degrees)")
    for ax in axes[-1, :]:
        ax.set_xlabel("θ1 (degrees)")
    fig.subplots_adjust(left=0.06, right=0.99, bottom=0.08, top=0.95, wspace=0.25, hspace=0.45)
    path = save(fig, out_dir / "boundaries.png", layout="fixed")
    return Figure(
        path,
        f"Decision boundaries at centre angle φ = {math.degrees(phi):.0f}°",
        "Each loss at its defaults: blue, class-1 boundary target(θ1) = nontarget(θ2; θ1, φ); red, "
        "the class-2 mirror; orange, the margin band where neither class wins; grey, angle pairs "
        "impossible for centres φ apart; dotted, the softmax boundary θ1 = θ2. Scheduled losses at "
        "step 0 (SphereFace's λ = 1000: nearly softmax).",
        "Small panels of the theta1-theta2 plane, one per loss: "
        + ", ".join(label for label, _ in losses)
        + ", each with blue and red boundary curves around an orange margin band.",
        "geometry_more",
    )


def boundary_shift_figure(
    losses: list[tuple[str, Any]],
    build_loss: Callable[..., Any],
    out_dir: Path,
    palette: Palette | None = None,
    reference: Any = None,
) -> Figure:
    """Boundary gap minus ArcFace's (degrees) against theta_1: InterFace per variant, then the rest.

    Row 1: one panel per InterFace variant, at :data:`SHIFT_ALPHAS` (solid: default, dashed:
    largest swept) and centre angles :data:`SHIFT_PHIS`. Further rows: every other loss, one panel
    per family, at phi = 90 degrees (where they are independent of phi). ``reference`` is the
    loss the gap is measured against (ArcFace at its defaults when None; zero when the registry
    has no ArcFace).
    """
    palette = palette or Palette.for_methods([])
    theta1 = np.linspace(0.02, THETA1_MAX, 90)
    deg1 = np.degrees(theta1)
    ref = reference if reference is not None else build_loss(REFERENCE, num_classes=2, embedding_size=2)
    ref_width = {phi: boundary_margin(ref, theta1, phi) for phi in (*SHIFT_PHIS, math.pi / 2)}
    inter = [(label, loss) for label, loss in losses if label.startswith(INTERFACE_LOSS + " ")]
    others = [(label, loss) for label, loss in losses if (label, loss) not in inter]
    groups = (
        palette.panels(label for label, _ in others)
        if palette.styles
        else [("losses", [l for l, _ in others])]
    )
    by_label = dict(others)
    n_top, n_bottom = len(inter), len(groups)
    cols = max(min(n_bottom, 4), n_top, 1)
    rows = (1 if n_top else 0) + math.ceil(n_bottom / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(PAGE_WIDTH_IN, 3.1 * rows + 0.4), squeeze=False)
    used = []
    phi_colours = ("#1b9e77", "#d95f02", "#7570b3")  # one per centre angle, shared by the variants
    for k, (label, _) in enumerate(inter):
        ax = axes[0, k]
        used.append(ax)
        variant = label.split("variant=")[-1].rstrip(")")
        for a_i, alpha in enumerate(SHIFT_ALPHAS):
            loss = build_loss(INTERFACE_LOSS, num_classes=2, embedding_size=2, variant=variant, alpha=alpha)
            for phi, col in zip(SHIFT_PHIS if variant != "cc" else SHIFT_PHIS[1:2], phi_colours):
                gap = boundary_margin(loss, theta1, phi) - ref_width[phi]
                ax.plot(
                    deg1,
                    np.degrees(gap),
                    color=col if variant != "cc" else palette.colour(label),
                    ls="-" if a_i == 0 else "--",
                    lw=1.7,
                    label=f"α={alpha:g}" + (f", φ={math.degrees(phi):.0f}°" if variant != "cc" else ""),
                )
        _arcface_line(ax)
        ax.set_title(f"InterFace {variant}" + (" (φ-free)" if variant == "cc" else ""))
        ax.set(xlim=(0, math.degrees(THETA1_MAX)), xticks=[0, 30, 60, 90])
        ax.grid(alpha=0.3)
    if inter:
        axes[0, 0].set_ylabel("gap − ArcFace's (degrees)")
        # every InterFace panel uses one y range, so the variants compare at a glance
        low = min(a.get_ylim()[0] for a in used)
        high = max(a.get_ylim()[1] for a in used)
        for a in used:
            a.set_ylim(low, high)
        legend_right(axes[0, n_top - 1])  # into the free slot of the row
        for ax in axes[0, n_top:]:
            ax.set_visible(False)
    start = 1 if inter else 0
    flat_bottom = list(axes[start:].flat)
    for ax, (title, labels) in zip(flat_bottom, groups):
        for label in labels:
            st = palette.style(label)
            gap = boundary_margin(by_label[label], theta1, math.pi / 2) - ref_width[math.pi / 2]
            ax.plot(
                deg1,
                np.degrees(gap),
                color=st.colour,
                ls=st.linestyle,
                lw=1.7,
                label=_short(label),
                gid=label,
            )
        _arcface_line(ax)
        ax.set(title=title, xlim=(0, math.degrees(THETA1_MAX)), xticks=[0, 30, 60, 90])
        ax.grid(alpha=0.3)
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2, frameon=False, fontsize=8)
    for ax in flat_bottom[len(groups) :]:
        ax.set_visible(False)
    if groups:
        flat_bottom[0].set_ylabel("gap − ArcFace's (degrees)")
    for ax in axes.flat:
        ax.set_xlabel("θ1 (degrees)", labelpad=1)
    fig.tight_layout(h_pad=0.6)
    path = save(fig, out_dir / "boundary_shift.png", layout="bbox")  # legends below the panels
    return Figure(
        path,
        "Where InterFace's decision boundary moves relative to ArcFace",
        "θ1 is the angle of a sample to its own class centre. At the class-1 decision boundary "
        "target(θ1) = nontarget(θ2*; θ1, φ), the angular gap "
        "θ2* − θ1 minus ArcFace's (its constant m), from the loss hooks; 0 (wide grey line) is ArcFace. Top: "
        f"InterFace per variant at α = {SHIFT_ALPHAS[0]:g} (default, solid) and {SHIFT_ALPHAS[1]:g} "
        "(dashed), for centres 45°, 90° and 135° apart: the gap grows with θ1 (samples far from "
        "their centre get a harsher penalty) and, for dc/dd, with closer centres. Below: every other "
        "loss at its defaults, φ = 90°, by family.",
        "Line plots of the boundary gap minus ArcFace's against theta1 from 0 to 90 degrees: "
        "InterFace cc, dc and dd at two alphas and three centre angles, then the other losses by family.",
        "geometry",
    )


def _arcface_line(ax: plt.Axes) -> None:
    """The reference: ArcFace's own gap, zero shift (a wide grey band, unlike any method's line)."""
    ax.axhline(0, color="#9a9a9a", lw=3.0, alpha=0.6, zorder=0)


def mhat_figure(build_loss: Callable[..., Any], out_dir: Path) -> Figure:
    """InterFace's mhat (degrees) over (theta_y, phi) for cc, dc and dd at default alpha and mid."""
    theta_y = np.linspace(0.0, THETA1_MAX, 121)
    phi = np.linspace(0.05, math.pi, 121)
    maps = {
        v: np.degrees(
            mhat_grid(build_loss(INTERFACE_LOSS, num_classes=2, embedding_size=2, variant=v), theta_y, phi)
        )
        for v in INTERFACE_VARIANTS
    }
    vmax = max(float(np.abs(m).max()) for m in maps.values())
    fig, axes = plt.subplots(1, 3, figsize=(PAGE_WIDTH_IN, 3.4), sharey=True)
    levels = np.arange(-6.0, 6.5, 1.0)
    for ax, (variant, grid) in zip(axes, maps.items()):
        im = ax.pcolormesh(
            np.degrees(theta_y),
            np.degrees(phi),
            grid,
            cmap="RdBu_r",
            vmin=-vmax,
            vmax=vmax,
            shading="auto",
            rasterized=True,
        )
        lines = ax.contour(
            np.degrees(theta_y), np.degrees(phi), grid, levels=levels, colors="black", linewidths=0.6
        )
        ax.clabel(lines, fmt="%g°", fontsize=8)
        ax.set(title=f"variant {variant}", xlabel="θ_y (degrees)", xticks=[0, 30, 60, 90])
    axes[0].set_ylabel("centre angle φ (degrees)")
    fig.colorbar(im, ax=list(axes), label="m̂ (degrees)", fraction=0.03, pad=0.02)
    path = save(fig, out_dir / "mhat.png", layout="bbox")
    return Figure(
        path,
        "InterFace's non-target shift m̂",
        "m̂ = α(e^{−μ} − e^{−θ_y/φ̄}) in degrees, read back from loss.nontarget_curve for cc (φ ≡ 90°), "
        "dc and dd at the default α = 0.1 and the release's mid; contours every degree. Red (m̂ > 0) "
        "is a harsher inter-class penalty for samples far from their centre, blue relaxes it near "
        "the centre; m̂ scales linearly with α.",
        "Three heat maps of m-hat in degrees over target angle 0 to 90 degrees and centre angle, for "
        "variants cc, dc and dd, with labelled contours.",
        "geometry",
    )


def geometry_figures(
    out_dir: Path,
    list_losses: Callable[[], list[str]] | None = None,
    build_loss: Callable[..., Any] | None = None,
    palette: Palette | None = None,
) -> list[Figure]:
    """The geometry figures for the loss registry (``interface.losses`` by default).

    The boundary shift and m-hat need InterFace and ArcFace in the registry; without them only the
    reference figures (target logit, boundaries) are drawn.
    """
    if list_losses is None or build_loss is None:
        from interface.losses import build_loss as _build
        from interface.losses import list_losses as _list

        list_losses, build_loss = list_losses or _list, build_loss or _build
    specs = geometry_specs(list_losses)
    palette = palette or Palette.for_methods(spec_method(*s) for s in specs)
    losses = build_specs(build_loss, specs)
    figures = []
    names = list_losses()
    if INTERFACE_LOSS in names and REFERENCE in names:
        figures.append(boundary_shift_figure(losses, build_loss, out_dir, palette))
    if INTERFACE_LOSS in names:
        figures.append(mhat_figure(build_loss, out_dir))
    figures.append(target_logit_figure(losses, out_dir, palette))
    figures.append(decision_boundary_figure(losses, out_dir))
    return figures
