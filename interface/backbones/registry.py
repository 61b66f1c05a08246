"""Backbone registry: ``build_backbone(name, ...)`` and ``list_backbones()``.

A backbone maps a batch of RGB faces ``(B, 3, S, S)`` in ``[-1, 1]`` to raw (unnormalised)
embeddings ``(B, D)``. New backbones register themselves with :func:`register_backbone`, so adding
one is one file plus an import, never an if/elif chain.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from interface.errors import InputError
from interface.limits import RUN_RANGES, check

BackboneFactory = Callable[..., nn.Module]
_REGISTRY: dict[str, BackboneFactory] = {}


def register_backbone(name: str) -> Callable[[BackboneFactory], BackboneFactory]:
    """Register ``factory(embedding_size: int, input_size: int) -> nn.Module`` under ``name``."""

    def decorator(factory: BackboneFactory) -> BackboneFactory:
        if name in _REGISTRY:
            raise ValueError(f"backbone {name!r} is already registered")
        _REGISTRY[name] = factory
        return factory

    return decorator


def list_backbones() -> list[str]:
    """Sorted names of every registered backbone."""
    return sorted(_REGISTRY)


def build_backbone(name: str, *, embedding_size: int = 512, input_size: int = 112) -> nn.Module:
    """Build backbone ``name`` producing ``embedding_size``-d embeddings from ``input_size`` px faces.

    Args:
        name: one of :func:`list_backbones`.
        embedding_size: embedding dimension D (>= 1; the paper uses 512).
        input_size: side S of the square input in pixels (>= 16 and a multiple of 16 for the
            IResNets, whose four stride-2 stages give an (S/16)x(S/16) map before the FC).
    """
    if name not in _REGISTRY:
        raise InputError(f"backbone: unknown name {name!r}; expected one of {', '.join(list_backbones())}")
    if not isinstance(embedding_size, int) or embedding_size < 1:
        raise InputError(f"embedding_size: {embedding_size!r} is not a positive integer")
    check("input_size", input_size, RUN_RANGES, label="input_size")
    return _REGISTRY[name](embedding_size=embedding_size, input_size=input_size)
