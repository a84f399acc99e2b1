"""The training loop: a generator of metrics dicts shared by the GUI worker, the CLI and tests.

``train(task, config, run_dir=...)`` is a generator function. Iterating it
trains; every optimiser step yields a ``{"event": "step", ...}`` dict (step,
epoch, total and per-name losses, learning rate, gradient norm, images/s,
ETA, GPU memory), checkpoints and evaluations yield their own events, and the
``return`` value (``StopIteration.value``) is a :class:`TrainSummary`.

Stopping: closing the generator (``gen.close()``, ``GeneratorExit``) or
throwing any exception into it at a yield (the GUI worker throws
``JobCancelled``) writes a checkpoint of the last completed step to
``RUN_DIR/last.pt`` before the exception propagates, so ``resume=True``
continues exactly where it stopped. An error *inside* a step (a
:class:`NonFiniteLossError`, a data error) leaves the last periodic
checkpoint untouched, since the state is then not trustworthy.

Reproducibility: with the same config, a resumed run produces bit-identical
weights to an uninterrupted one on the same device and world size (model,
optimiser, schedule, AMP scaler, sampler position and every RNG are
checkpointed, and augmentation randomness is keyed by (seed, epoch, index),
see :mod:`core.train.sampler`).

Distribution: under ``torchrun`` the model is wrapped in
DistributedDataParallel, each rank reads its own shard of every global batch,
losses are averaged over ranks, and only rank 0 writes the metrics log and
checkpoints (every rank yields the same records, so a CLI on any rank can
drive the generator).
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Generator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader

from core.train.checkpoint import CHECKPOINT_NAME, CheckpointError, load_checkpoint, mismatch_line
from core.train.config import RunConfig, to_plain
from core.train.distributed import (
    cleanup_distributed,
    local_rank_from_env,
    mean_across_ranks,
    resolve_device,
    setup_distributed,
)
from core.train.errors import NonFiniteLossError, TrainError
from core.train.metrics_log import METRICS_NAME, MetricsLog, truncate_after
from core.train.optim import build_optimizer, build_scheduler
from core.train.sampler import ResumableBatchSampler, SeededDataset, epoch_batches
from core.train.state import TrainState, restore_state, save_state, seed_everything
from core.train.task import TrainTask

log = logging.getLogger(__name__)


@dataclass
class TrainSummary:
    """What a finished (or resumed-to-the-end) run reports."""

    run_dir: str
    task: str
    step: int
    max_steps: int
    losses: dict[str, float] = field(default_factory=dict)
    checkpoint: str | None = None
    elapsed_s: float = 0.0
    images_per_s: float = 0.0
    world_size: int = 1


def unwrap(model: nn.Module) -> nn.Module:
    return model.module if isinstance(model, DistributedDataParallel) else model


def train(
    task: TrainTask,
    config: RunConfig,
    *,
    run_dir: str | Path,
    data_dir: str | Path | None = None,
    resume: bool = False,
) -> Generator[dict[str, Any], None, TrainSummary]:
    """Train ``task`` with ``config``, writing ``run_dir/last.pt`` and ``run_dir/metrics.jsonl``.

    resume: continue from ``run_dir/last.pt`` (a fresh start when there is
    none); without it an existing checkpoint in ``run_dir`` is a
    :class:`TrainError` rather than being overwritten.
    """
    device = resolve_device(config.train.device, local_rank_from_env())
    info = setup_distributed(device)
    try:
        engine = _Engine(
            task, config, Path(run_dir), None if data_dir is None else Path(data_dir), device, info
        )
        return (yield from engine.run(resume))
    finally:
        cleanup_distributed(info)


class _Engine:
    """One run's objects and state; ``run`` is the generator body of :func:`train`."""

    def __init__(self, task, config: RunConfig, run_dir: Path, data_dir, device: torch.device, info) -> None:
        self.task, self.config, self.cfg = task, config, config.train
        self.run_dir, self.data_dir, self.device, self.info = run_dir, data_dir, device, info
        self.ckpt_path = run_dir / CHECKPOINT_NAME
        self.state = TrainState()
        self.saved_step = -1
        self.metrics: MetricsLog | None = None
        self.loader: DataLoader | None = None

    # ----------------------------------------------------------------- set-up
    def _build(self, resume: bool) -> dict | None:
        cfg, info = self.cfg, self.info
        checkpoint = None
        if self.ckpt_path.exists():
            if not resume:
                raise TrainError(
                    f"{self.run_dir} already holds a checkpoint; resume it or choose another run folder"
                )
            checkpoint = load_checkpoint(self.ckpt_path, task=self.task.name)
        elif resume:
            log.info("no checkpoint in %s: starting a new run", self.run_dir)
        seed_everything(cfg.seed)
        self.model = self.task.build_model(self.config.task).to(self.device)
        self.dataset = self.task.build_dataset(self.config.task, self.data_dir)
        group_fn = getattr(self.dataset, "group_ids", None)
        groups = group_fn() if callable(group_fn) else None
        self.group_ids = None if groups is None else list(groups)
        self.optimizer = build_optimizer(self.model, cfg)
        self.scheduler = build_scheduler(self.optimizer, cfg)
        self.use_amp = cfg.amp and self.device.type == "cuda"
        self.amp_dtype = torch.float16 if cfg.amp_dtype == "float16" else torch.bfloat16
        self.scaler = torch.amp.GradScaler(
            self.device.type, enabled=self.use_amp and self.amp_dtype == torch.float16
        )
        if info.rank > 0:
            seed_everything(cfg.seed + info.rank)  # per-rank streams; weights come from rank 0 via DDP
        if checkpoint is not None:
            self._check_config(checkpoint)
            try:
                self.state = restore_state(
                    checkpoint, self.model, self.optimizer, self.scheduler, self.scaler, info
                )
            except (KeyError, RuntimeError, ValueError) as exc:
                raise CheckpointError(
                    f"{self.ckpt_path}: cannot resume this run from it ({mismatch_line(exc)}); resume with "
                    "the options it was written with, or train into a new run folder"
                ) from None
            self.saved_step = self.state.step
        if info.enabled:
            ids = [self.device.index] if self.device.type == "cuda" else None
            self.model = DistributedDataParallel(
                self.model, device_ids=ids, find_unused_parameters=cfg.find_unused_parameters
            )
        if info.is_main:
            if checkpoint is not None:
                truncate_after(self.run_dir / METRICS_NAME, self.state.step)
            self.metrics = MetricsLog(self.run_dir / METRICS_NAME)
        return checkpoint

    def _check_config(self, checkpoint: dict) -> None:
        saved, now = checkpoint.get("config", {}), self.config.to_dict()
        diffs = [
            f"{section}.{k}: {saved.get(section, {}).get(k)!r} -> {v!r}"
            for section in ("train", "task")
            for k, v in now.get(section, {}).items()
            if saved.get(section, {}).get(k) != v
        ]
        if diffs:
            log.warning(
                "resuming with a changed configuration (not an exact continuation): %s", "; ".join(diffs)
            )

    def _loader(self) -> DataLoader:
        cfg, info, st = self.cfg, self.info, self.state
        batches = epoch_batches(
            len(self.dataset),
            cfg.batch_size,
            seed=cfg.seed,
            epoch=st.epoch,
            rank=info.rank,
            world_size=info.world_size,
            group_ids=self.group_ids,
        )
        if not batches:
            raise TrainError(
                f"the dataset ({len(self.dataset)} items) is smaller than one global batch "
                f"({cfg.batch_size} x {info.world_size} processes) in every group"
            )
        if self.loader is None:
            # One loader for the whole run, re-iterated each epoch: with workers, persistent
            # processes (the batch sampler runs in this process, so changing its epoch and
            # start between iterations is enough). A private generator: the loader's worker
            # base seed must not consume the global torch RNG, part of what a resume reproduces.
            self.sampler = ResumableBatchSampler(batches, st.epoch, st.batch_in_epoch)
            self.loader = DataLoader(
                SeededDataset(self.dataset, cfg.seed),
                batch_sampler=self.sampler,
                collate_fn=self.task.collate,
                num_workers=cfg.num_workers,
                persistent_workers=cfg.num_workers > 0,
                pin_memory=self.device.type == "cuda",
                generator=torch.Generator().manual_seed(cfg.seed),
            )
        self.sampler.batches, self.sampler.epoch, self.sampler.start = batches, st.epoch, st.batch_in_epoch
        return self.loader

    # ------------------------------------------------------------------ steps
    def _step(self, batch: Any) -> dict[str, Any]:
        cfg, st = self.cfg, self.state
        with torch.autocast(self.device.type, dtype=self.amp_dtype, enabled=self.use_amp):
            losses = self.task.compute_losses(self.model, batch, self.device)
        if not losses:
            raise TrainError(f"task {self.task.name!r} returned no losses")
        names = sorted(losses)
        total = sum(losses[n].float() for n in names)
        values = mean_across_ranks(self.info, torch.stack([losses[n].detach().float() for n in names]))
        value_list = values.tolist()  # one host sync per step, also what makes timings honest on CUDA
        loss_values = dict(zip(names, value_list, strict=True))
        if not all(map(_finite, value_list)):
            raise NonFiniteLossError(st.step + 1, loss_values)
        lr = self.optimizer.param_groups[0]["lr"]
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(total).backward()
        grad_norm = None
        if cfg.grad_clip > 0:
            self.scaler.unscale_(self.optimizer)
            params = [p for g in self.optimizer.param_groups for p in g["params"] if p.grad is not None]
            grad_norm = float(torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip))
            if not self.scaler.is_enabled() and not _finite(grad_norm):
                raise NonFiniteLossError(st.step + 1, {"grad_norm": grad_norm}, what="gradient norm")
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.scheduler.step()
        st.step += 1
        st.batch_in_epoch += 1
        return {"losses": loss_values, "loss": float(sum(value_list)), "lr": lr, "grad_norm": grad_norm}

    def _save(self, reason: str) -> dict[str, Any] | None:
        """Checkpoint the current step (collective under DDP except on cancel); rank 0 writes."""
        if not self.cfg.save_checkpoints:
            return None
        collective = reason != "cancel"
        path = save_state(
            self.ckpt_path,
            self.task.name,
            self.config,
            self.state,
            unwrap(self.model),
            self.optimizer,
            self.scheduler,
            self.scaler,
            self.info,
            gather_rng=collective,
        )
        self.saved_step = self.state.step
        if path is None:
            return None
        record = {"event": "checkpoint", "step": self.state.step, "path": str(path), "reason": reason}
        log.info("checkpoint at step %d (%s): %s", self.state.step, reason, path)
        self._log(record)
        return record

    def _evaluate(self) -> dict[str, Any] | None:
        evaluate = getattr(self.task, "evaluate", None)
        if not callable(evaluate) or not self.info.is_main:
            return None
        model = unwrap(self.model)
        devices = [self.device.index or 0] if self.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices), torch.no_grad():
            model.eval()
            try:
                metrics = dict(evaluate(model, self.state.step) or {})
            finally:
                model.train()
        record = {"event": "eval", "step": self.state.step, "metrics": to_plain(metrics)}
        self._log(record)
        return record

    def _log(self, record: dict[str, Any]) -> None:
        if self.metrics is not None:
            self.metrics.write(record)

    def _emit(self, record: dict[str, Any]):
        """Yield ``record``; a cancel arriving at this yield checkpoints first, then propagates."""
        try:
            yield record
        except BaseException:
            if self.saved_step != self.state.step:
                try:
                    self._save("cancel")
                except Exception:  # noqa: BLE001 - never mask the cancel itself
                    log.exception("could not write the cancel checkpoint")
            raise

    # -------------------------------------------------------------- generator
    def run(self, resume: bool):
        cfg, info, st = self.cfg, self.info, self.state
        try:
            self._build(resume)
            st = self.state
            global_batch = cfg.batch_size * info.world_size
            start = {
                "event": "start",
                "step": st.step,
                "max_steps": cfg.max_steps,
                "task": self.task.name,
                "device": str(self.device),
                "world_size": info.world_size,
                "amp": self.use_amp,
                "dataset_size": len(self.dataset),
                "global_batch": global_batch,
                "parameters": sum(p.numel() for p in unwrap(self.model).parameters()),
                "resumed": self.saved_step >= 0,
                "config": self.config.to_dict(),
            }
            self._log(start)
            yield from self._emit(start)
            t_run = time.perf_counter()
            times: deque[float] = deque([t_run], maxlen=max(2, cfg.log_every + 1))
            window: deque[dict[str, float]] = deque(maxlen=max(1, cfg.log_every))
            steps_done = 0
            last: dict[str, Any] = {}
            while st.step < cfg.max_steps:
                for batch in self._loader():
                    out = self._step(batch)
                    steps_done += 1
                    now = time.perf_counter()
                    times.append(now)
                    rate = (len(times) - 1) / max(now - times[0], 1e-9)
                    record = {
                        "event": "step",
                        "step": st.step,
                        "epoch": st.epoch,
                        **out,
                        "images_per_s": rate * global_batch,
                        "elapsed_s": now - t_run,
                        "eta_s": (cfg.max_steps - st.step) / rate if rate > 0 else None,
                    }
                    if self.device.type == "cuda":
                        record["gpu_mem_mb"] = torch.cuda.max_memory_allocated(self.device) / 2**20
                    if self.scaler.is_enabled():
                        record["amp_scale"] = float(self.scaler.get_scale())
                    last = record
                    window.append(out["losses"])
                    if cfg.log_every and st.step % cfg.log_every == 0:
                        mean = {k: sum(w[k] for w in window) / len(window) for k in window[-1]}
                        self._log({**record, "losses": mean, "loss": sum(mean.values())})
                    yield from self._emit(record)
                    if cfg.eval_every and st.step % cfg.eval_every == 0:
                        evaluated = self._evaluate()
                        if evaluated is not None:
                            yield from self._emit(evaluated)
                    if (
                        cfg.checkpoint_every and st.step % cfg.checkpoint_every == 0
                    ) or st.step >= cfg.max_steps:
                        saved = self._save("periodic" if st.step < cfg.max_steps else "final")
                        if saved is not None:
                            yield from self._emit(saved)
                    if st.step >= cfg.max_steps:
                        break
                else:
                    st.epoch += 1
                    st.batch_in_epoch = 0
            elapsed = time.perf_counter() - t_run
            summary = TrainSummary(
                run_dir=str(self.run_dir),
                task=self.task.name,
                step=st.step,
                max_steps=cfg.max_steps,
                losses=dict(last.get("losses", {})),
                checkpoint=str(self.ckpt_path) if self.ckpt_path.exists() else None,
                elapsed_s=elapsed,
                images_per_s=steps_done * global_batch / elapsed if elapsed > 0 else 0.0,
                world_size=info.world_size,
            )
            end = {
                "event": "end",
                "step": st.step,
                "elapsed_s": elapsed,
                "images_per_s": summary.images_per_s,
            }
            self._log(end)
            yield from self._emit(end)
            return summary
        finally:
            if self.metrics is not None:
                self.metrics.close()


def _finite(value: float | None) -> bool:
    return value is not None and value == value and value not in (float("inf"), float("-inf"))


__all__ = ["NonFiniteLossError", "TrainError", "TrainSummary", "train", "unwrap", "CheckpointError"]
