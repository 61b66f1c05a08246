"""Shared fixtures: the SynthFace smoke set (once per session) and a small tiny-backbone run config."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest


def _fake_smoke(root: Path) -> Path:
    """Stand-in until the SynthFace generator lands: 40 identities x 8 noisy 112x112 prototypes."""
    from interface.data import write_record_dataset

    rng = np.random.default_rng(0)
    protos = rng.integers(0, 256, (40, 112, 112, 3))
    images, labels = [], []
    for label, proto in enumerate(protos):
        for _ in range(8):
            images.append(np.clip(proto + rng.normal(0, 40, proto.shape), 0, 255).astype(np.uint8))
            labels.append(label)
    write_record_dataset(root, images, labels)
    return root


@pytest.fixture(scope="session")
def smoke_data(tmp_path_factory) -> Path:
    """A training set folder: ``python -m interface synth --preset smoke`` when available."""
    root = tmp_path_factory.mktemp("smoke")
    try:
        from interface.data.synth import generate_suite
    except ImportError:
        return _fake_smoke(root / "data")
    return Path(generate_suite(root / "data", "smoke", 0))


@pytest.fixture
def make_config(smoke_data):
    """``make_config(**overrides) -> RunConfig``: tiny backbone, 32 px, batch 16 (lr 0.2 applied), CPU, one thread."""
    from interface.training import config_from_mapping

    def make(**overrides):
        base = dict(
            data=str(smoke_data), loss="arcface", backbone="tiny", input_size=32, embedding_size=64,
            batch_size=16, epochs=2, lr=6.4, log_every=1, checkpoint_every=0, device="cpu", threads=1,
            milestones=[1.5], seed=3,
        )  # fmt: skip
        base.update(overrides)
        return config_from_mapping(base)

    return make
