"""Loss registry: a class decorator to add a loss, and one function to build any loss by name.

A new loss is one file that defines a :class:`~interface.losses.base.MarginLoss` subclass decorated
with ``@register_loss("name")``; importing that file (e.g. through the trainer's ``plugins`` key)
makes it buildable from a config.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import torch

from interface.errors import InputError
from interface.losses.params import param_schemas

T = TypeVar("T", bound=type)

_REGISTRY: dict[str, type] = {}


def register_loss(name: str) -> Callable[[T], T]:
    """Class decorator that registers a loss under ``name`` (a lower-case identifier).

    Registering a second class under a name already taken raises :class:`InputError`.
    """
    if not isinstance(name, str) or not name.isidentifier():
        raise InputError(f"loss name {name!r} is not an identifier; expected e.g. 'arcface'")

    def decorate(cls: T) -> T:
        if name in _REGISTRY and _REGISTRY[name] is not cls:
            raise InputError(
                f"loss name {name!r} is already registered by {_REGISTRY[name].__module__}."
                f"{_REGISTRY[name].__qualname__}; choose another name"
            )
        _REGISTRY[name] = cls
        cls.registry_name = name
        return cls

    return decorate


def list_losses() -> list[str]:
    """Sorted names of every registered loss."""
    return sorted(_REGISTRY)


def loss_class(name: str) -> type:
    """The class registered under ``name``; unknown names raise :class:`InputError` listing the known ones."""
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        raise InputError(f"unknown loss {name!r}; known losses: {', '.join(list_losses())}") from None


def loss_param_schemas() -> dict[str, dict[str, Any]]:
    """JSON Schema of each registered loss's parameters, by loss name, from the loss's ``PARAMS``
    (what the workflow checks every matrix point against, plugin losses included)."""
    return {name: param_schemas(_REGISTRY[name].PARAMS) for name in list_losses()}


def build_loss(name: str, *, num_classes: int, embedding_size: int, **params: Any) -> torch.nn.Module:
    """Build the loss ``name`` for ``num_classes`` classes and ``embedding_size``-wide embeddings.

    ``params`` override the class's ``default_params``; a value of ``None`` means "use the default"
    (so a config may spell out every key). Unknown keys and out-of-range values are rejected by
    the loss's constructor (from its ``PARAMS``) with an :class:`InputError` naming the key.
    """
    cls = loss_class(name)
    for key, value in (("num_classes", num_classes), ("embedding_size", embedding_size)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InputError(f"loss {name!r}: {key}={value!r}; expected an integer >= 1")
    given = {key: value for key, value in params.items() if value is not None}
    return cls(num_classes=num_classes, embedding_size=embedding_size, **given)
