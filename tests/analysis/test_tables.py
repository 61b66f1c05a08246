"""Paper-style tables from a fixed tidy table: values, bold/underline, missing cells, LaTeX structure."""

from __future__ import annotations

import csv
import io
import math
import re
import shutil
import subprocess
from html.parser import HTMLParser

import pandas as pd
import pytest
from analysis_tidy import fixed_table

from analysis import render
from analysis.metrics import primary_metrics
from analysis.runinfo import runs_from_table
from analysis.stats import summarize
from analysis.tables import Cell, main_table, metric_table, rank_cells


@pytest.fixture()
def table():
    tidy = fixed_table()
    summary = summarize(tidy)
    methods = [r.method for r in runs_from_table(tidy, None)]
    return main_table(summary, methods, ["ijbc", "lfw"], primary_metrics(tidy), "CASIA / R50", "main")


def texts(t):
    return {label: [render.cell_text(c) for c in cells] for label, cells in t.rows}


def test_values_order_and_missing(table) -> None:
    assert table.columns == ["ijbc (tar_at_far_1e-04)", "lfw (accuracy)", "Average"]
    # baselines alphabetically, InterFace last
    assert [label for label, _ in table.rows] == [
        "arcface (m=0.5)",
        "cosface (m=0.35)",
        "softmax (default)",
        "interface (variant=dd)",
    ]
    t = texts(table)
    # sample sd of (0.95, 0.952) = 0.001414 -> 0.14 percent
    # average of the two benchmark means; 97.075 is not exact in binary, so format it the same way
    assert t["arcface (m=0.5)"] == ["95.10 ± 0.14", "99.05 ± 0.07", f"{(95.10 + 99.05) / 2:.2f}"]
    assert t["cosface (m=0.35)"] == ["96.10 ± 0.14", "98.85 ± 0.07", "97.47"]
    # one ijbc seed: no sd, and the seed count is shown (the other cells have two)
    assert t["interface (variant=dd)"] == ["95.50 (n=1)", "99.25 ± 0.07", "97.38"]
    assert t["softmax (default)"] == ["—", "97.00 (n=1)", "—"]  # missing cell and therefore no average
    assert table.missing_cells() == [
        ("softmax (default)", "ijbc (tar_at_far_1e-04)"),
        ("softmax (default)", "Average"),
    ]


def test_ranks(table) -> None:
    ranks = {label: [c.rank for c in cells] for label, cells in table.rows}
    # ijbc: cosface 96.10 > interface 95.50 > arcface 95.10; lfw: interface 99.25 > arcface 99.05 > ...
    # average: cosface 97.475 > interface 97.375 > arcface 97.075
    assert ranks["cosface (m=0.35)"] == [1, None, 1]
    assert ranks["interface (variant=dd)"] == [2, 1, 2]
    assert ranks["arcface (m=0.5)"] == [None, 2, None]
    assert ranks["softmax (default)"] == [None, None, None]


def test_html_bold_and_underline_cells(table) -> None:
    html = render.to_html(table)
    rows = dict(re.findall(r'<tr><th scope="row">([^<]+)</th>(.*?)</tr>', html))
    assert rows["cosface (m=0.35)"].startswith(
        '<td class="best"><strong>96.10 ± 0.14</strong></td><td>98.85 ± 0.07</td>'
    )
    assert rows["interface (variant=dd)"] == (
        '<td class="second"><u>95.50 (n=1)</u></td>'
        '<td class="best"><strong>99.25 ± 0.07</strong></td>'
        '<td class="second"><u>97.38</u></td>'
    )
    assert rows["softmax (default)"].count('class="missing"') == 2
    assert '<td class="second"><u>99.05 ± 0.07</u></td>' in rows["arcface (m=0.5)"]
    assert "<strong>" not in rows["arcface (m=0.5)"]


def test_markdown(table) -> None:
    md = render.to_markdown(table).splitlines()
    header = md.index("| Method | ijbc (tar_at_far_1e-04) | lfw (accuracy) | Average |")
    assert md[header + 1] == "|---|---:|---:|---:|"
    assert md[header + 3] == "| cosface (m=0.35) | **96.10 ± 0.14** | 98.85 ± 0.07 | **97.47** |"
    assert md[header + 4] == "| softmax (default) | — | 97.00 (n=1) | — |"


def test_latex_booktabs_structure(table) -> None:
    tex = render.to_latex(table)
    assert tex.count(r"\begin{tabular}{lrrr}") == 1 and tex.count(r"\end{tabular}") == 1
    order = [tex.index(k) for k in (r"\toprule", r"\midrule", r"\bottomrule")]
    assert order == sorted(order)
    # balanced braces once escaped braces are removed
    stripped = tex.replace(r"\{", "").replace(r"\}", "")
    depth = 0
    for ch in stripped:
        depth += {"{": 1, "}": -1}.get(ch, 0)
        assert depth >= 0
    assert depth == 0
    assert re.search(r"(?<!\\)_", tex) is None  # every underscore escaped
    body = tex[tex.index(r"\midrule") + 8 : tex.index(r"\bottomrule")].strip().splitlines()
    assert all(line.count("&") == 3 and line.endswith(r"\\") for line in body)
    assert r"cosface (m=0.35) & \textbf{96.10 $\pm$ 0.14} & 98.85 $\pm$ 0.07 & \textbf{97.47} \\" in tex
    assert (
        r"interface (variant=dd) & \underline{95.50 (n=1)} & \textbf{99.25 $\pm$ 0.07} & \underline{97.38} \\"
        in tex
    )
    assert r"softmax (default) & -- & 97.00 (n=1) & -- \\" in tex
    assert "±" not in tex and "—" not in tex  # pdflatex-safe


