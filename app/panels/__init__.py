"""Feature panels, one module each; the main window docks every class in PANELS."""

from __future__ import annotations

from app.panels.annotation import AnnotationPanel
from app.panels.attributes import AttributesPanel
from app.panels.base import Panel
from app.panels.detection import DetectionPanel
from app.panels.evaluation import EvaluationPanel
from app.panels.live import LivePanel
from app.panels.training import TrainingPanel
from app.panels.unlock import UnlockPanel
from app.panels.verification import VerificationPanel

PANELS: tuple[type[Panel], ...] = (
    DetectionPanel,
    AnnotationPanel,
    EvaluationPanel,
    LivePanel,
    TrainingPanel,
    VerificationPanel,
    AttributesPanel,
    UnlockPanel,
)
