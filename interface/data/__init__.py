"""InsightFace data formats without MXNet: RecordIO training sets, ``.bin`` pair packs, a torch
Dataset with the standard preprocessing, IJB meta files and five-point alignment.

Names are imported lazily so ``import interface.data`` stays cheap (no Pillow/torch until used).
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "read_bin": "interface.data.bins",
    "write_bin": "interface.data.bins",
    "RecordDataset": "interface.data.records",
    "write_record_dataset": "interface.data.records",
    "FaceDataset": "interface.data.dataset",
    "write_manifest": "interface.data.manifest",
    "verify_manifest": "interface.data.manifest",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'interface.data' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)


def __dir__() -> list[str]:
    return __all__
