"""WIDER FACE val evaluation: FaceScope's evaluator vs the popular Python port, same predictions.

    .venv/bin/python bench/wider_eval.py [--gt DIR] [--pred DIR ...] [--sets jitter,logits,...]
                                         [--port /tmp/WiderFace-Evaluation] [--runs 3]

Prediction sets: the synthetic sets of ``core.wider.synthetic.VALIDATION_SPECS``
(made from the ground truth, written to a temporary folder), or ``--pred``
folders. For each set it prints our time for the full val evaluation (3
settings, curves at 1000 thresholds, official mode; median of ``--runs``;
plus the corrected mode and the attribute/size breakdown) and the three APs;
then the same for the Python port (wondervictor/WiderFace-Evaluation) when
``--port`` points at a checkout of it: fetch it into /tmp yourself, it is
never part of this repository. The port needs SciPy (for ``loadmat``); its
Cython ``bbox_overlaps`` and its ``tqdm``/``IPython`` imports are replaced by
stand-ins defined here (a NumPy transcription of the same arithmetic; the
port's run time is dominated by its per-image, per-threshold Python loops,
not by the overlap). The official numbers recorded in
``tests/core/wider/test_wider_official_numbers.py`` come from the MATLAB tool
under GNU Octave.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import importlib.util
import io
import re
import statistics
import sys
import tempfile
import time
import types
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.paths import SHARED_DIR  # noqa: E402
from core.wider.evaluation import evaluate  # noqa: E402
from core.wider.groundtruth import load_ground_truth  # noqa: E402
from core.wider.predictions import read_submission  # noqa: E402
from core.wider.synthetic import VALIDATION_SPECS, apply_reader_quirks, write_synthetic_submission  # noqa: E402

DEFAULT_GT = SHARED_DIR / "data" / "wider_val_gt" / "eval_tools_ground_truth"


def _bbox_overlaps(boxes: np.ndarray, query_boxes: np.ndarray) -> np.ndarray:
    """NumPy stand-in for the port's Cython ``bbox_overlaps`` (same +1 arithmetic, float64)."""
    b = boxes[:, None, :]
    q = query_boxes[None, :, :]
    iw = np.minimum(b[..., 2], q[..., 2]) - np.maximum(b[..., 0], q[..., 0]) + 1
    ih = np.minimum(b[..., 3], q[..., 3]) - np.maximum(b[..., 1], q[..., 1]) + 1
    area_b = (b[..., 2] - b[..., 0] + 1) * (b[..., 3] - b[..., 1] + 1)
    area_q = (q[..., 2] - q[..., 0] + 1) * (q[..., 3] - q[..., 1] + 1)
    ua = area_b + area_q - iw * ih
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where((iw > 0) & (ih > 0), iw * ih / ua, 0.0)
    return out


