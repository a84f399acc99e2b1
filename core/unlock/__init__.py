"""Face unlock: enrol a person from a camera or video, then decide frame by frame (docs/adr/0013-face-unlock.md).

:mod:`~core.unlock.templates` (signed template store), :mod:`~core.unlock.quality`
(enrolment gates), :mod:`~core.unlock.pipeline` (one frame, stage ms),
:mod:`~core.unlock.decision` (k of n, lockout), :mod:`~core.unlock.calibrate`
(thresholds at a FAR), :mod:`~core.unlock.enrol` / :mod:`~core.unlock.session`
(frame-by-frame objects for the GUI), :mod:`~core.unlock.runs` (whole videos for
the CLI and benches). Frames come from :mod:`core.io.video`.
"""
