"""Helpers shared by the reliability tests: CLI subprocesses, the smoke workflow, process kills.

Every command runs in a subprocess exactly as a user would type it (``python -m interface ...``,
``python -m analysis.collect ...``, ``python -m snakemake ...``), in a temporary folder: nothing
here writes into the repository's ``results/`` or ``.snakemake/``.

The uninterrupted smoke workflow is run at most once per test session (:func:`reference_smoke`),
cached at module level because several test modules compare against it.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
SNAKEFILE = REPO / "Snakefile"
SMOKE_CONFIG = REPO / "workflow" / "configs" / "smoke.yaml"
PROFILE = REPO / "workflow" / "profiles" / "default"
#: run-metadata columns of scores.csv that are measurements of the machine, not scores.
TIMING_COLUMNS = ("wall_time_s", "images_per_s")

_SESSION_ROOT = Path(tempfile.mkdtemp(prefix="reliability-"))
if not os.environ.get("RELIABILITY_KEEP"):  # set it to keep the working folders for a post-mortem
    atexit.register(shutil.rmtree, _SESSION_ROOT, ignore_errors=True)


def session_dir(name: str) -> Path:
    """A fresh folder that lives for the whole test session (removed at exit)."""
    path = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=_SESSION_ROOT))
    return path


def env(workdir: Path | None = None) -> dict[str, str]:
    """Environment of every subprocess: one thread, fixed hash seed, GPU locks kept in ``workdir``."""
    out = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONHASHSEED": "0", "CUDA_VISIBLE_DEVICES": ""}
    if workdir is not None:
        out["INTERFACE_GPU_LOCK_DIR"] = str(workdir / ".gpu-locks")
    return out


def cli(
    args: Sequence[str | os.PathLike[str]], cwd: Path, timeout: float = 180
) -> subprocess.CompletedProcess:
    """Run ``python -m <args>`` in ``cwd``; capture text output."""
    return subprocess.run(
        [PYTHON, "-m", *map(str, args)],
        cwd=cwd,
        env=env(cwd),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def smoke_command(workdir: Path, *extra: str, configfiles: Sequence[Path] = ()) -> list[str]:
    """The documented smoke command (default profile, smoke config), run in ``workdir``."""
    files = [str(SMOKE_CONFIG), *map(str, configfiles)]
    return [
        PYTHON,
        "-m",
        "snakemake",
        "-s",
        str(SNAKEFILE),
        "--directory",
        str(workdir),
        "--workflow-profile",
        str(PROFILE),
        "--configfile",
        *files,
        "--cores",
        "2",
        *extra,
    ]


def run_smoke(workdir: Path, *extra: str, configfiles: Sequence[Path] = (), timeout: float = 900):
    """Run the smoke workflow to the end in ``workdir``; return the CompletedProcess."""
    return subprocess.run(
        smoke_command(workdir, *extra, configfiles=configfiles),
        cwd=workdir,
        env=env(workdir),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def tail(result: subprocess.CompletedProcess, n: int = 4000) -> str:
    return (result.stdout or "")[-n:] + "\n--- stderr ---\n" + (result.stderr or "")[-n:]


#: sitecustomize.py for the audited run: every Python process of the workflow (Snakemake and each
#: job) appends one line per file opened for writing (and per rename) to $RELIABILITY_AUDIT_LOG.
AUDIT_SITE = r"""
import os, sys

_LOG = os.environ.get("RELIABILITY_AUDIT_LOG")
_WRITE = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
_busy = False


