"""Combined margin of the ArcFace paper (Deng et al. 2019, arXiv 1801.07698, Sec. 3)."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from interface.errors import InputError
from interface.losses.arcface import arc_target
from interface.losses.base import MarginLoss, safe_acos
from interface.losses.params import SCALE, Param
from interface.losses.registry import register_loss

#: whose computation: the original MXNet code's, or insightface arcface_torch's.
FORMS = ("insightface-mxnet", "arcface-torch")


@register_loss("combined")
class Combined(MarginLoss):
    """Target logit ``s * (cos(m1 * theta_y + m2) - m3)``, non-target ``s * cos(theta_j)``:

    * ``insightface-mxnet`` (default): the original MXNet code's combined margin (insightface
      ``src/train_softmax.py``, ``loss_type 5``): every margin with gradient, no fallback.
      ``m1 * theta_y`` needs the angle itself: :func:`safe_acos` keeps its gradient finite at |cos| = 1;
    * ``arcface-torch``: insightface arcface_torch's ``CombinedMarginLoss`` (``recognition/
      arcface_torch/losses.py``), which computes two cases only: m1 = 1, m3 = 0 is ArcFace with
      margin m2 under ``torch.no_grad()`` (no fallback, straight-through gradient); m3 > 0 is
      CosFace with margin m3 (with gradient), where it ignores m1 and m2: here m1 must then be 1
      and m2 0, so that the parameters mean what arcface_torch computes; any other combination,
      this loss's defaults (m2 0.3 with m3 0.2) included, is refused in one line.
    """

    PARAMS = (
        SCALE,
        Param("m1", 1.0, "dimensionless", "[1, 4]", float, "multiplicative angular margin"),
        Param("m2", 0.3, "radians", "[0, pi/2)", float, "additive angular margin"),
        Param("m3", 0.2, "cosine units", "[0, 1)", float, "additive cosine margin"),
        Param("form", "insightface-mxnet", "", FORMS, str, "whose computation of the margins"),
    )

    def __init__(self, num_classes: int, embedding_size: int, **params: Any) -> None:
        super().__init__(num_classes, embedding_size, **params)
        if self.form == "arcface-torch" and not (self.m1 == 1.0 and 0.0 in (self.m2, self.m3)):
            raise InputError(
                f"loss {self.registry_name!r}: m1={self.m1}, m2={self.m2}, m3={self.m3}; form='arcface-torch' "
                "computes m1=1 with m3=0 (ArcFace, margin m2) or m2=0 (CosFace, margin m3)"
            )

    def target_logit(self, cos_y: Tensor, ctx: dict[str, Any]) -> Tensor:
        if self.form == "arcface-torch":
            if self.m3 > 0.0:
                return cos_y - self.m3
            return arc_target(cos_y, self.m2, fallback=False, straight_through=True)
        return torch.cos(self.m1 * safe_acos(cos_y) + self.m2) - self.m3
