"""Feature panels, one module each; the main window gives every class in PANELS a workspace (or a dock)."""

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

# in the mode bar's order (Ctrl+1 … Ctrl+8): the image tasks first, then those with views of their own
PANELS: tuple[type[Panel], ...] = (
    DetectionPanel,
    AnnotationPanel,
    EvaluationPanel,
    VerificationPanel,
    AttributesPanel,
    LivePanel,
    UnlockPanel,
    TrainingPanel,
)
