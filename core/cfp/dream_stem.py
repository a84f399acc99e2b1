"""DREAM on a 5-point aligned stem (faceres): full-batch training on clean folds, chosen on a validation fold.

The faceres stitching set is small (about 1100 profiles of folds 1–7), so the
block trains full-batch with Adam in seconds; the learning rate and the number
of steps are chosen by the CFP-FP EER of one validation fold and nothing else.
The test fold is never read here. Two feature forms
(:mod:`core.recognize.dream`): *raw* (the paper's ``f + Y(yaw)·R(f)`` on the
unit embedding, centre 0) and *centred* (ADR 0010's DREAM space).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import torch

from core.cfp.evaluate import CfpEvaluation, evaluate_protocol
from core.cfp.features import FeatureTable
from core.cfp.protocol import CfpProtocol
from core.cfp.stitching import StitchingSet, build_stitching, dream_center, identities_of_folds
from core.models.dream import DreamBlock
from core.recognize.dream import FORMS, DreamMapper

log = logging.getLogger(__name__)

TRAIN_FOLDS, VAL_FOLD, TEST_FOLD = "1-7", 8, 9
#: Validation EERs closer than this are a tie (one pair of fold 8's 350 moves the EER by 0.0029).
EER_TIE = 1e-6
RATES = (1e-4, 1e-3)
CHECKPOINTS = (25, 50, 100, 200)


@dataclass
class ChosenBlock:
    """The block kept for one form, how it was chosen, and every candidate's validation EER.

    center: zeros for the raw form, the training identities' mean frontal embedding when centred.
    candidates: ``(learning rate, steps, fold-``val_fold`` FP EER)`` of every checkpoint tried.
    """

    form: str
    block: DreamBlock
    center: np.ndarray
    lr: float
    steps: int
    val_eer: float
    training_pairs: int
    candidates: list[tuple[float, int, float]] = field(default_factory=list)

    def mapper(self) -> DreamMapper:
        return DreamMapper(block=self.block, center=self.center, form=self.form)


def form_center(table: FeatureTable, form: str, train_folds: str = TRAIN_FOLDS) -> np.ndarray:
    """The feature-space centre of ``form``: 0 (raw) or the training folds' mean frontal embedding."""
    if form not in FORMS:
        raise ValueError(f"form must be one of {FORMS}, got {form!r}")
    if form == "raw":
        return np.zeros(table.embeddings.shape[1], np.float32)
    return dream_center(table, identities_of_folds(train_folds))


def evaluate_fold(
    cfp: CfpProtocol, table: FeatureTable, mapper: DreamMapper, protocol: str, fold: int
) -> tuple[CfpEvaluation, CfpEvaluation]:
    """(stem, stem + DREAM) on one fold; EER and AUC need no threshold."""
    return tuple(  # type: ignore[return-value]
        evaluate_protocol(cfp, table, protocol, [fold], mapper, use_dream=dream, shipped_threshold=0.0)
        for dream in (False, True)
    )


def _snapshot(block: DreamBlock) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in block.state_dict().items()}


def train_and_choose(
    cfp: CfpProtocol,
    table: FeatureTable,
    form: str,
    train_folds: str = TRAIN_FOLDS,
    val_fold: int = VAL_FOLD,
    rates: tuple[float, ...] = RATES,
    checkpoints: tuple[int, ...] = CHECKPOINTS,
) -> ChosenBlock:
    """Train one block per rate (seed 0, full-batch Adam) and keep the checkpoint best on ``val_fold``."""
    center = form_center(table, form, train_folds)
    pairs = build_stitching(table, identities_of_folds(train_folds), center)
    if len(pairs) == 0:
        raise ValueError(f"no stitching pairs in folds {train_folds}")
    candidates: list[tuple[float, int, float]] = []
    best: tuple[float, float, int, dict[str, torch.Tensor]] | None = None
    for lr in rates:
        for steps, block in training_checkpoints(pairs, lr, checkpoints):
            mapper = DreamMapper(block=block, center=center, form=form)
            eer = evaluate_fold(cfp, table, mapper, "FP", val_fold)[1].eer_mean
            candidates.append((lr, steps, eer))
            log.info(
                "DREAM %s: lr %g, %d steps: fold %d FP EER %.2f %%", form, lr, steps, val_fold, 100 * eer
            )
            if best is None or eer < best[0]:
                best = (eer, lr, steps, _snapshot(block))
    assert best is not None
    chosen = DreamBlock(table.embeddings.shape[1])
    chosen.load_state_dict(best[3])
    return ChosenBlock(form, chosen.eval(), center, best[1], best[2], best[0], len(pairs), candidates)


def training_checkpoints(pairs: StitchingSet, lr: float, checkpoints: tuple[int, ...]):
    """Yields ``(steps, block in eval mode)`` at each checkpoint of one full-batch Adam run."""
    x, yaw, target = (torch.from_numpy(a) for a in (pairs.inputs, pairs.yaw, pairs.targets))
    torch.manual_seed(0)
    block = DreamBlock(x.shape[1])
    optimiser = torch.optim.Adam(block.parameters(), lr=lr)
    for step in range(1, max(checkpoints) + 1):
        block.train()
        optimiser.zero_grad()
        loss = ((block(x, yaw) - target) ** 2).sum(dim=1).mean()
        loss.backward()
        optimiser.step()
        if step in checkpoints:
            yield step, block.eval()


def choose_form(blocks: list[ChosenBlock]) -> ChosenBlock:
    """The block with the lowest validation EER; a tie keeps the earlier one (the paper's raw form first).

    EERs of different scores can differ by float rounding alone, so EERs within :data:`EER_TIE` tie.
    """
    if not blocks:
        raise ValueError("no block to choose from")
    chosen = blocks[0]
    for block in blocks[1:]:
        if block.val_eer < chosen.val_eer - EER_TIE:
            chosen = block
    return chosen
