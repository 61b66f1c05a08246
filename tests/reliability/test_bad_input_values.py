"""Bad values, bad text and wrongly typed labels, through the real command lines (issue 13).

Each case prepares one broken input in a temporary folder and runs the command a user would run;
it must exit non-zero with exactly one stderr line starting with ``error:`` that names the file,
key or value, print no traceback, and leave none of the command's outputs behind. Every refusal
has a positive control beside it (the legal neighbour value, or the same file in UTF-8 with a BOM
and CRLF line ends) that must still pass, so a check that refuses everything fails here too.

The workflow cases run ``snakemake -n`` on the smoke config plus one override file and require the
parse-time refusal of the same bad values the trainer refuses (the dry run must not accept what a
job later rejects).
"""

from __future__ import annotations

import pickle
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest
import yaml
from _refusal import (
    Case,
    assert_refused,
    evaluate_args,
    evaluate_case,
    ijb_copy,
    registry,
    run_case,
    snakemake_case,
    train_case,
    train_cases,
    train_set,
)
from _util import SMOKE_CONFIG, smoke_data, tiny_run, write_run_yaml

CP1252 = "cp1252"
NON_ASCII = "# Ren\u00e9e's recipe \u2013 50\u20ac\n"  # é, en dash and euro sign: cp1252 bytes are not UTF-8

CASES, case = registry()


# --------------------------------------------------------------------------------- helpers
def first_image_offset(data: Path) -> int:
    """Byte offset in train.rec of key 1's record (parsed here from train.idx, not by interface.data)."""
    for line in (data / "train.idx").read_text().splitlines():
        key, offset = map(int, line.split())
        if key == 1:
            return offset
    raise AssertionError("no key 1")


def set_label(data: Path, value: float) -> None:
    """Overwrite the float32 IRHeader label of key 1 (chunk head 8 bytes, then ``<IfQQ``)."""
    rec = bytearray((data / "train.rec").read_bytes())
    struct.pack_into("<f", rec, first_image_offset(data) + 8 + 4, value)
    (data / "train.rec").write_bytes(bytes(rec))


def pack_with_labels(tmp: Path, labels: list) -> Path:
    """The smoke LFW pack with its ``issame`` list replaced (read with plain pickle: our own file)."""
    with open(smoke_data() / "synth_lfw.bin", "rb") as handle:
        bins, issame = pickle.load(handle, encoding="bytes")
    path = tmp / "labels.bin"
    with open(path, "wb") as handle:
        pickle.dump((bins, labels(len(issame)) if callable(labels) else labels), handle, protocol=4)
    return path


def bom_crlf(path: Path) -> None:
    """Rewrite ``path`` as UTF-8 with a byte-order mark and CRLF line ends (legal: same content)."""
    text = path.read_text(encoding="utf-8")
    path.write_bytes(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode("utf-8"))


def train_override(**keys) -> str:
    return yaml.safe_dump({"train": keys})


# ------------------------------------------------------------------ RUN.yaml and --set values
#: name -> (what the error line names, --set items, RUN.yaml keys)
CASES.update(
    train_cases(
        {
            "lr_infinite": (["'lr'", "inf", "RUN.yaml"], [], {"lr": float("inf")}),
            "lr_nan": (["'lr'", "nan"], ["lr=.nan"], {}),
            "threads_zero": (["'threads'", "0"], ["threads=0"], {}),
            "seed_negative": (["'seed'", "-1"], ["seed=-1"], {}),
            "input_size_not_multiple_of_16": (
                ["'input_size'", "40", "multiple of 16"],
                [],
                {"input_size": 40},
            ),
            "batch_size_one_with_batchnorm": (["'batch_size'", "BatchNorm"], ["batch_size=1"], {}),
            "momentum_one": (["'momentum'", "1.0"], [], {"momentum": 1.0}),
            "milestone_negative": (["'milestones'", "-2"], [], {"milestones": [1, -2]}),
            "device_cuda_without_cuda": (["'device'", "cuda", "not available"], ["device=cuda"], {}),
            "set_value_not_yaml": (["--set", "lr=[1"], ["lr=[1"], {}),
            "set_without_key": (["--set", "=3"], ["=3"], {}),
        }
    )
)


