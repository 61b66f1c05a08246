"""The figure rules of the report: one colour per method everywhere, at most 8 series on one axes,
legends outside the data; and the margin-sweep figure's numbers, read back from what it drew."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest
from analysis_matrix import METHODS, matrix_table
from matplotlib.backends.backend_agg import FigureCanvasAgg

from analysis.figures import geometry, learned, sweeps, training
from analysis.figures.palette import MAX_SERIES, Palette, family, setting_params
from analysis.metrics import method_label
from analysis.report_inputs import score_plots
from analysis.runinfo import runs_from_table
from interface.losses import build_loss, list_losses

LABELS = [method_label(*m) for m in METHODS]


@pytest.fixture()
def drawn(monkeypatch: pytest.MonkeyPatch) -> list[plt.Figure]:
    """Every figure the figure modules save, kept open (their ``save`` wraps the real one)."""
    kept: list[plt.Figure] = []
    for module in (geometry, learned, sweeps, training):
        real = module.save

        def keep(fig, path, *, layout="tight", _real=real):
            out = _real(fig, path, layout=layout)  # closing only detaches it from pyplot
            FigureCanvasAgg(fig).draw()  # a canvas again, with the layout the file has
            kept.append(fig)
            return out

        monkeypatch.setattr(module, "save", keep)
    yield kept
    plt.close("all")


def overlaps(a, b) -> bool:
    return a.x0 < b.x1 - 1 and b.x0 < a.x1 - 1 and a.y0 < b.y1 - 1 and b.y0 < a.y1 - 1


def check_rules(figs: list[plt.Figure], palette: Palette) -> int:
    """Assert the rules on every axes; return how many method series were checked."""
    checked = 0
    for fig in figs:
        renderer = fig.canvas.get_renderer()
        boxes = [ax.get_window_extent(renderer) for ax in fig.axes if ax.get_visible()]
        for ax in fig.axes:
            labels = ax.get_legend_handles_labels()[1]
            assert len(set(labels)) <= MAX_SERIES, (fig, ax.get_title(), labels)
            for line in ax.get_lines():
                key = line.get_gid() or line.get_label()  # figures tag a method's lines with its label
                if key in palette.styles:  # a method's line has the method's colour
                    assert line.get_color() == palette.colour(key)
                    checked += 1
            legend = ax.get_legend()
            if legend is not None:
                box = legend.get_window_extent(renderer)
                assert not any(overlaps(box, other) for other in boxes), (ax.get_title(), labels)
        for legend in fig.legends:
            box = legend.get_window_extent(renderer)
            assert not any(overlaps(box, other) for other in boxes)
    return checked


def test_palette_one_colour_per_method_and_families() -> None:
    palette = Palette.for_methods(METHODS)
    assert set(palette.styles) == set(LABELS) and len(LABELS) == 26
    again = Palette.for_methods(list(reversed(METHODS)))
    assert again.styles == palette.styles  # order of discovery does not change a colour
    panels = palette.panels(LABELS)
    assert sorted(label for _, group in panels for label in group) == sorted(LABELS)
    for title, group in panels:
        assert len(group) <= MAX_SERIES
        assert len({palette.colour(lab) for lab in group}) == len(group), title  # distinct within a panel
    assert [t for t, _ in panels] == [
        "no margin",
        "cosine margin",
        "angular margin",
        "adaptive margin",
        "InterFace cc",
        "InterFace dc",
        "InterFace dd",
    ]
    assert family("interface", "variant=dc,alpha=0.2") == "InterFace dc"
    assert family("interface", "default") == "InterFace dd"  # the loss's default variant
    assert family("hostmargin", "m=0.2") == "other"
    assert (
        len(
            Palette.for_methods([("cosface", f"m={m}") for m in range(12)]).panels(
                [f"cosface (m={m})" for m in range(12)]
            )
        )
        == 2
    )  # a family of 12 is split into two panels of at most 8
    assert setting_params("variant=dd,alpha=0.2") == {"variant": "dd", "alpha": 0.2}
    assert setting_params("not a setting") == {}


def test_sweep_lines_of_the_default_matrix() -> None:
    m_lines = {
        line.label: [v for v, _ in line.points]
        for line in sweeps.sweep_lines(METHODS, "m", ("arcface", "cosface", "interface"))
    }
    assert m_lines == {
        "arcface": [0.3, 0.4, 0.5, 0.6],  # 0.5: the default setting, from the loss's defaults
        "cosface": [0.25, 0.35, 0.45],
        "interface dd": [0.4, 0.5, 0.6],
    }
    a_lines = sweeps.sweep_lines(METHODS, "alpha", ("interface",))
    assert [(line.label, [v for v, _ in line.points]) for line in a_lines] == [
        (f"interface {v}", [0.05, 0.1, 0.2]) for v in ("cc", "dc", "dd")
    ]
    assert a_lines[0].colour_key == "interface (variant=cc)"


def test_seed_interval_against_the_t_table() -> None:
    mean, half = sweeps.seed_summary(np.array([1.0, 2.0, 3.0]))
    assert mean == 2.0 and half == pytest.approx(4.302653 / math.sqrt(3), rel=1e-6)  # t_{0.975, 2}
    assert math.isnan(sweeps.seed_summary(np.array([0.7]))[1])


def test_sweep_figure_draws_the_seed_means(drawn, tmp_path: Path) -> None:
    table = matrix_table()
    palette = Palette.for_methods(METHODS)
    figs = sweeps.sweep_figures(table, tmp_path, palette)
    assert [f.path.name for f in figs] == ["sweep_m.png", "sweep_alpha.png"]
    assert all(f.svg.is_file() for f in figs)
    fig_m = drawn[0]
    lfw = next(ax for ax in fig_m.axes if ax.get_title() == "synth_lfw")
    arc = next(c for c in lfw.containers if c.get_label() == "arcface").lines[0]  # errorbar's data line
    rows = table[
        (table["benchmark"] == "synth_lfw") & (table["metric"] == "accuracy") & (table["loss"] == "arcface")
    ]
    expected = [
        100 * rows[rows["setting"] == s]["value"].mean() for s in ("m=0.3", "m=0.4", "default", "m=0.6")
    ]
    np.testing.assert_allclose(np.asarray(arc.get_ydata(), dtype=float), expected, rtol=1e-12)
    assert arc.get_color() == palette.colour("arcface (default)")
    assert len([ax for ax in fig_m.axes if ax.get_visible()]) == 7  # a panel per benchmark
    check_rules(drawn, palette)


def test_run_figures_follow_the_rules(drawn, results_tree: Path, tmp_path: Path) -> None:
    from analysis.collect import collect

    table = collect(results_tree / "scores", results_tree / "runs")
    runs = runs_from_table(table, results_tree / "runs")
    plots = score_plots(results_tree / "scores")
    palette = Palette.for_methods(r.method for r in runs)
    training.training_curves_figure(runs, tmp_path, palette)
    training.roc_figures(plots, runs, tmp_path, palette)
    learned.pair_cosine_figures(plots, runs, tmp_path, palette)
    learned.separation_figure(learned.centre_separation(runs), tmp_path, palette)
    learned.logged_angles_figure(runs, tmp_path)
    assert check_rules(drawn, palette) > 0


def test_geometry_figures_follow_the_rules(drawn, tmp_path: Path) -> None:
    specs = geometry.geometry_specs(list_losses)
    palette = Palette.for_methods(geometry.spec_method(*s) for s in specs)
    losses = geometry.build_specs(build_loss, specs)
    geometry.target_logit_figure(losses, tmp_path, palette)
    shift = geometry.boundary_shift_figure(losses, build_loss, tmp_path, palette)
    assert check_rules(drawn, palette) >= len(losses) - 3  # every non-InterFace loss, twice
    # the InterFace dd panel: gap minus ArcFace's is m-hat(theta1, phi) (degrees) at alpha 0.1
    fig = drawn[-1]
    dd = next(ax for ax in fig.axes if ax.get_title() == "InterFace dd")
    line = next(li for li in dd.get_lines() if li.get_label() == "α=0.1, φ=90°")
    theta1 = np.radians(line.get_xdata())
    loss = build_loss("interface", num_classes=2, embedding_size=2, variant="dd")
    ref = np.degrees(geometry.mhat_grid(loss, theta1, np.array([math.pi / 2]))[0])
    np.testing.assert_allclose(line.get_ydata(), ref, atol=0.15)  # boundary found on a 0.15° grid
    assert shift.family == "geometry"
