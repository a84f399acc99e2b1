"""How strong a verification decision is: error rates at the operating point, borderline band."""

from __future__ import annotations

import math

import pytest

from core.recognize.calibration import OperatingPoint
from core.recognize.dream import BucketCalibration, shared_mapper
from core.recognize.evidence import decision_evidence, neighbour_band, percent


def _op(far: float, threshold: float, tar: float) -> OperatingPoint:
    return OperatingPoint(far, threshold, 1_000_000, 10_000, int(far * 1_000_000), far, tar, True)


# shaped like the shipped FP bucket: profile pairs are mostly rejected at strict points
FP = BucketCalibration(
    0.885,
    [_op(1e-1, 0.895, 0.66), _op(1e-2, 0.918, 0.26), _op(1e-3, 0.932, 0.074), _op(1e-4, 0.942, 0.015)],
    accuracy_far=0.187,
)


def test_a_reject_near_the_threshold_is_borderline_and_names_its_error_rate():
    evidence = decision_evidence(FP, 1e-2, "FP", 0.91, 0.918)
    assert not evidence.accepted and evidence.borderline  # FAR 1e-1 (0.895) would accept it
    assert evidence.band == (0.895, 0.932)
    assert evidence.frr == pytest.approx(0.74) and evidence.error_rate == evidence.frr
    assert evidence.headline() == "DIFFERENT (borderline)"
    assert evidence.summary() == (
        "DIFFERENT (borderline: 0.910 < threshold 0.918, FP bucket, FRR 74 % at FAR 1 %)"
    )


def test_a_reject_every_point_agrees_on_is_still_weak_where_the_bucket_rejects_most_genuines():
    evidence = decision_evidence(FP, 1e-2, "FP", 0.878, 0.918)
    assert not evidence.borderline and evidence.weak
    assert evidence.summary().startswith("DIFFERENT (weak: 0.878 < threshold 0.918, FP bucket, FRR 74 %")


def test_a_clear_accept_and_the_edges_of_the_calibrated_range():
    evidence = decision_evidence(FP, 1e-4, "FP", 0.99, 0.942)
    assert evidence.accepted and evidence.strength == "" and evidence.headline() == "SAME PERSON"
    assert evidence.band == pytest.approx((0.932, 0.952))  # no stricter point: mirrored
    assert evidence.error_rate == pytest.approx(1e-4)
    assert neighbour_band([0.895, 0.918], 0.895) == pytest.approx((0.872, 0.918))
    assert neighbour_band([], 0.5) == (0.5, 0.5)


def test_best_accuracy_has_a_measured_far_but_no_frr():
    evidence = decision_evidence(FP, None, "FP", 0.5, 0.885)
    assert math.isnan(evidence.frr) and not evidence.weak and not evidence.borderline
    assert evidence.rates_text() == "FRR not measured, FAR 19 % (best-accuracy cut)"


def test_percent_reads_like_a_rate():
    assert [percent(r) for r in (0.741, 0.01, 1e-4, 0.0124, 1.0)] == [
        "74 %",
        "1 %",
        "0.01 %",
        "1.2 %",
        "100 %",
    ]


def test_the_shipped_calibration_gives_every_bucket_its_error_rates():
    mapper = shared_mapper()
    for mode in ("stem", "dream"):
        for bucket in ("FF", "FP"):
            cal = mapper.thresholds(mode, bucket)
            threshold = cal.at_far(1e-2).threshold
            evidence = decision_evidence(cal, 1e-2, bucket, threshold - 0.001, threshold)
            assert 0 <= evidence.frr < 1 and evidence.borderline
    profile = decision_evidence(mapper.thresholds("dream", "FP"), 1e-2, "FP", 0.878, 0.918)
    assert profile.weak  # CFP's frontal-profile pairs: most same-person pairs score under FAR 1e-2's cut
