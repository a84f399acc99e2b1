"""The class-weighted linear baseline: one logistic regression per attribute on the frozen features.

Each class of each attribute carries half of the loss (weights ``0.5 / p``
for positives and ``0.5 / (1 - p)`` for negatives, ``p`` the training
positive rate), which is what "class-weighted" means for a balanced-accuracy
comparison: a majority-class answer no longer lowers the loss. Fitted
full-batch with L-BFGS (deterministic, converged in seconds), with an L2
penalty on the weights.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from core.models.lmle import LinearAttributeClassifier


def class_weights(labels: torch.Tensor) -> torch.Tensor:
    """``(N, A)`` bool -> ``(N, A)`` float weights, each class of each attribute summing to N / 2."""
    y = labels.float()
    p = y.mean(0).clamp(1e-6, 1 - 1e-6)
    return y * (0.5 / p) + (1 - y) * (0.5 / (1 - p))


def weighted_bce(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Class-weighted binary cross-entropy, mean over rows and attributes."""
    y = labels.float()
    return (F.binary_cross_entropy_with_logits(logits, y, reduction="none") * class_weights(labels)).mean()


def fit_linear(
    features: torch.Tensor, labels: torch.Tensor, *, weight_decay: float = 0.03, max_iter: int = 300
) -> LinearAttributeClassifier:
    """Fit the baseline on ``(N, D)`` features and ``(N, A)`` bool labels (CPU, float32)."""
    torch.manual_seed(0)  # the initial weights; L-BFGS itself is deterministic
    x = features.float()
    model = LinearAttributeClassifier(x.shape[1], labels.shape[1])
    model.norm.fit(x)
    xn = model.norm(x)
    fc = model.fc
    opt = torch.optim.LBFGS(
        fc.parameters(), max_iter=max_iter, history_size=20, line_search_fn="strong_wolfe"
    )

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = weighted_bce(fc(xn), labels) + weight_decay * fc.weight.pow(2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    return model.eval()


@torch.no_grad()
def predict_linear(
    model: LinearAttributeClassifier, features: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(positive (Q, A) bool, logits (Q, A))``."""
    logits = model(features.float())
    return logits > 0, logits
