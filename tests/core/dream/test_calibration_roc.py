"""Thresholds at a target FAR and ROC metrics on synthetic score distributions with known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from core.recognize.calibration import MIN_FALSE_ACCEPTS, OperatingPoint, calibrate, threshold_at_far
from core.recognize.roc import accuracy, auc, best_accuracy_threshold, eer, roc_curve, tar_at_far


def _phi(x: float) -> float:
    return 0.5 * (1 + math.erf(x / math.sqrt(2)))


@pytest.fixture(scope="module")
def gaussians():
    rng = np.random.default_rng(0)
    impostor = rng.normal(0.0, 1.0, 200_000)
    genuine = rng.normal(2.0, 1.0, 200_000)
    return genuine, impostor


@pytest.mark.parametrize("far, z", [(1e-1, 1.2816), (1e-2, 2.3263), (1e-3, 3.0902)])
def test_threshold_matches_the_gaussian_quantile(gaussians, far, z):
    genuine, impostor = gaussians
    op = calibrate(impostor, far, genuine)
    assert op.threshold == pytest.approx(z, abs=0.05 if far >= 1e-2 else 0.1)
    assert op.false_accepts <= far * len(impostor) and op.measured_far <= far
    assert op.measured_far == pytest.approx(far, rel=0.01)
    assert op.tar == pytest.approx(1 - _phi(z - 2.0), abs=0.01)
    assert op.supported and op.impostors == 200_000 and op.genuines == 200_000


def test_counts_and_support_on_small_sets():
    impostor = np.arange(100, dtype=float)  # 0..99
    op = calibrate(impostor, 0.05)
    assert op.false_accepts == 5 and op.threshold == pytest.approx(94.5)
    assert not op.supported  # 5 expected false accepts < MIN_FALSE_ACCEPTS
    assert calibrate(impostor, 0.1).supported == (0.1 * 100 >= MIN_FALSE_ACCEPTS)
    tiny = calibrate(impostor, 1e-3)  # below 1/n: nothing may be accepted
    assert tiny.false_accepts == 0 and tiny.threshold > 99
    assert math.isnan(tiny.tar)


def test_ties_never_exceed_the_target():
    impostor = np.array([0.9] * 10 + [0.1] * 90)
    t = threshold_at_far(impostor, 0.05)  # the 5th and 6th highest are tied at 0.9
    assert (impostor >= t).sum() <= 5


def test_bad_inputs():
    with pytest.raises(ValueError):
        threshold_at_far(np.array([]), 0.1)
    with pytest.raises(ValueError):
        threshold_at_far(np.array([1.0]), 1.5)


def test_operating_point_json_round_trip():
    op = calibrate(np.linspace(0, 1, 1000), 0.01, np.linspace(0.5, 1.5, 10))
    assert OperatingPoint.from_json(op.to_json()).threshold == pytest.approx(op.threshold, abs=1e-6)


def test_eer_auc_and_best_threshold_of_two_gaussians(gaussians):
    genuine, impostor = gaussians
    scores = np.concatenate([genuine, impostor])
    labels = np.concatenate([np.ones(len(genuine)), np.zeros(len(impostor))])
    assert eer(scores, labels) == pytest.approx(_phi(-1.0), abs=0.003)
    assert auc(scores, labels) == pytest.approx(_phi(2 / math.sqrt(2)), abs=0.003)
    t, acc = best_accuracy_threshold(scores, labels)
    assert t == pytest.approx(1.0, abs=0.05) and acc == pytest.approx(_phi(1.0), abs=0.003)
    assert accuracy(scores, labels, t) == pytest.approx(acc)
    assert tar_at_far(scores, labels, 1e-2) == pytest.approx(1 - _phi(2.3263 - 2), abs=0.01)


def test_roc_small_exact():
    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.4, 0.3])
    labels = np.array([1, 1, 0, 1, 0, 0])
    roc = roc_curve(scores, labels)
    assert roc.far[0] == 0 and roc.tar[0] == 0 and roc.far[-1] == 1 and roc.tar[-1] == 1
    assert auc(scores, labels) == pytest.approx(8 / 9)
    assert eer(scores, labels) == pytest.approx(1 / 3)
    assert auc(np.array([0.5, 0.5]), np.array([1, 0])) == 0.5  # a tie counts half
    perfect = np.array([3.0, 2.0, 1.0, 0.0])
    assert eer(perfect, np.array([1, 1, 0, 0])) == 0.0
    with pytest.raises(ValueError):
        eer(np.array([0.1, 0.2]), np.array([1, 1]))
