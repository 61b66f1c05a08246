"""SynthFace: a procedural, identity-conditioned face suite written in InsightFace's formats.

Nothing can be downloaded in the embedded reproduction, so the harness renders its own faces:
identities are parameter vectors (``identity``), each image adds nuisances (``nuisance``), the
renderer ray-casts a small ellipsoid head (``render``), and ``suite.generate_suite`` writes the
training RecordIO set, five verification packs, an IJB-style set and an identification set.
Sizes live in ``presets``.
"""

from __future__ import annotations

from interface.data.synth.presets import PRESETS, Preset, get_preset
from interface.data.synth.suite import GENERATOR_VERSION, generate_suite

__all__ = ["GENERATOR_VERSION", "PRESETS", "Preset", "generate_suite", "get_preset"]
