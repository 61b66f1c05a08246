"""Pieces of the trainer checked against independent references: epoch plan, schedule, SGD."""

from __future__ import annotations

import pytest
import torch

from interface.errors import InputError
from interface.training.batches import EpochPlan, apply_flips
from interface.training.optim import SGD
from interface.training.schedule import Schedule


def test_epoch_plan_splits_each_global_batch_across_processes():
    one = EpochPlan(103, 8, seed=7)
    idx1, flip1 = one.epoch(2)
    assert one.steps_per_epoch == 12 and idx1.shape == (12, 8)
    assert len(set(idx1.flatten().tolist())) == 96  # no image twice in an epoch, last partial batch dropped
    parts = [EpochPlan(103, 8, seed=7, rank=r, world=4).epoch(2) for r in range(4)]
    for step in range(12):
        union = sorted(i for idx, _ in parts for i in idx[step].tolist())
        assert union == sorted(idx1[step].tolist())
        flags = {i: f for idx, fl in parts for i, f in zip(idx[step].tolist(), fl[step].tolist())}
        assert flags == dict(zip(idx1[step].tolist(), flip1[step].tolist()))
    assert not torch.equal(one.epoch(3)[0], idx1) and torch.equal(EpochPlan(103, 8, seed=7).epoch(2)[0], idx1)
    assert 0.3 < flip1.float().mean() < 0.7
    with pytest.raises(InputError, match="divisible"):
        EpochPlan(103, 8, seed=0, world=3)
    with pytest.raises(InputError, match="exceeds"):
        EpochPlan(7, 8, seed=0)


def test_flips_mirror_only_the_flagged_images():
    x = torch.arange(2 * 3 * 2 * 4, dtype=torch.float32).view(2, 3, 2, 4)
    out = apply_flips(x, torch.tensor([True, False]))
    assert torch.equal(out[0], x[0][..., [3, 2, 1, 0]]) and torch.equal(out[1], x[1])


def test_step_schedule_matches_multisteplr_stepped_every_iteration():
    spe, milestones = 7, (2.0, 3.5)
    schedule = Schedule("step", spe, total_steps=40, milestones=milestones)
    param = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([param], lr=1.0)
    ref = torch.optim.lr_scheduler.MultiStepLR(opt, [round(m * spe) for m in milestones], gamma=0.1)
    for step in range(40):
        assert schedule.factor(step) == pytest.approx(opt.param_groups[0]["lr"], rel=1e-12)
        opt.step()
        ref.step()


def test_poly_schedule_with_warmup():
    schedule = Schedule("poly", steps_per_epoch=10, total_steps=50, warmup_epochs=1.0, power=2.0)
    for step in range(50):
        expected = (step + 1) / 10.0 if step < 10 else (1.0 - (step - 10) / 40.0) ** 2
        assert schedule.factor(step) == pytest.approx(expected, rel=1e-12, abs=1e-15)


def test_sgd_equals_torch_sgd_and_round_trips():
    torch.manual_seed(0)
    params_a = [torch.nn.Parameter(torch.randn(5, 3)), torch.nn.Parameter(torch.randn(4))]
    params_b = [torch.nn.Parameter(p.detach().clone()) for p in params_a]
    ours = SGD([{"params": params_a, "initial_lr": 0.3}], momentum=0.9, weight_decay=5e-4)
    ref = torch.optim.SGD(params_b, lr=0.3, momentum=0.9, weight_decay=5e-4)
    for step in range(6):
        grads = [torch.randn_like(p) for p in params_a]
        for i, (pa, pb, g) in enumerate(zip(params_a, params_b, grads)):
            skip = i == 1 and step == 0  # a parameter without gradient on the first step
            pa.grad = None if skip else g.clone()
            pb.grad = None if skip else g.clone()
        ours.param_groups[0]["lr"] = ref.param_groups[0]["lr"] = 0.3 / (step + 1)
        ours.step()
        ref.step()
        for pa, pb in zip(params_a, params_b):
            assert torch.allclose(pa, pb, rtol=0, atol=1e-7)
    clone = SGD([{"params": params_a, "initial_lr": 0.3}], momentum=0.9, weight_decay=5e-4)
    clone.load_state_dict(ours.state_dict())
    assert all(torch.equal(a, b) for a, b in zip(clone.buffers[0], ours.buffers[0]))
