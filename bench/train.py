"""ScaleFace training throughput through the real engine (images/s, peak memory).

    .venv/bin/python bench/train.py                       # CPU: tiny, mobilenet_v2, resnet50
    .venv/bin/python bench/train.py --device cuda --size 640 --batch-size 8 --steps 20 --warmup 5
    .venv/bin/python bench/train.py --device cuda --amp-dtype bfloat16 --variants resnet50

Each variant runs in its own process (clean peak memory): synthetic faces
(:mod:`core.detect.training.synthetic`, all three scale ranges) at ``--size``², the
task's normal augmentation (random scale 0.5–2 + ``--size``² crop, flip,
photometric jitter), ``train()`` exactly as ``python main.py train`` runs it
(AMP on CUDA unless ``--amp-dtype off``), no checkpoints written. Timing:
the ``--steps`` optimiser steps after ``--warmup`` untimed ones, data loading
included. Peak memory: ``torch.cuda.max_memory_allocated`` on CUDA, the
process's peak RSS on CPU. The load average is printed because the CPU figures
depend on whatever else the machine runs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

VARIANTS = {
    "tiny": [],
    "mobilenet_v2": ["task.model.backbone=mobilenet_v2"],
    "resnet50": ["task.model.backbone=resnet50"],
}


def run_variant(args: argparse.Namespace) -> dict:
    import torch

    from core.detect.training.scaleface_task import ScaleFaceTask, ScaleFaceTaskConfig
    from core.train.config import build_config
    from core.train.loop import train

    if args.threads:
        torch.set_num_threads(args.threads)
    variant = args.child
    amp = args.amp_dtype != "off"
    overrides = [
        f"device={args.device}",
        f"batch_size={args.batch_size}",
        f"max_steps={args.warmup + args.steps}",
        "log_every=0",
        "checkpoint_every=0",
        "save_checkpoints=false",
        f"num_workers={args.num_workers}",
        f"amp={'true' if amp else 'false'}",
        f"amp_dtype={args.amp_dtype if amp else 'float16'}",
        "task.eval_images=0",
        "task.model.backbone=tiny",
        *VARIANTS[variant],
        "task.data.source=synthetic",
        f"task.data.synthetic_size={args.size}",
        f"task.data.crop_size={args.size}",
        # one epoch covers the whole run: the timing never includes an epoch boundary
        f"task.data.synthetic_images={args.batch_size * (args.warmup + args.steps + 1)}",
    ]
    task = ScaleFaceTask()
    config = build_config(ScaleFaceTaskConfig, overrides=overrides, train_defaults=task.train_defaults)
    device = torch.device(args.device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    times: dict[int, float] = {}
    start = None
    params = 0
    with tempfile.TemporaryDirectory() as run_dir:
        for record in train(task, config, run_dir=run_dir):
            if record["event"] == "start":
                params = record["parameters"]
            elif record["event"] == "step":
                if device.type == "cuda":
                    torch.cuda.synchronize()
                times[record["step"]] = time.perf_counter()
                if record["step"] == args.warmup:
                    start = times[args.warmup]
                    if device.type == "cuda":
                        torch.cuda.reset_peak_memory_stats()
                last_loss = record["loss"]
    elapsed = times[args.warmup + args.steps] - (start if start is not None else times[1])
    out = {
        "variant": variant,
        "device": args.device,
        "size": args.size,
        "batch_size": args.batch_size,
        "amp": args.amp_dtype if (amp and device.type == "cuda") else "off",
        "steps": args.steps,
        "images_per_s": args.steps * args.batch_size / elapsed,
        "s_per_step": elapsed / args.steps,
        "parameters_m": params / 1e6,
        "last_loss": last_loss,
        "torch_threads": torch.get_num_threads(),
    }
    if device.type == "cuda":
        out["peak_mem_mib"] = torch.cuda.max_memory_allocated() / 2**20
        out["gpu"] = torch.cuda.get_device_name()
    else:
        out["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--variants", default="tiny,mobilenet_v2,resnet50")
    parser.add_argument("--size", type=int, default=None, help="crop size (default 320 on CPU, 640 on CUDA)")
    parser.add_argument("--batch-size", type=int, default=None, help="default 2 on CPU, 8 on CUDA")
    parser.add_argument("--steps", type=int, default=None, help="timed steps (default 3 on CPU, 20 on CUDA)")
    parser.add_argument(
        "--warmup", type=int, default=None, help="untimed steps (default 1 on CPU, 5 on CUDA)"
    )
    parser.add_argument("--threads", type=int, default=0, help="torch intra-op threads (0 = torch's choice)")
    parser.add_argument("--num-workers", type=int, default=None, help="loader workers (0 on CPU, 4 on CUDA)")
    parser.add_argument("--amp-dtype", default="float16", choices=("float16", "bfloat16", "off"))
    parser.add_argument("--json", default=None, help="also write the results to this file")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    cuda = args.device.startswith("cuda")
    args.size = args.size or (640 if cuda else 320)
    args.batch_size = args.batch_size or (8 if cuda else 2)
    args.steps = args.steps or (20 if cuda else 3)
    args.warmup = max(1, args.warmup if args.warmup is not None else (5 if cuda else 1))
    args.num_workers = args.num_workers if args.num_workers is not None else (4 if cuda else 0)
    if args.child:
        print(json.dumps(run_variant(args)))
        return 0

    print(
        f"# ScaleFace training throughput, {platform.node()} {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}"
    )
    results = []
    for variant in args.variants.split(","):
        cmd = [
            sys.executable,
            __file__,
            "--child",
            variant,
            "--device",
            args.device,
            "--size",
            str(args.size),
            "--batch-size",
            str(args.batch_size),
            "--steps",
            str(args.steps),
            "--warmup",
            str(args.warmup),
            "--threads",
            str(args.threads),
            "--num-workers",
            str(args.num_workers),
            "--amp-dtype",
            args.amp_dtype,
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            print(f"{variant}: failed\n{proc.stderr[-3000:]}")
            continue
        result = json.loads(proc.stdout.strip().splitlines()[-1])
        result["load_average_after"] = os.getloadavg()[0]
        results.append(result)
        mem = (
            f"peak GPU mem {result['peak_mem_mib']:.0f} MiB"
            if "peak_mem_mib" in result
            else f"peak RSS {result['peak_rss_mib']:.0f} MiB"
        )
        print(
            f"{variant:13s} {result['parameters_m']:6.1f} M params  {args.size}² x{args.batch_size}  "
            f"amp={result['amp']:8s} {result['images_per_s']:8.2f} img/s  {result['s_per_step']:7.3f} s/step  "
            f"{mem}  (threads {result['torch_threads']}, load {result['load_average_after']:.1f})"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0 if len(results) == len(args.variants.split(",")) else 1


if __name__ == "__main__":
    sys.exit(main())