@case
def run_yaml_in_cp1252(tmp):
    c = train_case(tmp, ["RUN.yaml", "UTF-8"])
    config = Path(c.args[3])
    config.write_bytes((NON_ASCII + config.read_text()).encode(CP1252))
    return c


@case
def run_yaml_duplicate_key(tmp):
    c = train_case(tmp, ["RUN.yaml", "'lr'", "twice"])
    config = Path(c.args[3])
    config.write_text(config.read_text() + "lr: 0.1\n")  # TINY_RUN already sets lr: the last would win
    return c


# ------------------------------------------------------------------------------ training data
@case
def property_not_utf8(tmp):
    data = train_set(tmp)
    (data / "property").write_bytes(b"\xff\xfe" + "10,32,32\n".encode("utf-16-le"))
    return train_case(tmp, ["property", "UTF-8"], data=data)


@case
def record_label_nan(tmp):
    data = train_set(tmp)
    set_label(data, float("nan"))
    return train_case(tmp, ["train.rec", "key 1", "nan"], data=data)


@case
def record_label_fractional(tmp):
    data = train_set(tmp)
    set_label(data, 0.5)
    return train_case(tmp, ["train.rec", "key 1", "0.5"], data=data)


@case
def record_label_negative(tmp):
    data = train_set(tmp)
    set_label(data, -3.0)
    return train_case(tmp, ["train.rec", "key 1", "-3"], data=data)


@case
def idx_duplicate_record(tmp):
    data = train_set(tmp)
    lines = (data / "train.idx").read_text().splitlines()
    lines.insert(5, lines[2])  # key of line 3 listed again (pointing at the same record)
    (data / "train.idx").write_text("\n".join(lines) + "\n")
    key = lines[2].split()[0]
    return train_case(tmp, ["train.idx", "line 6", f"key {key}", "twice"], data=data)


@case
def ijb_folder_as_training_data(tmp):
    return train_case(tmp, ["ijb", "'meta'", "train.rec"], data=ijb_copy(tmp))


@case
def recordio_folder_without_rec(tmp):
    data = train_set(tmp)
    (data / "train.rec").unlink()
    return train_case(tmp, ["data", "without train.rec"], data=data)


# -------------------------------------------------------------------------------- evaluation
@case
def bin_issame_as_strings(tmp):
    path = pack_with_labels(tmp, lambda n: ["True" if i % 2 else "False" for i in range(n)])
    return evaluate_case(tmp, "verification", path, ["labels.bin", "issame", "'False'"])


@case
def bin_issame_as_floats(tmp):
    path = pack_with_labels(tmp, lambda n: [0.5] * n)
    return evaluate_case(tmp, "verification", path, ["labels.bin", "issame", "0.5"])


@case
def two_benchmarks_one_out(tmp):
    out = tmp / "scores" / "same.json"
    args = evaluate_args(tiny_run(), "verification", smoke_data() / "synth_lfw.bin", out)
    args += ["--benchmark", "other", "--kind", "verification", "--path", smoke_data() / "synth_cfp_fp.bin"]
    args += ["--out", out]
    return Case(args, ["--out", "same.json", "'bench'", "'other'"], [out])


@case
def ijb_mode_the_code_does_not_have(tmp):
    return evaluate_case(tmp, "ijb", smoke_data() / "ijb", ["'flip'", "F0"], "--ijb-mode", "N1D1F0")


@case
def evaluate_threads_zero(tmp):
    return evaluate_case(
        tmp, "verification", smoke_data() / "synth_lfw.bin", ["--threads", "0"], "--threads", "0"
    )


@case
def evaluate_seed_negative(tmp):
    return evaluate_case(
        tmp, "verification", smoke_data() / "synth_lfw.bin", ["--seed", "-1"], "--seed", "-1"
    )


@case
def evaluate_device_cuda_without_cuda(tmp):
    return evaluate_case(
        tmp,
        "verification",
        smoke_data() / "synth_lfw.bin",
        ["--device", "cuda", "not available"],
        "--device",
        "cuda",
    )


@case
def state_dict_given_as_run_folder(tmp):
    return evaluate_case(
        tmp,
        "verification",
        smoke_data() / "synth_lfw.bin",
        ["model.pt", "run folder"],
        run=tiny_run() / "model.pt",
    )


