"""core/ must never import Qt, pyqtgraph or the app package (checked on the AST)."""

from __future__ import annotations

import ast
from pathlib import Path

CORE = Path(__file__).resolve().parents[2] / "core"
FORBIDDEN = ("PySide6", "PySide2", "PyQt5", "PyQt6", "shiboken6", "pyqtgraph", "app", "pytestqt")


def _imported_modules(tree: ast.AST) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


def test_core_has_no_gui_imports():
    offences = []
    files = sorted(CORE.rglob("*.py"))
    assert files, "core/ has no Python files?"
    for path in files:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for line, module in _imported_modules(tree):
            if module.split(".")[0] in FORBIDDEN:
                offences.append(f"{path.relative_to(CORE.parent)}:{line} imports {module}")
    assert not offences, "core/ must stay Qt-free:\n" + "\n".join(offences)


def test_checker_catches_a_forbidden_import():
    tree = ast.parse("import os\nfrom PySide6.QtCore import QObject\nimport app.worker\n")
    modules = [m for _, m in _imported_modules(tree) if m.split(".")[0] in FORBIDDEN]
    assert modules == ["PySide6.QtCore", "app.worker"]
