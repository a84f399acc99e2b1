"""Deterministic synthetic prediction sets made from the ground truth.

Used by the tests and ``bench/wider_eval.py`` to exercise the evaluation on
the whole val split, and to compare it with the official MATLAB tool (the
same seeds give the same files; the expected official numbers recorded in
the tests were obtained by running eval_tools under GNU Octave on files
written by :func:`write_synthetic_submission`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.wider.groundtruth import WiderGroundTruth
from core.wider.predictions import prediction_path, write_prediction_file


@dataclass(frozen=True)
class SyntheticSpec:
    """How to degrade the ground truth into predictions.

    jitter: box corners move by N(0, jitter * size) pixels.
    drop: fraction of faces without a prediction.
    false_positives: mean number of random boxes added per image.
    duplicates: fraction of faces predicted twice (second copy, lower score, jittered).
    score_scale, score_offset: scores are ``offset + scale * u``, ``u`` ~ U(0, 1)
        (hits) or U(0, 0.6) (false positives): a scale/offset moves them out of [0, 1].
    decimals: coordinates and scores are rounded to this many decimals
        (``None`` keeps full float64 precision).
    grid: when set, coordinates are snapped to multiples of it (0.5 puts many
        corners exactly on rounding ties).
    shuffle: write rows in random order (the official tool sorts them).
    empty_files, missing_files: fraction of images written as a ``0``-count
        file / as a 0-byte file / not written at all (``missing_files``).
    """

    seed: int = 0
    jitter: float = 0.1
    drop: float = 0.1
    false_positives: float = 2.0
    duplicates: float = 0.0
    score_scale: float = 1.0
    score_offset: float = 0.0
    decimals: int | None = 2
    grid: float | None = None
    shuffle: bool = False
    empty_files: float = 0.0
    zero_byte_files: float = 0.0
    missing_files: float = 0.0


def synthesise(gt: WiderGroundTruth, spec: SyntheticSpec) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Predictions ``{key: (N, 5) x y w h score}`` and a file-kind map ``{key: "zero"|"empty"|"missing"}``.

    Keys absent from the kind map are ordinary files.
    """
    rng = np.random.default_rng(spec.seed)
    predictions: dict[str, np.ndarray] = {}
    kinds: dict[str, str] = {}
    for i, key in enumerate(gt.keys):
        sl = gt.rows(i)
        boxes = gt.boxes[sl][~gt.placeholder[sl]]
        n = len(boxes)
        keep = rng.random(n) >= spec.drop
        b = boxes[keep]
        size = np.maximum(np.abs(b[:, 2:4]), 1.0)
        noise = rng.normal(0.0, spec.jitter, size=(len(b), 4)) * np.concatenate([size, size], axis=1)
        hits = b + noise
        hit_scores = spec.score_offset + spec.score_scale * rng.random(len(b))
        parts = [np.column_stack([hits, hit_scores])]
        if spec.duplicates > 0 and len(b):
            dup = rng.random(len(b)) < spec.duplicates
            extra = hits[dup] + rng.normal(0.0, 1.0, size=(int(dup.sum()), 4))
            parts.append(np.column_stack([extra, hit_scores[dup] - 0.01 * spec.score_scale]))
        num_fp = rng.poisson(spec.false_positives)
        if num_fp:
            span = np.maximum(boxes[:, :2].max(axis=0) + 100.0, 200.0) if n else np.array([1024.0, 768.0])
            xy = rng.random((num_fp, 2)) * span
            wh = 5.0 + rng.random((num_fp, 2)) * 60.0
            fp_scores = spec.score_offset + spec.score_scale * 0.6 * rng.random(num_fp)
            parts.append(np.column_stack([xy, wh, fp_scores]))
        rows = np.concatenate(parts)
        if spec.shuffle:
            rows = rows[rng.permutation(len(rows))]
        else:
            rows = rows[np.argsort(-rows[:, 4], kind="stable")]
        if spec.decimals is not None:
            rows = np.round(rows, spec.decimals)
        if spec.grid:
            rows[:, :4] = np.round(rows[:, :4] / spec.grid) * spec.grid
        u = rng.random()
        if u < spec.missing_files:
            kinds[key] = "missing"
            continue
        if u < spec.missing_files + spec.zero_byte_files:
            kinds[key] = "zero"
            rows = rows[:0]
        elif u < spec.missing_files + spec.zero_byte_files + spec.empty_files:
            kinds[key] = "empty"
            rows = rows[:0]
        predictions[key] = rows
    return predictions, kinds


