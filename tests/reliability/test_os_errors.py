"""OS errors while writing (issue 13, item 5): a full disk, a read-only file system or a denied
permission during a checkpoint, model.pt, metrics.jsonl, a score JSON or a table is one
``error: PATH: reason (ERRNO)`` line naming the file; nothing is half-written under a final name
and no temporary is left; temporaries of an earlier killed writer are removed by the next writer
of the same file, and never anyone else's.

Three ways to make a write fail:
* everywhere: the ``open`` that :mod:`interface.atomic` uses is replaced by one whose files raise
  ``OSError(ENOSPC)`` (or EACCES) on write, with no file name, as a real full disk does;
* as root, where ``mount`` works: a small tmpfs really runs full, or is remounted read-only
  (skipped otherwise, saying why);
* not as root: a folder without write permission (root ignores directory permissions: skipped).
"""

from __future__ import annotations

import errno
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from _util import smoke_data, write_run_yaml

from interface import atomic
from interface.errors import cli_main, describe_os_error

ENOSPC_LINE = "No space left on device (ENOSPC)"


def _files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def _one_error(capsys) -> str:
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert "Traceback" not in err and len(errors) == 1, err[-3000:]
    return errors[0]


class _FailingFile(io.RawIOBase):
    """A writable file whose writes fail like a full disk (or ``code``): no file name attached."""

    def __init__(self, code: int) -> None:
        self.code = code

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        raise OSError(self.code, os.strerror(self.code))


def _fail_writes(monkeypatch, code: int = errno.ENOSPC, only: str | None = None) -> None:
    """Every file :mod:`interface.atomic` opens (or only temporaries of the target named ``only``)
    fails on write with ``code``."""
    real = open

    def fake_open(path, mode="r", *args, **kwargs):
        if "r" in mode or (only is not None and not Path(path).name.startswith(f".{only}.")):
            return real(path, mode, *args, **kwargs)
        raw = _FailingFile(code)
        return io.TextIOWrapper(io.BufferedWriter(raw)) if "b" not in mode else io.BufferedWriter(raw)

    monkeypatch.setattr(atomic, "open", fake_open, raising=False)


@pytest.fixture(autouse=True)
def _fresh_stderr_log_handler():
    """The trainer adds one stderr log handler per process, bound to the stderr of that moment;
    capsys gives each test its own stderr, so the handler must not outlive the test."""
    import logging

    yield
    logger = logging.getLogger("interface.training")
    for handler in [h for h in logger.handlers if getattr(h, "_interface_stderr", False)]:
        logger.removeHandler(handler)


def _train(tmp_path, capsys, out: Path, **keys) -> tuple[int, str]:
    """``python -m interface train`` in this process (its one error line, and its exit status)."""
    from interface.training.cli import main

    config = write_run_yaml(tmp_path / "RUN.yaml", data=str(smoke_data()), **keys)
    code = main(["--config", str(config), "--out", str(out)])
    return code, _one_error(capsys)


# ------------------------------------------------------------------ simulated, works everywhere
def test_full_disk_while_writing_a_score_json_names_it(tmp_path, monkeypatch):
    target = tmp_path / "scores" / "lfw.json"
    target.parent.mkdir()
    target.write_text('{"previous": true}\n')
    _fail_writes(monkeypatch)
    with pytest.raises(OSError) as caught:
        atomic.write_json(target, {"rows": list(range(10_000))})
    assert caught.value.errno == errno.ENOSPC
    assert describe_os_error(caught.value) == f"{target}: {ENOSPC_LINE}"
    assert json.loads(target.read_text()) == {"previous": True}
    assert _files(target.parent) == ["lfw.json"]


def test_the_command_line_prints_the_path_not_a_question_mark(tmp_path, monkeypatch, capsys):
    target = tmp_path / "out.json"
    _fail_writes(monkeypatch)
    command = cli_main(lambda argv: atomic.write_json(argv[0], {"x": "y" * 100_000}))
    assert command([str(target)]) == 2
    assert _one_error(capsys) == f"error: {target}: {ENOSPC_LINE}"


def test_permission_denied_while_writing_names_the_file(tmp_path, monkeypatch):
    _fail_writes(monkeypatch, errno.EACCES)
    with pytest.raises(OSError) as caught:
        atomic.write_bytes(tmp_path / "a.bin", b"x" * 100_000)
    assert describe_os_error(caught.value) == f"{tmp_path / 'a.bin'}: Permission denied (EACCES)"


def test_full_disk_during_a_checkpoint_is_one_line_naming_resume_pt(tmp_path, monkeypatch, capsys):
    out = tmp_path / "run"
    _fail_writes(monkeypatch)
    code, line = _train(tmp_path, capsys, out, max_steps=3, epochs=5, checkpoint_every=1)
    assert code == 2 and line == f"error: {out / 'resume.pt'}: {ENOSPC_LINE}"
    assert [n for n in _files(out) if n.endswith(".tmp")] == []
    assert not (out / "resume.pt").exists() and not (out / "run.json").exists()


