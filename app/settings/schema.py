"""Every setting the workbench stores, declared once: key, type, default and what it holds.

Read and write them only through :class:`app.settings.Settings` with a key from
:class:`Keys`: ``settings.get(Keys.DETECTION_AUTO)`` is a ``bool`` whatever the
file holds. A key's first path segment is its group and its INI section.
Changing a key or its meaning needs a migration step (``migrations.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from PySide6.QtCore import QByteArray

from app.settings.shortcuts import SHORTCUT_BY_KEY
from core.detect.registry import DEFAULT_DETECTOR
from core.paths import user_data_dir
from core.recognize.stems import DEFAULT_STEM, UNLOCK_STEM
from core.unlock.calibrate import DEFAULT_FAR

T = TypeVar("T")

#: The groups, in the order the table declares them; each is an INI section.
GROUPS = (
    "window",
    "detection",
    "annotation",
    "evaluation",
    "live",
    "training",
    "verification",
    "attributes",
    "unlock",
    "shortcuts",
)


@dataclass(frozen=True)
class Setting(Generic[T]):
    """One stored value. ``default_factory`` replaces ``default`` where the default is
    mutable or depends on the environment (the user data folder)."""

    key: str
    type: type
    default: T | None
    doc: str
    default_factory: Callable[[], T] | None = None

    @property
    def group(self) -> str:
        return self.key.split("/", 1)[0]

    def default_value(self) -> T:
        if self.default_factory is not None:
            return self.default_factory()
        return self.default  # type: ignore[return-value]


@dataclass(frozen=True)
class SettingFamily(Generic[T]):
    """Settings of one type, one per name (per detector, per branch, per command).

    ``pattern`` holds ``{name}`` once; ``default_for`` gives a per-name default.
    """

    pattern: str
    type: type
    default: T | None
    doc: str
    default_for: Callable[[str], T] | None = None

    def __call__(self, name: str) -> Setting[T]:
        default = self.default_for(name) if self.default_for is not None else self.default
        return Setting(self.pattern.format(name=name), self.type, default, self.doc)

    @property
    def group(self) -> str:
        return self.pattern.split("/", 1)[0]

    def name_in(self, key: str) -> str | None:
        """The name ``key`` is stored under in this family, or ``None`` if it is not a member."""
        head, tail = self.pattern.split("{name}")
        if not (key.startswith(head) and key.endswith(tail)) or len(key) <= len(head) + len(tail):
            return None
        return key[len(head) : len(key) - len(tail)]


def _user_data_path(*parts: str) -> Callable[[], str]:
    return lambda: str(user_data_dir().joinpath(*parts))


class Keys:
    """The schema table. Defaults are those the panels used before the schema existed."""

    # --- window and recent files ---------------------------------------------------------
    WINDOW_GEOMETRY = Setting(
        "window/geometry", QByteArray, None, "main window size and place (saveGeometry)", QByteArray
    )
    WINDOW_STATE = Setting("window/state", QByteArray, None, "docks and toolbars (saveState)", QByteArray)
    RECENT_PATHS = Setting("window/recent_paths", list, None, "File ▸ Recent, newest first", list)
    WINDOW_LAYOUT = Setting(
        "window/layout", str, "workspaces", "View ▸ Layout: 'workspaces' (a mode bar) or 'docks'; at start"
    )
    WORKSPACE = Setting("window/workspace", str, "detection", "the workspace shown last (a panel's name)")

    # --- detection -----------------------------------------------------------------------
    DETECTION_AUTO = Setting("detection/auto", bool, True, "detect on every image shown")
    DETECTION_MIN_SCORE = Setting("detection/min_score", float, 0.5, "score slider: faces shown")
    DETECTION_ANALYSIS = Setting("detection/analysis", bool, True, "age, gender, 68 landmarks of shown faces")
    DETECTION_HEATMAP = SettingFamily("detection/heatmap/{name}", bool, False, "heat map shown, per branch")
    DETECTION_CHECKPOINT = SettingFamily(
        "detection/checkpoint/{name}", str, "", "checkpoint file of a detector that needs one"
    )

    # --- annotation ----------------------------------------------------------------------
    ANNOTATION_ACCEPT_SCORE = Setting("annotation/accept_score", float, 0.8, "accept suggestions above")
    ANNOTATION_SUGGEST_SCORE = Setting(
        "annotation/suggest_score", float, 0.5, "pre-labelling keeps boxes above (file only, no widget)"
    )

    # --- evaluation ----------------------------------------------------------------------
    EVALUATION_GT = Setting("evaluation/gt", str, "", "ground truth folder, .mat or *_bbx_gt.txt")
    EVALUATION_PRED = Setting("evaluation/pred", str, "", "predictions folder")
    EVALUATION_IMAGES = Setting("evaluation/images", str, "", "images folder for the review queue")

    # --- live video and batch runs -------------------------------------------------------
    LIVE_MODEL = Setting("live/model", str, DEFAULT_DETECTOR, "detector run on live frames")
    LIVE_TRACKING = Setting("live/tracking", bool, True, "track faces across frames (ids)")
    LIVE_MIN_SCORE = Setting("live/min_score", float, 0.5, "score slider: faces shown and tracked")
    LIVE_LAST_DIR = Setting("live/last_dir", str, "", "folder of the last video or sequence opened")
    LIVE_SNAPSHOT_DIR = Setting(
        "live/snapshot_dir",
        str,
        None,
        "WIDER split snapshots go to (file only)",
        _user_data_path("live_split"),
    )
    BATCH_INPUTS = Setting("live/batch/inputs", str, "", "batch run: inputs, ';'-separated")
    BATCH_RECURSIVE = Setting("live/batch/recursive", bool, True, "batch run: include sub-folders")
    BATCH_JSONL = Setting(
        "live/batch/jsonl",
        str,
        None,
        "batch run: JSON-lines output",
        _user_data_path("batch", "detections.jsonl"),
    )
    BATCH_WIDER = Setting("live/batch/wider", str, "", "batch run: WIDER submission folder (optional)")

    # --- training ------------------------------------------------------------------------
    TRAINING_DATA = Setting("training/data", str, "", "dataset root")
    TRAINING_SPLIT = Setting(
        "training/split", str, "auto", "WIDER split to train on (auto, a name, a label file)"
    )
    TRAINING_RUN = Setting("training/run", str, "", "run folder")
    TRAINING_CONFIG = Setting("training/config", str, "", "config TOML")
    TRAINING_EVAL_SPLIT = Setting("training/eval_split", str, "", "split evaluated during training")
    TRAINING_EVAL_EVERY = Setting("training/eval_every", int, 0, "evaluate every N steps (0: at checkpoints)")
    TRAINING_EVAL_IMAGES = Setting("training/eval_images", int, 0, "images per evaluation (0: all)")

    # --- verification --------------------------------------------------------------------
    VERIFICATION_IMAGE_A = Setting("verification/image_a", str, "", "pair: image A")
    VERIFICATION_IMAGE_B = Setting("verification/image_b", str, "", "pair: image B")
    VERIFICATION_CFP_ROOT = Setting("verification/cfp_root", str, "", "CFP dataset root")
    VERIFICATION_STEM = Setting(
        "verification/stem", str, DEFAULT_STEM, "recognition stem (embedding network)"
    )

    # --- attributes ----------------------------------------------------------------------
    ATTRIBUTES_AUTO = Setting("attributes/auto", bool, True, "analyse faces on every image")
    ATTRIBUTES_CELEBA_ROOT = Setting("attributes/celeba_root", str, "", "CelebA folder")
    ATTRIBUTES_RANGE = Setting("attributes/range", str, "1-10000", "CelebA image numbers to embed")

    # --- unlock --------------------------------------------------------------------------
    UNLOCK_FAR = Setting("unlock/far", float, DEFAULT_FAR, "false-accept rate of the operating point")
    UNLOCK_STEM = Setting("unlock/stem", str, UNLOCK_STEM, "recognition stem of enrolment and verification")
    UNLOCK_LAST_DIR = Setting("unlock/last_dir", str, "", "folder of the last video or sequence opened")
    UNLOCK_STORE = Setting("unlock/store", str, "", "template store folder (file only; empty: default)")

    # --- shortcuts -----------------------------------------------------------------------
    SHORTCUT = SettingFamily(
        "shortcuts/{name}",
        str,
        None,
        "key sequence of a remappable command (absent: its default)",
        lambda name: SHORTCUT_BY_KEY[name].default,
    )


#: The table as a tuple, in declaration order.
SCHEMA: tuple[Setting | SettingFamily, ...] = tuple(
    value for value in vars(Keys).values() if isinstance(value, (Setting, SettingFamily))
)


def setting_for_key(key: str) -> Setting | None:
    """The declared setting stored under ``key`` (a family's member included), or ``None``."""
    for entry in SCHEMA:
        if isinstance(entry, Setting) and entry.key == key:
            return entry
        name = entry.name_in(key) if isinstance(entry, SettingFamily) else None
        if name is not None:
            try:
                return entry(name)
            except KeyError:  # a shortcut of a command this version does not have
                return None
    return None