@case
def ijb_meta_in_cp1252(tmp):
    ijb = ijb_copy(tmp)
    meta = next((ijb / "meta").glob("*_face_tid_mid.txt"))
    lines = meta.read_text().splitlines(keepends=True)
    meta.write_bytes("".join(lines).replace(lines[0].split()[0], "caf\u00e9.jpg", 1).encode(CP1252))
    return evaluate_case(tmp, "ijb", ijb, [meta.name, "UTF-8"])


@case
def noise_list_in_cp1252(tmp):
    ident = tmp / "identification"
    shutil.copytree(smoke_data() / "identification", ident)
    noise = ident / "probe_noises.txt"
    noise.write_bytes(("# bruit \u00e9tiquet\u00e9\n" + noise.read_text()).encode(CP1252))
    return evaluate_case(tmp, "identification", ident, ["probe_noises.txt", "UTF-8"], "--clean")


@case
def benchmarks_json_in_cp1252(tmp):
    listing = tmp / "benchmarks.json"
    out = tmp / "scores" / "bench.json"
    entry = {
        "benchmark": "caf\u00e9",
        "kind": "verification",
        "path": str(smoke_data() / "synth_lfw.bin"),
        "out": str(out),
    }
    import json

    listing.write_bytes(json.dumps([entry], ensure_ascii=False).encode(CP1252))
    return Case(
        ["interface", "evaluate", "--run", tiny_run(), "--benchmarks-json", listing],
        ["benchmarks.json", "UTF-8"],
        [out],
    )


# --------------------------------------------------------- workflow: the dry run refuses them too
@case
def workflow_lr_infinite(tmp):
    return snakemake_case(tmp, "train:\n  lr: .inf\n", ["train.lr", "inf"])


@case
def workflow_lr_nan(tmp):
    return snakemake_case(tmp, "train:\n  lr: .nan\n", ["train.lr", "nan"])


@case
def workflow_input_size_not_multiple_of_16(tmp):
    return snakemake_case(tmp, train_override(input_size=40), ["train.input_size", "40"])


@case
def workflow_batch_size_one(tmp):
    return snakemake_case(tmp, train_override(batch_size=1), ["train.batch_size"])


@case
def workflow_ijb_mode_the_code_does_not_have(tmp):
    base = yaml.safe_load(SMOKE_CONFIG.read_text())
    name, dataset = next(iter(base["datasets"].items()))
    bench = next(b for b, spec in dataset["benchmarks"].items() if spec["kind"] == "ijb")
    text = yaml.safe_dump({"datasets": {name: {"benchmarks": {bench: {"options": {"flip": "F0"}}}}}})
    return snakemake_case(tmp, text, ["flip", "F0"])


@case
def workflow_duplicate_key(tmp):
    return snakemake_case(
        tmp, "train:\n  lr: 0.4\n  epochs: 1\n  lr: 0.1\n", ["override.yaml", "'lr'", "twice"]
    )


# ------------------------------------------------------------------------------------ runner
@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_value_is_refused_in_one_line_with_nothing_half_written(name, tmp_path):
    assert_refused(CASES[name](tmp_path), tmp_path)


# ------------------------------------------------------------- positive controls (in process)
def _config(tmp: Path, **keys):
    from interface.training.config import load_config

    return load_config(write_run_yaml(tmp / "RUN.yaml", data=str(smoke_data()), **keys))


@pytest.mark.parametrize(
    "keys",
    [
        {"lr": 1e9},
        {"threads": 1},
        {"seed": 0},
        {"seed": 2**31 - 1},
        {"input_size": 48},
        {"batch_size": 2},
        {"momentum": 0.999},
        {"milestones": [1, 2]},
        {"device": "cpu"},
    ],
)
def test_legal_neighbour_values_are_accepted(keys, tmp_path):
    config = _config(tmp_path, **keys)
    for key, value in keys.items():
        assert getattr(config, key) == value


def test_set_values_parse_as_yaml(tmp_path):
    from interface.training.cli import _override

    assert _override("milestones=[1, 2]") == ("milestones", [1, 2])
    assert _override("lr=0.25") == ("lr", 0.25)
    assert _override("lr=1e-1") == ("lr", 0.1)


