"""One benchmark of one run: the benchmark as requested, the run's embedding context, the record.

:func:`run_benchmark` calls the scorer its kind registers (:mod:`interface.evaluation.kinds`) and
returns the :class:`~interface.contracts.score_record.ScoreRecord` that ``python -m interface
evaluate`` writes per (run, benchmark).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from interface.contracts.score_record import ScoreRecord
from interface.errors import InputError
from interface.evaluation.cache import cache_key, cached_arrays, data_fingerprint
from interface.evaluation.embed import extract
from interface.evaluation.inputs import Inputs, cached_inputs
from interface.evaluation.kinds import get_kind
from interface.untrusted import plain_name


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
        kind = get_kind(self.kind, f"benchmark {self.name!r}")
        self.path = Path(self.path)
        self.out = Path(self.out)
        # options of other kinds (a command-line flag given to every benchmark of a call) are ignored
        kind.check_options(self.options, lambda key: f"benchmark {self.name!r} option {key!r}", strict=False)


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


def run_benchmark(ctx: Context, bench: Benchmark) -> ScoreRecord:
    """Score ``bench`` for the run in ``ctx`` with its kind's scorer; return the record (not yet written)."""
    t0 = time.perf_counter()
    scored = get_kind(bench.kind).score(ctx, bench)
    extra = {
        **scored.extra,
        "model_sha256": ctx.model_sha,
        "inputs_cache": ctx.inputs_status.get(bench.name, "unused (embeddings cached)"),
        "wall_time_s": round(time.perf_counter() - t0, 3),
    }
    return ScoreRecord(
        ctx.run_id, bench.name, bench.kind, scored.spec, scored.rows, scored.items, scored.plots, extra
    )
