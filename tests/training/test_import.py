"""``python -m interface import``: released checkpoints become run folders that score like runs.

The foreign models here are written from arcface_torch's module names and parameter shapes
(``recognition/arcface_torch/backbones/{mobilefacenet,iresnet}.py``: which module holds which
layer, with which channels, kernel, stride and groups), not from its code, with random weights
and random BatchNorm statistics, so equal outputs cannot come from an all-default model.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch
from torch import nn

from interface.backbones import build_backbone
from interface.external.cli import main
from interface.external.importer import _skeleton, map_keys

# ---- arcface_torch's MobileFaceNet tree: layers[ConvBlock, ConvBlock, DepthWise, Residual, ...],
# conv_sep, features = GDC(layers[LinearBlock, Flatten, Linear, BatchNorm1d]) ----


class ConvBlock(nn.Module):  # layers: Conv2d (no bias), BatchNorm2d, PReLU
    def __init__(self, cin, cout, kernel=1, stride=1, padding=0, groups=1):
        super().__init__()
        self.layers = nn.Sequential(
            nn.Conv2d(cin, cout, kernel, stride, padding, groups=groups, bias=False),
            nn.BatchNorm2d(cout),
            nn.PReLU(cout),
        )

    def forward(self, x):
        return self.layers(x)


class LinearBlock(nn.Module):  # layers: Conv2d (no bias), BatchNorm2d
    def __init__(self, cin, cout, kernel=1, stride=1, padding=0, groups=1):
        super().__init__()
        self.layers = nn.Sequential(
            nn.Conv2d(cin, cout, kernel, stride, padding, groups=groups, bias=False), nn.BatchNorm2d(cout)
        )

    def forward(self, x):
        return self.layers(x)


class DepthWise(nn.Module):  # 1x1 ConvBlock to `groups`, 3x3 grouped ConvBlock (stride), 1x1 LinearBlock
    def __init__(self, cin, cout, residual, stride, groups):
        super().__init__()
        self.residual = residual
        self.layers = nn.Sequential(
            ConvBlock(cin, groups),
            ConvBlock(groups, groups, 3, stride, 1, groups=groups),
            LinearBlock(groups, cout),
        )

    def forward(self, x):
        return x + self.layers(x) if self.residual else self.layers(x)


class Residual(nn.Module):
    def __init__(self, c, num_block, groups):
        super().__init__()
        self.layers = nn.Sequential(*[DepthWise(c, c, True, 1, groups) for _ in range(num_block)])

    def forward(self, x):
        return self.layers(x)


class GDC(nn.Module):
    def __init__(self, embedding_size, side):
        super().__init__()
        self.layers = nn.Sequential(
            LinearBlock(512, 512, side, groups=512),
            nn.Flatten(),
            nn.Linear(512, embedding_size, bias=False),
            nn.BatchNorm1d(embedding_size),
        )

    def forward(self, x):
        return self.layers(x)


class ArcfaceMobileFaceNet(nn.Module):
    """arcface_torch's ``MobileFaceNet(num_features, blocks=(1, 4, 6, 2), scale)`` at input side ``side * 16``."""

    def __init__(self, embedding_size=512, scale=2, side=7, blocks=(1, 4, 6, 2)):
        super().__init__()
        w = 64 * scale
        self.layers = nn.ModuleList(
            [
                ConvBlock(3, w, 3, 2, 1),
                ConvBlock(w, w, 3, 1, 1, groups=64),
                DepthWise(w, w, False, 2, 128),
                Residual(w, blocks[1], 128),
                DepthWise(w, 2 * w, False, 2, 256),
                Residual(2 * w, blocks[2], 256),
                DepthWise(2 * w, 2 * w, False, 2, 512),
                Residual(2 * w, blocks[3], 256),
            ]
        )
        self.conv_sep = ConvBlock(2 * w, 512)
        self.features = GDC(embedding_size, side)

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return self.features(self.conv_sep(x))


# ---- arcface_torch's IResNet tree: conv1, bn1, prelu, layer1..4 of IBasicBlock, bn2, dropout, fc, features ----


