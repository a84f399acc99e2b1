"""Autosave: a short debounce after each change, the writes on the worker, one error at a time.

The save plan is captured on the GUI thread (fast: see
:meth:`AnnotationSplit.prepare_save`) and written by a job, so a 40,000-face
split never stalls the canvas. One save runs at a time; changes during a save
schedule the next one. A failed save keeps the last good file (atomic
replace), reports *one* error through the runner's error handler and then only
updates the status text until a save succeeds again. Every change is already
in the fsync'ed journal, so a failed or pending save loses nothing.
"""

from __future__ import annotations

import logging
import time

from PySide6.QtCore import QObject, QTimer, Signal

from app.worker import Job, JobRunner
from core.annotate.saving import SavePlan, write_plan
from core.annotate.split import AnnotationSplit

log = logging.getLogger(__name__)

DEBOUNCE_MS = 1000
RETRY_MS = 10_000


def _write(plan: SavePlan) -> OSError | None:  # pool thread
    try:
        write_plan(plan)
    except OSError as exc:
        return exc
    return None


class Autosaver(QObject):
    """status(str): "saved", "unsaved changes", "saving…" or "save failed: …"."""

    status = Signal(str)
    saved = Signal()

    def __init__(self, runner: JobRunner, delay_ms: int = DEBOUNCE_MS, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.runner = runner
        self.split: AnnotationSplit | None = None
        self.error: str | None = None
        self._job: Job | None = None
        self._plan: SavePlan | None = None  # the save in flight; a result for another plan is stale
        self._again = False
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(delay_ms)
        self._timer.timeout.connect(self.save_now)

    def set_split(self, split: AnnotationSplit | None) -> None:
        self.flush()
        self.split = split
        self.error = None

    def changed(self) -> None:
        """An edit happened: (re)start the debounce."""
        if self.error is None:
            self.status.emit("unsaved changes")
        self._timer.start()

    @property
    def busy(self) -> bool:
        return self._job is not None

    def save_now(self) -> None:
        """Start a background save now (or right after the running one)."""
        self._timer.stop()
        split = self.split
        if split is None or not split.editable:
            return
        if self._job is not None:
            self._again = True
            return
        plan = split.prepare_save()
        if plan is None:
            return
        self.status.emit("saving…")
        self._plan = plan
        self._job = self.runner.submit(
            _write,
            plan,
            name=f"autosave {plan.label_path.name}",
            on_result=lambda outcome, p=plan, s=split: self._done(s, p, outcome),
            on_finished=self._finished,
        )

    def _done(self, split: AnnotationSplit, plan: SavePlan, outcome: OSError | None) -> None:
        if plan is not self._plan or split is not self.split:
            return  # superseded by a synchronous flush (which wrote a newer state)
        self._plan = None
        if outcome is not None:
            self._failed(plan, outcome)
            return
        split.finish_save(plan)
        if split is self.split:
            if self.error is not None:
                log.info("autosave works again: %s", plan.label_path)
            self.error = None
            self.status.emit("unsaved changes" if split.dirty else "saved")
            self.saved.emit()

    def _failed(self, plan: SavePlan, exc: OSError) -> None:
        message = f"{plan.label_path.name}: {exc.strerror or exc} — the last good file is kept"
        first = self.error is None
        self.error = message
        self.status.emit(f"save failed: {message}")
        if first:  # one dialog per failure streak, not one per retry
            self.runner.error.emit("Autosave", exc, f"{plan.label_path}\n{exc}")
        self._timer.start(RETRY_MS)

    def _finished(self) -> None:
        self._job = None
        if self._again:
            self._again = False
            self.save_now()

    def flush(self, timeout_s: float = 10.0) -> bool:
        """Save synchronously (closing, switching splits): wait for a running save, then write the rest.

        Returns ``False`` when the save failed (the journal still holds every edit).
        """
        self._timer.stop()
        deadline = time.monotonic() + timeout_s
        while self._job is not None and not self._job.is_done and time.monotonic() < deadline:
            time.sleep(0.005)  # a running save finishes in milliseconds; never race two writers
        split = self.split
        if split is None or not split.editable:
            return True
        plan = None
        # a finished job's result may still be queued for the GUI thread: it is now stale
        self._plan = None
        self._job = None
        try:
            plan = split.prepare_save()
            if plan is None:
                return True
            write_plan(plan)
        except OSError as exc:
            if plan is not None:
                self._failed(plan, exc)
            return False
        split.finish_save(plan)
        self.error = None
        self.status.emit("saved")
        return True
