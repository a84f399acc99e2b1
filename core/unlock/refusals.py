"""Why an enrolment fell short: refused frames counted by reason, and the one sentence that says so.

The CLI (:func:`core.unlock.runs.enrol_video`) and the GUI's unlock controller
both feed :class:`RefusalTally` with every enrolment outcome and end a short
enrolment with :func:`shortfall_message`, so both say the same thing about the
same video ("Video ended after 1 good frame of 5 needed, 14 frames checked.
Most frequent refusals: Face too small (9 frames); ..."). Torch-free: the GUI
imports it at start-up.
"""

from __future__ import annotations

import collections
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from core.io.video.source import SourceEvent

#: Numbers (with an optional degree sign) inside a gate sentence: "Head turned 25° to the left".
_NUMBER = re.compile(r"\s*\d+(?:\.\d+)?°?")


def refusal_key(reason: str) -> str:
    """A gate sentence without its measurements, so that frames refused for the same reason count together.

    ``"Face too small (61 px, need 80 px): come closer."`` → ``"Face too small"``;
    ``"Head turned 25° to the left (limit 20°): face the camera."`` → ``"Head turned to the left"``.
    """
    head = reason.split(" (")[0].split(":")[0]
    return _NUMBER.sub("", head).strip().rstrip(".").strip()


@dataclass
class RefusalTally:
    """Refusal reasons of the frames an enrolment did not accept, counted by :func:`refusal_key`.

    checked: frames that went through the gates (accepted or not).
    """

    checked: int = 0
    counts: collections.Counter[str] = field(default_factory=collections.Counter)

    def add(self, accepted: bool, reasons: Iterable[str]) -> None:
        """One enrolment outcome (``EnrolOutcome.accepted`` and ``.reasons``)."""
        self.checked += 1
        if not accepted:
            for key in dict.fromkeys(refusal_key(r) for r in reasons):  # one count per frame and reason
                self.counts[key] += 1

    def top(self, limit: int = 3) -> list[tuple[str, int]]:
        """The most frequent reasons, most frequent first: ``[(reason, frames), ...]``."""
        return self.counts.most_common(limit)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def shortfall_message(ending: str, collected: int, needed: int, tally: RefusalTally, limit: int = 3) -> str:
    """The sentence that ends an enrolment without enough good frames.

    ending: what stopped it, capitalised ("Video ended", "Camera lost", "Stopped at the frame limit").
    """
    text = (
        f"{ending} after {_plural(collected, 'good frame')} of {needed} needed, "
        f"{_plural(tally.checked, 'frame')} checked."
    )
    top = tally.top(limit)
    if top:
        text += " Most frequent refusals: " + "; ".join(f"{r} ({_plural(n, 'frame')})" for r, n in top) + "."
    elif tally.checked == 0:
        text += " No frame reached the face checks."
    return text


def stopped_source_message(
    source_kind: str, event: SourceEvent, collected: int, needed: int, tally: RefusalTally
) -> str:
    """The shortfall when a video source stopped first (``source_kind``: its reader's ``kind``)."""
    if event.kind == "error":  # a lost camera, an unreadable file: its own words first
        return f"{event.message} " + shortfall_message("Enrolment stopped", collected, needed, tally)
    ending = {"camera": "Camera stopped", "images": "Image sequence ended"}.get(source_kind, "Video ended")
    prefix = f"{event.message} " if event.truncated else ""
    return prefix + shortfall_message(ending, collected, needed, tally)
