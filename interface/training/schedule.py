"""Learning-rate schedules as pure functions of the optimiser step (nothing to checkpoint but the step).

``step``: multiply by 0.1 at each milestone, given in epochs and converted to steps as
``milestone x steps_per_epoch`` (arcface_torch's ``MultiStepLR`` stepped every iteration, paper-and-code
digest §3.4). ``poly``: ``(1 - t/T)^power`` after warm-up (arcface_torch's ``PolyScheduler``).
Both start with an optional linear warm-up from lr/warmup_steps to lr.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Schedule:
    """Learning-rate multiplier per optimiser step.

    Args:
        kind: "step" or "poly".
        steps_per_epoch: optimiser steps per epoch (>= 1).
        total_steps: steps of the whole run (>= 1); the poly schedule reaches 0 there.
        milestones: epochs (may be fractional) at which the step schedule multiplies by ``gamma``.
        warmup_epochs: length of the linear warm-up in epochs (>= 0).
        power: exponent of the poly schedule.
        gamma: step-decay factor (0.1 in the recipe).
    """

    kind: str
    steps_per_epoch: int
    total_steps: int
    milestones: tuple[float, ...] = ()
    warmup_epochs: float = 0.0
    power: float = 2.0
    gamma: float = 0.1

    @property
    def warmup_steps(self) -> int:
        return round(self.warmup_epochs * self.steps_per_epoch)

    def factor(self, step: int) -> float:
        """Multiplier of the base learning rate for optimiser step ``step`` (0-based)."""
        warmup = self.warmup_steps
        if step < warmup:
            return (step + 1) / warmup
        if self.kind == "poly":
            span = max(1, self.total_steps - warmup)
            return max(0.0, 1.0 - (step - warmup) / span) ** self.power
        passed = sum(step >= round(m * self.steps_per_epoch) for m in self.milestones)
        return self.gamma**passed
