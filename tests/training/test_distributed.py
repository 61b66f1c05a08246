"""Data parallelism: two gloo processes with half the batch each == one process with the whole batch.

The backbone here is a plugin without BatchNorm (a flatten + linear "probe"): BatchNorm statistics
are per process in DDP (as in arcface_torch; SyncBatchNorm needs a GPU), which is the one expected
difference between the two set-ups. Everything else (the global batch split by the epoch plan,
gradient averaging, lr x global_batch/512, clipping, the loss' class weights) must agree to float32
summation-order noise: tolerance atol 2e-5, rtol 1e-4 on every weight after 4 steps.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest
import torch
import yaml

PROBE_PLUGIN = '''
from torch import nn
from interface.backbones import register_backbone


@register_backbone("linear_probe")
def build(embedding_size, input_size):
    """Flatten + linear: no batch-dependent layer."""
    return nn.Sequential(nn.Flatten(), nn.Linear(3 * input_size * input_size, embedding_size))
'''


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_two_gloo_processes_match_one_process(smoke_data, tmp_path):
    plugin = tmp_path / "probe.py"
    plugin.write_text(PROBE_PLUGIN)
    config = dict(
        data=str(smoke_data), loss="arcface", backbone="linear_probe", plugins=[str(plugin)], input_size=16,
        embedding_size=32, batch_size=16, epochs=5, max_steps=4, lr=6.4, milestones=[0.3], log_every=2,
        device="cpu", threads=1, checkpoint_every=0, seed=5,
    )  # fmt: skip
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(config))
    command = [sys.executable, "-m", "interface", "train", "--config", str(path), "--out"]
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=os.getcwd())
    from interface.training import load_config, train

    train(load_config(path), tmp_path / "one")  # the reference: one process, in this one

    port = str(_free_port())
    procs = [
        subprocess.Popen(
            [*command, str(tmp_path / "two")],
            env=dict(
                env, RANK=str(r), LOCAL_RANK=str(r), WORLD_SIZE="2", MASTER_ADDR="127.0.0.1", MASTER_PORT=port
            ),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for r in range(2)
    ]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err[-2000:] for _, err in outputs]

    for name, key in (("model.pt", None), ("head.pt", "state_dict")):
        one = torch.load(tmp_path / "one" / name, weights_only=True)
        two = torch.load(tmp_path / "two" / name, weights_only=True)
        one, two = (one[key], two[key]) if key else (one, two)
        for k in one:
            assert torch.allclose(one[k], two[k], atol=2e-5, rtol=1e-4), (
                name,
                k,
                (one[k] - two[k]).abs().max(),
            )
    info = json.loads((tmp_path / "two" / "run.json").read_text())
    assert info["device"]["processes"] == 2 and info["steps"] == 4
    first_one = [json.loads(x)["loss"] for x in (tmp_path / "one" / "metrics.jsonl").read_text().splitlines()]
    first_two = [json.loads(x)["loss"] for x in (tmp_path / "two" / "metrics.jsonl").read_text().splitlines()]
    assert first_two == pytest.approx(first_one, rel=1e-4)
    assert first_one[-1] != first_one[0]  # the weights did move between the logged steps
