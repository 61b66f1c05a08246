"""One benchmark of one run: load the benchmark files, embed (cached), score, build the record.

The record is what ``python -m interface evaluate`` writes per (run, benchmark):
``{"run_id", "benchmark", "kind", "spec", "rows": [{"run_id", "benchmark", "metric", "value",
"n", "resolved", "n_events"}], "items": {metric: [0 | 1, ...]}, "extra"}``.

``resolved`` / ``n_events`` follow :mod:`interface.evaluation.resolution` for rate read-outs at a
false-accept rate (``n_events = far * impostor comparisons``); other metrics are resolved with
``n_events`` null. ``items`` holds per-item outcomes whose mean is the row's value, in an order
fixed by the benchmark files (pair order, genuine pairs in meta order, probe pairs), so two runs
scored on the same files pair item by item: verification ``accuracy`` (pair correct at its fold's
threshold), IJB ``tar_at_far_<f>`` (genuine pair accepted at that FAR's threshold) and
identification ``rank1`` (probe pair hit at rank 1 on the full gallery).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from interface.errors import InputError
from interface.evaluation import identification, ijb, verification
from interface.evaluation.cache import cache_key, cached_arrays, data_fingerprint
from interface.evaluation.embed import extract
from interface.evaluation.inputs import Inputs, LazyImages, cached_inputs, distinct
from interface.evaluation.resolution import rate_resolution
from interface.evaluation.spec import identification_spec, ijb_spec, verification_spec
from interface.limits import OPTION_RANGES, check, check_items
from interface.untrusted import plain_name

KINDS = ("verification", "ijb", "identification")
# per-benchmark options each kind understands (see cli.py for their meaning)
OPTION_KEYS = {
    "verification": {"n_folds"},
    "ijb": {"flip", "norm", "detector", "chunk"},
    "identification": {"clean", "ladder", "seed"},
}


@dataclass
class Benchmark:
    """One requested benchmark: its name (used in file and table names), kind, data path, output."""

    name: str
    kind: str
    path: Path
    out: Path
    options: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[A-Za-z0-9_.=@+-]+", str(self.name)):
            raise InputError(
                f"benchmark name {self.name!r}: use letters, digits and _ . = @ + - only (it names files)"
            )
        if self.kind not in KINDS:
            raise InputError(
                f"benchmark {self.name!r}: kind {self.kind!r}; expected one of {', '.join(KINDS)}"
            )
        self.path = Path(self.path)
        self.out = Path(self.out)
        self._check_options()

    def _check_options(self) -> None:
        """Each option of this kind in its legal range (interface.limits.OPTION_RANGES) before any work."""
        accepted = OPTION_KEYS[self.kind]
        for key, value in self.options.items():
            if key not in accepted:
                continue  # another kind's option given to all benchmarks by a flag: ignored here
            label = f"benchmark {self.name!r} option {key!r}"
            if key == "ladder":
                check_items(key, value, OPTION_RANGES, label)
            elif key in ijb.IMAGE_FEATURE_MODES:
                if value not in ijb.IMAGE_FEATURE_MODES[key]:
                    allowed = ", ".join(ijb.IMAGE_FEATURE_MODES[key])
                    raise InputError(f"{label}: value {value!r}; expected one of {allowed}")
            elif key == "clean":
                if not isinstance(value, bool):
                    raise InputError(f"{label}: value {value!r}; expected true or false")
            else:
                check(key, value, OPTION_RANGES, label)


@dataclass
class Context:
    """A loaded run and the extraction settings shared by all its benchmarks.

    ``cache_dir``: embeddings per run in ``<cache_dir>/<run_id>/<benchmark>.npz``; ``inputs_dir``:
    the decoded benchmark inputs every run shares (``inputs.py``). None disables either.
    """

    model: torch.nn.Module
    run_id: str
    model_sha: str
    input_size: int = 112
    batch_size: int = 64
    device: str = "auto"
    threads: int | None = None
    cache_dir: Path | None = None
    inputs_dir: Path | None = None
    inputs_status: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        plain_name(self.run_id, "run id")  # it names the cache folder <cache_dir>/<run_id>/

    def embed(self, images: np.ndarray | Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        return extract(
            self.model, images, self.input_size, self.batch_size, self.device, self.threads, progress=True
        )

    def arrays(self, bench: Benchmark, files: list[Path], compute: Callable[[], dict[str, np.ndarray]]):
        """Embeddings for ``bench`` from the cache when model, data and settings are unchanged."""
        key = cache_key(
            model=self.model_sha,
            data=data_fingerprint(files),
            kind=bench.kind,
            input_size=self.input_size,
            colour="RGB",
            layout="distinct images + index",
        )
        cache_file = None if self.cache_dir is None else self.cache_dir / self.run_id / f"{bench.name}.npz"
        return cached_arrays(cache_file, key, compute)

    def inputs(self, bench: Benchmark, files: list[Path], decode) -> Inputs:
        """The benchmark's decoded, deduplicated, resized images (shared cache, see ``inputs.py``);
        ``decode() -> (distinct uint8 images, index, meta)`` runs only when the cache misses."""
        inputs, status = cached_inputs(
            self.inputs_dir, bench.name, bench.kind, files, self.input_size, decode
        )
        self.inputs_status[bench.name] = status
        return inputs

    def embed_inputs(self, bench: Benchmark, files: list[Path], decode) -> tuple[dict[str, np.ndarray], bool]:
        """Embeddings of the distinct images (``E0``, ``E1``), their ``index`` and the meta arrays,
        from the run's embedding cache or computed from the shared inputs."""

        def compute() -> dict[str, np.ndarray]:
            inputs = self.inputs(bench, files, decode)
            E0, E1 = self.embed(inputs.x)
            return {"E0": E0, "E1": E1, "index": inputs.index, **inputs.meta}

        return self.arrays(bench, files, compute)


