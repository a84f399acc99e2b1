"""The two job pools: *fast* for short jobs, *long* for jobs that hold a thread for minutes or hours.

On one shared pool a training run, a batch or a live video would occupy the
threads that image decoding and single-image detection wait for, and the
workbench would stop answering clicks. So short jobs (decode, detect,
analyse, open, save) go to :attr:`JobPools.fast`; training, evaluation,
batches, data-set embedding and live-video frames go to :attr:`JobPools.long`.

Both pools report errors through one ``error`` signal and shut down together.
"""

from __future__ import annotations

import logging
import time

from PySide6.QtCore import QObject, Signal

from app.worker import Job, JobRunner

log = logging.getLogger(__name__)

#: Threads of each pool: two short jobs can overlap (decode while detecting), and two long ones
#: (a training run while a live video or an evaluation runs).
FAST_THREADS = 2
LONG_THREADS = 2


class JobPools(QObject):
    """The fast and the long :class:`JobRunner`, seen together by the main window.

    error(str name, object exception, str traceback): a job of either pool failed.
    busy_changed(int): jobs not yet finished in both pools together.
    """

    error = Signal(str, object, str)
    busy_changed = Signal(int)

    def __init__(
        self,
        fast_threads: int = FAST_THREADS,
        long_threads: int = LONG_THREADS,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.fast = JobRunner(max_threads=fast_threads, parent=self)
        self.long = JobRunner(max_threads=long_threads, parent=self)
        for runner in self.runners:
            runner.error.connect(self.error)
            runner.busy_changed.connect(lambda _count: self.busy_changed.emit(self.active_count))

    @property
    def runners(self) -> tuple[JobRunner, JobRunner]:
        return self.fast, self.long

    @property
    def active_count(self) -> int:
        return sum(runner.active_count for runner in self.runners)

    def active_jobs(self) -> list[Job]:
        return [job for runner in self.runners for job in runner.active_jobs()]

    def running_count(self) -> int:
        return sum(runner.running_count() for runner in self.runners)

    def cancel_all(self) -> None:
        for runner in self.runners:
            runner.cancel_all()

    def shutdown(self, timeout_s: float = 5.0) -> bool:
        """Cancel the jobs of both pools at once, then wait for both within ``timeout_s`` in all."""
        for runner in self.runners:
            runner.close()
        drained = self.wait(timeout_s)
        if not drained:
            log.warning("%d job(s) still running after %.1f s at shutdown", self.running_count(), timeout_s)
        return drained

    def wait(self, timeout_s: float = 30.0) -> bool:
        """Block until both pools are idle, ``timeout_s`` in all. True when they are."""
        deadline = time.monotonic() + timeout_s
        drained = True
        for runner in self.runners:
            drained = runner.wait(max(0.0, deadline - time.monotonic())) and drained
        return drained
