"""Workflow test helpers: the workflow's Python (workflow/scripts) on sys.path, a Snakemake runner.

Every Snakemake call runs in a subprocess with ``--directory`` set to a temporary folder, so no
test writes into the repository's results/ or .snakemake/.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = REPO / "workflow" / "scripts"
if str(SCRIPTS) not in sys.path:
    sys.path.insert(0, str(SCRIPTS))


def snakemake(
    workdir: Path, *args: str, timeout: float = 300, snakefile: Path | None = None, **popen
) -> subprocess.CompletedProcess:
    """Run ``python -m snakemake -s <Snakefile> --directory workdir *args``; capture text output."""
    cmd = [
        sys.executable,
        "-m",
        "snakemake",
        "-s",
        str(snakefile or REPO / "Snakefile"),
        "--directory",
        str(workdir),
        *args,
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "INTERFACE_GPU_LOCK_DIR": str(workdir / ".gpu-locks")}
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, cwd=workdir, **popen)


def job_counts(output: str) -> dict[str, int]:
    """The 'Job stats' table of a Snakemake run or dry run: rule name -> number of jobs."""
    table = output.split("Job stats:", 1)[1]
    return {
        m.group(1): int(m.group(2))
        for m in re.finditer(r"^(\w+)\s+(\d+)$", table, flags=re.M)
        if m.group(1) != "total"
    }


@pytest.fixture
def fake_real_data(tmp_path: Path) -> dict[str, str]:
    """Empty stand-ins of real dataset folders in the layouts the paper configs expect."""
    root = tmp_path / "real"
    for name in ("casia", "ms1mv2"):
        for item in ("train.rec", "train.idx", "property"):
            (root / name).mkdir(parents=True, exist_ok=True)
            (root / name / item).write_bytes(b"")
    (root / "bins").mkdir()
    for pack in ("lfw", "cfp_ff", "cfp_fp", "agedb_30", "calfw", "cplfw", "vgg2_fp"):
        (root / "bins" / f"{pack}.bin").write_bytes(b"")
    for ijb in ("IJBB", "IJBC"):
        for sub in ("loose_crop", "meta"):
            (root / "ijb" / ijb / sub).mkdir(parents=True)
    for sub in ("probe", "distractors"):
        (root / "megaface" / sub).mkdir(parents=True)
    return {name: str(root / name) for name in ("casia", "ms1mv2", "bins", "ijb", "megaface")}
