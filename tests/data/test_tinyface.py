"""TinyFace split reader: .mat lists written here with scipy.io.savemat (MATLAB cell arrays of
names, double ids, as the release stores them), folder listings, and bad input."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.io

from interface.data.tinyface import read_tinyface
from interface.errors import InputError
from tests.data.refusals import refuses_without


def _cells(names):
    out = np.empty((len(names), 1), dtype=object)
    for k, name in enumerate(names):
        out[k, 0] = np.array([name])
    return out


def _write(root, probes=("1_1.jpg", "1_2.jpg", "12_1.jpg"), matches=("1_3.jpg", "12_2.jpg", "12_3.png"),
           distractors=("a.jpg", "b_7.jpeg", "c.png"), probe_ids=None, match_ids=None, files=True):  # fmt: skip
    split = root / "Testing_Set"
    for folder, names in (("Probe", probes), ("Gallery_Match", matches), ("Gallery_Distractor", distractors)):
        (split / folder).mkdir(parents=True, exist_ok=True)
        if files:
            for name in names:
                (split / folder / name).write_bytes(b"\xff\xd8 not decoded by the reader")
    (split / "Gallery_Distractor" / "notes.txt").write_text("not an image")

    def ids(names):
        return np.array([[float(n.split("_")[0])] for n in names])

    scipy.io.savemat(
        split / "probe_img_ID_pairs.mat",
        {"probe_set": _cells(probes), "probe_ids": ids(probes) if probe_ids is None else probe_ids},
    )
    scipy.io.savemat(split / "gallery_match_img_ID_pairs.mat",
                     {"gallery_set": _cells(matches), "gallery_ids": ids(matches) if match_ids is None else match_ids})  # fmt: skip
    return root


def test_reads_split(tmp_path):
    got = read_tinyface(_write(tmp_path / "tinyface"))
    assert got.probes == ["1_1.jpg", "1_2.jpg", "12_1.jpg"] and got.probe_labels.tolist() == [1, 1, 12]
    assert got.matches == ["1_3.jpg", "12_2.jpg", "12_3.png"] and got.match_labels.tolist() == [1, 12, 12]
    assert got.distractors == ["a.jpg", "b_7.jpeg", "c.png"]  # sorted, images only
    assert got.path("Probe", "1_1.jpg") == tmp_path / "tinyface" / "Testing_Set" / "Probe" / "1_1.jpg"


def test_missing_pieces(tmp_path):
    with pytest.raises(InputError, match=r"Testing_Set: missing"):
        read_tinyface(tmp_path / "nothing")
    probe_list, match = "Testing_Set/probe_img_ID_pairs.mat", "Testing_Set/Gallery_Match/12_2.jpg"
    refuses_without(read_tinyface, _write(tmp_path / "A"), probe_list, r"probe_img_ID_pairs\.mat: missing")
    listed = r"gallery_match_img_ID_pairs\.mat: lists '12_2\.jpg', which is not in"
    refuses_without(read_tinyface, _write(tmp_path / "B"), match, listed)
    root = _write(tmp_path / "C")
    (root / "Testing_Set" / "Probe" / "5_9.jpg").write_bytes(b"x")
    with pytest.raises(InputError, match=r"Probe/5_9\.jpg: not listed in .*probe_img_ID_pairs\.mat"):
        read_tinyface(root)


def test_malformed_mat(tmp_path):
    root = _write(tmp_path / "A")
    (root / "Testing_Set" / "probe_img_ID_pairs.mat").write_bytes(b"MATLAB? no" * 20)
    with pytest.raises(InputError, match=r"probe_img_ID_pairs\.mat: not a readable MATLAB"):
        read_tinyface(root)
    root = _write(tmp_path / "B")
    scipy.io.savemat(root / "Testing_Set" / "probe_img_ID_pairs.mat", {"probe_set": _cells(["1_1.jpg"])})
    with pytest.raises(InputError, match=r"no key 'probe_ids' \(found: probe_set\)"):
        read_tinyface(root)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (
            {"probe_ids": np.array([[1.0], [2.0], [12.0]])},
            r"row 2: probe_ids 2 but the file name '1_2\.jpg' names identity 1",
        ),
        ({"probe_ids": np.array([[1.0], [1.0]])}, r"probe_set has 3 entries and probe_ids 2"),
        ({"probe_ids": np.array([[1.0], [1.5], [12.0]])}, r"probe_ids must be integers"),
        (
            {"probes": ("1_1.jpg", "x_2.jpg"), "probe_ids": np.array([[1.0], [2.0]])},
            r"probe_set row 2: file name 'x_2\.jpg' does not start with an integer identity",
        ),
        (
            {"probes": ("1_1.jpg", "7_1.jpg")},
            r"row 2: probe '7_1\.jpg' has identity 7, which has no image in Gallery_Match",
        ),
        (
            {"probes": ("1_1.jpg", "../1_5.jpg"), "files": False, "probe_ids": np.array([[1.0], [1.0]])},
            r"probe_set row 2",
        ),
    ],
)
def test_bad_rows(tmp_path, kwargs, match):
    with pytest.raises(InputError, match=match):
        read_tinyface(_write(tmp_path / "D", **kwargs))
