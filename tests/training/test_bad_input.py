"""Bad input stops before the first training step with one line naming the key, file or value."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from interface.errors import InputError
from interface.training import config_from_mapping, load_config, train
from interface.training.cli import main


def _no_training_happened(run_dir):
    assert not (run_dir / "model.pt").exists() and not (run_dir / "resume.pt").exists()


@pytest.mark.parametrize(
    "overrides,match",
    [
        ({"backbone": "resnet9000"}, "resnet9000"),
        ({"loss": "no_such_loss"}, "no_such_loss"),
        ({"batch_size": 100000}, r"batch_size 100000 exceeds the \d+ training images"),
        ({"loss": "arcface", "loss_params": {"m": -3.0}}, "m"),
        ({"plugins": ["no_such_module_xyz"]}, "no_such_module_xyz"),
    ],
)
def test_bad_run_settings(make_config, tmp_path, overrides, match):
    with pytest.raises(InputError, match=match):
        train(make_config(**overrides), tmp_path)
    _no_training_happened(tmp_path)


def test_missing_and_wrong_dataset_folders(make_config, tmp_path):
    with pytest.raises(InputError, match="not found"):
        train(make_config(data=str(tmp_path / "nowhere")), tmp_path / "run")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="empty.*identity sub-folders"):
        train(make_config(data=str(tmp_path / "empty")), tmp_path / "run")
    _no_training_happened(tmp_path / "run")


def test_label_beyond_the_class_count(make_config, tmp_path):
    from interface.data import write_record_dataset

    rng = np.random.default_rng(0)
    images = [rng.integers(0, 256, (32, 32, 3), dtype=np.uint8) for _ in range(12)]
    root = tmp_path / "data"
    write_record_dataset(root, images, [i // 3 for i in range(12)])
    (root / "property").write_text("3,32,32")  # labels 0..3 but only 3 classes declared
    (root / "manifest.json").unlink(missing_ok=True)
    with pytest.raises(InputError, match="label 3"):
        train(make_config(data=str(root), batch_size=4), tmp_path / "run")
    _no_training_happened(tmp_path / "run")


@pytest.mark.parametrize(
    "mapping,match",
    [
        ({"bach_size": 8}, r"unknown key 'bach_size' \(did you mean 'batch_size'\?\)"),
        ({"lr": "fast"}, "'lr'.*wrong type; expected float"),
        ({"batch_size": 8.5}, "'batch_size'.*expected int"),
        ({"precision": "fp8"}, "'precision'"),
        ({"epochs": 0}, "'epochs'.*>= 1"),
        ({"milestones": [20, 10]}, "'milestones'"),
        ({"device": "tpu"}, "'device'"),
        ({"compile": "yes"}, "'compile'.*bool"),
        ({"tags": ["a"]}, "'tags'"),
    ],
)
def test_config_keys_and_types_are_checked(mapping, match):
    with pytest.raises(InputError, match=match):
        config_from_mapping({"data": "somewhere", **mapping})


def test_config_defaults_are_the_published_recipe_and_yaml_paths_resolve(tmp_path):
    (tmp_path / "run.yaml").write_text(
        yaml.safe_dump({"data": "sets/casia", "lr": 1, "plugins": ["my_pkg.losses", "extra/loss.py"]})
    )
    config = load_config(tmp_path / "run.yaml")
    assert config.data == str((tmp_path / "sets/casia").resolve())
    assert config.plugins == ["my_pkg.losses", str((tmp_path / "extra/loss.py").resolve())]
    assert config.lr == 1.0 and isinstance(config.lr, float)
    assert (config.backbone, config.embedding_size, config.input_size, config.batch_size) == (
        "iresnet50",
        512,
        112,
        512,
    )
    assert (config.momentum, config.weight_decay, config.grad_clip, config.epochs) == (0.9, 5e-4, 5.0, 34)
    assert config.milestones == [20.0, 28.0, 32.0] and config.lr_schedule == "step"
    with pytest.raises(InputError, match="missing required key 'data'"):
        config_from_mapping({"lr": 0.1})


def test_cli_prints_one_line_and_exits_2(tmp_path, capsys):
    (tmp_path / "run.yaml").write_text("data: x\nmomentun: 0.9\n")
    assert main(["--config", str(tmp_path / "run.yaml"), "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "momentun" in err and "momentum" in err
    assert main(["--config", str(tmp_path / "nope.yaml"), "--out", str(tmp_path / "run")]) == 2
    assert "nope.yaml" in capsys.readouterr().err


@pytest.mark.parametrize(
    "source,match",
    [
        ("def oops(:\n", "SyntaxError"),
        ("raise RuntimeError('boom at import')\n", "RuntimeError: boom at import"),
    ],
)
def test_broken_plugin_files_are_one_line_input_errors(make_config, tmp_path, source, match):
    plugin = tmp_path / "broken.py"
    plugin.write_text(source)
    for _ in range(2):  # a failed import is not remembered as done
        with pytest.raises(InputError, match=f"plugins.*broken.py.*{match}"):
            train(make_config(plugins=[str(plugin)]), tmp_path / "run")
