"""Every registered benchmark kind, end to end: CLI help, workflow schema and parse-time checks, a
fake run scored on the kind's SynthFace benchmark, the collected table and the report.

Parametrised over ``interface.evaluation.list_benchmark_kinds()``, so a kind added to the registry
is covered without editing this file (it must name, in ``synth``, a benchmark the SynthFace
``smoke`` suite contains).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import wfconfig
from run_records import write_run_json
from snakemake.utils import update_config
from test_config import load, resolve

from analysis.collect import collect
from analysis.metrics import higher_is_better, primary_metrics
from interface.contracts.score_record import ScoreRecord
from interface.errors import InputError
from interface.evaluation import list_benchmark_kinds
from interface.evaluation.kinds import get_kind
from interface.evaluation.kinds.base import Option

KINDS = list_benchmark_kinds()
RUN_ID = "synthface__tiny__arcface__default__s0"


def bench_name(kind: str) -> str:
    return f"probe_{kind}"


@pytest.fixture(scope="module")
def smoke_suite(tmp_path_factory) -> Path:
    """The SynthFace ``smoke`` suite as the synth command writes it."""
    out = tmp_path_factory.mktemp("suite") / "smoke"
    cmd = [
        sys.executable,
        "-m",
        "interface",
        "synth",
        "--out",
        str(out),
        "--preset",
        "smoke",
        "--workers",
        "1",
    ]
    subprocess.run(cmd, check=True, capture_output=True, timeout=300)
    return out


@pytest.fixture(scope="module")
def scored(smoke_suite: Path, tmp_path_factory) -> Path:
    """A results tree: one fake run (untrained tiny backbone) scored on every kind in one call."""
    from interface.backbones import build_backbone
    from interface.evaluation.cli import main

    root = tmp_path_factory.mktemp("results")
    run = root / "runs" / RUN_ID
    run.mkdir(parents=True)
    torch.manual_seed(0)
    torch.save(build_backbone("tiny", embedding_size=16, input_size=32).state_dict(), run / "model.pt")
    write_run_json(run, tags={"run_id": RUN_ID, "dataset": "synthface", "setting": "default"})
    argv = ["--run", str(run), "--device", "cpu", "--batch-size", "64"]
    for kind in KINDS:
        argv += [
            "--benchmark",
            bench_name(kind),
            "--kind",
            kind,
            "--path",
            str(smoke_suite / get_kind(kind).synth),
        ]
        argv += ["--out", str(root / "scores" / RUN_ID / f"{bench_name(kind)}.json")]
    assert main(argv) == 0
    return root


@pytest.fixture(scope="module")
def tables(scored: Path) -> tuple[list[dict], list[dict], list[str]]:
    """The report's main and per-benchmark tables of the collected results (no figures: fast)."""
    from analysis.report_inputs import expected_benchmarks
    from analysis.report_tables import build_tables
    from analysis.runinfo import runs_from_table
    from analysis.stats import summarize

    table = collect(scored / "scores", scored / "runs")
    runs = runs_from_table(table, scored / "runs")
    out = scored / "report"
    (out / "tables").mkdir(parents=True)
    return build_tables(
        table, summarize(table), runs, expected_benchmarks(table, runs, {}), out / "tables", out
    )


def legal_value(opt: Option):
    """A value the option accepts (its first choice, true, or the lowest legal number)."""
    if opt.boolean or opt.choices:
        return True if opt.boolean else opt.choices[0]
    low = opt.range.minimum if opt.range.minimum is not None else (opt.range.exclusive_minimum or 0) + 1
    value = opt.range.kind(low)
    assert opt.range.ok(value), opt
    return [value] if opt.is_list else value


def illegal(opt: Option):
    """A value outside the option's declared type, choices or range."""
    if opt.boolean:
        return "yes"
    if opt.choices:
        return "not-a-choice"
    return ["x"] if opt.is_list else "x"


@pytest.mark.parametrize("kind", KINDS)
def test_help_lists_the_kind_its_layout_and_options(kind, capsys):
    from interface.evaluation.cli import main

    with pytest.raises(SystemExit):
        main(["--help"])
    text = capsys.readouterr().out
    k = get_kind(kind)
    assert f"  {kind}: {k.help}" in text
    assert all(f"    {opt.name}: {opt.help}" in text for opt in k.options)
    with pytest.raises(SystemExit):  # argparse refuses a name the registry does not have
        main(["--run", ".", "--kind", kind + "_unknown"])
    assert "invalid choice" in capsys.readouterr().err


