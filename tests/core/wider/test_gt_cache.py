"""The parsed-ground-truth cache: same arrays as parsing, keyed by the sources' bytes, never trusted blindly."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from matwriter import write_eval_tools

from core.wider.groundtruth import WiderGroundTruth, from_eval_tools, load_ground_truth
from core.wider.gt_cache import default_cache_dir


def _same(a: WiderGroundTruth, b: WiderGroundTruth) -> None:
    assert a.keys == b.keys and a.names == b.names and a.source == b.source
    assert a.integer_boxes == b.integer_boxes
    for field in ("offsets", "boxes", "attributes", "placeholder"):
        got, want = getattr(a, field), getattr(b, field)
        assert got.dtype == want.dtype and np.array_equal(got, want), field
    assert list(a.keep) == list(b.keep)
    for setting in a.keep:
        assert np.array_equal(a.keep[setting], b.keep[setting])


def _digests(folder) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_a_second_load_comes_from_the_cache_and_equals_the_parse(tmp_path, monkeypatch):
    gt_dir = write_eval_tools(tmp_path / "gt")
    before = _digests(gt_dir)
    first = load_ground_truth(gt_dir)
    assert len(list(default_cache_dir().glob("*.npz"))) == 1
    _same(first, from_eval_tools(gt_dir))

    def no_parse(_folder):
        raise AssertionError("parsed again although the sources did not change")

    monkeypatch.setattr("core.wider.groundtruth.from_eval_tools", no_parse)
    _same(load_ground_truth(gt_dir), first)
    assert _digests(gt_dir) == before, "the ground truth was written to"


def test_changed_sources_are_parsed_again(tmp_path):
    gt_dir = write_eval_tools(tmp_path / "gt")
    load_ground_truth(gt_dir)
    hard = gt_dir / "wider_hard_val.mat"
    (gt_dir / "wider_easy_val.mat").write_bytes(hard.read_bytes())  # easy now keeps what hard keeps
    reloaded = load_ground_truth(gt_dir)
    assert np.array_equal(reloaded.keep["easy"], reloaded.keep["hard"])
    assert len(list(default_cache_dir().glob("*.npz"))) == 2


@pytest.mark.parametrize("damage", ["truncate", "garbage", "inconsistent"])
def test_a_damaged_cache_file_is_ignored_and_rewritten(tmp_path, caplog, damage):
    gt_dir = write_eval_tools(tmp_path / "gt")
    parsed = load_ground_truth(gt_dir)
    (cache_file,) = default_cache_dir().glob("*.npz")
    if damage == "truncate":
        cache_file.write_bytes(cache_file.read_bytes()[:100])
    elif damage == "garbage":
        cache_file.write_bytes(b"not a zip file at all")
    else:  # a well-formed file whose arrays do not fit together
        arrays = parsed.to_arrays()
        arrays["offsets"] = arrays["offsets"][:-1]
        with open(cache_file, "wb") as handle:
            np.savez(handle, **arrays)
    with caplog.at_level("WARNING", logger="core.wider.gt_cache"):
        _same(load_ground_truth(gt_dir), parsed)
    assert "parsing the source again" in caplog.text
    with np.load(cache_file, allow_pickle=False) as data:  # rewritten whole
        _same(WiderGroundTruth.from_arrays({n: data[n] for n in data.files}), parsed)


def test_an_unwritable_cache_still_returns_the_ground_truth(tmp_path, monkeypatch, caplog):
    gt_dir = write_eval_tools(tmp_path / "gt")
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("x")
    monkeypatch.setattr("core.wider.gt_cache.default_cache_dir", lambda: blocker / "cache")
    with caplog.at_level("WARNING", logger="core.wider.gt_cache"):
        gt = load_ground_truth(gt_dir)
    _same(gt, from_eval_tools(gt_dir))
    assert "could not cache" in caplog.text
