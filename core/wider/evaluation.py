"""The WIDER FACE evaluation protocol (official eval_tools semantics) and a corrected mode.

Official mode reproduces ``wider_eval.m`` / ``evaluation.m`` / ``norm_score.m`` /
``read_pred.m`` / ``VOCap.m`` (see docs/adr/0006-wider-evaluation.md):

1. predictions sorted by score per image (stable);
2. scores min-max normalised once over the whole submission, in single precision;
3. overlap in integer arithmetic against the int32 ground truth, first face
   whose rounded overlap reaches 0.5 (:mod:`core.wider.overlap`);
4. faces outside the setting's keep list (which never holds invalid faces)
   are ignored: a prediction bound to them is neither a hit nor a false positive;
5. a second prediction on a face is a false positive (duplicate);
6. at each of 1000 thresholds ``1 - t/1000``: precision = faces hit /
   predictions counted, recall = faces hit / kept faces of the setting;
   images without ground-truth rows or without predictions are skipped,
   but their kept faces still count;
7. AP = ``VOCap`` (monotone precision envelope, area over recall steps).

Corrected mode changes only step 3: real-valued IoU (same ``+1`` box
convention), so each prediction goes to its best-overlapping face.

Everything is vectorised: matching runs once per image
(:func:`core.wider.matching.match_predictions`), then each setting and each
breakdown bucket is a few weighted ``bincount``s over all predictions.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from core.scale_ranges import SCALE_RANGES
from core.wider.attributes import ATTRIBUTE_NAMES, ATTRIBUTES
from core.wider.groundtruth import ALL_FACES, WiderGroundTruth
from core.wider.matching import MatchTable, Mode, match_predictions
from core.wider.predictions import Submission

log = logging.getLogger(__name__)

THRESHOLD_COUNT = 1000
# thresholds[t-1] = 1 - t/1000, t = 1..1000, in double as evaluation.m computes them
THRESHOLDS: np.ndarray = 1.0 - np.arange(1, THRESHOLD_COUNT + 1, dtype=np.float64) / THRESHOLD_COUNT
THRESHOLDS.setflags(write=False)

# Face-size buckets by box height in pixels: (label, min inclusive, max exclusive).
SIZE_BUCKETS: tuple[tuple[str, float, float], ...] = (
    ("<10", 0.0, 10.0),
    ("10-20", 10.0, 20.0),
    ("20-40", 20.0, 40.0),
    ("40-140", 40.0, 140.0),
    (">=140", 140.0, float("inf")),
)
# ScaleFace's three ranges (core.scale_ranges), reported beside the fine buckets.
SCALE_BUCKETS: tuple[tuple[str, float, float], ...] = tuple(
    (f"scaleface_{name}", lo, hi) for name, (lo, hi) in SCALE_RANGES.items()
)


@dataclass(frozen=True)
class SettingResult:
    """PR curve and AP of one setting (easy / medium / hard / all / a breakdown bucket).

    thresholds, precision, recall: ``(1000,)`` float64; precision is NaN where
        no prediction passes the threshold (0/0, as in MATLAB).
    proposals, hits: ``(1000,)`` int64, the official ``org_pr_cruve`` columns
        (predictions counted, faces hit) at each threshold.
    num_faces: kept faces (the recall denominator).
    """

    name: str
    ap: float
    thresholds: np.ndarray
    precision: np.ndarray
    recall: np.ndarray
    proposals: np.ndarray
    hits: np.ndarray
    num_faces: int

    @property
    def max_recall(self) -> float:
        return float(self.recall[-1]) if self.num_faces else float("nan")


@dataclass(frozen=True)
class BreakdownEntry:
    """Recall and AP of a setting restricted to one attribute value or size bucket.

    The faces outside the bucket are treated like faces outside the keep list
    (ignored), so AP stays comparable to the setting's.
    """

    setting: str
    group: str  # "blur", "occlusion", ..., "size", "scaleface"
    value: str  # "heavy", "10-20", ...
    num_faces: int
    ap: float
    recall: float  # at the lowest threshold (every prediction counted)


@dataclass
class WiderEvalResult:
    """Result of :func:`evaluate`. ``settings[name]`` holds the curves and AP."""

    mode: str
    settings: dict[str, SettingResult]
    breakdown: list[BreakdownEntry]
    num_images: int
    num_predictions: int
    num_evaluated_predictions: int
    score_min: float
    score_max: float
    seconds: float
    missing: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    matches: MatchTable | None = field(default=None, repr=False)

    @property
    def thresholds(self) -> np.ndarray:
        return THRESHOLDS

    def ap(self) -> dict[str, float]:
        return {name: r.ap for name, r in self.settings.items()}


def voc_ap(recall: np.ndarray, precision: np.ndarray) -> float:
    """``VOCap.m``: area under the monotone precision envelope over recall steps.

    NaN precisions are skipped by the envelope, as MATLAB's ``max`` skips NaN.
    The final sum is sequential (as Octave's ``sum``), not pairwise.
    """
    mrec = np.concatenate([[0.0], np.asarray(recall, dtype=np.float64), [1.0]])
    mpre = np.concatenate([[0.0], np.asarray(precision, dtype=np.float64), [0.0]])
    mpre = np.fmax.accumulate(mpre[::-1])[::-1]
    i = np.flatnonzero(mrec[1:] != mrec[:-1]) + 1
    terms = (mrec[i] - mrec[i - 1]) * mpre[i]
    return float(np.cumsum(terms)[-1]) if terms.size else 0.0


def threshold_bins(scores: np.ndarray) -> np.ndarray:
    """0-based index of the first threshold a normalised score passes (1000 = none).

    Score ``s`` is counted at threshold ``t`` when ``s >= 1 - t/1000``; the
    thresholds shrink with ``t``, so it is counted from its bin onwards.
    """
    ascending = THRESHOLDS[::-1]
    passed = np.searchsorted(ascending, scores, side="right")  # thresholds <= s
    passed = np.where(np.isnan(scores), 0, passed)
    return THRESHOLD_COUNT - passed


def pr_curve(
    bins: np.ndarray, proposal_w: np.ndarray, hit_w: np.ndarray, num_faces: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Proposals, hits, precision and recall at every threshold from per-prediction weights.

    ``proposal_w`` / ``hit_w``: how much each prediction counts as a proposal / a hit
    (ones and zeros for one evaluation; image draw counts for a bootstrap replicate)."""
    proposals = np.cumsum(
        np.bincount(bins, weights=proposal_w, minlength=THRESHOLD_COUNT + 1)[:THRESHOLD_COUNT]
    )
    hits = np.cumsum(np.bincount(bins, weights=hit_w, minlength=THRESHOLD_COUNT + 1)[:THRESHOLD_COUNT])
    proposals, hits = proposals.astype(np.int64), hits.astype(np.int64)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = hits / proposals.astype(np.float64)
        recall = hits / float(num_faces) if num_faces else np.full(THRESHOLD_COUNT, np.nan)
    return proposals, hits, precision, recall


def setting_weights(table: MatchTable, keep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per prediction: does it count as a proposal (not bound to a face outside ``keep``),
    and is it a hit (the first prediction on a kept face)? As float weights."""
    bound = table.face >= 0
    kept_face = np.zeros(len(table), dtype=bool)
    kept_face[bound] = keep[table.face[bound]]
    ignored = bound & ~kept_face
    return (~ignored).astype(np.float64), (kept_face & table.first).astype(np.float64)


def setting_curve(table: MatchTable, bins: np.ndarray, keep: np.ndarray, name: str) -> SettingResult:
    """PR curve and AP for one keep mask over ground-truth rows (see module doc, steps 4-7)."""
    proposal_w, hit_w = setting_weights(table, keep)
    num_faces = int(keep.sum())
    proposals, hits, precision, recall = pr_curve(bins, proposal_w, hit_w, num_faces)
    return SettingResult(
        name=name,
        ap=voc_ap(recall, precision),
        thresholds=THRESHOLDS,
        precision=precision,
        recall=recall,
        proposals=proposals,
        hits=hits,
        num_faces=num_faces,
    )


def _buckets(gt: WiderGroundTruth) -> list[tuple[str, str, np.ndarray]]:
    """(group, value, (F,) mask) for every attribute value and size bucket."""
    out = []
    for col, name in enumerate(ATTRIBUTE_NAMES):
        for member in ATTRIBUTES[name]:
            out.append((name, member.name.lower(), gt.attributes[:, col] == int(member)))
    height = gt.boxes[:, 3]
    for group, buckets in (("size", SIZE_BUCKETS), ("scaleface", SCALE_BUCKETS)):
        for label, lo, hi in buckets:
            out.append((group, label.removeprefix("scaleface_"), (height >= lo) & (height < hi)))
    return out


def _predictions_of(
    predictions: Submission | Mapping[str, np.ndarray],
) -> tuple[Mapping, list[str], list[str]]:
    if isinstance(predictions, Submission):
        return predictions.predictions, list(predictions.missing), [str(d.path) for d in predictions.dropped]
    return predictions, [], []


def evaluate(
    gt: WiderGroundTruth,
    predictions: Submission | Mapping[str, np.ndarray],
    settings: Sequence[str] | None = None,
    mode: Mode = "official",
    breakdown: bool = True,
) -> WiderEvalResult:
    """Evaluate predictions against the ground truth.

    predictions: a :class:`Submission` (from :func:`read_submission`) or a
        mapping ``"<event>/<stem>" -> (N, 5) x y w h score`` rows (pixels).
    settings: names among ``gt.settings`` plus ``"all_faces"`` (every annotated
        face kept, invalid ones included; not an official setting). Default:
        the ground truth's settings (easy, medium, hard).
    mode: ``"official"`` (the MATLAB semantics) or ``"corrected"``.
    breakdown: also compute per-attribute and per-size AP/recall for each setting.
    """
    start = time.perf_counter()
    rows_by_key, missing, dropped = _predictions_of(predictions)
    names = list(settings) if settings is not None else list(gt.settings)
    for name in names:
        if name != ALL_FACES and name not in gt.keep:
            raise ValueError(
                f"unknown setting {name!r}; the ground truth has {list(gt.keep)} (+ 'all_faces')"
            )
    table = match_predictions(gt, rows_by_key, mode)
    bins = threshold_bins(table.score)
    masks = {name: (gt.all_faces_mask() if name == ALL_FACES else gt.keep[name]) for name in names}
    results = {name: setting_curve(table, bins, mask, name) for name, mask in masks.items()}
    entries: list[BreakdownEntry] = []
    if breakdown:
        buckets = _buckets(gt)
        for name, mask in masks.items():
            for group, value, bucket in buckets:
                r = setting_curve(table, bins, mask & bucket, f"{name}:{group}={value}")
                entries.append(BreakdownEntry(name, group, value, r.num_faces, r.ap, r.max_recall))
    known = set(gt.keys)
    total = int(sum(len(np.asarray(r).reshape(-1, 5)) for k, r in rows_by_key.items() if k in known))
    seconds = time.perf_counter() - start
    log.info(
        "WIDER evaluation (%s, %d predictions) in %.2f s: %s",
        mode,
        len(table),
        seconds,
        {k: round(v.ap, 4) for k, v in results.items()},
    )
    return WiderEvalResult(
        mode=mode,
        settings=results,
        breakdown=entries,
        num_images=gt.num_images,
        num_predictions=total,
        num_evaluated_predictions=len(table),
        score_min=table.score_min,
        score_max=table.score_max,
        seconds=seconds,
        missing=missing,
        dropped=dropped,
        matches=table,
    )
