"""``identification``: MegaFace-style identification (formats-and-protocols.md §5.1, §5.3): CMC
ranks against the distractors, TAR at FAR on probe pairs, and rank 1 along a distractor ladder.

``items``: ``rank1`` per ordered probe pair (probe j, gallery image i; by j then i), 1 iff hit at
rank 1 on the full gallery.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from interface.evaluation.identification import CMC_RANKS
from interface.evaluation.kinds.base import BenchmarkKind, Layout, Metric, Option, Scored, exact, row
from interface.evaluation.kinds.ijb import TAR_METRIC
from interface.evaluation.kinds.names import (
    RANK_PREFIX,
    rank1_at_distractors_name,
    rank_name,
    tar_at_far_name,
)
from interface.evaluation.spec import evaluator_spec
from interface.limits import SEED_MAX, Range

if TYPE_CHECKING:
    from interface.evaluation.tasks import Benchmark, Context

PROBE_DIR, DISTRACTOR_DIR = "probe", "distractors"
NOISE_FILES = {"probes": "probe_noises.txt", "distractors": "distractor_noises.txt"}


def spec(ladder: list[int], seed: int, cleaned: bool):
    return evaluator_spec(
        "megaface-style-identification",
        "MegaFace Challenge 1 protocol as re-implemented by FaceX-Zoo megaface_evaluator.py",
        variant="cleaned" if cleaned else "",
        normalisation="L2 after fusion",
        distance="cosine similarity",
        protocol="each probe-identity image i joins the distractor gallery; other images j of the identity are probes",
        rank="1 + number of distractors strictly more similar to j than i",
        distractor_ladder=list(ladder),
        distractor_subsets=f"nested prefixes of a permutation with seed {seed}",
        verification="genuine = same-identity probe pairs, impostors = all probe-distractor pairs; sklearn ROC, nearest-point TAR",
        cleaned=bool(cleaned),
        cleaning="listed noisy probes and distractors dropped (not the 513-d Euclidean trick)"
        if cleaned
        else "none",
        fold_layout="none",
        items="rank1: per ordered probe pair (probe j, gallery image i; by j then i), 1 iff hit at rank 1 on the full gallery",
    )


def _records(probe_dir: Path, dis_dir: Path):
    """Probe then distractor images (read on demand) and the probe labels (from record headers)."""
    from interface.data import RecordDataset
    from interface.evaluation.inputs import LazyImages

    probes, distractors = RecordDataset(probe_dir), RecordDataset(dis_dir)
    n_p = len(probes)

    def fetch(i: int) -> np.ndarray:
        return (probes.read(i) if i < n_p else distractors.read(i - n_p))[0]

    labels = np.array([probes.label(i) for i in range(n_p)], dtype=np.int64)
    return LazyImages(fetch, n_p + len(distractors)), labels


def _keep(path: Path, n: int) -> np.ndarray:
    """Boolean keep-mask after removing the record indices listed in noise file ``path``."""
    from interface.errors import InputError
    from interface.evaluation import identification

    if not path.is_file():
        raise InputError(f"noise list {path} does not exist (expected a file; needed by option clean)")
    keep = np.ones(n, dtype=bool)
    keep[identification.read_noise_list(path, n)] = False
    return keep


def score(ctx: Context, bench: Benchmark) -> Scored:
    from interface.evaluation import identification, verification

    root = KIND.layout.require(bench.path, f"identification folder for {bench.name!r}")
    probe_dir, dis_dir = root / PROBE_DIR, root / DISTRACTOR_DIR
    files = [p for d in (probe_dir, dis_dir) for p in sorted(d.iterdir()) if p.is_file()]

    def decode():
        images, labels = _records(probe_dir, dis_dir)
        return images, np.arange(len(images)), {"labels": labels}

    a, hit = ctx.embed_inputs(bench, files, decode)
    labels = a["labels"]
    fused, _ = verification.fuse_flip(a["E0"][a["index"]], a["E1"][a["index"]])
    probes, distractors = fused[: labels.size], fused[labels.size :]
    cleaned = bool(bench.options.get("clean", False))
    dropped = {"probes": 0, "distractors": 0}
    if cleaned:
        keep_p = _keep(root / NOISE_FILES["probes"], probes.shape[0])
        keep_d = _keep(root / NOISE_FILES["distractors"], distractors.shape[0])
        dropped = {"probes": int((~keep_p).sum()), "distractors": int((~keep_d).sum())}
        probes, labels, distractors = probes[keep_p], labels[keep_p], distractors[keep_d]
    seed = int(bench.options.get("seed", 0))
    res = identification.evaluate(probes, labels, distractors, ladder=bench.options.get("ladder"), seed=seed)
    n = res["n_probe_pairs"]
    largest = res["cmc"][res["ladder"][-1]]  # the full gallery
    rows = [row(rank_name(r), largest[r], n) for r in CMC_RANKS]
    n_comparisons = res["n_genuine"] + res["n_impostor"]
    rows += [
        row(tar_at_far_name(far), tar, n_comparisons, far, res["n_impostor"])
        for far, tar in res["tar_at_far"].items()
    ]
    rows += [row(rank1_at_distractors_name(m), res["cmc"][m][1], n) for m in res["ladder"]]
    extra = {
        "cmc": {str(m): {str(r): v for r, v in c.items()} for m, c in res["cmc"].items()},
        "dropped": dropped,
        "cache_hit": hit,
        **{k: res[k] for k in ("n_probe_pairs", "n_genuine", "n_impostor", "n_distractors")},
    }
    return Scored(spec(res["ladder"], seed, cleaned), rows, extra, {rank_name(1): res["rank1_hits"]})


KIND = BenchmarkKind(
    name="identification",
    help="a MegaFace-style folder (probe/, distractors/) scored as rank-k and TAR at FAR 1e-6",
    layout=Layout(
        "a MegaFace-style folder holding probe/ and distractors/, each an InsightFace RecordIO folder "
        "(train.rec, train.idx, property), plus optional probe_noises.txt and distractor_noises.txt",
        needs=(PROBE_DIR, DISTRACTOR_DIR),
    ),
    options=(
        Option("clean", "drop the images listed in the noise lists (default false)", boolean=True),
        Option(
            "ladder",
            "distractor counts of the rank-1 ladder (default 10, 100, ..., all)",
            Range(int, minimum=1),
            is_list=True,
        ),
        Option("seed", "distractor-subset seed (default 0)", Range(int, minimum=0, maximum=SEED_MAX)),
    ),
    metrics=(
        Metric(RANK_PREFIX, True, "rank-k identification rate; rank1@m against m distractors", family=True),
        TAR_METRIC,
    ),
    headline=exact(rank_name(1)),
    score=score,
    synth="identification",
)
