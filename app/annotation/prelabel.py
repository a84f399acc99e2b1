"""Model-assisted pre-labelling: run a detector in the worker, hand suggestions to the editor.

The current image reuses its decoded pixels; the whole split runs as one
generator job (progress per image, cancellable between images) that decodes
each image itself. Detections are cached per (image, model) so re-showing an
image or changing the score threshold does not run the model again.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from app.annotation.editor import AnnotationEditor
from app.worker import Job
from core.annotate.suggest import detect_many, suggestions_from_result
from core.detect.registry import DISPLAY_MIN_SCORE, FAST, PRELABEL_MIN_SCORE
from core.progress import Progress
from core.types import DetectionResult

# the detector runs once at PRELABEL_MIN_SCORE; the panel's suggestion score filters later


class Prelabeler(QObject):
    """status(str): progress / result text for the panel."""

    status = Signal(str)

    def __init__(self, editor: AnnotationEditor, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.editor = editor
        self.detectors = editor.workbench.detectors
        self.results: dict[tuple[int, str], DetectionResult] = {}
        self.min_score = DISPLAY_MIN_SCORE
        self.mode = FAST  # or ACCURATE: several scales, mirrored, box voting (slower)
        self._split_job: Job | None = None

    def clear(self) -> None:
        self.cancel()
        self.results.clear()

    def _key(self, model: str) -> str:
        return model if self.mode == FAST else f"{model} ({self.mode})"

    def run_current(self, model: str) -> None:
        editor = self.editor
        loaded = editor.workbench.current
        index = editor.current
        if editor.split is None or index < 0 or loaded is None or loaded.image is None:
            return
        key, mode = self._key(model), self.mode
        cached = self.results.get((index, key))
        if cached is not None:
            self._show(index, cached)
            return
        image, detectors = loaded.image, self.detectors
        self.status.emit(f"Detecting with {key}…")
        editor.workbench.runner.submit(
            lambda: detectors.get(model, mode).detect(image, min_score=PRELABEL_MIN_SCORE),
            name=f"pre-label ({key}) {loaded.path.name}",
            on_result=lambda result, i=index, m=key, s=editor.split: self._store(s, i, m, result),
        )

    def run_split(self, model: str) -> None:
        """Pre-label every image of the split that has no cached result for ``model``."""
        split = self.editor.split
        if split is None or self._split_job is not None:
            return
        key, mode = self._key(model), self.mode
        todo = [(i, p) for i, p in enumerate(split.image_paths) if (i, key) not in self.results]
        detectors = self.detectors

        def job():
            detector = detectors.get(model, mode)
            for done, (index, result, _error) in enumerate(
                detect_many(detector, todo, PRELABEL_MIN_SCORE), 1
            ):
                yield Progress(done, len(todo), f"pre-labelled {done}/{len(todo)}")
                if result is not None:
                    yield (index, result)
            return len(todo)

        def progress(value) -> None:
            if isinstance(value, Progress):
                self.status.emit(value.message)
            else:
                self._store(split, value[0], key, value[1])

        self._split_job = self.editor.workbench.long_runner.submit(
            job,
            name=f"pre-label split ({key})",
            on_progress=progress,
            on_result=lambda n: self.status.emit(f"Pre-labelled {n} image(s) with {key}."),
            on_finished=self._split_finished,
        )

    def _split_finished(self) -> None:
        self._split_job = None

    @property
    def running(self) -> bool:
        return self._split_job is not None

    def cancel(self) -> None:
        if self._split_job is not None:
            self._split_job.cancel()

    def _store(self, split, index: int, model: str, result: DetectionResult) -> None:
        if split is not self.editor.split:
            return  # the split was closed meanwhile
        self.results[(index, model)] = result
        self._show(index, result)

    def _show(self, index: int, result: DetectionResult) -> None:
        split = self.editor.split
        if split is None:
            return
        suggestions = suggestions_from_result(result, split.faces(index), self.min_score)
        self.editor.set_suggestions(index, suggestions)
        if index == self.editor.current:
            self.status.emit(f"{len(suggestions)} suggestion(s) ≥ {self.min_score:.2f} from {result.model}.")
