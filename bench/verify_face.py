"""Per-face cost of verification's embedding: each stem's alignment + network + its DREAM block, one face a call.

    OMP_NUM_THREADS=1 .venv/bin/python bench/verify_face.py [--threads 1 2] [--runs 9] [--sizes 224 192 160]

The faces are those CenterFace finds in the bundled samples (boxes, 5 points
and face-api's 68 landmarks computed once, untimed). A timed call is what
:class:`core.recognize.verify.Verifier` does per face after detection and
landmarks: the stem's chip and network (:class:`FaceResEmbedder.embed` /
face-api's :class:`Embedder.embed`), then ``mapper.map`` with the face's yaw.
Per stem and thread count: the median over ``--runs`` rounds of the median
face; the stems alternate inside each round so they share the machine's load.
``--sizes`` also times faceres's network alone on smaller square inputs (the
same graph: the global mean pools any size).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.machine import LoadWatch  # noqa: E402
from core.io.imageio import load_image  # noqa: E402
from core.paths import SAMPLES_DIR  # noqa: E402
from core.recognize.dream import gate_value  # noqa: E402
from core.recognize.faces import FacePipeline  # noqa: E402
from core.recognize.stem_calibration import mapper_for_stem  # noqa: E402
from core.recognize.stems import STEMS  # noqa: E402

SAMPLES = ("faceapi_demo_1.jpg", "faceapi_demo_2.jpg")


def sample_faces() -> list[tuple[np.ndarray, object]]:
    """``(image, FaceRecord)`` of every face CenterFace finds in the samples (face-api stem, untimed)."""
    pipeline = FacePipeline(stem="faceapi")
    faces = []
    for name in SAMPLES:
        image = load_image(SAMPLES_DIR / name)
        faces += [(image, record) for record in pipeline.records(image)]
    return faces


def embed_call(pipeline: FacePipeline, mapper):
    """One face: the stem's embedding of the record's face, mapped by its DREAM block at yaw 60°."""
    _, _, embedder = pipeline._models()  # the loaded networks, shared through the network cache
    yaw = np.array([60.0])

    def call(image: np.ndarray, record) -> None:
        raw = pipeline._embed(embedder, image, [record.points5], record.landmarks68[None])
        mapper.map(raw, yaw)

    return call


def time_stems(faces, stems: list[str], runs: int) -> dict[str, float]:
    calls = {s: embed_call(FacePipeline(stem=s), mapper_for_stem(s)) for s in stems}
    for call in calls.values():  # warm-up: first calls allocate and pick kernels
        for image, record in faces[:2]:
            call(image, record)
    rounds: dict[str, list[float]] = {s: [] for s in stems}
    for _ in range(runs):
        for stem, call in calls.items():
            per_face = []
            for image, record in faces:
                t0 = time.perf_counter()
                call(image, record)
                per_face.append((time.perf_counter() - t0) * 1e3)
            rounds[stem].append(statistics.median(per_face))
    return {s: statistics.median(v) for s, v in rounds.items()}


def time_sizes(sizes: list[int], runs: int) -> dict[int, float]:
    net = FacePipeline(stem="faceres")._models()[2].model
    out: dict[int, list[float]] = {s: [] for s in sizes}
    with torch.inference_mode():
        for _ in range(runs + 1):
            for size in sizes:
                x = torch.randn(1, 3, size, size).contiguous(memory_format=torch.channels_last)
                t0 = time.perf_counter()
                net(x)
                out[size].append((time.perf_counter() - t0) * 1e3)
    return {s: statistics.median(v[1:]) for s, v in out.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--stems", nargs="+", choices=list(STEMS), default=list(STEMS))
    parser.add_argument("--sizes", nargs="*", type=int, default=[], help="faceres input sides to time")
    args = parser.parse_args(argv)
    load = LoadWatch()
    faces = sample_faces()
    print(f"{len(faces)} faces from {', '.join(SAMPLES)}; gate at 60°: {float(gate_value(60.0)):.3f}")
    for threads in args.threads:
        torch.set_num_threads(threads)
        times = time_stems(faces, args.stems, args.runs)
        cells = ", ".join(f"{s} + DREAM {ms:.1f} ms" for s, ms in times.items())
        print(f"threads {threads}: per face (chip + network + DREAM), median: {cells}")
        if args.sizes:
            sizes = time_sizes(args.sizes, args.runs)
            print(
                f"threads {threads}: faceres network alone: "
                + ", ".join(f"{s} px {ms:.1f} ms" for s, ms in sizes.items())
            )
    print(load.footer("CPU, batch 1"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
