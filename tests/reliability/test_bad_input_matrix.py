"""Bad input across the whole pipeline, through the real command lines (issue 8, item 2).

Each case prepares one broken input in a temporary folder (a copy of good data with one defect),
runs the command a user would run in a subprocess, and requires:

* a non-zero exit;
* no Python traceback; the LAST stderr line is the one-line message: it starts with ``error:``
  (or, for Snakemake, is the workflow's config error) and names the offending file or key;
* no output that looks complete: the command's declared output path is absent.

The good inputs are one SynthFace ``smoke`` suite and one two-step tiny run, made by the CLIs
once per session (``_util.smoke_data`` / ``_util.tiny_run``).
"""

from __future__ import annotations

import functools
import pickle
import shutil
import struct
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from _refusal import (
    Case,
    assert_refused,
    evaluate_case,
    ijb_copy,
    registry,
    snakemake_case,
    train_case,
    train_cases,
    train_set,
)
from _util import smoke_data, tiny_run

CASES, case = registry()


# ------------------------------------------------------------------------------ good inputs
def idx_entries(data: Path) -> list[tuple[int, int]]:
    """(key, offset) lines of train.idx, parsed here independently of interface.data."""
    return [
        tuple(map(int, line.split())) for line in (data / "train.idx").read_text().split("\n") if line.strip()
    ]


def image_record(data: Path) -> tuple[int, int]:
    """(key, offset) of the first image record (key 1 in the InsightFace layout)."""
    return next((k, off) for k, off in idx_entries(data) if k == 1)


def payload_offset(rec: bytes, offset: int) -> int:
    """Byte offset of the image payload of the record at ``offset``: chunk head (magic, lrec),
    IRHeader ``<IfQQ`` (24 bytes), then ``flag`` float32 labels when flag > 0."""
    (flag,) = struct.unpack_from("<I", rec, offset + 8)
    return offset + 8 + 24 + 4 * flag


def run_copy(tmp: Path) -> Path:
    out = tmp / "run"
    shutil.copytree(tiny_run(), out)
    return out


def a_file(tmp: Path) -> Path:
    """A regular file where the command needs a folder: the results folder cannot be created."""
    blocker = tmp / "results"
    blocker.write_text("not a folder\n")
    return blocker


# --------------------------------------------------------------------------- RecordIO / train
@case
def truncated_rec(tmp):
    data = train_set(tmp)
    rec = data / "train.rec"
    rec.write_bytes(rec.read_bytes()[:-100])  # the last record loses its tail
    return train_case(tmp, ["train.rec"], data=data)


def record_edit_case(
    tmp: Path, names: list[str], patch: Callable[[bytearray, int], tuple[int, bytes]], manifest: bool = False
) -> Case:
    """A train case on a copy of the training set with bytes of key 1's record in train.rec replaced:
    ``patch(rec, offset)`` gives (position, new bytes) from the file and the record's offset."""
    data = train_set(tmp, manifest=manifest)
    _, offset = image_record(data)
    rec = bytearray((data / "train.rec").read_bytes())
    at, new = patch(rec, offset)
    rec[at : at + len(new)] = new
    (data / "train.rec").write_bytes(bytes(rec))
    return train_case(tmp, names, data=data)


def _flip_jpeg_bit(rec: bytearray, offset: int) -> tuple[int, bytes]:
    at = payload_offset(rec, offset) + 200  # a flipped bit inside JPEG entropy data decodes fine
    return at, bytes([rec[at] ^ 0xFF])


#: name -> (what the message names, patch of key 1's record, whether the copy keeps its manifest)
RECORD_EDITS = {
    "wrong_magic": (["train.rec", "magic"], lambda rec, off: (off, b"\x00\x11\x22\x33"), False),
    "non_jpeg_payload": (
        ["train.rec", "key 1"],
        lambda rec, off: (payload_offset(rec, off), b"this is no JPEG!"),
        False,
    ),
    # IRHeader.label of key 1 (chunk head 8 bytes, then flag uint32, then the float32 label)
    "label_beyond_class_count": (
        ["train.rec", "key 1", "999"],
        lambda rec, off: (off + 8 + 4, struct.pack("<f", 999.0)),
        False,
    ),
    "corrupted_byte_caught_by_manifest": (["train.rec", "manifest.json"], _flip_jpeg_bit, True),
}
for _name, (_names, _patch, _manifest) in RECORD_EDITS.items():
    CASES[_name] = functools.partial(record_edit_case, names=_names, patch=_patch, manifest=_manifest)


