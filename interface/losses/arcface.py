"""ArcFace (Deng et al. 2019, arXiv 1801.07698): additive angular margin on the target."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

from interface.losses.base import MarginLoss, cos_add
from interface.losses.registry import register_loss


def arc_target(cos_y: Tensor, m: Tensor | float, fallback: bool) -> Tensor:
    """cos(theta_y + m) in closed form; with ``fallback``, ``cos(theta_y) - m sin(m)`` where
    theta_y + m > pi (cos(theta_y) <= cos(pi - m)), the insightface rule keeping the logit monotonic.

    ``m`` (rad) is a number or a (B, 1) tensor of per-sample margins.
    """
    cos_m = torch.cos(torch.as_tensor(m, dtype=cos_y.dtype))
    sin_m = torch.sin(torch.as_tensor(m, dtype=cos_y.dtype))
    shifted = cos_add(cos_y, cos_m, sin_m)
    if not fallback:
        return shifted
    return torch.where(cos_y > -cos_m, shifted, cos_y - sin_m * m)


@register_loss("arcface")
class ArcFace(MarginLoss):
    """Target logit ``s * cos(theta_y + m)`` (fallback ``s * (cos(theta_y) - m sin m)`` once
    theta_y + m > pi, as insightface), non-target ``s * cos(theta_j)``.

    Parameters: ``s`` dimensionless scale, > 0 (64); ``m`` margin in radians, [0, pi/2) (0.5;
    28.6 degrees); ``fallback`` bool (True, the release's behaviour).
    The margin is computed with gradient (insightface's arcface_torch computes it under no_grad,
    a straight-through gradient; InterFace offers that form as an option).
    """

    default_params = {"s": 64.0, "m": 0.5, "fallback": True}
    param_units = {"s": "dimensionless scale, > 0", "m": "radians, [0, pi/2)", "fallback": "bool"}

    def __init__(
        self, num_classes: int, embedding_size: int, *, s: float = 64.0, m: float = 0.5, fallback: bool = True
    ) -> None:
        super().__init__(num_classes, embedding_size)
        self.s = self.check_param("s", s, 0.0, low_open=True)
        self.m = self.check_param("m", m, 0.0, math.pi / 2, high_open=True)
        self.fallback = self.check_choice("fallback", fallback, (True, False))

    def target_logit(self, cos_y: Tensor, ctx: dict[str, Any]) -> Tensor:
        return arc_target(cos_y, self.m, self.fallback)
