"""Evaluator specifications: how each reported number was computed, stored next to the scores.

Each dict names the protocol and its version (the insightface source snapshot it reproduces, see
formats-and-protocols.md §0), the input colour order and normalisation, the flip fusion, the
distance and the fold layout, so a table cell can be traced to its exact procedure.
"""

from __future__ import annotations

from interface.evaluation.ijb import describe_mode
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


def verification_spec(n_folds: int) -> dict:
    """The LFW-style .bin protocol (formats-and-protocols.md §2.3, §3, §3.1)."""
    return {
        "name": "insightface-verification",
        "evaluator": f"insightface-verification/v{SPEC_VERSION}",
        "version": SPEC_VERSION,
        "reproduces": f"{INSIGHTFACE_SNAPSHOT} recognition/arcface_torch/eval/verification.py",
        **_COMMON,
        "normalisation": "L2 after fusion",
        "distance": "squared L2 of unit vectors; same iff d < t (strict)",
        "thresholds": "numpy.arange(0, 4, 0.01)",
        "fold_layout": f"KFold({n_folds}, shuffle=False): contiguous blocks in file order",
        "threshold_choice": "first argmax of training accuracy",
        "std": "population (ddof=0) over folds",
        "val_at_far": "FAR 1e-3, grid arange(0, 4, 0.001), threshold by slinear interpolation of training FAR, 0.0 if unreachable",
        "auc_eer": "sklearn roc_curve defaults over all pairs, score = -distance",
        "xnorm": "mean L2 norm of all raw original and mirrored embeddings",
        "val_at_far_impostors": "n = impostor pairs of the pack",
        "items": "accuracy: per pair in pack order, 1 iff classified correctly at its fold's threshold",
    }


def ijb_spec(mode_label: str, chunk: int) -> dict:
    """IJB 1:1 template verification (formats-and-protocols.md §4.3-§4.6)."""
    return {
        "name": "insightface-ijb-1to1",
        "evaluator": f"insightface-ijb-1to1-{mode_label}/v{SPEC_VERSION}",
        "version": SPEC_VERSION,
        "reproduces": f"{INSIGHTFACE_SNAPSHOT} recognition/arcface_torch/eval_ijbc.py",
        **_COMMON,
        "alignment": "5-point similarity transform to the ArcFace 112x112 template, bilinear, border 0",
        "image_feature": describe_mode(mode_label),
        "pooling": "media mean, template sum, then L2 normalisation",
        "distance": "cosine of template vectors, float64 (np.sum(f1 * f2, -1))",
        "score_chunk_pairs": int(chunk),
        "roc": "sklearn roc_curve defaults (pos_label=1, drop_intermediate=True)",
        "tar_at_far": "nearest existing ROC point to each FAR, highest TAR on ties, no interpolation",
        "fold_layout": "none (all pairs)",
        "items": "tar_at_far_<f>: per genuine pair in pair-file order, 1 iff its score >= the threshold of the ROC point read at f",
    }


def identification_spec(ladder: list[int], seed: int, cleaned: bool) -> dict:
    """MegaFace-style identification (formats-and-protocols.md §5.1, §5.3)."""
    return {
        "name": "megaface-style-identification",
        "evaluator": f"megaface-style-identification{'-cleaned' if cleaned else ''}/v{SPEC_VERSION}",
        "version": SPEC_VERSION,
        "reproduces": "MegaFace Challenge 1 protocol as re-implemented by FaceX-Zoo megaface_evaluator.py",
        **_COMMON,
        "normalisation": "L2 after fusion",
        "distance": "cosine similarity",
        "protocol": "each probe-identity image i joins the distractor gallery; other images j of the identity are probes",
        "rank": "1 + number of distractors strictly more similar to j than i",
        "distractor_ladder": list(ladder),
        "distractor_subsets": f"nested prefixes of a permutation with seed {seed}",
        "verification": "genuine = same-identity probe pairs, impostors = all probe-distractor pairs; sklearn ROC, nearest-point TAR",
        "cleaned": bool(cleaned),
        "cleaning": "listed noisy probes and distractors dropped (not the 513-d Euclidean trick)"
        if cleaned
        else "none",
        "fold_layout": "none",
        "items": "rank1: per ordered probe pair (probe j, gallery image i; by j then i), 1 iff hit at rank 1 on the full gallery",
    }
