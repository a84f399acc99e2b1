"""The import contract between packages, checked on the AST of every file.

Read ``ALLOWED`` as the architecture: each core package names the packages it
may import, so the table is the layering and a new arrow is a visible change
here (docs/adr/0015-import-contract.md). Top-level and function-level imports
count alike; a function-level import must say why it is deferred, in a
``# lazy: ...`` comment on the line before its block, because hiding a cycle
inside a function is exactly what this contract forbids.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CORE = REPO / "core"
APP = REPO / "app"
GUI_MODULES = ("PySide6", "PySide2", "PyQt5", "PyQt6", "shiboken6", "pyqtgraph", "pytestqt")

# "base" is the top-level modules of core (types, errors, progress, atomic, device, paths,
# logging_setup, scale_ranges): plain data and helpers every package may use.
BASE = "base"
ALLOWED: dict[str, frozenset[str]] = {
    BASE: frozenset(),
    "io": frozenset({BASE}),
    "zoo": frozenset({BASE, "io"}),
    "models": frozenset({BASE}),
    "train": frozenset({BASE, "io"}),
    "wider": frozenset({BASE, "io"}),
    "detect": frozenset({BASE, "io", "zoo", "models", "train", "wider"}),
    "recognize": frozenset({BASE, "io", "zoo", "models", "detect"}),
    "cfp": frozenset({BASE, "io", "zoo", "models", "train", "detect", "recognize"}),
    "attributes": frozenset({BASE, "io", "zoo", "models", "train", "detect", "recognize"}),
    "annotate": frozenset({BASE, "io", "wider", "detect"}),
    "unlock": frozenset({BASE, "io", "zoo", "models", "detect", "recognize"}),
    "cli": frozenset(
        {
            BASE,
            "io",
            "zoo",
            "models",
            "train",
            "wider",
            "detect",
            "recognize",
            "cfp",
            "attributes",
            "annotate",
            "unlock",
        }
    ),
}
LAZY_MARK = "# lazy:"


@dataclass(frozen=True)
class Import:
    """One import statement: where it is, what it names, and whether it sits in a function."""

    path: Path
    line: int
    module: str
    in_function: bool


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path, source: str | None = None) -> list[Import]:
    """Every import in ``path`` (relative imports resolved), marked by function level."""
    source = path.read_text(encoding="utf-8") if source is None else source
    tree = ast.parse(source, filename=str(path))
    in_function: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            in_function.update(
                id(sub) for sub in ast.walk(node) if isinstance(sub, (ast.Import, ast.ImportFrom))
            )
    package = _module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                names = [".".join(base + ([node.module] if node.module else []))]
            else:
                names = [node.module or ""]
        else:
            continue
        found += [Import(path, node.lineno, name, id(node) in in_function) for name in names]
    return found


def layer_of(module: str) -> str | None:
    """The contract's name for a ``core`` module (``None`` outside core)."""
    parts = module.split(".")
    if parts[0] != "core":
        return None
    if len(parts) == 1 or not (CORE / parts[1]).is_dir():
        return BASE
    return parts[1]


def _files(root: Path) -> list[Path]:
    files = sorted(root.rglob("*.py"))
    assert files, f"{root} has no Python files?"
    return files


def _core_imports() -> list[Import]:
    return [imp for path in _files(CORE) for imp in imports_of(path)]