def test_csv_numbers(table) -> None:
    rows = list(csv.reader(io.StringIO(render.to_csv(table))))
    assert rows[0][:3] == ["Method", "ijbc (tar_at_far_1e-04)", "ijbc (tar_at_far_1e-04) sd"]
    arc = next(r for r in rows if r[0] == "arcface (m=0.5)")
    assert float(arc[1]) == pytest.approx(95.1) and float(arc[2]) == pytest.approx(0.1414214, abs=1e-6)
    soft = next(r for r in rows if r[0] == "softmax (default)")
    assert soft[1] == "" and soft[2] == ""


def test_write_table_writes_four_formats(table, tmp_path) -> None:
    paths = render.write_table(table, tmp_path)
    assert sorted(paths) == ["csv", "html", "md", "tex"]
    assert all(p.is_file() and p.stat().st_size > 0 for p in paths.values())


def test_metric_table_lower_is_better_and_raw_units() -> None:
    tidy = fixed_table()
    extra = tidy[tidy["metric"] == "accuracy"].copy()
    extra["metric"] = "eer"
    extra["value"] = 1 - extra["value"]
    x = extra.copy()
    x["metric"] = "xnorm"
    x["value"] = 20.0

    tidy = pd.concat([tidy, extra, x], ignore_index=True)
    summary = summarize(tidy)
    methods = [r.method for r in runs_from_table(tidy, None)]
    t = metric_table(summary, methods, "lfw", ["accuracy", "eer", "xnorm"], "lfw", "lfw")
    ranks = {label: [c.rank for c in cells] for label, cells in t.rows}
    assert ranks["interface (variant=dd)"] == [1, 1, None]  # lowest eer is best; xnorm never ranked
    assert texts(t)["softmax (default)"][2] == "20.00 (n=1)"  # raw, not percent; one seed


def test_rank_ties_share_rank() -> None:
    cells = [Cell(value=1.0), Cell(value=1.001), Cell(value=0.5), Cell(missing=True)]
    rank_cells(cells, higher=True)
    assert [c.rank for c in cells] == [1, 1, 2, None]  # equal at two decimals


@pytest.mark.skipif(
    shutil.which("pdflatex") is None, reason="needs pdflatex (apt-get install texlive-latex-recommended)"
)
def test_latex_compiles_in_a_booktabs_document(table, tmp_path) -> None:
    from analysis.report_tables import frame_table

    stats = frame_table(
        pd.DataFrame({"comparison": ["a_b vs c%d"], "p_value": [0.01], "verdict": ["win"]}),
        "Stats: x_y",
        "s_t",
        "comparison",
        ["difference − baseline ≤ 1"],
    )
    doc = "\n".join(
        [
            r"\documentclass{article}",
            r"\usepackage{booktabs}",
            r"\begin{document}",
            render.to_latex(table),
            render.to_latex(stats),
            r"\end{document}",
        ]
    )
    (tmp_path / "t.tex").write_text(doc, encoding="utf-8")
    run = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "t.tex"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout[-2000:]
    assert (tmp_path / "t.pdf").stat().st_size > 1000


class _TableParser(HTMLParser):
    """Header texts and (row label, cell texts) of the one ``<table>`` in an HTML fragment."""

    def __init__(self) -> None:
        super().__init__()
        self.header: list[str] = []
        self.rows: list[list[str]] = []
        self._cell: list[str] | None = None
        self._section = ""

    def handle_starttag(self, tag, attrs) -> None:
        if tag in ("thead", "tbody", "tfoot"):
            self._section = tag
        elif tag == "tr" and self._section == "tbody":
            self.rows.append([])
        elif tag in ("th", "td") and self._section in ("thead", "tbody"):
            self._cell = []

    def handle_endtag(self, tag) -> None:
        if tag in ("th", "td") and self._cell is not None:
            text = "".join(self._cell).strip()
            (self.header if self._section == "thead" else self.rows[-1]).append(text)
            self._cell = None

    def handle_data(self, data) -> None:
        if self._cell is not None:
            self._cell.append(data)


def parse_html_table(path) -> tuple[list[str], list[list[str]]]:
    parser = _TableParser()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser.header, parser.rows


