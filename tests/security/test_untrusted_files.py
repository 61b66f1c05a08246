"""Untrusted files never run code, and names read from files never leave their folder (issue 13).

Every hostile payload here would create a marker file if any of its code ran: a pickle that calls
``os.system``, ``builtins.exec``/``eval``, ``subprocess.Popen`` or a class of a module that writes
the marker when imported; a tensor file with a pickled callable; a run.json naming a plugin that
writes the marker. Each case requires that the marker does not exist, that the error is one line
naming the file and what was refused, and that no result was written. Positive controls (legit
packs written here by plain ``pickle`` or by hand-assembled Python-2 opcodes, trusted plugins)
show the checks are not simply refusing everything.
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import os
import pickle
import shutil
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "reliability"))
from _util import cli, last_line, smoke_data, tiny_run  # noqa: E402
from run_records import write_run_json  # noqa: E402

from interface.data import read_bin  # noqa: E402
from interface.errors import InputError  # noqa: E402

MARKER = "PWNED"


# ----------------------------------------------------------------------------------- payloads
class _Call:
    """Pickles as ``fn(*args)``: what a hostile pickle asks the unpickler to run."""

    def __init__(self, fn, *args):
        self.fn, self.args = fn, args

    def __reduce__(self):
        return self.fn, self.args


def _evil_module(folder: Path, marker: Path) -> str:
    """Write a module that creates ``marker`` when imported; return its (unique) name."""
    name = f"evil_{abs(hash(str(folder))) % 10**8}"
    (folder / f"{name}.py").write_text(
        f"open({str(marker)!r}, 'w').write('imported')\n\nclass Evil:\n    pass\n"
    )
    return name


@functools.cache
def _stand_in(name: str) -> types.ModuleType:
    """A harmless module of the evil module's name: pickle looks the class up in it while writing
    (so the file on disk is never imported here); it sits in ``sys.modules`` only then."""
    module = types.ModuleType(name)

    class Evil:
        pass

    Evil.__module__, Evil.__qualname__ = name, "Evil"
    module.Evil = Evil
    return module


@contextlib.contextmanager
def _stand_ins(folder: Path):
    names = [p.stem for p in folder.glob("evil_*.py")]
    for n in names:
        sys.modules[n] = _stand_in(n)
    try:
        yield
    finally:
        for n in names:
            sys.modules.pop(n, None)


def _payload(kind: str, marker: Path, folder: Path) -> tuple[object, str]:
    """``(object whose unpickling would create marker, module.name the reader must refuse)``."""
    script = f"open({str(marker)!r}, 'w').write('ran')"
    if kind == "os.system":
        return _Call(os.system, f"touch {marker}"), f"{os.system.__module__}.system"
    if kind == "exec":
        return _Call(exec, script), "builtins.exec"
    if kind == "eval":
        return _Call(eval, script), "builtins.eval"
    if kind == "subprocess":
        return _Call(subprocess.Popen, ["touch", str(marker)]), "subprocess.Popen"
    assert kind == "module class"
    name = _evil_module(folder, marker)
    return _Call(_stand_in(name).Evil), f"{name}.Evil"


def _dumps_with(obj: object, protocol: int, folder: Path) -> bytes:
    """``pickle.dumps`` with the stand-in modules of :func:`_payload` importable while it runs."""
    with _stand_ins(folder):
        return pickle.dumps(obj, protocol=protocol)


def _jpeg(img: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="JPEG", quality=90)
    return buf.getvalue()


def _faces(n: int = 4) -> list[bytes]:
    rng = np.random.default_rng(3)
    return [_jpeg(rng.integers(0, 256, (12, 10, 3), dtype=np.uint8)) for _ in range(n)]


def _decoded(jpegs: list[bytes]) -> np.ndarray:
    """The images as PIL decodes them, independently of interface.data."""
    return np.stack([np.array(Image.open(io.BytesIO(j)).convert("RGB")) for j in jpegs])


def _refused(path: Path, refused: str, marker: Path) -> str:
    """read_bin(path) must raise one line naming the file and ``refused``, marker absent."""
    with pytest.raises(InputError) as info:
        read_bin(path)
    message = str(info.value)
    assert "\n" not in message and str(path) in message and refused in message, message
    assert not marker.exists(), "the payload ran"
    return message


@pytest.fixture
def hostile(tmp_path, monkeypatch):
    """(folder on sys.path for the evil module, marker path)."""
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path, tmp_path / MARKER


# ------------------------------------------------------------------------------ .bin payloads
KINDS = ["os.system", "exec", "eval", "subprocess", "module class"]


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
@pytest.mark.parametrize("kind", KINDS)
def test_bin_item_that_would_run_code_is_refused(kind, protocol, hostile):
    folder, marker = hostile
    evil, refused = _payload(kind, marker, folder)
    jpegs = _faces()
    pack = ([jpegs[0], evil, jpegs[2], jpegs[3]], [True, False])  # a legit-looking pack, item 1 hostile
    path = folder / "lfw.bin"
    path.write_bytes(_dumps_with(pack, protocol, folder))
    _refused(path, refused, marker)


@pytest.mark.parametrize("where", ["whole object", "issame list", "inside a tuple item", "dict"])
def test_bin_payload_anywhere_in_the_pack_is_refused(where, hostile):
    folder, marker = hostile
    evil, refused = _payload("exec", marker, folder)
    jpegs = _faces(2)
    pack = {
        "whole object": evil,
        "issame list": (jpegs, [evil]),
        "inside a tuple item": ([(jpegs[0], evil), jpegs[1]], [True]),
        "dict": ({"bins": jpegs, "x": evil}, [True]),
    }[where]
    path = folder / "pack.bin"
    path.write_bytes(pickle.dumps(pack, protocol=2))
    _refused(path, refused, marker)


@pytest.mark.parametrize(
    "make, refused",
    [
        (lambda evil: np.array([b"x", evil], dtype=object), "numpy dtype '|O'"),
        (lambda evil: np.ma.masked_array([1, 2]), "numpy.ma.core._mareconstruct"),
        (lambda evil: np.array([1.5, 2.5]), "numpy dtype '<f8'"),
        (lambda evil: np.array([(1, 2)], dtype=[("a", "<i4"), ("b", "<i4")]), "numpy dtype '|V8'"),
        (lambda evil: _Call(bytes, 10**12), "builtins.bytes"),  # 1 TB allocation, not code
        (lambda evil: _Call(getattr, _Call(__import__, "os"), "system"), "builtins.getattr"),
        (lambda evil: _Call(np.load, "x.npy"), "numpy.load"),
    ],
    ids=["object array", "masked array", "float array", "structured array", "bytes(n)", "getattr", "np.load"],
)
def test_bin_types_a_pack_never_holds_are_refused(make, refused, hostile):
    folder, marker = hostile
    evil, _ = _payload("os.system", marker, folder)
    path = folder / "odd.bin"
    path.write_bytes(pickle.dumps(([_faces(1)[0], make(evil)], [True]), protocol=4))
    _refused(path, refused, marker)


def test_hand_written_global_opcode_is_refused_and_the_module_never_imported(hostile):
    folder, marker = hostile
    name = _evil_module(folder, marker)
    path = folder / "raw.bin"
    path.write_bytes(f"c{name}\nEvil\n)R.".encode())  # GLOBAL, EMPTY_TUPLE, REDUCE, STOP
    _refused(path, f"{name}.Evil", marker)
    assert name not in sys.modules


def _evaluate(tmp_path: Path, run: Path, *extra, benchmark: str = "lfw", path: Path | None = None):
    """``interface evaluate`` of ``run`` on one verification pack (default: the smoke LFW) into
    ``scores/<benchmark>.json``; returns (the finished process, that output path)."""
    out = tmp_path / "scores" / f"{benchmark}.json"
    path = path or smoke_data() / "synth_lfw.bin"
    args = ["interface", "evaluate", "--run", run, "--benchmark", benchmark, "--kind", "verification"]
    return cli([*args, "--path", path, "--out", out, *extra], tmp_path), out


def test_bin_payload_through_the_evaluate_command(tmp_path):
    marker = tmp_path / MARKER
    jpegs = _faces()
    path = tmp_path / "agedb.bin"
    path.write_bytes(pickle.dumps((jpegs[:1] + [_Call(os.system, f"touch {marker}")] + jpegs[2:], [1, 0]), 2))
    result, out = _evaluate(tmp_path, tiny_run(), "--cache", tmp_path / "cache", benchmark="agedb", path=path)
    message = last_line(result.stderr)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert message.startswith("error:") and "agedb.bin" in message and "system" in message, message
    assert result.stderr.count("error:") == 1
    assert not marker.exists() and not out.exists() and not list(tmp_path.rglob("*.npz"))


# --------------------------------------------------------------------- legit packs still read
@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_plain_pickle_of_the_insightface_layout_reads_identically(protocol, tmp_path):
    jpegs = _faces(6)
    issame = [True, False, True]
    path = tmp_path / "lfw.bin"
    path.write_bytes(pickle.dumps((jpegs, issame), protocol=protocol))
    images, same = read_bin(path)
    np.testing.assert_array_equal(images, _decoded(jpegs))
    assert same.tolist() == issame


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_numpy_flags_and_array_items_read_identically(protocol, tmp_path):
    jpegs = _faces(6)
    bins = [np.frombuffer(jpegs[0], np.uint8), bytearray(jpegs[1]), *jpegs[2:]]
    for issame in (
        np.array([True, False, False]),
        [np.bool_(False), np.bool_(True), True],
        np.array([1, 0, 1]),
    ):
        path = tmp_path / "cfp.bin"
        path.write_bytes(pickle.dumps((bins, issame), protocol=protocol))
        images, same = read_bin(path)
        np.testing.assert_array_equal(images, _decoded(jpegs))
        assert same.tolist() == [bool(x) for x in issame]


def _py2_bool_array(flags: list[bool]) -> bytes:
    """Protocol-2 opcodes of a numpy bool array as Python 2's numpy pickles it (py2 str data)."""
    raw = bytes(flags)
    dtype = b"cnumpy\ndtype\nU\x02b1K\x00K\x01\x87R(K\x03U\x01|NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb"
    head = b"cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\nK\x00\x85U\x01b\x87R"
    state = b"(K\x01K" + bytes([len(raw)]) + b"\x85" + dtype + b"\x89U" + bytes([len(raw)]) + raw + b"tb"
    return head + state


