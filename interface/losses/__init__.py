"""Margin-based face-recognition losses behind one registry.

``build_loss(name, num_classes=C, embedding_size=D, **params)`` builds any registered loss (the
single-process head); ``build_head(name, ..., mode="replicated" | "model_parallel", sample_rate)``
builds the same loss with replicated, sharded or sampled (Partial FC) class weights, and
``shard_bounds(C, world, rank)`` says which rows a process holds. ``list_losses()`` names them. Importing this package registers the built-in losses: softmax,
normface, sphereface, cosface, arcface, combined, curricularface, magface, adaface, elasticface
and interface (InterFace, arXiv 2210.02018). Each loss declares its parameters once, as
``PARAMS = (Param(...), ...)`` (:mod:`interface.losses.params`).
"""

from interface.losses import (  # noqa: F401  (imported to register the built-in losses)
    adaface,
    arcface,
    combined,
    cosface,
    curricularface,
    elasticface,
    interface,
    magface,
    normface,
    softmax,
    sphereface,
)
from interface.losses.base import MarginLoss
from interface.losses.head import ShardedHead, build_head, shard_bounds
from interface.losses.params import Param
from interface.losses.registry import build_loss, list_losses, register_loss

__all__ = [
    "MarginLoss",
    "Param",
    "ShardedHead",
    "build_head",
    "build_loss",
    "list_losses",
    "register_loss",
    "shard_bounds",
]
