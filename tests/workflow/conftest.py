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


#: A loss defined only here: registered by a plugin file, never part of interface.losses.
PLUGIN_LOSS = '''
"""Test plugin: a CosFace-like loss with half the margin on the target cosine."""
from interface.losses.base import MarginLoss
from interface.losses.params import Param
from interface.losses.registry import register_loss


@register_loss("{name}")
class HalfMargin(MarginLoss):
    PARAMS = (
        Param("s", 32.0, "dimensionless", "(0, inf)", float, "logit scale"),
        Param("m", 0.2, "cosine units", "[0, 1)", float, "twice the margin on the target cosine"),
    )

    def target_logit(self, cos_y, ctx):
        return cos_y - 0.5 * self.m
'''

#: A user's own Snakefile that imports this workflow as a module and trains its extra runs with
#: a rule derived from the workflow's train rule (README: "Adding a loss", way b).
HOST_SNAKEFILE = """
configfile: "host_config.yaml"


module harness:
    snakefile:
        "{snakefile}"
    config:
        config


use rule * from harness


use rule train from harness as train_hostmargin with:
    params:
        spec=lambda wildcards: harness.run_spec(wildcards.run, plugins=["host_losses.py"]),
    wildcard_constraints:
        run="|".join(config["extra_runs"]),
"""


def smoke_config() -> dict:
    """config.yaml with workflow/configs/smoke.yaml merged over it (what --configfile does)."""
    import yaml
    from snakemake.utils import update_config

    config = yaml.safe_load((REPO / "config.yaml").read_text())
    update_config(config, yaml.safe_load((REPO / "workflow" / "configs" / "smoke.yaml").read_text()))
    return config


def write_extensions(workdir: Path) -> dict[str, str]:
    """Write both ways of adding a loss into ``workdir``; return the new run ids by way.

    (a) plugin: ``plugin_losses.py`` registers ``plugmargin``; the config lists the plugin and a
    matrix entry. (b) module: ``host_losses.py`` registers ``hostmargin``; ``host.smk`` imports the
    workflow and trains ``extra_runs`` with its own rule.
    """
    import yaml

    (workdir / "plugin_losses.py").write_text(PLUGIN_LOSS.format(name="plugmargin"))
    (workdir / "host_losses.py").write_text(PLUGIN_LOSS.format(name="hostmargin"))
    config = smoke_config()
    plugin_run, host_run = (
        "synth-smoke__tiny__plugmargin__m=0.3__s0",
        "synth-smoke__tiny__hostmargin__m=0.25__s0",
    )
    config["plugins"] = ["plugin_losses.py"]
    config["matrix"]["losses"].append({"loss": "plugmargin", "params": {"m": 0.3}})
    config["extra_runs"] = [host_run]
    (workdir / "host_config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    (workdir / "host.smk").write_text(HOST_SNAKEFILE.format(snakefile=REPO / "Snakefile"))
    return {"plugin": plugin_run, "host": host_run}
