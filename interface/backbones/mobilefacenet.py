"""MobileFaceNet (Chen et al., "MobileFaceNets", CCBR 2018), the ``mbf`` backbone of arcface_torch.

Stem 3x3/2 conv (64) and a 3x3 depthwise conv, five groups of inverted-residual bottlenecks
(expansion 2; strides 2,1,2,1 as in the paper's Table 1), a 1x1 conv to 512 channels, then the
global depthwise conv (GDC: a (S/16)x(S/16) depthwise kernel covering the whole map) and the
linear FC-BN embedding. Our own layout: its state_dict is not meant to load arcface_torch's ``mbf``.
"""

from __future__ import annotations

import torch
from torch import nn

from interface.backbones.registry import register_backbone

#: (expansion, out channels, repeats, first stride) per bottleneck group (paper, Table 1).
BOTTLENECKS = ((2, 64, 5, 2), (4, 128, 1, 2), (2, 128, 6, 1), (4, 128, 1, 2), (2, 128, 2, 1))


def _conv_bn(
    cin: int,
    cout: int,
    kernel: int,
    stride: int,
    groups: int = 1,
    act: bool = True,
    padding: int | None = None,
) -> nn.Sequential:
    layers: list[nn.Module] = [
        nn.Conv2d(
            cin,
            cout,
            kernel,
            stride,
            padding=kernel // 2 if padding is None else padding,
            groups=groups,
            bias=False,
        ),
        nn.BatchNorm2d(cout),
    ]
    if act:
        layers.append(nn.PReLU(cout))
    return nn.Sequential(*layers)


class Bottleneck(nn.Module):
    """Inverted residual: 1x1 expand, 3x3 depthwise (stride), 1x1 linear project; skip when shapes match."""

    def __init__(self, cin: int, cout: int, stride: int, expansion: int) -> None:
        super().__init__()
        hidden = cin * expansion
        self.residual = stride == 1 and cin == cout
        self.body = nn.Sequential(
            _conv_bn(cin, hidden, 1, 1),
            _conv_bn(hidden, hidden, 3, stride, groups=hidden),
            _conv_bn(hidden, cout, 1, 1, act=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.body(x)
        return x + out if self.residual else out


class MobileFaceNet(nn.Module):
    """MobileFaceNet mapping (B, 3, S, S) to (B, D); S a multiple of 16 (the GDC kernel is S/16)."""

    def __init__(self, embedding_size: int = 512, input_size: int = 112) -> None:
        super().__init__()
        layers: list[nn.Module] = [_conv_bn(3, 64, 3, 2), _conv_bn(64, 64, 3, 1, groups=64)]
        cin = 64
        for expansion, cout, repeats, stride in BOTTLENECKS:
            for index in range(repeats):
                layers.append(Bottleneck(cin, cout, stride if index == 0 else 1, expansion))
                cin = cout
        layers.append(_conv_bn(cin, 512, 1, 1))
        self.body = nn.Sequential(*layers)
        side = input_size // 16
        self.gdc = _conv_bn(512, 512, side, 1, groups=512, act=False, padding=0)
        self.fc = nn.Linear(512, embedding_size, bias=False)
        self.features = nn.BatchNorm1d(embedding_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.flatten(self.gdc(self.body(x)), 1)
        return self.features(self.fc(x))


@register_backbone("mobilefacenet")
def build(embedding_size: int, input_size: int) -> MobileFaceNet:
    """MobileFaceNet (about 1 M parameters, 0.23 GMACs at 112 x 112)."""
    return MobileFaceNet(embedding_size=embedding_size, input_size=input_size)
