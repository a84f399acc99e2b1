"""Build the caches the learned LMLE reads: conv128 maps and the frozen features, resumable.

    .venv/bin/python bench/lmle_cache.py [--celeba-root ../shared/data/celeba_89x109_dev]
        [--range 1-8000] [--flip-range 6001-8000 | --no-flip]

Both caches live in the user cache folder (core.attributes.conv_cache,
core.attributes.features); stopping and re-running continues where it
stopped (the conv-map cache a part of 512 images at a time, the feature cache
a block of 1000). Mirrored views are a training augmentation and the test-time
flip; ``--flip-range`` limits them to the scored images when time is short.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.attributes.celeba import CelebA  # noqa: E402
from core.attributes.conv_cache import ConvMapCache  # noqa: E402
from core.attributes.features import FLIP_SUFFIX, FeatureCache  # noqa: E402
from core.paths import SHARED_DIR  # noqa: E402
from core.progress import relay  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--celeba-root", type=Path, default=SHARED_DIR / "data" / "celeba_89x109_dev")
    parser.add_argument("--range", default="1-8000")
    parser.add_argument(
        "--flip-range", default=None, help="mirrored views of these images (default: --range)"
    )
    parser.add_argument("--no-flip", dest="flip", action="store_false")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    dataset = CelebA.open(args.celeba_root)
    names = list(dataset.select(args.range).images)
    if args.flip:  # after every original: a stopped build has the originals first
        names += [n + FLIP_SUFFIX for n in dataset.select(args.flip_range or args.range).images]
    start = time.perf_counter()
    conv = ConvMapCache(dataset.images_dir)
    relay(conv.iter_get(names), lambda p: logging.info("conv maps %d/%d", p.done, p.total))
    logging.info("conv maps done in %.0f s (%s)", time.perf_counter() - start, conv.folder)
    feats = FeatureCache(dataset.images_dir)
    for block in range(0, len(names), 1000):  # the feature cache saves per call: blocks make it resumable
        feats.get(names[block : block + 1000])
        logging.info("features %d/%d", min(block + 1000, len(names)), len(names))
    logging.info("all caches done in %.0f s", time.perf_counter() - start)
    return 0


if __name__ == "__main__":
    sys.exit(main())
