"""The settings schema: typed reads, migration of pre-schema files, unknown and newer files."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QByteArray, QSettings

from app.settings import SCHEMA, SCHEMA_VERSION, Keys, Setting, Settings
from app.settings.coerce import coerce
from app.settings.migrations import STEPS
from app.settings.schema import GROUPS, setting_for_key
from core.detect.registry import DEFAULT_DETECTOR
from core.unlock.calibrate import DEFAULT_FAR

# Written by the workbench before the schema existed (its Settings class driven with
# typical values, then saved): no version, recent/, detectors/ and batch/ sections.
PRE_SCHEMA_INI = r"""[annotation]
accept_score=0.85

[attributes]
auto=false
celeba_root=/data/celeba
range=7001-8000

[batch]
inputs="/data/a;/data/b"
jsonl=/out/detections.jsonl
recursive=false
wider=

[detection]
analysis=false
auto=false
heatmap\large=true
min_score=0.45

[detectors]
scaleface\checkpoint=/runs/scaleface/best.pt

[evaluation]
gt=/data/wider/eval_tools/ground_truth
images=/data/wider/WIDER_val/images
pred=/runs/preds

[live]
last_dir=/videos
min_score=0.6
model=scaleface
tracking=false

[recent]
paths="/data/photos/a, b.jpg", /data/wider/val

[shortcuts]
ann_toggle_invalid=X
next_image=N

[training]
config=/configs/scaleface.toml
data=/data/wider
eval_every=200
eval_images=50
eval_split=/data/wider/val
run=/runs/scaleface

[unlock]
far=1e-04
last_dir=/videos/unlock

[verification]
cfp_root=/data/cfp
image_a=/faces/a.jpg
image_b=/faces/b.jpg

[window]
geometry=@ByteArray(\x1\xd9\xd0\xcb\0\x3\0\0)
state=@ByteArray(\0\0\0\xff\0\0)
"""


def write_ini(tmp_path, text: str):
    path = tmp_path / "facescope.ini"
    path.write_text(text, encoding="utf-8")
    return path


def raw_keys(path) -> dict[str, object]:
    """What a fresh QSettings sees in the file (no schema involved)."""
    store = QSettings(str(path), QSettings.Format.IniFormat)
    return {key: store.value(key) for key in store.allKeys()}


# --- migration of a pre-schema file ------------------------------------------------------------


def test_pre_schema_file_is_migrated_and_versioned(tmp_path):
    path = write_ini(tmp_path, PRE_SCHEMA_INI)
    settings = Settings(path)
    assert settings.file_version == 0 and not settings.read_only
    stored = raw_keys(path)
    assert int(stored["schema_version"]) == SCHEMA_VERSION
    assert stored["window/recent_paths"] == ["/data/photos/a, b.jpg", "/data/wider/val"]
    assert stored["detection/checkpoint/scaleface"] == "/runs/scaleface/best.pt"
    assert stored["live/batch/inputs"] == "/data/a;/data/b"
    renamed = ("recent/paths", "detectors/scaleface/checkpoint", "batch/inputs", "batch/recursive")
    assert not any(old in stored for old in renamed)


def test_every_pre_schema_key_is_declared_after_migration(tmp_path):
    path = write_ini(tmp_path, PRE_SCHEMA_INI)
    Settings(path)
    undeclared = [k for k in raw_keys(path) if k != "schema_version" and setting_for_key(k) is None]
    assert undeclared == []


def test_migrated_values_read_back_typed(tmp_path):
    settings = Settings(write_ini(tmp_path, PRE_SCHEMA_INI))
    assert settings.get(Keys.DETECTION_AUTO) is False
    assert settings.get(Keys.DETECTION_HEATMAP("large")) is True
    assert settings.get(Keys.DETECTION_HEATMAP("small")) is False  # absent: the default
    assert settings.get(Keys.DETECTION_MIN_SCORE) == pytest.approx(0.45)
    assert settings.get(Keys.DETECTION_CHECKPOINT("scaleface")) == "/runs/scaleface/best.pt"
    assert settings.get(Keys.TRAINING_EVAL_EVERY) == 200
    assert settings.get(Keys.UNLOCK_FAR) == pytest.approx(1e-4)
    assert settings.get(Keys.BATCH_RECURSIVE) is False
    assert settings.get(Keys.BATCH_WIDER) == ""
    assert settings.get(Keys.ATTRIBUTES_RANGE) == "7001-8000"
    assert settings.get(Keys.WINDOW_GEOMETRY) == QByteArray(b"\x01\xd9\xd0\xcb\x00\x03\x00\x00")
    assert settings.recent_paths() == ["/data/photos/a, b.jpg", "/data/wider/val"]
    assert settings.shortcut("next_image") == "N" and settings.shortcut("quit") == "Ctrl+Q"


def test_reopening_a_migrated_file_changes_nothing(tmp_path):
    path = write_ini(tmp_path, PRE_SCHEMA_INI)
    Settings(path)
    once = path.read_text(encoding="utf-8")
    again = Settings(path)
    assert again.file_version == SCHEMA_VERSION
    assert path.read_text(encoding="utf-8") == once


def test_a_renamed_key_never_overwrites_the_new_one(tmp_path):
    path = write_ini(tmp_path, "[recent]\npaths=/old\n\n[window]\nrecent_paths=/new\n")
    settings = Settings(path)
    assert settings.recent_paths() == ["/new"]
    assert raw_keys(path)["recent/paths"] == "/old"  # kept, not lost


def test_steps_run_only_from_the_files_version(tmp_path):
    # at version 1 "recent/paths" means nothing: the 0 -> 1 rename must not touch it
    path = write_ini(tmp_path, "[General]\nschema_version=1\n\n[recent]\npaths=/kept\n")
    settings = Settings(path)
    assert settings.recent_paths() == []
    assert raw_keys(path)["recent/paths"] == "/kept"
    assert SCHEMA_VERSION == len(STEPS)


def test_migration_coerces_values_to_their_type(tmp_path):
    path = write_ini(tmp_path, "[detection]\nauto=0\n\n[training]\neval_every=12.0\n")
    Settings(path)
    text = path.read_text(encoding="utf-8")
    assert "auto=false" in text and "eval_every=12\n" in text


# --- malformed values, unknown keys, newer files -----------------------------------------------


MALFORMED_INI = r"""[detection]
auto=banana
min_score=high
heatmap\large=2

