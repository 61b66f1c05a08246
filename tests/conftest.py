"""Shared test settings: CPU only, two threads (the CI machine has two cores), fixed seeds."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("OMP_NUM_THREADS", "2")


@pytest.fixture(autouse=True)
def _seed_and_threads():
    import numpy as np
    import torch

    torch.set_num_threads(2)
    torch.manual_seed(0)
    np.random.seed(0)
    yield


@pytest.fixture(autouse=True)
def _isolate_registries():
    """Losses and backbones a test registers (plugins defined inside tests) vanish after it, so
    registry-wide checks elsewhere (schema enum == list_losses()) see only the built-in ones."""
    from interface.backbones import registry as backbones
    from interface.losses import registry as losses

    saved = {reg: dict(reg._REGISTRY) for reg in (losses, backbones)}
    yield
    for reg, entries in saved.items():
        reg._REGISTRY.clear()
        reg._REGISTRY.update(entries)