def _hook(event, args):
    global _busy
    if _busy or not _LOG:
        return
    if event == "open":
        path, mode, flags = args
        writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
            mode is None and isinstance(flags, int) and flags & _WRITE
        )
        if not writing or not isinstance(path, (str, bytes, os.PathLike)):
            return
        line = "open\t" + os.path.abspath(os.fsdecode(path))
    elif event == "os.rename":
        line = "rename\t" + os.path.abspath(os.fsdecode(args[0])) + "\t" + os.path.abspath(os.fsdecode(args[1]))
    else:
        return
    _busy = True
    try:
        fd = os.open(_LOG, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        os.write(fd, (str(os.getpid()) + "\t" + line + "\n").encode())
        os.close(fd)
    finally:
        _busy = False


sys.addaudithook(_hook)
"""


def audit_env(folder: Path) -> dict[str, str]:
    """Environment additions that load the audit hook (:data:`AUDIT_SITE`) from ``folder``."""
    site = folder / "audit-site"
    site.mkdir(parents=True, exist_ok=True)
    (site / "sitecustomize.py").write_text(AUDIT_SITE)
    path = os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH", "")]))
    return {"PYTHONPATH": path, "RELIABILITY_AUDIT_LOG": str(folder / "audit.log")}


@functools.cache
def reference_smoke() -> Path:
    """Working folder of one uninterrupted smoke workflow run (run once per session, audited).

    ``<workdir>.audit.log`` beside it lists every file the run's Python processes opened for
    writing and every rename (see :data:`AUDIT_SITE`).
    """
    workdir = session_dir("smoke-reference")
    extra = audit_env(workdir.parent / f"{workdir.name}.audit")
    result = subprocess.run(
        smoke_command(workdir),
        cwd=workdir,
        env={**env(workdir), **extra},
        capture_output=True,
        text=True,
        timeout=900,
    )
    if result.returncode != 0:
        raise AssertionError(f"the uninterrupted smoke workflow failed:\n{tail(result)}")
    return workdir


def audit_log(workdir: Path) -> list[list[str]]:
    """Records of the audited reference run: [pid, "open", path] or [pid, "rename", src, dst]."""
    text = (workdir.parent / f"{workdir.name}.audit" / "audit.log").read_text()
    return [line.split("\t") for line in text.splitlines() if line]


def score_table(workdir: Path, scores_only: bool = False) -> str:
    """results/tables/scores.csv of ``workdir`` as text, without the timing columns.

    Wall time and images/s are joined from run.json: they measure the machine and legitimately
    differ between two runs; every other byte of the table must not. ``scores_only`` keeps the
    rows whose status is "ok" (drops the rows collect adds for missing or unreadable files).
    """
    import pandas as pd

    table = pd.read_csv(workdir / "results" / "tables" / "scores.csv", dtype=str, keep_default_na=False)
    if scores_only:
        table = table[table["status"] == "ok"]
    return table.drop(columns=[c for c in TIMING_COLUMNS if c in table.columns]).to_csv(index=False)


def digests(folder: Path, pattern: str) -> dict[str, str]:
    """SHA-256 of every file matching ``pattern`` under ``folder``, keyed by relative path."""
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.glob(pattern))
        if p.is_file()
    }


def kill_tree(proc: subprocess.Popen) -> None:
    """SIGKILL ``proc``'s whole process group and any descendant that left it (jobs, workers)."""
    try:
        family = [proc.pid, *(c.pid for c in psutil.Process(proc.pid).children(recursive=True))]
    except psutil.NoSuchProcess:
        family = [proc.pid]
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    for pid in family:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    proc.wait(timeout=30)
    for pid in family:  # reap-or-wait: every member must be gone before the next command starts
        with contextlib.suppress(psutil.NoSuchProcess, psutil.TimeoutExpired, ChildProcessError):
            psutil.Process(pid).wait(timeout=10)


def start(cmd: Sequence[str], cwd: Path) -> subprocess.Popen:
    """Start ``cmd`` in its own process group (so the whole group can be killed); output to ``proc.log_path``."""
    log_path = cwd.parent / f"{cwd.name}.{time.monotonic_ns()}.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            list(cmd), cwd=cwd, env=env(cwd), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    proc.log_path = log_path  # type: ignore[attr-defined]
    return proc


def wait_for(
    proc: subprocess.Popen, condition: Callable[[], bool], timeout: float, poll: float = 0.01
) -> bool:
    """Poll ``condition`` every ``poll`` s until it holds (True) or ``proc`` exits / time runs out (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        if proc.poll() is not None:
            return condition()
        time.sleep(poll)
    return False


#: A tiny CPU training recipe on the SynthFace smoke set (seconds per run).
TINY_RUN = {
    "backbone": "tiny",
    "embedding_size": 32,
    "input_size": 32,
    "batch_size": 32,
    "epochs": 1,
    "max_steps": 2,
    "lr": 0.4,
    "precision": "fp32",
    "num_workers": 0,
    "log_every": 1,
    "checkpoint_every": 0,
    "threads": 1,
    "device": "cpu",
}


def write_run_yaml(path: Path, **keys) -> Path:
    """RUN.yaml at ``path``: :data:`TINY_RUN` updated with ``keys`` (a key set to ... is dropped)."""
    import yaml

    mapping = {**TINY_RUN, **keys}
    path.write_text(yaml.safe_dump({k: v for k, v in mapping.items() if v is not ...}, sort_keys=False))
    return path


@functools.cache
def smoke_data() -> Path:
    """A SynthFace ``smoke`` suite written by the synth CLI (once per session); treat as read-only."""
    out = session_dir("data") / "synth-smoke"
    result = cli(
        ["interface", "synth", "--out", out, "--preset", "smoke", "--seed", "0", "--workers", "1"], out.parent
    )
    if result.returncode != 0:
        raise AssertionError(f"synth failed:\n{tail(result)}")
    return out


@functools.cache
def tiny_run() -> Path:
    """A finished two-step tiny run on :func:`smoke_data` (once per session); treat as read-only."""
    root = session_dir("run")
    config = write_run_yaml(root / "RUN.yaml", data=str(smoke_data()))
    result = cli(["interface", "train", "--config", config, "--out", root / "run"], root)
    if result.returncode != 0:
        raise AssertionError(f"train failed:\n{tail(result)}")
    return root / "run"


#: A user loss that is ArcFace but sleeps per forward pass (costing no CPU), so that a run lasts
#: long enough to act on it while it trains (start a second process, send a signal).
_SLOW_LOSS = """
import time
from interface.losses.arcface import ArcFace
from interface.losses.registry import register_loss


@register_loss("slow_arcface")
class SlowArcFace(ArcFace):
    def forward(self, embeddings, labels):
        time.sleep({sleep_s!r})
        return super().forward(embeddings, labels)
"""


def slow_loss_plugin(folder: Path, sleep_s: float) -> str:
    """Write ``slow_losses.py`` (loss ``slow_arcface``, ``sleep_s`` seconds per forward pass) into
    ``folder``; return its path for RUN.yaml's ``plugins``."""
    plugin = folder / "slow_losses.py"
    plugin.write_text(_SLOW_LOSS.format(sleep_s=float(sleep_s)))
    return str(plugin)


def slow_run_yaml(path: Path, sleep_s: float, **keys) -> Path:
    """RUN.yaml at ``path`` training :func:`slow_loss_plugin`'s loss (written beside it) on
    :func:`smoke_data`; ``keys`` as for :func:`write_run_yaml`."""
    plugins = [slow_loss_plugin(path.parent, sleep_s)]
    return write_run_yaml(path, data=str(smoke_data()), loss="slow_arcface", plugins=plugins, **keys)


def train_command(config: Path, out: Path) -> list[str]:
    """argv of ``python -m interface train`` for :func:`start`."""
    return [PYTHON, "-m", "interface", "train", "--config", str(config), "--out", str(out)]


def same_weights(a: Path, b: Path) -> bool:
    """Whether run folders ``a`` and ``b`` hold bitwise identical ``model.pt`` state dicts."""
    import torch

    wa, wb = (torch.load(run / "model.pt", weights_only=True) for run in (a, b))
    return wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa)


