"""Shared figure plumbing: the Agg backend, a figure record, atomic PNG + SVG saving, file names.

Colours of methods come from :mod:`analysis.figures.palette` (one per method in every figure).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # file output only; never needs a display

import matplotlib.pyplot as plt  # noqa: E402

from interface.atomic import atomic_path  # noqa: E402

DPI = 100
# The report shows figures at (at most) their pixel width (max 1,130 px = 11.3 in at DPI), so
# these sizes are what a reader sees: axis labels 11 px and up.
matplotlib.rcParams.update(
    {
        "font.size": 10,
        "axes.titlesize": 10.5,
        "axes.labelsize": 10,
        "xtick.labelsize": 9,
        "ytick.labelsize": 9,
        "legend.fontsize": 8.5,
        "svg.fonttype": "none",  # SVG text stays text (searchable, small files)
    }
)
PAGE_WIDTH_IN = 11.3


def panel_grid(n: int, cols: int = 4, height: float = 2.6) -> tuple[plt.Figure, list[plt.Axes]]:
    """A page-wide figure of ``n`` small panels, ``cols`` to a row (unused slots hidden)."""
    cols = max(1, min(n, cols))
    rows = max(1, -(-n // cols))
    fig, axes = plt.subplots(rows, cols, figsize=(PAGE_WIDTH_IN, height * rows + 0.4), squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, list(axes.flat[:n])


def legend_below(ax: plt.Axes, fontsize: float = 8) -> None:
    """A one-column legend under ``ax``, outside the data (panels of a per-benchmark grid)."""
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22), frameon=False, fontsize=fontsize, ncol=1)


def benchmark_panels_figure(
    fig: plt.Figure, axes: list[plt.Axes], benchmark: str, ylabel: str, out_dir: Path, texts: tuple[str, ...]
) -> Figure:
    """Finish a grid of panels drawn for one benchmark: a legend under each panel, the y label on
    the first, the benchmark as title, written to ``out_dir/<prefix>_<benchmark>.png`` (and SVG).

    texts: (file prefix, title, caption, alt, family).
    """
    prefix, *figure_texts = texts
    for ax in axes:
        legend_below(ax)
    axes[0].set_ylabel(ylabel)
    fig.suptitle(benchmark, fontsize=10.5)
    fig.tight_layout()
    return Figure(save(fig, out_dir / f"{prefix}_{slug(benchmark)}.png", layout="bbox"), *figure_texts)


def legend_right(ax: plt.Axes, **kwargs: object) -> None:
    """A legend outside the data, to the right of ``ax`` (drawn only when there are labelled series)."""
    if ax.get_legend_handles_labels()[0] or "handles" in kwargs:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, frameon=False, **kwargs)


@dataclass(frozen=True)
class Figure:
    """A written figure: ``path`` (PNG; the SVG lies beside it), a short ``title``, a ``caption`` and ``alt`` text."""

    path: Path
    title: str
    caption: str
    alt: str
    family: str

    @property
    def svg(self) -> Path:
        return self.path.with_suffix(".svg")


def save(fig: plt.Figure, path: Path, *, layout: str = "tight") -> Path:
    """Write ``fig`` as PNG to ``path`` and as SVG beside it, atomically (world-readable, like any
    report file), and close it; return the PNG path.

    ``layout``: "tight" (matplotlib's tight_layout), "bbox" (keep the figure's layout, crop to its
    content, e.g. with a shared colour bar) or "fixed" (margins already set by the caller: no
    extra draw pass, which halves the cost of the many per-loss figures).
    """
    if layout == "tight":
        fig.tight_layout()
    for target, fmt in ((path, "png"), (path.with_suffix(".svg"), "svg")):
        with atomic_path(target) as tmp:
            fig.savefig(tmp, format=fmt, dpi=DPI, bbox_inches="tight" if layout == "bbox" else None)
            tmp.chmod(0o644)
    plt.close(fig)
    return path


def slug(text: str) -> str:
    """A file-name-safe version of ``text`` (letters, digits, '-', '_', '.')."""
    return "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in text).strip("-") or "x"
