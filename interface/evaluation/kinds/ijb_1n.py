"""``ijb_1n``: IJB-B / IJB-C 1:N open-set identification over the two galleries
(:mod:`interface.evaluation.ijb_1n`): TPIR at FPIR 0.01 and 0.1 (mean of G1 and G2) and CMC ranks
1, 5, 10 (pooled).

Option ``galleries: union`` instead scores insightface ``ijb_1n.py``'s closed-set variant on G1 + G2
(:func:`interface.evaluation.ijb_1n.evaluate_union`), to compare with that script's printout.

``items``: per probe template (ascending template id): ``rank1``, 1 iff its mate (in the gallery
holding its subject) is at rank 1; and (open set) ``tpir_at_fpir_<f>``, 1 iff it is identified in
that gallery at the gallery's threshold for f. The latter's mean is the TPIR pooled over probes,
the row's value (the mean of the two galleries) when both hold as many mated probes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from interface.evaluation.ijb_1n import CMC_RANKS, FPIRS
from interface.evaluation.kinds.base import (
    BenchmarkKind,
    Layout,
    Metric,
    Option,
    Scored,
    exact,
    lowest_parameter,
    row,
)
from interface.evaluation.kinds.ijb import KIND as IJB_KIND
from interface.evaluation.kinds.ijb import MODE_OPTIONS, image_embeddings, mode_texts
from interface.evaluation.kinds.names import RANK_PREFIX, TPIR_PREFIX, fpir_of, rank_name, tpir_at_fpir_name
from interface.evaluation.spec import evaluator_spec, insightface_source

if TYPE_CHECKING:
    from interface.evaluation.tasks import Benchmark, Context


GALLERIES = ("separate", "union")
GALLERY_OPTION = Option(
    "galleries",
    "separate: G1 and G2 searched on their own, open set, TPIR averaged (the papers'; default); "
    "union: insightface ijb_1n.py's closed-set search of G1 + G2",
    choices=GALLERIES,
)

_OPEN_SET = {
    "galleries": "G1 and G2 (IJB-B: S1 and S2) searched separately by every probe of <p>_1N_probe_mixed.csv",
    "mated": "a probe is mated in the gallery holding its subject, non-mated in the other",
    "fpir_threshold": "k-th largest top score of the gallery's non-mated probes, k = ceil(FPIR * n_nonmated)",
    "tpir": "mated probes at rank 1 scoring strictly above the threshold / mated probes; mean over the two galleries",
    "cmc": "hits at rank r in each probe's mated gallery / probes (pooled over the galleries)",
    "tpir_resolution": "n = the smaller gallery's non-mated probe count",
}
_UNION = {
    "galleries": "the union G1 + G2 (IJB-B: S1 + S2); every probe is mated",
    "fpir_threshold": "k-th largest of all non-mate probe-gallery scores, k = ceil(FPIR * probes)",
    "tpir": "probes whose mate scores strictly above the threshold / probes (no rank-1 condition)",
    "cmc": "hits at rank r / probes",
    "tpir_resolution": "n = probes (the threshold is read on ceil(FPIR * probes) events)",
}


def spec(mode_label: str, galleries: str):
    union = galleries == "union"
    return evaluator_spec(
        "ijb-1n-union" if union else "ijb-1n-open-set",
        insightface_source("recognition/_evaluation_/ijb/ijb_1n.py")
        + (
            ""
            if union
            else " (meta files, template pooling, FPIR count); galleries searched separately as in "
            "leondgarse/Keras_insightface IJB_evals.py and the IJB-B/C papers"
        ),
        variant=mode_label,
        **mode_texts(mode_label),
        pooling="media mean, template sum, then L2 normalisation (each list's templates)",
        distance="cosine of template vectors",
        rank="1 + gallery templates of other subjects scoring strictly above the mate (ties count for the mate)",
        **(_UNION if union else _OPEN_SET),
        fold_layout="none",
        items=(
            "rank1: per probe template in ascending id, 1 iff its mate is at rank 1"
            + (
                ""
                if union
                else "; tpir_at_fpir_<f>: per probe template, 1 iff identified in its mated "
                "gallery at that gallery's threshold (mean = TPIR pooled over probes)"
            )
        ),
    )


def score(ctx: Context, bench: Benchmark) -> Scored:
    from interface.data.ijb_1n import read_ijb_1n
    from interface.evaluation import ijb, ijb_1n

    meta, a, hit = image_embeddings(ctx, bench)
    lists = read_ijb_1n(bench.path, meta)
    mode = ijb.ImageFeatureMode(
        **{o.name: bench.options[o.name] for o in MODE_OPTIONS if o.name in bench.options}
    )
    feats = ijb.image_features(a["E0"][a["index"]], a["E1"][a["index"]], meta.face_scores, mode)
    templates, tfeats = ijb.pool_templates(feats, meta.template_ids, meta.media_ids)

    def vectors(template_ids: np.ndarray) -> np.ndarray:
        return tfeats[np.searchsorted(templates, template_ids)]  # every listed template is pooled

    galleries = {name: (vectors(g.templates), g.subjects) for name, g in lists.galleries.items()}
    probes = vectors(lists.probes.templates), lists.probes.subjects
    how = bench.options.get("galleries", GALLERIES[0])
    if how == "union":
        union = [np.concatenate(parts) for parts in zip(*galleries.values())]
        res = ijb_1n.evaluate_union(*probes, *union)
    else:
        res = ijb_1n.evaluate(*probes, galleries)
    n = res["n_probes"]
    rows = [row(tpir_at_fpir_name(f), v, n, f, res["n_nonmated_min"]) for f, v in res["tpir_at_fpir"].items()]
    rows += [row(rank_name(r), v, n) for r, v in res["cmc"].items()]
    per_gallery = {
        name: {
            "tpir": {tpir_at_fpir_name(f): v for f, v in g["tpir"].items()},
            "threshold": {tpir_at_fpir_name(f): v for f, v in g["threshold"].items()},
            "fpir_realised": {tpir_at_fpir_name(f): v for f, v in g["fpir_realised"].items()},
            "cmc": {rank_name(r): v for r, v in g["cmc"].items()},
            **{k: g[k] for k in ("n_mated", "n_nonmated", "n_templates")},
        }
        for name, g in res["per_gallery"].items()
    }
    extra = {"per_gallery": per_gallery, "n_probes": n, "n_nonmated_min": res["n_nonmated_min"],
             "mode": mode.label, "galleries": how, "distinct_images": int(a["E0"].shape[0]),
             "cache_hit": hit}  # fmt: skip
    items = {rank_name(1): res["rank1_hits"]}
    items.update({tpir_at_fpir_name(f): flags for f, flags in res.get("identified_at_fpir", {}).items()})
    return Scored(spec(mode.label, how), rows, extra, items)


def _headline(metrics: set[str]) -> str | None:
    """TPIR at the lowest resolved FPIR; rank-1 when no TPIR is resolved."""
    return lowest_parameter(TPIR_PREFIX, fpir_of)(metrics) or exact(rank_name(1))(metrics)


KIND = BenchmarkKind(
    name="ijb_1n",
    help="an IJB folder with the 1:N lists (G1/G2 or S1/S2 galleries, mixed probes): TPIR at FPIR, rank-k",
    layout=Layout(
        IJB_KIND.layout.description + ", and meta/<p>_1N_gallery_G1.csv, _G2.csv (IJB-B: _S1, _S2) "
        "and <p>_1N_probe_mixed.csv",
        needs=IJB_KIND.layout.needs,
    ),
    options=(*MODE_OPTIONS, GALLERY_OPTION),
    metrics=(
        Metric(
            TPIR_PREFIX, True, f"TPIR at FPIR f in {FPIRS} (fraction, mean of the two galleries)", family=True
        ),
        Metric(RANK_PREFIX, True, f"rank-k identification rate, k in {CMC_RANKS}", family=True),
    ),
    headline=_headline,
    score=score,
    synth="ijb_1n",
)
