"""A failed job's error type decides the dialog: a plain message for a UserError, the traceback otherwise."""

from __future__ import annotations

from core.errors import FaceScopeError
from core.wider.errors import WiderFormatError


def _fail_with(qtbot, window, error: BaseException, name: str) -> str:
    def failing():
        raise error

    window.runner.submit(failing, name=name)
    qtbot.waitUntil(lambda: f"{name} failed" in window.error_dialog.summary.text(), timeout=5000)
    return window.error_dialog.details.toPlainText()


def test_a_user_error_from_a_job_shows_a_plain_message(qtbot, window):
    details = _fail_with(qtbot, window, WiderFormatError("labels.txt", 4, "bad box"), "load labels")
    assert window.error_dialog.isVisible()
    assert "labels.txt:4" in window.error_dialog.summary.text()
    assert "load labels failed" in window.statusBar().currentMessage()
    assert "labels.txt:4" in details and "Traceback" not in details
    window.error_dialog.hide()


def test_other_errors_keep_their_traceback(qtbot, window):
    details = _fail_with(qtbot, window, FaceScopeError("the engine gave up"), "engine job")
    assert "the engine gave up" in details and "Traceback" in details
    details = _fail_with(qtbot, window, KeyError("bug"), "buggy job")
    assert details.count("Traceback") == 2
    window.error_dialog.hide()
