"""IResNet-18/34/50/100/200 (Deng et al., ArcFace, CVPR 2019; Duta et al. 2020 improved ResNet).

The module names and parameter shapes follow InsightFace's ``arcface_torch`` IResNet exactly, so
published ``backbone.pth`` state dicts load with ``load_state_dict(strict=True)``:
``conv1, bn1, prelu, layer1..layer4`` (blocks with ``bn1, conv1, bn2, prelu, conv2, bn3`` and, on
the first block of each stage, ``downsample.0`` (1x1 conv) / ``downsample.1`` (BN)), then the
BN-FC-BN head ``bn2, dropout, fc, features``. ``features`` is a BatchNorm1d whose weight is frozen
at 1.0 (not trained), as in the InterFace release (``train.py``, paper-and-code digest §3.4).
"""

from __future__ import annotations

import torch
from torch import nn

from interface.backbones.registry import register_backbone

#: blocks per stage for each depth (arcface_torch's ``iresnet{18,34,50,100,200}``).
DEPTHS: dict[int, tuple[int, int, int, int]] = {
    18: (2, 2, 2, 2),
    34: (3, 4, 6, 3),
    50: (3, 4, 14, 3),
    100: (3, 13, 30, 3),
    200: (6, 26, 60, 6),
}
STAGE_WIDTHS = (64, 128, 256, 512)
BN_EPS = 1e-5


def _conv3x3(cin: int, cout: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, kernel_size=3, stride=stride, padding=1, bias=False)


class IBasicBlock(nn.Module):
    """Pre-activation-style residual block: BN, 3x3 conv, BN, PReLU, 3x3 conv (stride), BN, + skip."""

    def __init__(self, cin: int, cout: int, stride: int, subsample_shortcut: bool = False) -> None:
        super().__init__()
        self.bn1 = nn.BatchNorm2d(cin, eps=BN_EPS)
        self.conv1 = _conv3x3(cin, cout)
        self.bn2 = nn.BatchNorm2d(cout, eps=BN_EPS)
        self.prelu = nn.PReLU(cout)
        self.conv2 = _conv3x3(cout, cout, stride)
        self.bn3 = nn.BatchNorm2d(cout, eps=BN_EPS)
        self.downsample: nn.Module | None = None
        if subsample_shortcut and cin == cout and stride != 1:
            # AdaFace's IR: an equal-width strided block skips through MaxPool2d(1, stride), i.e.
            # keeps every stride-th pixel, instead of a 1x1 conv + BN (no parameters)
            self.downsample = nn.MaxPool2d(1, stride)
        elif stride != 1 or cin != cout:
            self.downsample = nn.Sequential(
                nn.Conv2d(cin, cout, kernel_size=1, stride=stride, bias=False),
                nn.BatchNorm2d(cout, eps=BN_EPS),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.bn3(self.conv2(self.prelu(self.bn2(self.conv1(self.bn1(x))))))
        return out + (x if self.downsample is None else self.downsample(x))


class IResNet(nn.Module):
    """IResNet body plus the BN-Dropout-FC-BN1d embedding head.

    Args:
        blocks: blocks per stage (see :data:`DEPTHS`).
        embedding_size: embedding dimension D.
        input_size: input side S in pixels (multiple of 16); the FC sees 512 x (S/16)^2 inputs,
            i.e. 512 x 7 x 7 at the standard 112 x 112.
        dropout: dropout probability before the FC, in [0, 1) (0 in the InterFace recipe).
        adaface: AdaFace's IR variant (Kim et al., CVPR 2022, ``mk-minchul/AdaFace`` ``net.py``):
            the first stage's strided block skips by subsampling (no downsample conv) and the
            final BatchNorm1d has no affine weight and bias. Same key names as the IResNet.
    """

    def __init__(
        self,
        blocks: tuple[int, ...],
        embedding_size: int = 512,
        input_size: int = 112,
        dropout: float = 0.0,
        adaface: bool = False,
    ) -> None:
        super().__init__()
        self.conv1 = _conv3x3(3, STAGE_WIDTHS[0])
        self.bn1 = nn.BatchNorm2d(STAGE_WIDTHS[0], eps=BN_EPS)
        self.prelu = nn.PReLU(STAGE_WIDTHS[0])
        cin = STAGE_WIDTHS[0]
        for index, (width, count) in enumerate(zip(STAGE_WIDTHS, blocks, strict=True), start=1):
            stage = [IBasicBlock(cin, width, stride=2, subsample_shortcut=adaface)] + [
                IBasicBlock(width, width, 1) for _ in range(count - 1)
            ]
            setattr(self, f"layer{index}", nn.Sequential(*stage))
            cin = width
        self.bn2 = nn.BatchNorm2d(cin, eps=BN_EPS)
        self.dropout = nn.Dropout(p=dropout)
        side = input_size // 16
        self.fc = nn.Linear(cin * side * side, embedding_size)
        self.features = nn.BatchNorm1d(embedding_size, eps=BN_EPS, affine=not adaface)
        _init_weights(self)
        if not adaface:
            nn.init.constant_(self.features.weight, 1.0)
            self.features.weight.requires_grad = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.prelu(self.bn1(self.conv1(x)))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        x = self.dropout(torch.flatten(self.bn2(x), 1))
        return self.features(self.fc(x))


def _init_weights(model: nn.Module) -> None:
    """Conv weights N(0, 0.1) and BN (1, 0), the arcface_torch initialisation."""
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.normal_(module.weight, 0.0, 0.1)
        elif isinstance(module, (nn.BatchNorm2d, nn.BatchNorm1d)) and module.affine:
            nn.init.constant_(module.weight, 1.0)
            nn.init.constant_(module.bias, 0.0)


def _register(depth: int) -> None:
    @register_backbone(f"iresnet{depth}")
    def build(embedding_size: int, input_size: int) -> IResNet:
        return IResNet(DEPTHS[depth], embedding_size=embedding_size, input_size=input_size)

    build.__doc__ = f"IResNet-{depth}: stages {DEPTHS[depth]}."


for _depth in DEPTHS:
    _register(_depth)


def _register_adaface(depth: int, name: str) -> None:
    @register_backbone(name)
    def build(embedding_size: int, input_size: int) -> IResNet:
        return IResNet(DEPTHS[depth], embedding_size=embedding_size, input_size=input_size, adaface=True)

    build.__doc__ = f"AdaFace's IR-{name.removeprefix('adaface_ir')}: stages {DEPTHS[depth]}."


#: AdaFace's released IRs (its IR-101 has the stages of IResNet-100).
for _depth, _name in ((18, "adaface_ir18"), (50, "adaface_ir50"), (100, "adaface_ir101")):
    _register_adaface(_depth, _name)
