"""Render a :class:`analysis.tables.Table` as HTML, Markdown, LaTeX (booktabs) or CSV.

Best cell: bold (``<strong>``, ``**``, ``\\textbf``); second: underlined (``<u>``, ``<u>`` in
Markdown, which has no underline of its own, ``\\underline``). Missing cells: an em dash (``--``
in LaTeX) that HTML marks with class ``missing`` and a tooltip.
"""

from __future__ import annotations

import csv
import html
import io
import re
from pathlib import Path

from analysis.tables import Cell, Table, cell_text
from interface.atomic import atomic_open

LATEX_SPECIALS = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    # non-ASCII symbols the tables use, in forms pdflatex accepts without extra packages
    "±": r"$\pm$",
    "−": "-",
    "≤": r"$\leq$",
    "×": r"$\times$",
}


def latex_escape(text: str) -> str:
    """Escape LaTeX's special characters (underscores of benchmark names included)."""
    return "".join(LATEX_SPECIALS.get(ch, ch) for ch in text)


def _html_cell(cell: Cell) -> str:
    text = html.escape(cell_text(cell))
    if cell.missing:
        return f'<td class="missing" title="missing: no score for this cell">{text}</td>'
    if cell.rank == 1:
        return f'<td class="best"><strong>{text}</strong></td>'
    if cell.rank == 2:
        return f'<td class="second"><u>{text}</u></td>'
    if cell.text is not None and not _numeric(cell.text):
        return f'<td class="left">{text}</td>'
    return f"<td>{text}</td>"


def _numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def to_html(table: Table) -> str:
    """An HTML ``<table class="paper">`` fragment with caption and notes in ``<tfoot>``."""
    head = "".join(f'<th scope="col">{html.escape(c)}</th>' for c in [table.index_name, *table.columns])
    body = "".join(
        f'<tr><th scope="row">{html.escape(label)}</th>{"".join(_html_cell(c) for c in cells)}</tr>'
        for label, cells in table.rows
    )
    if not table.rows:
        body = f'<tr><td class="missing" colspan="{len(table.columns) + 1}">no rows: nothing scored</td></tr>'
    notes = " ".join(html.escape(n) for n in table.notes)
    foot = f'<tfoot><tr><td colspan="{len(table.columns) + 1}">{notes}</td></tr></tfoot>' if notes else ""
    return (
        f'<table class="paper" id="{html.escape(table.slug)}"><caption>{html.escape(table.title)}</caption>'
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody>{foot}</table>"
    )


def _md_escape(text: str) -> str:
    return text.replace("|", r"\|")


def to_markdown(table: Table) -> str:
    """A GitHub-flavoured Markdown table preceded by its title and followed by its notes."""

    def md_cell(c: Cell) -> str:
        text = _md_escape(cell_text(c))
        return f"**{text}**" if c.rank == 1 else f"<u>{text}</u>" if c.rank == 2 else text

    lines = [
        f"**{_md_escape(table.title)}**",
        "",
        "| " + " | ".join(_md_escape(c) for c in [table.index_name, *table.columns]) + " |",
        "|" + "---|" + "---:|" * len(table.columns),
    ]
    lines += [
        "| " + " | ".join([_md_escape(label), *(md_cell(c) for c in cells)]) + " |"
        for label, cells in table.rows
    ]
    lines += ["", *table.notes]
    return "\n".join(lines) + "\n"


def to_latex(table: Table) -> str:
    """A ``table`` float with a booktabs ``tabular`` (``\\toprule``/``\\midrule``/``\\bottomrule``)."""

    def tex_cell(c: Cell) -> str:
        text = (
            latex_escape(c.text)
            if c.text is not None and not c.missing
            else cell_text(c, pm=r"$\pm$", dash="--")
        )
        return rf"\textbf{{{text}}}" if c.rank == 1 else rf"\underline{{{text}}}" if c.rank == 2 else text

    lines = [
        r"\begin{table}[t]",
        r"\centering",
        rf"\caption{{{latex_escape(table.title)}}}",
        rf"\label{{tab:{re.sub(r'[^A-Za-z0-9-]', '-', table.slug)}}}",  # a label takes no escapes
        r"\begin{tabular}{l" + "r" * len(table.columns) + "}",
        r"\toprule",
        " & ".join(latex_escape(c) for c in [table.index_name, *table.columns]) + r" \\",
        r"\midrule",
    ]
    lines += [
        " & ".join([latex_escape(label), *(tex_cell(c) for c in cells)]) + r" \\"
        for label, cells in table.rows
    ]
    lines += [r"\bottomrule", r"\end{tabular}"]
    lines += [rf"\par\smallskip{{\footnotesize {latex_escape(n)}}}" for n in table.notes]
    lines += [r"\end{table}"]
    return "\n".join(lines) + "\n"


def to_csv(table: Table) -> str:
    """Wide CSV: one row per method, ``<column>`` (mean, display units) and ``<column> sd`` columns."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow([table.index_name, *(x for c in table.columns for x in (c, f"{c} sd"))])
    for label, cells in table.rows:
        writer.writerow(
            [
                label,
                *(
                    x
                    for c in cells
                    for x in (
                        "" if c.value is None else repr(round(c.value, 6)),
                        "" if c.sd is None else repr(round(c.sd, 6)),
                    )
                ),
            ]
        )
    return buf.getvalue()


RENDERERS = {"html": to_html, "md": to_markdown, "tex": to_latex, "csv": to_csv}


def write_table(table: Table, folder: Path) -> dict[str, Path]:
    """Write ``<slug>.{html,md,tex,csv}`` atomically into ``folder``; return the paths by format."""
    out = {}
    for ext, fn in RENDERERS.items():
        path = folder / f"{table.slug}.{ext}"
        with atomic_open(path, "w", encoding="utf-8") as handle:
            handle.write(fn(table))
        out[ext] = path
    return out
