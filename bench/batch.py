"""Batch detection throughput: images/s of ``main.py detect`` for 1 and N processes.

    .venv/bin/python bench/batch.py [--data ../shared/data/wider_val_416_dev] [--model centerface]
        [--configs 1x2 1x1 2x1] [--device cpu] [--json OUT]

Each config ``PxT`` runs the real command over the folder (recursive) with
``--jsonl`` into a fresh temporary file: ``P`` = 1 runs ``main.py detect``,
``P`` > 1 runs ``torchrun --standalone --nproc_per_node P main.py detect``
(gloo on CPU), each process with ``T`` torch threads. Reported: the steady
rate (images / slowest rank's time after its model loaded, from the command's
own summary line), the end-to-end rate (images / wall time of the whole
command, process start-up and model loading included), and whether the
output equals the first config's with the same thread count (timings aside;
different thread counts sum floats in another order). On a shared machine the
load average is printed too.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.machine import LoadWatch  # noqa: E402
from core.detect.batch.ledger import read_records  # noqa: E402
from core.paths import SHARED_DIR  # noqa: E402

SUMMARY = re.compile(r"detect: (\d+) detected \(([\d.]+)/s over ([\d.]+) s\)")


def run_config(data: Path, model: str, procs: int, threads: int, device: str, out: Path) -> dict:
    args = [str(ROOT / "main.py"), "detect", str(data), "--recursive", "--model", model]
    args += ["--jsonl", str(out), "--no-resume", "--progress", "--threads", str(threads)]
    if device != "cpu":
        args += ["--device", device]
    if procs == 1:
        cmd = [sys.executable, *args]
    else:
        cmd = [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc_per_node",
            str(procs),
            *args,
        ]
    env = {**os.environ, "FACESCOPE_DEVICE": device, "OMP_NUM_THREADS": str(threads)}
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode not in (0, 1):
        raise RuntimeError(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    match = SUMMARY.search(done.stderr)
    if match is None:
        raise RuntimeError(f"no summary line in:\n{done.stderr[-2000:]}")
    images = int(match.group(1))
    return {
        "config": f"{procs}x{threads}",
        "processes": procs,
        "threads": threads,
        "device": device,
        "images": images,
        "steady_images_per_s": float(match.group(2)),
        "ranks_s": float(match.group(3)),
        "wall_s": round(wall, 2),
        "end_to_end_images_per_s": round(images / wall, 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=SHARED_DIR / "data" / "wider_val_416_dev")
    parser.add_argument("--model", default="centerface")
    parser.add_argument("--configs", nargs="+", default=["1x2", "1x1", "2x1"], help="PROCESSESxTHREADS")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    if not args.data.is_dir():
        print(f"needs the research data in {args.data} (absent on this machine)")
        return 0
    load = LoadWatch()
    rows: list[dict] = []
    references: dict[int, list[dict]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for config in args.configs:
            procs, threads = (int(v) for v in config.split("x"))
            out = Path(tmp) / f"{config}.jsonl"
            row = run_config(args.data, args.model, procs, threads, args.device, out)
            records = [{k: v for k, v in r.items() if k != "ms"} for r in read_records(out)]
            # float sums differ in the last bits between thread counts: compare like with like
            reference = references.setdefault(threads, records)
            row["same_output_as_first_with_same_threads"] = records == reference
            rows.append(row)
            print(
                f"{args.model} {args.device} {procs} process(es) x {threads} thread(s): "
                f"{row['steady_images_per_s']:6.2f} img/s steady, {row['end_to_end_images_per_s']:6.2f} img/s "
                f"end to end ({row['images']} images, wall {row['wall_s']:.1f} s), "
                f"same output as the first run with {threads} thread(s): "
                f"{row['same_output_as_first_with_same_threads']}",
                flush=True,
            )
    print(load.footer(args.data.name))
    load.write_json(args.json, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
