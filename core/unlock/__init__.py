"""Video sources and live face pipelines (shared by the live Detection view and the unlock demo).

* :mod:`core.io.video.reader`: frames, errors and the synchronous readers (camera
  index, video file, image sequence), camera listing.
* :mod:`core.io.video.source`: :class:`VideoSource`, a reader driven by its
  own thread where the newest frame wins (frames dropped, never queued), with
  pause / play / step / seek and end-of-stream / error events.
* :mod:`core.detect.live.loop`: detection (+ optional tracking) on the newest
  frame, rate meters, a headless live loop.
* :mod:`core.detect.live.record`: session recordings (JSON lines per frame) and
  snapshots into a WIDER-format split.

Face unlock (issue 8, ``docs/adr/0013-face-unlock.md``): :mod:`~core.unlock.templates`
(signed template store), :mod:`~core.unlock.quality` (enrolment gates),
:mod:`~core.unlock.pipeline` (one frame, stage ms), :mod:`~core.unlock.decision`
(k of n, lockout), :mod:`~core.unlock.calibrate` (thresholds at a FAR),
:mod:`~core.unlock.enrol` / :mod:`~core.unlock.session` (frame-by-frame objects for
the GUI), :mod:`~core.unlock.runs` (whole videos for the CLI and benches).

Nothing here imports Qt: the GUI, the CLI, the benches and the tests drive the
same code.
"""
