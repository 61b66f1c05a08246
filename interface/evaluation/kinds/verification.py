"""``verification``: an LFW-style ``.bin`` pair pack scored as 10-fold accuracy (formats-and-protocols.md
§2.3, §3, §3.1), with VAL at FAR 1e-3, AUC and EER.

``items``: ``accuracy`` per pair in pack order, 1 iff classified correctly at its fold's threshold.
``plots``: the histogram of pair cosines after flip fusion (unit vectors: cos = 1 - d / 2 with d
the squared L2 distance the protocol thresholds).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from interface.contracts.score_record import PairHistogram, Plots
from interface.evaluation.kinds.base import BenchmarkKind, Layout, Metric, Option, Scored, exact, row
from interface.evaluation.spec import evaluator_spec, insightface_source
from interface.limits import Range

if TYPE_CHECKING:
    from interface.evaluation.tasks import Benchmark, Context

DEFAULT_FOLDS = 10
VAL_AT_FAR = "val_at_far_1e-3"


def spec(n_folds: int):
    return evaluator_spec(
        "insightface-verification",
        insightface_source("recognition/arcface_torch/eval/verification.py"),
        normalisation="L2 after fusion",
        distance="squared L2 of unit vectors; same iff d < t (strict)",
        thresholds="numpy.arange(0, 4, 0.01)",
        fold_layout=f"KFold({n_folds}, shuffle=False): contiguous blocks in file order",
        threshold_choice="first argmax of training accuracy",
        std="population (ddof=0) over folds",
        val_at_far="FAR 1e-3, grid arange(0, 4, 0.001), threshold by slinear interpolation of training FAR, 0.0 if unreachable",
        auc_eer="sklearn roc_curve defaults over all pairs, score = -distance",
        xnorm="mean L2 norm of all raw original and mirrored embeddings",
        val_at_far_impostors="n = impostor pairs of the pack",
        items="accuracy: per pair in pack order, 1 iff classified correctly at its fold's threshold",
        plots="pair_histogram: cosines of the fused unit embeddings of every pair",
    )


def score(ctx: Context, bench: Benchmark) -> Scored:
    from interface.data import read_bin
    from interface.evaluation import verification
    from interface.evaluation.inputs import distinct

    path = KIND.layout.require(bench.path, f"verification pack for {bench.name!r}")

    def decode():
        images, issame = read_bin(path)
        unique, index = distinct(images)
        return unique, index, {"issame": np.asarray(issame, dtype=bool)}

    a, hit = ctx.embed_inputs(bench, [path], decode)
    n_folds = int(bench.options.get("n_folds", DEFAULT_FOLDS))
    E0, E1 = a["E0"][a["index"]], a["E1"][a["index"]]
    res = verification.evaluate_raw(E0, E1, a["issame"], n_folds=n_folds)
    n = res["n_pairs"]
    metrics = {
        "accuracy": res["accuracy"],
        "accuracy_std": res["accuracy_std"],
        "xnorm": res["xnorm"],
        "threshold": res["threshold"],
    }
    # AUC and EER exist only when the pack holds both genuine and impostor pairs (no NaN in JSON)
    metrics.update({k: res[k] for k in ("auc", "eer") if k in res})
    rows = [row(k, v, n) for k, v in metrics.items()]
    rows.insert(2, row(VAL_AT_FAR, res["val_at_far"], n, verification.VAL_FAR_TARGET, res["n_impostor"]))
    extra = {
        k: res[k]
        for k in ("fold_accuracy", "thresholds", "val_std", "far", "val_thresholds", "n_pairs", "n_folds")
    }
    extra["cache_hit"] = hit
    extra["distinct_images"] = int(a["E0"].shape[0])
    fused, _ = verification.fuse_flip(E0, E1)
    dist, same = verification.pair_distances(fused, a["issame"])
    cosines = 1.0 - dist.astype(np.float64) / 2.0
    return Scored(
        spec(n_folds),
        rows,
        extra,
        {"accuracy": res["pair_correct"]},
        Plots(pair_histogram=PairHistogram.of(cosines, same)),
    )


KIND = BenchmarkKind(
    name="verification",
    help="a .bin pair pack (10-fold accuracy, VAL at FAR 1e-3, AUC, EER)",
    layout=Layout(
        "a .bin pair pack as InsightFace ships them (e.g. lfw.bin, cfp_fp.bin, agedb_30.bin)", is_dir=False
    ),
    options=(Option("n_folds", f"verification folds (protocol: {DEFAULT_FOLDS})", Range(int, minimum=2)),),
    metrics=(
        Metric("accuracy", True, "fraction of pairs classified correctly, mean over folds"),
        Metric("accuracy_std", None, "population std of the fold accuracies"),
        Metric(VAL_AT_FAR, True, "VAL at FAR 1e-3 (fraction)"),
        Metric("xnorm", None, "mean embedding norm"),
        Metric("threshold", None, "mean chosen squared-L2 threshold"),
        Metric("auc", True, "area under the ROC"),
        Metric("eer", False, "equal error rate"),
    ),
    headline=exact("accuracy"),
    score=score,
    synth="synth_lfw.bin",
)
