"""Contact sheet for the report: SynthFace identities (rows) under one nuisance each (columns)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from interface.atomic import atomic_path
from interface.data.images import decode_jpeg, encode_jpeg
from interface.data.synth import seeding
from interface.data.synth.nuisance import Nuisance, with_fields
from interface.data.synth.render import ALIGNED, render_face

# Column title -> fields changed from a neutral, well-lit frontal photo.
COLUMNS: tuple[tuple[str, dict], ...] = (
    ("frontal", {}),
    ("yaw 30", {"yaw": 30.0}),
    ("yaw 60", {"yaw": -60.0}),
    ("profile", {"yaw": 85.0}),
    ("pitch", {"pitch": 15.0}),
    ("side light", {"light_az": 70.0, "light": 1.1, "ambient": 0.2}),
    ("age -15", {"age_delta": -15.0}),
    ("age +25", {"age_delta": 25.0}),
    ("smile", {"smile": 1.0, "mouth_open": 0.7, "squint": 0.6}),
    ("misalign", {"roll": 10.0, "scale": 0.9, "shift_x": 5.0, "shift_y": -4.0}),
    ("blur", {"blur": 1.8}),
    ("noise", {"noise": 14.0, "noise_seed": 7}),
    ("sunglasses", {"occlusion": "sunglasses"}),
    ("mask", {"occlusion": "mask", "occ_color": (0.85, 0.9, 0.95)}),
    ("patch", {"occlusion": "patch", "occ_x": 0.7, "occ_y": 0.5}),
    ("JPEG q10", {"jpeg": 10}),
)
NEUTRAL = Nuisance(bg=(0.75, 0.75, 0.75), light=0.6, ambient=0.5)
_HEADER = 14  # pixels of column-title strip


def write_contact_sheet(path: Path, vecs: np.ndarray, seed: int) -> None:
    """Write a PNG grid: one row per identity in ``vecs`` (N, DIM), one column per entry of COLUMNS.

    Cells are the encoded-then-decoded JPEG when a column sets JPEG quality, else the raw render.
    """
    rows, cols = len(vecs), len(COLUMNS)
    sheet = Image.new("RGB", (cols * ALIGNED, _HEADER + rows * ALIGNED), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    for c, (title, fields) in enumerate(COLUMNS):
        draw.text((c * ALIGNED + 4, 2), title, fill=(0, 0, 0))
        for r, vec in enumerate(vecs):
            # Backgrounds vary per row (not per column) so columns differ only by their nuisance.
            bg = tuple(float(x) for x in 0.3 + 0.6 * seeding.rng_for(seed, seeding.ROLE_CONTACT, r).random(3))
            img, _ = render_face(vec, with_fields(NEUTRAL, bg=bg, **fields))
            if "jpeg" in fields:
                img = decode_jpeg(encode_jpeg(img, fields["jpeg"]), "contact sheet cell")
            sheet.paste(Image.fromarray(img), (c * ALIGNED, _HEADER + r * ALIGNED))
    with atomic_path(path) as tmp:
        sheet.save(tmp, format="PNG")
