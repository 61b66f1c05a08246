"""Shared figure plumbing: the Agg backend, a figure record, atomic PNG saving, loss colours."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # file output only; never needs a display

import matplotlib.pyplot as plt  # noqa: E402

from interface.atomic import atomic_path  # noqa: E402

DPI = 100


@dataclass(frozen=True)
class Figure:
    """A written figure: ``path`` (PNG), a short ``title``, a ``caption`` and ``alt`` text."""

    path: Path
    title: str
    caption: str
    alt: str
    family: str


def save(fig: plt.Figure, path: Path, *, layout: str = "tight") -> Path:
    """Write ``fig`` as PNG to ``path`` atomically (world-readable, like any report file) and close it.

    ``layout``: "tight" (matplotlib's tight_layout), "bbox" (keep the figure's layout, crop to its
    content, e.g. with a shared colour bar) or "fixed" (margins already set by the caller: no
    extra draw pass, which halves the cost of the many per-loss figures).
    """
    if layout == "tight":
        fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=DPI, bbox_inches="tight" if layout == "bbox" else None)
        tmp.chmod(0o644)
    plt.close(fig)
    return path


def colour(index: int) -> str:
    """A stable colour per series index (tab20 cycles, distinguishable for the ~13 loss settings)."""
    cmap = plt.get_cmap("tab20")
    return matplotlib.colors.to_hex(cmap((2 * index) % 20 + (index // 10) % 2))


def slug(text: str) -> str:
    """A file-name-safe version of ``text`` (letters, digits, '-', '_', '.')."""
    return "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in text).strip("-") or "x"
