"""Bad-input cases through the real command lines: the case record, its builders and the check.

A case prepares one broken input in a temporary folder and names the command a user would run;
:func:`assert_refused` runs it in a subprocess and requires a non-zero exit, no traceback, one
message naming the offending file, key or value, and none of the command's outputs left behind.
The message is the command's only ``error:`` line, and its last stderr line; for a Snakemake dry
run it is the workflow's config error ("InputError in file <rule file>, line N:" and the line after).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from _util import PYTHON, SMOKE_CONFIG, SNAKEFILE, cli, env, last_line, smoke_data, tiny_run, write_run_yaml

RUN_OUTPUTS = ("model.pt", "head.pt", "run.json", "metrics.jsonl")
TRAIN_FILES = ("train.rec", "train.idx", "property")


@dataclass
class Case:
    """A command (``python -m`` arguments, or a full argv for Snakemake) and what it must show."""

    args: list
    names: list[str]  # substrings the one-line message must contain (file names, keys, values)
    absent: list[Path] = field(default_factory=list)  # outputs that must not exist afterwards
    snakemake: bool = False
    cwd: Path | None = None


CaseBuilder = Callable[[Path], Case]


def registry() -> tuple[dict[str, CaseBuilder], Callable[[CaseBuilder], CaseBuilder]]:
    """A test module's case table and the decorator that enters a builder under its function name."""
    cases: dict[str, CaseBuilder] = {}

    def case(fn: CaseBuilder) -> CaseBuilder:
        cases[fn.__name__] = fn
        return fn

    return cases, case


def train_case(tmp: Path, names: list[str], *sets: str, data: Path | None = None, **keys) -> Case:
    """``interface train`` on a RUN.yaml of ``keys`` (data: the smoke suite unless given), ``--set`` each of ``sets``."""
    config = write_run_yaml(tmp / "RUN.yaml", data=str(data or smoke_data()), **keys)
    out = tmp / "run"
    args = ["interface", "train", "--config", config, "--out", out]
    for item in sets:
        args += ["--set", item]
    return Case(args, names, [out / n for n in RUN_OUTPUTS])


def train_cases(table: dict[str, tuple[list[str], list[str], dict]]) -> dict[str, CaseBuilder]:
    """Builders of :func:`train_case` from rows ``name: (names, --set items, RUN.yaml keys)``."""

    def builder(names: list[str], sets: list[str], keys: dict) -> CaseBuilder:
        return lambda tmp: train_case(tmp, names, *sets, **keys)

    return {name: builder(*row) for name, row in table.items()}


def evaluate_args(run: Path, kind: str, path: Path, out: Path, *extra) -> list:
    """``interface evaluate`` arguments for one benchmark named ``bench``."""
    args = ["interface", "evaluate", "--run", run, "--benchmark", "bench", "--kind", kind, "--path", path]
    return [*args, "--out", out, *extra]


def evaluate_case(
    tmp: Path,
    kind: str,
    path: Path,
    names: list[str],
    *extra,
    run: Path | None = None,
    out: Path | None = None,
) -> Case:
    """``interface evaluate`` of ``run`` (default the session's tiny run) on one benchmark."""
    out = out or tmp / "scores" / "bench.json"
    return Case(evaluate_args(run or tiny_run(), kind, path, out, *extra), names, [out])


def snakemake_case(tmp: Path, override_text: str, names: list[str]) -> Case:
    """``snakemake -n`` on the smoke config plus one override file of ``override_text`` (UTF-8)."""
    bad = tmp / "override.yaml"
    bad.write_text(override_text, encoding="utf-8")
    work = tmp / "work"
    work.mkdir()
    argv = [PYTHON, "-m", "snakemake", "-s", SNAKEFILE, "--directory", work, "--cores", "1", "-n"]
    argv += ["--configfile", SMOKE_CONFIG, bad]
    return Case(argv, names, [work / "results"], snakemake=True, cwd=work)


def train_set(tmp: Path, manifest: bool = False) -> Path:
    """A copy of the smoke training set (train.rec/.idx/property), without manifest by default:
    real InsightFace folders have none, so the RecordIO reader itself must catch the defect."""
    out = tmp / "data"
    out.mkdir()
    for name in TRAIN_FILES + (("manifest.json",) if manifest else ()):
        shutil.copy(smoke_data() / name, out / name)
    if manifest:  # the manifest lists the whole suite: keep only the training files in it
        doc = json.loads((out / "manifest.json").read_text())
        doc["files"] = {k: v for k, v in doc["files"].items() if k in TRAIN_FILES}
        (out / "manifest.json").write_text(json.dumps(doc))
    return out


def ijb_copy(tmp: Path) -> Path:
    """A writable copy of the smoke suite's IJB folder."""
    out = tmp / "ijb"
    shutil.copytree(smoke_data() / "ijb", out)
    return out


def snakemake_message(out: str) -> str:
    """The workflow's config error as Snakemake prints it: "InputError in file <rule file>, line N:"
    joined with the one-line message after it (then Snakemake lists the frames of the workflow's
    own code); "" when there is none."""
    lines = [line for line in out.splitlines() if line.strip()]
    i = next((i for i, line in enumerate(lines) if line.startswith("InputError in file")), None)
    return " ".join(lines[i : i + 2]) if i is not None else ""


def run_case(spec: Case, tmp: Path) -> subprocess.CompletedProcess:
    """Run ``spec``'s command in a subprocess (``python -m`` in ``tmp``, or Snakemake in its folder)."""
    if spec.snakemake:
        return subprocess.run(
            list(map(str, spec.args)),
            cwd=spec.cwd,
            env=env(spec.cwd),
            capture_output=True,
            text=True,
            timeout=300,
        )
    return cli(spec.args, tmp)


def assert_refused(spec: Case, tmp: Path) -> None:
    """Run ``spec`` and check the refusal: exit, no traceback, one message naming ``spec.names``,
    none of ``spec.absent`` written."""
    result = run_case(spec, tmp)
    shown = f"exit {result.returncode}\nstdout tail: {result.stdout[-1500:]}\nstderr tail: {result.stderr[-3000:]}"
    assert result.returncode != 0, shown
    assert "Traceback" not in result.stdout + result.stderr, shown
    if spec.snakemake:
        message = snakemake_message(result.stdout + result.stderr)
        assert message.startswith("InputError in file"), shown
    else:
        errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
        message = last_line(result.stderr)
        assert errors == [message], shown
    for needle in spec.names:
        assert needle in message, f"{needle!r} not named in {message!r}\n{shown}"
    for path in spec.absent:
        assert not path.exists(), f"{path} exists after a failed command\n{shown}"