def same_value(shown: str, stored: str) -> bool:
    """Does the HTML text ``shown`` display the CSV value ``stored``?"""
    if shown in ("n/a", "—"):
        return stored in ("", shown)  # a number that cannot be computed, or the word itself
    if shown in ("yes", "no"):
        return stored == {"yes": "True", "no": "False"}[shown]
    try:
        number = float(stored)
    except ValueError:
        return shown == stored
    if math.isnan(number):
        return shown == "n/a"
    # the HTML rounds to some number of significant digits (or fixed decimals); the CSV keeps all
    return shown == stored or any(shown in (f"{number:.{k}g}", f"{number:.{k}f}") for k in range(1, 9))


def assert_csv_has_html_values(html_path, csv_path) -> int:
    """Every HTML cell's value is in the CSV; returns the number of cells compared."""
    header, rows = parse_html_table(html_path)
    records = list(csv.DictReader(io.StringIO(csv_path.read_text(encoding="utf-8"))))
    assert len(records) == len(rows), html_path.name
    index, columns = header[0], header[1:]
    wide = f"{columns[0]} sd" in records[0] if records and columns else False  # a paper table
    compared = 0
    for rec, (label, *cells) in zip(records, rows):
        assert rec[index] == label
        for col, shown in zip(columns, cells):
            if wide:
                numbers = re.findall(r"-?\d+\.\d+", shown.split("(n=")[0])
                mean = f"{float(rec[col]):.2f}" if rec[col] else None
                sd = f"{float(rec[col + ' sd']):.2f}" if rec[col + " sd"] else None
                assert numbers == [x for x in (mean, sd) if x is not None], (html_path.name, label, col)
            else:
                assert same_value(shown, rec[col]), (html_path.name, label, col, shown, rec[col])
            compared += 1
    return compared


def test_every_csv_export_has_the_values_of_its_html_table(tmp_path) -> None:
    from analysis.report_tables import build_tables, stats_tables

    tidy = fixed_table()
    # a third seed for every method so that comparisons are testable (p-values, verdicts)
    extra = tidy[tidy["seed"] == 1].copy()
    extra["seed"] = 2
    extra["value"] = extra["value"] + [0.001 * (i % 3) for i in range(len(extra))]
    tidy = pd.concat([tidy, extra], ignore_index=True)
    runs = runs_from_table(tidy, None)
    views, n = stats_tables(tidy, tmp_path, tmp_path)
    mains, per_bench, _ = build_tables(
        tidy, summarize(tidy), runs, {"casia": ["ijbc", "lfw"]}, tmp_path, tmp_path
    )
    assert n > 0 and len(views) == 2 and mains and per_bench
    compared = 0
    for view in [*views, *mains, *per_bench]:
        compared += assert_csv_has_html_values(
            tmp_path / view["files"]["html"], tmp_path / view["files"]["csv"]
        )
    assert compared > 50
    # "n/a" is a verdict word here, not pandas' default missing-value marker
    comparisons = pd.read_csv(tmp_path / "comparisons.csv", keep_default_na=False, na_values=[""])
    assert {"p_holm", "p_bh", "verdict", "verdict_bh", "mean_diff"} <= set(comparisons.columns)
    assert not any(c.endswith(" sd") for c in comparisons.columns)
    assert comparisons["p_holm"].notna().any() and set(comparisons["verdict"]) <= {
        "win",
        "loss",
        "tie",
        "n/a",
    }
    assert pd.api.types.is_float_dtype(comparisons["mean_diff"])
    w = pd.read_csv(tmp_path / "wins.csv")
    assert pd.api.types.is_integer_dtype(w["wins"]) and w["summary"].str.startswith("wins on").all()


def test_every_csv_of_the_built_report_has_its_html_values(built) -> None:
    """The same check over every table the report writes (the fixture tree: 3 seeds, 2 benchmarks)."""
    tables = built / "tables"
    htmls = sorted(tables.glob("*.html"))
    assert len(htmls) >= 5
    for html_path in htmls:
        assert_csv_has_html_values(html_path, html_path.with_suffix(".csv"))


def test_external_reference_rows_come_first_and_are_never_ranked() -> None:
    tidy = fixed_table()
    best = tidy[tidy["loss"] == "cosface"].assign(
        loss="external", setting="label=zoo-r50", external=True, value=lambda t: t["value"] + 0.02
    )
    best["run_id"] = best["run_id"].str.replace("cosface__m=0.35", "external__label=zoo-r50")
    tidy = pd.concat([tidy, best], ignore_index=True)
    summary = summarize(tidy)
    methods = [r.method for r in runs_from_table(tidy, None)]
    t = main_table(summary, methods, ["ijbc", "lfw"], primary_metrics(tidy), "CASIA / R50", "main")
    assert t.rows[0][0] == "external (label=zoo-r50)"
    ranks = {label: [c.rank for c in cells] for label, cells in t.rows}
    # the reference scores above every trained method, yet the trained ranks are those without it
    assert ranks["external (label=zoo-r50)"] == [None, None, None]
    assert ranks["cosface (m=0.35)"] == [1, None, 1] and ranks["interface (variant=dd)"] == [2, 1, 2]
