"""Toy embeddings for the evaluator tests: unit rows, clustered probes and random distractors."""

from __future__ import annotations

import numpy as np


def unit(x) -> np.ndarray:
    """Rows of ``x`` scaled to unit L2 norm (float64)."""
    x = np.asarray(x, dtype=np.float64)
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def clustered_probes(
    rng: np.random.Generator, n_id: int, per: int, m: int, dim: int, spread: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(probes, labels, distractors)``: ``per`` unit probes around each of ``n_id`` random centres.

    Each probe is its identity's centre plus Gaussian noise of standard deviation ``spread`` (in
    units of the centres' per-axis spread, so larger means harder), normalised; the ``m``
    distractors are normalised Gaussian directions. Embeddings are float32 of width ``dim``;
    labels are identity indices 0..n_id-1, each repeated ``per`` times.
    """
    centres = rng.normal(size=(n_id, dim))
    labels = np.repeat(np.arange(n_id), per)
    probes = unit(centres[labels] + spread * rng.normal(size=(n_id * per, dim))).astype(np.float32)
    distractors = unit(rng.normal(size=(m, dim))).astype(np.float32)
    return probes, labels, distractors
