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


def save(fig: plt.Figure, path: Path, *, layout: bool = True) -> Path:
    """Write ``fig`` as PNG to ``path`` atomically (world-readable, like any report file) and close it.

    ``layout`` False keeps the figure's own layout (e.g. a shared colour bar) and crops tightly.
    """
    if layout:
        fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=DPI, bbox_inches=None if layout else "tight")
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