[training]
eval_every=3.5

[unlock]
far=nan

[window]
geometry=not bytes
"""


def test_malformed_values_fall_back_to_defaults(tmp_path):
    path = write_ini(tmp_path, MALFORMED_INI)
    settings = Settings(path)
    assert settings.get(Keys.DETECTION_AUTO) is True
    assert settings.get(Keys.DETECTION_MIN_SCORE) == 0.5
    assert settings.get(Keys.DETECTION_HEATMAP("large")) is False
    assert settings.get(Keys.TRAINING_EVAL_EVERY) == 0
    assert settings.get(Keys.UNLOCK_FAR) == DEFAULT_FAR
    assert settings.get(Keys.WINDOW_GEOMETRY).isEmpty()
    assert raw_keys(path)["detection/auto"] == "banana"  # the user's text stays, to fix by hand


def test_absent_values_give_the_declared_defaults(tmp_path):
    settings = Settings(tmp_path / "new.ini")
    assert settings.get(Keys.LIVE_MODEL) == DEFAULT_DETECTOR
    assert settings.get(Keys.LIVE_TRACKING) is True
    assert settings.get(Keys.ANNOTATION_ACCEPT_SCORE) == 0.8
    assert settings.get(Keys.ATTRIBUTES_RANGE) == "1-10000"
    assert settings.get(Keys.BATCH_JSONL).endswith("detections.jsonl")
    assert settings.recent_paths() == []


def test_unknown_keys_survive_migration_and_writes(tmp_path):
    path = write_ini(tmp_path, "[plugins]\ncolour=blue\n\n[detection]\nauto=false\nfuture_flag=1\n")
    settings = Settings(path)
    settings.set(Keys.DETECTION_MIN_SCORE, 0.7)
    settings.sync()
    stored = raw_keys(path)
    assert stored["plugins/colour"] == "blue" and stored["detection/future_flag"] == "1"
    assert float(stored["detection/min_score"]) == pytest.approx(0.7)


def test_a_newer_file_opens_read_only(tmp_path):
    newer = "[General]\nschema_version=99\n\n[detection]\nauto=false\nrenamed_later=x\n"
    path = write_ini(tmp_path, newer)
    settings = Settings(path)
    assert settings.read_only and settings.file_version == 99
    assert settings.get(Keys.DETECTION_AUTO) is False
    settings.set(Keys.DETECTION_AUTO, True)
    settings.add_recent_path(tmp_path)
    settings.set_shortcut("quit", "Ctrl+W")
    settings.sync()
    assert settings.get(Keys.DETECTION_AUTO) is True  # this session sees its changes
    assert settings.recent_paths() == [str(tmp_path.resolve())]
    settings.clear_recent()
    assert settings.recent_paths() == []
    assert path.read_text(encoding="utf-8") == newer  # the newer file is never rewritten


def test_writing_a_value_of_the_wrong_type_is_a_bug(tmp_path):
    settings = Settings(tmp_path / "new.ini")
    with pytest.raises(ValueError):
        settings.set(Keys.DETECTION_AUTO, "maybe")
    with pytest.raises(ValueError):
        settings.set(Keys.TRAINING_EVAL_EVERY, 2.5)


def test_written_values_read_back_after_a_restart(tmp_path):
    path = tmp_path / "new.ini"
    first = Settings(path)
    first.set(Keys.LIVE_TRACKING, False)
    first.set(Keys.UNLOCK_FAR, 1e-2)
    first.set(Keys.TRAINING_EVAL_IMAGES, 7)
    first.add_recent_path(tmp_path)
    first.sync()
    second = Settings(path)
    assert second.get(Keys.LIVE_TRACKING) is False
    assert second.get(Keys.UNLOCK_FAR) == 1e-2
    assert second.get(Keys.TRAINING_EVAL_IMAGES) == 7
    assert second.recent_paths() == [str(tmp_path.resolve())]  # one element: QSettings stores a bare string


# --- the table and the coercers ----------------------------------------------------------------


def test_schema_keys_are_unique_grouped_and_defaults_typed():
    singles = [entry for entry in SCHEMA if isinstance(entry, Setting)]
    keys = [entry.key for entry in singles]
    assert len(keys) == len(set(keys))
    assert {entry.group for entry in SCHEMA} <= set(GROUPS)
    for entry in singles:
        default = entry.default_value()
        assert coerce(default, entry.type) == default, entry.key
        assert entry.doc, entry.key


@pytest.mark.parametrize(
    ("raw", "type_", "expected"),
    [
        ("true", bool, True),
        (" Off ", bool, False),
        ("1", bool, True),
        ("12", int, 12),
        ("1e3", int, 1000),
        (" 0.25", float, 0.25),
        (3, float, 3.0),
        (["a", " b"], str, "a,  b"),
        (7, str, "7"),
        ("/one", list, ["/one"]),
        ("", list, []),
        (b"\x00\x01", QByteArray, QByteArray(b"\x00\x01")),
    ],
)
def test_coerce_reads_ini_text(raw, type_, expected):
    assert coerce(raw, type_) == expected


@pytest.mark.parametrize(
    ("raw", "type_"),
    [(None, str), ("2", bool), (True, int), ("x", float), ("inf", float), ([1], list), ("@", QByteArray)],
)
def test_coerce_rejects_what_is_not_the_type(raw, type_):
    with pytest.raises(ValueError):
        coerce(raw, type_)


def test_a_new_settings_file_starts_at_the_current_version_without_migrating(tmp_path, caplog):
    import logging

    from app.settings.migrations import SCHEMA_VERSION, VERSION_KEY
    from app.settings.store import Settings as Store

    with caplog.at_level(logging.INFO):
        store = Store(tmp_path / "new.ini")
    assert "migrating" not in caplog.text
    assert int(store.qsettings.value(VERSION_KEY)) == SCHEMA_VERSION
