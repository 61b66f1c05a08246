"""Classifier heads: model parallel and Partial FC against the single-process loss, on gloo.

The reference is the registered loss built by ``build_loss`` (one process, all classes) on the
concatenated global batch. One spawn per world size (1, 2, 3, 4) runs every registered loss
(InterFace in every variant) at float64 and compares, on every rank: the loss value, the gradient
of this rank's embeddings (the reference's rows of the global batch), the gradient of this rank's
weight shard, and the margin's state (CurricularFace's t, AdaFace's running norms, ElasticFace's
generator, SphereFace's step) after two training steps. The same spawn checks Partial FC, AdaFace's
per-process statistics and a state re-cut from another world size.
"""

from __future__ import annotations

import json
import math
import os
import socket

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from interface.errors import InputError
from interface.losses import build_head, build_loss, list_losses, shard_bounds

PER_RANK, C, D = 6, 11, 8
TOL = 1e-10


def cases() -> list[tuple[str, dict]]:
    out = []
    for name in list_losses():
        if name == "interface":
            out += [(name, {"variant": v}) for v in ("cc", "dc", "dd")]
        else:
            out.append((name, {}))
    return out


def global_batch(world: int, step: int, classes: int = C) -> tuple[torch.Tensor, torch.Tensor]:
    """The same global batch on every rank: norms 20-40 (inside MagFace's bounds)."""
    generator = torch.Generator().manual_seed(100 * world + step)
    emb = torch.randn(world * PER_RANK, D, generator=generator, dtype=torch.float64)
    norms = 20 + 20 * torch.rand(emb.shape[0], 1, generator=generator, dtype=torch.float64)
    emb = emb / emb.norm(dim=1, keepdim=True) * norms
    labels = torch.randint(0, classes, (emb.shape[0],), generator=generator)
    return emb, labels


def class_state(module) -> dict[str, torch.Tensor]:
    return {k: v for k, v in module.state_dict().items() if k not in ("weight", "bias")}


def max_diff(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a.double() - b.double()).abs().max()) if a.numel() else 0.0


def compare_model_parallel(rank: int, world: int) -> dict[str, float]:
    """Largest deviation from the reference, per case, over two training steps on this rank."""
    start, stop = shard_bounds(C, world, rank)
    rows = slice(rank * PER_RANK, (rank + 1) * PER_RANK)
    report = {}
    for name, params in cases():
        torch.manual_seed(3)
        ref = build_loss(name, num_classes=C, embedding_size=D, **params).double().train()
        head = build_head(name, num_classes=C, embedding_size=D, mode="model_parallel", **params)
        head = head.double().train()
        assert tuple(head.weight.shape) == (stop - start, D)
        with torch.no_grad():
            head.weight.copy_(ref.weight[start:stop])
            if hasattr(ref, "bias"):
                head.bias.copy_(ref.bias[start:stop])
        worst = 0.0
        for step in range(2):
            emb, labels = global_batch(world, step)
            full = emb.clone().requires_grad_(True)
            local = emb[rows].clone().requires_grad_(True)
            ref.zero_grad()
            head.zero_grad()
            expected = ref(full, labels)
            got = head(local, labels[rows])
            expected.backward()
            got.backward()
            diffs = [
                abs(float(expected) - float(got)) / max(1.0, abs(float(expected))),
                max_diff(full.grad[rows], local.grad),
                max_diff(ref.weight.grad[start:stop], head.weight.grad),
            ]
            if hasattr(ref, "bias"):
                diffs.append(max_diff(ref.bias.grad[start:stop], head.bias.grad))
            ref_state, head_state = class_state(ref), class_state(head.margin)
            assert ref_state.keys() == head_state.keys()
            diffs += [max_diff(ref_state[k], head_state[k]) for k in ref_state]
            worst = max(worst, *diffs)
            assert math.isfinite(worst)
        report[f"{name}{params.get('variant', '')}"] = worst
    return report


