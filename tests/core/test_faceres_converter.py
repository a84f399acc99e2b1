"""The faceres converter walks the graph node by node: a graph shaped like the port passes, any change aborts."""

from __future__ import annotations

import base64
import copy

import numpy as np
import pytest

from core.zoo.tfjs import TfjsTensor
from tools.convert_human_faceres import check_graph, plan


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def synthetic_graph() -> tuple[dict, dict[str, TfjsTensor]]:
    """A frozen graph as tfjs-converter writes it for the port's plan (constants at their shapes)."""
    consts: dict[str, TfjsTensor] = {}

    def const(name: str, values: np.ndarray) -> str:
        consts[name] = TfjsTensor(name, values.shape, "float32", values)
        return name

    placeholder = {"name": "input_1", "op": "Placeholder", "attr": {"shape": {"shape": {"dim": []}}}}
    placeholder["attr"]["shape"]["shape"]["dim"] = [{"size": str(d)} for d in (-1, 224, 224, 3)]
    nodes = [placeholder]
    for i, step in enumerate(plan()):
        feeder = "input_1" if step.feeds < 0 else nodes[step.feeds + 1]["name"]
        inputs = [feeder]
        for index in sorted({*step.weights, *step.consts} | ({1} if step.op == "Mean" else set())):
            if index in step.weights:
                inputs.append(const(f"w{i}_{index}", np.zeros(step.weights[index][1], np.float16)))
            elif index in step.consts:
                inputs.append(const(f"c{i}_{index}", np.array(step.consts[index], np.float16)))
            else:
                inputs.append(const(f"axes{i}", np.array([1, 2], np.int32)))
        attr: dict = {}
        if step.strides is not None:
            s = step.strides
            attr = {
                "strides": {"list": {"i": ["1", str(s), str(s), "1"]}},
                "padding": {"s": _b64("SAME")},
                "data_format": {"s": _b64("NHWC")},
            }
        if step.fused:
            attr["fused_ops"] = {"list": {"s": [_b64(f) for f in step.fused]}}
        nodes.append({"name": f"n{i}", "op": step.op, "input": inputs, "attr": attr})
    return {"modelTopology": {"node": nodes}}, consts


def test_a_graph_shaped_like_the_port_maps_every_weight() -> None:
    graph, consts = synthetic_graph()
    names = check_graph(graph, consts)
    ours = {v for v in names.values() if v}
    assert {"conv1/kernel", "dw13/scale", "pw13/bias", "feats/kernel", "age/bias"} <= ours
    assert len(ours) == 2 + 13 * 5 + 6  # conv1, 13 separable blocks, three dense layers


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda n, c: n[1]["attr"]["strides"]["list"].update(i=["1", "1", "1", "1"]), "strides"),
        (lambda n, c: n[3].update(op="Minimum"), "expected Relu"),
        (lambda n, c: c["c3_1"].values.fill(5.0), "expected 6.0"),
        (lambda n, c: n[6]["input"].__setitem__(0, "input_1"), "expected"),
        (lambda n, c: n[1]["attr"].update(padding={"s": _b64("VALID")}), "padding"),
    ],
)
def test_any_difference_aborts(change, message: str) -> None:
    graph, consts = synthetic_graph()
    graph, consts = copy.deepcopy(graph), copy.deepcopy(consts)
    change(graph["modelTopology"]["node"], consts)
    with pytest.raises(ValueError, match=message):
        check_graph(graph, consts)