@case
def idx_offset_past_end(tmp):
    data = train_set(tmp)
    size = (data / "train.rec").stat().st_size
    lines = (data / "train.idx").read_text().splitlines()
    key = lines[3].split()[0]
    lines[3] = f"{key}\t{size + 4096}"
    (data / "train.idx").write_text("\n".join(lines) + "\n")
    return train_case(tmp, ["train.idx", "line 4"], data=data)


@case
def missing_property(tmp):
    data = train_set(tmp)
    (data / "property").unlink()
    return train_case(tmp, ["property"], data=data)


@case
def dataset_folder_missing(tmp):
    return train_case(tmp, ["no-such-data"], data=tmp / "no-such-data")


#: Bad RUN.yaml keys and values on the smoke data: name -> (what the message names, --set items, keys).
CASES.update(
    train_cases(
        {
            "config_unknown_key": (["batchsize", "RUN.yaml"], [], {"batchsize": 32}),
            "config_mistyped_value": (["batch_size", "'32'"], [], {"batch_size": "32"}),
            "unknown_loss": (["nosuchface", "arcface"], [], {"loss": "nosuchface"}),
            "margin_out_of_range": (["arcface", "m=7.5"], [], {"loss": "arcface", "loss_params": {"m": 7.5}}),
            "interface_variant_unknown": (
                ["variant", "xx"],
                [],
                {"loss": "interface", "loss_params": {"variant": "xx"}},
            ),
            "unknown_backbone": (["resnet9000", "iresnet50"], [], {"backbone": "resnet9000"}),
            "batch_larger_than_data": (["batch_size", "4096"], [], {"batch_size": 4096}),
            "plugin_not_importable": (
                ["plugins", "no_such_plugin_module"],
                [],
                {"plugins": ["no_such_plugin_module"]},
            ),
        }
    )
)


@case
def config_not_yaml(tmp):
    c = train_case(tmp, ["RUN.yaml", "YAML"])
    Path(c.args[3]).write_text("data: [unclosed\n  lr: 0.1\n")
    return c


@case
def plugin_with_syntax_error(tmp):
    plugin = tmp / "broken_losses.py"
    plugin.write_text("from interface.losses.registry import register_loss\n\ndef oops(:\n    pass\n")
    return train_case(tmp, ["plugins", "broken_losses.py"], plugins=[str(plugin)])


@case
def plugin_raising_at_import(tmp):
    plugin = tmp / "raising_losses.py"
    plugin.write_text("raise RuntimeError('the cluster licence server is down')\n")
    return train_case(tmp, ["plugins", "raising_losses.py"], plugins=[str(plugin)])


@case
def train_out_not_writable(tmp):
    blocker = a_file(tmp)
    c = train_case(tmp, [str(blocker)])
    out = blocker / "run"
    c.args[-1] = out
    c.absent = [tmp / "run"]  # nothing anywhere: the blocker stays a file
    return c


# ----------------------------------------------------------------------------- synth / pack
@case
def synth_out_not_writable(tmp):
    out = a_file(tmp) / "synth-smoke"
    return Case(
        ["interface", "synth", "--out", out, "--preset", "smoke", "--workers", "1"], [str(out.parent)], []
    )


