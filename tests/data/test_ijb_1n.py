"""IJB 1:N protocol lists: parsing files written here by hand, and bad input naming file and line."""

from __future__ import annotations

import pytest

from interface.data.ijb_1n import read_ijb_1n
from interface.errors import InputError
from tests.data.refusals import refuses_without

PTS = "46.060 62.026 87.785 60.323 68.851 77.656 52.162 99.875 86.450 98.648 0.9"
HEADER = "TEMPLATE_ID,SUBJECT_ID,FILENAME,SIGHTING_ID\n"
# template -> subject; templates 1, 2 gallery G1 / G2, 3-6 probes
SUBJECT = {1: 10, 2: 20, 3: 10, 4: 20, 5: 20, 6: 10}


def _write(root, galleries=("G1", "G2"), g1=None, g2=None, probe=None, prefix="ijbc"):
    meta = root / "meta"
    meta.mkdir(parents=True, exist_ok=True)
    tid = [f"{t}{k}.jpg {t} {100 + t}" for t in SUBJECT for k in "ab"]
    (meta / f"{prefix}_face_tid_mid.txt").write_text("\n".join(tid) + "\n")
    (meta / f"{prefix}_name_5pts_score.txt").write_text(
        "\n".join(f"{r.split()[0]} {PTS}" for r in tid) + "\n"
    )
    (meta / f"{prefix}_template_pair_label.txt").write_text("1 3 1\n2 3 0\n")

    def rows(templates):
        return "".join(f"{t},{SUBJECT[t]},img/{t}{k}.jpg,{k}\n" for t in templates for k in "ab")

    a, b = galleries
    (meta / f"{prefix}_1N_gallery_{a}.csv").write_text(HEADER + (rows([1]) if g1 is None else g1))
    (meta / f"{prefix}_1N_gallery_{b}.csv").write_text(HEADER + (rows([2]) if g2 is None else g2))
    (meta / f"{prefix}_1N_probe_mixed.csv").write_text(
        HEADER + (rows([6, 3, 4, 5]) if probe is None else probe)
    )
    return root


def test_reads_lists(tmp_path):
    got = read_ijb_1n(_write(tmp_path / "IJBC"))
    assert list(got.galleries) == ["G1", "G2"]
    assert got.galleries["G1"].templates.tolist() == [1] and got.galleries["G1"].subjects.tolist() == [10]
    assert got.galleries["G2"].templates.tolist() == [2] and got.galleries["G2"].subjects.tolist() == [20]
    assert got.probes.templates.tolist() == [3, 4, 5, 6]  # ascending, as numpy.unique
    assert got.probes.subjects.tolist() == [10, 20, 20, 10]
    assert got.probes.lines.tolist() == [4, 6, 8, 2]
    assert got.meta.template_ids.size == 12


def test_ijbb_names_its_galleries_s1_s2(tmp_path):
    got = read_ijb_1n(_write(tmp_path / "IJBB", galleries=("S1", "S2"), prefix="ijbb"))
    assert list(got.galleries) == ["S1", "S2"]


def test_missing_files(tmp_path):
    root = _write(tmp_path / "D")
    refuses_without(read_ijb_1n, root, "meta/ijbc_1N_gallery_G2.csv", r"ijbc_1N_gallery_G2\.csv: missing")
    refuses_without(read_ijb_1n, root, "meta/ijbc_1N_gallery_G1.csv", r"no IJB 1:N gallery files")
    probe = "meta/ijbc_1N_probe_mixed.csv"
    refuses_without(read_ijb_1n, _write(tmp_path / "E"), probe, r"ijbc_1N_probe_mixed\.csv: missing")


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"probe": "3,10\n4,x\n"}, r"probe_mixed\.csv line 3: '4,x'; expected integer"),
        ({"probe": "3\n"}, r"probe_mixed\.csv line 2: '3'; expected integer"),
        (
            {"probe": "3,10\n3,20\n"},
            r"probe_mixed\.csv line 3: template 3 has subject 20, but line 2 gives subject 10",
        ),
        (
            {"probe": "3,10\n9,10\n"},
            r"probe_mixed\.csv line 3: template 9 has no images in ijbc_face_tid_mid\.txt",
        ),
        (
            {"probe": "3,10\n4,30\n"},
            r"probe_mixed\.csv line 3: probe template 4 has subject 30, which is in neither gallery",
        ),
        ({"g1": "1,10\n5,10\n"}, r"gallery_G1\.csv line 3: subject 10 has a second template in gallery G1"),
        ({"g2": "2,20\n6,10\n"}, r"gallery_G2\.csv line 3: subject 10 is in both galleries G1 and G2"),
        ({"g1": ""}, r"gallery_G1\.csv: no template rows"),
        (
            {"probe": "3,10\n1,10\n"},
            r"probe_mixed\.csv line 3: template 1 is also a gallery template \(ijbc_1N_gallery_G1\.csv\)",
        ),
    ],
)
def test_bad_lines(tmp_path, kwargs, match):
    with pytest.raises(InputError, match=match):
        read_ijb_1n(_write(tmp_path / "D", **kwargs))


def test_header_row_required(tmp_path):
    root = _write(tmp_path / "D")
    (root / "meta" / "ijbc_1N_gallery_G1.csv").write_text("1,10\n")
    with pytest.raises(InputError, match=r"gallery_G1\.csv line 1: '1,10' is data; expected the header row"):
        read_ijb_1n(root)
    (root / "meta" / "ijbc_1N_gallery_G1.csv").write_text("")
    with pytest.raises(InputError, match=r"gallery_G1\.csv: empty file"):
        read_ijb_1n(root)
