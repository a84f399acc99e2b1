"""Training configuration: typed dataclasses, loaded from TOML, overridden from the CLI.

A run's configuration is a :class:`RunConfig` with two parts:

* ``train`` — :class:`TrainConfig`, the engine options every task shares
  (steps, batch size, optimiser, schedule, AMP, checkpoints ...);
* ``task`` — the task's own dataclass (``ScaleFaceConfig`` ...), possibly with
  nested dataclasses.

A TOML file mirrors that layout::

    [train]
    max_steps = 20000
    lr = 0.01

    [task]
    backbone = "resnet50"

    [task.data]          # a nested dataclass field of the task config
    crop_size = 640

Overrides are ``key=value`` strings (``--set train.lr=0.02``,
``--set task.data.crop_size=512``); a bare key (``lr=0.02``) means the
``train`` field of that name, else the task field. Values are parsed as TOML
values (``0.02``, ``true``, ``[1, 2]``, ``"text"``), falling back to the raw
string (``device=cuda``). Every value is checked against the field's type;
an unknown key or a wrong type is a :class:`ConfigError` naming the key.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import types
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.errors import UserError
from core.io.bounded import InputFileError, read_bytes_bounded

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: the same parser as a package
    import tomli as tomllib  # type: ignore[no-redef]

log = logging.getLogger(__name__)

# a run's options fit in a few kB; a larger file is the wrong file
CONFIG_FILE_LIMIT = 1024 * 1024


class ConfigError(UserError, ValueError):
    """A configuration file or override is invalid; the message names the key."""


@dataclass
class TrainConfig:
    """Engine options shared by every training task.

    batch_size is per process (the global batch is ``batch_size * world_size``).
    lr is the peak learning rate reached after ``warmup_steps`` linear warm-up.
    scheduler: ``"cosine"`` (to ``lr * min_lr_ratio`` at ``max_steps``),
        ``"step"`` (× ``gamma`` at each of ``milestones``) or ``"constant"``.
    grad_clip: maximum global gradient L2 norm; ``0`` disables clipping.
    amp: autocast + gradient scaling on CUDA (ignored on CPU); ``amp_dtype`` is
        ``"float16"`` (with a GradScaler) or ``"bfloat16"`` (no scaler needed).
    device: ``"auto"`` (CUDA when available), ``"cpu"``, ``"cuda"``, ``"cuda:N"``;
        under ``torchrun`` each process uses ``cuda:LOCAL_RANK``.
    checkpoint_every / log_every / eval_every: in optimiser steps; 0 disables
        (a checkpoint is still written at the end and on cancel).
    num_workers: DataLoader worker processes (0 = load in the training process).
    save_checkpoints: ``False`` writes no checkpoint at all (benchmarks).
    """

    max_steps: int = 1000
    batch_size: int = 8
    lr: float = 0.01
    optimizer: str = "sgd"
    momentum: float = 0.9
    weight_decay: float = 1e-4
    scheduler: str = "cosine"
    warmup_steps: int = 0
    min_lr_ratio: float = 0.0
    milestones: tuple[int, ...] = ()
    gamma: float = 0.1
    grad_clip: float = 10.0
    amp: bool = True
    amp_dtype: str = "float16"
    device: str = "auto"
    seed: int = 0
    num_workers: int = 0
    checkpoint_every: int = 500
    log_every: int = 10
    eval_every: int = 0
    find_unused_parameters: bool = False
    save_checkpoints: bool = True

    def __post_init__(self) -> None:
        checks = {
            "max_steps": self.max_steps >= 1,
            "batch_size": self.batch_size >= 1,
            "lr": math.isfinite(self.lr) and 0 < self.lr <= 10,
            "optimizer": self.optimizer in ("sgd", "adamw"),
            "scheduler": self.scheduler in ("cosine", "step", "constant"),
            "warmup_steps": self.warmup_steps >= 0,
            "amp_dtype": self.amp_dtype in ("float16", "bfloat16"),
            "grad_clip": math.isfinite(self.grad_clip) and self.grad_clip >= 0,
            "num_workers": self.num_workers >= 0,
            "checkpoint_every": self.checkpoint_every >= 0,
            "log_every": self.log_every >= 0,
            "eval_every": self.eval_every >= 0,
        }
        bad = [name for name, ok in checks.items() if not ok]
        if bad:
            raise ConfigError(
                f"invalid train option(s): {', '.join(f'{b}={getattr(self, b)!r}' for b in bad)}"
            )


@dataclass
class RunConfig:
    """The whole configuration of a run: engine options and the task's options."""

    train: TrainConfig = field(default_factory=TrainConfig)
    task: Any = None

    def to_dict(self) -> dict:
        """Plain dict (lists, numbers, strings): TOML-like, safe for ``weights_only`` checkpoints."""
        return {"train": to_plain(self.train), "task": to_plain(self.task) if self.task is not None else {}}


