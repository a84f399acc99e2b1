"""DREAM for a 5-point stem on clean folds: chosen on the validation fold only; the test fold is refused."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from core.cfp.dream_stem import evaluate_fold, form_center, train_and_choose
from core.cfp.export import export_stem_dream
from core.cfp.features import load_features
from core.cfp.protocol import CfpProtocol
from tests.core.dream.cfp_fixture import make_cfp


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    base = tmp_path_factory.mktemp("cfp_stem")
    root, cache = base / "cfp", base / "cache"
    make_cfp(root, folds=2, cache_dir=cache, seed=3)
    cfp = CfpProtocol.open(root)
    return cfp, load_features(root, cfp.existing_keys(), cache)  # all cached: no model runs


def test_the_block_is_the_validation_folds_best_checkpoint(synthetic):
    cfp, table = synthetic
    chosen = train_and_choose(
        cfp, table, "raw", train_folds="1", val_fold=2, rates=(1e-3,), checkpoints=(5, 60)
    )
    assert [(lr, steps) for lr, steps, _ in chosen.candidates] == [(1e-3, 5), (1e-3, 60)]
    best = min(chosen.candidates, key=lambda c: c[2])
    assert (chosen.lr, chosen.steps, chosen.val_eer) == best
    assert chosen.training_pairs == 50 * 4  # every profile of fold 1 (its identities all have frontals)
    stem, dream = evaluate_fold(cfp, table, chosen.mapper(), "FP", 2)
    assert dream.eer_mean == pytest.approx(chosen.val_eer) and dream.eer_mean < stem.eer_mean
    assert not form_center(table, "raw").any() and form_center(table, "centred").any()


def test_export_refuses_a_table_that_holds_the_test_fold(synthetic, tmp_path):
    cfp, table = synthetic
    # the same features under identities of fold 9 (401-450): the exporter must not even train
    moved = [k.replace("/001/", "/401/") for k in table.keys]
    with pytest.raises(ValueError, match="fold 9"):
        export_stem_dream(cfp, dataclasses.replace(table, keys=moved), "faceres", out_path=tmp_path / "x.pt")
    assert not (tmp_path / "x.pt").exists() and np.isfinite(table.embeddings).all()


def test_the_form_with_the_lower_validation_eer_ships_and_a_tie_keeps_the_first():
    from types import SimpleNamespace

    from core.cfp.dream_stem import choose_form

    raw, centred = (
        SimpleNamespace(form="raw", val_eer=0.0571428),
        SimpleNamespace(form="centred", val_eer=0.2314),
    )
    assert choose_form([raw, centred]) is raw
    centred.val_eer = 0.05
    assert choose_form([raw, centred]) is centred
    centred.val_eer = raw.val_eer - 1e-9  # the same EER up to float rounding: the paper's raw form stays
    assert choose_form([raw, centred]) is raw
    with pytest.raises(ValueError):
        choose_form([])