def test_run_yaml_in_utf8_with_bom_and_crlf_reads_like_plain_utf8(tmp_path):
    from interface.training.config import load_config

    plain = write_run_yaml(tmp_path / "plain.yaml", data=str(smoke_data()))
    plain.write_text(NON_ASCII + plain.read_text(), encoding="utf-8")
    marked = tmp_path / "marked.yaml"
    shutil.copy(plain, marked)
    bom_crlf(marked)
    assert marked.read_bytes().startswith(b"\xef\xbb\xbf") and b"\r\n" in marked.read_bytes()
    assert load_config(marked) == load_config(plain)


def test_property_in_utf8_with_bom_and_crlf_opens(tmp_path):
    from interface.data.records import RecordDataset, read_property

    data = train_set(tmp_path)
    expected = tuple(int(v) for v in (data / "property").read_text().strip().split(","))
    bom_crlf(data / "property")
    assert read_property(data) == expected
    ds = RecordDataset(data)
    assert len(ds) > 0 and ds.label(0) == 0


def test_record_label_stored_as_whole_float_is_read(tmp_path):
    from interface.data.records import RecordDataset

    data = train_set(tmp_path)
    set_label(data, 1.0)  # the legal neighbour of 0.5 and -3 (key 1 now reads as class 1)
    assert RecordDataset(data).label(0) == 1


def test_idx_with_unique_keys_and_identity_folders_with_images_open(tmp_path):
    from PIL import Image

    from interface.data.dataset import open_source

    data = train_set(tmp_path)
    assert len(open_source(data)) > 0
    folder = tmp_path / "faces"
    for ident in ("alice", "bob"):
        (folder / ident).mkdir(parents=True)
        Image.new("RGB", (32, 32), (90, 60, 30)).save(folder / ident / "0.jpg")
    assert open_source(folder).num_classes == 2


@pytest.mark.parametrize(
    "labels",
    [
        lambda n: [bool(i % 2) for i in range(n)],
        lambda n: [i % 2 for i in range(n)],
        lambda n: np.arange(n) % 2 == 1,
    ],
    ids=["bools", "ints-0-1", "numpy-bool"],
)
def test_bin_issame_of_a_legal_type_reads_as_given(labels, tmp_path):
    from interface.data.bins import read_bin

    path = pack_with_labels(tmp_path, labels)
    _, issame = read_bin(path)
    n = issame.size
    np.testing.assert_array_equal(issame, np.arange(n) % 2 == 1)


def test_distinct_outs_legal_modes_and_flags_pass_the_evaluate_checks(tmp_path):
    from interface.evaluation.cli import _benchmarks, _parser
    from interface.evaluation.kinds import all_options
    from interface.limits import EVALUATE_RANGES, check, check_device

    argv = evaluate_args(tiny_run(), "ijb", smoke_data() / "ijb", tmp_path / "a.json", "--ijb-mode", "N0D0F1")
    argv += [
        "--benchmark",
        "b2",
        "--kind",
        "verification",
        "--path",
        smoke_data() / "synth_lfw.bin",
        "--out",
        tmp_path / "b.json",
    ]
    args = _parser().parse_args([str(a) for a in argv[2:]])
    benches = _benchmarks(args)
    assert [b.options.get("flip") for b in benches] == ["F1", "F1"]
    check("threads", 1, EVALUATE_RANGES)
    all_options()["seed"].check(0, "seed")
    check_device("cpu")


def test_ijb_meta_and_noise_lists_in_utf8_with_bom_and_crlf_read_like_the_originals(tmp_path):
    from interface.data.ijb import read_ijb
    from interface.evaluation.identification import read_noise_list

    ijb = ijb_copy(tmp_path)
    want = read_ijb(ijb)
    for meta in (ijb / "meta").glob("*.txt"):
        bom_crlf(meta)
    got = read_ijb(ijb)
    assert got.image_names == want.image_names
    for name in ("template_ids", "media_ids", "landmarks", "face_scores", "pairs", "labels"):
        np.testing.assert_array_equal(getattr(got, name), getattr(want, name))
    noise = tmp_path / "noise.txt"
    noise.write_text("# listed\n3\n1\n\n7 # comment\n", encoding="utf-8")
    plain = read_noise_list(noise, 10)
    bom_crlf(noise)
    np.testing.assert_array_equal(read_noise_list(noise, 10), plain)
    np.testing.assert_array_equal(plain, [1, 3, 7])