def last_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""


#: Paths (relative to a working folder) written by Snakemake itself or by shell redirection of job
#: logs, not by the harness's writers.
NOT_OURS = ("results/logs/", "results/benchmarks/", ".snakemake/")


def _check_file(path: Path) -> None:
    """Raise if ``path`` is not a whole file of its kind (parsed with an independent reader)."""
    import json
    import pickle
    import xml.etree.ElementTree as ET

    suffix = path.suffix
    if suffix == ".json":
        json.loads(path.read_text(encoding="utf-8"))
    elif suffix == ".jsonl":
        for line in path.read_text(encoding="utf-8").splitlines():
            json.loads(line)
    elif suffix == ".csv":
        import pandas as pd

        if pd.read_csv(path).columns.size == 0:
            raise ValueError("no columns")
    elif suffix == ".pt":
        import torch

        torch.load(path, map_location="cpu", weights_only=True)
    elif suffix == ".bin":
        with open(path, "rb") as handle:
            pickle.load(handle, encoding="bytes")
    elif suffix == ".png":
        from PIL import Image

        with Image.open(path) as img:
            img.verify()
    elif suffix == ".svg":
        ET.parse(path)
    elif suffix == ".html":
        text = path.read_text(encoding="utf-8").strip()
        whole_document = text[:15].lower().startswith(("<!doctype", "<html"))
        if whole_document and not text.endswith("</html>"):  # (fragments are tables for inclusion)
            raise ValueError("does not end with </html>")
    elif suffix in (".yaml", ".yml"):
        import yaml

        yaml.safe_load(path.read_text(encoding="utf-8"))


def half_written(workdir: Path) -> list[str]:
    """Files under ``workdir/results`` (final names only) that are not whole, with the reason.

    JSON, JSONL, CSV, .pt, .bin, PNG, SVG, HTML and YAML files are parsed; dataset folders with a
    manifest are checked against it (sizes and SHA-256 of train.rec, .idx, meta files, ...).
    """
    from interface.data.manifest import verify_manifest

    problems = []
    for path in sorted((workdir / "results").rglob("*")):
        rel = path.relative_to(workdir)
        if not path.is_file() or rel.as_posix().startswith(NOT_OURS):
            continue
        if any(part.startswith(".") for part in rel.parts):
            continue  # temporaries of killed writers: never under a final name
        try:
            _check_file(path)
        except Exception as exc:  # noqa: BLE001  (any parse failure is the finding)
            problems.append(f"{rel}: {type(exc).__name__}: {exc}")
    for manifest in sorted((workdir / "results").rglob("manifest.json")):
        if any(part.startswith(".") for part in manifest.relative_to(workdir).parts):
            continue
        try:
            verify_manifest(manifest.parent, checksums=True)
        except Exception as exc:  # noqa: BLE001
            problems.append(f"{manifest.parent.relative_to(workdir)}: {exc}")
    return problems
