"""One job slot with its controls: Run and Cancel buttons, a progress bar and a summary line.

Panels that run one long job at a time (an evaluation, a CFP run, an
enrolment) share the same choreography: disable Run and enable Cancel while
the job is alive, show a busy bar until the job reports a fraction, put
progress messages, failures and cancellation into the summary, and restore
everything when the job ends whatever the outcome. :class:`JobControls` does
that once; the panel lays out the widgets it owns and handles the result.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtWidgets import QLabel, QProgressBar, QPushButton

from app.widgets import show_progress
from app.worker import Job, JobRunner
from core.progress import Progress


class JobControls:
    """Run/Cancel/progress/summary for one job at a time.

    runner: the workbench's :class:`JobRunner`; ``run_text``: the Run button's label.
    The widgets are public (``run_button``, ``cancel_button``, ``progress``,
    ``summary``) so the panel places them and tests can wait on them.
    """

    def __init__(self, runner: JobRunner, run_text: str, summary: QLabel | None = None) -> None:
        self.runner = runner
        self.job: Job | None = None
        self.run_button = QPushButton(run_text)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.summary = summary if summary is not None else QLabel()
        self.summary.setWordWrap(True)

    @property
    def busy(self) -> bool:
        return self.job is not None and not self.job.is_done

    def start(
        self,
        fn: Callable[..., Any],
        *args: Any,
        name: str,
        on_result: Callable[[Any], None],
        busy_text: str = "Working…",
        on_finished: Callable[[], None] | None = None,
        **kwargs: Any,
    ) -> Job | None:
        """Submit ``fn(*args, **kwargs)`` unless a job is still running (then ``None``).

        Failures read "<name> failed: <error>" in the summary (the runner's
        error handler also logs them); cancellation reads "<name> cancelled.".
        """
        if self.busy:
            return None
        self.progress.setVisible(True)
        self.progress.setRange(0, 0)
        self.run_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.summary.setText(busy_text)

        def finished() -> None:
            self._finished()
            if on_finished is not None:
                on_finished()

        self.job = self.runner.submit(
            fn,
            *args,
            name=name,
            on_progress=self._on_progress,
            on_result=on_result,
            on_error=lambda exc: self.summary.setText(f"{name} failed: {exc}"),
            on_finished=finished,
            **kwargs,
        )
        self.job.cancelled.connect(lambda: self.summary.setText(f"{name} cancelled."))
        return self.job

    def cancel(self) -> None:
        if self.job is not None:
            self.job.cancel()

    def _on_progress(self, progress: Progress) -> None:
        show_progress(self.progress, self.summary, progress)

    def _finished(self) -> None:
        self.progress.setVisible(False)
        self.run_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
