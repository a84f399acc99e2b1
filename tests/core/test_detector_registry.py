"""The detector table serves every consumer, and nothing outside it special-cases a detector name."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from core.detect.batch.options import BatchOptions
from core.detect.batch.run import build_detector
from core.detect.registry import (
    BRANCH,
    BRANCH_KINDS,
    DETECTORS,
    GROUP_KINDS,
    LAYER_GROUP,
    SCALE_BRANCH,
    SIZE_BIN,
    SPECS,
    TAKES_CHECKPOINT,
    as_detector,
    create_detector,
    detector_spec,
)

ROOT = Path(__file__).resolve().parents[2]
REGISTRY = ROOT / "core" / "detect" / "registry.py"
DETECTOR_NAMES = frozenset(DETECTORS)
# Same strings meaning something else: the WIDER size group named after ScaleFace's ranges,
# and the ScaleFace backbone called "tiny".
OTHER_MEANINGS = {
    "core/detect/training/eval_hook.py": "entry.group",
    "core/models/scaleface/backbone.py": "cfg.backbone",
}


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_every_spec_builds_what_it_describes(spec):
    detector = spec.create(device="cpu")
    assert detector.name == spec.name
    assert detector.branch_kind == spec.branch_kind in BRANCH_KINDS
    assert detector.min_score == spec.min_score
    assert getattr(detector, "max_side", spec.max_side) == spec.max_side
    assert spec.label and "\n" not in spec.label
    assert spec.display_min_score >= spec.run_min_score


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_group_kind_agrees_with_branch_kind(spec):
    """Heads that fired are scale branches or layer groups; a single head's split is by size."""
    assert spec.group_kind in GROUP_KINDS
    expected = (SCALE_BRANCH, LAYER_GROUP) if spec.branch_kind == BRANCH else (SIZE_BIN,)
    assert spec.group_kind in expected


def test_ssd_groups_are_layer_groups_and_scaleface_has_scale_branches():
    assert detector_spec("ssd").group_kind == LAYER_GROUP
    assert detector_spec("scaleface").group_kind == SCALE_BRANCH


def test_checkpoint_detectors_run_their_bundled_model_without_one():
    assert TAKES_CHECKPOINT == {s.name for s in SPECS if s.takes_checkpoint} == {"scaleface"}
    for name in TAKES_CHECKPOINT:
        detector = create_detector(name, device="cpu")
        assert detector.name == name and detector.model is not None


def test_unknown_names_list_the_choices():
    with pytest.raises(ValueError, match="centerface"):
        detector_spec("nope")


def test_max_side_reaches_only_detectors_that_take_one():
    named = as_detector("centerface", 320)
    assert named.max_side == 320 and as_detector(named) is named
    fixed = [s for s in SPECS if not s.user_max_side]
    assert fixed, "every detector takes a working side?"
    for spec in fixed:
        built = as_detector(spec.name, 96)
        assert getattr(built, "max_side", spec.max_side) == spec.max_side
        with pytest.raises(ValueError, match="not supported"):
            build_detector(BatchOptions(model=spec.name, max_side=640), device="cpu")
    assert build_detector(BatchOptions(model="centerface", max_side=640), device="cpu").max_side == 640


def _name_comparisons(source: str) -> list[tuple[int, str]]:
    """``(line, operand source)`` of comparisons of something with a detector-name literal."""

    def names_in(node: ast.AST) -> set[str]:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return {node.value} & DETECTOR_NAMES
        if isinstance(node, ast.Set | ast.Tuple | ast.List):
            return set().union(*(names_in(e) for e in node.elts)) if node.elts else set()
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") in {"set", "frozenset"} and node.args:
            return names_in(node.args[0])
        return set()

    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            literal = [o for o in operands if names_in(o)]
            others = [ast.unparse(o) for o in operands if not names_in(o)]
            if literal:
                found.append((node.lineno, " ".join(others)))
    return found


def test_no_module_outside_the_registry_compares_a_detector_name():
    offences = []
    for path in sorted([*(ROOT / "core").rglob("*.py"), *(ROOT / "app").rglob("*.py")]):
        if path == REGISTRY:
            continue
        rel = path.relative_to(ROOT).as_posix()
        for line, operand in _name_comparisons(path.read_text(encoding="utf-8")):
            if OTHER_MEANINGS.get(rel) != operand:
                offences.append(f"{rel}:{line} compares {operand} with a detector name")
    assert not offences, "move these into a DetectorSpec field:\n" + "\n".join(offences)


def test_checker_finds_name_special_cases():
    code = (
        'if name == "scaleface":\n    pass\n'
        'x = 1 if det in {"ssd", "tiny"} else 2\n'
        'ok = name in frozenset({"centerface"})\n'
        'fine = name == "resnet50"\n'
    )
    assert sorted(line for line, _ in _name_comparisons(code)) == [1, 3, 4]


def test_the_working_resolution_is_bounded():
    from core.detect.registry import MAX_SIDE_LIMIT, detector_spec

    spec = detector_spec("centerface")
    assert spec.max_side_kwargs(MAX_SIDE_LIMIT) == {"max_side": MAX_SIDE_LIMIT}
    for bad in (MAX_SIDE_LIMIT + 1, 100_000, 8):
        with pytest.raises(ValueError, match="--max-side must be"):
            spec.max_side_kwargs(bad)


def test_titles_are_short_distinct_menu_names():
    titles = [spec.title for spec in SPECS]
    assert len(set(titles)) == len(titles)
    for spec in SPECS:
        assert spec.title and "\n" not in spec.title and len(spec.title) <= 40, spec.title
        assert spec.title != spec.name  # a readable name, not the id
