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

from interface.losses.arcface import ARC_MARGIN, arc_target
from interface.losses.base import Batch, MarginLoss, cos_sub
from interface.losses.params import SCALE, Param
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

    The loss value (what training logs as ``loss``) is the exact mean cross-entropy. The release's
    ``DistCrossEntropy`` clamps each p_y at 1e-30, so the value it logs is at most
    -log(1e-30) = 69.08 per sample, while its backward ignores the clamp: gradients agree, logged
    values differ on batches with samples past that cap (:mod:`interface.losses.official`).
    """

    PARAMS = (
        SCALE,
        ARC_MARGIN,
        Param("alpha", 0.1, "radians", "[0, 1]", float, "amplitude of the non-target shift"),
        Param(
            "variant", "dd", "", ("cc", "dc", "dd"), str, "class centres, then mu: (c)onstant or (d)ynamic"
        ),
        Param(
            "mid",
            None,
            "dimensionless",
            "[0, 2]",
            float,
            "mu of the shift; None: 0.2 (cc), 0.3 (dc), pi/18 (dd)",
        ),
        Param("fallback", False, "", (True, False), bool, "ArcFace's cos(theta_y) - m sin(m) past pi"),
        Param("straight_through", False, "", (True, False), bool, "margins without gradient (arcface_torch)"),
    )

    def __init__(self, num_classes: int, embedding_size: int, **params: Any) -> None:
        super().__init__(num_classes, embedding_size, **params)
        if self.mid is None:
            self.mid = DEFAULT_MID[self.variant]

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
        return arc_target(cos_y, self.m, self.fallback, self.straight_through)

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
