"""Annotation recovery in the panel: an untrusted journal is reported with a "Set aside" choice, never a traceback."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QGraphicsView

from core.annotate.review import sidecar_path
from core.wider.labels import read_labels
from tests.app.test_annotation_helpers import drag, open_split
from tests.core.annotate.wider_fixture import SPLIT, label_text, make_split


@pytest.mark.parametrize(
    "spoil",
    [lambda p: p.mkdir(), lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00garbage\n")],
    ids=["directory", "garbage"],
)
def test_an_untrusted_journal_is_reported_and_can_be_set_aside(qtbot, window, tmp_path, spoil):
    label_path, images_root = make_split(tmp_path)
    journal = sidecar_path(label_path, "journal.jsonl")
    spoil(journal)
    panel = open_split(qtbot, window, label_path, images_root)
    bar = panel.recovery_bar
    assert "cannot be read" in panel.banner.text() and "Set it aside" in panel.banner.text()
    assert bar.set_aside_button.isVisibleTo(panel) and not panel.restore_button.isVisibleTo(panel)
    assert window.error_dialog.count == 0  # a plain message, no traceback
    assert window.view.dragMode() == QGraphicsView.DragMode.ScrollHandDrag  # no editing until decided
    bar.set_aside_button.click()
    assert not journal.exists() and len(list(tmp_path.glob("*.facescope-journal.jsonl.corrupt-*"))) == 1
    assert "set aside" in panel.banner.text() and not bar.isVisibleTo(panel)
    assert window.view.dragMode() == QGraphicsView.DragMode.NoDrag
    drag(window, (250, 150), (290, 200))
    assert panel.editor.autosaver.flush()
    assert len(read_labels(sidecar_path(label_path, "edit.txt"))[0].faces) == 4


def test_a_split_listing_an_image_twice_opens_read_only_with_a_clear_message(qtbot, window, tmp_path):
    label_path, images_root = make_split(tmp_path)
    first = next(iter(SPLIT))
    label_path.write_text(label_text() + f"{first}\n0\n0 0 0 0 0 0 0 0 0 0 \n", encoding="utf-8")
    panel = open_split(qtbot, window, label_path, images_root)
    assert panel.editor.split.read_only
    assert first in panel.banner.text() and "keep each image once" in panel.banner.text()
    assert window.error_dialog.count == 0
