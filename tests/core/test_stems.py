"""The stem choice: the table, 5-point alignment onto the scaled ArcFace template, calibration and refusals."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from core.errors import UserError
from core.models.faceres import FaceResNet
from core.recognize.align import ARCFACE_112, landmarks68_to_5, transform_points
from core.recognize.faceres_embedder import alignment_points, faceres_chip, faceres_template
from core.recognize.stem_calibration import NoDreamError, StemOnlyMapper, calibration_path, mapper_for_stem
from core.recognize.stems import DEFAULT_STEM, STEMS, stem_spec
from core.unlock.template_data import current_model_info, stem_of_model_id
from core.unlock.templates import TemplateModelMismatch, TemplateStore, UserTemplate
from core.zoo.weights import WeightsError


def test_unknown_stem_is_a_user_error_naming_the_choices() -> None:
    with pytest.raises(UserError, match="faceres, faceapi"):
        stem_spec("arcface")
    assert DEFAULT_STEM in STEMS and stem_spec("faceres").dim == FaceResNet.DIM


@pytest.mark.parametrize("looseness", [1.0, 1.4])
def test_alignment_lands_the_points_on_the_scaled_template(looseness: float) -> None:
    rng = np.random.default_rng(3)
    image = rng.integers(0, 255, (300, 260, 3), dtype=np.uint8)
    # a tilted, shifted, scaled copy of the template: an exact similarity exists
    angle, scale, shift = np.deg2rad(17.0), 1.7, np.array([40.0, 25.0])
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    points = ARCFACE_112 @ rot.T * scale + shift
    aligned = faceres_chip(image, points, looseness)
    expected = faceres_template(looseness) * (224 / 112)
    np.testing.assert_allclose(transform_points(aligned.matrix, points), expected, atol=1e-6)
    np.testing.assert_allclose(aligned.points, expected, atol=1e-6)
    assert aligned.chip.shape == (224, 224, 3)
    # looser = the eyes closer to the centre by the looseness factor
    centre = np.array([112.0, 112.0])
    ratio = np.linalg.norm(expected[0] - centre) / np.linalg.norm(ARCFACE_112[0] * 2 - centre)
    assert ratio == pytest.approx(1 / looseness)


def test_alignment_points_fall_back_to_the_68_landmarks() -> None:
    landmarks = np.random.default_rng(0).uniform(0, 100, (68, 2))
    detector = np.arange(10.0).reshape(5, 2)
    np.testing.assert_array_equal(alignment_points(detector, landmarks), detector)
    np.testing.assert_array_equal(
        alignment_points(np.full((5, 2), np.nan), landmarks), landmarks68_to_5(landmarks)
    )
    np.testing.assert_array_equal(
        alignment_points(detector, landmarks, "landmarks68"), landmarks68_to_5(landmarks)
    )


def test_faceres_calibration_is_shipped_for_the_bundled_weights() -> None:
    mapper = StemOnlyMapper("faceres")
    for bucket in ("FF", "FP"):
        cal = mapper.thresholds("stem", bucket)
        assert -1 < cal.accuracy_threshold < 1 and [op.target_far for op in cal.operating_points][-1] == 1e-4
    with pytest.raises(NoDreamError, match="no DREAM block"):
        mapper.thresholds("dream", "FF")
    raw = np.array([[3.0, 4.0] + [0.0] * 1022], np.float32)
    np.testing.assert_allclose(mapper.map(raw, np.array([80.0]))[0, :2], [0.6, 0.8])
    assert json.loads(calibration_path("faceres").read_text())["train_folds"] == "1-8"


def test_calibration_of_other_weights_is_refused(tmp_path, monkeypatch) -> None:
    data = json.loads(calibration_path("faceres").read_text())
    data["weights_sha256"] = "0" * 64
    (tmp_path / "faceres_calibration.json").write_text(json.dumps(data))
    monkeypatch.setattr("core.recognize.stem_calibration.MODELS_DIR", tmp_path)
    with pytest.raises(WeightsError, match="calibrated on other weights"):
        StemOnlyMapper("faceres")


def test_calibration_or_block_of_other_views_is_refused(tmp_path, monkeypatch) -> None:
    data = json.loads(calibration_path("faceres").read_text())
    assert data["views"] == stem_spec("faceres").views
    data["views"] = ""  # made on the single ArcFace chip
    (tmp_path / "faceres_calibration.json").write_text(json.dumps(data))
    monkeypatch.setattr("core.recognize.stem_calibration.MODELS_DIR", tmp_path)
    with pytest.raises(WeightsError, match="views one chip.*tools/calibrate_stem.py --stem faceres"):
        StemOnlyMapper("faceres")
    # the shipped block names the stem's views; a stem seen through others refuses it
    assert mapper_for_stem("faceres").meta["views"] == stem_spec("faceres").views
    monkeypatch.setitem(STEMS, "faceres", dataclasses.replace(STEMS["faceres"], views="1"))
    with pytest.raises(WeightsError, match=r"views 1\+1m\+1.3\+1.3m.*export_dream.py --stem faceres"):
        mapper_for_stem("faceres")


def test_a_store_enrolled_with_other_views_is_refused(tmp_path, monkeypatch) -> None:
    four = current_model_info(False, "faceres")
    monkeypatch.setitem(STEMS, "faceres", dataclasses.replace(STEMS["faceres"], views=""))
    one = current_model_info(False, "faceres")
    assert one.model_id.startswith("faceres@") and one.descriptor_sha256 == four.descriptor_sha256
    store = TemplateStore(tmp_path)
    store.save(UserTemplate(name="Ann", embeddings=np.ones((3, 1024)), model=one, dream=False))
    good, bad = store.load_all(four)
    assert not good and isinstance(bad[0], TemplateModelMismatch) and "enrol 'Ann' again" in str(bad[0])


def test_a_store_enrolled_with_one_stem_refuses_another(tmp_path) -> None:
    faceapi, faceres = current_model_info(True, "faceapi"), current_model_info(False, "faceres")
    assert faceapi.model_id.startswith("faceapi_face_recognition@") and "+dream_faceapi@" in faceapi.model_id
    assert faceres.model_id.startswith("faceres[1+1m+1.3+1.3m]@") and "dream" not in faceres.model_id
    assert "+dream_faceres@" in current_model_info(True, "faceres").model_id
    assert stem_of_model_id(faceres.model_id) == "faceres" and stem_of_model_id(faceapi.model_id) == "faceapi"
    assert stem_of_model_id("someone_elses_net@0123") == "?"
    store = TemplateStore(tmp_path)
    rng = np.random.default_rng(1)
    store.save(UserTemplate(name="Ann", embeddings=rng.normal(size=(3, 128)), model=faceapi, dream=True))
    store.save(UserTemplate(name="Bea", embeddings=rng.normal(size=(3, 1024)), model=faceres, dream=False))
    good, bad = store.load_all(faceres)
    assert [t.name for t in good] == ["Bea"] and good[0].embeddings.shape == (3, 1024)
    assert isinstance(bad[0], TemplateModelMismatch) and "enrol 'Ann' again" in str(bad[0])
    assert [t.name for t in store.load_all(faceapi)[0]] == ["Ann"]


def test_verifier_refuses_dream_on_a_stem_without_it(monkeypatch) -> None:
    from core.recognize.verify import Verifier

    assert Verifier(stem="faceres").has_dream  # faceres ships its DREAM block
    # a stem without a block (faceres as it was before its block shipped) is verified without DREAM
    monkeypatch.setitem(STEMS, "faceres", dataclasses.replace(STEMS["faceres"], dream_weights=""))
    verifier = Verifier(stem="faceres")
    assert not verifier.has_dream
    with pytest.raises(NoDreamError):
        verifier.compare(None, None, use_dream=True)  # refused before any face is looked at


def test_verify_command_takes_the_stem(capsys, caplog) -> None:
    from core.cli import run_cli
    from core.paths import SAMPLES_DIR

    sample = str(SAMPLES_DIR / "faceapi_demo_2.jpg")
    assert run_cli(["verify", sample, sample, "--stem", "faceres", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["accepted"] and doc["score"] > 0.999 and doc["dream"] is True  # auto: faceres has DREAM
    assert run_cli(["verify", sample, sample, "--stem", "faceres", "--dream", "off", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["dream"] is False
    assert "Traceback" not in caplog.text


def test_stem_caches_are_keyed_by_the_views(tmp_path) -> None:
    from core.cfp.stem_features import stem_cache_path
    from core.recognize.faceres_embedder import FaceResEmbedder, parse_views

    def key(**kwargs) -> str:
        return stem_cache_path(tmp_path, FaceResEmbedder(**kwargs), "detector", tmp_path).name

    # one plain chip keeps the key single-chip caches always had; any other set of views gets its own
    assert key(looseness=1.0) == key(views=parse_views("1")) != key(looseness=1.3)
    assert len({key(), key(views=parse_views("1+1m")), key(looseness=1.0)}) == 3