# --------------------------------------------------------- verification.evaluate's input contract
def test_unnormalised_embeddings_are_refused_and_unit_rows_pass():
    from interface.errors import InputError
    from interface.evaluation.verification import evaluate, l2_normalise

    rng = np.random.default_rng(3)
    raw = rng.normal(size=(40, 8)) * 7.0  # raw backbone outputs: norms around 20
    issame = rng.random(20) < 0.5
    with pytest.raises(InputError, match=r"embeddings: row 0 has L2 norm") as info:
        evaluate(raw, issame)
    assert "\n" not in str(info.value)
    unit = l2_normalise(raw)
    assert 0.0 <= evaluate(unit, issame)["accuracy"] <= 1.0
    nearly = unit * (1 + 5e-4)  # within the 1e-3 tolerance
    assert evaluate(nearly, issame)["accuracy"] == evaluate(unit, issame)["accuracy"]


# ------------------------------------------------------------------------ the YAML loader itself
@pytest.mark.parametrize(
    "text,key,legal",
    [
        ("a: 1\na: 2\n", "'a'", "a: 1\nb: 2\n"),
        ("outer:\n  x: 1\n  y: 2\n  x: 3\n", "'x'", "outer:\n  x: 1\n  y: 2\nx: 3\n"),
        ("1: a\n1: b\n", "1", "1: a\n'1': b\n"),
    ],
)
def test_yaml_duplicate_keys_are_refused_naming_key_and_line(text, key, legal):
    from interface.errors import InputError
    from interface.textfiles import parse_yaml

    with pytest.raises(InputError, match="given twice") as info:
        parse_yaml(text, "where.yaml")
    assert str(info.value).startswith("where.yaml: key " + key)
    assert parse_yaml(legal.replace("\n", "\r\n"), "where.yaml") == yaml.safe_load(legal)


def test_yaml_anchors_and_merges_are_not_mistaken_for_duplicates():
    from interface.textfiles import parse_yaml

    text = "base: &b {lr: 0.1, epochs: 2}\nrun:\n  <<: *b\n  epochs: 3\n"
    assert parse_yaml(text, "w")["run"] == {"lr": 0.1, "epochs": 3}


@pytest.mark.slow
def test_workflow_dry_run_accepts_the_legal_neighbours_in_a_bom_crlf_override(tmp_path):
    """The parse-time checks refuse only what the trainer refuses: lr 0.4, input size 48, batch 2,
    IJB flip F1, written as UTF-8 with a BOM and CRLF line ends, pass ``snakemake -n``."""
    base = yaml.safe_load(SMOKE_CONFIG.read_text())
    name, dataset = next(iter(base["datasets"].items()))
    bench = next(b for b, spec in dataset["benchmarks"].items() if spec["kind"] == "ijb")
    override = {
        "train": {"lr": 0.4, "input_size": 48, "batch_size": 2},
        "datasets": {name: {"benchmarks": {bench: {"options": {"flip": "F1"}}}}},
    }
    spec = snakemake_case(tmp_path, yaml.safe_dump(override), [])
    bom_crlf(Path(spec.args[-1]))
    result = run_case(spec, tmp_path)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]


def test_report_config_json_with_bom_reads_and_cp1252_is_one_line(tmp_path):
    from analysis.runinfo import read_json_object
    from interface.errors import InputError

    path = tmp_path / "config.json"
    path.write_text('{"note": "Ren\u00e9e"}\n', encoding="utf-8")
    bom_crlf(path)
    assert read_json_object(path, "--config") == {"note": "Ren\u00e9e"}
    path.write_bytes('{"note": "Ren\u00e9e"}\n'.encode(CP1252))
    with pytest.raises(InputError, match="config.json.*UTF-8") as info:
        read_json_object(path, "--config")
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("text", "value"),
    [("1e-1", 0.1), ("5e-4", 5e-4), ("-2E+3", -2000.0), ("1.0e-3", 1e-3), ("3", 3), ("0.5", 0.5),
     ("'1e-1'", "1e-1"), ("x1e5", "x1e5")],
)  # fmt: skip
def test_yaml_exponent_floats_without_a_dot_are_numbers(text, value):
    """YAML 1.2 floats (PyYAML's 1.1 reads "1e-1" as a string); quoted and other strings stay strings."""
    from interface.textfiles import parse_yaml

    parsed = parse_yaml(f"lr: {text}", "where.yaml")["lr"]
    assert parsed == value and type(parsed) is type(value)
