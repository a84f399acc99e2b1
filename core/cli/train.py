"""``python main.py train <task> --data DIR --out RUN_DIR [options]``: train a registered task.

Every task takes the same options (``--quiet`` hides the progress lines). ``--config FILE`` is a TOML file with
``[train]`` and ``[task]`` sections; ``--set key=value`` (repeatable) and the
explicit flags override it, in that order. Progress goes to the log (stderr)
every ``log_every`` steps; the final summary is printed as JSON on stdout.
Ctrl-C or SIGTERM stops after the current step with a checkpoint, and
``--resume`` continues exactly from it.

Multi-GPU / multi-node: ``torchrun --nproc_per_node N main.py train ...``
(every process runs this command; rank 0 writes the run folder).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
from dataclasses import asdict

from core.errors import FaceScopeError, UserError
from core.progress import relay
from core.train.config import apply_eval_defaults, build_config
from core.train.records import log_line
from core.train.registry import TASKS, create_task

log = logging.getLogger(__name__)

# Task-specific flags, one line per task: flag -> "data" (the --data folder) or a string task option.
# A flag given for another task is an error.
TASK_FLAGS: dict[str, dict[str, str]] = {
    "dream": {
        "--cfp-root": "task.cfp_root",
        "--train-folds": "task.train_folds",
        "--val-folds": "task.val_folds",
    },
    "scaleface": {
        "--eval-split": "task.eval_split",
    },
    "lmle": {
        "--celeba-root": "task.celeba_root",
        "--train-range": "task.train_range",
        "--val-range": "task.val_range",
    },
    "lmle_learned": {
        "--celeba-root": "task.celeba_root",
        "--train-range": "task.train_range",
        "--val-range": "task.val_range",
    },
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("task", help=f"training task: {', '.join(sorted(TASKS))}")
    parser.add_argument(
        "--data",
        default=None,
        help="dataset folder (scaleface: a WIDER folder or label file; task.data.split=auto|train|val|FILE)",
    )
    parser.add_argument("--out", required=True, help="run folder (last.pt, metrics.jsonl)")
    parser.add_argument("--config", default=None, help="TOML file with [train] and [task] sections")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override an option, e.g. train.lr=0.02 or task.backbone=mobilenet_v2",
    )
    parser.add_argument("--max-steps", type=int, default=None, help="optimiser steps to train for")
    parser.add_argument("--batch-size", type=int, default=None, help="images per process and step")
    parser.add_argument("--lr", type=float, default=None, help="peak learning rate")
    parser.add_argument("--device", default=None, help="auto, cpu, cuda or cuda:N")
    parser.add_argument("--num-workers", type=int, default=None, help="data loader worker processes")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument(
        "--eval-every",
        type=int,
        default=None,
        help="evaluate every N steps (the task's eval hook; scaleface with --eval-split: at checkpoints "
        "when not given)",
    )
    parser.add_argument("--resume", action="store_true", help="continue from RUN_DIR/last.pt")
    parser.add_argument("--quiet", action="store_true", help="no progress lines (errors only)")
    tasks_of: dict[str, list[str]] = {}
    for task, flags in TASK_FLAGS.items():
        for flag in flags:
            tasks_of.setdefault(flag, []).append(task)
    for flag, tasks in tasks_of.items():
        key = TASK_FLAGS[tasks[0]][flag]
        parser.add_argument(
            flag, default=None, help=f"{', '.join(tasks)}: sets {'--data' if key == 'data' else key}"
        )


def _flag_overrides(args: argparse.Namespace) -> list[str]:
    flags = {
        "max_steps": args.max_steps,
        "batch_size": args.batch_size,
        "lr": args.lr,
        "num_workers": args.num_workers,
        "seed": args.seed,
        "eval_every": args.eval_every,
    }
    out = [f"train.{k}={v}" for k, v in flags.items() if v is not None]
    if args.device is not None:
        out.append(f'train.device="{args.device}"')
    own = TASK_FLAGS.get(args.task, {})
    for flag in dict.fromkeys(f for flags in TASK_FLAGS.values() for f in flags):
        value = getattr(args, flag.lstrip("-").replace("-", "_"), None)
        if value is None:
            continue
        if flag not in own:
            owners = [t for t, flags in TASK_FLAGS.items() if flag in flags]
            noun = "task" if len(owners) == 1 else "tasks"
            raise ValueError(f"{flag} is an option of the {' and '.join(owners)} {noun}, not of {args.task}")
        if own[flag] == "data":
            args.data = value
        else:
            out.append(f"{own[flag]}={json.dumps(value)}")  # a TOML string: "9" must not become 9
    return out


class _StopFlag:
    """SIGINT/SIGTERM set a flag the loop checks between steps (main thread only)."""

    def __init__(self) -> None:
        self.stop = False
        self._previous: dict[int, object] = {}

    def __enter__(self) -> _StopFlag:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum, frame) -> None:
        if self.stop:  # a second Ctrl-C: stop now, without waiting for the step to finish
            raise KeyboardInterrupt
        log.warning("signal %d: stopping after this step (checkpoint follows); again to abort", signum)
        self.stop = True

    def __exit__(self, *exc) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


class _Interrupted(Exception):
    """Raised from the record callback to stop training at a Ctrl-C (carries the step reached)."""

    def __init__(self, step: int) -> None:
        super().__init__(step)
        self.step = step


def _log_record(record: dict, log_every: int) -> None:
    line = log_line(record, log_every)  # the Training panel's log shows the same lines
    if line is not None:
        log.info("%s", line)


def run(args: argparse.Namespace) -> int:
    # lazy: the engine (torch) loads when this command runs, not for every command's --help
    from core.train.loop import train

    try:
        task = create_task(args.task)
        config = build_config(
            task.config_cls,
            file=args.config,
            overrides=[*args.overrides, *_flag_overrides(args)],
            train_defaults=getattr(task, "train_defaults", None),
        )
        apply_eval_defaults(config)
    except ValueError as exc:  # ConfigError too
        log.error("%s", exc)
        return 2
    is_main = os.environ.get("RANK", "0") == "0"  # under torchrun only rank 0 reports progress
    if not args.quiet and is_main and not log.isEnabledFor(logging.INFO):
        log.setLevel(logging.INFO)  # progress lines are this command's normal output (on stderr)
    log_every = max(1, config.train.log_every or 1)
    gen = train(task, config, run_dir=args.out, data_dir=args.data, resume=args.resume)
    with _StopFlag() as flag:
        if hasattr(task, "should_stop"):  # a long evaluation stops at the signal too
            task.should_stop = lambda: flag.stop

        def report(record: dict) -> None:
            _log_record(record, log_every)
            if flag.stop:
                raise _Interrupted(record["step"])

        try:
            summary = relay(gen, report)
        except UserError as exc:  # a checkpoint, data or option of the user's: exit 2 as everywhere
            log.error("training stopped: %s", exc)
            return 2
        except FaceScopeError as exc:  # the run itself failed (a loss became NaN ...)
            log.error("training stopped: %s", exc)
            return 1
        except _Interrupted as stop:  # relay closed the generator, which wrote the cancel checkpoint
            log.warning("stopped at step %d; continue with --resume", stop.step)
            return 130
    if is_main:
        sys.stdout.write(json.dumps(asdict(summary)) + "\n")
    return 0
