"""``torchrun --nproc_per_node 2 main.py detect ...`` on CPU (gloo) gives the single-process output."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from core.cli import run_cli
from core.detect.batch.ledger import read_records, shard_paths
from tests.core.detect.test_batch import FAST, ROOT, make_inputs, without_timing


def test_two_processes_merge_to_the_single_process_output(tmp_path):
    photos = make_inputs(tmp_path, images=5, video_frames=6)
    single_jsonl, single_json = tmp_path / "single.jsonl", tmp_path / "single.json"
    assert (
        run_cli(["detect", str(photos), "--jsonl", str(single_jsonl), "--json", str(single_json), *FAST]) == 0
    )

    dist_jsonl, dist_json, wider = tmp_path / "dist.jsonl", tmp_path / "dist.json", tmp_path / "wider"
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node",
        "2",
        str(ROOT / "main.py"),
        "detect",
        str(photos),
        "--jsonl",
        str(dist_jsonl),
        "--json",
        str(dist_json),
        "--wider-out",
        str(wider),
        *FAST,
    ]
    env = {**os.environ, "FACESCOPE_DEVICE": "cpu", "OMP_NUM_THREADS": "1"}
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert not shard_paths(dist_jsonl)  # rank 0 merged both shards and removed them
    single, dist = read_records(single_jsonl), read_records(dist_jsonl)
    assert len(single) == 5 + 6 + 1
    assert without_timing(dist) == without_timing(single)
    doc_single = json.loads(single_json.read_text())["images"]
    doc_dist = json.loads(dist_json.read_text())["images"]
    assert without_timing(doc_dist) == without_timing(doc_single)
    # each rank wrote its own prediction files: all of them are there
    assert len(list(wider.glob("*/*.txt"))) == 5 + 6