def pack_case(tmp: Path, sides: dict[str, int], names: list[str], junk: tuple[str, ...] = ()) -> Case:
    """``interface pack`` of a faces folder: one JPEG ``<identity>/0.jpg`` of ``sides[identity]`` px
    per identity, plus each ``junk`` path (relative) holding an HTML error page, not an image."""
    from PIL import Image

    src = tmp / "faces"
    for ident, side in sides.items():
        (src / ident).mkdir(parents=True)
        Image.new("RGB", (side, side), (120, 90, 60)).save(src / ident / "0.jpg")
    for rel in junk:
        (src / rel).write_bytes(b"<html>404 not found</html>")
    out = tmp / "packed"
    args = ["interface", "pack", "--src", src, "--out", out]
    return Case(args, names, [out / "train.rec", out / "manifest.json"])


@case
def pack_image_of_wrong_size(tmp):
    return pack_case(tmp, {"alice": 32, "bob": 32, "carol": 24}, ["carol", "0.jpg"])


@case
def pack_unreadable_image(tmp):
    return pack_case(tmp, {"alice": 32, "bob": 32}, ["bob", "1.jpg"], junk=("bob/1.jpg",))


# -------------------------------------------------------------------------------- evaluation
@case
def bin_image_count_not_twice_pairs(tmp):
    with open(smoke_data() / "synth_lfw.bin", "rb") as handle:
        bins, issame = pickle.load(handle, encoding="bytes")
    path = tmp / "odd.bin"
    with open(path, "wb") as handle:
        pickle.dump((list(bins)[:-1], issame), handle, protocol=pickle.HIGHEST_PROTOCOL)
    return evaluate_case(tmp, "verification", path, ["odd.bin"])


@case
def bin_image_of_wrong_shape(tmp):
    import io

    from PIL import Image

    with open(smoke_data() / "synth_lfw.bin", "rb") as handle:
        bins, issame = pickle.load(handle, encoding="bytes")
    small = io.BytesIO()
    Image.new("RGB", (56, 56), (10, 20, 30)).save(small, format="JPEG")
    bins = list(bins)
    bins[5] = small.getvalue()
    path = tmp / "mixed.bin"
    with open(path, "wb") as handle:
        pickle.dump((bins, issame), handle, protocol=pickle.HIGHEST_PROTOCOL)
    return evaluate_case(tmp, "verification", path, ["mixed.bin", "item 5"])


@case
def bin_truncated(tmp):
    path = tmp / "cut.bin"
    data = (smoke_data() / "synth_lfw.bin").read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return evaluate_case(tmp, "verification", path, ["cut.bin"])


@case
def ijb_meta_file_missing(tmp):
    ijb = ijb_copy(tmp)
    next((ijb / "meta").glob("*_template_pair_label.txt")).unlink()
    return evaluate_case(tmp, "ijb", ijb, ["template_pair_label"])


@case
def ijb_meta_rows_disagree(tmp):
    ijb = ijb_copy(tmp)
    pts = next((ijb / "meta").glob("*_name_5pts_score.txt"))
    pts.write_text("".join(pts.read_text().splitlines(keepends=True)[:-1]))
    return evaluate_case(tmp, "ijb", ijb, ["5pts_score"])


@case
def ijb_meta_bad_line(tmp):
    ijb = ijb_copy(tmp)
    pairs = next((ijb / "meta").glob("*_template_pair_label.txt"))
    lines = pairs.read_text().splitlines()
    lines[1] = "12 banana 1"
    pairs.write_text("\n".join(lines) + "\n")
    return evaluate_case(tmp, "ijb", ijb, ["template_pair_label", "line 2"])


@case
def identification_without_probe(tmp):
    ident = tmp / "identification"
    shutil.copytree(smoke_data() / "identification", ident)
    shutil.rmtree(ident / "probe")
    return evaluate_case(tmp, "identification", ident, ["probe"])


@case
def run_folder_missing_its_model(tmp):
    run = run_copy(tmp)
    (run / "model.pt").unlink()
    return evaluate_case(tmp, "verification", smoke_data() / "synth_lfw.bin", ["model.pt"], run=run)


@case
def model_file_corrupt(tmp):
    run = run_copy(tmp)
    (run / "model.pt").write_bytes(b"PK\x03\x04 half a zip file")
    return evaluate_case(tmp, "verification", smoke_data() / "synth_lfw.bin", ["model.pt"], run=run)