def test_the_contract_names_every_core_package():
    packages = {p.name for p in CORE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert packages == set(ALLOWED) - {BASE}, "add the package to ALLOWED (and to the ADR)"


def test_core_packages_import_only_what_the_contract_allows():
    offences = []
    for imp in _core_imports():
        source, target = layer_of(_module_name(imp.path)), layer_of(imp.module)
        if target is None or target == source:
            continue
        if target not in ALLOWED[source]:
            where = "function-level" if imp.in_function else "top-level"
            offences.append(
                f"{imp.path.relative_to(REPO)}:{imp.line} ({where}) {source} -> {target}: {imp.module}"
            )
    assert not offences, "imports outside the contract:\n" + "\n".join(offences)


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the directed graph ``edges`` as a list of nodes, or ``None``."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_contract_and_the_real_graph_have_no_cycle():
    assert find_cycle({k: set(v) for k, v in ALLOWED.items()}) is None
    real: dict[str, set[str]] = defaultdict(set)
    for imp in _core_imports():
        source, target = layer_of(_module_name(imp.path)), layer_of(imp.module)
        if target is not None and target != source:
            real[source].add(target)
    assert find_cycle(real) is None, f"package cycle: {' -> '.join(find_cycle(real) or [])}"


def test_nothing_in_core_imports_the_cli():
    offences = [
        f"{imp.path.relative_to(REPO)}:{imp.line} imports {imp.module}"
        for imp in _core_imports()
        if layer_of(imp.module) == "cli" and layer_of(_module_name(imp.path)) != "cli"
    ]
    assert not offences, "the CLI is a face on the engine; nothing imports it:\n" + "\n".join(offences)


def test_core_has_no_gui_imports():
    offences = [
        f"{imp.path.relative_to(REPO)}:{imp.line} imports {imp.module}"
        for imp in _core_imports()
        if imp.module.split(".")[0] in (*GUI_MODULES, "app")
    ]
    assert not offences, "core/ must stay Qt-free:\n" + "\n".join(offences)


def test_app_does_not_import_the_cli():
    offences = [
        f"{imp.path.relative_to(REPO)}:{imp.line} imports {imp.module}"
        for path in _files(APP)
        for imp in imports_of(path)
        if layer_of(imp.module) == "cli"
    ]
    assert not offences, "the GUI calls the engine, not the CLI:\n" + "\n".join(offences)


def _is_import(line: str) -> bool:
    return line.strip().startswith(("from ", "import "))


def unexplained_lazy_imports(path: Path, source: str | None = None) -> list[str]:
    """Function-level imports of project code whose block has no ``# lazy:`` comment above it."""
    source = path.read_text(encoding="utf-8") if source is None else source
    lines = source.splitlines()
    offences = []
    for imp in imports_of(path, source):
        if not imp.in_function or imp.module.split(".")[0] not in ("core", "app"):
            continue
        row = imp.line - 1
        # walk up over the rest of the import block (one lazy comment explains a block; the
        # formatter's blank line between third-party and project imports stays inside it)
        while row > 0 and (
            _is_import(lines[row - 1])
            or (row > 1 and not lines[row - 1].strip() and _is_import(lines[row - 2]))
        ):
            row -= 1
        if row == 0 or not lines[row - 1].strip().startswith(LAZY_MARK):
            offences.append(f"{path.relative_to(REPO)}:{imp.line} {imp.module}")
    return offences


def test_every_function_level_import_says_why():
    offences = [
        line for root in (CORE, APP) for path in _files(root) for line in unexplained_lazy_imports(path)
    ]
    assert not offences, (
        f"a function-level import needs a '{LAZY_MARK} <why>' comment above its block "
        "(or move it to the top of the file):\n" + "\n".join(offences)
    )


def test_the_checks_catch_what_they_forbid(tmp_path):
    fake = CORE / "models" / "example.py"
    source = (
        "import os\n"
        "from PySide6.QtCore import QObject\n"
        "def f():\n"
        "    from core.detect.registry import create_detector\n"
        "def g():\n"
        "    # lazy: keeps start-up free of torch\n"
        "    from core.models import box_ops\n"
        "    from core.types import Detection\n"
    )
    found = imports_of(fake, source)
    assert [(i.module, i.in_function) for i in found] == [
        ("os", False),
        ("PySide6.QtCore", False),
        ("core.detect.registry", True),
        ("core.models", True),
        ("core.types", True),
    ]
    assert layer_of("core.detect.registry") not in ALLOWED[layer_of("core.models.example")]
    assert unexplained_lazy_imports(fake, source) == ["core/models/example.py:4 core.detect.registry"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
    assert layer_of("core.types") == BASE and layer_of("numpy") is None


def test_training_tasks_live_with_their_domain_and_resolve():
    import importlib

    from core.train.registry import TASKS

    for name, target in TASKS.items():
        module_name, _, attr = target.partition(":")
        assert layer_of(module_name) not in (BASE, "train", "cli"), (
            f"task {name} belongs in its domain package"
        )
        assert callable(getattr(importlib.import_module(module_name), attr)), target


# The workbench: a shell (window, worker, pools, settings, context, canvas, dialogs, shared
# widgets, video plumbing) and one package per feature that imports the shell and the engine
# but never another feature, so a feature can be read, tested and removed on its own.
APP_FEATURES = frozenset(
    {"detection", "annotation", "evaluation", "live", "training", "verification", "attributes", "unlock"}
)


def _app_part(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "app":
        return None
    return parts[1] if len(parts) > 1 and parts[1] in APP_FEATURES else "shell"


def test_app_features_import_the_shell_not_each_other():
    on_disk = {p.name for p in APP.iterdir() if p.is_dir() and (p / "panel.py").exists()}
    assert on_disk == APP_FEATURES, "a feature package has a panel.py; name it in APP_FEATURES"
    offences = []
    for path in _files(APP):
        source = _app_part(_module_name(path))
        for imp in imports_of(path):
            target = _app_part(imp.module)
            if target not in APP_FEATURES or target == source or _module_name(path) == "app.panels":
                continue
            offences.append(f"{path.relative_to(REPO)}:{imp.line} {source} -> {imp.module}")
    assert not offences, "features import the shell and core only (app.panels lists them):\n" + "\n".join(
        offences
    )
