"""Toy run folder and tiny benchmark folders in the real formats (written with interface.data)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from run_records import write_run_json


@pytest.fixture(scope="session")
def toy_run(tmp_path_factory):
    """A run folder with an untrained ``tiny`` backbone (16-d, 32 px input) as the trainer writes it."""
    from interface.backbones import build_backbone

    run = tmp_path_factory.mktemp("runs") / "toy__tiny__arcface__m=0.5__s0"
    run.mkdir()
    torch.manual_seed(0)
    model = build_backbone("tiny", embedding_size=16, input_size=32)
    torch.save(model.state_dict(), run / "model.pt")
    write_run_json(run, backbone="tiny", embedding_size=16, input_size=32, tags={"run_id": "toy-run"})
    return run


def _faces(rng, n_id, per, side):
    """Identity-dependent smooth images: a per-identity colour pattern plus small noise."""
    base = rng.integers(0, 256, size=(n_id, 4, 4, 3)).astype(np.float64)
    up = np.kron(base, np.ones((1, side // 4, side // 4, 1)))
    labels = np.repeat(np.arange(n_id), per)
    imgs = up[labels] + rng.normal(0, 12, size=(n_id * per, side, side, 3))
    return np.clip(imgs, 0, 255).astype(np.uint8), labels


@pytest.fixture(scope="session")
def toy_data(tmp_path_factory):
    """``{name: path}`` of a .bin pack, an IJB-style folder and an identification folder."""
    from PIL import Image

    from interface.data import write_bin, write_record_dataset
    from interface.data.align import template_for

    root = tmp_path_factory.mktemp("data")
    rng = np.random.default_rng(0)
    imgs, labels = _faces(rng, 20, 4, 32)
    # 40 pairs: even pairs genuine (images of one identity), odd pairs impostors
    order, issame = [], []
    for p in range(40):
        a = p % 20
        if p % 2 == 0:
            order += [4 * a, 4 * a + 1]
        else:
            order += [4 * a, 4 * ((a + 7) % 20)]
        issame.append(p % 2 == 0)
    write_bin(root / "toy_lfw.bin", imgs[order], issame)

    # IJB: 8 templates of 3 images in 2 media; the loose crop is a 128 px canvas with the face at
    # the template position so the five points are the ArcFace template shifted by 8 px
    ijb = root / "ijb"
    (ijb / "loose_crop").mkdir(parents=True)
    (ijb / "meta").mkdir()
    pts = template_for(112) + 8.0
    tid_lines, pts_lines = [], []
    faces, _ = _faces(rng, 4, 6, 128)
    for k in range(24):
        name = f"{k}.png"
        Image.fromarray(faces[k]).save(ijb / "loose_crop" / name)
        tid_lines.append(f"{name} {k // 3} {100 + k // 2}")
        pts_lines.append(name + " " + " ".join(f"{v:.3f}" for v in pts.ravel()) + f" {0.5 + 0.02 * k:.3f}")
    (ijb / "meta" / "toy_face_tid_mid.txt").write_text("\n".join(tid_lines) + "\n")
    (ijb / "meta" / "toy_name_5pts_score.txt").write_text("\n".join(pts_lines) + "\n")
    pairs = [f"{a} {b} {int(a // 2 == b // 2)}" for a in range(8) for b in range(a + 1, 8)]
    (ijb / "meta" / "toy_template_pair_label.txt").write_text("\n".join(pairs) + "\n")

    # identification: 6 identities x 3 probe images, 30 distractors, one noisy of each listed
    ident = root / "identification"
    p_imgs, p_labels = _faces(rng, 6, 3, 32)
    write_record_dataset(ident / "probe", list(p_imgs), p_labels.tolist())
    d_imgs, _ = _faces(rng, 30, 1, 32)
    write_record_dataset(ident / "distractors", list(d_imgs), list(range(30)))
    (ident / "probe_noises.txt").write_text("# noisy probes\n4\n")
    (ident / "distractor_noises.txt").write_text("7\n11\n")
    return {"bin": root / "toy_lfw.bin", "ijb": ijb, "identification": ident}
