"""Backbones: arcface_torch IResNet key layout, output shapes, frozen BN1d, registry errors."""

from __future__ import annotations

import pytest
import torch

from interface.backbones import build_backbone, list_backbones
from interface.errors import InputError


def arcface_torch_iresnet_keys(
    blocks: tuple[int, int, int, int], side: int = 7
) -> dict[str, tuple[int, ...]]:
    """Expected state_dict shapes of arcface_torch's IResNet, written from the architecture.

    Stem: 3x3 conv 3->64 (no bias), BN(64), PReLU(64). Stage i (widths 64,128,256,512) has
    blocks[i] IBasicBlocks; the first has stride 2 and a 1x1 conv + BN downsample. Block: BN(in),
    3x3 conv in->out, BN(out), PReLU(out), 3x3 conv out->out, BN(out). Head: BN2d(512), Dropout,
    Linear(512*side*side -> 512), BatchNorm1d(512) named ``features``.
    """
    keys: dict[str, tuple[int, ...]] = {}

    def bn(prefix: str, c: int, one_d_running: bool = True) -> None:
        for name in ("weight", "bias", "running_mean", "running_var"):
            keys[f"{prefix}.{name}"] = (c,)
        keys[f"{prefix}.num_batches_tracked"] = ()

    keys["conv1.weight"] = (64, 3, 3, 3)
    bn("bn1", 64)
    keys["prelu.weight"] = (64,)
    cin = 64
    for stage, (width, count) in enumerate(zip((64, 128, 256, 512), blocks), start=1):
        for b in range(count):
            p = f"layer{stage}.{b}"
            c_in = cin if b == 0 else width
            bn(f"{p}.bn1", c_in)
            keys[f"{p}.conv1.weight"] = (width, c_in, 3, 3)
            bn(f"{p}.bn2", width)
            keys[f"{p}.prelu.weight"] = (width,)
            keys[f"{p}.conv2.weight"] = (width, width, 3, 3)
            bn(f"{p}.bn3", width)
            if b == 0:
                keys[f"{p}.downsample.0.weight"] = (width, c_in, 1, 1)
                bn(f"{p}.downsample.1", width)
        cin = width
    bn("bn2", 512)
    keys["fc.weight"] = (512, 512 * side * side)
    keys["fc.bias"] = (512,)
    bn("features", 512)
    return keys


def test_iresnet50_loads_an_arcface_torch_state_dict():
    expected = arcface_torch_iresnet_keys((3, 4, 14, 3))
    model = build_backbone("iresnet50")
    generator = torch.Generator().manual_seed(0)
    state = {
        k: torch.randn(shape, generator=generator) if shape else torch.tensor(7)
        for k, shape in expected.items()
    }
    model.load_state_dict(state, strict=True)
    assert {k: tuple(v.shape) for k, v in model.state_dict().items()} == expected
    assert torch.equal(model.state_dict()["layer3.13.conv2.weight"], state["layer3.13.conv2.weight"])


@pytest.mark.parametrize("depth,blocks", [(18, (2, 2, 2, 2)), (34, (3, 4, 6, 3)), (100, (3, 13, 30, 3))])
def test_other_iresnet_depths_have_the_arcface_torch_layout(depth, blocks):
    model = build_backbone(f"iresnet{depth}", input_size=64)
    expected = arcface_torch_iresnet_keys(blocks, side=4)
    assert {k: tuple(v.shape) for k, v in model.state_dict().items()} == expected


@pytest.mark.parametrize("name,size", [("tiny", 32), ("tiny", 48), ("mobilefacenet", 64), ("iresnet18", 32)])
def test_backbones_map_faces_to_embeddings(name, size):
    model = build_backbone(name, embedding_size=24, input_size=size).eval()
    out = model(torch.rand(3, 3, size, size) * 2 - 1)
    assert out.shape == (3, 24) and torch.isfinite(out).all()


@pytest.mark.parametrize("name", ["iresnet18", "tiny"])
def test_embedding_batchnorm_weight_is_frozen_at_one(name):
    model = build_backbone(name, embedding_size=16, input_size=32)
    assert not model.features.weight.requires_grad
    assert torch.equal(model.features.weight, torch.ones(16))


def test_registry_lists_every_contract_name_and_rejects_unknown():
    assert {
        "iresnet18",
        "iresnet34",
        "iresnet50",
        "iresnet100",
        "iresnet200",
        "mobilefacenet",
        "tiny",
    } <= set(list_backbones())
    with pytest.raises(InputError, match="resnet51"):
        build_backbone("resnet51")
    with pytest.raises(InputError, match="input_size"):
        build_backbone("iresnet18", input_size=100)
