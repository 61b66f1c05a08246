"""Foreign state_dict key layouts and their mapping onto this project's backbones.

A layout turns the keys of a released checkpoint into this project's keys, or says it does not
apply (returns None). Which layout a file has is decided by trying each layout of the backbone
and keeping the one under which every key of the file lands on a key of the model; the shapes
are checked afterwards (:mod:`interface.external.importer`).

Known layouts:
- ``interface``: this project's own keys (model.pt of a trained run). The IResNets use
  arcface_torch's IResNet names and shapes, so an arcface_torch ``backbone.pth`` of r18/r34/r50/
  r100/r200 is this layout too.
- ``arcface_torch.mobilefacenet``: arcface_torch's ``MobileFaceNet`` (``layers`` ModuleList of
  ConvBlock / DepthWise / Residual modules, ``conv_sep``, ``features`` = the GDC head). Its
  ``scale=1`` model is this project's ``mobilefacenet``, its released ``mbf`` (``scale=2``) this
  project's ``mbf``; the module tree differs only in names (one flat list of bottlenecks here).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

#: ``Rename(keys) -> {foreign key: project key}``, or None when the keys are not this layout.
Rename = Callable[[list[str]], "dict[str, str] | None"]


@dataclass(frozen=True)
class Layout:
    """One key layout: a name for provenance, the backbones it fits, and its renaming."""

    name: str
    backbones: tuple[str, ...]
    rename: Rename


def _identity(keys: list[str]) -> dict[str, str]:
    return {key: key for key in keys}


# arcface_torch MobileFaceNet: ConvBlock/LinearBlock hold ``layers.<k>`` (conv, BN, PReLU);
# DepthWise holds ``layers.<j>`` blocks of those; Residual holds ``layers.<i>`` DepthWise units.
_CONV = re.compile(r"layers\.(\d+)\.layers\.(\d+)\.([A-Za-z_]+)")
_DEPTHWISE = re.compile(r"layers\.(\d+)\.layers\.(\d+)\.layers\.(\d+)\.([A-Za-z_]+)")
_RESIDUAL = re.compile(r"layers\.(\d+)\.layers\.(\d+)\.layers\.(\d+)\.layers\.(\d+)\.([A-Za-z_]+)")
_SEP = re.compile(r"conv_sep\.layers\.(\d+)\.([A-Za-z_]+)")
_GDC = re.compile(r"features\.layers\.0\.layers\.(\d+)\.([A-Za-z_]+)")
#: the GDC head's Linear (index 2, after the Flatten) and BatchNorm1d (index 3).
_HEAD = {"features.layers.2.weight": "fc.weight"}
_HEAD_BN = re.compile(r"features\.layers\.3\.([A-Za-z_]+)")


def _mobilefacenet(keys: list[str]) -> dict[str, str] | None:
    """arcface_torch MobileFaceNet keys onto ``body.<n>`` (stem convs, bottlenecks, conv_sep), ``gdc``, ``fc``, ``features``.

    The ``layers.<N>`` entries become consecutive ``body`` units in order of N: a ConvBlock or a
    DepthWise is one unit, a Residual of I blocks is I units; ``conv_sep`` is the unit after them.
    """
    units: dict[int, int] = {}  # layers.N -> how many body units it spans
    parsed: dict[str, tuple] = {}
    for key in keys:
        for kind, pattern in (("residual", _RESIDUAL), ("depthwise", _DEPTHWISE), ("conv", _CONV)):
            match = pattern.fullmatch(key)
            if match:
                groups = match.groups()
                top = int(groups[0])
                span = int(groups[1]) + 1 if kind == "residual" else 1
                units[top] = max(units.get(top, 0), span)
                parsed[key] = (kind, *groups)
                break
    if not parsed:
        return None
    start, offset = {}, 0
    for top in sorted(units):
        start[top], offset = offset, offset + units[top]
    mapping: dict[str, str] = {}
    for key in keys:
        if key in parsed:
            kind, top, *rest = parsed[key]
            base = start[int(top)]
            if kind == "conv":
                mapping[key] = f"body.{base}.{rest[0]}.{rest[1]}"
            elif kind == "depthwise":
                mapping[key] = f"body.{base}.body.{rest[0]}.{rest[1]}.{rest[2]}"
            else:
                mapping[key] = f"body.{base + int(rest[0])}.body.{rest[1]}.{rest[2]}.{rest[3]}"
        elif match := _SEP.fullmatch(key):
            mapping[key] = f"body.{offset}.{match.group(1)}.{match.group(2)}"
        elif match := _GDC.fullmatch(key):
            mapping[key] = f"gdc.{match.group(1)}.{match.group(2)}"
        elif key in _HEAD:
            mapping[key] = _HEAD[key]
        elif match := _HEAD_BN.fullmatch(key):
            mapping[key] = f"features.{match.group(1)}"
        else:
            return None  # a key this layout has no place for: not this layout
    return mapping


_IRESNETS = tuple(f"iresnet{depth}" for depth in (18, 34, 50, 100, 200))
LAYOUTS: tuple[Layout, ...] = (
    Layout("interface", (*_IRESNETS, "mobilefacenet", "mbf", "tiny"), _identity),
    Layout("arcface_torch.mobilefacenet", ("mobilefacenet", "mbf"), _mobilefacenet),
)


def layouts_for(backbone: str) -> list[Layout]:
    """Layouts that may describe a checkpoint of ``backbone``; the project's own first.

    A backbone registered by a plugin gets the project's own layout only.
    """
    fitting = [layout for layout in LAYOUTS if backbone in layout.backbones]
    return fitting or [LAYOUTS[0]]


def strip_prefix(keys: Iterable[str], prefix: str = "module.") -> str:
    """``prefix`` when every key starts with it (a state_dict saved from a DataParallel/DDP
    wrapper), else ""."""
    keys = list(keys)
    return prefix if keys and all(key.startswith(prefix) for key in keys) else ""
