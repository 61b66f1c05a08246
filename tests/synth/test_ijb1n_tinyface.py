"""SynthFace's IJB 1:N and TinyFace-style sets: protocol sizes on the default plan (no rendering),
the written smoke sets read back by the protocol readers, low-resolution images, fixed .mat bytes."""

from __future__ import annotations

import dataclasses
import io
import time

import numpy as np
import pytest
from PIL import Image

from interface.data.ijb_1n import read_ijb_1n
from interface.data.synth import generate_suite, get_preset
from interface.data.synth.ijb1n import plan_ijb_1n
from interface.data.synth.ijbset import plan_ijb
from interface.data.synth.pools import build_pools
from interface.data.synth.tinyface import mat_bytes, name_cells, plan_tinyface
from interface.data.tinyface import MATCH, PROBE, read_tinyface
from interface.errors import InputError
from interface.evaluation.ijb_1n import FPIRS
from interface.evaluation.resolution import rate_resolution

DEFAULT, SMOKE = get_preset("default"), get_preset("smoke")


@pytest.fixture(scope="module")
def smoke_suite(tmp_path_factory):
    return generate_suite(tmp_path_factory.mktemp("synth") / "s0", "smoke", 0, workers=1)


def test_default_ijb_1n_resolves_fpir_0_1_and_probes_never_share_gallery_images():
    pools = build_pools(DEFAULT, 0)
    ijb = plan_ijb(DEFAULT, pools.eval, 0)
    plan = plan_ijb_1n(DEFAULT, pools.eval, 0, ijb)
    owner = plan.ijb.template_identity
    nonmated = {g: sum(plan.gallery_of[owner[t]] != g for t in plan.probe_templates) for g in ("G1", "G2")}
    assert min(nonmated.values()) >= 1000
    assert rate_resolution(0.1, min(nonmated.values()))[1]
    assert not rate_resolution(0.01, min(nonmated.values()))[1]  # honest: 0.01 needs 10,000
    assert len(plan.probe_templates) >= 300
    renders_of: dict[int, set[int]] = {}
    for t, _, _, r in plan.ijb.rows:
        renders_of.setdefault(t, set()).add(r)
    gallery = {s: renders_of[t] for s, t in plan.gallery_templates.items()}
    assert all(not renders_of[t] & gallery[owner[t]] for t in plan.probe_templates)
    # galleries reuse the IJB set's renders; only the probe media are new
    assert plan.ijb.renders[: len(plan.reused)] == [ijb.renders[r] for r in plan.reused]
    assert len(plan.new_renders()) < len(ijb.renders) * 2
    distinct = {frozenset(renders_of[t]) for t in plan.probe_templates}
    assert len(distinct) == len(plan.probe_templates)


def test_default_tinyface_reads_rank1_on_300_probes():
    plan = plan_tinyface(DEFAULT, build_pools(DEFAULT, 0), 0)
    assert len(plan.names[PROBE]) >= 300
    assert set(plan.ids[PROBE]) == set(plan.ids[MATCH])
    sides = {job.size for jobs in plan.jobs.values() for job in jobs}
    assert all(DEFAULT.tinyface_side[0] <= h == w <= DEFAULT.tinyface_side[1] for h, w in sides)


def test_smoke_sets_read_back(smoke_suite):
    one_n = read_ijb_1n(smoke_suite / "ijb_1n")
    g1, g2 = one_n.galleries.values()
    assert np.intersect1d(g1.subjects, g2.subjects).size == 0
    assert np.union1d(g1.subjects, g2.subjects).tolist() == list(range(SMOKE.ijb_ids))
    assert one_n.probes.templates.size == SMOKE.ijb_ids * SMOKE.ijb1n_probes
    genuine = one_n.meta.labels.astype(bool)
    assert genuine.sum() == one_n.probes.templates.size  # one gallery mate per probe
    tiny = read_tinyface(smoke_suite / "tinyface")
    assert len(tiny.probes) == SMOKE.tinyface_ids * SMOKE.tinyface_probes
    assert len(tiny.distractors) == SMOKE.tinyface_distractors
    for folder, names in ((PROBE, tiny.probes), (MATCH, tiny.matches)):
        for name in names:
            with Image.open(tiny.path(folder, name)) as img:
                assert img.size[0] == img.size[1] <= SMOKE.tinyface_side[1]


def test_mat_bytes_do_not_carry_the_time(monkeypatch):
    arrays = {"probe_set": name_cells(["1_1.jpg"]), "probe_ids": np.array([[1.0]])}
    monkeypatch.setattr(time, "asctime", lambda *a: "Mon Jan  1 00:00:00 2001")
    first = mat_bytes(arrays)
    monkeypatch.setattr(time, "asctime", lambda *a: "Tue Feb  2 11:11:11 2022")
    assert mat_bytes(arrays) == first
    import scipy.io

    back = scipy.io.loadmat(io.BytesIO(first))
    assert back["probe_ids"].tolist() == [[1.0]]


@pytest.mark.parametrize(
    "change,match",
    [
        ({"ijb1n_probes": 13}, r"ijb1n_probes=13, expected >= 1000 non-mated probes"),
        ({"tinyface_probes": 2}, r"tinyface_probes=2, expected >= 300 TinyFace probes"),
        ({"tinyface_side": (4, 20)}, r"tinyface_side=\(4, 20\), expected \(min, max\) pixels"),
        ({"ijb1n_template_media": (6, 6)}, r"ijb1n_template_media=\(6, 6\), expected"),
        (
            {"ijb1n_media": (3, 6), "ijb1n_template_media": (1, 1)},
            r"ijb1n_probes=14, expected <= the distinct media subsets",
        ),
    ],
)
def test_preset_counts_checked(change, match):
    with pytest.raises(InputError, match=match):
        dataclasses.replace(DEFAULT, **change)


def test_fpirs_are_the_protocols():
    assert FPIRS == (0.01, 0.1)
