"""``tiny``: a small CPU network for the embedded reproduction (our design, not from a paper).

Three 3x3 stride-2 conv-BN-PReLU stages (16, 32, 64 channels) take a 32 x 32 face to a 4 x 4 map,
then the same BN-FC-BN1d embedding head as IResNet (frozen BN1d weight). About 0.6 M MACs in the
body at 32 x 32, so one CPU core trains it at thousands of images per second.
"""

from __future__ import annotations

import torch
from torch import nn

from interface.backbones.registry import register_backbone

WIDTHS = (16, 32, 64)


class TinyNet(nn.Module):
    """Three stride-2 conv stages and a BN-FC-BN head; input side S a multiple of 8 (pixels)."""

    def __init__(self, embedding_size: int = 512, input_size: int = 32) -> None:
        super().__init__()
        stages: list[nn.Module] = []
        cin = 3
        for width in WIDTHS:
            stages += [
                nn.Conv2d(cin, width, 3, 2, padding=1, bias=False),
                nn.BatchNorm2d(width),
                nn.PReLU(width),
            ]
            cin = width
        self.body = nn.Sequential(*stages)
        self.bn2 = nn.BatchNorm2d(cin)
        side = input_size // 2 ** len(WIDTHS)
        self.fc = nn.Linear(cin * side * side, embedding_size)
        self.features = nn.BatchNorm1d(embedding_size)
        nn.init.constant_(self.features.weight, 1.0)
        self.features.weight.requires_grad = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(self.fc(torch.flatten(self.bn2(self.body(x)), 1)))


@register_backbone("tiny")
def build(embedding_size: int, input_size: int) -> TinyNet:
    """The embedded default (train at 32 x 32)."""
    return TinyNet(embedding_size=embedding_size, input_size=input_size)
