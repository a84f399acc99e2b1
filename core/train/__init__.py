"""Training engine shared by ScaleFace, DREAM and LMLE (see docs/adr/0007).

The engine knows no domain: each task lives with its domain
(:mod:`core.detect.training.scaleface_task`, :mod:`core.cfp.dream_task`,
:mod:`core.attributes.lmle_task`) and is found by name through
:mod:`core.train.registry`.

* :mod:`core.train.loop` — ``train(task, config, run_dir=...)``, the training
  loop as a generator of metrics dicts, :class:`NonFiniteLossError`;
* :mod:`core.train.config` — typed configuration from TOML + ``key=value`` overrides;
* :mod:`core.train.task` — the task contract; :mod:`core.train.registry` — tasks by name;
* :mod:`core.train.checkpoint` / :mod:`core.train.state` — resumable checkpoints;
* :mod:`core.train.sampler` — deterministic, resumable, rank-sharded batching;
* :mod:`core.train.distributed` — torchrun / DistributedDataParallel set-up.

Submodules are imported directly; this file imports nothing so that listing
tasks stays cheap.
"""
