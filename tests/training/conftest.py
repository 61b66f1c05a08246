"""Shared fixtures: the SynthFace smoke set (once per session) and a small tiny-backbone run config."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def smoke_data(tmp_path_factory) -> Path:
    """The SynthFace smoke suite (``python -m interface synth --preset smoke --seed 0``), once per session."""
    from interface.data.synth import generate_suite

    return Path(generate_suite(tmp_path_factory.mktemp("smoke") / "data", "smoke", 0))


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
