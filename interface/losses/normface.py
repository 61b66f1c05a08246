"""NormFace (Wang et al. 2017, arXiv 1704.06369): softmax on scaled cosines, no margin."""

from __future__ import annotations

from interface.losses.base import MarginLoss
from interface.losses.params import SCALE
from interface.losses.registry import register_loss


@register_loss("normface")
class NormFace(MarginLoss):
    """Logits ``s * cos(theta_j)`` for every class (features and weights L2-normalised)."""

    PARAMS = (SCALE,)
