"""ArcFace (Deng et al. 2019, arXiv 1801.07698): additive angular margin on the target."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from interface.errors import InputError
from interface.losses.base import MarginLoss, cos_add
from interface.losses.params import SCALE, Param
from interface.losses.registry import register_loss

#: whose computation of the margin: the InterFace release's (the original MXNet code's), or
#: insightface arcface_torch's.
FORMS = ("interface-release", "arcface-torch")
#: ArcFace's margin, shared by the losses that take ArcFace's target.
ARC_MARGIN = Param("m", 0.5, "radians", "[0, pi/2)", float, "additive angular margin on the target")


def arc_target(cos_y: Tensor, m: Tensor | float, fallback: bool, straight_through: bool = False) -> Tensor:
    """cos(theta_y + m) in closed form, ``m`` (rad) a number or a (B, 1) tensor of per-sample margins.

    ``fallback``: ``cos(theta_y) - m sin(m)`` where theta_y + m > pi (cos(theta_y) <= cos(pi - m)),
    keeping the logit decreasing in theta_y: the rule of the original MXNet code (insightface
    ``src/train_softmax.py``, 2018) and of the InterFace release's ``ArcFace`` (``losses.py``).
    ``straight_through``: these values with the gradient of cos(theta_y) itself (d/d cos = 1), as
    arcface_torch computes the margin under ``torch.no_grad()``: a constant offset on the logit.
    """
    cos_m = torch.cos(torch.as_tensor(m, dtype=cos_y.dtype))
    sin_m = torch.sin(torch.as_tensor(m, dtype=cos_y.dtype))
    out = cos_add(cos_y, cos_m, sin_m)
    if fallback:
        out = torch.where(cos_y > -cos_m, out, cos_y - sin_m * m)
    return cos_y + (out - cos_y).detach() if straight_through else out


@register_loss("arcface")
class ArcFace(MarginLoss):
    """Target logit ``s * cos(theta_y + m)``, non-target ``s * cos(theta_j)``, in one of two forms:

    * ``interface-release`` (default): the InterFace release's ``ArcFace`` (``losses.py``, the
      original MXNet code's rule): margin with gradient, and (``fallback``) the target logit
      ``s * (cos(theta_y) - m sin m)`` once theta_y + m > pi;
    * ``arcface-torch``: insightface arcface_torch's ``ArcFace`` (``recognition/arcface_torch/
      losses.py``): no fallback, margin computed under ``torch.no_grad()``, so the gradient is that
      of ``s * cos(theta_y)`` (straight-through).
    """

    PARAMS = (
        SCALE,
        ARC_MARGIN,
        Param("form", "interface-release", "", FORMS, str, "whose computation of the margin"),
        Param("fallback", None, "", (True, False), bool, "the fallback past pi; None: the form's (on, off)"),
    )

    def __init__(self, num_classes: int, embedding_size: int, **params: Any) -> None:
        super().__init__(num_classes, embedding_size, **params)
        release = self.form == "interface-release"
        if self.fallback is None:
            self.fallback = release
        elif self.fallback and not release:
            raise InputError(
                f"loss {self.registry_name!r}: fallback=True; form='arcface-torch' has no fallback"
            )

    def target_logit(self, cos_y: Tensor, ctx: dict[str, Any]) -> Tensor:
        return arc_target(cos_y, self.m, self.fallback, straight_through=self.form == "arcface-torch")
