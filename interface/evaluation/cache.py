"""Embedding cache: one ``.npz`` per (run, benchmark), valid only for the same model and data.

Extraction dominates evaluation time; scoring is cheap. The cache key joins the SHA-256 of the
run's ``model.pt``, a fingerprint of the benchmark files (path, size, mtime) and the extraction
settings, so re-scoring (a new metric, another IJB mode) is instant and a retrained model or a
regenerated benchmark is never served stale embeddings.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from interface.atomic import atomic_open

log = logging.getLogger(__name__)


def file_sha256(path: str | os.PathLike[str], block: int = 1 << 20) -> str:
    """Hex SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(block):
            h.update(chunk)
    return h.hexdigest()


def data_fingerprint(paths: Iterable[str | os.PathLike[str]]) -> list[list]:
    """[path, size, mtime_ns] of each file (cheap change detection for large benchmark files)."""
    out = []
    for p in sorted(str(Path(p).resolve()) for p in paths):
        st = os.stat(p)
        out.append([p, st.st_size, st.st_mtime_ns])
    return out


def cache_key(**parts) -> str:
    """Stable SHA-256 of a JSON-serialisable description of what produced the embeddings."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def cached_arrays(
    cache_file: Path | None, key: str, compute: Callable[[], dict[str, np.ndarray]]
) -> tuple[dict[str, np.ndarray], bool]:
    """Load the arrays stored under ``key`` in ``cache_file``, or compute and store them.

    Returns (arrays, hit). ``cache_file=None`` disables caching. A file with another key (other
    model or data) is recomputed and replaced atomically.
    """
    if cache_file is not None and cache_file.exists():
        try:
            with np.load(cache_file, allow_pickle=False) as z:
                if str(z["__key__"]) == key:
                    log.info("embedding cache hit: %s", cache_file)
                    return {k: z[k] for k in z.files if k != "__key__"}, True
        except (OSError, ValueError, KeyError) as exc:  # unreadable cache: recompute, never fail on it
            log.warning("ignoring unreadable embedding cache %s (%s)", cache_file, exc)
    arrays = compute()
    if cache_file is not None:
        with atomic_open(cache_file, "wb") as handle:
            np.savez(handle, __key__=np.asarray(key), **arrays)
    return arrays, False