def compare_partial_fc(rank: int, world: int) -> dict[str, float]:
    """Partial FC: rate 1.0 == model parallel exactly; rate 0.2: every positive drawn, and the loss
    equals the single-process loss restricted to the classes drawn on all shards."""
    classes = 40
    start, stop = shard_bounds(classes, world, rank)
    rows = slice(rank * PER_RANK, (rank + 1) * PER_RANK)
    report: dict[str, float] = {}
    for name, params in (("arcface", {}), ("interface", {"variant": "dd"}), ("magface", {})):
        torch.manual_seed(5)
        weight = torch.normal(0.0, 0.01, (classes, D), dtype=torch.float64)
        emb, labels = global_batch(world, 7, classes=classes // 2)  # positives in the lower half
        one = build_head(name, num_classes=classes, embedding_size=D, mode="model_parallel", sample_rate=1.0)
        mp_head = build_head(name, num_classes=classes, embedding_size=D, mode="model_parallel")
        pfc = build_head(
            name,
            num_classes=classes,
            embedding_size=D,
            mode="model_parallel",
            sample_rate=0.2,
            head_seed=rank,
        )
        values = []
        for head in (one, mp_head, pfc):
            head.double().train()
            with torch.no_grad():
                head.weight.copy_(weight[start:stop])
            values.append(head(emb[rows], labels[rows]))
        report[f"{name}: rate 1 vs model parallel"] = abs(float(values[0]) - float(values[1]))
        drawn = pfc.last_index + start
        positives = labels[(labels >= start) & (labels < stop)].unique()
        assert set(positives.tolist()) <= set(drawn.tolist()), (positives, drawn)
        assert drawn.numel() == max(math.ceil(0.2 * (stop - start)), positives.numel())
        assert drawn.numel() < stop - start or stop - start <= positives.numel()
        # The reference: all drawn classes of all shards, in one process.
        counts = [torch.zeros(1, dtype=torch.int64) for _ in range(world)]
        dist.all_gather(counts, torch.tensor([drawn.numel()]))
        padded = torch.full((classes,), -1, dtype=torch.int64)
        padded[: drawn.numel()] = drawn
        parts = [torch.empty_like(padded) for _ in range(world)]
        dist.all_gather(parts, padded)
        chosen = torch.cat([p[: int(n)] for p, n in zip(parts, counts)])
        ref = build_loss(name, num_classes=chosen.numel(), embedding_size=D, **params).double().train()
        with torch.no_grad():
            ref.weight.copy_(weight[chosen])
        remap = torch.full((classes,), -1, dtype=torch.int64)
        remap[chosen] = torch.arange(chosen.numel())
        expected = ref(emb, remap[labels])
        report[f"{name}: rate 0.2 vs sampled reference"] = abs(float(expected) - float(values[2]))
    return report


def compare_process_local_stats(rank: int, world: int) -> dict[str, float]:
    """AdaFace with per-process statistics: each rank's running norms are those of a
    single-process AdaFace that saw only its own samples; the loss is the mean of those losses."""
    emb, labels = global_batch(world, 11)
    torch.manual_seed(9)
    weight = torch.normal(0.0, 0.01, (C, D), dtype=torch.float64)
    head = build_head(
        "adaface", num_classes=C, embedding_size=D, mode="model_parallel", process_local_stats=True
    )
    head.double().train()
    start, stop = shard_bounds(C, world, rank)
    with torch.no_grad():
        head.weight.copy_(weight[start:stop])
    got = head(emb[rank * PER_RANK : (rank + 1) * PER_RANK], labels[rank * PER_RANK : (rank + 1) * PER_RANK])
    refs, losses = [], []
    for r in range(world):
        ref = build_loss("adaface", num_classes=C, embedding_size=D).double().train()
        with torch.no_grad():
            ref.weight.copy_(weight)
        sl = slice(r * PER_RANK, (r + 1) * PER_RANK)
        losses.append(float(ref(emb[sl], labels[sl])))
        refs.append(ref)
    diffs = [abs(float(got) - sum(losses) / world)]
    diffs += [
        max_diff(v, head.margin.state_dict()[k]) for k, v in refs[rank].state_dict().items() if k != "weight"
    ]
    return {"adaface process_local_stats": max(diffs)}


def compare_reshard(rank: int, world: int) -> dict[str, float]:
    """A state written at another world size (here: one process) loads at this one: the full state
    round-trips, and one SGD step from it (momentum state re-cut too) gives the single-process
    next-step weights."""
    torch.manual_seed(13)
    ref = build_loss("curricularface", num_classes=C, embedding_size=D).double().train()
    emb, labels = global_batch(world, 3)
    ref(emb, labels).backward()  # evolves t, gives a momentum state to save
    momentum = ref.weight.grad.clone()
    saved = {"weight": ref.weight.detach().clone(), "margin": ref.state_dict(), "sample_states": []}
    del saved["margin"]["weight"]
    head = (
        build_head("curricularface", num_classes=C, embedding_size=D, mode="model_parallel").double().train()
    )
    head.load_full_state_dict(saved)
    full = head.full_state_dict()
    diffs = [max_diff(full["weight"], saved["weight"]), max_diff(full["margin"]["t"], ref.t)]
    options = dict(lr=0.5, momentum=0.9, weight_decay=5e-4)
    ref_opt = torch.optim.SGD([ref.weight], **options)
    ref_opt.state[ref.weight]["momentum_buffer"] = momentum.clone()
    opt = torch.optim.SGD([head.weight], **options)
    opt.state[head.weight]["momentum_buffer"] = head.local_rows(momentum).clone()
    emb, labels = global_batch(world, 4)
    for module, optimizer, x in (
        (ref, ref_opt, emb),
        (head, opt, emb[rank * PER_RANK : (rank + 1) * PER_RANK]),
    ):
        optimizer.zero_grad()
        module(x, labels if module is ref else labels[rank * PER_RANK : (rank + 1) * PER_RANK]).backward()
        optimizer.step()
    diffs.append(max_diff(head.full_state_dict()["weight"], ref.weight))
    try:
        head.load_full_state_dict({**saved, "weight": saved["weight"][:-1]})
        diffs.append(math.inf)
    except InputError as error:
        diffs.append(0.0 if "'weight' has 10 rows; expected num_classes=11" in str(error) else math.inf)
    return {"reshard from world 1": max(diffs)}


def worker(rank: int, world: int, port: int, out_dir: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        result = compare_model_parallel(rank, world)
        result.update(compare_partial_fc(rank, world))
        result.update(compare_process_local_stats(rank, world))
        result.update(compare_reshard(rank, world))
    except Exception as error:  # reported to the parent, which fails the test with it
        result = {"error": f"{type(error).__name__}: {error}"}
    finally:
        dist.destroy_process_group()
    with open(os.path.join(out_dir, f"rank{rank}.json"), "w") as handle:
        json.dump(result, handle)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("world", [1, 2, 3, 4])
def test_model_parallel_and_partial_fc_equal_the_single_process_loss(world, tmp_path):
    mp.spawn(worker, args=(world, _free_port(), str(tmp_path)), nprocs=world, join=True)
    for rank in range(world):
        result = json.loads((tmp_path / f"rank{rank}.json").read_text())
        assert "error" not in result, result
        assert len([k for k in result if ":" not in k and " " not in k]) == len(cases())
        bad = {k: v for k, v in result.items() if not v <= TOL}
        assert not bad, (rank, bad)


def test_shard_bounds_cover_every_class_once():
    for classes in (1, 4, 11, 12, 1000):
        for world in (1, 2, 3, 4, 7):
            bounds = [shard_bounds(classes, world, r) for r in range(world)]
            assert bounds[0][0] == 0 and bounds[-1][1] == classes
            assert all(a[1] == b[0] for a, b in zip(bounds, bounds[1:]))
            sizes = [stop - start for start, stop in bounds]
            assert max(sizes) - min(sizes) <= 1 and sizes == sorted(sizes, reverse=True)


@pytest.mark.parametrize("name", list_losses())
def test_replicated_head_is_build_loss(name):
    torch.manual_seed(4)
    expected = build_loss(name, num_classes=C, embedding_size=D)
    torch.manual_seed(4)
    head = build_head(name, num_classes=C, embedding_size=D, mode="replicated")
    assert type(head) is type(expected)
    emb, labels = global_batch(1, 0)
    emb = emb.float()
    for (ka, a), (kb, b) in zip(expected.state_dict().items(), head.state_dict().items()):
        assert ka == kb and torch.equal(a, b)
    assert torch.equal(expected(emb, labels), head(emb, labels))


@pytest.mark.parametrize("optimiser", ["sgd", "adamw"])
def test_partial_fc_leaves_undrawn_rows_and_their_state_untouched(optimiser):
    torch.manual_seed(0)
    head = build_head("arcface", num_classes=50, embedding_size=D, mode="model_parallel", sample_rate=0.1)
    make = {
        "sgd": lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, weight_decay=5e-4),
        "adamw": lambda p: torch.optim.AdamW(p, lr=0.01, weight_decay=0.1),
    }[optimiser]
    optimizer = make(head.parameters())
    head.attach_optimizer(optimizer)
    seen = set()
    for step in range(3):
        emb, labels = global_batch(1, step, classes=10)
        before = head.weight.detach().clone()
        state_before = {k: v.clone() for k, v in optimizer.state.get(head.weight, {}).items()}
        loss = head(emb.float(), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        drawn = set(head.last_index.tolist())
        assert set(labels.tolist()) <= drawn and len(drawn) == max(5, len(set(labels.tolist())))
        undrawn = torch.tensor(sorted(set(range(50)) - drawn))
        assert torch.equal(head.weight[undrawn], before[undrawn])
        assert not torch.equal(head.weight[sorted(drawn)], before[sorted(drawn)])
        state = optimizer.state[head.weight]
        for key, value in state.items():
            if value.dim():
                assert value.shape == head.weight.shape
                if key in state_before:
                    assert torch.equal(value[undrawn], state_before[key][undrawn]), key
                else:  # first step: rows never drawn have no state yet
                    assert not value[undrawn].any(), key
        seen |= drawn
    assert len(seen) > 10  # the negatives change from step to step


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"sample_rate": 0.0, "mode": "model_parallel"}, "sample_rate=0.0; expected a number in \\(0, 1\\]"),
        ({"sample_rate": 1.5, "mode": "model_parallel"}, "sample_rate=1.5"),
        ({"sample_rate": "0.1", "mode": "model_parallel"}, "sample_rate='0.1'"),
        ({"sample_rate": 0.1}, "sample_rate=0.1 needs mode='model_parallel'"),
        ({"mode": "sharded"}, "mode='sharded'; expected one of 'replicated', 'model_parallel'"),
        ({"mode": "model_parallel", "head_seed": -1}, "head_seed=-1"),
        ({"mode": "model_parallel", "margin": 0.5}, "unknown parameter\\(s\\) margin"),
    ],
)
def test_bad_head_arguments_are_one_line(kwargs, needle):
    with pytest.raises(InputError, match=needle) as info:
        build_head("arcface", num_classes=C, embedding_size=D, **kwargs)
    assert "\n" not in str(info.value)


def test_bad_shard_arguments_are_one_line():
    with pytest.raises(InputError, match="rank=3; expected an integer in \\[0, world=3\\)"):
        shard_bounds(10, 3, 3)
    with pytest.raises(InputError, match="world=0"):
        shard_bounds(10, 0, 0)


def test_a_loss_replacing_the_machinery_is_refused_in_model_parallel(monkeypatch):
    from interface.losses import registry
    from interface.losses.arcface import ArcFace

    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))

    @registry.register_loss("ownlogits")
    class OwnLogits(ArcFace):
        def _logits(self, embeddings, labels):
            return super()._logits(embeddings, labels)

    build_head("ownlogits", num_classes=C, embedding_size=D)  # replicated: fine
    with pytest.raises(
        InputError, match="cannot run loss 'ownlogits': it overrides MarginLoss._logits"
    ) as info:
        build_head("ownlogits", num_classes=C, embedding_size=D, mode="model_parallel")
    assert "\n" not in str(info.value)


def test_elasticface_seed_stays_the_loss_parameter():
    head = build_head(
        "elasticface", num_classes=C, embedding_size=D, mode="model_parallel", seed=3, head_seed=1
    )
    assert head.margin.seed == 3