def to_plain(obj: Any) -> Any:
    """Dataclasses → dicts, tuples → lists, recursively (plain types only)."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, (list, tuple)):
        return [to_plain(v) for v in obj]
    if isinstance(obj, Mapping):
        return {str(k): to_plain(v) for k, v in obj.items()}
    return obj


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def _coerce(value: Any, tp: Any, key: str) -> Any:
    """Check ``value`` against the annotation ``tp`` and convert where lossless."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(value, arg, key)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(f"{key}: {value!r} does not match {_type_name(tp)}")
    if origin is typing.Literal:
        if value in args:
            return value
        raise ConfigError(f"{key}: {value!r} is not one of {', '.join(map(repr, args))}")
    if dataclasses.is_dataclass(tp):
        if isinstance(value, tp):
            return value
        if not isinstance(value, Mapping):
            raise ConfigError(f"{key}: expected a table for {tp.__name__}, got {value!r}")
        return from_dict(tp, value, prefix=key + ".")
    if origin in (tuple, list):
        if isinstance(value, str) or not isinstance(value, Iterable):
            raise ConfigError(f"{key}: expected a list, got {value!r}")
        items = list(value)
        if origin is tuple and not (len(args) == 2 and args[1] is Ellipsis) and args:
            if len(items) != len(args):
                raise ConfigError(f"{key}: expected {len(args)} values, got {len(items)}")
            return tuple(
                _coerce(v, a, f"{key}[{i}]") for i, (v, a) in enumerate(zip(items, args, strict=True))
            )
        item_tp = args[0] if args else Any
        out = [_coerce(v, item_tp, f"{key}[{i}]") for i, v in enumerate(items)]
        return tuple(out) if origin is tuple else out
    if origin is dict:
        if not isinstance(value, Mapping):
            raise ConfigError(f"{key}: expected a table, got {value!r}")
        return dict(value)
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{key}: expected true or false, got {value!r}")
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise ConfigError(f"{key}: expected an integer, got {value!r}")
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise ConfigError(f"{key}: expected a number, got {value!r}")
    if tp is str:
        if isinstance(value, str):
            return value
        raise ConfigError(f"{key}: expected a string, got {value!r}")
    if isinstance(tp, type) and not isinstance(value, tp):
        raise ConfigError(f"{key}: expected {tp.__name__}, got {value!r}")
    return value


def from_dict(cls: type, data: Mapping[str, Any], prefix: str = "") -> Any:
    """Build dataclass ``cls`` from a (TOML) mapping; unknown keys are errors."""
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ConfigError(
            f"unknown option(s) {', '.join(prefix + u for u in unknown)}; known: {', '.join(sorted(names))}"
        )
    kwargs = {name: _coerce(value, hints[name], prefix + name) for name, value in data.items()}
    try:
        return cls(**kwargs)
    except ConfigError:
        raise
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{prefix or cls.__name__}: {exc}") from exc


def parse_override(text: str) -> tuple[list[str], Any]:
    """``"train.lr=0.02"`` → ``(["train", "lr"], 0.02)``; values parse as TOML, else raw strings."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError(f"override {text!r} is not key=value")
    raw = raw.strip()
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw
    return key.split("."), value


def _set_path(tree: dict, path: list[str], value: Any) -> None:
    node = tree
    for part in path[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError(f"{'.'.join(path)}: {part} is not a table")
        node = child
    node[path[-1]] = value


def _field_names(cls: type | None) -> set[str]:
    return {f.name for f in dataclasses.fields(cls)} if cls is not None else set()


def build_config(
    task_config_cls: type | None,
    *,
    file: str | Path | None = None,
    overrides: Iterable[str] = (),
    train_defaults: Mapping[str, Any] | None = None,
) -> RunConfig:
    """Defaults ← task's ``train_defaults`` ← TOML ``file`` ← ``overrides`` (last wins).

    Raises :class:`ConfigError` on unreadable TOML, unknown keys or bad types.
    """
    tree: dict[str, Any] = {"train": dict(train_defaults or {}), "task": {}}
    if file is not None:
        path = Path(file)
        try:
            raw = read_bytes_bounded(path, CONFIG_FILE_LIMIT, what="configuration file")
            loaded = tomllib.loads(raw.decode("utf-8"))
        except InputFileError as exc:  # a FIFO, a device, an oversized file
            raise ConfigError(f"cannot read config: {exc}") from None
        except OSError as exc:
            raise ConfigError(f"cannot read config {path}: {exc}") from exc
        except UnicodeDecodeError as exc:
            raise ConfigError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
        unknown = sorted(set(loaded) - {"train", "task"})
        if unknown:
            raise ConfigError(f"{path}: unknown section(s) {', '.join(unknown)}; use [train] and [task]")
        for section in ("train", "task"):
            for key, value in loaded.get(section, {}).items():
                _set_path(tree, [section, key], value)
    train_fields, task_fields = _field_names(TrainConfig), _field_names(task_config_cls)
    for text in overrides:
        path, value = parse_override(text)
        if path[0] not in ("train", "task"):
            if path[0] in train_fields:
                path = ["train", *path]
            elif path[0] in task_fields:
                path = ["task", *path]
            else:
                raise ConfigError(f"unknown option {'.'.join(path)!r} (not a train or task option)")
        _set_path(tree, path, value)
    train = from_dict(TrainConfig, tree["train"], prefix="train.")
    if task_config_cls is None:
        if tree["task"]:
            raise ConfigError("this task takes no [task] options")
        return RunConfig(train, None)
    return RunConfig(train, from_dict(task_config_cls, tree["task"], prefix="task."))


def apply_eval_defaults(config) -> bool:
    """A split without a cadence is evaluated at the periodic checkpoints: sets ``train.eval_every``.

    ``config`` is a :class:`~core.train.config.RunConfig`; returns whether it changed.
    The CLI and the GUI apply this after building the configuration (so the value
    is stored in the checkpoint and a resume computes the same one).
    """
    if not getattr(config.task, "eval_split", None) or config.train.eval_every:
        return False
    # periodic checkpoints (the engine evaluates at multiples of eval_every, so a run shorter
    # than one checkpoint period is evaluated once, at its end)
    every, steps = config.train.checkpoint_every, config.train.max_steps
    config.train.eval_every = min(every, steps) if every else steps
    log.info(
        "evaluating on %s every %d steps (at checkpoints)", config.task.eval_split, config.train.eval_every
    )
    return True
