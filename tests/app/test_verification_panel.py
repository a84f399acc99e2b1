"""Verification panel: compare two faces of an image and two images, CFP evaluation, ROC and gallery."""

from __future__ import annotations

from app.main_window import MainWindow
from app.settings import Keys
from core.cfp.features import default_cache_dir
from core.paths import SAMPLES_DIR
from tests.core.dream.cfp_fixture import make_cfp


def _faceapi(panel):
    """These checks use face-api's stem (its 128-d descriptor and dlib chip)."""
    panel.stem_box.setCurrentIndex(panel.stem_box.findData("faceapi"))
    return panel


def _open(qtbot, window, path):
    window.open_paths([path])
    qtbot.waitUntil(
        lambda: window.workbench.current is not None and window.workbench.current.path == path, timeout=5000
    )


def test_two_faces_of_the_current_image_and_two_images(qtbot, window):
    panel = _faceapi(window.panel("verification"))
    assert panel is not None and not panel.isVisible()  # starts hidden, in the View menu
    sample = SAMPLES_DIR / "faceapi_demo_1.jpg"
    _open(qtbot, window, sample)
    panel.source_faces.setChecked(True)  # finds the faces of the current image
    qtbot.waitUntil(lambda: panel.faces is not None, timeout=60000)
    assert len(panel.faces.sides) >= 3 and panel.face_a.count() == len(panel.faces.sides)
    assert panel.face_b.currentIndex() == 1
    panel.operating_point.setCurrentIndex(
        3
    )  # FAR 1e-4: face-api scores these two women 0.91, above FAR 1e-2's cut
    panel.start_compare()
    qtbot.waitUntil(lambda: panel.comparison is not None and panel.compare_button.isEnabled(), timeout=30000)
    c = panel.comparison
    assert c.with_dream.bucket == "FF" and abs(c.with_dream.a.yaw.yaw) < 35
    assert c.with_dream.score_dream < c.with_dream.result.threshold  # two different women
    assert panel.decision.text() == "DIFFERENT"
    assert "cosine without DREAM" in panel.scores.text() and "FF pair" in panel.scores.text()
    # the score against the threshold on the bar, with the bucket and its error rates
    r = c.with_dream.result
    bar = panel.score_bar
    assert not bar.isHidden() and (bar.score, bar.threshold) == (r.score, r.threshold)
    assert bar.x_of(r.score) < bar.x_of(r.threshold)  # left of the mark: rejected
    evidence = panel.evidence.text()
    assert f"{r.score:.3f} < threshold {r.threshold:.3f}, FF bucket, FRR " in evidence
    assert evidence.endswith("at FAR 0.01 %)")
    # at FAR 1e-2 the same pair is accepted next to the threshold: a neighbouring point disagrees
    panel.operating_point.setCurrentIndex(1)
    assert panel.decision.text() == "SAME PERSON (borderline)", panel.evidence.text()
    assert panel.evidence.text().startswith("SAME PERSON (borderline: ")
    assert panel.evidence.text().endswith("FF bucket, FRR 1.6 % at FAR 1 %)")
    bar.resize(300, 40)
    picture = bar.grab().toImage()
    amber = picture.pixelColor(round(bar.x_of(sum(bar.band) / 2)), 10)
    assert (amber.red(), amber.green(), amber.blue()) == (230, 170, 40)  # the borderline band is drawn
    assert not panel.chip_labels[0].pixmap().isNull() and "gate" in panel.face_texts[0].text()
    assert c.chips[0].chip.shape == (150, 150, 3) and c.chips[0].points.shape == (68, 2)

    # the same image twice: one person, accepted; switching the operating point re-decides without models
    panel.source_images.setChecked(True)
    panel.path_a.setText(str(sample))
    panel.path_b.setText(str(sample))
    panel.operating_point.setCurrentIndex(1)  # FAR 1e-2
    panel.start_compare()
    qtbot.waitUntil(lambda: panel.comparison is not c and panel.compare_button.isEnabled(), timeout=30000)
    assert panel.comparison.with_dream.score_stem > 0.999 and panel.decision.text() == "SAME PERSON"
    strict = panel.comparison.with_dream.result.threshold
    panel.operating_point.setCurrentIndex(3)  # FAR 1e-4
    assert panel.comparison.with_dream.result.threshold > strict
    panel.dream_box.setChecked(False)
    assert "without DREAM" in panel.scores.text()