@pytest.mark.parametrize("name", ["model.pt", "head.pt", "metrics.jsonl", "run.json"])
def test_full_disk_while_writing_a_final_file_names_it(tmp_path, monkeypatch, capsys, name):
    out = tmp_path / "run"
    _fail_writes(monkeypatch, only=name)
    code, line = _train(tmp_path, capsys, out)
    assert code == 2 and line == f"error: {out / name}: {ENOSPC_LINE}"
    assert [n for n in _files(out) if n.endswith(".tmp")] == [] and not (out / "run.json").exists()


def test_full_disk_while_writing_a_table_names_it(tmp_path, monkeypatch):
    import pandas as pd

    from analysis.collect import write_csv

    def full(self, path, *args, **kwargs):  # pandas writes through its own file handles
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(pd.DataFrame, "to_csv", full)
    target = tmp_path / "tables" / "scores.csv"
    with pytest.raises(OSError) as caught:
        write_csv(pd.DataFrame({"a": [1]}), target)
    assert describe_os_error(caught.value) == f"{target}: {ENOSPC_LINE}"
    assert _files(target.parent) == []


def test_a_failed_write_among_several_open_outputs_names_their_folder(tmp_path, monkeypatch):
    """write_record_dataset has train.rec, train.idx and property open at once: a write error
    without a file name cannot say which, so the dataset folder is named, not a guess."""
    import numpy as np

    from interface.data import recordio, write_record_dataset

    def full(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(recordio.RecordWriter, "write", full)
    root = tmp_path / "set"
    images = [np.zeros((16, 16, 3), np.uint8)] * 4
    with pytest.raises(OSError) as caught:
        write_record_dataset(root, images, [0, 0, 1, 1])
    assert describe_os_error(caught.value) == f"{root}: {ENOSPC_LINE}"
    assert not root.exists() or _files(root) == []


def test_an_error_about_another_file_inside_an_atomic_write_keeps_its_name(tmp_path):
    missing = tmp_path / "missing.csv"
    with pytest.raises(FileNotFoundError) as caught:
        atomic.copy_file(missing, tmp_path / "copy.csv")
    assert caught.value.filename == str(missing)
    assert _files(tmp_path) == []


def test_an_os_error_without_a_path_says_so(capsys):
    command = cli_main(lambda argv: (_ for _ in ()).throw(OSError(errno.EIO, os.strerror(errno.EIO))))
    assert command([]) == 2
    line = _one_error(capsys)
    assert "?" not in line and "(EIO)" in line and "named no file" in line
    assert describe_os_error(OSError(errno.EXDEV, "Invalid cross-device link", "a", None, "b")) == (
        "a -> b: Invalid cross-device link (EXDEV)"
    )


def test_a_failing_train_log_is_one_warning_line(tmp_path, capsys):
    import logging

    from interface.training import runs

    handler = runs.attach_log(tmp_path)
    try:
        handler.stream = io.TextIOWrapper(io.BufferedWriter(_FailingFile(errno.ENOSPC)), write_through=True)
        for i in range(3):
            logging.getLogger("interface.training").warning("record %d", i)
    finally:
        handler.stream = None
        runs.detach_log(handler)
    err = capsys.readouterr().err
    warnings = [line for line in err.splitlines() if line.startswith("warning: ")]
    assert "Traceback" not in err and "Logging error" not in err
    assert warnings == [f"warning: {tmp_path / 'train.log'}: {ENOSPC_LINE}; train.log stops here"]


# ------------------------------------------------------------------------------ real file systems
@pytest.fixture
def small_tmpfs(tmp_path):
    """A 128 KiB tmpfs mounted at ``tmp_path/disk`` (root and a working ``mount`` only)."""
    if os.geteuid() != 0:
        pytest.skip(
            "a really full disk needs root to mount a small tmpfs; the simulated cases cover the rest"
        )
    disk = tmp_path / "disk"
    disk.mkdir()
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=128k", "tmpfs", str(disk)], capture_output=True, text=True
    )
    if result.returncode != 0:
        pytest.skip(f"mount -t tmpfs failed (no CAP_SYS_ADMIN here?): {result.stderr.strip()[:200]}")
    yield disk
    subprocess.run(["umount", "-l", str(disk)], check=False)


def test_a_really_full_disk_during_training_names_model_pt(tmp_path, capsys, small_tmpfs):
    out = small_tmpfs / "run"  # model.pt of the tiny run is about 240 KB: more than the disk holds
    code, line = _train(tmp_path, capsys, out)
    assert code == 2 and line == f"error: {out / 'model.pt'}: {ENOSPC_LINE}"
    assert [n for n in _files(out) if n.endswith(".tmp")] == []
    assert not (out / "model.pt").exists() and not (out / "run.json").exists()


