"""Typed configuration: TOML file, overrides, type checks, errors that name the key."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from core.train.config import ConfigError, TrainConfig, build_config, parse_override


@dataclass
class Inner:
    size: int = 640
    scales: tuple[float, ...] = (0.5, 1.0)


@dataclass
class TaskCfg:
    backbone: str = "resnet50"
    weights: str | None = None
    data: Inner = field(default_factory=Inner)


def test_defaults_file_and_overrides_in_order(tmp_path):
    toml = tmp_path / "run.toml"
    toml.write_text(
        '[train]\nlr = 0.1\nmax_steps = 50\n\n[task]\nbackbone = "mobilenet_v2"\n\n[task.data]\nsize = 320\n'
    )
    cfg = build_config(
        TaskCfg,
        file=toml,
        overrides=[
            "train.lr=0.02",
            "batch_size=3",
            "task.data.scales=[1, 2]",
            "device=cuda:1",
            "weights=/x.pth",
        ],
        train_defaults={"lr": 0.5, "warmup_steps": 7},
    )
    assert cfg.train.lr == 0.02 and cfg.train.max_steps == 50 and cfg.train.warmup_steps == 7
    assert cfg.train.batch_size == 3 and cfg.train.device == "cuda:1"
    assert cfg.task.backbone == "mobilenet_v2" and cfg.task.weights == "/x.pth"
    assert cfg.task.data == Inner(size=320, scales=(1.0, 2.0))
    plain = cfg.to_dict()
    assert plain["task"]["data"]["scales"] == [1.0, 2.0] and plain["train"]["milestones"] == []


@pytest.mark.parametrize(
    ("override", "needle"),
    [
        ("train.max_stepz=3", "train.max_stepz"),
        ("nonsense=1", "nonsense"),
        ("max_steps=ten", "train.max_steps"),
        ("train.amp=1", "train.amp"),
        ("task.data.size=1.5", "task.data.size"),
        ("optimizer=rmsprop", "optimizer"),
        ("max_steps", "key=value"),
    ],
)
def test_bad_overrides_name_the_key(override, needle):
    with pytest.raises(ConfigError, match=needle.replace(".", r"\.")):
        build_config(TaskCfg, overrides=[override])


def test_bad_file_sections_and_syntax(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[optim]\nlr = 1\n")
    with pytest.raises(ConfigError, match="optim"):
        build_config(TaskCfg, file=bad)
    bad.write_text("[train\n")
    with pytest.raises(ConfigError, match="TOML"):
        build_config(TaskCfg, file=bad)
    with pytest.raises(ConfigError, match="cannot read"):
        build_config(TaskCfg, file=tmp_path / "missing.toml")


def test_parse_override_values():
    assert parse_override("a.b=0.5") == (["a", "b"], 0.5)
    assert parse_override("x=true") == (["x"], True)
    assert parse_override("x=cpu") == (["x"], "cpu")
    assert parse_override('x="1"') == (["x"], "1")
    assert TrainConfig().milestones == ()


def test_a_config_that_is_a_device_or_a_fifo_is_refused(tmp_path):
    import os

    from core.train.config import ConfigError, build_config

    fifo = tmp_path / "cfg.toml"
    os.mkfifo(fifo)
    for path in ("/dev/zero", fifo):
        with pytest.raises(ConfigError, match="expected a regular file"):
            build_config(None, file=path)
