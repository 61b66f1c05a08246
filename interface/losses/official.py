"""A literal single-process transliteration of the official InterFace computation (the oracle).

Follows github.com/iamsangmeng/InterFace (HEAD 42a6899): ``PartialFCV2.forward`` (cosines, centre
cosines) and ``InterFace.forward`` (in-place arccos, detached m-hat, in-place cos, target column
overwrite, scale), then ``DistCrossEntropyFunc`` (``partial_fc.py``), with one process (no
all-reduce) and no autocast. That cross-entropy returns ``-mean(log(clamp_min(p_y, 1e-30)))``, so
each sample's loss is at most -log(1e-30) = 69.08, and its backward is ``(softmax - onehot) / B``,
the gradient of the unclamped cross-entropy: :func:`official_loss` does both.
It is deliberately NOT registered: tests compare the registered ``interface`` loss against it and
the loss benchmark uses it as the baseline. Its backward pass is the release's, so it is infinite
at |cos| = 1.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from interface.losses.interface import DEFAULT_MID


def official_logits(
    embeddings: Tensor,
    weight: Tensor,
    labels: Tensor,
    *,
    variant: str = "dd",
    s: float = 64.0,
    m: float = 0.5,
    alpha: float = 0.1,
    mid: float | None = None,
) -> Tensor:
    """Scaled logits (B, C) as the release computes them (variant "cc", "dc" or "dd")."""
    mid = DEFAULT_MID[variant] if mid is None else mid
    centres_dynamic = variant[0] == "d"  # PartialFCV2(is_dyn = loss[-2] == "d")
    mid_dynamic = variant[1] == "d"  # InterFace(is_dyn = loss[-1] == "d")
    norm_weight = F.normalize(weight)
    # dc/dd: all_gather of the weights (no autograd); cc: never gathered, zero vectors.
    sample_centres = (weight.detach() if centres_dynamic else torch.zeros_like(weight))[labels]
    logits = F.linear(F.normalize(embeddings), norm_weight).clamp(-1, 1)
    center_logits = F.linear(F.normalize(sample_centres), norm_weight).clamp(-1, 1)

    index = torch.arange(labels.shape[0])
    target_logits = logits.detach()[index, labels].reshape(-1, 1)  # get_target_logit: no autograd
    target_logit = logits[index, labels]
    logits = logits.acos()
    target_logit = target_logit.acos()
    cln_target_logits = target_logits.acos().clone().detach().reshape(-1, 1)
    cln_center_logits = center_logits.acos().clone().detach()
    target_logit = (target_logit + m).cos()
    cln_center_logits = cln_center_logits.clamp(0.01, math.pi)
    m_hat = -cln_target_logits / cln_center_logits
    if mid_dynamic:
        mid_t = mid / cln_center_logits
        m_hat = torch.exp(-mid_t) - torch.exp(m_hat)
    else:
        m_hat = math.exp(-mid) - torch.exp(m_hat)
    m_hat = m_hat * alpha
    logits = (logits - m_hat).cos()
    logits = logits.index_put((index, labels), target_logit)
    return logits * s


#: the release's floor of p_y in the loss value (``loss.clamp_min_(1e-30)``).
P_FLOOR = 1e-30


class _ReleaseCrossEntropy(torch.autograd.Function):
    """``DistCrossEntropyFunc`` on one process: the clamped value, the unclamped gradient."""

    @staticmethod
    def forward(ctx: Any, logits: Tensor, labels: Tensor) -> Tensor:
        # as the release: subtract the row max, exponentiate, divide by the row sum, pick p_y
        probs = (logits - logits.max(dim=1, keepdim=True).values).exp()
        probs = probs / probs.sum(dim=1, keepdim=True)
        ctx.save_for_backward(probs, labels)
        p_y = probs.gather(1, labels.view(-1, 1))
        return p_y.clamp_min(P_FLOOR).log().mean().neg()

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None]:
        probs, labels = ctx.saved_tensors
        onehot = torch.zeros_like(probs).scatter_(1, labels.view(-1, 1), 1.0)
        return (probs - onehot) / probs.shape[0] * grad, None


def official_loss(embeddings: Tensor, weight: Tensor, labels: Tensor, **params: float | str | None) -> Tensor:
    """The release's DistCrossEntropy (one process) of :func:`official_logits`: per sample
    ``-log(max(p_y, 1e-30))`` averaged (at most 69.08 each), with the unclamped gradient."""
    return _ReleaseCrossEntropy.apply(official_logits(embeddings, weight, labels, **params), labels)
