"""The paired bootstrap of a WIDER AP difference: exact on the set as given, honest over samples."""

from __future__ import annotations

import numpy as np
import pytest

from core.wider.ap_bootstrap import paired_ap_bootstrap
from core.wider.evaluation import evaluate
from core.wider.groundtruth import from_labels
from core.wider.labels import LabelArrays


def _population(images: int, seed: int):
    """Images of 1–6 faces, and two detectors: ``a`` finds 60 % of them, ``b`` 75 %."""
    rng = np.random.default_rng(seed)
    boxes = []
    for _ in range(images):
        n = int(rng.integers(1, 7))
        xy = rng.uniform(0, 900, (n, 2))
        boxes.append(np.column_stack([xy, rng.uniform(10, 80, (n, 2))]))
    names = tuple(f"0--E/img_{j}.jpg" for j in range(images))
    counts = [len(b) for b in boxes]
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    flat = np.concatenate(boxes)
    gt = from_labels(
        LabelArrays(names, offsets, flat, np.zeros((len(flat), 6), np.uint8)),
        {n: {"hard": list(range(1, c + 1))} for n, c in zip(names, counts, strict=True)},
    )

    def detector(found: float) -> dict[str, np.ndarray]:
        out = {}
        for j, b in enumerate(boxes):
            hits = b[rng.random(len(b)) < found]
            rows = [np.column_stack([hits, rng.uniform(0.3, 1.0, len(hits))])]
            fp = int(rng.poisson(1.0))
            rows.append(
                np.column_stack(
                    [rng.uniform(0, 900, (fp, 2)), np.full((fp, 2), 30.0), rng.uniform(0, 0.7, fp)]
                )
            )
            out[f"0--E/img_{j}"] = np.concatenate(rows)
        return out

    return gt, detector(0.6), detector(0.75)


def _ap(gt, predictions) -> float:
    return evaluate(gt, predictions, settings=["hard"], breakdown=False).settings["hard"].ap


def test_the_difference_on_the_set_as_given_is_the_official_ap_difference():
    gt, a, b = _population(40, seed=1)
    interval = paired_ap_bootstrap(gt, a, b, "hard", replicates=50)
    assert interval.difference == pytest.approx(_ap(gt, b) - _ap(gt, a), abs=1e-12)
    assert interval.low <= interval.difference <= interval.high


def test_the_interval_covers_the_population_difference_in_most_samples():
    gt, a, b = _population(2000, seed=2)
    truth = _ap(gt, b) - _ap(gt, a)
    assert truth > 0.05  # b finds more faces: a real difference to cover
    keys = list(gt.keys)
    covered, samples = 0, 20
    rng = np.random.default_rng(3)
    for s in range(samples):
        pick = sorted(rng.choice(len(keys), 150, replace=False))
        sub_gt, sub_a, sub_b = (
            _subset(gt, pick),
            {keys[i]: a[keys[i]] for i in pick},
            {keys[i]: b[keys[i]] for i in pick},
        )
        interval = paired_ap_bootstrap(sub_gt, sub_a, sub_b, "hard", replicates=200, seed=s)
        covered += interval.low <= truth <= interval.high
    assert covered >= 16  # 95 % nominal; 16 of 20 leaves room for sampling noise


def test_an_unknown_setting_is_refused():
    gt, a, b = _population(5, seed=4)
    with pytest.raises(ValueError, match="unknown setting"):
        paired_ap_bootstrap(gt, a, b, "easy")


def _subset(gt, images: list[int]):
    names = tuple(gt.names[i] for i in images)
    rows = [np.arange(gt.offsets[i], gt.offsets[i + 1]) for i in images]
    counts = [len(r) for r in rows]
    flat = np.concatenate(rows)
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    labels = LabelArrays(names, offsets, gt.boxes[flat], gt.attributes[flat])
    return from_labels(
        labels, {n: {"hard": list(range(1, c + 1))} for n, c in zip(names, counts, strict=True)}
    )
