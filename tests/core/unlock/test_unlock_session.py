"""Enrol person A from synthetic frames; A unlocks, B stays locked; gates explain rejected frames."""

from __future__ import annotations

import math

import numpy as np
import pytest

from core.detect.tracking import iou_matrix
from core.unlock.calibrate import load_calibration
from core.unlock.decision import DecisionEvent, DecisionRule, UnlockState
from core.unlock.pipeline import UnlockPipeline
from core.unlock.quality import ENROL_GATES
from core.unlock.session import STAGES, Enroller, NoTemplates, UnlockSession
from core.unlock.templates import TemplateStore
from tests.core.unlock.unlock_videos import frames

FPS = 10.0


@pytest.fixture(scope="module")
def pipeline():
    return UnlockPipeline().load()


@pytest.fixture(scope="module")
def calibration():
    return load_calibration()


@pytest.fixture(scope="module")
def ann_template(pipeline, calibration):
    enroller = Enroller(pipeline, n_frames=5, consistency=calibration.at_far(1e-2).threshold)
    outcomes = [enroller.process(img, i / FPS) for i, img in enumerate(frames("ann", 12, seed=1))]
    assert enroller.done, [o.reasons for o in outcomes]
    # frames 0.1 s apart, 0.2 s minimum gap: every other frame is taken
    assert [o.accepted for o in outcomes[:9]] == [True, False] * 4 + [True]
    assert "Waiting a moment" in outcomes[1].reasons[0]
    return enroller.template("ann")


def test_enrolled_template(ann_template, pipeline):
    t = ann_template
    assert t.frames == 5 and t.dream and t.model == pipeline.model_info
    assert np.all(np.abs(t.yaws) < 25)
    assert t.images == []  # no raw images without the opt-in
    assert float(t.mean @ t.embeddings.mean(0)) > 0.99


def test_a_is_accepted_b_is_rejected(pipeline, ann_template, calibration):
    op = calibration.at_far(1e-3)
    # A again: other moves, darker light, slightly smaller
    session = UnlockSession(pipeline, [ann_template], op)
    outs = [
        session.process(img, i / FPS)
        for i, img in enumerate(frames("ann", 4, seed=5, brightness=0.8, face_px=170))
    ]
    assert all(o.scored and o.accepted and o.score >= op.threshold for o in outs[:3])
    assert [o.state for o in outs[:3]] == [UnlockState.LOCKED, UnlockState.LOCKED, UnlockState.UNLOCKED]
    assert outs[2].event == DecisionEvent.UNLOCKED and outs[2].unlocked_user == "ann"
    for o in outs:
        assert set(STAGES) <= set(o.ms) and o.ms["total"] >= o.ms["detect"] and o.ms["embed"] > 0
        # a followed frame runs no detector, every other one does
        assert (o.ms["detect"] == 0) == o.followed and o.ms["landmarks"] > 0
        assert o.box is not None and o.box[3] - o.box[1] > 100
    assert not outs[0].followed and any(o.followed for o in outs)
    # B, C, D never unlock as A: every frame below the threshold
    for person in ("bea", "cat", "dee"):
        session = UnlockSession(pipeline, [ann_template], op)
        outs = [session.process(img, i / FPS) for i, img in enumerate(frames(person, 4, seed=2))]
        assert all(o.scored and not o.accepted for o in outs), (person, [o.score for o in outs])
        assert max(o.score for o in outs) < op.threshold
        assert outs[-1].state == UnlockState.LOCKED and "below the threshold" in outs[-1].reasons[0]


def test_multi_frame_rule_with_a_liveness_veto(pipeline, ann_template, calibration):
    """A 'liveness' check that fails on 2 of 4 frames: A needs 3 accepts of 5, so it unlocks only on the 5th."""
    verdicts = iter([True, False, True, False, True, True])

    class Live:
        def __init__(self, ok):
            self.passed = ok

    session = UnlockSession(
        pipeline, [ann_template], calibration.at_far(1e-3), DecisionRule(k=3, n=5),
        liveness=lambda image, box: Live(next(verdicts)),
    )  # fmt: skip
    outs = [session.process(img, i / FPS) for i, img in enumerate(frames("ann", 5, seed=3))]
    assert [o.accepted for o in outs] == [True, False, True, False, True]
    assert [o.state for o in outs].index(UnlockState.UNLOCKED) == 4
    assert "liveness" in outs[1].reasons[0] and "liveness" in outs[1].ms


def test_frames_without_a_usable_face_are_not_scored(pipeline, ann_template, calibration):
    session = UnlockSession(pipeline, [ann_template], calibration.at_far(1e-3))
    blank = np.full((480, 640, 3), 120, np.uint8)
    small = frames("ann", 1, face_px=50)[0]
    for img in (blank, small):
        o = session.process(img, 0.0)
        assert not o.scored and not o.accepted and math.isnan(o.score) and o.reasons
        assert o.ms["embed"] == 0.0
    assert "No face" in session.process(blank, 0.1).reasons[0]
    assert "too small" in session.process(small, 0.2).reasons[0]