def write_synthetic_submission(
    out_dir: str | os.PathLike, gt: WiderGroundTruth, spec: SyntheticSpec
) -> dict[str, np.ndarray]:
    """Write :func:`synthesise`'s predictions as an official submission folder; returns them."""
    predictions, kinds = synthesise(gt, spec)
    out = Path(out_dir)
    for key in gt.keys:
        event, _, stem = key.rpartition("/")
        kind = kinds.get(key)
        path = prediction_path(out, event, stem)
        if kind == "missing":
            continue
        if kind == "zero":
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"")
            continue
        write_prediction_file(path, stem, predictions[key])
    return predictions


def apply_reader_quirks(out_dir: str | os.PathLike, keys: list[str]) -> dict[str, str]:
    """Rewrite some files of a submission the way sloppy writers do (deterministic).

    Every 97th image (in ``keys`` order) announces 2 rows more than it has
    (``read_pred.m`` drops its detections), every 89th announces one row less
    (the last row is ignored), every 83rd gets CRLF line ends, trailing spaces
    and blank lines, every 79th a first line that names another image.
    Returns ``{key: quirk}``.
    """
    out = Path(out_dir)
    applied: dict[str, str] = {}
    for n, key in enumerate(keys):
        event, _, stem = key.rpartition("/")
        path = prediction_path(out, event, stem)
        if not path.is_file() or path.stat().st_size == 0:
            continue
        lines = path.read_text().split("\n")[:-1]
        count = int(lines[1])
        if n % 97 == 0 and count:
            lines[1] = str(count + 2)
            applied[key] = "count_too_large"
        elif n % 89 == 0 and count >= 2:
            lines[1] = str(count - 1)
            applied[key] = "count_too_small"
        elif n % 83 == 0:
            path.write_bytes(("\r\n".join(line + "  " for line in lines) + "\r\n\r\n\r\n").encode())
            applied[key] = "crlf_spaces_blank_lines"
            continue
        elif n % 79 == 0:
            lines[0] = "some_other_image.jpg"
            applied[key] = "wrong_name_line"
        else:
            continue
        path.write_text("\n".join(lines) + "\n")
    return applied


# The prediction sets checked against the official MATLAB tool (numbers in
# tests/core/wider/test_wider_official_numbers.py).
VALIDATION_SPECS: dict[str, SyntheticSpec] = {
    # unsorted files, 2-decimal coordinates, scores in [0, 1]
    "jitter": SyntheticSpec(seed=1, jitter=0.1, drop=0.1, false_positives=2.0, decimals=2, shuffle=True),
    # scores outside [0, 1], duplicates, full-precision values, empty / 0-byte / missing files
    "logits": SyntheticSpec(
        seed=2,
        jitter=0.15,
        drop=0.2,
        false_positives=5.0,
        duplicates=0.1,
        score_scale=12.0,
        score_offset=-4.0,
        decimals=None,
        empty_files=0.02,
        zero_byte_files=0.02,
        missing_files=0.02,
    ),
    # the ground truth itself, random scores (the official AP is not 1.0: first-match quirk)
    "perfect": SyntheticSpec(seed=4, jitter=0.0, drop=0.0, false_positives=0.0, decimals=None),
    # corners on half pixels (rounding ties), many duplicates, tight boxes
    "halfpixel": SyntheticSpec(
        seed=3,
        jitter=0.06,
        drop=0.05,
        false_positives=1.0,
        duplicates=0.3,
        decimals=3,
        grid=0.5,
        shuffle=True,
    ),
}
