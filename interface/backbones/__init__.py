"""Backbones: ``build_backbone(name, embedding_size=512, input_size=112)`` and ``list_backbones()``.

Registered: iresnet18/34/50/100/200 (arcface_torch key layout), adaface_ir18/50/101 (AdaFace's IR),
mobilefacenet, mbf (arcface_torch's double-width MobileFaceNet), tiny.
"""

from interface.backbones import iresnet, mobilefacenet, tiny  # noqa: F401  (registration)
from interface.backbones.registry import build_backbone, list_backbones, register_backbone

__all__ = ["build_backbone", "list_backbones", "register_backbone"]
