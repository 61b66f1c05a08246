"""InterFace (Sang et al. 2022, arXiv 2210.02018): ArcFace target plus an adaptive angular shift
on every non-target logit, computed exactly as the official release (github.com/iamsangmeng/
InterFace, HEAD 42a6899, ``losses.py`` and ``partial_fc.py``) computes it, without its B x C
arccos/cos passes.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from interface.losses.arcface import arc_target
from interface.losses.base import Batch, MarginLoss, cos_sub
from interface.losses.registry import register_loss

#: ``mid`` of each variant in the release's config (rad for cc/dc; dd divides it by phi).
DEFAULT_MID = {"cc": 0.2, "dc": 0.3, "dd": math.pi / 18}
#: the release clamps centre angles to [PHI_MIN, pi] before dividing by them.
PHI_MIN = 0.01


@register_loss("interface")
class InterFace(MarginLoss):
    """InterFace logits, variant by variant as in the official release.

    Target ``s * cos(theta_y + m)`` (no fallback, as the release); non-target
    ``s * cos(theta_j - mhat_ij)`` with the detached shift
    ``mhat_ij = alpha * (exp(-mu_ij) - exp(-theta_y / phibar_ij))``, ``phibar = clamp(phi_ij, 0.01, pi)``,
    ``phi_ij`` the angle between the own class centre ``W_y`` and ``W_j`` (detached), and
    ``mu = mid`` (cc, dc) or ``mid / phibar`` (dd).

    * ``cc``: the release's centres are zero vectors, so ``phi = pi/2`` for every pair and mhat is
      one value per sample (no centre-cosine matrix is formed here);
    * ``dc``, ``dd``: ``cos(phi) = normalize(W)[y] @ normalize(W).T`` (one extra matrix product).

    ``cos(theta - mhat) = cos(theta) cos(mhat) + sin(theta) sin(mhat)`` and
    ``cos(theta + m) = cos(theta) cos(m) - sin(theta) sin(m)`` with ``sin(theta)`` from the cosine:
    equal values to the release's arccos/cos, no B x C arccos, and finite gradients at |cos| = 1
    (the release's arccos has an infinite derivative there).

    Parameters: ``s`` dimensionless scale, > 0 (64); ``m`` target margin, radians, [0, pi/2) (0.5);
    ``alpha`` shift amplitude, radians, [0, 1] (0.1); ``variant`` "cc" | "dc" | "dd" ("dd", the
    release's default config); ``mid`` dimensionless, [0, 2] (None: 0.2 / 0.3 / pi/18 for
    cc / dc / dd); ``fallback`` bool (False): ArcFace's ``cos(theta_y) - m sin(m)`` once
    theta_y + m > pi; ``straight_through`` bool (False): margins change the logit values but the
    gradient is that of the plain cosines (insightface arcface_torch's no_grad margin).
    """

    default_params = {
        "s": 64.0,
        "m": 0.5,
        "alpha": 0.1,
        "variant": "dd",
        "mid": None,
        "fallback": False,
        "straight_through": False,
    }
    param_units = {
        "s": "dimensionless scale, > 0",
        "m": "radians, [0, pi/2)",
        "alpha": "radians, [0, 1]",
        "variant": "'cc', 'dc' or 'dd'",
        "mid": "dimensionless, [0, 2]; None: 0.2 (cc), 0.3 (dc), pi/18 (dd)",
        "fallback": "bool",
        "straight_through": "bool",
    }

    def __init__(
        self,
        num_classes: int,
        embedding_size: int,
        *,
        s: float = 64.0,
        m: float = 0.5,
        alpha: float = 0.1,
        variant: str = "dd",
        mid: float | None = None,
        fallback: bool = False,
        straight_through: bool = False,
    ) -> None:
        super().__init__(num_classes, embedding_size)
        self.s = self.check_param("s", s, 0.0, low_open=True)
        self.m = self.check_param("m", m, 0.0, math.pi / 2, high_open=True)
        self.alpha = self.check_param("alpha", alpha, 0.0, 1.0)
        self.variant = self.check_choice("variant", variant, ("cc", "dc", "dd"))
        self.mid = self.check_param("mid", DEFAULT_MID[variant] if mid is None else mid, 0.0, 2.0)
        self.fallback = self.check_choice("fallback", fallback, (False, True))
        self.straight_through = self.check_choice("straight_through", straight_through, (False, True))

    def mhat(self, theta_y: Tensor, phi: Tensor | None, owned: bool = False) -> Tensor:
        """The non-target shift m-hat (rad), detached, for target angles ``theta_y`` (B, 1) and
        centre angles ``phi`` (rad; broadcasting to (B, C)). ``phi`` None, and always for cc: pi/2.

        ``alpha * (exp(-mu) - exp(-theta_y / phibar))``, ``phibar = clamp(phi, 0.01, pi)``,
        ``mu = mid`` (cc, dc) or ``mid / phibar`` (dd); in-place passes on one fresh buffer
        (``owned``: ``phi`` is a scratch tensor that may be overwritten).
        """
        theta_y = theta_y.detach()
        if self.variant == "cc" or phi is None:
            return (theta_y / (math.pi / 2)).neg_().exp_().neg_().add_(math.exp(-self.mid)).mul_(self.alpha)
        # clamp to [0.01, pi] as the release; centre angles from batch_context are ours to modify.
        if owned:
            phi_bar = phi.clamp_(PHI_MIN, math.pi)
        else:  # a fresh buffer of the broadcast shape, for the in-place passes below
            phi_bar = (phi.detach() + torch.zeros_like(theta_y)).clamp_(PHI_MIN, math.pi)
        if self.variant == "dd":
            decay = torch.div(theta_y, phi_bar).neg_().exp_()  # exp(-theta_y / phibar)
            base = torch.div(self.mid, phi_bar, out=phi_bar).neg_().exp_()  # exp(-mid / phibar)
            return base.sub_(decay).mul_(self.alpha)
        decay = torch.div(theta_y, phi_bar, out=phi_bar).neg_().exp_()
        return decay.neg_().add_(math.exp(-self.mid)).mul_(self.alpha)

    def centre_angles(self, batch: Batch) -> Tensor | None:
        """phi (B, C) in rad between each sample's class centre and every centre (dc, dd); None for cc."""
        if self.variant == "cc":
            return None
        with torch.no_grad():
            cos_phi = F.linear(batch.label_centres(), batch.unit_weight.detach())
            if cos_phi.dtype in (torch.float16, torch.bfloat16):
                cos_phi = cos_phi.float()
            return cos_phi.clamp_(-1.0, 1.0).acos_()

    def shift_context(
        self, theta_y: Tensor, phi: Tensor | None, owned: bool = False, labels: Tensor | None = None
    ) -> dict[str, Any]:
        """cos and sin of m-hat (sin computed in m-hat's buffer), plus m-hat's statistics when
        ``labels`` are given and ``collect_stats`` is set."""
        with torch.no_grad():
            mhat = self.mhat(theta_y, phi, owned)
            stats = self.mhat_stats(mhat, labels) if labels is not None and self.collect_stats else {}
            ctx: dict[str, Any] = {"mhat_stats": stats}
            return {**ctx, "cos_mhat": mhat.cos(), "sin_mhat": mhat.sin_()}

    def batch_context(self, cos_y: Tensor, batch: Batch) -> dict[str, Any]:
        theta_y = cos_y.detach().clamp(-1.0, 1.0).acos()
        return self.shift_context(theta_y, self.centre_angles(batch), owned=True, labels=batch.labels)

    def curve_context(self, cos_y: Tensor, feature_norm: float | None, phi: Tensor | None) -> dict[str, Any]:
        return self.shift_context(cos_y.clamp(-1.0, 1.0).acos(), phi)

    def target_logit(self, cos_y: Tensor, ctx: dict[str, Any]) -> Tensor:
        out = arc_target(cos_y, self.m, self.fallback)
        return cos_y + (out - cos_y).detach() if self.straight_through else out

    def nontarget_logit(self, cos: Tensor, cos_y: Tensor, ctx: dict[str, Any]) -> Tensor:
        shifted = cos_sub(cos, ctx["cos_mhat"], ctx["sin_mhat"])
        if self.straight_through:
            return cos + (shifted - cos).detach()
        return shifted

    def mhat_stats(self, mhat: Tensor, labels: Tensor) -> dict[str, float]:
        """Mean, min and max of m-hat (rad) over the non-target entries of the batch."""
        if mhat.shape[1] > 1:  # dc/dd: leave out the target column (overwritten by the target logit)
            index = labels.view(-1, 1)
            low, high = mhat.scatter(1, index, math.inf), mhat.scatter(1, index, -math.inf)
            count = mhat.numel() - mhat.shape[0]
            return {
                "mhat_mean": float((mhat.sum() - mhat.gather(1, index).sum()) / max(count, 1)),
                "mhat_min": float(low.min()),
                "mhat_max": float(high.max()),
            }
        return {"mhat_mean": float(mhat.mean()), "mhat_min": float(mhat.min()), "mhat_max": float(mhat.max())}

    def extra_stats(self, ctx: dict[str, Any]) -> dict[str, float]:
        return ctx["mhat_stats"]
