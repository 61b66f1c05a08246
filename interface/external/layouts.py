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
- ``adaface.ir``: AdaFace's IR (``input_layer``, ``body.<n>`` units of ``res_layer`` /
  ``shortcut_layer``, ``output_layer``) onto ``adaface_ir18/50/101``. AdaFace feeds BGR images;
  the evaluator feeds RGB, so the stem conv's input channels are reversed (the same function of
  the face, sums in another order).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import torch

#: ``Rename(keys) -> {foreign key: project key}``, or None when the keys are not this layout.
Rename = Callable[[list[str]], "dict[str, str] | None"]


@dataclass(frozen=True)
class Layout:
    """One key layout: a name for provenance, the backbones it fits, its renaming, and a change
    of the renamed tensors (by project key) that makes the model compute the same function."""

    name: str
    backbones: tuple[str, ...]
    rename: Rename
    convert: Callable[[dict[str, torch.Tensor]], dict[str, torch.Tensor]] | None = None


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


# AdaFace IR: res_layer = (BN, conv, BN, PReLU, conv, BN), shortcut_layer = (1x1 conv, BN) where
# the width changes; output_layer = (BN2d, Dropout, Flatten, Linear, BN1d without affine).
_RES = ("bn1", "conv1", "bn2", "prelu", "conv2", "bn3")
_ADA_UNIT = re.compile(r"body\.(\d+)\.(res_layer|shortcut_layer)\.(\d+)\.([A-Za-z_]+)")
_ADA_FIXED = {"input_layer.0": "conv1", "input_layer.1": "bn1", "input_layer.2": "prelu"}
_ADA_FIXED |= {"output_layer.0": "bn2", "output_layer.3": "fc", "output_layer.4": "features"}


def _adaface(keys: list[str]) -> dict[str, str] | None:
    """AdaFace IR keys onto ``layer<s>.<i>``: a stage starts at unit 0 and at every unit with a
    conv shortcut (the width changes there; the first stage's strided unit subsamples)."""
    units = {int(m.group(1)) for k in keys if (m := _ADA_UNIT.fullmatch(k))}
    if not units:
        return None
    starts = [0] + sorted(
        {int(m.group(1)) for k in keys if (m := _ADA_UNIT.fullmatch(k)) and m.group(2) == "shortcut_layer"}
        - {0}
    )
    mapping: dict[str, str] = {}
    for key in keys:
        module, _, param = key.rpartition(".")
        if module in _ADA_FIXED:
            mapping[key] = f"{_ADA_FIXED[module]}.{param}"
        elif match := _ADA_UNIT.fullmatch(key):
            unit, part, index = int(match.group(1)), match.group(2), int(match.group(3))
            stage = max(i for i, start in enumerate(starts) if start <= unit)
            where = f"layer{stage + 1}.{unit - starts[stage]}"
            if part == "res_layer":
                if index >= len(_RES):
                    return None
                mapping[key] = f"{where}.{_RES[index]}.{param}"
            else:
                mapping[key] = f"{where}.downsample.{index}.{param}"
        else:
            return None
    return mapping


def _bgr_stem(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Reverse the stem conv's input channels: a BGR-trained model then reads RGB faces.

    A stem of another shape is left alone for the shape check to name.
    """
    stem = state["conv1.weight"]
    return {**state, "conv1.weight": stem.flip(1)} if stem.dim() == 4 and stem.shape[1] == 3 else state


_IRESNETS = tuple(f"iresnet{depth}" for depth in (18, 34, 50, 100, 200))
_ADAFACE = ("adaface_ir18", "adaface_ir50", "adaface_ir101")
LAYOUTS: tuple[Layout, ...] = (
    Layout("interface", (*_IRESNETS, *_ADAFACE, "mobilefacenet", "mbf", "tiny"), _identity),
    Layout("arcface_torch.mobilefacenet", ("mobilefacenet", "mbf"), _mobilefacenet),
    Layout("adaface.ir", _ADAFACE, _adaface, _bgr_stem),
)


def layouts_for(backbone: str) -> list[Layout]:
    """Layouts that may describe a checkpoint of ``backbone``; the project's own first.

    A backbone registered by a plugin gets the project's own layout only.
    """
    fitting = [layout for layout in LAYOUTS if backbone in layout.backbones]
    return fitting or [LAYOUTS[0]]


#: prefixes a wrapper puts on every key: DataParallel/DDP (``module.``), a training module (``model.``).
PREFIXES = ("module.", "model.")


def strip_prefix(keys: Iterable[str]) -> str:
    """The first of :data:`PREFIXES` that every key starts with, else ""."""
    keys = list(keys)
    return next((p for p in PREFIXES if keys and all(key.startswith(p) for key in keys)), "")
