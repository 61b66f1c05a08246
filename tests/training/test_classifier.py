"""RUN.yaml's ``classifier`` key: a model-parallel head trains to the same weights at one and at two
gloo processes (shards initialised world-size independently, backbone gradients summed), head.pt
holds the single-process layout, Partial FC trains. The probe backbone has no BatchNorm (per-process statistics are the one expected
difference, see test_distributed.py)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch
import yaml

from interface.errors import InputError
from interface.losses import build_loss

PROBE_PLUGIN = '''
from torch import nn
from interface.backbones import register_backbone


@register_backbone("linear_probe_mp")
def build(embedding_size, input_size):
    """Flatten + linear: no batch-dependent layer."""
    return nn.Sequential(nn.Flatten(), nn.Linear(3 * input_size * input_size, embedding_size))
'''


def _config(smoke_data, tmp_path, **overrides):
    plugin = tmp_path / "probe.py"
    plugin.write_text(PROBE_PLUGIN)
    config = dict(
        data=str(smoke_data), loss="curricularface", backbone="linear_probe_mp", plugins=[str(plugin)],
        input_size=16, embedding_size=32, batch_size=16, epochs=5, max_steps=4, lr=6.4, milestones=[0.3],
        log_every=2, device="cpu", threads=1, checkpoint_every=0, seed=5,
        classifier={"mode": "model_parallel"}, grad_clip=None,  # clipping would hide a gradient scale
    )  # fmt: skip
    config.update(overrides)
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def _spawn(path, out, world: int) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = str(s.getsockname()[1])
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=os.getcwd())
    command = [sys.executable, "-m", "interface", "train", "--config", str(path), "--out", str(out)]
    procs = [
        subprocess.Popen(
            command,
            env=dict(
                env,
                RANK=str(r),
                LOCAL_RANK=str(r),
                WORLD_SIZE=str(world),
                MASTER_ADDR="127.0.0.1",
                MASTER_PORT=port,
            ),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for r in range(world)
    ]
    outputs = [p.communicate(timeout=180) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err[-2000:] for _, err in outputs]


def _close(a: dict, b: dict, name: str) -> None:
    assert a.keys() == b.keys(), name
    for k in a:
        assert torch.allclose(a[k].double(), b[k].double(), atol=2e-5, rtol=1e-4), (
            name,
            k,
            (a[k] - b[k]).abs().max(),
        )


@pytest.mark.slow
def test_model_parallel_at_two_processes_matches_one(smoke_data, tmp_path):
    from interface.training import load_config, train

    path = _config(smoke_data, tmp_path)
    train(load_config(path), tmp_path / "one")
    _spawn(path, tmp_path / "two", 2)
    for name in ("model.pt", "head.pt"):
        one = torch.load(tmp_path / "one" / name, weights_only=True)
        two = torch.load(tmp_path / "two" / name, weights_only=True)
        one, two = (one["state_dict"], two["state_dict"]) if name == "head.pt" else (one, two)
        _close(one, two, name)
    head = torch.load(tmp_path / "two" / "head.pt", weights_only=True)
    loss = build_loss("curricularface", num_classes=head["num_classes"], embedding_size=32)
    loss.load_state_dict(head["state_dict"])  # the single-process layout
    assert float(loss.t) != 0.0


def test_partial_fc_trains_in_one_process(smoke_data, tmp_path):
    from interface.training import load_config, train

    path = _config(
        smoke_data, tmp_path, classifier={"mode": "model_parallel", "sample_rate": 0.3}, max_steps=3
    )
    info = train(load_config(path), tmp_path / "run")
    assert info["steps"] == 3
    head = torch.load(tmp_path / "run" / "head.pt", weights_only=True)
    assert head["state_dict"]["weight"].shape[0] == head["num_classes"]


@pytest.mark.parametrize(
    ("value", "needle"),
    [
        ({"mode": "sharded"}, "mode='sharded'"),
        ({"sample_rate": 0.0}, "sample_rate=0.0; expected a number in \\(0, 1\\]"),
        ({"sample_rate": 0.5}, "sample_rate=0.5 needs mode: model_parallel"),
        ({"rate": 0.5}, "unknown key\\(s\\) rate"),
    ],
)
def test_bad_classifier_key_is_one_line(value, needle):
    from interface.training import config_from_mapping

    with pytest.raises(InputError, match=f"config key 'classifier': {needle}") as info:
        config_from_mapping({"data": "x", "classifier": value})
    assert "\n" not in str(info.value)