def _row(
    ctx: Context,
    bench: Benchmark,
    metric: str,
    value: float,
    n: int,
    far: float | None = None,
    n_impostor: int = 0,
) -> dict:
    """One tidy row; ``far`` (with the ``n_impostor`` comparisons it is read on) marks a rate read-out."""
    n_events, resolved = (None, True) if far is None else rate_resolution(far, n_impostor)
    return {
        "run_id": ctx.run_id,
        "benchmark": bench.name,
        "metric": metric,
        "value": float(value),
        "n": int(n),
        "resolved": bool(resolved),
        "n_events": n_events,
    }


def _outcomes(flags: np.ndarray) -> list[int]:
    """Per-item outcomes as JSON 0/1 integers."""
    return np.asarray(flags, dtype=bool).astype(int).tolist()


def _require(path: Path, what: str, is_dir: bool = False) -> Path:
    ok = path.is_dir() if is_dir else path.is_file()
    if not ok:
        raise InputError(f"{what} {path} does not exist (expected a {'folder' if is_dir else 'file'})")
    return path


def _verification(ctx: Context, bench: Benchmark) -> tuple[dict, list[dict], dict, dict]:
    from interface.data import read_bin

    path = _require(bench.path, f"verification pack for {bench.name!r}")

    def decode():
        images, issame = read_bin(path)
        unique, index = distinct(images)
        return unique, index, {"issame": np.asarray(issame, dtype=bool)}

    a, hit = ctx.embed_inputs(bench, [path], decode)
    n_folds = int(bench.options.get("n_folds", 10))
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
    rows = [_row(ctx, bench, k, v, n) for k, v in metrics.items()]
    far = verification.VAL_FAR_TARGET
    rows.insert(2, _row(ctx, bench, "val_at_far_1e-3", res["val_at_far"], n, far, res["n_impostor"]))
    extra = {
        k: res[k]
        for k in ("fold_accuracy", "thresholds", "val_std", "far", "val_thresholds", "n_pairs", "n_folds")
    }
    extra["cache_hit"] = hit
    extra["distinct_images"] = int(a["E0"].shape[0])
    items = {"accuracy": _outcomes(res["pair_correct"])}
    return verification_spec(n_folds), rows, extra, items


class _AlignedIJBImages(Sequence):
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


def _ijb(ctx: Context, bench: Benchmark) -> tuple[dict, list[dict], dict, dict]:
    from interface.data.ijb import read_ijb

    root = _require(bench.path, f"IJB folder for {bench.name!r}", is_dir=True)
    meta = read_ijb(root)
    crops = _require(root / "loose_crop", "IJB image folder", is_dir=True)
    files = sorted((root / "meta").glob("*.txt")) + [crops]

    def decode():
        # a loose crop listed in several templates with the same landmarks is aligned once
        landmarks = np.ascontiguousarray(meta.landmarks, dtype=np.float32)
        keys = [f"{name}|".encode() + landmarks[k].tobytes() for k, name in enumerate(meta.image_names)]
        rows, index = distinct(np.arange(len(keys)), keys)
        aligned = _AlignedIJBImages(crops, meta.image_names, meta.landmarks)
        return LazyImages(lambda k: aligned[int(rows[k])], len(rows)), index, {}

    a, hit = ctx.embed_inputs(bench, files, decode)
    mode = ijb.ImageFeatureMode(
        **{k: bench.options[k] for k in ("flip", "norm", "detector") if k in bench.options}
    )
    chunk = int(bench.options.get("chunk", ijb.CHUNK_PAIRS))
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
        _row(ctx, bench, f"tar_at_far_{far:.0e}", tar, n, far, res["n_impostor"])
        for far, tar in res["tar_at_far"].items()
    ]
    rows += [_row(ctx, bench, "auc", res["auc"], n), _row(ctx, bench, "eer", res["eer"], n)]
    extra = {k: res[k] for k in ("n_pairs", "n_genuine", "n_impostor", "n_templates", "mode")}
    extra["n_images"] = int(a["index"].size)
    extra["distinct_images"] = int(a["E0"].shape[0])
    extra["cache_hit"] = hit
    items = {f"tar_at_far_{far:.0e}": _outcomes(ok) for far, ok in res["accepted_at_far"].items()}
    return ijb_spec(mode.label, chunk), rows, extra, items