def load_port(port_dir: Path):
    """Import the port's ``evaluation.py`` with stand-ins for its compiled/optional imports."""
    if importlib.util.find_spec("scipy") is None:
        raise RuntimeError("the port needs SciPy (scipy.io.loadmat); pip install scipy to run it")
    stubs = {
        "bbox": types.SimpleNamespace(bbox_overlaps=_bbox_overlaps),
        "IPython": types.SimpleNamespace(embed=lambda *a, **k: None),
    }
    if importlib.util.find_spec("tqdm") is None:

        class _Bar(list):
            def set_description(self, *_a, **_k):
                pass

        stubs["tqdm"] = types.SimpleNamespace(tqdm=lambda it, *a, **k: _Bar(it))
    for name, module in stubs.items():
        sys.modules.setdefault(name, module)  # type: ignore[arg-type]
    spec = importlib.util.spec_from_file_location("wider_port_evaluation", port_dir / "evaluation.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def run_port(port, pred_dir: Path, gt_dir: Path) -> tuple[float, dict[str, float] | str]:
    buf = io.StringIO()
    start = time.perf_counter()
    try:
        with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(io.StringIO()):
            port.evaluation(str(pred_dir), str(gt_dir))
    except Exception as exc:  # the port crashes on missing files, for instance
        return time.perf_counter() - start, f"crashed: {type(exc).__name__}: {exc}"[:120]
    seconds = time.perf_counter() - start
    aps = dict(re.findall(r"(Easy|Medium|Hard)\s+Val AP: ([0-9.eE+-]+)", buf.getvalue()))
    return seconds, {k.lower(): float(v) for k, v in aps.items()}


def ours(gt, pred_dir: Path, runs: int) -> dict:
    start = time.perf_counter()
    sub = read_submission(pred_dir, gt.keys, on_error="official")
    read_s = time.perf_counter() - start
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        result = evaluate(gt, sub, mode="official", breakdown=False)
        times.append(time.perf_counter() - start)
    start = time.perf_counter()
    corrected = evaluate(gt, sub, mode="corrected", breakdown=False)
    corrected_s = time.perf_counter() - start
    start = time.perf_counter()
    evaluate(gt, sub, mode="official", breakdown=True)
    breakdown_s = time.perf_counter() - start
    return {
        "read_s": read_s,
        "eval_s": statistics.median(times),
        "corrected_s": corrected_s,
        "breakdown_s": breakdown_s,
        "ap": result.ap(),
        "ap_corrected": corrected.ap(),
        "predictions": result.num_predictions,
        "missing": len(sub.missing),
    }


def _fmt(aps: dict[str, float] | str) -> str:
    if isinstance(aps, str):
        return aps
    return "  ".join(f"{k} {aps.get(k, float('nan')):.6f}" for k in ("easy", "medium", "hard"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--gt", type=Path, default=DEFAULT_GT, help="eval_tools ground_truth folder")
    parser.add_argument(
        "--pred", type=Path, action="append", help="submission folder(s) instead of synthetic sets"
    )
    parser.add_argument(
        "--sets", default="jitter,jitter_sorted,logits,halfpixel,perfect,quirks", help="synthetic sets"
    )
    parser.add_argument("--port", type=Path, help="checkout of wondervictor/WiderFace-Evaluation (in /tmp)")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    if not (args.gt / "wider_face_val.mat").is_file():
        print(f"ground truth not found at {args.gt} (needs ../shared or --gt); nothing to do")
        return 0

    start = time.perf_counter()
    gt = load_ground_truth(args.gt)
    print(
        f"ground truth: {gt.num_images} images, {gt.num_faces} faces, loaded in {time.perf_counter() - start:.2f} s"
    )
    port = None
    if args.port:
        try:
            port = load_port(args.port)
        except Exception as exc:
            print(f"Python port not run: {exc}")

    with tempfile.TemporaryDirectory(prefix="wider_bench_") as tmp:
        folders: list[tuple[str, Path]] = []
        if args.pred:
            folders = [(p.name, p) for p in args.pred]
        else:
            for name in args.sets.split(","):
                # "quirks": the jitter set rewritten by apply_reader_quirks;
                # "<set>_sorted": that set with rows written in score order
                base = "jitter" if name == "quirks" else name.removesuffix("_sorted")
                spec = VALIDATION_SPECS[base]
                if name.endswith("_sorted"):
                    spec = dataclasses.replace(spec, shuffle=False)
                folder = Path(tmp) / name
                write_synthetic_submission(folder, gt, spec)
                if name == "quirks":
                    apply_reader_quirks(folder, list(gt.keys))
                folders.append((name, folder))
        for name, folder in folders:
            r = ours(gt, folder, args.runs)
            print(f"\n[{name}] {r['predictions']} predictions, {r['missing']} missing files")
            print(f"  FaceScope official : {_fmt(r['ap'])}")
            print(
                f"    time: read {r['read_s']:.2f} s, evaluate {r['eval_s']:.3f} s (3 settings x 1000 thresholds), "
                f"+breakdown {r['breakdown_s']:.3f} s"
            )
            print(f"  FaceScope corrected: {_fmt(r['ap_corrected'])}   ({r['corrected_s']:.3f} s)")
            if port is not None:
                seconds, aps = run_port(port, folder, args.gt)
                print(f"  Python port        : {_fmt(aps)}")
                if isinstance(aps, dict):
                    diff = {k: aps[k] - r["ap"][k] for k in aps if k in r["ap"]}
                    print("    port - official:  " + "  ".join(f"{k} {v:+.2e}" for k, v in diff.items()))
                    ratio = seconds / (r["read_s"] + r["eval_s"])
                    print(f"    time: {seconds:.1f} s incl. reading (x{ratio:.0f} ours incl. reading)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