def test_python2_protocol_2_pack_with_str_items_and_numpy_flags_reads_identically(tmp_path):
    jpegs = _faces(4)
    # PROTO 2, list of BINSTRING items (Python 2 str), then a py2 numpy bool array, TUPLE2, STOP
    body = b"\x80\x02](" + b"".join(b"T" + len(j).to_bytes(4, "little") + j for j in jpegs) + b"e"
    body += _py2_bool_array([False, True]) + b"\x86."
    path = tmp_path / "py2.bin"
    path.write_bytes(body)
    images, same = read_bin(path)
    np.testing.assert_array_equal(images, _decoded(jpegs))
    assert same.tolist() == [False, True]


# --------------------------------------------------------------------------------- torch files
def _run_copy(tmp_path: Path) -> Path:
    run = tmp_path / "run"
    shutil.copytree(tiny_run(), run)
    return run


def _edit_run_json(run: Path, **keys) -> None:
    info = json.loads((run / "run.json").read_text())
    for key, value in keys.items():
        if key == "plugins":
            info["config"]["plugins"] = value
        else:
            info[key] = value
    (run / "run.json").write_text(json.dumps(info))


def test_model_pt_with_a_pickled_callable_through_evaluate(tmp_path):
    marker = tmp_path / MARKER
    run = _run_copy(tmp_path)
    state = torch.load(run / "model.pt", weights_only=True)
    torch.save({**state, "hook": _Call(os.system, f"touch {marker}")}, run / "model.pt")
    result, out = _evaluate(tmp_path, run)
    message = last_line(result.stderr)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert "model.pt" in message and "system" in message and "refused" in message, message
    assert not marker.exists() and not out.exists()


