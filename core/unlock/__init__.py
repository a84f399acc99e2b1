"""Video sources and live face pipelines (shared by the live Detection view and the unlock demo).

* :mod:`core.unlock.video`: frames, errors and the synchronous readers (camera
  index, video file, image sequence), camera listing.
* :mod:`core.unlock.video_source`: :class:`VideoSource`, a reader driven by its
  own thread where the newest frame wins (frames dropped, never queued), with
  pause / play / step / seek and end-of-stream / error events.
* :mod:`core.unlock.video_live`: detection (+ optional tracking) on the newest
  frame, rate meters, a headless live loop.
* :mod:`core.unlock.video_record`: session recordings (JSON lines per frame) and
  snapshots into a WIDER-format split.

Nothing here imports Qt: the GUI, the CLI, the benches and the tests drive the
same code.
"""
