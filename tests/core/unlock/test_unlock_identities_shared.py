"""Enrol real people from identities_dev train photos; their other photos unlock, other people do not."""

from __future__ import annotations

import pytest

from core.detect.registry import create_detector
from core.io.imageio import load_image
from core.paths import SHARED_DIR
from core.unlock.calibrate import load_calibration
from core.unlock.decision import UnlockState
from core.unlock.pipeline import UnlockPipeline
from core.unlock.session import Enroller, UnlockSession
from tests.core.unlock.unlock_videos import jitter, webcam_frame

pytestmark = pytest.mark.shared_data

ROOT = SHARED_DIR / "data" / "identities_dev"
EXAMPLES = ROOT / "face_recognition" / "examples"


@pytest.fixture(scope="module")
def setup():
    finder = create_detector("centerface", max_side=1280, min_score=0.5)
    pipeline = UnlockPipeline().load()
    templates = []
    for person in ("obama", "biden"):
        photos = sorted((EXAMPLES / "knn_examples" / "train" / person).iterdir())
        framed = [webcam_frame(load_image(p), finder) for p in photos]
        enroller = Enroller(pipeline, n_frames=5, min_gap_s=0.0)
        for k in range(20):
            enroller.process(jitter(framed[k % len(framed)], k, 1), k / 10)
            if enroller.done:
                break
        assert enroller.done, person
        templates.append(enroller.template(person))
    return finder, pipeline, templates


def clip_decision(setup, path, far=1e-3, frames=6):
    finder, pipeline, templates = setup
    session = UnlockSession(pipeline, templates, load_calibration().at_far(far))
    base = webcam_frame(load_image(path), finder)
    outs = [session.process(jitter(base, k, 7), k / 25) for k in range(frames)]
    return outs, session.state


@pytest.mark.parametrize("name", ["knn_examples/test/obama1.jpg", "obama-480p.jpg"])
def test_genuine_photo_unlocks_as_its_owner(setup, name):
    outs, state = clip_decision(setup, EXAMPLES / name)
    assert state == UnlockState.UNLOCKED
    assert next(o for o in outs if o.event is not None).unlocked_user == "obama"


@pytest.mark.parametrize(
    "path",
    [
        EXAMPLES / "lin-manuel-miranda.png",
        EXAMPLES / "knn_examples" / "test" / "alex_lacamoire1.jpg",
        ROOT / "facenet_pytorch" / "data" / "test_images" / "paul_rudd" / "1.jpg",
        ROOT / "lfw_pairs" / "data" / "images" / "Anthony_Hopkins_0001.jpg",
    ],
    ids=lambda p: p.stem if p.stem != "1" else p.parent.name,
)
def test_other_people_stay_locked(setup, path):
    outs, state = clip_decision(setup, path)
    assert state == UnlockState.LOCKED
    assert not any(o.accepted for o in outs) and any(o.scored for o in outs)