@pytest.mark.parametrize("kind", ["exec", "subprocess", "module class"])
def test_tensor_file_with_a_pickled_callable_is_refused_naming_it(kind, hostile):
    from interface.untrusted import load_tensors

    folder, marker = hostile
    evil, refused = _payload(kind, marker, folder)
    path = folder / "model.pt"
    with _stand_ins(folder):
        torch.save({"weight": torch.zeros(2), "x": evil}, path)
    with pytest.raises(InputError) as info:
        load_tensors(path, "model.pt")
    message = str(info.value)
    assert "\n" not in message and str(path) in message and refused in message, message
    assert not marker.exists()


def test_head_pt_with_a_pickled_callable_is_skipped_by_the_figures(hostile):
    from analysis.figures.learned import load_head_weight

    folder, marker = hostile
    torch.save(
        {"state_dict": {"weight": torch.ones(3, 2)}, "x": _Call(os.system, f"touch {marker}")},
        folder / "head.pt",
    )
    assert load_head_weight(folder / "head.pt") is None
    assert not marker.exists()
    torch.save({"state_dict": {"weight": torch.ones(3, 2)}}, folder / "good.pt")  # control: read
    np.testing.assert_array_equal(load_head_weight(folder / "good.pt"), np.ones((3, 2)))


# ------------------------------------------------------------------------------------ plugins
def _evil_plugin(folder: Path, marker: Path, backbone: str | None = None) -> Path:
    path = folder / "their_plugin.py"
    code = f"open({str(marker)!r}, 'w').write('imported')\n"
    if backbone:
        code += (
            "from interface.backbones.registry import register_backbone\n"
            "from interface.backbones.tiny import TinyNet\n"
            f"register_backbone({backbone!r})(TinyNet)\n"
        )
    path.write_text(code)
    return path


