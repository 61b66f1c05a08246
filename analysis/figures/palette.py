"""One colour per method across every figure, and the loss families that split figures into panels.

A method is a (loss, setting) pair, named by :func:`analysis.metrics.method_label`. Each loss
family has its own hue; the methods of one family take evenly spaced shades of it (darker to
lighter), in sorted label order, plus a marker and a line style, so at most
:data:`MAX_SERIES` series share an axes and stay distinguishable. The report builds one
:class:`Palette` from every method it knows and hands it to every figure: a method has the same
colour in the sweep, the training curves, the ROC and the histograms.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import matplotlib
import numpy as np

from analysis.metrics import INTERFACE_LOSS, method_label
from interface.contracts.run_id import parse_setting
from interface.errors import InputError

MAX_SERIES = 8  # series on one axes; more go to further panels

# (family, losses, base colour); InterFace splits by variant (each has its own sweep of settings).
# Base colours: distinct hues (matplotlib's tab10), so families stay apart in one axes.
FAMILIES: tuple[tuple[str, frozenset[str], str], ...] = (
    ("no margin", frozenset({"softmax", "normface"}), "#5a5a5a"),
    ("cosine margin", frozenset({"cosface"}), "#e08214"),
    ("angular margin", frozenset({"arcface", "sphereface", "combined"}), "#1f77b4"),
    ("adaptive margin", frozenset({"curricularface", "magface", "adaface", "elasticface"}), "#2ca02c"),
)
INTERFACE_COLOURS = {"cc": "#9467bd", "dc": "#e377c2", "dd": "#d62728"}
OTHER_FAMILY, OTHER_COLOUR = "other", "#8c564b"
FAMILY_ORDER = [f for f, _, _ in FAMILIES] + [f"InterFace {v}" for v in INTERFACE_COLOURS] + [OTHER_FAMILY]
# Shades of a family: its base mixed with black (negative) or white (positive); the first member
# (the default setting sorts first) darkest, the last lightest, all dark enough on white.
SHADE_RANGE = (-0.2, 0.5)
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
LINESTYLES = ("-", "--", "-.", ":")


def setting_params(setting: str) -> dict[str, Any]:
    """Typed parameters of a setting string (``variant=dd,alpha=0.2`` -> ``{"variant": "dd", "alpha": 0.2}``);
    an unparsable setting has none (:func:`interface.contracts.run_id.parse_setting`)."""
    try:
        return parse_setting(setting)
    except InputError:
        return {}


def setting_variant(setting: str) -> str:
    """InterFace's ``variant`` in a setting string; the loss's default "dd" when it names none."""
    return str(setting_params(setting).get("variant", "dd"))


def family(loss: str, setting: str) -> str:
    """The family of a method: one of :data:`FAMILY_ORDER`."""
    if loss == INTERFACE_LOSS:
        variant = setting_variant(setting)
        return f"InterFace {variant}" if variant in INTERFACE_COLOURS else OTHER_FAMILY
    return next((name for name, losses, _ in FAMILIES if loss in losses), OTHER_FAMILY)


def _base_colour(name: str) -> str:
    if name.startswith("InterFace "):
        return INTERFACE_COLOURS[name.split(" ", 1)[1]]
    return next((c for fam, _, c in FAMILIES if fam == name), OTHER_COLOUR)


def shade(colour: str, amount: float) -> str:
    """``colour`` mixed with black (``amount`` < 0) or white (> 0) by ``|amount|`` (0..1); hex."""
    rgb = np.array(matplotlib.colors.to_rgb(colour))
    target = np.zeros(3) if amount < 0 else np.ones(3)
    return matplotlib.colors.to_hex(rgb + abs(amount) * (target - rgb))


@dataclass(frozen=True)
class Style:
    """How one method is drawn: colour (hex), marker and line style."""

    colour: str
    marker: str
    linestyle: str


@dataclass
class Palette:
    """Styles and families of a fixed set of methods (label -> :class:`Style`)."""

    styles: dict[str, Style] = field(default_factory=dict)
    families: dict[str, str] = field(default_factory=dict)

    @classmethod
    def for_methods(cls, methods: Iterable[tuple[str, str]]) -> Palette:
        """Assign every (loss, setting) a shade of its family's colour (darkest first in label order)."""
        by_family: dict[str, list[str]] = {}
        for loss, setting in sorted(set(methods)):
            by_family.setdefault(family(loss, setting), []).append(method_label(loss, setting))
        styles, families = {}, {}
        for fam, labels in by_family.items():
            base = _base_colour(fam)
            labels = sorted(set(labels))
            low, high = SHADE_RANGE
            for i, label in enumerate(labels):
                amount = 0.0 if len(labels) == 1 else low + (high - low) * i / (len(labels) - 1)
                styles[label] = Style(shade(base, amount), MARKERS[i % len(MARKERS)], LINESTYLES[i % 4])
                families[label] = fam
        return cls(styles, families)

    def style(self, label: str) -> Style:
        """The style of ``label``; a label the palette was not built with is drawn dark grey."""
        return self.styles.get(label, Style("#444444", "o", "-"))

    def colour(self, label: str) -> str:
        return self.style(label).colour

    def line(self, ax: Any, x: Any, y: Any, label: str, labelled: set[str], lw: float) -> None:
        """Draw method ``label``'s line in its style; its legend entry only the first time on ``ax``
        (``labelled`` holds the labels that already have one, and gains ``label``)."""
        st = self.style(label)
        ax.plot(
            x,
            y,
            color=st.colour,
            ls=st.linestyle,
            lw=lw,
            label=None if label in labelled else label,
            gid=label,
        )
        labelled.add(label)

    def panels(self, labels: Iterable[str], per_panel: int = MAX_SERIES) -> list[tuple[str, list[str]]]:
        """Group ``labels`` into (panel title, labels) by family, at most ``per_panel`` to a panel."""
        groups: dict[str, list[str]] = {}
        for label in sorted(set(labels)):
            groups.setdefault(self.families.get(label, OTHER_FAMILY), []).append(label)
        out = []
        for fam in sorted(groups, key=FAMILY_ORDER.index):
            members = groups[fam]
            chunks = [members[i : i + per_panel] for i in range(0, len(members), per_panel)]
            for k, chunk in enumerate(chunks):
                out.append((fam if len(chunks) == 1 else f"{fam} ({k + 1}/{len(chunks)})", chunk))
        return out
