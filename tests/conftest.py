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
