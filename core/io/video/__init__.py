"""Video input shared by live detection, batch and face unlock.

* :mod:`~core.io.video.reader`: frames, errors and the synchronous readers (camera
  index, video file, image sequence), camera listing.
* :mod:`~core.io.video.source`: :class:`~core.io.video.source.VideoSource`, a reader
  driven by its own thread where the newest frame wins (frames dropped, never
  queued), with pause / play / step / seek and end-of-stream / error events.
* :mod:`~core.io.video.rate`: capture, display and inference rates, stage times.
"""
