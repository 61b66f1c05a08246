"""MobileFaceNet (Chen et al., "MobileFaceNets", CCBR 2018) and arcface_torch's ``mbf`` variant.

Stem 3x3/2 conv and a 3x3 grouped conv (64 groups), five groups of inverted-residual bottlenecks
(strides 2,2,1,2,1 as in the paper's Table 1), a 1x1 conv to 512 channels, then the global
depthwise conv (GDC: a (S/16)x(S/16) depthwise kernel covering the whole map) and the linear
FC-BN embedding. ``mobilefacenet`` has the paper's widths (64/128 channels; arcface_torch's
``MobileFaceNet(scale=1)``); ``mbf`` is arcface_torch's released ``mbf`` (``scale=2``: 128/256
channels, the same hidden widths). Our own key layout; ``interface.external`` maps arcface_torch's.
"""

from __future__ import annotations

import torch
from torch import nn

from interface.backbones.registry import register_backbone

#: (out channels, hidden (expanded) channels, repeats, first stride) per bottleneck group: the
#: paper's Table 1 (expansions 2, 4, 2, 4, 2 of the input width).
BOTTLENECKS = ((64, 128, 5, 2), (128, 256, 1, 2), (128, 256, 6, 1), (128, 512, 1, 2), (128, 256, 2, 1))
#: the stem's second conv has this many groups at every width (depthwise at width 64).
STEM_GROUPS = 64


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

    def __init__(self, cin: int, cout: int, stride: int, hidden: int) -> None:
        super().__init__()
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
    """MobileFaceNet mapping (B, 3, S, S) to (B, D); S a multiple of 16 (the GDC kernel is S/16).

    ``scale`` (1 or 2) multiplies the stem and bottleneck output widths, not the hidden widths
    (arcface_torch's ``scale``).
    """

    def __init__(self, embedding_size: int = 512, input_size: int = 112, scale: int = 1) -> None:
        super().__init__()
        cin = BOTTLENECKS[0][0] * scale
        layers: list[nn.Module] = [_conv_bn(3, cin, 3, 2), _conv_bn(cin, cin, 3, 1, groups=STEM_GROUPS)]
        for width, hidden, repeats, stride in BOTTLENECKS:
            for index in range(repeats):
                layers.append(Bottleneck(cin, width * scale, stride if index == 0 else 1, hidden))
                cin = width * scale
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


@register_backbone("mbf")
def build_mbf(embedding_size: int, input_size: int) -> MobileFaceNet:
    """arcface_torch's ``mbf``: MobileFaceNet with doubled widths (about 2 M parameters)."""
    return MobileFaceNet(embedding_size=embedding_size, input_size=input_size, scale=2)