def _records(probe_dir: Path, dis_dir: Path) -> tuple[LazyImages, np.ndarray]:
    """Probe then distractor images (read on demand) and the probe labels (from record headers)."""
    from interface.data import RecordDataset

    probes, distractors = RecordDataset(probe_dir), RecordDataset(dis_dir)
    n_p = len(probes)

    def fetch(i: int) -> np.ndarray:
        return (probes.read(i) if i < n_p else distractors.read(i - n_p))[0]

    labels = np.array([probes.label(i) for i in range(n_p)], dtype=np.int64)
    return LazyImages(fetch, n_p + len(distractors)), labels


def _drop(path: Path, n: int) -> np.ndarray:
    """Boolean keep-mask after removing the record indices listed in noise file ``path``."""
    keep = np.ones(n, dtype=bool)
    keep[identification.read_noise_list(_require(path, "noise list"), n)] = False
    return keep


def _identification(ctx: Context, bench: Benchmark) -> tuple[dict, list[dict], dict, dict]:
    root = _require(bench.path, f"identification folder for {bench.name!r}", is_dir=True)
    probe_dir = _require(root / "probe", "identification probe set", is_dir=True)
    dis_dir = _require(root / "distractors", "identification distractor set", is_dir=True)
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
        keep_p = _drop(root / "probe_noises.txt", probes.shape[0])
        keep_d = _drop(root / "distractor_noises.txt", distractors.shape[0])
        dropped = {"probes": int((~keep_p).sum()), "distractors": int((~keep_d).sum())}
        probes, labels, distractors = probes[keep_p], labels[keep_p], distractors[keep_d]
    seed = int(bench.options.get("seed", 0))
    ladder = bench.options.get("ladder")
    res = identification.evaluate(probes, labels, distractors, ladder=ladder, seed=seed)
    n = res["n_probe_pairs"]
    rows = [_row(ctx, bench, f"rank{r}", res[f"rank{r}"], n) for r in identification.CMC_RANKS]
    rows += [
        _row(
            ctx,
            bench,
            f"tar_at_far_{far:.0e}",
            tar,
            res["n_genuine"] + res["n_impostor"],
            far,
            res["n_impostor"],
        )
        for far, tar in res["tar_at_far"].items()
    ]
    rows += [_row(ctx, bench, f"rank1@{m}", res["cmc"][m][1], n) for m in res["ladder"]]
    extra = {
        "cmc": {str(m): {str(r): v for r, v in c.items()} for m, c in res["cmc"].items()},
        "dropped": dropped,
        "cache_hit": hit,
        **{k: res[k] for k in ("n_probe_pairs", "n_genuine", "n_impostor", "n_distractors")},
    }
    items = {"rank1": _outcomes(res["rank1_hits"])}
    return identification_spec(res["ladder"], seed, cleaned), rows, extra, items


_SCORERS = {"verification": _verification, "ijb": _ijb, "identification": _identification}


# A scorer returns (spec, rows, extra, items) for one benchmark.
def run_benchmark(ctx: Context, bench: Benchmark) -> dict:
    """Score ``bench`` for the run in ``ctx``; return the JSON record (not yet written)."""
    t0 = time.perf_counter()
    spec, rows, extra, items = _SCORERS[bench.kind](ctx, bench)
    extra["model_sha256"] = ctx.model_sha
    extra["inputs_cache"] = ctx.inputs_status.get(bench.name, "unused (embeddings cached)")
    extra["wall_time_s"] = round(time.perf_counter() - t0, 3)
    return {
        "run_id": ctx.run_id,
        "benchmark": bench.name,
        "kind": bench.kind,
        "spec": spec,
        "rows": rows,
        "items": items,
        "extra": extra,
    }
