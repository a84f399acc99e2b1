"""FaceScope engine: everything that is not GUI.

Nothing under ``core`` may import PySide6, pyqtgraph or ``app`` (checked by
``tests/core/test_layering.py``), so the CLI, the tests and ``torchrun`` drive
exactly the same code as the workbench.
"""

__version__ = "0.1.0"
