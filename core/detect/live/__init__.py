"""Detection on live video: the per-frame step and headless loop (:mod:`~core.detect.live.loop`),
session recordings and snapshots into a WIDER split (:mod:`~core.detect.live.record`).
"""
