"""The HTML report: full build from a results tree with a failed run, empty table, CLI, offline-ness."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from analysis_fakes import DROPPED, FAILED, NEVER_RUN, run_id
from analysis_tidy import fixed_table
from run_records import write_run_json

from analysis import collect, report
from analysis.figures import geometry, toy


@pytest.mark.slow
def test_full_report_contents(built: Path) -> None:
    html = (built / "index.html").read_text(encoding="utf-8")
    # the reading order of issue 12: summary, main table, significance, sweeps, geometry, the rest
    sections = re.findall(r'<section id="([^"]+)">', html)
    assert sections == ["summary", "main", "significance", "sweeps", "geometry", "more"]
    assert html.index("<h2>Summary</h2>") < html.index('<section id="main">')
    more = html.split('<section id="more">')[1]
    for part in ("comparisons", "per-benchmark", "published", "synthface", "bench", "run", "runs"):
        assert f'<details id="{part}">' in more
    assert "<details open" not in html  # everything behind <details> starts collapsed
    assert '<details class="banner" id="missing">' in html
    # the failed run and the missing score file are listed, and the failed run's cells are marked
    assert f"{FAILED}: no run.json" in html
    assert f"{DROPPED[0]}: no score for {DROPPED[1]}" in html
    assert 'class="missing"' in html
    never = run_id(*NEVER_RUN, 0)  # declared in the config, never trained: listed and shown as a table row
    assert f"{never}: no score for synth_ijb, synth_lfw" in html and "cosface (m=0.35)" in html
    assert "unused_dataset" not in html.split('<details id="run">')[1].split("<h3>Data")[0]
    # every image referenced exists, has alt text, and lives inside the report folder
    imgs = re.findall(r'<img src="([^"]+)" alt="([^"]+)"', html)
    assert len(imgs) == len(re.findall(r"<img ", html)) >= 12
    for src, alt in imgs:
        assert (built / src).is_file() and not src.startswith(("/", "http")) and len(alt) > 20
        if not src.startswith("figures/contact_sheet"):  # every drawn figure also as SVG, linked
            assert (built / src).with_suffix(".svg").is_file() and f'href="{src[:-4]}.svg"' in html
    for name in ("contact_sheet_synthface.png", "toy_embeddings.png", "mhat.png", "boundary_shift.png"):
        assert name in html
    # offline and script-free
    assert "<script" not in html and not re.search(r'(src|href)="(https?:)?//', html)
    # links to run configs, logs and score files resolve
    assert ">run.json</a>" in html and ">synth_lfw.json</a>" in html and ">train log</a>" in html
    for href in re.findall(r'<a href="([^"#]+)"', html):
        assert (built / href).resolve().is_file(), href
    for stem in ("main__synthface__tiny", "wins", "comparisons", "bench__synthface__tiny__synth_lfw"):
        for ext in ("html", "md", "tex", "csv"):
            assert (built / "tables" / f"{stem}.{ext}").is_file()
    geometry_part = html.split('<section id="geometry">')[1].split("</section>")[0]
    assert "boundary_shift.png" in geometry_part and "mhat.png" in geometry_part


@pytest.fixture()
def no_heavy_figures(monkeypatch: pytest.MonkeyPatch) -> None:
    """Skip the registry-wide geometry and the toy (tested on their own) to keep these tests short."""
    monkeypatch.setattr(geometry, "geometry_figures", lambda out_dir, **kw: [])
    monkeypatch.setattr(toy, "toy_figure", lambda out_dir: None)


def test_empty_table_still_renders(tmp_path: Path, no_heavy_figures) -> None:
    tidy = tmp_path / "scores.csv"
    tidy.write_text(",".join(collect.TIDY_COLUMNS) + "\n")
    index = report.build_report(tidy, None, None, None, None, tmp_path / "report")
    html = index.read_text(encoding="utf-8")
    assert "No run is in the score table" in html and "no runs" in html
    assert "Every run has a score" not in html and "the score table has no rows" in html


def test_partial_table_lists_missing_cells(tmp_path: Path, no_heavy_figures) -> None:
    tidy = tmp_path / "scores.csv"
    collect.write_csv(fixed_table(), tidy)
    index = report.build_report(tidy, None, None, None, None, tmp_path / "report")
    html = index.read_text(encoding="utf-8")
    assert "empty cell: casia/iresnet50: softmax (default) x ijbc" in html
    assert "casia__iresnet50__softmax__default__s0: no score for ijbc" in html


def test_bad_config_is_one_line_error(tmp_path: Path, capsys) -> None:
    tidy = tmp_path / "scores.csv"
    tidy.write_text(",".join(collect.TIDY_COLUMNS) + "\n")
    (tmp_path / "c.json").write_text("[1, 2]")
    assert (
        report.main(
            ["--scores", str(tidy), "--config", str(tmp_path / "c.json"), "--out", str(tmp_path / "r")]
        )
        == 2
    )
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "c.json" in err and "JSON object" in err
    assert report.main(["--scores", str(tmp_path / "absent.csv"), "--out", str(tmp_path / "r")]) == 2


def test_config_plugins_are_imported_before_the_figures_run_plugins_only_reported(
    tmp_path: Path, no_heavy_figures, monkeypatch
) -> None:
    import interface.training.plugins as plugins_module

    seen = []
    monkeypatch.setattr(plugins_module, "import_plugins", lambda names: seen.append(names))
    tidy = tmp_path / "scores.csv"
    tidy.write_text(",".join(collect.TIDY_COLUMNS) + "\n")
    rid = run_id("hostmargin", "m=0.25", 0)
    write_run_json(
        tmp_path / "runs" / rid, loss="hostmargin", config={"plugins": ["host.py", "my_losses.py"]}
    )
    config = {"config": {"plugins": ["my_losses.py"]}, "runs": [{"run_id": rid, "loss": "hostmargin"}]}
    (tmp_path / "c.json").write_text(json.dumps(config))
    html = report.build_report(
        tidy, tmp_path / "runs", None, None, tmp_path / "c.json", tmp_path / "report"
    ).read_text()
    assert seen == [["my_losses.py"]]  # the config's only: a run folder's run.json is not trusted
    assert "not imported" in html and "host.py" in html  # the run's own plugin is reported instead


def test_a_broken_plugin_is_listed_not_fatal(tmp_path: Path, no_heavy_figures) -> None:
    tidy = tmp_path / "scores.csv"
    tidy.write_text(",".join(collect.TIDY_COLUMNS) + "\n")
    (tmp_path / "c.json").write_text('{"config": {"plugins": ["/nonexistent/plugin.py"]}}')
    html = report.build_report(tidy, None, None, None, tmp_path / "c.json", tmp_path / "report").read_text()
    assert "figure plugins: InputError" in html and "/nonexistent/plugin.py" in html


def test_bad_items_file_is_one_line_error(tmp_path: Path, capsys) -> None:
    tidy = tmp_path / "scores.csv"
    tidy.write_text(",".join(collect.TIDY_COLUMNS) + "\n")
    (tmp_path / "items.npz").write_bytes(b"not a zip archive")
    assert report.main(["--scores", str(tidy), "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "items.npz" in err and "items archive" in err
    assert not (tmp_path / "r" / "index.html").exists()


def test_one_seed_renders_and_says_what_cannot_be_computed(tmp_path: Path, no_heavy_figures) -> None:
    from analysis_matrix import matrix_table

    tidy = tmp_path / "scores.csv"
    collect.write_csv(matrix_table(seeds=[0]), tidy)
    html = report.build_report(tidy, None, None, None, None, tmp_path / "report").read_text()
    summary = html.split('<section id="summary">')[1].split("</section>")[0]
    assert "<table" in summary and re.search(r"\bnan\b", html, re.IGNORECASE) is None
    assert "no statistics" in summary  # says what cannot be computed, in the paragraph and the rows
    # the sweep figures still draw the single-seed means (no interval from one seed)
    sweeps_part = html.split('<section id="sweeps">')[1].split("</section>")[0]
    assert "sweep_m.png" in sweeps_part and "sweep_alpha.png" in sweeps_part


def test_the_header_counts_seeds_by_method_when_a_sweep_ran_on_fewer():
    from analysis.runinfo import Run

    def run(loss: str, seed: int) -> Run:
        return Run(f"d__b__{loss}__default__s{seed}", "d", "b", loss, "default", seed, None)

    runs = [run("arcface", s) for s in range(10)] + [run("cosface", s) for s in range(4)]
    view = report.matrix_view(runs, {"d": ["lfw"]})
    assert view["seeds"] == list(range(10))
    assert view["seed_counts"] == [4, 10]
    assert report.matrix_view(runs[:10], {"d": ["lfw"]})["seed_counts"] == [10]
