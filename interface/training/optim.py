"""SGD with momentum and weight decay, the update of ``torch.optim.SGD`` (dampening 0, no Nesterov).

Why not torch.optim.SGD: constructing any ``torch.optim.Optimizer`` imports ``torch._dynamo``,
about 2 s per process on a laptop core, a tenth of an embedded 20-second run. The update is
identical (tests compare it with torch.optim.SGD step by step):

    g <- grad + weight_decay * p
    b <- g                       (first step)
    b <- momentum * b + g        (later steps)
    p <- p - lr * b

Parameter groups carry ``lr`` (changed by the trainer every step) and ``initial_lr``.
``param_groups`` and ``step()`` follow the torch.optim protocol, so ``torch.amp.GradScaler``
drives it unchanged.
"""

from __future__ import annotations

from typing import Any

import torch


class SGD:
    """Momentum SGD over parameter groups ``[{"params": [...], "initial_lr": float}, ...]``.

    Args:
        groups: parameter groups; each gets ``lr`` = its ``initial_lr``.
        momentum: in [0, 1).
        weight_decay: L2 coefficient added to the gradient (>= 0).
    """

    def __init__(self, groups: list[dict[str, Any]], momentum: float, weight_decay: float) -> None:
        self.param_groups = [dict(g, lr=g["initial_lr"], params=list(g["params"])) for g in groups]
        self.momentum, self.weight_decay = momentum, weight_decay
        self.state: dict[str, Any] = {}  # GradScaler only reads param_groups; kept for the protocol
        self.buffers: list[list[torch.Tensor | None]] = [[None] * len(g["params"]) for g in self.param_groups]

    def zero_grad(self, set_to_none: bool = True) -> None:
        for group in self.param_groups:
            for p in group["params"]:
                p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        for group, buffers in zip(self.param_groups, self.buffers, strict=True):
            live = [i for i, p in enumerate(group["params"]) if p.grad is not None]
            if not live:
                continue
            params = [group["params"][i] for i in live]
            grads = [p.grad for p in params]
            if self.weight_decay:
                grads = torch._foreach_add(grads, params, alpha=self.weight_decay)
            if self.momentum:
                fresh = [i for i in live if buffers[i] is None]
                for i, g in zip(live, grads, strict=True):
                    if buffers[i] is None:
                        buffers[i] = torch.clone(g).detach()
                old = [buffers[i] for i in live if i not in fresh]
                old_grads = [g for i, g in zip(live, grads, strict=True) if i not in fresh]
                if old:
                    torch._foreach_mul_(old, self.momentum)
                    torch._foreach_add_(old, old_grads)
                grads = [buffers[i] for i in live]
            torch._foreach_add_(params, grads, alpha=-group["lr"])

    def state_dict(self) -> dict[str, Any]:
        return {
            "lrs": [g["lr"] for g in self.param_groups],
            "buffers": [[None if b is None else b.detach().cpu() for b in bufs] for bufs in self.buffers],
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for group, lr, bufs, saved in zip(
            self.param_groups, state["lrs"], self.buffers, state["buffers"], strict=True
        ):
            group["lr"] = lr
            for i, (p, b) in enumerate(zip(group["params"], saved, strict=True)):
                bufs[i] = None if b is None else b.to(device=p.device, dtype=p.dtype)
