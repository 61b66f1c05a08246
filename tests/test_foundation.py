"""The command dispatcher, the one-line error wrapper and atomic writes."""

from __future__ import annotations

import subprocess
import sys

import pytest

from interface.atomic import atomic_open, write_json
from interface.errors import InputError, cli_main


def test_help_lists_every_command():
    out = subprocess.run([sys.executable, "-m", "interface", "--help"], capture_output=True, text=True)
    assert out.returncode == 0
    for name in ("synth", "pack", "train", "evaluate", "bench"):
        assert f"  {name}" in out.stdout


def test_unknown_command_is_one_line_error():
    out = subprocess.run([sys.executable, "-m", "interface", "nope"], capture_output=True, text=True)
    assert out.returncode == 2
    assert out.stderr.strip().count("\n") == 0 and "'nope'" in out.stderr


def test_cli_main_turns_input_error_into_exit_2(capsys):
    @cli_main
    def main(argv):
        raise InputError("file x.rec: bad\nmagic")

    assert main([]) == 2
    assert capsys.readouterr().err == "error: file x.rec: bad magic\n"


def test_atomic_open_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "out.json"
    write_json(target, {"a": 1})
    with pytest.raises(RuntimeError), atomic_open(target) as handle:
        handle.write("half")
        raise RuntimeError("interrupted")
    assert target.read_text() == '{\n  "a": 1\n}\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]


def test_atomic_files_get_the_default_mode(tmp_path):
    import os

    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    write_json(tmp_path / "atomic.json", {})
    assert os.stat(tmp_path / "atomic.json").st_mode & 0o777 == os.stat(plain).st_mode & 0o777


def test_cli_main_turns_os_error_into_one_line_naming_the_path(capsys, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")

    @cli_main
    def main(argv):
        (blocker / "sub").mkdir(parents=True)

    assert main([]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and str(blocker / "sub") in err and err.count("\n") == 1
