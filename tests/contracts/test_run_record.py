"""The run record run.json (interface.contracts.run_record): round trips through JSON, readers
refusing other formats, missing, extra and mistyped keys in one line naming the file."""

from __future__ import annotations

import dataclasses
import json
import math
import sys
from pathlib import Path

import pytest
from run_records import trained_record, write_run_json

from interface.contracts.run_record import (
    IMPORTED_RUN_FORMAT,
    RUN_FORMAT,
    ImportedRunRecord,
    RunRecord,
    read_run_record,
)
from interface.errors import InputError


def _imported(**fields) -> ImportedRunRecord:
    base = {
        "run_id": "bench__iresnet18__external__label=r18__s0",
        "backbone": "iresnet18",
        "embedding_size": 512,
        "input_size": 112,
        "external": True,
        "provenance": {"source": "/w/r18.pth", "sha256": "0" * 64, "label": "r18"},
        "tags": {"run_id": "bench__iresnet18__external__label=r18__s0", "loss": "external", "seed": 0},
    }
    return ImportedRunRecord(**{**base, **fields})


def _one_line_error(path) -> str:
    with pytest.raises(InputError) as info:
        read_run_record(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ") and "\n" not in message
    return message


def test_trained_record_round_trips_through_a_file(tmp_path):
    record = write_run_json(tmp_path, seed=3, final_loss=None, tags={"run_id": "a__b__c__default__s3"})
    raw = json.loads((tmp_path / "run.json").read_text())
    assert list(raw) == ["format", *(f.name for f in dataclasses.fields(RunRecord))]
    assert raw["format"] == RUN_FORMAT.tag == "interface-run/1"
    back = read_run_record(tmp_path / "run.json")
    assert back == record and type(back) is RunRecord
    assert back.to_json() == raw
    assert (back.run_id, back.plugins, back.external, back.published_as) == (
        "a__b__c__default__s3",
        [],
        False,
        None,
    )


@pytest.mark.parametrize("published", [None, {"dataset": "ms1mv3", "loss": "arcface"}])
def test_imported_record_round_trips_and_omits_an_absent_published_as(tmp_path, published):
    record = _imported(published_as=published)
    raw = record.to_json()
    assert raw["format"] == IMPORTED_RUN_FORMAT.tag and raw["external"] is True
    assert ("published_as" in raw) == (published is not None)
    (tmp_path / "run.json").write_text(json.dumps(raw))
    back = read_run_record(tmp_path / "run.json")
    assert back == record and back.to_json() == raw
    assert back.external and back.plugins == [] and math.isnan(back.wall_time_s)


def test_importer_writes_the_imported_record(tmp_path):
    import torch

    from interface.backbones import build_backbone
    from interface.external.importer import import_weights

    torch.save(build_backbone("tiny", embedding_size=16, input_size=32).state_dict(), tmp_path / "w.pt")
    info = import_weights(tmp_path / "w.pt", "tiny", tmp_path / "run", published_as=("ms1mv3", "arcface"))
    back = read_run_record(tmp_path / "run" / "run.json")
    assert isinstance(back, ImportedRunRecord) and back.to_json() == info
    assert (back.run_id, back.embedding_size, back.input_size) == ("run", 16, 32)
    assert back.published_as == {"dataset": "ms1mv3", "loss": "arcface"}


@pytest.mark.parametrize(
    ("tag", "found"),
    [("interface-run/2", "format 'interface-run/2'"), ("interface-run/0", "format 'interface-run/0'"),
     ("interface-score/1", "format 'interface-score/1'"), (None, "no format tag")],
)  # fmt: skip
def test_reader_refuses_another_format_or_version_in_one_line(tmp_path, tag, found):
    raw = trained_record().to_json()
    if tag is None:
        del raw["format"]
    else:
        raw["format"] = tag
    (tmp_path / "run.json").write_text(json.dumps(raw))
    message = _one_line_error(tmp_path / "run.json")
    assert found in message and RUN_FORMAT.tag in message and IMPORTED_RUN_FORMAT.tag in message


def test_reader_refuses_missing_extra_and_mistyped_keys(tmp_path):
    path = tmp_path / "run.json"
    good = trained_record().to_json()
    cases = [
        ({k: v for k, v in good.items() if k != "wall_time_s"}, "key 'wall_time_s' is missing"),
        ({**good, "wall_time": 1.0}, "unexpected key 'wall_time'"),  # another spelling: not read
        ({**good, "seed": True}, "key 'seed' is bool; expected int"),
        ({**good, "seed": 1.5}, "key 'seed' is float; expected int"),
        ({**good, "final_loss": "low"}, "key 'final_loss' is str; expected float or null"),
        ({**good, "tags": []}, "key 'tags' is list; expected an object"),
        ({**good, "config": {"plugins": "x.py"}}, "key config.plugins is 'x.py'"),
        ([good], "expected a JSON object"),
    ]
    for payload, expected in cases:
        path.write_text(json.dumps(payload))
        assert expected in _one_line_error(path), expected
    imported = _imported().to_json()
    for payload, expected in [
        ({**imported, "external": False}, "key 'external' is False; expected true"),
        ({**imported, "published_as": {"dataset": "x"}}, "key 'published_as'"),
    ]:
        path.write_text(json.dumps(payload))
        assert expected in _one_line_error(path), expected
    path.write_text("{not json")
    assert "not readable JSON" in _one_line_error(path)


def test_the_trainers_run_json_reads_back_with_the_keys_the_fixtures_write():
    """A real (two-step, tiny) training run's run.json is a RunRecord; :func:`trained_record`,
    which the fixtures write, has exactly its keys."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "reliability"))
    from _util import tiny_run

    record = read_run_record(tiny_run() / "run.json")
    assert isinstance(record, RunRecord) and record.steps == 2 and record.run_id is None
    assert list(trained_record().to_json()) == list(record.to_json())
