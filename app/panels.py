"""Feature panels, one module each; the main window docks every class in PANELS."""

from __future__ import annotations

from app.annotation.panel import AnnotationPanel
from app.attributes.panel import AttributesPanel
from app.detection.panel import DetectionPanel
from app.evaluation.panel import EvaluationPanel
from app.live.panel import LivePanel
from app.panel_base import Panel
from app.training.panel import TrainingPanel
from app.unlock.panel import UnlockPanel
from app.verification.panel import VerificationPanel

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