@case
def nan_weights_in_checkpoint(tmp):
    import torch

    run = run_copy(tmp)
    state = torch.load(run / "model.pt", weights_only=True)
    name = next(k for k, v in state.items() if v.is_floating_point() and v.dim() > 1)
    state[name].view(-1)[0] = float("nan")
    torch.save(state, run / "model.pt")
    return evaluate_case(tmp, "verification", smoke_data() / "synth_lfw.bin", ["NaN"], run=run)


@case
def evaluate_out_not_writable(tmp):
    out = a_file(tmp) / "scores" / "bench.json"
    return evaluate_case(
        tmp, "verification", smoke_data() / "synth_lfw.bin", [str(out.parent.parent)], out=out
    )


# ---------------------------------------------------------------------------------- analysis
@case
def collect_scores_folder_missing(tmp):
    out = tmp / "tables" / "scores.csv"
    return Case(
        ["analysis.collect", "--scores", tmp / "nowhere", "--runs", tmp, "--out", out], ["nowhere"], [out]
    )


@case
def collect_out_not_writable(tmp):
    scores = tmp / "scores" / "r1"
    scores.mkdir(parents=True)
    out = a_file(tmp) / "tables" / "scores.csv"
    return Case(
        ["analysis.collect", "--scores", scores.parent, "--runs", tmp, "--out", out],
        [str(out.parents[1])],
        [out],
    )


@case
def report_table_missing(tmp):
    out = tmp / "report"
    return Case(
        ["analysis.report", "--scores", tmp / "missing.csv", "--out", out],
        ["missing.csv"],
        [out / "index.html"],
    )


@case
def report_config_not_json(tmp):
    import pandas as pd

    from analysis.collect import TIDY_COLUMNS

    scores = tmp / "scores.csv"
    pd.DataFrame(columns=TIDY_COLUMNS).to_csv(scores, index=False)
    config = tmp / "config.json"
    config.write_text("{'this': is not json")
    out = tmp / "report"
    return Case(
        ["analysis.report", "--scores", scores, "--config", config, "--out", out],
        ["config.json"],
        [out / "index.html"],
    )


# --------------------------------------------------------------------------------- workflow
@case
def workflow_unknown_key(tmp):
    return snakemake_case(tmp, yaml.safe_dump({"trian": {"lr": 0.1}}), ["trian"])


@case
def workflow_unknown_loss(tmp):
    matrix = {"datasets": ["synth-smoke"], "seeds": [0], "losses": [{"loss": "nosuchface"}]}
    return snakemake_case(tmp, yaml.safe_dump({"matrix": matrix}), ["matrix.losses[0]", "nosuchface"])


@case
def workflow_two_entries_one_output_path(tmp):
    entries = [{"loss": "arcface", "params": {"m": 0.5}}, {"loss": "arcface"}]
    matrix = {"datasets": ["synth-smoke"], "seeds": [0], "losses": entries}
    return snakemake_case(tmp, yaml.safe_dump({"matrix": matrix}), ["matrix.losses[1]", "matrix.losses[0]"])


@case
def workflow_plugin_not_importable(tmp):
    return snakemake_case(
        tmp, yaml.safe_dump({"plugins": ["no_such_plugin_module"]}), ["plugins", "no_such_plugin_module"]
    )


# ------------------------------------------------------------------------------------ runner
#: Cases that still fail because of a defect reported in /work/plan/NOTES.md ("RELIABILITY ->
#: OWNER"). strict: once the owner fixes it the case XPASSes, fails, and is removed from here.
KNOWN_DEFECTS: dict[str, str] = {}


def params() -> list:
    return [
        pytest.param(name, marks=pytest.mark.xfail(strict=True, reason=KNOWN_DEFECTS[name]))
        if name in KNOWN_DEFECTS
        else name
        for name in sorted(CASES)
    ]


@pytest.mark.slow
@pytest.mark.parametrize("name", params())
def test_bad_input_is_rejected_in_one_line_with_nothing_half_written(name, tmp_path):
    assert_refused(CASES[name](tmp_path), tmp_path)