def test_evaluate_reports_but_never_imports_a_run_folders_plugins(tmp_path):
    marker = tmp_path / MARKER
    run = _run_copy(tmp_path)
    plugin = _evil_plugin(tmp_path, marker)
    _edit_run_json(run, plugins=[str(plugin)])
    result, out = _evaluate(tmp_path, run)
    assert result.returncode == 0, result.stderr
    assert not marker.exists(), "evaluate imported a plugin the run folder named"
    notes = [line for line in result.stderr.splitlines() if "their_plugin.py" in line]
    assert len(notes) == 1 and "run.json" in notes[0] and "--trust-run-plugins" in notes[0], result.stderr
    assert json.loads(out.read_text())["rows"]  # the built-in backbone scores without the plugin


def test_run_plugins_are_imported_only_when_trusted_explicitly(tmp_path):
    from interface.training import load_run

    marker = tmp_path / MARKER
    run = _run_copy(tmp_path)
    plugin = _evil_plugin(tmp_path, marker)
    _edit_run_json(run, plugins=[str(plugin)])
    load_run(run)
    assert not marker.exists()
    load_run(run, trust_run_plugins=True)  # control: the flag really imports it
    assert marker.read_text() == "imported"


def test_a_plugin_the_user_names_is_imported(tmp_path):
    from interface.training import load_run

    marker = tmp_path / MARKER
    run = _run_copy(tmp_path)
    plugin = _evil_plugin(tmp_path, marker)
    load_run(run, plugins=[str(plugin)])
    assert marker.exists()


def test_a_backbone_only_a_run_plugin_defines_fails_in_one_line_naming_both(tmp_path):
    from interface.training import load_run

    marker = tmp_path / MARKER
    run = _run_copy(tmp_path)
    plugin = _evil_plugin(tmp_path, marker, backbone="theirnet")
    _edit_run_json(run, plugins=[str(plugin)], backbone="theirnet")
    with pytest.raises(InputError) as info:
        load_run(run)
    message = str(info.value)
    assert "run.json" in message and "theirnet" in message and "their_plugin.py" in message, message
    assert not marker.exists()
    model, _ = load_run(run, plugins=[str(plugin)])  # the user vouches for it: it loads
    assert marker.exists() and model is not None


def test_report_imports_only_the_configs_plugins(tmp_path, monkeypatch):
    from analysis import collect, report

    marker = tmp_path / MARKER
    plugin = _evil_plugin(tmp_path, marker)
    rid = "synth__tiny__theirloss__m=0.5__s0"
    write_run_json(tmp_path / "runs" / rid, loss="theirloss", config={"plugins": [str(plugin)]})
    tidy = tmp_path / "scores.csv"
    tidy.write_text(",".join(collect.TIDY_COLUMNS) + "\n")
    (tmp_path / "c.json").write_text(json.dumps({"config": {"plugins": []}, "runs": [{"run_id": rid}]}))
    seen = []

    def figures_stub(table, runs, extras, bench, figures_dir, plugins=None):
        seen.append(list(plugins or []))  # what the figures would import
        return [], [], []

    monkeypatch.setattr(report, "make_figures", figures_stub)
    html = report.build_report(tidy, tmp_path / "runs", None, None, tmp_path / "c.json", tmp_path / "r")
    assert seen == [[]] and not marker.exists()
    assert "their_plugin.py" in html.read_text() and "not imported" in html.read_text()


# ----------------------------------------------------------------------- names read from files
BAD_NAMES = ["../x", "/abs", "a/b", "..", "", ".", "a\\b", "x\0y"]


@pytest.mark.parametrize("bad", BAD_NAMES)
def test_run_id_that_would_leave_the_cache_folder_is_refused(bad, tmp_path, capsys):
    from interface.evaluation.cli import main

    run = _run_copy(tmp_path)
    _edit_run_json(run, tags={"run_id": bad})
    cache, out = tmp_path / "cache", tmp_path / "scores" / "lfw.json"
    code = main(
        ["--run", str(run), "--benchmark", "lfw", "--kind", "verification",
         "--path", str(smoke_data() / "synth_lfw.bin"), "--out", str(out), "--cache", str(cache)]
    )  # fmt: skip
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert code == 2 and len(err) == 1, err
    assert "run.json" in err[0] and "run_id" in err[0] and repr(bad) in err[0], err
    assert not out.exists() and not cache.exists() and not list(tmp_path.rglob("*.npz"))


