"""Re-create resources/samples/ and tests/data/faceapi_demo/ from the face-api npm package.

Usage:
    npm pack @vladmandic/face-api@1.7.15        # -> vladmandic-face-api-1.7.15.tgz
    python tools/make_samples.py vladmandic-face-api-1.7.15.tgz

The bundled samples are the package's demo/sample1..6.jpg downscaled to at most
1280 px (what the workbench opens on first run); the parity fixtures are the
same six files byte for byte (the face-api reference outputs were computed on
them at full size).
"""

from __future__ import annotations

import hashlib
import io
import sys
import tarfile
from pathlib import Path

from PIL import Image

PACKAGE = "@vladmandic/face-api@1.7.15"
PACKAGE_SHA256 = "0d77fffeef362ef9c0939cf6c567f3a2e8e177f114fa257a3270cbd2e509b031"
ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "resources" / "samples"
FIXTURES = ROOT / "tests" / "data" / "faceapi_demo"
MAX_SIDE = 1280


def main(tgz: str) -> int:
    data = Path(tgz).read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != PACKAGE_SHA256:
        print(f"unexpected sha256 {digest} for {tgz}; expected {PACKAGE} ({PACKAGE_SHA256})")
        return 1
    SAMPLES.mkdir(parents=True, exist_ok=True)
    FIXTURES.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        for i in range(1, 7):
            raw = tar.extractfile(f"package/demo/sample{i}.jpg").read()
            (FIXTURES / f"sample{i}.jpg").write_bytes(raw)
            image = Image.open(io.BytesIO(raw)).convert("RGB")
            image.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
            out = SAMPLES / f"faceapi_demo_{i}.jpg"
            image.save(out, quality=90)
            print(f"{out.relative_to(ROOT)}: {image.size[0]}x{image.size[1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