def test_a_disk_full_before_training_starts_is_one_warning_and_one_error(tmp_path, capsys, small_tmpfs):
    out = small_tmpfs / "run"
    out.mkdir()
    filler = small_tmpfs / "filler"
    with open(filler, "wb", buffering=0) as handle, pytest.raises(OSError):
        while True:  # take every free block, so even train.log cannot grow
            handle.write(b"\0" * 4096)
            handle.flush()
    code, line = _train(tmp_path, capsys, out)
    assert code == 2 and line.startswith(f"error: {out}") and ENOSPC_LINE in line
    assert [n for n in _files(out) if n.endswith(".tmp")] == [] and not (out / "run.json").exists()


def test_a_really_full_disk_keeps_the_previous_score_json(small_tmpfs):
    target = small_tmpfs / "lfw.json"
    atomic.write_json(target, {"previous": True})
    with pytest.raises(OSError) as caught:
        atomic.write_json(target, {"rows": ["x" * 100] * 5000})
    assert describe_os_error(caught.value) == f"{target}: {ENOSPC_LINE}"
    assert json.loads(target.read_text()) == {"previous": True}
    assert _files(small_tmpfs) == ["lfw.json"]


def test_a_read_only_file_system_names_the_file(small_tmpfs, capsys):
    target = small_tmpfs / "scores.csv"
    target.write_text("a\n1\n")
    subprocess.run(["mount", "-o", "remount,ro", str(small_tmpfs)], check=True)
    command = cli_main(lambda argv: atomic.write_bytes(argv[0], b"a\n2\n"))
    assert command([str(target)]) == 2
    assert _one_error(capsys) == f"error: {target}: Read-only file system (EROFS)"
    assert target.read_text() == "a\n1\n"


def test_a_folder_without_write_permission_names_the_file(tmp_path, capsys):
    if os.geteuid() == 0:
        pytest.skip("root ignores directory permissions; the read-only tmpfs case covers a refused write")
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        command = cli_main(lambda argv: atomic.write_json(argv[0], {}))
        assert command([str(folder / "x.json")]) == 2
        assert _one_error(capsys) == f"error: {folder / 'x.json'}: Permission denied (EACCES)"
    finally:
        folder.chmod(0o755)


# ------------------------------------------------------------------ temporaries of killed writers
def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _temporary(target: Path, pid: int, tag: str | None = None) -> Path:
    path = target.parent / f".{target.name}.{tag or atomic.writer_tag()}-{pid}-abcd_123.tmp"
    path.write_bytes(b"half")
    return path


def test_the_next_writer_removes_temporaries_of_dead_writers_only(tmp_path):
    target = tmp_path / "lfw.json"
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        dead = _temporary(target, _dead_pid())
        alive = _temporary(target, live.pid)  # a concurrent writer of the same file: kept
        foreign = _temporary(target, _dead_pid(), tag="0badbeef")  # another host: its pids mean nothing here
        other_target = _temporary(tmp_path / "cfp_fp.json", _dead_pid())  # not this target
        unrelated = [tmp_path / n for n in (".lfw.json.notes.tmp", "lfw.json.tmp", ".lfw.json.1-2-x.tmp")]
        for path in unrelated:
            path.write_text("keep")
        atomic.write_json(target, {"ok": True})
    finally:
        live.kill()
        live.wait()
    assert not dead.exists()
    assert all(p.exists() for p in (alive, foreign, other_target, *unrelated))
    assert json.loads(target.read_text()) == {"ok": True}


def test_temporary_names_carry_the_writer(tmp_path):
    with atomic.atomic_path(tmp_path / "model.pt") as tmp:
        assert tmp.name.startswith(f".model.pt.{atomic.writer_tag()}-{os.getpid()}-")
        assert tmp.name.endswith(".tmp")


def test_a_training_run_clears_every_temporary_of_its_folder_under_the_lock(tmp_path, capsys):
    """The run lock makes the trainer the only writer of its files: their temporaries, from any
    host, are an earlier holder's (here: a resume.pt being written when it was killed); another
    program's temporary in the folder stays."""
    from interface.training.cli import main

    out = tmp_path / "run"
    out.mkdir()
    stale = [_temporary(out / "resume.pt", os.getpid()), _temporary(out / "model.pt", 1, tag="0badbeef")]
    keep = out / "notes.txt"
    keep.write_text("mine")
    other_writer = _temporary(out / "notes.json", 1, tag="0badbeef")  # not a file the trainer writes
    config = write_run_yaml(tmp_path / "RUN.yaml", data=str(smoke_data()))
    assert main(["--config", str(config), "--out", str(out)]) == 0
    assert not any(p.exists() for p in stale) and keep.read_text() == "mine"
    assert [n for n in _files(out) if n.endswith(".tmp")] == [other_writer.name]
