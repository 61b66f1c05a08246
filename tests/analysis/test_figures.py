"""Figures: every geometry figure for every registered loss, numbers read back from the hooks,
learned/training figures from a hand-written results tree, the toy."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from analysis.figures import geometry, learned, toy, training
from analysis.report_inputs import score_plots
from analysis.runinfo import runs_from_table
from interface.losses import build_loss, list_losses

SPECS = geometry.geometry_specs(list_losses)


def assert_png(path: Path) -> None:
    assert path.is_file()
    with Image.open(path) as img:
        assert img.format == "PNG" and img.width > 200 and img.height > 100


def test_specs_cover_the_registry() -> None:
    names = {name for _, name, _ in SPECS}
    assert names == set(list_losses())
    assert [label for label, _, _ in SPECS if label.startswith("interface")] == [
        "interface (variant=cc)",
        "interface (variant=dc)",
        "interface (variant=dd)",
    ]  # the score table's method labels, so a loss has its default run's colour
    assert "arcface (default)" in [label for label, _, _ in SPECS]


@pytest.mark.parametrize(("label", "name", "params"), SPECS, ids=[s[0] for s in SPECS])
def test_geometry_figures_for_each_loss(label, name, params, tmp_path) -> None:
    loss = build_loss(name, num_classes=2, embedding_size=2, **params)
    figs = [
        geometry.target_logit_figure([(label, loss)], tmp_path),
        geometry.decision_boundary_figure([(label, loss)], tmp_path),
    ]
    for fig in figs:
        assert_png(fig.path)
        assert fig.svg.is_file() and fig.svg.read_text(encoding="utf-8").lstrip().startswith("<?xml")
        assert fig.alt and fig.caption and fig.title
    gap = geometry.boundary_margin(loss, np.linspace(0.05, geometry.THETA1_MAX, 10), math.pi / 2)
    assert np.isfinite(gap).all()  # the shift figure has a curve for every loss


def reference_mhat(theta_y, phi, variant, alpha=0.1):
    """interface-paper-and-code.md §2.2 in float64, written independently of the loss module."""
    mid = {"cc": 0.2, "dc": 0.3, "dd": math.pi / 18}[variant]
    phibar = min(max(math.pi / 2 if variant == "cc" else phi, 0.01), math.pi)
    mu = mid / phibar if variant == "dd" else mid
    return alpha * (math.exp(-mu) - math.exp(-theta_y / phibar))


@pytest.mark.parametrize("variant", ["cc", "dc", "dd"])
def test_mhat_read_back_from_hook(variant) -> None:
    loss = build_loss("interface", num_classes=2, embedding_size=2, variant=variant)
    theta_y = np.array([0.1, 0.3, 0.8, 1.2])
    phi = np.array([0.8, 1.57])
    grid = geometry.mhat_grid(loss, theta_y, phi)
    ref = np.array([[reference_mhat(t, p, variant) for t in theta_y] for p in phi])
    np.testing.assert_allclose(grid, ref, atol=1e-9)


def test_mhat_matches_published_sample_values() -> None:
    # interface-paper-and-code.md §2.4 table, dd at phi = 0.8 and cc
    dd = geometry.mhat_grid(
        build_loss("interface", num_classes=2, embedding_size=2, variant="dd"),
        np.array([0.1, 0.3, 0.8, 1.2]),
        np.array([0.8]),
    )[0]
    np.testing.assert_allclose(dd, [-0.0079, 0.0117, 0.0436, 0.0581], atol=6e-5)
    cc = geometry.mhat_grid(
        build_loss("interface", num_classes=2, embedding_size=2, variant="cc"),
        np.array([0.3, 0.8, 1.2]),
        np.array([1.0]),
    )[0]
    np.testing.assert_allclose(cc, [-0.0007, 0.0218, 0.0353], atol=6e-5)


def test_boundary_margin_closed_forms() -> None:
    theta1 = np.linspace(0.05, 1.5, 12)
    arc = geometry.boundary_margin(
        build_loss("arcface", num_classes=2, embedding_size=2), theta1, math.pi / 2
    )
    np.testing.assert_allclose(arc, 0.5, atol=2e-3)  # ArcFace: theta2 - theta1 = m
    cos = geometry.boundary_margin(
        build_loss("cosface", num_classes=2, embedding_size=2), theta1, math.pi / 2
    )
    np.testing.assert_allclose(cos, np.arccos(np.cos(theta1) - 0.35) - theta1, atol=2e-3)
    dd = build_loss("interface", num_classes=2, embedding_size=2, variant="dd")
    got = geometry.boundary_margin(dd, theta1, 0.8)
    ref = 0.5 + np.array([reference_mhat(t, 0.8, "dd") for t in theta1])
    np.testing.assert_allclose(got, ref, atol=2e-3)  # theta2 - theta1 = m + mhat(theta1, phi)


def test_mhat_figure_and_registry_driven_set(tmp_path) -> None:
    assert_png(geometry.mhat_figure(build_loss, tmp_path).path)

    class Shifted:
        """A stand-in plugin loss: cos(theta_y) - 0.2 target, plain cosine elsewhere."""

        def target_curve(self, theta_y, feature_norm=None):
            return torch.as_tensor(theta_y, dtype=torch.float64).cos() - 0.2

        def nontarget_curve(self, theta_j, theta_y, phi=None):
            return torch.as_tensor(theta_j, dtype=torch.float64).cos()

    (tmp_path / "plugin").mkdir()
    figs = geometry.geometry_figures(tmp_path / "plugin", lambda: ["plugin"], lambda name, **kw: Shifted())
    # without InterFace and ArcFace in the registry only the reference figures are drawn
    assert [f.path.name for f in figs] == ["target_logit.png", "boundaries.png"]


def test_nearest_centre_angles_regular_polygon() -> None:
    angles = np.linspace(0, 2 * math.pi, 7, endpoint=False)
    w = np.stack([np.cos(angles), np.sin(angles)], 1) * np.arange(1, 8)[:, None]  # norms must not matter
    np.testing.assert_allclose(learned.nearest_centre_angles(w), 2 * math.pi / 7, atol=1e-12)


def test_learned_and_training_figures_from_runs(results_tree, tmp_path) -> None:
    from analysis.collect import collect

    table = collect(results_tree / "scores", results_tree / "runs")
    runs = runs_from_table(table, results_tree / "runs")
    plots = score_plots(results_tree / "scores")
    rows = learned.centre_separation(runs)
    assert len(rows) == 8 and all(r["min_angle_deg"] == pytest.approx(360 / 7) for r in rows)
    figs = [
        learned.separation_figure(rows, tmp_path),
        learned.logged_angles_figure(runs, tmp_path),
        *learned.pair_cosine_figures(plots, runs, tmp_path),
        training.training_curves_figure(runs, tmp_path),
        *training.roc_figures(plots, runs, tmp_path),
        training.runtime_figure(table, tmp_path),
        training.bench_ratio_figure({"losses": {"a_ratio": 1.2}}, tmp_path),
    ]
    names = sorted(f.path.name for f in figs)
    assert names == [
        "bench_ratios.png",
        "centre_separation.png",
        "logged_angles.png",
        "pair_cosines_synth_lfw.png",
        "roc_synth_ijb.png",
        "runtime.png",
        "training_curves.png",
    ]
    for f in figs:
        assert_png(f.path)
        assert f.svg.is_file()


def test_figures_with_nothing_to_draw(tmp_path) -> None:
    assert learned.separation_figure([], tmp_path) is None
    assert learned.logged_angles_figure([], tmp_path) is None
    assert training.training_curves_figure([], tmp_path) is None
    assert training.bench_ratio_figure({"x": {"n": 3}}, tmp_path) is None
    assert not list(tmp_path.iterdir())


@pytest.mark.slow
def test_toy_trains_with_the_loss_modules(tmp_path) -> None:
    fig = toy.toy_figure(tmp_path, build_loss, losses=toy.TOY_LOSSES[:1])
    assert_png(fig.path)
    assert "softmax" in fig.caption
    emb, labels, centres = toy.train_toy(build_loss, "arcface", {"s": 16.0, "m": 0.3})
    assert np.allclose(np.linalg.norm(emb, axis=1), 1.0) and centres.shape == (toy.N_IDS, 2)
    # training separates identities: nearly every embedding is closest to its own centre
    assert (np.argmax(emb @ centres.T, axis=1) == labels).mean() > 0.95
