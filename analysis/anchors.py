"""Published reference numbers (``reference/published.csv``) beside reproduced ones.

The CSV holds the numbers of ``shared/reference/anchors.md`` §2.1 with their citations: dataset,
backbone, loss, benchmark, metric, value (percent, as published), tolerance_pp (percentage
points within which a reproduction counts as matching; wider for IJB low-FAR points, whose
published values already spread by ~0.7 pp across evaluator versions) and source.

A published row is shown only where dataset, backbone, loss, benchmark and metric all match a
reproduced method after name normalisation, so synthetic SynthFace results are never set next to
real-data numbers. No InterFace number is in the file: none could be recovered (see
interface-paper-and-code.md §7).
"""

from __future__ import annotations

import re
from importlib import resources

import pandas as pd

from interface.errors import InputError

PUBLISHED_COLUMNS = [
    "dataset",
    "backbone",
    "loss",
    "benchmark",
    "metric",
    "value",
    "tolerance_pp",
    "source",
    "note",
]

# Common spellings of the same dataset, backbone or benchmark, mapped to the CSV's canonical names.
ALIASES = {
    "faces_emore": "ms1mv2",
    "ms1marcface": "ms1mv2",
    "ms1mv2": "ms1mv2",
    "ms1mv3": "ms1mv3",
    "glint360k": "glint360k",
    "casiawebface": "casia_webface",
    "faceswebface": "casia_webface",
    "casia": "casia_webface",
    "r18": "iresnet18",
    "r34": "iresnet34",
    "r50": "iresnet50",
    "r100": "iresnet100",
    "ir50": "iresnet50",
    "ir101": "iresnet100",
    "ir100": "iresnet100",
    "mbf": "mobilefacenet",
    "lfw": "lfw",
    "cfpfp": "cfp_fp",
    "agedb": "agedb_30",
    "agedb30": "agedb_30",
    "calfw": "calfw",
    "cplfw": "cplfw",
    "ijbb": "ijbb",
    "ijbc": "ijbc",
    "megaface": "megaface",
    "tinyface": "tinyface",
}


def canonical(name: str) -> str:
    """Lower-case, drop separators, then map known aliases (``IJB-C`` -> ``ijbc``, ``r100`` -> ``iresnet100``)."""
    key = re.sub(r"[^a-z0-9]", "", str(name).lower())
    return ALIASES.get(key, key)


def load_published(path: str | None = None) -> pd.DataFrame:
    """Read the published anchors (packaged CSV by default).

    Raises:
        InputError: a column missing or a value that is not a number in [0, 100].
    """
    source = path or resources.files("analysis") / "reference" / "published.csv"
    table = pd.read_csv(source, dtype={"note": str}).fillna({"note": ""})
    missing = [c for c in PUBLISHED_COLUMNS if c not in table.columns]
    if missing:
        raise InputError(f"{source}: missing column(s) {', '.join(missing)}")
    bad = table[~table["value"].between(0, 100)]
    if len(bad):
        raise InputError(f"{source}: value {bad['value'].iloc[0]!r} outside [0, 100] (percent expected)")
    return table


#: What identifies a reproduced summary row: the first columns of :func:`match_published`'s table.
MATCH_ID = ["dataset", "backbone", "loss", "setting", "benchmark", "metric"]
MATCH_COLUMNS = [
    *MATCH_ID,
    "reproduced",
    "n_seeds",
    "published",
    "difference",
    "tolerance_pp",
    "within",
    "source",
]


def match_published(summary: pd.DataFrame, published: pd.DataFrame | None = None) -> pd.DataFrame:
    """Published rows whose (dataset, backbone, loss, benchmark, metric) matches a reproduced summary row.

    ``summary`` is :func:`analysis.stats.summarize` output (fractions). Returns columns dataset,
    backbone, method setting, benchmark, metric, reproduced (percent), published, difference
    (reproduced - published, pp), tolerance_pp, within (bool), source.
    """
    published = load_published() if published is None else published
    if summary.empty:
        return pd.DataFrame(columns=MATCH_COLUMNS)
    keys = ["dataset", "backbone", "loss", "benchmark"]
    pub = published.assign(**{f"_{k}": published[k].map(canonical) for k in keys})
    rep = summary.assign(**{f"_{k}": summary[k].map(canonical) for k in keys})
    joined = rep.merge(pub, on=[f"_{k}" for k in keys] + ["metric"], suffixes=("", "_pub"))
    out = joined[MATCH_ID].assign(
        reproduced=joined["mean"] * 100.0, n_seeds=joined["n_seeds"], published=joined["value"]
    )
    out["difference"] = out["reproduced"] - out["published"]
    out["tolerance_pp"] = joined["tolerance_pp"]
    out["within"] = out["difference"].abs() <= out["tolerance_pp"]
    out["source"] = joined["source"]
    return out[MATCH_COLUMNS].reset_index(drop=True)
