"""``tinyface``: TinyFace closed-set identification (:mod:`interface.evaluation.tinyface`), rank 1,
5 and 20 of the probes against Gallery_Match + Gallery_Distractor.

Images: each file of the split (``interface.data.tinyface``) is decoded and resized to 112 x 112
(PIL bilinear), the size of the MTCNN-aligned copies AdaFace evaluates on, then to the model's
input size like every benchmark. AdaFace's aligned copies are not part of the release; to score
them, lay them out as the release (``Testing_Set/<folder>/<same names>`` plus the two ``.mat``
lists) and point the benchmark there.

``items``: ``rank1`` per probe in ``probe_img_ID_pairs.mat`` order, 1 iff hit at rank 1.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from interface.evaluation.kinds.base import BenchmarkKind, Layout, Metric, Scored, exact, row
from interface.evaluation.kinds.names import RANK_PREFIX, rank_name
from interface.evaluation.spec import evaluator_spec
from interface.evaluation.tinyface import CMC_RANKS

if TYPE_CHECKING:
    from interface.evaluation.tasks import Benchmark, Context

SIDE = 112  # AdaFace's aligned TinyFace images are 112 x 112


def spec():
    return evaluator_spec(
        "tinyface-identification",
        "mk-minchul/AdaFace validation_lq/tinyface_helper.py (TinyFaceTest, DIR_FAR at FAR 1.0)",
        preprocessing=f"decode, resize to {SIDE}x{SIDE} (PIL bilinear), then to the input size (bilinear, antialiased)",
        normalisation="L2 after flip fusion (sum of original and mirrored embeddings: pre_norm_vector_add)",
        distance="inner product of unit features",
        gallery="Gallery_Match (identity from the file name) + Gallery_Distractor (label -100)",
        probes="Probe, in probe_img_ID_pairs.mat order",
        rank="1 + gallery images of other identities scoring strictly above the probe's best match (ties count for the probe)",
        cmc=f"closed set, ranks {', '.join(map(str, CMC_RANKS))}",
        colour_note="RGB as the models here are trained; AdaFace feeds its BGR-trained models BGR",
        fold_layout="none",
        items="rank1: per probe, 1 iff hit at rank 1",
    )


def score(ctx: Context, bench: Benchmark) -> Scored:
    from PIL import Image

    from interface.data.images import decode_image_file
    from interface.data.tinyface import DISTRACTOR, MAT_FILES, MATCH, PROBE, SPLIT, read_tinyface
    from interface.evaluation import tinyface, verification
    from interface.evaluation.inputs import LazyImages

    root = KIND.layout.require(bench.path, f"TinyFace folder for {bench.name!r}")
    split = read_tinyface(root)
    listed = [(PROBE, n) for n in split.probes] + [(MATCH, n) for n in split.matches]
    listed += [(DISTRACTOR, n) for n in split.distractors]
    # every image, not its folder: an image rewritten under its name leaves the folder's mtime
    files = [root / SPLIT / m for m, _, _ in MAT_FILES.values()] + [split.path(f, n) for f, n in listed]

    def fetch(i: int) -> np.ndarray:
        folder, name = listed[i]
        img = decode_image_file(str(split.path(folder, name)), where=f"TinyFace image {folder}/{name}")
        return np.asarray(Image.fromarray(img).resize((SIDE, SIDE), Image.Resampling.BILINEAR))

    def decode():
        return LazyImages(fetch, len(listed)), np.arange(len(listed)), {}

    a, hit = ctx.embed_inputs(bench, files, decode)
    fused, _ = verification.fuse_flip(a["E0"][a["index"]], a["E1"][a["index"]])
    n_p, n_m = len(split.probes), len(split.matches)
    res = tinyface.evaluate(
        fused[:n_p], split.probe_labels, fused[n_p : n_p + n_m], split.match_labels, fused[n_p + n_m :]
    )
    rows = [row(rank_name(r), v, res["n_probes"]) for r, v in res["cmc"].items()]
    extra = {k: res[k] for k in ("n_probes", "n_gallery", "n_distractors")}
    extra.update({"n_gallery_matches": n_m, "cache_hit": hit})
    return Scored(spec(), rows, extra, {rank_name(1): res["rank1_hits"]})


KIND = BenchmarkKind(
    name="tinyface",
    help="a TinyFace release folder (Testing_Set/ with Probe, Gallery_Match, Gallery_Distractor, .mat lists): rank-k",
    layout=Layout(
        "a TinyFace folder holding Testing_Set/ with Probe/, Gallery_Match/, Gallery_Distractor/, "
        "probe_img_ID_pairs.mat and gallery_match_img_ID_pairs.mat",
        needs=("Testing_Set",),
    ),
    options=(),
    metrics=(Metric(RANK_PREFIX, True, f"rank-k identification rate, k in {CMC_RANKS}", family=True),),
    headline=exact(rank_name(1)),
    score=score,
    synth="tinyface",
)
