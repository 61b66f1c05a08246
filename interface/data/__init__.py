"""InsightFace data formats without MXNet: RecordIO training sets, ``.bin`` pair packs, a torch
Dataset with the standard preprocessing, IJB meta files and five-point alignment.

Names are imported lazily so ``import interface.data`` stays cheap (no Pillow/torch until used).
"""

from __future__ import annotations

from interface.lazy import lazy_exports

__all__, __getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "read_bin": "interface.data.bins",
        "write_bin": "interface.data.bins",
        "RecordDataset": "interface.data.records",
        "write_record_dataset": "interface.data.records",
        "FaceDataset": "interface.data.dataset",
        "write_manifest": "interface.data.manifest",
        "verify_manifest": "interface.data.manifest",
    },
)