def test_enrolment_gates_give_reasons(pipeline):
    enroller = Enroller(pipeline, n_frames=3)
    dark = frames("ann", 1, brightness=0.25)[0]
    blurred = frames("ann", 1, blur=4.0)[0]
    small = frames("ann", 1, face_px=80)[0]
    two = np.concatenate(
        [frames("ann", 1, face_px=150)[0][:, 80:400], frames("bea", 1, face_px=150)[0][:, 80:400]], 1
    )
    expect = {"dark": dark, "blur": blurred, "size": small, "faces": two}
    for gate, img in expect.items():
        o = enroller.process(img, 0.0)
        assert not o.accepted and gate in o.quality.failed, (gate, o.quality)
        assert o.reasons and all(r.endswith(".") for r in o.reasons)
    assert enroller.collected == 0
    assert ENROL_GATES.min_face_px == 100 and ENROL_GATES.max_abs_yaw == 25


def test_session_from_store(tmp_path, pipeline, ann_template):
    store = TemplateStore(tmp_path)
    with pytest.raises(NoTemplates):
        UnlockSession.from_store(store, pipeline=pipeline)
    store.save(ann_template)
    session = UnlockSession.from_store(store, far=1e-4, pipeline=pipeline)
    assert session.users == ["ann"] and session.operating_point.target_far == 1e-4
    assert session.operating_point.supported and session.operating_point.impostors > 1_000_000


def test_tracking_detects_near_the_last_face_and_falls_back_to_the_whole_frame(
    pipeline, ann_template, calibration
):
    session = UnlockSession(pipeline, [ann_template], calibration.at_far(1e-3), full_every=3)
    clip = frames("ann", 6, seed=4)
    outs = [session.process(img, i / FPS) for i, img in enumerate(clip)]
    # frame 0 whole frame; then tracked until full_every tracked frames in a row force a whole-frame pass
    assert [o.tracked for o in outs] == [False, True, True, True, False, True]
    assert all(o.accepted for o in outs)
    # the face jumps to the other side of the frame: the region finds nothing, the whole frame does
    moved = np.full_like(clip[0], 100)
    moved[:, :320] = clip[0][:, 160:480]
    o = session.process(moved, 0.7)
    assert o.scored and not o.tracked and o.box[2] < 330
    untracked = UnlockSession(pipeline, [ann_template], calibration.at_far(1e-3), tracking=False)
    assert not any(untracked.process(img, i / FPS).tracked for i, img in enumerate(clip[:3]))


def test_following_the_landmarks_scores_as_detecting_does(pipeline, ann_template, calibration):
    """Followed frames skip the detector; their boxes and scores stay those of detected frames."""
    op = calibration.at_far(1e-3)
    clip = frames("ann", 12, seed=7)
    followed = UnlockSession(pipeline, [ann_template], op)
    detected = UnlockSession(pipeline, [ann_template], op, follow=False)
    a = [followed.process(img, i / FPS) for i, img in enumerate(clip)]
    b = [detected.process(img, i / FPS) for i, img in enumerate(clip)]
    assert [o.followed for o in a] == [False] + [True] * 11
    assert not any(o.followed for o in b) and all(o.tracked for o in b[1:])
    for x, y in zip(a, b, strict=True):
        assert x.accepted and y.accepted
        assert abs(x.score - y.score) < 0.02
        assert iou_matrix([x.box], [y.box])[0, 0] > 0.75 and abs(x.yaw - y.yaw) < 5


def test_enrolment_refuses_a_different_person_midway(pipeline, calibration):
    enroller = Enroller.calibrated(pipeline, calibration, n_frames=3, min_gap_s=0.0)
    assert enroller.process(frames("ann", 1, seed=1)[0], 0.0).accepted
    o = enroller.process(frames("bea", 1, seed=1)[0], 0.1)
    assert not o.accepted and o.quality.ok and "differs from the frames already captured" in o.reasons[0]
    assert enroller.process(frames("ann", 2, seed=2)[1], 0.2).accepted and enroller.collected == 2


def test_pipeline_threads_apply_during_the_call_only(pipeline, monkeypatch):
    import torch

    seen = []
    original = pipeline._analyze
    monkeypatch.setattr(
        pipeline, "_analyze", lambda *a: (seen.append(torch.get_num_threads()), original(*a))[1]
    )
    before = torch.get_num_threads()
    pipeline.analyze(frames("ann", 1)[0], ENROL_GATES)
    assert seen == [pipeline.threads] == [1] and torch.get_num_threads() == before


def test_a_followed_face_that_leaves_reads_no_face_not_a_low_score(pipeline, ann_template, calibration):
    session = UnlockSession(pipeline, [ann_template], calibration.at_far(1e-3))
    clip = frames("ann", 3, seed=9)
    outs = [session.process(img, i / FPS) for i, img in enumerate(clip)]
    assert outs[-1].followed
    empty = np.full_like(clip[0], 110)
    o = session.process(empty, 0.2)
    assert not o.followed and not o.scored and o.reasons == ("No face found: look at the camera.",)
    back = session.process(clip[0], 0.3)
    assert back.scored and back.accepted and not back.followed  # found again by the detector
