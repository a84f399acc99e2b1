"""The remappable commands: settings name, menu text and default key sequence(s).

A command may answer to several key sequences (redo: Ctrl+Shift+Z and Ctrl+Y).
They are stored as one string in Qt's list format, alternatives separated by
``"; "`` (``QKeySequence.listToString``), so a setting stays one value and a file
written before alternatives existed reads the same.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QKeySequence

PORTABLE = QKeySequence.SequenceFormat.PortableText


@dataclass(frozen=True)
class ShortcutSpec:
    """A remappable command: settings key, menu text and default key sequence(s), ``"; "`` between them."""

    key: str
    text: str
    default: str


SHORTCUTS: tuple[ShortcutSpec, ...] = (
    ShortcutSpec("open_images", "Open image(s)…", "Ctrl+O"),
    ShortcutSpec("open_folder", "Open folder…", "Ctrl+Shift+O"),
    ShortcutSpec("quit", "Quit", "Ctrl+Q"),
    ShortcutSpec("next_image", "Next image", "D"),
    ShortcutSpec("previous_image", "Previous image", "A"),
    ShortcutSpec("zoom_in", "Zoom in", "Ctrl++"),
    ShortcutSpec("zoom_out", "Zoom out", "Ctrl+-"),
    ShortcutSpec("zoom_fit", "Fit to window", "F"),
    ShortcutSpec("zoom_actual", "Actual size (1:1)", "1"),
    ShortcutSpec("run_detection", "Detect faces", "Ctrl+R"),
    ShortcutSpec("shortcuts", "Keyboard shortcuts…", "F1"),
    # the mode bar's workspaces, in its order (app/workspaces.py); the annotation blur keys moved to Alt
    ShortcutSpec("mode_1", "Workspace: Detect", "Ctrl+1"),
    ShortcutSpec("mode_2", "Workspace: Annotate", "Ctrl+2"),
    ShortcutSpec("mode_3", "Workspace: Evaluate", "Ctrl+3"),
    ShortcutSpec("mode_4", "Workspace: Verify", "Ctrl+4"),
    ShortcutSpec("mode_5", "Workspace: Attributes", "Ctrl+5"),
    ShortcutSpec("mode_6", "Workspace: Live", "Ctrl+6"),
    ShortcutSpec("mode_7", "Workspace: Unlock", "Ctrl+7"),
    ShortcutSpec("mode_8", "Workspace: Train", "Ctrl+8"),
    # annotation editor (app/annotation/panel.py); active while a split is open in it
    ShortcutSpec("ann_save", "Annotation: save now (to the working copy)", "Ctrl+S"),
    ShortcutSpec("ann_undo", "Annotation: undo", "Ctrl+Z"),
    ShortcutSpec("ann_redo", "Annotation: redo", "Ctrl+Shift+Z; Ctrl+Y"),
    ShortcutSpec("ann_edit_mode", "Annotation: edit boxes on the canvas", "W"),
    ShortcutSpec("ann_next_unreviewed", "Annotation: next unreviewed image", "N"),
    ShortcutSpec("ann_mark_reviewed", "Annotation: mark image reviewed (toggle)", "R"),
    ShortcutSpec("ann_mark_attention", "Annotation: mark image needs attention (toggle)", "T"),
    ShortcutSpec("ann_delete", "Annotation: delete selected boxes", "Delete"),
    ShortcutSpec("ann_select_all", "Annotation: select all boxes", "Ctrl+A"),
    ShortcutSpec("ann_zoom_box", "Annotation: zoom to selection", "Z"),
    ShortcutSpec("ann_next_box", "Annotation: select next box", "Tab"),
    ShortcutSpec("ann_prelabel", "Annotation: pre-label image with the detector", "Ctrl+L"),
    ShortcutSpec("ann_accept", "Annotation: accept suggestion", "Return"),
    ShortcutSpec("ann_reject", "Annotation: reject suggestion", "Backspace"),
    ShortcutSpec("ann_accept_above", "Annotation: accept all suggestions above the score", "Shift+Return"),
    ShortcutSpec("ann_blur_clear", "Annotation: blur clear", "Alt+1"),
    ShortcutSpec("ann_blur_normal", "Annotation: blur normal", "Alt+2"),
    ShortcutSpec("ann_blur_heavy", "Annotation: blur heavy", "Alt+3"),
    ShortcutSpec("ann_cycle_blur", "Annotation: cycle blur", "B"),
    ShortcutSpec("ann_cycle_occlusion", "Annotation: cycle occlusion", "O"),
    ShortcutSpec("ann_toggle_expression", "Annotation: toggle exaggerated expression", "E"),
    ShortcutSpec("ann_toggle_illumination", "Annotation: toggle extreme illumination", "I"),
    ShortcutSpec("ann_toggle_invalid", "Annotation: toggle invalid", "V"),
    ShortcutSpec("ann_toggle_pose", "Annotation: toggle atypical pose", "P"),
    ShortcutSpec("ann_nudge_left", "Annotation: nudge left 1 px", "Left"),
    ShortcutSpec("ann_nudge_right", "Annotation: nudge right 1 px", "Right"),
    ShortcutSpec("ann_nudge_up", "Annotation: nudge up 1 px", "Up"),
    ShortcutSpec("ann_nudge_down", "Annotation: nudge down 1 px", "Down"),
    ShortcutSpec("ann_nudge_left_10", "Annotation: nudge left 10 px", "Shift+Left"),
    ShortcutSpec("ann_nudge_right_10", "Annotation: nudge right 10 px", "Shift+Right"),
    ShortcutSpec("ann_nudge_up_10", "Annotation: nudge up 10 px", "Shift+Up"),
    ShortcutSpec("ann_nudge_down_10", "Annotation: nudge down 10 px", "Shift+Down"),
    # live video (app/live/panel.py); active while a live session is open
    ShortcutSpec("live_play", "Live: play / pause", "Ctrl+Space"),
    ShortcutSpec("live_step", "Live: next frame", "Ctrl+Right"),
    ShortcutSpec("live_back", "Live: previous frame", "Ctrl+Left"),
    ShortcutSpec("live_snapshot", "Live: snapshot to the WIDER split", "Ctrl+Shift+S"),
)
SHORTCUT_BY_KEY = {spec.key: spec for spec in SHORTCUTS}


def key_sequences(text: str) -> list[QKeySequence]:
    """The key sequences a stored shortcut string holds, in order; none for an empty one."""
    return [sequence for sequence in QKeySequence.listFromString(text, PORTABLE) if not sequence.isEmpty()]


def shortcut_text(sequences: list[QKeySequence]) -> str:
    """The stored form of ``sequences`` (empty ones dropped): what :func:`key_sequences` reads back."""
    return QKeySequence.listToString([s for s in sequences if not s.isEmpty()], PORTABLE)
