"""Numerical stress through the trainer (issue 8, item 3).

Unstable settings (an absurd learning rate; a user loss that turns NaN after step k) must be
stopped by the non-finite guard with a one-line message naming the step and the statistics, and
leave no finished-looking run. Legal settings (fp32, bf16 and fp16 autocast on CPU) must never
produce a non-finite loss, metric or weight.
"""

from __future__ import annotations

import json
import math
import re

import pytest
from _util import cli, last_line, smoke_data, write_run_yaml

RUN_OUTPUTS = ("model.pt", "head.pt", "run.json", "metrics.jsonl")

#: A user loss (plugin file) that behaves like ArcFace for its first K forward passes, then NaN.
NAN_AFTER_K = """
import torch
from interface.losses.arcface import ArcFace
from interface.losses.registry import register_loss


@register_loss("nan_after_k")
class NanAfterK(ArcFace):
    calls = 0

    def forward(self, embeddings, labels):
        loss = super().forward(embeddings, labels)
        NanAfterK.calls += 1
        return loss * float("nan") if NanAfterK.calls > {k} else loss
"""


def diverged(result, out) -> tuple[int, str]:
    """Check the guard's exit and message; return (step named in it, the message)."""
    message = last_line(result.stderr)
    assert result.returncode != 0, result.stderr[-2000:]
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    assert message.startswith("error: training stopped at step "), message
    assert "non-finite" in message and "loss stats" in message, message
    for name in RUN_OUTPUTS:
        assert not (out / name).exists(), f"{name} written by a diverged run"
    return int(re.search(r"at step (\d+)", message).group(1)), message


@pytest.mark.slow
def test_huge_learning_rate_is_stopped_by_the_guard(tmp_path):
    config = write_run_yaml(
        tmp_path / "RUN.yaml", data=str(smoke_data()), lr=1e30, max_steps=40, epochs=20, max_nonfinite=3
    )
    out = tmp_path / "run"
    result = cli(["interface", "train", "--config", config, "--out", out], tmp_path)
    step, message = diverged(result, out)
    assert 3 <= step <= 40
    assert "max_nonfinite=3" in message


@pytest.mark.slow
def test_loss_turning_nan_after_step_k_stops_exactly_k_plus_max_nonfinite(tmp_path):
    k, limit = 5, 4
    plugin = tmp_path / "nan_losses.py"
    plugin.write_text(NAN_AFTER_K.replace("{k}", str(k)))
    config = write_run_yaml(
        tmp_path / "RUN.yaml",
        data=str(smoke_data()),
        loss="nan_after_k",
        plugins=[str(plugin)],
        max_steps=40,
        epochs=20,
        max_nonfinite=limit,
        checkpoint_every=1,
    )
    out = tmp_path / "run"
    result = cli(["interface", "train", "--config", config, "--out", out], tmp_path)
    step, message = diverged(result, out)
    assert step == k + limit, message
    assert f"{limit} consecutive non-finite losses" in message
    # The last checkpoint holds the last good weights (non-finite steps are skipped, not applied).
    import torch

    state = torch.load(out / "resume.pt", weights_only=True)
    assert all(torch.isfinite(v).all() for v in state["backbone"].values() if v.is_floating_point())
    assert all(torch.isfinite(v).all() for v in state["loss"].values() if v.is_floating_point())


@pytest.mark.slow
@pytest.mark.parametrize(
    ("loss", "params", "precision"),
    [
        ("arcface", {}, "fp32"),
        ("interface", {"variant": "dd"}, "fp16"),
        ("interface", {"variant": "cc"}, "bf16"),
        ("curricularface", {}, "fp16"),
        ("adaface", {}, "bf16"),
    ],
)
def test_legal_settings_never_produce_nan(loss, params, precision, tmp_path):
    """Paper-default margins at the smoke recipe's (high) learning rate: every loss value, metric
    and final weight finite, no step skipped."""
    import torch

    from interface.training.config import load_config
    from interface.training.trainer import train

    config = load_config(
        write_run_yaml(
            tmp_path / "RUN.yaml",
            data=str(smoke_data()),
            loss=loss,
            loss_params=params,
            precision=precision,
            max_steps=12,
            epochs=3,
            log_every=1,
        )
    )
    info = train(config, tmp_path / "run")
    assert info["nonfinite_steps"] == 0 and info["steps"] == 12
    metrics = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert len(metrics) == 12
    scale = 65536.0  # GradScaler's initial scale
    for record in metrics:
        bad = {k: v for k, v in record.items() if isinstance(v, float) and not math.isfinite(v)}
        if precision == "fp16" and record["grad_scale"] < scale:
            # dynamic loss scaling: an overflowing scaled gradient is skipped and the scale halved
            bad.pop("grad_norm", None)
        scale = record["grad_scale"]
        assert not bad, f"step {record['step']}: {bad}"
    for name in ("model.pt", "head.pt"):
        state = torch.load(tmp_path / "run" / name, weights_only=True)
        tensors = state["state_dict"] if name == "head.pt" else state
        assert all(torch.isfinite(v).all() for v in tensors.values() if v.is_floating_point()), name
