"""verify-pairs CSV reading and metrics; the verify option parser."""

from __future__ import annotations

import argparse

import numpy as np
import pytest

from core.cli.verify import parse_far
from core.cli.verify_pairs import PairsError, pair_metrics, read_pairs_csv


def test_csv_with_and_without_header_and_labels(tmp_path):
    p = tmp_path / "pairs.csv"
    p.write_text("img_a,img_b,label\na.jpg,b.jpg,1\n\nc.jpg, d.jpg ,0\n")
    assert read_pairs_csv(p) == [("a.jpg", "b.jpg", 1), ("c.jpg", "d.jpg", 0)]
    p.write_text("a.jpg,b.jpg\n")
    assert read_pairs_csv(p) == [("a.jpg", "b.jpg", None)]


@pytest.mark.parametrize(
    "text, match",
    [
        ("a.jpg\n", r"pairs.csv:1"),
        ("a,b,2\n", "label must be 0 or 1"),
        ("a,b,1\nc,d\n", "every row"),
        ("", "no pairs"),
    ],
)
def test_csv_errors(tmp_path, text, match):
    p = tmp_path / "pairs.csv"
    p.write_text(text)
    with pytest.raises(PairsError, match=match):
        read_pairs_csv(p)


def test_metrics_mark_unmeasurable_fars():
    rng = np.random.default_rng(0)
    scores = np.concatenate([rng.normal(1, 0.3, 50), rng.normal(0, 0.3, 50)])
    labels = np.concatenate([np.ones(50), np.zeros(50)])
    m = pair_metrics(scores, labels)
    assert m["pairs"] == 100 and m["genuine"] == m["impostor"] == 50
    assert 0 < m["eer"] < 0.2 and 0.9 < m["auc"] <= 1
    assert (
        m["tar_at_far"]["0.1"] is not None and m["tar_at_far"]["0.001"] is None
    )  # 50 impostors: FAR 1e-3 unmeasurable
    assert pair_metrics([0.1, 0.2], [1, 1])["eer"] is None


def test_far_option():
    assert parse_far("accuracy") is None and parse_far("1e-3") == 1e-3
    for bad in ("2", "x", "0"):
        with pytest.raises(argparse.ArgumentTypeError):
            parse_far(bad)
