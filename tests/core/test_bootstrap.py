"""The paired bootstrap interval of an EER difference."""

from __future__ import annotations

import math

import numpy as np
import pytest

from core.recognize.bootstrap import paired_bootstrap


def _phi(x: float) -> float:
    """The standard normal CDF."""
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def test_interval_covers_the_true_difference_on_a_synthetic_case() -> None:
    # system a: genuine N(1, 1) vs impostor N(0, 1) -> EER = Phi(-0.5); system b: genuine N(2, 1) -> Phi(-1)
    rng = np.random.default_rng(7)
    n = 1500
    labels = np.concatenate([np.ones(n, np.int8), np.zeros(n, np.int8)])
    noise = rng.normal(size=2 * n)  # shared by both systems: their errors are paired
    a = noise + labels * 1.0
    b = noise + labels * 2.0
    true = _phi(-1.0) - _phi(-0.5)
    ci = paired_bootstrap(a, b, labels, replicates=300, seed=1)
    assert ci.low <= true <= ci.high and ci.low < ci.difference < ci.high < 0
    assert ci.high - ci.low < 0.05  # tight: the pairs are shared


def test_identical_systems_differ_by_nothing_and_bad_input_is_refused() -> None:
    labels = np.array([1, 1, 0, 0, 1, 0])
    scores = np.array([0.9, 0.4, 0.5, 0.1, 0.8, 0.3])
    ci = paired_bootstrap(scores, scores, labels, replicates=50)
    assert (ci.difference, ci.low, ci.high) == (0.0, 0.0, 0.0)
    assert "95 % CI" in str(ci)
    with pytest.raises(ValueError, match="genuine and impostor"):
        paired_bootstrap(scores, scores, np.ones(6), replicates=5)
