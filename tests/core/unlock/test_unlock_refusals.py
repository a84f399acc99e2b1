"""The sentence that ends a short enrolment: reasons counted without their measurements."""

from __future__ import annotations

from core.io.video.source import SourceEvent
from core.unlock.refusals import RefusalTally, refusal_key, shortfall_message, stopped_source_message


def test_refusal_key_drops_measurements():
    assert refusal_key("Face too small (61 px, need 80 px): come closer.") == "Face too small"
    assert (
        refusal_key("Head turned 25° to the left (limit 20°): face the camera.") == "Head turned to the left"
    )
    assert refusal_key("Waiting a moment between captures.") == "Waiting a moment between captures"
    assert refusal_key("2 faces of similar size: only the person enrolling may be in view.") == (
        "faces of similar size"
    )


def test_shortfall_counts_frames_per_reason():
    tally = RefusalTally()
    tally.add(True, ())
    for px in (40, 50, 60):
        tally.add(False, (f"Face too small ({px} px, need 80 px): come closer.",))
    tally.add(False, ("Head turned 31° to the right (limit 20°): face the camera.",) * 2)
    text = shortfall_message("Video ended", 1, 5, tally)
    assert text == (
        "Video ended after 1 good frame of 5 needed, 5 frames checked. "
        "Most frequent refusals: Face too small (3 frames); Head turned to the right (1 frame)."
    )
    assert shortfall_message("Camera stopped", 0, 5, RefusalTally()).endswith(
        "0 good frames of 5 needed, 0 frames checked. No frame reached the face checks."
    )


def test_stopped_source_names_what_stopped():
    tally = RefusalTally()
    tally.add(False, ("No face found: look at the camera.",))
    lost = SourceEvent("error", "Camera 0 stopped delivering frames after 3 frames.", 3)
    assert stopped_source_message("camera", lost, 0, 5, tally) == (
        "Camera 0 stopped delivering frames after 3 frames. Enrolment stopped after 0 good frames of 5 "
        "needed, 1 frame checked. Most frequent refusals: No face found (1 frame)."
    )
    ended = SourceEvent("ended", "End of shots.", 3)
    assert stopped_source_message("images", ended, 2, 5, tally).startswith(
        "Image sequence ended after 2 good"
    )
    cut = SourceEvent(
        "ended", "clip.avi stopped at frame 7 of 40: the file is truncated or corrupt.", 7, truncated=True
    )
    assert stopped_source_message("file", cut, 2, 5, tally).startswith(
        "clip.avi stopped at frame 7 of 40: the file is truncated or corrupt. Video ended after 2"
    )
