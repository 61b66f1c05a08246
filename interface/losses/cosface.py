"""CosFace / AM-Softmax (Wang et al. 2018, arXiv 1801.09414): additive cosine margin."""

from __future__ import annotations

from typing import Any

from torch import Tensor

from interface.losses.base import MarginLoss
from interface.losses.params import SCALE, Param
from interface.losses.registry import register_loss


@register_loss("cosface")
class CosFace(MarginLoss):
    """Target logit ``s * (cos(theta_y) - m)``, non-target ``s * cos(theta_j)``, with gradient.

    The InterFace release's ``CosFace`` and insightface arcface_torch's (``losses.py``, and its
    ``CombinedMarginLoss`` with m3 > 0) compute exactly this, value and gradient, so unlike ArcFace
    there is no ``form`` to choose. The paper uses m = 0.35, arcface_torch 0.4.
    """

    PARAMS = (
        SCALE,
        Param("m", 0.35, "cosine units", "[0, 1)", float, "additive margin on the target cosine"),
    )

    def target_logit(self, cos_y: Tensor, ctx: dict[str, Any]) -> Tensor:
        return cos_y - self.m
