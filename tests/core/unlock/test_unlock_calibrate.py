"""Unlock thresholds: the template-mean protocol, operating points from the user's pairs, the shipped file."""

from __future__ import annotations

import json

import numpy as np
import pytest

from core.unlock.calibrate import (
    CALIBRATION_FILE,
    FARS,
    CalibrationError,
    calibrate_embeddings,
    calibrate_scores,
    load_calibration,
    template_protocol_scores,
)


def clustered(ids: int, per_id: int, spread: float, seed: int = 0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(ids, 128))
    emb = np.concatenate([c + spread * rng.normal(size=(per_id, 128)) for c in centres])
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    return emb.astype(np.float32), np.repeat(np.arange(ids), per_id)


def test_template_protocol_counts_and_separation():
    emb, ids = clustered(ids=20, per_id=8, spread=0.3)
    genuine, impostor, counts = template_protocol_scores(emb, ids, enrol=5)
    assert counts == {"templates": 20, "images": 160, "genuine": 20 * 3, "impostor": 20 * 19 * 8}
    assert genuine.min() > impostor.max()  # well separated clusters
    # identities with too few images give no template but still serve as impostor probes
    emb2, ids2 = emb[:-4], ids[:-4]  # the last identity keeps 4 images
    _, imp2, c2 = template_protocol_scores(emb2, ids2, enrol=5)
    # 152 images of templated identities x 18 other templates + 4 images x 19 templates
    assert c2["templates"] == 19 and c2["impostor"] == 152 * 18 + 4 * 19 == len(imp2)
    with pytest.raises(CalibrationError):
        template_protocol_scores(emb[:8], ids[:8], enrol=8)


def test_user_calibration_reports_support():
    rng = np.random.default_rng(1)
    impostor = rng.normal(0.8, 0.03, 500)
    genuine = rng.normal(0.97, 0.01, 50)
    cal = calibrate_scores(impostor, genuine)
    op = cal.at_far(1e-2)
    assert op.impostors == 500 and op.false_accepts <= 5 and not op.supported  # 5 expected < 10 wanted
    assert op.threshold > np.sort(impostor)[-6] and op.tar > 0.9
    assert "only 500 impostor pairs" in cal.warning(1e-2)
    big = calibrate_scores(rng.normal(0.8, 0.03, 20_000))
    assert big.warning(1e-3) is None and big.at_far(1e-3).supported
    with pytest.raises(CalibrationError, match="available: 0.01, 0.001, 0.0001"):
        cal.at_far(0.05)
    with pytest.raises(CalibrationError):
        calibrate_scores(np.array([np.nan]))


def test_calibrate_embeddings_and_round_trip(tmp_path):
    emb, ids = clustered(ids=30, per_id=7, spread=0.4, seed=2)
    cal = calibrate_embeddings(emb, ids, mode="stem", provenance={"who": "test"})
    assert [op.target_far for op in cal.points["stem"]] == list(FARS)
    assert cal.provenance["who"] == "test" and cal.provenance["templates"] == 30
    path = cal.save(tmp_path / "cal.json")
    back = load_calibration(path)
    a, b = back.at_far(1e-3, "stem"), cal.at_far(1e-3, "stem")
    assert a.threshold == pytest.approx(b.threshold, abs=1e-6) and a.impostors == b.impostors
    assert a.false_accepts == b.false_accepts and a.supported == b.supported
    (tmp_path / "bad.json").write_text(json.dumps({"format": "nope"}))
    with pytest.raises(CalibrationError, match="bad.json"):
        load_calibration(tmp_path / "bad.json")
    with pytest.raises(CalibrationError, match="calibrate_unlock.py"):
        load_calibration(tmp_path / "missing.json")


def test_shipped_calibration_is_derived_numbers_with_provenance():
    cal = load_calibration()
    raw = CALIBRATION_FILE.read_text()
    assert len(raw) < 10_000  # thresholds and counts only, no data
    for mode in ("dream", "stem"):
        thresholds = [cal.at_far(f, mode).threshold for f in FARS]
        assert thresholds == sorted(thresholds)  # lower FAR, higher threshold
        for far in FARS:
            op = cal.at_far(far, mode)
            assert op.supported and op.impostors > 1_000_000 and 0.5 < op.threshold < 1.0
            assert op.false_accepts <= far * op.impostors
    assert "CFP" in cal.provenance["data"] and cal.provenance["tool"].startswith("python tools/")


def test_thresholds_made_for_another_model_are_refused():
    import dataclasses

    from core.recognize.stems import STEMS
    from core.unlock.template_data import current_model_info

    cal = load_calibration()
    for stem, dream in (("faceapi", True), ("faceapi", False), ("faceres", True), ("faceres", False)):
        cal.check_made_for(stem, current_model_info(dream, stem))  # the shipped file fits the shipped models
    faceres = current_model_info(True, "faceres")
    # faceres's block retrained without recalibrating unlock
    with pytest.raises(CalibrationError, match="other dream_faceres weights.*calibrate_unlock.py"):
        cal.check_made_for("faceres", dataclasses.replace(faceres, dream_sha256="0" * 64))
    # a file from before the views (it names faceres's weights but no views)
    old = dataclasses.replace(cal, provenance={k: v for k, v in cal.provenance.items() if k != "views"})
    with pytest.raises(CalibrationError, match="views one chip, but it now uses 1\\+1m"):
        old.check_made_for("faceres", faceres)
    old.check_made_for("faceapi", current_model_info(True, "faceapi"))  # face-api's modes are unaffected
    # thresholds made by hand (no weights named) are the caller's business
    hand = dataclasses.replace(cal, provenance={})
    hand.check_made_for("faceres", dataclasses.replace(faceres, descriptor_sha256="1" * 64))
    assert STEMS["faceres"].views and cal.provenance["views"] == {"faceres": STEMS["faceres"].views}