class IBasicBlock(nn.Module):  # bn1, conv1, bn2, prelu, conv2 (stride), bn3, downsample = [1x1 conv, BN]
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.bn1, self.conv1 = nn.BatchNorm2d(cin), nn.Conv2d(cin, cout, 3, 1, 1, bias=False)
        self.bn2, self.prelu = nn.BatchNorm2d(cout), nn.PReLU(cout)
        self.conv2, self.bn3 = nn.Conv2d(cout, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        out = self.bn3(self.conv2(self.prelu(self.bn2(self.conv1(self.bn1(x))))))
        return out + (x if self.downsample is None else self.downsample(x))


class ArcfaceIResNet(nn.Module):
    def __init__(self, blocks, embedding_size=512, side=7):
        super().__init__()
        self.conv1, self.bn1, self.prelu = (
            nn.Conv2d(3, 64, 3, 1, 1, bias=False),
            nn.BatchNorm2d(64),
            nn.PReLU(64),
        )
        cin = 64
        for i, (width, count) in enumerate(zip((64, 128, 256, 512), blocks), start=1):
            units = [IBasicBlock(cin, width, 2)] + [IBasicBlock(width, width, 1) for _ in range(count - 1)]
            setattr(self, f"layer{i}", nn.Sequential(*units))
            cin = width
        self.bn2, self.dropout = nn.BatchNorm2d(512), nn.Dropout(0.0)
        self.fc = nn.Linear(512 * side * side, embedding_size)
        self.features = nn.BatchNorm1d(embedding_size)

    def forward(self, x):
        x = self.prelu(self.bn1(self.conv1(x)))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.features(self.fc(self.dropout(torch.flatten(self.bn2(x), 1))))


def randomise(model: nn.Module) -> nn.Module:
    """Random weights and BatchNorm running statistics (positive variances), in eval mode."""
    gen = torch.Generator().manual_seed(7)
    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            if tensor.is_floating_point():
                values = torch.rand(tensor.shape, generator=gen) if name.endswith("running_var") else None
                if values is None:
                    values = torch.randn(tensor.shape, generator=gen) * 0.2
                tensor.copy_(values + (0.5 if name.endswith("running_var") else 0.0))
    return model.eval()


def import_cli(*args) -> int:
    return main([str(a) for a in args])


def loaded(run_dir: Path) -> tuple[nn.Module, dict]:
    from interface.training import load_run

    return load_run(run_dir)


@pytest.mark.parametrize("scale,backbone", [(1, "mobilefacenet"), (2, "mbf")])
def test_arcface_mobilefacenet_outputs_equal(tmp_path, scale, backbone):
    foreign = randomise(ArcfaceMobileFaceNet(embedding_size=128, scale=scale, side=4))
    torch.save(foreign.state_dict(), tmp_path / "mbf.pth")
    # sizes read off the weights: D=128 from the FC, S=64 from the 4x4 GDC kernel
    assert (
        import_cli("--backbone", backbone, "--weights", tmp_path / "mbf.pth", "--out", tmp_path / "run") == 0
    )
    model, info = loaded(tmp_path / "run")
    assert (info["embedding_size"], info["input_size"], info["external"]) == (128, 64, True)
    assert info["provenance"]["layout"] == "arcface_torch.mobilefacenet"
    x = torch.randn(3, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(model(x), foreign(x))


def test_mobilefacenet_widths_do_not_cross(tmp_path, capsys):
    """The paper-width model's weights refuse the double-width backbone, naming a tensor."""
    torch.save(ArcfaceMobileFaceNet(scale=1).state_dict(), tmp_path / "w1.pth")
    assert import_cli("--backbone", "mbf", "--weights", tmp_path / "w1.pth", "--out", tmp_path / "run") == 2
    err = capsys.readouterr().err
    assert "key 'layers.0.layers.0.weight' has shape [64, 3, 3, 3]" in err and "[128, 3, 3, 3]" in err
    assert not (tmp_path / "run").exists()


def test_arcface_iresnet18_outputs_equal(tmp_path):
    foreign = randomise(ArcfaceIResNet((2, 2, 2, 2), embedding_size=32, side=2))
    torch.save(foreign.state_dict(), tmp_path / "backbone.pth")
    argv = ["--backbone", "iresnet18", "--weights", tmp_path / "backbone.pth", "--out", tmp_path / "r18"]
    assert import_cli(*argv, "--input-size", 32, "--embedding-size", 32, "--name", "r18-test") == 0
    model, info = loaded(tmp_path / "r18")
    assert info["provenance"]["label"] == "r18-test" and info["tags"]["setting"] == "label=r18-test"
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(model(x), foreign(x))


@pytest.mark.parametrize("depth,blocks", [(50, (3, 4, 14, 3)), (100, (3, 13, 30, 3))])
def test_arcface_iresnet_keys_and_shapes(depth, blocks):
    with torch.device("meta"):
        foreign = ArcfaceIResNet(blocks).state_dict()
    ours = _skeleton(f"iresnet{depth}", 512, 112)
    assert [(k, v.shape) for k, v in foreign.items()] == list(ours.items())
    layout, prefix, mapping = map_keys(foreign, f"iresnet{depth}", list(ours), Path("backbone.pth"))
    assert (layout.name, prefix) == ("interface", "") and all(k == v for k, v in mapping.items())


def test_project_state_dict_round_trips_with_wrapper_and_prefix(tmp_path):
    model = randomise(build_backbone("mobilefacenet", embedding_size=64, input_size=32))
    state = model.state_dict()
    torch.save({"state_dict": {f"module.{k}": v for k, v in state.items()}}, tmp_path / "wrapped.pt")
    assert (
        import_cli(
            "--backbone", "mobilefacenet", "--weights", tmp_path / "wrapped.pt", "--out", tmp_path / "a"
        )
        == 0
    )
    info = json.loads((tmp_path / "a" / "run.json").read_text())
    prov = info["provenance"]
    assert (prov["layout"], prov["prefix_stripped"], prov["wrapper_key"]) == (
        "interface",
        "module.",
        "state_dict",
    )
    assert prov["sha256"] == __import__("hashlib").sha256((tmp_path / "wrapped.pt").read_bytes()).hexdigest()
    written = torch.load(tmp_path / "a" / "model.pt", weights_only=True)
    assert list(written) == list(state) and all(torch.equal(written[k], state[k]) for k in state)
    # a second import of the written model.pt gives the same file content
    assert (
        import_cli(
            "--backbone", "mobilefacenet", "--weights", tmp_path / "a" / "model.pt", "--out", tmp_path / "b"
        )
        == 0
    )
    again = torch.load(tmp_path / "b" / "model.pt", weights_only=True)
    assert all(torch.equal(again[k], state[k]) for k in state)


def test_reimported_trained_run_scores_the_same(make_config, smoke_data, tmp_path):
    """A trained run and its model.pt imported as an external model give identical score JSON rows."""
    from interface.evaluation.cli import main as evaluate
    from interface.training import train

    train(make_config(max_steps=4), tmp_path / "trained")
    out = tmp_path / "external"
    assert import_cli("--backbone", "tiny", "--weights", tmp_path / "trained" / "model.pt", "--out", out) == 0
    info = json.loads((out / "run.json").read_text())
    assert (info["embedding_size"], info["input_size"]) == (64, 32)  # read off the weights
    rows = {}
    for name in ("trained", "external"):
        target = tmp_path / f"{name}.json"
        argv = [
            "--run",
            tmp_path / name,
            "--device",
            "cpu",
            "--benchmark",
            "synth_lfw",
            "--kind",
            "verification",
        ]
        assert (
            evaluate([str(a) for a in [*argv, "--path", smoke_data / "synth_lfw.bin", "--out", target]]) == 0
        )
        doc = json.loads(target.read_text())
        extra = {k: v for k, v in doc["extra"].items() if k not in ("wall_time_s", "model_sha256")}
        rows[name] = [{k: v for k, v in r.items() if k != "run_id"} for r in doc["rows"]], extra
    assert rows["trained"] == rows["external"]
    assert {r["metric"] for r in rows["trained"][0]} >= {"accuracy", "auc"}


class _Payload:
    def __reduce__(self):
        return (os.system, ("echo imported-code-ran",))


def _tiny_state() -> dict[str, torch.Tensor]:
    return build_backbone("tiny", embedding_size=16, input_size=32).state_dict()


def _write(path: Path, obj) -> Path:
    torch.save(obj, path)
    return path


def _edited(path: Path, edit) -> Path:
    state = _tiny_state()
    edit(state)
    return _write(path, state)


BAD_CASES = {
    "not_a_state_dict": (lambda p: _write(p, [1, 2, 3]), [], "not a state_dict (got list"),
    "empty_mapping": (lambda p: _write(p, {}), [], "an empty mapping"),
    "value_not_tensor": (lambda p: _write(p, {"fc.weight": 1.5}), [], "key 'fc.weight' holds float"),
    "pickle_with_code": (lambda p: _write(p, {"fc.weight": _Payload()}), [], "refused posix.system"),
    "unknown_backbone": (lambda p: _write(p, _tiny_state()), ["--backbone", "resnet9000"], "'resnet9000'"),
    "foreign_layout": (
        lambda p: _write(p, ArcfaceMobileFaceNet(scale=1).state_dict()),
        [],
        "key 'layers.0.layers.0.weight' has no place in backbone 'tiny'",
    ),
    "missing_key": (
        lambda p: _edited(p, lambda s: s.pop("bn2.running_mean")),
        [],
        "'bn2.running_mean' is not in the file",
    ),
    "extra_key": (
        lambda p: _edited(p, lambda s: s.update(extra=torch.zeros(1))),
        [],
        "key 'extra' has no place",
    ),
    "shape_mismatch": (
        lambda p: _edited(p, lambda s: s.update({"body.0.weight": torch.zeros(16, 3, 5, 5)})),
        [],
        "key 'body.0.weight' has shape [16, 3, 5, 5]",
    ),
    "embedding_size_disagrees": (
        lambda p: _write(p, _tiny_state()),
        ["--embedding-size", "32"],
        "key 'fc.weight' has shape [16, 1024]; backbone 'tiny' with embedding_size 32 (given)",
    ),
    "non_finite": (
        lambda p: _edited(p, lambda s: s["fc.bias"].fill_(float("nan"))),
        [],
        "key 'fc.bias' holds NaN",
    ),
    "truncated": (lambda p: (p.write_bytes(b"PK\x03\x04 not a zip"), p)[1], [], "unreadable weights file"),
    "file_missing": (lambda p: p, [], "weights file not found"),
    "bad_input_size": (lambda p: _write(p, _tiny_state()), ["--input-size", "20"], "--input-size: value 20"),
}


@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_bad_input_one_line_nothing_written(case, tmp_path, capsys):
    make, extra, expected = BAD_CASES[case]
    weights = make(tmp_path / "weights.pt")
    if "--backbone" not in extra:
        extra = ["--backbone", "tiny", *extra]
    out = tmp_path / "runs" / "r"
    assert import_cli("--weights", weights, "--out", out, *extra) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and expected in lines[0], captured.err
    assert "imported-code-ran" not in captured.out + captured.err
    if case not in ("unknown_backbone", "bad_input_size"):
        assert str(weights) in lines[0]
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_existing_run_folder_is_not_overwritten(tmp_path, capsys):
    weights = _write(tmp_path / "w.pt", _tiny_state())
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "run.json").write_text("{}")
    assert import_cli("--backbone", "tiny", "--weights", weights, "--out", tmp_path / "run") == 2
    assert "already exists" in capsys.readouterr().err
    assert (
        os.listdir(tmp_path / "run") == ["run.json"] and (tmp_path / "run" / "run.json").read_text() == "{}"
    )
    # an empty folder (Snakemake makes the output's folder) is filled
    (tmp_path / "empty").mkdir()
    assert import_cli("--backbone", "tiny", "--weights", weights, "--out", tmp_path / "empty") == 0
    assert sorted(os.listdir(tmp_path / "empty")) == ["model.pt", "run.json"]
    assert sorted(os.listdir(tmp_path)) == ["empty", "run", "w.pt"]  # no temporary folder left


def test_module_entry_point_refuses_code_in_one_line(tmp_path):
    """Through ``python -m interface import`` (the dispatcher): one line, exit 2, the payload never runs."""
    import subprocess
    import sys

    weights = _write(tmp_path / "evil.pt", {"fc.weight": _Payload()})
    cmd = [sys.executable, "-m", "interface", "import", "--backbone", "tiny", "--weights", str(weights)]
    result = subprocess.run(
        [*cmd, "--out", str(tmp_path / "run")], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 2 and "imported-code-ran" not in result.stdout + result.stderr
    assert result.stderr.strip().splitlines() == [
        f"error: {weights}: weights file not loaded: refused posix.system (it may hold only tensors and plain values)"
    ]
    assert not (tmp_path / "run").exists()


# ---- AdaFace's IR tree: input_layer, body of units (res_layer, shortcut_layer), output_layer ----


class BasicBlockIR(nn.Module):  # shortcut MaxPool2d(1, s) at equal width, else [1x1 conv, BN]
    def __init__(self, cin, cout, stride):
        super().__init__()
        if cin == cout:
            self.shortcut_layer = nn.MaxPool2d(1, stride)
        else:
            self.shortcut_layer = nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout)
            )
        self.res_layer = nn.Sequential(
            nn.BatchNorm2d(cin),
            nn.Conv2d(cin, cout, 3, 1, 1, bias=False),
            nn.BatchNorm2d(cout),
            nn.PReLU(cout),
            nn.Conv2d(cout, cout, 3, stride, 1, bias=False),
            nn.BatchNorm2d(cout),
        )

    def forward(self, x):
        return self.res_layer(x) + self.shortcut_layer(x)


