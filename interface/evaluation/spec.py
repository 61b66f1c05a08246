"""Evaluator specifications: how each reported number was computed, stored next to the scores.

Each kind (:mod:`interface.evaluation.kinds`) builds its :class:`EvaluatorSpec` with
:func:`evaluator_spec`: the protocol and its version (the insightface source snapshot it
reproduces, see formats-and-protocols.md §0), the input colour order and normalisation, the flip
fusion, the distance and the fold layout, so a table cell can be traced to its exact procedure.
"""

from __future__ import annotations

from typing import Any

from interface.contracts.score_record import EvaluatorSpec
from interface.evaluation.resolution import MIN_EVENTS

INSIGHTFACE_SNAPSHOT = "deepinsight/insightface@7fadd420c2351d0ffa8cac403421c1a3ed733365"
SPEC_VERSION = 1

_COMMON = {
    "resolution": (
        f"a TAR/TPIR at false-accept rate f read on n impostor comparisons is resolved iff "
        f"n_events = f * n >= {MIN_EVENTS}; other metrics are resolved with n_events null"
    ),
    "colour_order": "RGB",
    "input_normalisation": "(x/255 - 0.5)/0.5",
    "flip_fusion": "sum of raw original and mirrored (width-flip) embeddings",
}


def insightface_source(path: str) -> str:
    """``<snapshot> <path>``: the insightface file, at the pinned snapshot, a protocol reproduces."""
    return f"{INSIGHTFACE_SNAPSHOT} {path}"


def evaluator_spec(name: str, reproduces: str, variant: str = "", **protocol: Any) -> EvaluatorSpec:
    """The spec of protocol ``name``; ``variant`` (options that change the numbers, e.g. the IJB
    mode ``N1D1F2``) joins the evaluator id ``<name>[-<variant>]/v<SPEC_VERSION>``; ``protocol``:
    the kind's descriptive keys, after the ones every kind shares."""
    evaluator = f"{name}{'-' + variant if variant else ''}/v{SPEC_VERSION}"
    return EvaluatorSpec(name, evaluator, SPEC_VERSION, reproduces, {**_COMMON, **protocol})
