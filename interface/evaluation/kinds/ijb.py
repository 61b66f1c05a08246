"""``ijb``: IJB 1:1 template verification (formats-and-protocols.md §4.3-§4.6), TAR at each FAR of
:data:`interface.evaluation.ijb.IJB_FARS`, AUC and EER.

``items``: ``tar_at_far_<f>`` per genuine pair in pair-file order, 1 iff its score is at least the
threshold of the ROC point read at f. ``plots``: the template-pair ROC (thinned).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from interface.contracts.score_record import Plots, RocPoints
from interface.evaluation.ijb import CHUNK_PAIRS, IMAGE_FEATURE_MODES, describe_mode
from interface.evaluation.kinds.base import (
    BenchmarkKind,
    Layout,
    Metric,
    Option,
    Scored,
    lowest_parameter,
    row,
)
from interface.evaluation.kinds.names import TAR_PREFIX, far_of, tar_at_far_name
from interface.evaluation.spec import evaluator_spec, insightface_source
from interface.limits import Range

if TYPE_CHECKING:
    from interface.evaluation.tasks import Benchmark, Context

#: The §4.3 switch options, shared with every kind that pools IJB image features.
MODE_OPTIONS = (
    Option(
        "norm",
        "N1 keeps each image feature's raw norm, N0 L2-normalises it (default N1)",
        choices=IMAGE_FEATURE_MODES["norm"],
    ),
    Option(
        "detector",
        "D1 weights image features by detector score, D0 does not (default D1)",
        choices=IMAGE_FEATURE_MODES["detector"],
    ),
    Option(
        "flip",
        "F2 adds the mirrored image's feature, F1 concatenates it (default F2)",
        choices=IMAGE_FEATURE_MODES["flip"],
    ),
)
#: TAR at FAR metrics: rates, resolved when f * impostor pairs >= 100 (headline: lowest resolved f).
TAR_METRIC = Metric(TAR_PREFIX, True, "TAR at FAR f (fraction)", family=True)


def mode_texts(mode_label: str) -> dict[str, str]:
    """The spec lines the image-feature mode decides (every kind that pools IJB image features):
    the switches chosen, and the flip fusion, which F1 makes a concatenation."""
    fusion = "concatenation (2D) of" if mode_label.endswith("F1") else "sum of"
    return {
        "flip_fusion": f"{fusion} raw original and mirrored (width-flip) embeddings",
        "image_feature": describe_mode(mode_label),
    }


def spec(mode_label: str, chunk: int):
    return evaluator_spec(
        "insightface-ijb-1to1",
        insightface_source("recognition/arcface_torch/eval_ijbc.py"),
        variant=mode_label,
        alignment="5-point similarity transform to the ArcFace 112x112 template, bilinear, border 0",
        **mode_texts(mode_label),
        pooling="media mean, template sum, then L2 normalisation",
        distance="cosine of template vectors, float64 (np.sum(f1 * f2, -1))",
        score_chunk_pairs=int(chunk),
        roc="sklearn roc_curve defaults (pos_label=1, drop_intermediate=True)",
        tar_at_far="nearest existing ROC point to each FAR, highest TAR on ties, no interpolation",
        fold_layout="none (all pairs)",
        items="tar_at_far_<f>: per genuine pair in pair-file order, 1 iff its score >= the threshold of the ROC point read at f",
        plots="roc: the template-pair ROC, at most 400 points log-spaced in FAR",
    )


class AlignedIJBImages(Sequence):
    """Lazy view of the IJB loose crops aligned to 112x112 with their five landmarks."""

    def __init__(self, folder: Path, names: Sequence[str], landmarks: np.ndarray):
        from interface.data.align import align_face

        self.folder, self.names, self.landmarks, self.align = folder, names, landmarks, align_face

    def __len__(self) -> int:
        return len(self.names)

    def __getitem__(self, i: int) -> np.ndarray:
        from interface.data.images import decode_image_file

        img = decode_image_file(
            str(self.folder / str(self.names[i])), where=f"IJB image {self.names[i]!r} (row {i + 1})"
        )
        return self.align(img, np.asarray(self.landmarks[i]), size=112)


def image_embeddings(ctx: Context, bench: Benchmark):
    """``(meta, arrays, cache hit)``: the IJB folder's meta files and the embeddings of its aligned
    loose crops (a crop listed in several templates with the same landmarks is aligned once)."""
    from interface.data.ijb import read_ijb
    from interface.evaluation.inputs import LazyImages, distinct

    root = KIND.layout.require(bench.path, f"IJB folder for {bench.name!r}")
    meta = read_ijb(root)
    crops = root / "loose_crop"
    files = sorted((root / "meta").glob("*.txt")) + [crops]

    def decode():
        landmarks = np.ascontiguousarray(meta.landmarks, dtype=np.float32)
        keys = [f"{name}|".encode() + landmarks[k].tobytes() for k, name in enumerate(meta.image_names)]
        rows, index = distinct(np.arange(len(keys)), keys)
        aligned = AlignedIJBImages(crops, meta.image_names, meta.landmarks)
        return LazyImages(lambda k: aligned[int(rows[k])], len(rows)), index, {}

    a, hit = ctx.embed_inputs(bench, files, decode)
    return meta, a, hit


def score(ctx: Context, bench: Benchmark) -> Scored:
    from interface.evaluation import ijb

    meta, a, hit = image_embeddings(ctx, bench)
    mode = ijb.ImageFeatureMode(
        **{o.name: bench.options[o.name] for o in MODE_OPTIONS if o.name in bench.options}
    )
    chunk = int(bench.options.get("chunk", CHUNK_PAIRS))
    res = ijb.score(
        a["E0"][a["index"]],
        a["E1"][a["index"]],
        meta.face_scores,
        meta.template_ids,
        meta.media_ids,
        meta.pairs,
        meta.labels,
        mode=mode,
        chunk=chunk,
    )
    n = res["n_pairs"]
    rows = [
        row(tar_at_far_name(far), tar, n, far, res["n_impostor"]) for far, tar in res["tar_at_far"].items()
    ]
    rows += [row("auc", res["auc"], n), row("eer", res["eer"], n)]
    extra = {k: res[k] for k in ("n_pairs", "n_genuine", "n_impostor", "n_templates", "mode")}
    extra["n_images"] = int(a["index"].size)
    extra["distinct_images"] = int(a["E0"].shape[0])
    extra["cache_hit"] = hit
    items = {tar_at_far_name(far): ok for far, ok in res["accepted_at_far"].items()}
    plots = Plots(roc=RocPoints.thinned(res["fpr"], res["tpr"]))
    return Scored(spec(mode.label, chunk), rows, extra, items, plots)


KIND = BenchmarkKind(
    name="ijb",
    help="an IJB-style folder (loose_crop/, meta/) scored as 1:1 template TAR at FAR, AUC, EER",
    layout=Layout(
        "an IJB folder such as IJB_release/IJBC holding loose_crop/ (images) and meta/ "
        "(<p>_face_tid_mid.txt, <p>_template_pair_label.txt, <p>_name_5pts_score.txt)",
        needs=("loose_crop", "meta"),
    ),
    options=(
        *MODE_OPTIONS,
        Option("chunk", f"pairs scored per chunk (memory; default {CHUNK_PAIRS})", Range(int, minimum=1)),
    ),
    metrics=(TAR_METRIC, Metric("auc", True, "area under the ROC"), Metric("eer", False, "equal error rate")),
    headline=lowest_parameter(TAR_PREFIX, far_of),
    score=score,
    synth="ijb",
)
