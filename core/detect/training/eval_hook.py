"""Official WIDER FACE AP on a validation split during training (the periodic eval hook).

A training task that detects faces (ScaleFace) calls :func:`evaluate_on_split`
from its ``evaluate(model, step)`` hook, which the engine runs on rank 0 every
``train.eval_every`` steps with the model in eval mode, under ``no_grad`` and
with the RNG states forked (so evaluating never changes the training run: a
run with evaluation ends with the same weights as one without). The result
goes into ``metrics.jsonl`` as ``{"event": "eval", "step": N, "metrics": {...}}``.

The split is anything :func:`open_eval_split` resolves to a
:class:`~core.wider.dataset.WiderDataset` (what :func:`core.detect.on_split.detect_split`
runs over) plus its :class:`~core.wider.groundtruth.WiderGroundTruth` (what
:func:`core.wider.evaluation.evaluate` scores against): a WIDER val-style
folder (``*_bbx_gt.txt`` + ``images/`` + keep lists ``*keep*.json``, e.g. the
416 px dev set), a label ``.txt`` file, or a WIDER root
(``wider_face_split/`` + ``WIDER_val/images``, with the eval_tools
``ground_truth/`` if present). ``max_images`` keeps an evenly spaced subset of
images, ground truth included, so recall is not charged for images that were
not run.

Metrics (all floats; APs in [0, 1]):

* ``ap_<setting>``: official AP of every detection for each setting of the
  ground truth (``ap_easy``, ``ap_medium``, ``ap_hard``; ``ap_all_faces`` when the
  split has no keep lists);
* ``ap_branch_<branch>``: only that branch's detections, on the hardest setting,
  with faces outside the branch's size range ignored (neither hits nor misses,
  the evaluator's size breakdown). Face size is the box height in original
  pixels; the branch saw the image possibly downscaled (``max_side``), so with
  downscaling this is approximate;
* ``eval_images``, ``eval_faces``, ``eval_unreadable``, ``eval_seconds``.

Cancelling: ``should_stop()`` is polled before each image; when it turns true
the evaluation stops and returns ``None`` (no partial AP is reported).
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.detect.on_split import detect_split
from core.detect.protocol import Detector
from core.detect.registry import EVAL_MIN_SCORE
from core.errors import UserError
from core.progress import Progress, relay
from core.types import DetectionResult
from core.wider.dataset import WiderDataset
from core.wider.dev_split import in_part
from core.wider.evaluation import evaluate
from core.wider.groundtruth import ALL_FACES, WiderGroundTruth, load_ground_truth
from core.wider.predictions import image_key

log = logging.getLogger(__name__)

# the ground truth's settings from the easiest; the last present is the "hardest"
SETTING_ORDER = ("easy", "medium", "hard")


class EvalSplitError(UserError, ValueError):
    """The evaluation split cannot be used; the message names the path and what is missing."""


@dataclass(frozen=True)
class EvalSplit:
    """Images to run (``dataset``) and the ground truth scoring them (``gt``), same images."""

    path: Path
    dataset: WiderDataset
    gt: WiderGroundTruth

    @property
    def num_images(self) -> int:
        return len(self.dataset)


def _labels_of(path: Path) -> tuple[Path, Path, Path]:
    """(label file, images folder, ground-truth path) of a split path (see module doc)."""
    if path.is_file():
        return path, path.parent / "images", path
    if not path.is_dir():
        raise EvalSplitError(f"evaluation split {path} does not exist")
    labels = sorted(path.glob("*_bbx_gt.txt"))
    if labels:
        return labels[0], path / "images", path
    root_labels = path / "wider_face_split" / "wider_face_val_bbx_gt.txt"
    if root_labels.is_file():
        gt_path: Path = root_labels
        for sub in ("eval_tools/ground_truth", "ground_truth", "wider_face_split"):
            if (path / sub / "wider_easy_val.mat").is_file():
                gt_path = path / sub
                break
        return root_labels, path / "WIDER_val" / "images", gt_path
    raise EvalSplitError(
        f"{path}: not an evaluation split (expected *_bbx_gt.txt with images/ beside it, "
        "or a WIDER root with wider_face_split/ and WIDER_val/images)"
    )


def evenly_spaced(total: int, count: int) -> np.ndarray:
    """``count`` indices spread over ``range(total)`` (all of them when ``count`` is 0 or ≥ total)."""
    if count <= 0 or count >= total:
        return np.arange(total)
    return np.unique(np.linspace(0, total - 1, count).round().astype(np.int64))


def subset_ground_truth(gt: WiderGroundTruth, images: np.ndarray) -> WiderGroundTruth:
    """The ground truth of the images at indices ``images`` (in that order)."""
    images = np.asarray(images, dtype=np.int64)
    rows = (
        np.concatenate([np.arange(gt.offsets[i], gt.offsets[i + 1]) for i in images])
        if len(images)
        else np.zeros(0, dtype=np.int64)
    )
    counts = gt.offsets[images + 1] - gt.offsets[images]
    return WiderGroundTruth(
        keys=tuple(gt.keys[i] for i in images),
        names=tuple(gt.names[i] for i in images),
        offsets=np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
        boxes=gt.boxes[rows],
        attributes=gt.attributes[rows],
        placeholder=gt.placeholder[rows],
        keep={name: mask[rows] for name, mask in gt.keep.items()},
        integer_boxes=gt.integer_boxes,
        source=gt.source,
    )


def open_eval_split(path: str | os.PathLike, max_images: int = 0, part: str = "all") -> EvalSplit:
    """Index a split for evaluation; ``max_images`` > 0 keeps an evenly spaced subset;
    ``part`` keeps the images of one part of :func:`core.wider.dev_split.dev_part`.

    Raises :class:`EvalSplitError` naming the path when labels, images or
    ground truth are missing or do not match.
    """
    path = Path(path).expanduser()
    labels, images_dir, gt_path = _labels_of(path)
    if not images_dir.is_dir():
        raise EvalSplitError(f"{path}: no images folder at {images_dir}")
    try:
        dataset = WiderDataset.open(labels, images_dir)
        gt = load_ground_truth(gt_path)
    except (OSError, ValueError) as exc:
        raise EvalSplitError(f"{path}: cannot read the evaluation split: {exc}") from exc
    in_split = np.array([i for i, name in enumerate(gt.names) if in_part(name, part)], dtype=np.int64)
    picked = in_split[evenly_spaced(len(in_split), max_images)]
    if len(picked) < gt.num_images:
        gt = subset_ground_truth(gt, picked)
    wanted = {k: i for i, k in enumerate(gt.keys)}
    label_keys = [image_key(n.replace("\\", "/").rpartition("/")[0], n) for n in dataset.labels.names]
    ids = np.array(
        sorted((i for i, k in enumerate(label_keys) if k in wanted), key=lambda i: wanted[label_keys[i]]),
        dtype=np.int64,
    )
    if len(ids) != gt.num_images:
        raise EvalSplitError(
            f"{path}: the labels name {len(ids)} of the {gt.num_images} ground-truth images evaluated"
        )
    if len(ids) == 0:
        raise EvalSplitError(f"{path}: the split has no images")
    return EvalSplit(path, WiderDataset(dataset.labels, dataset.images_dir, image_ids=ids), gt)


class _StopToken:
    """What :func:`detect_split` polls (a ``cancelled`` attribute) over a ``should_stop`` callable."""

    def __init__(self, should_stop: Callable[[], bool] | None) -> None:
        self._should_stop = should_stop

    @property
    def cancelled(self) -> bool:
        return bool(self._should_stop is not None and self._should_stop())


class _Recorder:
    """A detector wrapper keeping the last result, for the branch of each prediction row."""

    def __init__(self, detector: Detector) -> None:
        self.inner = detector
        self.name = detector.name
        self.branch_kind = detector.branch_kind
        self.last: DetectionResult | None = None

    def detect(self, image: np.ndarray, min_score: float | None = None) -> DetectionResult:
        self.last = self.inner.detect(image, min_score=min_score)
        return self.last


def _hardest(gt: WiderGroundTruth) -> str:
    present = [s for s in SETTING_ORDER if s in gt.keep]
    return present[-1] if present else (gt.settings[-1] if gt.settings else ALL_FACES)


def branch_aps(
    gt: WiderGroundTruth,
    predictions: Mapping[str, np.ndarray],
    branches: Mapping[str, np.ndarray],
    names: Iterable[str] = (),
) -> dict[str, float]:
    """``{"ap_branch_<b>": AP}``: each branch's own rows on its size range of the hardest setting.

    branches: per image, the branch name of each prediction row; names: branches to
    report even without a detection (AP 0 when their range has faces).
    """
    setting = _hardest(gt)
    names = sorted({*names, *(str(b) for labels in branches.values() for b in labels)})
    out = {}
    for name in names:
        mine = {
            key: rows[np.asarray(branches.get(key, ()), dtype=object) == name] if len(rows) else rows
            for key, rows in predictions.items()
        }
        result = evaluate(gt, mine, settings=[setting], breakdown=True)
        for entry in result.breakdown:
            if entry.group == "scaleface" and entry.value == name and entry.num_faces:
                out[f"ap_branch_{name}"] = entry.ap
    return out


def evaluate_on_split(
    detector: Detector,
    split: EvalSplit,
    *,
    should_stop: Callable[[], bool] | None = None,
    min_score: float = EVAL_MIN_SCORE,
) -> dict[str, float] | None:
    """Run ``detector`` over ``split`` and score it officially (see module doc for the metrics).

    Returns ``None`` when ``should_stop()`` turned true before the end.
    """
    start = time.perf_counter()
    token = _StopToken(should_stop)
    recorder = _Recorder(detector)
    branches: dict[str, np.ndarray] = {}
    branch_names: set[str] = set()

    def record_branches(progress: Progress) -> None:
        if recorder.last is not None:
            sample = split.dataset[progress.done - 1]
            branches[image_key(sample.event, sample.name)] = np.array(
                [f.branch for f in recorder.last.faces], dtype=object
            )
            branch_names.update(recorder.last.branches)
            recorder.last = None

    detections = relay(
        detect_split(recorder, split.dataset, min_score=min_score, token=token), record_branches
    )
    if token.cancelled or len(detections.predictions) < split.num_images:
        log.info("evaluation on %s stopped early", split.path)
        return None
    settings = list(split.gt.settings) or [ALL_FACES]  # no keep lists: every annotated face
    result = evaluate(split.gt, detections.predictions, settings=settings, breakdown=False)
    metrics = {f"ap_{name}": r.ap for name, r in result.settings.items()}
    if detector.branch_kind == "branch":
        metrics.update(branch_aps(split.gt, detections.predictions, branches, branch_names))
    metrics.update(
        eval_images=float(split.num_images),
        eval_faces=float(split.gt.num_faces),
        eval_unreadable=float(len(detections.errors)),
        eval_seconds=time.perf_counter() - start,
    )
    log.info(
        "evaluation on %s (%d images): %s",
        split.path,
        split.num_images,
        {k: round(v, 4) for k, v in metrics.items() if k.startswith("ap_")},
    )
    return {k: (float(v) if math.isfinite(v) else float("nan")) for k, v in metrics.items()}
