"""The annotation editor's engine (Qt-free): an editable WIDER split with dirty
tracking, per-image review state, a crash-recovery journal, atomic saves, an
audit trail and COCO import/export (see docs/adr/0009-annotation-editor.md).

The label format itself (reading, writing, attributes) is :mod:`core.wider.labels`;
nothing here re-implements it. Submodules are imported directly.
"""
