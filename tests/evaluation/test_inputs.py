"""The shared decoded-benchmark cache (inputs.py): same scores as without it, shared by runs,
fingerprinted by the source files, rebuilt when damaged, whole under two concurrent builders."""

from __future__ import annotations

import logging
import multiprocessing
import os

import numpy as np
import pytest
import torch

from interface.backbones import build_backbone
from interface.evaluation.embed import extract
from interface.evaluation.inputs import cached_inputs, distinct, inputs_file, prepare
from interface.evaluation.tasks import Benchmark, Context, run_benchmark


def _context(seed: int, cache=None, inputs=None) -> Context:
    torch.manual_seed(seed)
    model = build_backbone("tiny", embedding_size=16, input_size=32)
    return Context(model=model, run_id=f"run{seed}", model_sha=f"sha{seed}", input_size=32, device="cpu",
                   cache_dir=cache, inputs_dir=inputs)  # fmt: skip


def _benches(toy_data, tmp_path):
    return [
        Benchmark("toy_lfw", "verification", toy_data["bin"], tmp_path / "a.json"),
        Benchmark("toy_ijb", "ijb", toy_data["ijb"], tmp_path / "b.json"),
        Benchmark(
            "toy_id", "identification", toy_data["identification"], tmp_path / "c.json", {"ladder": [10, 30]}
        ),
    ]


def _scores(record):
    return [(r["metric"], r["value"]) for r in record["rows"]], record["items"]


def test_distinct_equals_brute_force():
    rng = np.random.default_rng(0)
    base = rng.integers(0, 256, size=(5, 4, 4, 3), dtype=np.uint8)
    pick = rng.integers(0, 5, size=40)
    unique, index = distinct(base[pick])
    np.testing.assert_array_equal(unique[index], base[pick])
    order = list(dict.fromkeys(pick.tolist()))  # first-occurrence order
    np.testing.assert_array_equal(unique, base[order])


def test_prepared_inputs_embed_exactly_like_raw_images():
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, size=(9, 40, 40, 3), dtype=np.uint8)
    model = _context(0).model
    raw = extract(model, images, 32, batch_size=4, device="cpu")
    prepared = prepare(images, 32)
    assert prepared.dtype == np.float32 and prepared.shape == (9, 3, 32, 32)
    got = extract(model, prepared, 32, batch_size=4, device="cpu")
    for a, b in zip(raw, got):
        np.testing.assert_array_equal(a, b)
    same_size = rng.integers(0, 256, size=(3, 32, 32, 3), dtype=np.uint8)
    assert prepare(same_size, 32) is same_size  # nothing to resize: kept as uint8


def test_scores_unchanged_and_inputs_shared_between_runs(toy_data, tmp_path):
    inputs = tmp_path / "inputs"
    records = {}
    for bench in _benches(toy_data, tmp_path):
        plain = run_benchmark(_context(0), bench).to_json()
        first = run_benchmark(_context(0, inputs=inputs), bench).to_json()
        other_run = run_benchmark(_context(1, inputs=inputs), bench).to_json()
        assert _scores(first) == _scores(plain)
        assert (plain["extra"]["inputs_cache"], first["extra"]["inputs_cache"]) == ("off", "written")
        assert other_run["extra"]["inputs_cache"] == "read"  # a second run decodes nothing
        assert _scores(run_benchmark(_context(1), bench).to_json()) == _scores(other_run)
        records[bench.name] = first
    assert len(list(inputs.glob("inputs-*.npz"))) == 3
    # the toy pack's 80 images are 30 distinct ones (each pair twice, impostors reuse genuine images)
    assert records["toy_lfw"]["extra"]["distinct_images"] == 30
    assert records["toy_ijb"]["extra"]["distinct_images"] == records["toy_ijb"]["extra"]["n_images"] == 24


def _decode_images():
    rng = np.random.default_rng(2)
    images = rng.integers(0, 256, size=(6, 40, 40, 3), dtype=np.uint8)
    return images, np.array([0, 1, 2, 3, 4, 5, 0]), {"labels": np.arange(7)}


@pytest.mark.parametrize("damage", ["truncate", "garbage", "tampered"])
def test_damaged_cache_is_rebuilt_with_a_log_line(damage, tmp_path, caplog):
    src = tmp_path / "src.bin"
    src.write_bytes(b"x")
    args = (tmp_path, "toy", "verification", [src], 32, _decode_images)
    good, status = cached_inputs(*args)
    assert status == "written"
    path = inputs_file(tmp_path, "toy", "verification", [src], 32)
    data = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "garbage":
        path.write_bytes(b"not an npz" + data[10:])
    else:  # a readable file whose pixels changed: only the checksum can tell
        with np.load(path) as z:
            arrays = {k: z[k] for k in z.files}
        arrays["x"] = arrays["x"].copy()
        arrays["x"][0, 0, 0, 0] += 1.0
        np.savez(path, **arrays)
    with caplog.at_level(logging.WARNING, logger="interface.evaluation.inputs"):
        again, status = cached_inputs(*args)
    assert status == "written" and "damaged benchmark cache" in caplog.text
    np.testing.assert_array_equal(again.x, good.x)
    assert cached_inputs(*args)[1] == "read"


def test_cache_follows_the_source_files(tmp_path):
    src = tmp_path / "src.bin"
    src.write_bytes(b"x")
    before = inputs_file(tmp_path, "toy", "verification", [src], 32)
    assert before != inputs_file(tmp_path, "toy", "verification", [src], 112)
    os.utime(src, ns=(1, 1))  # regenerated data: another fingerprint, another file
    assert inputs_file(tmp_path, "toy", "verification", [src], 32) != before


def _build(folder, barrier, results):
    src = folder / "src.bin"

    def decode():
        barrier.wait(timeout=30)  # both processes are decoding at the same time
        return _decode_images()

    inputs, status = cached_inputs(folder, "toy", "verification", [src], 32, decode)
    results.put((status, inputs.x.tobytes() == prepare(_decode_images()[0], 32).tobytes()))


def test_two_concurrent_builders_leave_one_whole_file(tmp_path):
    (tmp_path / "src.bin").write_bytes(b"x")
    ctx = multiprocessing.get_context("fork")
    barrier, results = ctx.Barrier(2), ctx.Queue()
    procs = [ctx.Process(target=_build, args=(tmp_path, barrier, results)) for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0]
    assert sorted(results.get(timeout=5) for _ in procs) == [("written", True), ("written", True)]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporaries left
    assert (
        cached_inputs(tmp_path, "toy", "verification", [tmp_path / "src.bin"], 32, _decode_images)[1]
        == "read"
    )


def test_sets_too_large_to_cache_are_streamed_with_the_same_scores(toy_data, tmp_path, monkeypatch):
    import interface.evaluation.inputs as inputs_module

    bench = _benches(toy_data, tmp_path)[1]  # IJB: lazily aligned crops
    cached = run_benchmark(_context(0, inputs=tmp_path / "a"), bench).to_json()
    monkeypatch.setattr(inputs_module, "MAX_CACHED_MIB", 0)
    streamed = run_benchmark(_context(0, inputs=tmp_path / "b"), bench).to_json()
    assert streamed["extra"]["inputs_cache"] == "streamed" and not (tmp_path / "b").exists()
    assert _scores(streamed) == _scores(cached)