def test_tags_run_id_escape_through_the_command(tmp_path):
    run = _run_copy(tmp_path)
    info = json.loads((run / "run.json").read_text())
    info.pop("run_id", None)
    info["tags"] = {**(info.get("tags") or {}), "run_id": "../escaped"}
    (run / "run.json").write_text(json.dumps(info))
    result, out = _evaluate(tmp_path, run, "--cache", tmp_path / "cache" / "inner")
    message = last_line(result.stderr)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert "run.json" in message and "tags.run_id" in message and "../escaped" in message, message
    assert not out.exists() and not (tmp_path / "cache").exists()


@pytest.mark.parametrize("bad", ["../x", "/abs", "a/b"])
def test_context_refuses_a_run_id_that_is_not_a_plain_name(bad):
    from interface.evaluation.tasks import Context

    with pytest.raises(InputError, match="run id"):
        Context(model=torch.nn.Identity(), run_id=bad, model_sha="0")


PTS = "46.0 62.0 87.7 60.3 68.8 77.6 52.1 99.8 86.4 98.6"


def _ijb(root: Path, names: list[str]) -> Path:
    meta = root / "meta"
    meta.mkdir(parents=True)
    (meta / "t_face_tid_mid.txt").write_text("".join(f"{n} 1 {i}\n" for i, n in enumerate(names)))
    (meta / "t_name_5pts_score.txt").write_text("".join(f"{n} {PTS} 0.9\n" for n in names))
    (meta / "t_template_pair_label.txt").write_text("1 1 1\n")
    return root


@pytest.mark.parametrize("bad", ["../outside.jpg", "/etc/hostname", "sub/../../x.jpg", "a//b.jpg", "./1.jpg"])
def test_ijb_image_name_outside_loose_crop_is_refused(bad, tmp_path):
    from interface.data.ijb import read_ijb

    root = _ijb(tmp_path / "IJBC", ["1.jpg", bad])
    with pytest.raises(InputError) as info:
        read_ijb(root)
    message = str(info.value)
    assert "t_face_tid_mid.txt line 2" in message and repr(bad) in message, message


def test_ijb_image_names_inside_loose_crop_are_read(tmp_path):
    from interface.data.ijb import read_ijb

    meta = read_ijb(_ijb(tmp_path / "IJBB", ["1.jpg", "frames/2.png"]))
    assert meta.image_path(1) == tmp_path / "IJBB" / "loose_crop" / "frames" / "2.png"


@pytest.mark.parametrize("bad", ["../secret.txt", "/etc/hostname"])
def test_manifest_entry_outside_its_folder_is_refused(bad, tmp_path):
    from interface.data.manifest import verify_manifest

    root = tmp_path / "data"
    root.mkdir()
    (tmp_path / "secret.txt").write_text("not yours")
    (root / "manifest.json").write_text(json.dumps({"files": {bad: {"bytes": 9, "sha256": "0" * 64}}}))
    with pytest.raises(InputError) as info:
        verify_manifest(root)
    message = str(info.value)
    assert "manifest.json" in message and "files" in message and repr(bad) in message, message


def test_score_table_run_id_escape_is_refused(tmp_path):
    from analysis import collect

    tidy = tmp_path / "scores.csv"
    row = {c: "" for c in collect.TIDY_COLUMNS} | {"run_id": "../../etc"}
    tidy.write_text(
        ",".join(collect.TIDY_COLUMNS) + "\n" + ",".join(row[c] for c in collect.TIDY_COLUMNS) + "\n"
    )
    with pytest.raises(InputError, match=r"scores\.csv column run_id: '\.\./\.\./etc'"):
        collect.read_tidy(tidy)


def test_config_run_id_escape_is_refused():
    from analysis.report_inputs import config_runs

    with pytest.raises(InputError, match=r"runs\[1\]\.run_id: '/abs'"):
        config_runs({"runs": [{"run_id": "synth__tiny__arcface__m=0.5__s0"}, {"run_id": "/abs"}]})


@pytest.mark.parametrize("good", ["synth-smoke__tiny__arcface__m=0.5__s0", "x.y", "run@2+1", "..x"])
def test_plain_names_are_accepted(good):
    from interface.untrusted import plain_name, relative_name

    assert plain_name(good, "where") == good and relative_name(f"sub/{good}", "where") == f"sub/{good}"
