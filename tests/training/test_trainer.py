"""The trainer end to end on the smoke set: every loss learns, resume and reruns are exact, outputs."""

from __future__ import annotations

import json
import math

import pytest
import torch

from interface.errors import InputError
from interface.losses import list_losses
from interface.training import load_run, train
from interface.training.checkpoint import RESUME_NAME


def _losses(run_dir):
    return [json.loads(line)["loss"] for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def _weights(run_dir):
    return torch.load(run_dir / "model.pt", weights_only=True)


@pytest.fixture(scope="module")
def smoke_tensors(smoke_data):
    """The whole smoke training set at 32 px as tensors (images in [-1, 1], labels)."""
    from interface.data import FaceDataset

    faces = FaceDataset(smoke_data, train=False, input_size=32)
    items = [faces[i] for i in range(len(faces))]
    return torch.stack([x for x, _ in items]), torch.stack([y for _, y in items])


@torch.no_grad()
def _full_set_loss(backbone, head, images, labels):
    """Mean training loss over the whole set in one batch (BatchNorm on batch statistics)."""
    backbone.train()
    head.train()
    return float(head(backbone(images), labels))


@pytest.mark.slow
@pytest.mark.parametrize("loss", list_losses())
def test_every_registered_loss_trains_and_its_loss_falls(loss, make_config, tmp_path, smoke_tensors):
    """40 steps on the smoke set: the loss over the whole set, from the seeded initial weights to the
    trained model.pt + head.pt, falls below 85% of its initial value."""
    from interface.training.trainer import build_models

    config = make_config(loss=loss, epochs=100, max_steps=40, milestones=[100.0], log_every=10)
    info = train(config, tmp_path)
    losses = _losses(tmp_path)
    assert len(losses) == 4 and all(map(math.isfinite, losses))
    backbone, head = build_models(config, info["num_classes"])
    before = _full_set_loss(backbone, head, *smoke_tensors)
    backbone.load_state_dict(_weights(tmp_path))
    head.load_state_dict(torch.load(tmp_path / "head.pt", weights_only=True)["state_dict"])
    after = _full_set_loss(backbone, head, *smoke_tensors)
    assert after < 0.85 * before, (loss, before, after, losses)


def test_same_seed_gives_identical_weights_and_another_seed_does_not(make_config, tmp_path):
    train(make_config(max_steps=6), tmp_path / "a")
    train(make_config(max_steps=6), tmp_path / "b")
    train(make_config(max_steps=6, seed=4), tmp_path / "c")
    a, b, c = _weights(tmp_path / "a"), _weights(tmp_path / "b"), _weights(tmp_path / "c")
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(a["fc.weight"], c["fc.weight"])
    assert _losses(tmp_path / "a") == _losses(tmp_path / "b")


class _InterruptError(Exception):
    pass


def test_interrupted_run_resumes_to_identical_weights(make_config, tmp_path, monkeypatch):
    """N steps straight == N/2 steps, crash, rerun (resume mid-epoch from resume.pt), on CPU."""
    from interface.training import trainer as trainer_module

    config = make_config(
        loss="curricularface", max_steps=10, checkpoint_every=5, lr_schedule="step", milestones=[0.9]
    )
    train(config, tmp_path / "straight")

    real_save = trainer_module.save_checkpoint

    def save_then_crash(path, payload):
        real_save(path, payload)
        raise _InterruptError

    monkeypatch.setattr(trainer_module, "save_checkpoint", save_then_crash)
    with pytest.raises(_InterruptError):
        train(config, tmp_path / "resumed")
    monkeypatch.setattr(trainer_module, "save_checkpoint", real_save)
    saved = torch.load(tmp_path / "resumed" / RESUME_NAME, weights_only=True)
    assert saved["step"] == 5 and saved["step_in_epoch"] > 0  # mid-epoch
    assert not (tmp_path / "resumed" / "model.pt").exists()  # final outputs only at the end
    info = train(config, tmp_path / "resumed")
    assert info["steps"] == 10
    a, b = _weights(tmp_path / "straight"), _weights(tmp_path / "resumed")
    assert all(torch.equal(a[k], b[k]) for k in a)
    head_a = torch.load(tmp_path / "straight" / "head.pt", weights_only=True)["state_dict"]
    head_b = torch.load(tmp_path / "resumed" / "head.pt", weights_only=True)["state_dict"]
    assert all(torch.equal(head_a[k], head_b[k]) for k in head_a)  # class weights and CurricularFace's t
    assert _losses(tmp_path / "straight") == _losses(tmp_path / "resumed")
    assert not (tmp_path / "resumed" / RESUME_NAME).exists()


def test_outputs_and_load_run(make_config, tmp_path):
    config = make_config(
        loss="interface", max_steps=4, log_every=2, tags={"run_id": "x__tiny", "setting": "m=0.5"}
    )
    info = train(config, tmp_path)
    for name in ("model.pt", "head.pt", "run.json", "metrics.jsonl", "train.log"):
        assert (tmp_path / name).is_file(), name
    on_disk = json.loads((tmp_path / "run.json").read_text())
    assert on_disk["tags"] == {"run_id": "x__tiny", "setting": "m=0.5"}
    assert on_disk["num_classes"] == info["num_classes"] and on_disk["num_images"] >= 32
    assert on_disk["config"]["loss"] == "interface" and on_disk["versions"]["torch"] == torch.__version__
    assert on_disk["seed"] == 3 and on_disk["images_per_s"] > 0 and on_disk["device"]["type"] == "cpu"
    records = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [2, 4]
    for key in (
        "epoch",
        "loss",
        "lr",
        "images_per_s",
        "grad_scale",
        "theta_y_mean",
        "theta_nn_mean",
        "mhat_mean",
    ):
        assert key in records[-1], key
    head = torch.load(tmp_path / "head.pt", weights_only=True)
    assert head["state_dict"]["weight"].shape == (info["num_classes"], 64)

    model, run = load_run(tmp_path)
    assert not model.training and run["backbone"] == "tiny"
    x = torch.rand(4, 3, 32, 32) * 2 - 1
    from interface.backbones import build_backbone

    reference = build_backbone("tiny", embedding_size=64, input_size=32)
    reference.load_state_dict(torch.load(tmp_path / "model.pt", weights_only=True))
    assert torch.equal(model(x), reference.eval()(x))

    before = (tmp_path / "run.json").stat().st_mtime_ns
    assert train(config, tmp_path)["steps"] == 4  # finished: nothing to do
    assert (tmp_path / "run.json").stat().st_mtime_ns == before
    with pytest.raises(InputError, match="lr"):
        train(make_config(loss="interface", max_steps=4, lr=0.1), tmp_path)


def test_load_run_names_missing_or_corrupt_files(make_config, tmp_path):
    with pytest.raises(InputError, match="run.json"):
        load_run(tmp_path)
    train(make_config(max_steps=1), tmp_path)
    (tmp_path / "model.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(InputError, match="model.pt"):
        load_run(tmp_path)
    (tmp_path / "model.pt").unlink()
    with pytest.raises(InputError, match="model.pt"):
        load_run(tmp_path)


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_reduced_precision_autocast_runs_on_cpu(make_config, tmp_path, precision):
    """bf16 autocast (the GPU default) and fp16 with the gradient scaler both train on CPU."""
    info = train(make_config(precision=precision, max_steps=3), tmp_path)
    records = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert info["precision"] == precision and info["nonfinite_steps"] == 0
    assert all(math.isfinite(r["loss"]) for r in records)
    scale = records[-1]["grad_scale"]  # fp16: starts at 2^16, halves on each overflowing step
    assert scale == 1.0 if precision == "bf16" else (scale <= 65536.0 and math.log2(scale).is_integer())


def test_schedule_and_clip_reach_the_optimiser(make_config, tmp_path):
    """lr = lr x batch/512 x 0.1^(milestones passed); metrics carry the applied lr."""
    train(make_config(max_steps=12, milestones=[1.0], lr=1.6), tmp_path)
    records = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    steps_per_epoch = json.loads((tmp_path / "run.json").read_text())["steps_per_epoch"]
    for r in records:
        expected = 1.6 * 16 / 512 * (0.1 if r["step"] - 1 >= steps_per_epoch else 1.0)
        assert r["lr"] == pytest.approx(expected, rel=1e-12)


NAN_PLUGIN = '''
import torch
from interface.losses import register_loss
from interface.losses.arcface import ArcFace

@register_loss("nan_after_two")
class NanAfterTwo(ArcFace):
    """ArcFace that returns NaN from its third call on (to exercise the divergence guard)."""
    calls = 0

    def forward(self, embeddings, labels):
        type(self).calls += 1
        loss = super().forward(embeddings, labels)
        return loss * float("nan") if type(self).calls > 2 else loss


@register_loss("nan_gradient")
class NanGradient(ArcFace):
    """ArcFace with a finite loss whose gradient reaching the backbone is NaN."""

    def forward(self, embeddings, labels):
        if embeddings.requires_grad:
            embeddings.register_hook(lambda grad: grad * float("nan"))
        return super().forward(embeddings, labels)
'''


def test_nonfinite_losses_are_skipped_then_stop_the_run(make_config, tmp_path):
    from interface.training import TrainingDivergedError

    plugin = tmp_path / "nan_plugin.py"
    plugin.write_text(NAN_PLUGIN)
    config = make_config(loss="nan_after_two", plugins=[str(plugin)], max_nonfinite=3, max_steps=10)
    with pytest.raises(TrainingDivergedError, match=r"step 5: 3 consecutive non-finite"):
        train(config, tmp_path / "run")
    assert not (tmp_path / "run" / "model.pt").exists()
    lines = (tmp_path / "run" / "train.log").read_text()
    assert "step 4/10" in lines and "loss nan" in lines
    config = make_config(loss="nan_gradient", plugins=[str(plugin)], max_nonfinite=2, max_steps=10)
    with pytest.raises(
        TrainingDivergedError, match=r"step 2: 2 consecutive non-finite losses or gradients.*grad norm nan"
    ):
        train(config, tmp_path / "run2")


def test_streamed_data_trains_exactly_like_the_memory_cache(make_config, tmp_path):
    """cache_mb=0 streams through a DataLoader worker; same plan and preprocessing -> same weights."""
    cached = train(make_config(max_steps=3), tmp_path / "cached")
    streamed = train(make_config(max_steps=3, cache_mb=0, num_workers=1), tmp_path / "streamed")
    assert cached["data_cached_in_memory"] and not streamed["data_cached_in_memory"]
    a, b = _weights(tmp_path / "cached"), _weights(tmp_path / "streamed")
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_sigterm_saves_a_checkpoint_after_the_current_step_and_stops(make_config, tmp_path, monkeypatch):
    import signal

    from interface.training import TrainingInterruptedError
    from interface.training.trainer import Trainer

    real_log = Trainer._log

    def log_then_signal(self, *args):
        real_log(self, *args)
        if self.progress.step == 2:
            signal.raise_signal(signal.SIGTERM)  # as a scheduler would; handled between steps

    monkeypatch.setattr(Trainer, "_log", log_then_signal)
    config = make_config(max_steps=6)
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(TrainingInterruptedError, match="after step 3"):
        train(config, tmp_path)
    assert signal.getsignal(signal.SIGTERM) is before  # the trainer's handler is removed again
    assert torch.load(tmp_path / RESUME_NAME, weights_only=True)["step"] == 3
    assert not (tmp_path / "model.pt").exists()
    monkeypatch.setattr(Trainer, "_log", real_log)
    assert train(config, tmp_path)["steps"] == 6


def test_trains_from_a_folder_of_identity_subfolders(make_config, tmp_path):
    """The ImageFolder layout (root/<identity>/<image>) trains through the same path as RecordIO."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(1)
    for identity in range(3):
        (tmp_path / "faces" / f"id{identity}").mkdir(parents=True)
        for k in range(6):
            pixels = rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(tmp_path / "faces" / f"id{identity}" / f"{k}.png")
    info = train(make_config(data=str(tmp_path / "faces"), batch_size=8, max_steps=2), tmp_path / "run")
    assert (info["num_classes"], info["num_images"], info["steps"]) == (3, 18, 2)


def test_decoded_cache_file_is_written_once_and_reused(make_config, tmp_path):
    from interface.training.data import decoded_file, open_records

    cache = tmp_path / "cache"
    first = train(make_config(max_steps=2, cache_dir=str(cache)), tmp_path / "a")
    second = train(make_config(max_steps=2, cache_dir=str(cache)), tmp_path / "b")
    plain = train(make_config(max_steps=2), tmp_path / "c")
    assert (first["decoded_cache_file"], second["decoded_cache_file"], plain["decoded_cache_file"]) == (
        "written",
        "read",
        None,
    )
    a, b, c = _weights(tmp_path / "a"), _weights(tmp_path / "b"), _weights(tmp_path / "c")
    assert all(torch.equal(a[k], b[k]) and torch.equal(a[k], c[k]) for k in a)
    path = decoded_file(cache, open_records(make_config().data), 32)
    assert [p.name for p in cache.iterdir()] == [path.name]
    path.write_bytes(b"damaged")
    assert (
        train(make_config(max_steps=2, cache_dir=str(cache)), tmp_path / "d")["decoded_cache_file"]
        == "written"
    )


def test_a_run_folder_in_use_is_refused(make_config, tmp_path):
    """Another process holding RUN_DIR/.lock (here: another open file description) blocks a second trainer."""
    import fcntl
    import os

    run = tmp_path / "run"
    run.mkdir()
    fd = os.open(run / ".lock", os.O_RDWR | os.O_CREAT)
    os.write(fd, b"4242\n")
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        with pytest.raises(InputError, match=r"run folder in use by another training process \(pid 4242\)"):
            train(make_config(max_steps=1), run)
    finally:
        os.close(fd)
    assert train(make_config(max_steps=1), run)["steps"] == 1  # free again: trains