def test_bad_image_reports_an_error(qtbot, window, tmp_path):
    panel = window.panel("verification")
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"not an image")
    panel.path_a.setText(str(bad))
    panel.path_b.setText(str(bad))
    panel.start_compare()
    qtbot.waitUntil(lambda: "failed" in panel.pair_status.text(), timeout=10000)
    assert panel.compare_button.isEnabled()
    window.error_dialog.hide()


def test_cfp_evaluation_roc_and_gallery(qtbot, window, tmp_path):
    panel = _faceapi(window.panel("verification"))
    view = panel.cfp
    root = tmp_path / "cfp"
    make_cfp(root, folds=2, cache_dir=default_cache_dir())  # features pre-cached: no model runs
    view.cfp_root.setText(str(root))
    view.protocol_box.setCurrentText("FP")
    view.start_cfp()
    qtbot.waitUntil(lambda: view.cfp_run is not None and view.cfp_button.isEnabled(), timeout=30000)
    run = view.cfp_run
    assert set(run.results) == {"stem", "dream"} and len(run.results["dream"].folds) == 2
    assert "with DREAM" in view.cfp_summary.text() and "EER" in view.cfp_summary.text()
    assert len(view.roc_plot.listDataItems()) == 3  # two ROC curves and the chance line
    assert not view.progress.isVisible()
    kinds = {k: len(v) for k, v in run.gallery.items()}
    assert set(kinds) == {("stem", "fa"), ("stem", "fr"), ("dream", "fa"), ("dream", "fr")}
    assert view.gallery.count() == kinds[("dream", "fa")]
    view.gallery_kind.setCurrentIndex(1)
    assert view.gallery.count() == kinds[("dream", "fr")] > 0
    pair = run.gallery[("dream", "fr")][0]
    assert pair.label == 1 and pair.score < pair.threshold and pair.thumb_a.shape == (96, 96, 3)
    # activating a gallery pair puts its two images into the pair fields and compares them
    view.gallery.itemActivated.emit(view.gallery.item(0))
    assert panel.path_a.text() == str(root / pair.key_a) and panel.path_b.text() == str(root / pair.key_b)
    qtbot.waitUntil(lambda: panel.compare_button.isEnabled(), timeout=30000)


def test_cfp_evaluation_bad_root(qtbot, window, tmp_path):
    view = window.panel("verification").cfp
    view.cfp_root.setText(str(tmp_path / "nowhere"))
    view.start_cfp()
    qtbot.waitUntil(
        lambda: "failed" in view.cfp_summary.text() and view.cfp_button.isEnabled(), timeout=10000
    )
    window.error_dialog.hide()


def test_stem_choice_is_remembered_and_faceres_decides_with_its_dream_block(qtbot, window, settings):
    panel = window.panel("verification")
    assert panel.stem_box.currentData() == "faceres"  # the default: best on CFP dev folds 1-8
    _faceapi(panel)
    assert settings.get(Keys.VERIFICATION_STEM) == "faceapi" and panel.dream_box.isEnabled()
    panel.stem_box.setCurrentIndex(panel.stem_box.findData("faceres"))
    assert settings.get(Keys.VERIFICATION_STEM) == "faceres" and panel.dream_box.isEnabled()
    sample = SAMPLES_DIR / "faceapi_demo_1.jpg"
    panel.path_a.setText(str(sample))
    panel.path_b.setText(str(sample))
    panel.start_compare()
    qtbot.waitUntil(lambda: panel.comparison is not None and panel.compare_button.isEnabled(), timeout=30000)
    c = panel.comparison
    assert c.with_dream.mode == "dream" and c.chips[0].chip.shape == (224, 224, 3)
    assert c.with_dream.a.dream.shape == (1024,) and c.with_dream.score_dream > 0.999
    assert panel.decision.text() == "SAME PERSON" and "cosine without DREAM" in panel.scores.text()
    assert "faceres stem" in panel.scores.text() and "with DREAM" in panel.scores.text()
    # a new window opens with the stem chosen last
    settings.set(Keys.VERIFICATION_STEM, "faceapi")
    again = MainWindow(settings)
    qtbot.addWidget(again)
    assert again.panel("verification").stem_box.currentData() == "faceapi"
    assert again.panel("verification").verifier.stem == "faceapi"
    again.close()
