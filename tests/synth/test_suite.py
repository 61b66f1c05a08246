"""SynthFace suite: determinism, counts, fold balance, disjoint identities, readable by interface.data."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from interface.data import RecordDataset, read_bin
from interface.data.synth import generate_suite, get_preset
from interface.data.synth.identity import weighted_distances
from interface.data.synth.jobs import run_job
from interface.data.synth.packs import PACKS
from interface.data.synth.pools import build_pools, identity_hash
from interface.data.synth.suite import plan_train

SMOKE = get_preset("smoke")
PACK_NAMES = ["synth_lfw", "synth_cfp_fp", "synth_agedb_30", "synth_calfw", "synth_cplfw"]


@pytest.fixture(scope="module")
def suite(tmp_path_factory) -> Path:
    return generate_suite(tmp_path_factory.mktemp("synth") / "s0", "smoke", 0, workers=2)


@pytest.fixture(scope="module")
def info(suite) -> dict:
    return json.loads((suite / "synthface.json").read_text())


def _tree(root: Path) -> dict[str, bytes]:
    out = {}
    for dirpath, _, names in os.walk(root):
        for name in names:
            path = Path(dirpath, name)
            out[path.relative_to(root).as_posix()] = path.read_bytes()
    return out


def test_contract_files_present(suite):
    expected = {"train.rec", "train.idx", "property", "manifest.json", "contact_sheet.png"}
    expected |= {f"{name}.bin" for name in PACK_NAMES}
    assert expected <= {p.name for p in suite.iterdir()}
    assert (suite / "ijb" / "loose_crop").is_dir()
    assert sorted(p.name for p in (suite / "ijb" / "meta").iterdir()) == [
        "synth_face_tid_mid.txt",
        "synth_name_5pts_score.txt",
        "synth_template_pair_label.txt",
    ]
    for sub in ("probe", "distractors"):
        assert {"train.rec", "train.idx", "property"} <= {
            p.name for p in (suite / "identification" / sub).iterdir()
        }
    assert not any(p.name.startswith(".") for p in suite.parent.iterdir()), "temporary folder left behind"


@pytest.mark.slow
def test_same_seed_is_byte_identical_for_any_worker_count(suite, tmp_path):
    again = generate_suite(tmp_path / "again", "smoke", 0, workers=1)
    first, second = _tree(suite), _tree(again)
    assert sorted(first) == sorted(second)
    different = [name for name in first if first[name] != second[name]]
    assert different == []


def test_different_seed_differs():
    p0, p1 = build_pools(SMOKE, 0), build_pools(SMOKE, 1)
    assert not np.array_equal(p0.train, p1.train)
    jobs0, _ = plan_train(SMOKE, p0, 0)
    jobs1, _ = plan_train(SMOKE, p1, 1)
    assert run_job(jobs0[0])[0] != run_job(jobs1[0])[0]
    # ...while the same seed reproduces the same bytes outside any suite.
    assert run_job(jobs0[0])[0] == run_job(plan_train(SMOKE, build_pools(SMOKE, 0), 0)[0][0])[0]


def test_training_counts(suite, info):
    ds = RecordDataset(suite)
    assert ds.num_classes == SMOKE.train_ids == info["train"]["identities"]
    assert len(ds) == info["train"]["images"]
    labels = [ds.read(i)[1] for i in range(len(ds))]
    counts = np.bincount(labels, minlength=SMOKE.train_ids)
    assert counts.min() >= SMOKE.train_images[0] and counts.max() <= SMOKE.train_images[1]
    img, _ = ds.read(0)
    assert img.shape == (112, 112, 3) and img.dtype == np.uint8
    assert (suite / "property").read_text().strip() == f"{SMOKE.train_ids},112,112"


@pytest.mark.parametrize("name", PACK_NAMES)
def test_pack_counts_and_fold_balance(suite, info, name):
    images, issame = read_bin(suite / f"{name}.bin")
    pairs = SMOKE.folds * SMOKE.pairs_per_fold
    assert images.shape == (2 * pairs, 112, 112, 3)
    folds = issame.reshape(SMOKE.folds, SMOKE.pairs_per_fold)
    assert (folds.sum(1) == SMOKE.pairs_per_fold // 2).all()  # equal positives and negatives per fold
    ids = np.array(info["packs"][name]["identities"])
    assert ((ids[:, 0] == ids[:, 1]) == issame).all()  # positives share the identity, negatives never


def test_identities_disjoint_between_training_and_evaluation(info):
    hashes = info["identity_hashes"]
    train = set(hashes["train"])
    assert len(train) == SMOKE.train_ids
    assert not train & set(hashes["eval"]) and not train & set(hashes["distractors"])
    # The recorded hashes are those of the pools the generator draws (independent rebuild).
    pools = build_pools(SMOKE, 0)
    assert [identity_hash(v) for v in pools.eval] == hashes["eval"]
    assert [identity_hash(v) for v in pools.train] == hashes["train"]
    # Every evaluation image refers to the evaluation pool, and no eval vector is a training vector.
    for name in PACK_NAMES:
        ids = np.array(info["packs"][name]["identities"])
        assert ids.min() >= 0 and ids.max() < SMOKE.eval_ids
    assert max(info["ijb"]["template_identity"].values()) < SMOKE.eval_ids
    cross = weighted_distances(np.vstack([pools.train, pools.eval]))[: SMOKE.train_ids, SMOKE.train_ids :]
    assert cross.min() > 0.1


def test_lookalike_negatives_are_nearer_than_random_negatives(info):
    pools = build_pools(get_preset("default"), 0)
    d = weighted_distances(pools.eval)
    near = d[np.arange(len(d)), pools.nearest]
    others = d[~np.eye(len(d), dtype=bool)]
    assert near.mean() < 0.6 * others.mean()  # siblings: N(0, 0.25) per field vs uniform strangers
    # In the suite, look-alike packs use exactly the nearest identity as negative partner.
    smoke_pools = build_pools(SMOKE, 0)
    for spec in PACKS:
        ids = np.array(info["packs"][spec.name]["identities"])
        neg = ids[ids[:, 0] != ids[:, 1]]
        if spec.lookalike_negatives:  # age packs put the two sides in random order
            near = smoke_pools.nearest
            assert ((near[neg[:, 0]] == neg[:, 1]) | (near[neg[:, 1]] == neg[:, 0])).all()


def test_ijb_folder(suite, info):
    from interface.data.ijb import read_ijb

    meta = read_ijb(suite / "ijb")
    n = info["ijb"]["images"]
    assert len(meta.image_names) == n and meta.landmarks.shape == (n, 5, 2)
    assert (meta.face_scores > 0.0).all() and (meta.face_scores < 1.0).all()
    templates = np.unique(meta.template_ids)
    assert len(templates) == info["ijb"]["templates"]
    assert int((meta.labels == 1).sum()) == info["ijb"]["genuine_pairs"] > 0
    assert int((meta.labels == 0).sum()) == info["ijb"]["impostor_pairs"] > 0
    ident = {int(t): i for t, i in info["ijb"]["template_identity"].items()}
    for (a, b), label in zip(meta.pairs, meta.labels):
        assert (ident[int(a)] == ident[int(b)]) == bool(label)
    # Each template holds images of a single identity and at least one media.
    for name in meta.image_names[:3]:
        assert (suite / "ijb" / "loose_crop" / name).is_file()


def test_identification_folder(suite, info):
    probe = RecordDataset(suite / "identification" / "probe")
    distractors = RecordDataset(suite / "identification" / "distractors")
    assert probe.num_classes == SMOKE.probe_ids and len(probe) == SMOKE.probe_ids * SMOKE.probe_images
    assert len(distractors) == SMOKE.distractors
    for name, ds in (("probe_noises.txt", probe), ("distractor_noises.txt", distractors)):
        lines = [
            ln for ln in (suite / "identification" / name).read_text().splitlines() if not ln.startswith("#")
        ]
        indices = [int(x) for x in lines]
        assert len(indices) >= 1 and all(0 <= i < len(ds) for i in indices)


def test_manifest_matches_files(suite):
    from interface.data.manifest import verify_manifest

    manifest = verify_manifest(suite, checksums=True)
    assert manifest["generator"] == {"name": "synthface", "version": "3", "preset": "smoke", "seed": 0}
    assert "synth_lfw.bin" in manifest["files"] and "ijb/meta/synth_face_tid_mid.txt" in manifest["files"]


def test_contact_sheet(suite):
    from PIL import Image

    from interface.data.synth.contact import COLUMNS

    with Image.open(suite / "contact_sheet.png") as im:
        assert im.size[0] == 112 * len(COLUMNS)
        assert im.size[1] > 112 * SMOKE.contact_rows


def test_bench_reports_rates_and_preset_sizes(info, tmp_path):
    from interface.data.synth.bench import preset_images, run

    result = run(tmp_path / "bench.json", quick=True)
    assert json.loads((tmp_path / "bench.json").read_text()) == json.loads(json.dumps(result))
    assert result["images"] == 40 and result["images_per_s_per_worker"] > 0
    expected_ratio = result["render_ms_per_image"] / result["jpeg_ms_per_image"]
    assert result["render_to_jpeg_ratio"] == pytest.approx(expected_ratio)
    # The projection counts what the generator renders (contact sheet included), up to range midpoints.
    actual = info["images_rendered"] + SMOKE.contact_rows * 16
    assert abs(preset_images(SMOKE) - actual) <= 0.15 * actual


def test_preset_rejects_inconsistent_counts():
    import dataclasses

    from interface.errors import InputError

    with pytest.raises(InputError, match="pairs_per_fold=5"):
        dataclasses.replace(SMOKE, pairs_per_fold=5)
    with pytest.raises(InputError, match="probe_images=1"):
        dataclasses.replace(SMOKE, probe_images=1)
    with pytest.raises(InputError, match="unknown SynthFace preset"):
        get_preset("huge")
