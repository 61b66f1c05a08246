"""Which images each process trains on at each step, and how a batch reaches the device.

:class:`EpochPlan` is DistributedSampler's rule made explicit: epoch ``e`` shuffles all images
with a generator seeded from (seed, e), drops the incomplete last global batch, and process ``r``
of ``W`` takes positions ``r, r+W, ...`` of every global batch. The horizontal flips (p = 0.5,
the only augmentation of the recipe, paper-and-code digest §4) are drawn per global-batch position
from the same generator. Everything is therefore a function of (seed, epoch, step): resuming
mid-epoch, or changing the number of processes, reproduces the same global batches exactly.

Two sources deliver the images: :class:`MemorySource` (the whole set decoded once through
:class:`interface.data.FaceDataset`, kept as one float tensor: no per-step Python work, for
small sets such as SynthFace) and :class:`StreamSource` (a DataLoader with workers and pinned
memory over the same FaceDataset, for sets too large to cache).
"""

from __future__ import annotations

import random
from collections.abc import Iterator

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from interface.errors import InputError

_MIX = 0x9E3779B1  # golden-ratio odd constant: decorrelates (seed, epoch) pairs


class EpochPlan:
    """Sample indices and flip flags for one process.

    Args:
        num_images: images in the training set (>= global_batch).
        global_batch: images per optimiser step over all processes (divisible by ``world``).
        seed: run seed.
        rank, world: this process and the number of processes.
    """

    def __init__(self, num_images: int, global_batch: int, seed: int, rank: int = 0, world: int = 1) -> None:
        if global_batch % world:
            raise InputError(f"batch_size {global_batch} is not divisible by the {world} processes")
        if num_images < global_batch:
            raise InputError(f"batch_size {global_batch} exceeds the {num_images} training images")
        self.num_images, self.global_batch, self.seed = num_images, global_batch, seed
        self.rank, self.world = rank, world
        self.steps_per_epoch = num_images // global_batch

    def epoch(self, epoch: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(indices int64 (steps, global_batch/world), flips bool (same shape)) for ``epoch``."""
        generator = torch.Generator().manual_seed((self.seed * _MIX + epoch) % 2**63)
        order = torch.randperm(self.num_images, generator=generator)
        flips = torch.rand(self.num_images, generator=generator) < 0.5
        used = self.steps_per_epoch * self.global_batch
        shape = (self.steps_per_epoch, self.global_batch)
        pick = slice(self.rank, None, self.world)
        return order[:used].view(shape)[:, pick], flips[:used].view(shape)[:, pick]


def apply_flips(images: torch.Tensor, flips: torch.Tensor) -> torch.Tensor:
    """Mirror the images (B, 3, S, S) whose flag in ``flips`` (B,) is set, along the width axis."""
    return torch.where(flips.view(-1, 1, 1, 1), images.flip(3), images)


class MemorySource:
    """The whole set as tensors: ``images`` float32 (N, 3, S, S) in [-1, 1], ``labels`` int64 (N,)."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor) -> None:
        self.images, self.labels = images, labels

    def batches(
        self, indices: torch.Tensor, flips: torch.Tensor
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        indices, flips = indices.to(self.images.device), flips.to(self.images.device)  # once per epoch
        for idx, flip in zip(indices, flips, strict=True):
            yield apply_flips(self.images[idx], flip), self.labels[idx]


class _Rows(Dataset):
    """FaceDataset rows with their flip flag, so workers return ready batches."""

    def __init__(self, dataset: Dataset) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, key: tuple[int, bool]) -> tuple[torch.Tensor, int]:
        index, flip = key
        image, label = self.dataset[index]
        return (image.flip(2) if flip else image), int(label)


class _PlannedBatches:
    """Batch sampler yielding [(index, flip), ...] lists from an epoch plan."""

    def __init__(self, indices: torch.Tensor, flips: torch.Tensor) -> None:
        self.indices, self.flips = indices.tolist(), flips.tolist()

    def __len__(self) -> int:
        return len(self.indices)

    def __iter__(self) -> Iterator[list[tuple[int, bool]]]:
        for idx, flip in zip(self.indices, self.flips, strict=True):
            yield list(zip(idx, flip, strict=True))


def _seed_worker(worker_id: int) -> None:
    """Per-worker seeds for numpy and random, derived from the worker's torch seed."""
    seed = torch.initial_seed() % 2**32
    np.random.seed(seed)
    random.seed(seed)


class StreamSource:
    """DataLoader over a FaceDataset (train=False: flips come from the plan), ``num_workers`` processes."""

    def __init__(self, dataset: Dataset, num_workers: int, pin_memory: bool) -> None:
        self.rows, self.num_workers, self.pin_memory = _Rows(dataset), num_workers, pin_memory

    def batches(
        self, indices: torch.Tensor, flips: torch.Tensor
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        loader = DataLoader(
            self.rows,
            batch_sampler=_PlannedBatches(indices, flips),
            num_workers=self.num_workers,
            pin_memory=self.pin_memory,
            worker_init_fn=_seed_worker,
            prefetch_factor=4 if self.num_workers else None,
        )
        yield from loader