class AdaFaceIR(nn.Module):
    """AdaFace's IR: BGR input; returns (unit embedding, norm)."""

    def __init__(self, blocks, side=7):
        super().__init__()
        self.input_layer = nn.Sequential(
            nn.Conv2d(3, 64, 3, 1, 1, bias=False), nn.BatchNorm2d(64), nn.PReLU(64)
        )
        units, cin = [], 64
        for width, count in zip((64, 128, 256, 512), blocks):
            units += [BasicBlockIR(cin, width, 2)] + [BasicBlockIR(width, width, 1) for _ in range(count - 1)]
            cin = width
        self.body = nn.Sequential(*units)
        self.output_layer = nn.Sequential(
            nn.BatchNorm2d(512),
            nn.Dropout(0.4),
            nn.Flatten(),
            nn.Linear(512 * side * side, 512),
            nn.BatchNorm1d(512, affine=False),
        )

    def forward(self, x):
        out = self.output_layer(self.body(self.input_layer(x)))
        norm = torch.norm(out, 2, 1, True)
        return out / norm, norm


def test_adaface_ir18_same_function_of_rgb_faces(tmp_path):
    foreign = randomise(AdaFaceIR((2, 2, 2, 2), side=2))
    # as AdaFace's Lightning checkpoint holds it: backbone under model., class centres under head.
    state = {f"model.{k}": v for k, v in foreign.state_dict().items()} | {"head.kernel": torch.randn(512, 10)}
    torch.save({"epoch": 3, "state_dict": state}, tmp_path / "adaface.pth")
    argv = ["--backbone", "adaface_ir18", "--weights", tmp_path / "adaface.pth", "--out", tmp_path / "ada"]
    assert import_cli(*argv) == 0
    model, info = loaded(tmp_path / "ada")
    prov = info["provenance"]
    assert (prov["layout"], prov["prefix_stripped"], prov["wrapper_key"]) == (
        "adaface.ir",
        "model.",
        "state_dict",
    )
    assert (prov["dropped_keys"], info["input_size"]) == (["head.kernel"], 32)
    rgb = torch.randn(3, 3, 32, 32)
    with torch.no_grad():
        ours = torch.nn.functional.normalize(model(rgb), dim=1)
        theirs, _ = foreign(rgb.flip(1))  # AdaFace reads BGR
    torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-6)
    assert not torch.allclose(ours, foreign(rgb)[0], atol=1e-3)  # the channel order matters


@pytest.mark.parametrize("name,blocks", [("adaface_ir50", (3, 4, 14, 3)), ("adaface_ir101", (3, 13, 30, 3))])
def test_adaface_ir_keys_and_shapes(name, blocks):
    with torch.device("meta"):
        foreign = AdaFaceIR(blocks).state_dict()
    ours = _skeleton(name, 512, 112)
    layout, _, mapping = map_keys(foreign, name, list(ours), Path("adaface.ckpt"))
    assert layout.name == "adaface.ir" and sorted(mapping.values()) == sorted(ours)
    assert all(foreign[k].shape == ours[v] for k, v in mapping.items())
