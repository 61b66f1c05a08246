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
import os
import signal

from torch import nn
from interface.backbones import register_backbone


class Probe(nn.Sequential):
    """Flatten + linear: no batch-dependent layer. With STOP_AT_CALL=N set, the N-th training
    forward sends this process SIGTERM (the trainer then saves resume.pt after that step)."""

    calls = 0

    def forward(self, x):
        if self.training:
            Probe.calls += 1
            if Probe.calls == int(os.environ.get("STOP_AT_CALL", "0")):
                signal.raise_signal(signal.SIGTERM)
        return super().forward(x)


@register_backbone("linear_probe_mp")
def build(embedding_size, input_size):
    return Probe(nn.Flatten(), nn.Linear(3 * input_size * input_size, embedding_size))
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


def _spawn(path, out, world: int, expect_ok: bool = True, **extra_env: str) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = str(s.getsockname()[1])
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=os.getcwd(), **extra_env)
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
    assert all((p.returncode == 0) == expect_ok for p in procs), [err[-2000:] for _, err in outputs]


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


@pytest.mark.slow
def test_run_interrupted_at_two_processes_resumes_at_one(smoke_data, tmp_path):
    """resume.pt written by 2 processes (each holding half the classes) resumes in one process:
    the finished run equals an uninterrupted one-process run."""
    from interface.training import load_config, train
    from interface.training.checkpoint import load_checkpoint

    path = _config(smoke_data, tmp_path, max_steps=6)
    train(load_config(path), tmp_path / "one")
    _spawn(path, tmp_path / "resumed", 2, expect_ok=False, STOP_AT_CALL="3")
    saved = load_checkpoint(tmp_path / "resumed" / "resume.pt")
    head = torch.load(tmp_path / "one" / "head.pt", weights_only=True)
    assert saved["step"] == 3 and saved["loss"]["weight"].shape[0] == head["num_classes"]  # the full rows
    info = train(load_config(path), tmp_path / "resumed")
    assert info["steps"] == 6
    for name in ("model.pt", "head.pt"):
        one = torch.load(tmp_path / "one" / name, weights_only=True)
        resumed = torch.load(tmp_path / "resumed" / name, weights_only=True)
        one, resumed = (one["state_dict"], resumed["state_dict"]) if name == "head.pt" else (one, resumed)
        _close(one, resumed, name)


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


CLASSES, DIM, PER_RANK = 13, 8, 4


def _batch(step: int, world: int):
    generator = torch.Generator().manual_seed(50 + step)
    emb = torch.randn(world * PER_RANK, DIM, generator=generator, dtype=torch.float64) * 10
    return emb, torch.randint(0, CLASSES, (world * PER_RANK,), generator=generator)


def _head_and_optimizer(**kwargs):
    from interface.losses import build_head
    from interface.training.optim import SGD

    head = build_head(
        "curricularface", num_classes=CLASSES, embedding_size=DIM, mode="model_parallel", **kwargs
    )
    head = head.double().train()
    backbone = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))  # group 0, as the trainer's
    groups = [
        {"params": [backbone], "initial_lr": 0.3},
        {"params": head.class_parameters(), "initial_lr": 0.3},
    ]
    return head, SGD(groups, momentum=0.9, weight_decay=5e-4)


def _step(head, optimizer, emb, labels):
    from interface.training.classifier import optimizer_step

    optimizer.zero_grad()
    head(emb, labels).backward()
    with optimizer_step(head, optimizer):
        optimizer.step()


def _resume_worker(rank: int, world: int, port: int, out: str) -> None:
    import torch.distributed as dist

    from interface.training.classifier import head_state, single_process_state

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=world)
    mine = slice(rank * PER_RANK, (rank + 1) * PER_RANK)
    head, optimizer = _head_and_optimizer()
    emb, labels = _batch(0, world)
    _step(head, optimizer, emb[mine], labels[mine])
    states = head_state(head, optimizer, rank == 0)
    emb, labels = _batch(1, world)
    _step(head, optimizer, emb[mine], labels[mine])
    after = single_process_state(head)
    if rank == 0:
        torch.save({"resume": states, "after": after}, os.path.join(out, "states.pt"))
    dist.destroy_process_group()


@pytest.mark.slow
def test_resume_written_at_three_processes_continues_at_one(tmp_path):
    import socket

    import torch.multiprocessing as mp

    from interface.training.classifier import load_head_state, single_process_state

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    mp.spawn(_resume_worker, args=(3, port, str(tmp_path)), nprocs=3, join=True)
    saved = torch.load(tmp_path / "states.pt", weights_only=True)
    loss_state, optim_state = saved["resume"]
    assert loss_state["weight"].shape == (CLASSES, DIM)  # full rows, not rank 0's shard
    assert optim_state["buffers"][1][0].shape == (CLASSES, DIM)
    head, optimizer = _head_and_optimizer(head_seed=1)  # other initial weights: all must come from the file
    load_head_state(head, optimizer, loss_state, optim_state)
    emb, labels = _batch(1, 3)
    _step(head, optimizer, emb, labels)
    after = single_process_state(head)
    assert after.keys() == saved["after"].keys() == {"weight", "t"}
    for key, value in saved["after"].items():
        assert torch.allclose(after[key], value, rtol=0, atol=1e-10), (key, (after[key] - value).abs().max())
    with pytest.raises(InputError, match="'momentum' has 12 rows; expected num_classes=13"):
        bad = {**optim_state, "buffers": [optim_state["buffers"][0], [optim_state["buffers"][1][0][:-1]]]}
        load_head_state(head, optimizer, loss_state, bad)


def test_partial_fc_step_keeps_undrawn_momentum_of_the_trainer_sgd():
    head, optimizer = _head_and_optimizer(sample_rate=0.2)
    for step in range(3):
        emb, labels = _batch(step, 1)
        before = optimizer.buffers[1][0]
        before = None if before is None else before.clone()
        weight = head.weight.detach().clone()
        _step(head, optimizer, emb, labels)
        undrawn = sorted(set(range(CLASSES)) - set(head.last_index.tolist()))
        assert undrawn and set(labels.tolist()) <= set(head.last_index.tolist())
        assert torch.equal(head.weight[undrawn], weight[undrawn])
        momentum = optimizer.buffers[1][0]
        assert momentum.shape == (CLASSES, DIM)
        expected = torch.zeros_like(momentum[undrawn]) if before is None else before[undrawn]
        assert torch.equal(momentum[undrawn], expected)
