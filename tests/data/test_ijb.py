"""IJB meta files: parsing, row agreement, and bad input naming file and line."""

from __future__ import annotations

import numpy as np
import pytest

from interface.data.ijb import read_ijb
from interface.errors import InputError
from tests.data.refusals import refuses_without


def _write(root, tid_lines, pts_lines, pair_lines, prefix="ijbx"):
    meta = root / "meta"
    meta.mkdir(parents=True, exist_ok=True)
    (meta / f"{prefix}_face_tid_mid.txt").write_text("".join(f"{x}\n" for x in tid_lines))
    (meta / f"{prefix}_name_5pts_score.txt").write_text("".join(f"{x}\n" for x in pts_lines))
    (meta / f"{prefix}_template_pair_label.txt").write_text("".join(f"{x}\n" for x in pair_lines))
    return root


PTS = "46.060 62.026 87.785 60.323 68.851 77.656 52.162 99.875 86.450 98.648"


def _good(root):
    return _write(
        root,
        ["1.jpg 1 69544", "2.jpg 1 69545", "3.jpg 7 12"],
        [f"1.jpg {PTS} 0.999", f"2.jpg {PTS} 0.5", f"3.jpg {PTS} 0.25"],
        ["1 7 0", "7 1 1"],
    )


def test_reads_meta(tmp_path):
    meta = read_ijb(_good(tmp_path / "D"))
    assert meta.prefix == "ijbx" and meta.image_names == ["1.jpg", "2.jpg", "3.jpg"]
    assert meta.template_ids.tolist() == [1, 1, 7] and meta.media_ids.tolist() == [69544, 69545, 12]
    assert meta.landmarks.shape == (3, 5, 2)
    np.testing.assert_allclose(meta.landmarks[0, 4], [86.450, 98.648], rtol=1e-6)
    np.testing.assert_allclose(meta.face_scores, [0.999, 0.5, 0.25], rtol=1e-6)
    assert meta.pairs.tolist() == [[1, 7], [7, 1]] and meta.labels.tolist() == [0, 1]
    assert meta.image_path(2) == tmp_path / "D" / "loose_crop" / "3.jpg"


def test_missing_meta_files(tmp_path):
    with pytest.raises(InputError, match=r"meta: no \*_face_tid_mid\.txt"):
        read_ijb(tmp_path / "none")
    pairs = "meta/ijbx_template_pair_label.txt"
    refuses_without(read_ijb, _good(tmp_path / "D"), pairs, r"ijbx_template_pair_label\.txt: missing")


@pytest.mark.parametrize(
    "tid,pts,pairs,match",
    [
        (
            ["1.jpg 1 2", "2.jpg 1"],
            [f"1.jpg {PTS} 1", f"2.jpg {PTS} 1"],
            ["1 1 1"],
            r"face_tid_mid\.txt line 2: 2 fields",
        ),
        (
            ["1.jpg 1 2"],
            [f"1.jpg {PTS} 1", f"2.jpg {PTS} 1"],
            ["1 1 1"],
            r"5pts_score\.txt: 2 rows but .* has 1",
        ),
        (
            ["1.jpg 1 2", "2.jpg 1 3"],
            [f"1.jpg {PTS} 1", f"9.jpg {PTS} 1"],
            ["1 1 1"],
            r"5pts_score\.txt line 2: image '9\.jpg'",
        ),
        (
            ["1.jpg 1 2"],
            [f"1.jpg {PTS} 1"],
            ["1 1 1", "1 x 0"],
            r"pair_label\.txt line 2: 'x' is not an integer",
        ),
        (["1.jpg 1 2"], [f"1.jpg {PTS} 1"], ["1 1 2"], r"pair_label\.txt line 1: label 2"),
        (
            ["1.jpg 1 2"],
            [f"1.jpg {PTS} 1"],
            ["1 1 1", "1 5 0"],
            r"pair_label\.txt line 2: template \[1, 5\] not listed",
        ),
        (
            ["1.jpg 1 2"],
            [f"1.jpg {PTS} nan"],
            ["1 1 1"],
            r"5pts_score\.txt line 1: 'nan' is not a finite number",
        ),
        (["1.jpg 1 2"], [f"1.jpg {PTS} 1"], [], r"pair_label\.txt: empty file"),
        (
            ["1.jpg 1 2"],
            [f"1.jpg {PTS} 1"],
            ["1 1 1", "99999999999999999999 1 0"],
            r"pair_label\.txt line 2: '99999999999999999999' is outside the 64-bit integer range",
        ),
        # a blank line would shift every later row's line number: refused where it is
        (
            ["1.jpg 1 2", " ", "2.jpg 1 3"],
            [f"1.jpg {PTS} 1", f"2.jpg {PTS} 1"],
            ["1 1 1"],
            r"face_tid_mid\.txt line 2: empty line",
        ),
        (["1.jpg 1 2"], [f"1.jpg {PTS} 1"], ["", "1 1 1"], r"pair_label\.txt line 1: empty line"),
    ],
)
def test_bad_meta(tmp_path, tid, pts, pairs, match):
    with pytest.raises(InputError, match=match):
        read_ijb(_write(tmp_path / "D", tid, pts, pairs))


def test_blank_lines_after_the_last_row_are_ignored(tmp_path):
    root = _good(tmp_path / "D")
    pairs = root / "meta" / "ijbx_template_pair_label.txt"
    pairs.write_text(pairs.read_text() + "\n  \n")
    assert read_ijb(root).labels.tolist() == [0, 1]


def test_meta_listed_in_a_parent_manifest_is_checked(tmp_path):
    from interface.data.manifest import write_manifest

    root = _good(tmp_path / "suite" / "ijb")
    write_manifest(tmp_path / "suite")  # lists ijb/meta/... two levels up
    read_ijb(root)
    pairs = root / "meta" / "ijbx_template_pair_label.txt"
    pairs.write_text("1 7 1\n7 1 0\n")  # same length, labels swapped
    with pytest.raises(InputError, match=r"ijbx_template_pair_label\.txt: SHA-256 differs"):
        read_ijb(root)
