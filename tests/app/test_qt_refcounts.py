"""Guard against Qt bindings that corrupt CPython's reference counts.

PySide6 6.12.0 on Python 3.11 decremented None on every processEvents() and
True on every signal emit, so long sessions (and the test suite) died with
"Fatal Python error: bool_dealloc". On Python >= 3.12 these objects are
immortal and the counts are meaningless, so the check only runs before that.
"""

from __future__ import annotations

import sys

import pytest
from PySide6.QtCore import QCoreApplication, QObject, Signal

pytestmark = pytest.mark.skipif(sys.version_info >= (3, 12), reason="None/True are immortal from Python 3.12")


class _Emitter(QObject):
    value = Signal(object)


def _counts() -> tuple[int, int, int]:
    return sys.getrefcount(None), sys.getrefcount(True), sys.getrefcount(False)


def test_process_events_and_emit_keep_singleton_refcounts(qapp):
    emitter = _Emitter()
    received = []
    emitter.value.connect(received.append)
    before = _counts()
    for i in range(200):
        QCoreApplication.processEvents()
        emitter.value.emit(i)
    after = _counts()
    assert len(received) == 200
    drift = [a - b for a, b in zip(after, before, strict=True)]
    assert all(d >= -5 for d in drift), f"Qt bindings leak references to None/True/False: drift {drift}"