def _with_bench(kind: str, **spec) -> dict:
    path = get_kind(kind).synth
    bench = {bench_name(kind): {"kind": kind, "path": path, **spec}}
    config = load()
    update_config(config, {"datasets": {"synthface": {"benchmarks": bench}}})
    return config


@pytest.mark.parametrize("kind", KINDS)
def test_schema_and_parse_time_checks_accept_the_kind_and_refuse_bad_options(kind):
    config, _ = resolve(_with_bench(kind))
    assert config["datasets"]["synthface"]["benchmarks"][bench_name(kind)]["kind"] == kind
    where = f"datasets.synthface.benchmarks.{bench_name(kind)}.options"
    with pytest.raises(InputError, match=f"{where}.*no_such_option"):
        resolve(_with_bench(kind, options={"no_such_option": 1}))
    own = {o.name for o in get_kind(kind).options}
    for other in {o.name: o for k in KINDS for o in get_kind(k).options if o.name not in own}.values():
        legal = legal_value(other)
        with pytest.raises(InputError, match=f"{where}.{other.name}: not an option of {kind}"):
            resolve(_with_bench(kind, options={other.name: legal}))
    for opt in get_kind(kind).options:
        with pytest.raises(InputError, match=f"{where}.{opt.name}"):
            resolve(_with_bench(kind, options={opt.name: illegal(opt)}))
    schema = wfconfig.load_schema()["$defs"]["benchmark"]["properties"]
    assert kind in schema["kind"]["enum"] and {o.name for o in get_kind(kind).options} <= set(
        schema["options"]["properties"]
    )


@pytest.mark.parametrize("kind", KINDS)
def test_a_fake_run_is_scored_as_the_kind_declares(kind, scored):
    record = ScoreRecord.read(scored / "scores" / RUN_ID / f"{bench_name(kind)}.json")
    k = get_kind(kind)
    assert (record.run_id, record.benchmark, record.kind) == (RUN_ID, bench_name(kind), kind)
    assert record.rows and all(k.metric(r.metric) is not None for r in record.rows), "undeclared metric"
    values = {r.metric: r for r in record.rows}
    assert record.items, "a kind writes per-item outcomes for the paired bootstrap"
    for metric, outcomes in record.items.items():  # the items contract: their mean is the row's value
        assert set(outcomes) <= {0, 1} and metric in values
        assert np.mean(outcomes) == pytest.approx(values[metric].value)
    for r in record.rows:
        if r.n_events is not None:
            assert r.resolved == (r.n_events >= 100)
    assert record.extra["model_sha256"] and record.spec.evaluator.endswith(f"/v{record.spec.version}")
    # the record reads back as it was written
    assert ScoreRecord.from_json(record.to_json(), "again") == record


@pytest.mark.parametrize("kind", KINDS)
def test_the_table_and_the_report_show_the_kind(kind, scored, tables):
    table = collect(scored / "scores", scored / "runs")
    rows = table[table["benchmark"] == bench_name(kind)]
    assert not rows.empty and set(rows["kind"]) == {kind} and set(rows["status"]) == {"ok"}
    head = primary_metrics(table).get(bench_name(kind))
    resolved = set(rows.loc[rows["resolved"], "metric"])
    assert head in resolved
    assert head == (get_kind(kind).headline(resolved) or head)  # the kind's rule when it finds one
    assert higher_is_better(head) is not None
    mains, per_bench, missing = tables
    assert not [m for m in missing if bench_name(kind) in m]
    (main,) = mains  # one dataset x backbone: its CSV has a headline column per benchmark, in percent
    cells = pd.read_csv(scored / "report" / main["files"]["csv"])
    value = rows.loc[rows["metric"] == head, "value"].item()
    assert cells[f"{bench_name(kind)} ({head})"].item() == pytest.approx(100 * value)
    assert [t for t in per_bench if t["slug"].endswith(f"__{bench_name(kind)}")]
