"""Convert the face-api TF.js models into FaceScope weight containers.

Usage:
    npm pack @vladmandic/face-api@1.7.15
    python tools/convert_faceapi.py vladmandic-face-api-1.7.15.tgz

For each of the seven models it writes ``resources/models/faceapi_<model>.pt``
(+ ``.json`` sidecar). Tensors keep their TF.js names and TF layouts; the
quantised ones keep face-api's own uint8 + per-tensor scale/min, so loading
(``core.zoo.weights.load_weights``) reproduces tfjs's float32 weights bit for
bit and the files stay as small as the originals. Layout conversion to PyTorch
happens in each model's ``from_tfjs`` loader.
"""

from __future__ import annotations

import hashlib
import io
import sys
import tarfile
import tempfile
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.zoo.tfjs import read_manifest  # noqa: E402
from core.zoo.weights import save_weights  # noqa: E402

PACKAGE = "@vladmandic/face-api@1.7.15"
PACKAGE_SHA256 = "0d77fffeef362ef9c0939cf6c567f3a2e8e177f114fa257a3270cbd2e509b031"
REGENERATE = (
    "npm pack @vladmandic/face-api@1.7.15 && python tools/convert_faceapi.py vladmandic-face-api-1.7.15.tgz"
)

# model file stem -> (what it is, training data as documented by face-api.js)
MODELS: dict[str, tuple[str, str]] = {
    "ssd_mobilenetv1_model": ("SSD MobileNetV1 face detector, 512 input", "WIDER FACE"),
    "tiny_face_detector_model": (
        "Tiny face detector (Tiny-YOLOv2 style, depthwise separable)",
        "custom set of ~14k face images (face-api.js)",
    ),
    "face_landmark_68_model": (
        "68-point landmark net (densenet-like)",
        "~35k face images labelled with 68 landmarks (face-api.js)",
    ),
    "face_landmark_68_tiny_model": (
        "68-point landmark net, tiny",
        "~35k face images labelled with 68 landmarks (face-api.js)",
    ),
    "face_recognition_model": (
        "ResNet-34-like 128-d face descriptor, ported from dlib",
        "dlib face recognition training set (~3M faces)",
    ),
    "age_gender_model": (
        "Age regression and gender classification on a shared Xception-tiny trunk",
        "UTK, FGNET, Chalearn, Wiki, IMDB*, CACD*, MegaAge, MegaAge-Asian (face-api.js)",
    ),
    "face_expression_model": ("7-class facial expression classifier", "face-api.js expression set"),
}


def output_name(stem: str) -> str:
    """``face_landmark_68_model`` -> ``faceapi_face_landmark_68``."""
    return "faceapi_" + stem.removesuffix("_model")


def convert(tgz: Path, out_dir: Path) -> None:
    data = tgz.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != PACKAGE_SHA256:
        raise SystemExit(f"{tgz}: sha256 {digest} is not that of {PACKAGE} ({PACKAGE_SHA256})")
    with tempfile.TemporaryDirectory() as tmp, tarfile.open(fileobj=io.BytesIO(data)) as tar:
        members = [m for m in tar.getmembers() if m.name.startswith("package/model/")]
        tar.extractall(tmp, members=members, filter="data")
        model_dir = Path(tmp) / "package" / "model"
        for stem, (description, training) in MODELS.items():
            manifest = model_dir / f"{stem}-weights_manifest.json"
            tensors, quantized = {}, {}
            for name, t in read_manifest(manifest).items():
                if t.quantized and t.dtype == "float32":
                    quantized[name] = (torch.from_numpy(t.values.copy()), t.scale, t.minimum)
                else:
                    tensors[name] = torch.from_numpy(t.dequantized().copy())
            bin_sha = hashlib.sha256((model_dir / f"{stem}.bin").read_bytes()).hexdigest()
            out = out_dir / f"{output_name(stem)}.pt"
            save_weights(
                out,
                tensors=tensors,
                quantized=quantized,
                meta={
                    "source": f"{PACKAGE} model/{stem}.bin",
                    "layout": "tfjs (NHWC / HWIO)",
                    "description": description,
                },
                sidecar={
                    "source_package": PACKAGE,
                    "source_package_sha256": PACKAGE_SHA256,
                    "source_file": f"model/{stem}.bin",
                    "source_file_sha256": bin_sha,
                    "licence": "MIT",
                    "authors": "Vincent Mühler (face-api.js), Vladimir Mandic (@vladmandic/face-api)",
                    "training_data": training,
                    "description": description,
                    "regenerate": REGENERATE,
                },
            )
            print(f"{out.relative_to(ROOT)}: {out.stat().st_size} bytes")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    convert(Path(sys.argv[1]), ROOT / "resources" / "models")
