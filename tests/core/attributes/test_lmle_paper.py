"""The paper's LMLE parts: memory-bank mining, many clusters per class, k > 1 kNN, the bootstrap."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from core.attributes.bank import (
    MemoryBank,
    balanced_bank_loss,
    bank_quintuplet_loss,
    mine_all_attributes,
    mine_from_bank,
)
from core.attributes.bootstrap import paired_bootstrap, rarest
from core.attributes.clustering import cluster_attributes
from core.attributes.knn import cluster_knn
from core.attributes.loss import Margins
from core.attributes.quintuplets import take


def brute_force_quintuplet(query, anchor, bank, labels, assign):
    """One anchor's members by looping over every bank row (the definition, written plainly)."""
    best = {"p_plus": (-1, -1.0), "p_minus": (-1, np.inf), "p_far": (-1, -1.0), "negative": (-1, np.inf)}
    for j in range(len(bank)):
        if j == anchor:
            continue
        d = float(((query - bank[j]) ** 2).sum())
        same_class = bool(labels[j] == labels[anchor])
        same_cluster = bool(assign[j] == assign[anchor])
        if same_cluster and d > best["p_plus"][1]:
            best["p_plus"] = (j, d)
        if same_class and not same_cluster and d < best["p_minus"][1]:
            best["p_minus"] = (j, d)
        if same_class and d > best["p_far"][1]:
            best["p_far"] = (j, d)
        if not same_class and d < best["negative"][1]:
            best["negative"] = (j, d)
    return {k: v[0] for k, v in best.items()}


def test_bank_mining_equals_brute_force_mining():
    gen = torch.Generator().manual_seed(3)
    n, d = 60, 5
    bank = F.normalize(torch.randn(n, d, generator=gen), dim=1)
    labels = torch.rand(n, generator=gen) < 0.3
    layout = cluster_attributes(bank[:, None], labels[:, None], max_clusters=8, min_size=6, generator=gen)
    assign = layout.assign[:, 0]
    anchors = torch.tensor([0, 7, 13, 21, 40, 59])
    # the anchors' live embeddings have moved since the bank was refreshed
    query = F.normalize(bank[anchors] + 0.3 * torch.randn(len(anchors), d, generator=gen), dim=1)
    q = mine_from_bank(query, anchors, bank, labels, assign)
    for row, anchor in enumerate(anchors.tolist()):
        expected = brute_force_quintuplet(query[row], anchor, bank, labels, assign)
        got = {k: int(getattr(q, k)[row]) for k in expected}
        assert got == expected


def test_bank_loss_backpropagates_through_the_batch_only():
    gen = torch.Generator().manual_seed(0)
    bank = F.normalize(torch.randn(30, 4, generator=gen), dim=1).requires_grad_(True)
    labels = torch.arange(30) % 3 == 0
    assign = torch.arange(30) % 6
    query = F.normalize(torch.randn(5, 4, generator=gen), dim=1).requires_grad_(True)
    anchors = torch.arange(5)
    q = mine_from_bank(query, anchors, bank, labels, assign)
    loss = bank_quintuplet_loss(query, q, bank, Margins(0.5, 1.0, 2.0))
    loss.backward()
    assert float(loss.detach()) > 0 and query.grad is not None and query.grad.abs().sum() > 0
    assert bank.grad is None
    assert len(take(q, labels[anchors]).anchor) == int(labels[anchors].sum())


def test_memory_bank_refresh_schedule():
    bank = MemoryBank(torch.zeros(0))
    assert bank.due(0, 100)
    bank.refresh(torch.ones(3, 2, 4), step=0)
    assert not bank.due(99, 100) and bank.due(100, 100)


def test_many_clusters_per_class_stay_pure_and_sized():
    gen = torch.Generator().manual_seed(1)
    n, size = 900, 50
    emb = F.normalize(torch.randn(n, 3, 8, generator=gen), dim=-1)
    labels = torch.rand(n, 3, generator=gen) < torch.tensor([0.05, 0.3, 0.5])
    layout = cluster_attributes(emb, labels, max_clusters=256, min_size=size, generator=gen)
    for a in range(3):
        for cls in (True, False):
            count = int((labels[:, a] == cls).sum())
            slots = layout.assign[labels[:, a] == cls, a].unique()
            assert len(slots) == max(1, count // size)  # tens of clusters on the majority side
            assert (layout.centroid_label[a, slots] == int(cls)).all()  # every cluster of one class
        # each face's slot is labelled with the face's own class: refresh keeps class purity
        assert torch.equal(layout.centroid_label[a, layout.assign[:, a]].bool(), labels[:, a])


def test_knn_with_k_above_one_decides_by_the_large_margin_rule():
    # one attribute; squared distances from the query: negatives (the majority, many clusters)
    # 1.0, 1.1, 1.2 and 5.0; positives 1.05 and 3.0
    dist = torch.tensor([1.0, 1.1, 1.2, 5.0, 1.05, 3.0])
    label = torch.tensor([[0, 0, 0, 0, 1, 1]], dtype=torch.int8)
    angles = torch.linspace(0, 5, 6)
    centroids = (dist.sqrt()[:, None] * torch.stack([angles.cos(), angles.sin()], 1))[None]
    query = torch.zeros(1, 1, 2)
    # 1-NN and the 4-NN vote (3 negatives, 1 positive) both say negative
    assert not bool(cluster_knn(query, centroids, label, 1).positive[0, 0])
    d = cluster_knn(query, centroids, label, 4)
    # the rule: positive scores min_neg 1.0 - farthest pos in kNN 1.05 = -0.05,
    # negative scores min_pos 1.05 - farthest neg in kNN 1.2 = -0.15: positive wins by 0.1
    assert bool(d.positive[0, 0]) and not bool(d.unanimous[0, 0])
    assert float(d.margin[0, 0]) == pytest.approx(0.1, abs=1e-5)


def test_bootstrap_interval_covers_the_true_difference():
    """Errors independent of the class: BA = per-face accuracy, so the true difference is 0.85 - 0.80."""
    covered, widths = 0, []
    for trial in range(30):
        rng = np.random.default_rng(100 + trial)
        truth = rng.random((600, 4)) < 0.3
        first = np.where(rng.random(truth.shape) < 0.85, truth, ~truth)
        second = np.where(rng.random(truth.shape) < 0.80, truth, ~truth)
        ci = paired_bootstrap(truth, first, second, resamples=300, seed=trial)
        assert ci.low <= ci.difference <= ci.high
        covered += ci.low <= 0.05 <= ci.high
        widths.append(ci.high - ci.low)
    assert covered >= 25  # a 95 % interval: about 28.5 of 30 expected
    assert 0.01 < np.mean(widths) < 0.08


def test_bootstrap_of_identical_methods_is_zero_and_rarest_picks_the_lowest_rates():
    rng = np.random.default_rng(0)
    truth = rng.random((200, 5)) < 0.4
    pred = rng.random((200, 5)) < 0.5
    ci = paired_bootstrap(truth, pred, pred, resamples=50)
    assert ci.difference == ci.low == ci.high == 0.0
    assert rarest(np.array([0.5, 0.02, 0.9, 0.1, 0.01]), 2).tolist() == [4, 1]
    with pytest.raises(ValueError):
        paired_bootstrap(truth, pred[:10], pred)


@pytest.mark.parametrize("shared", [False, True])
def test_all_attribute_mining_and_balanced_loss_match_the_per_attribute_reference(shared):
    gen = torch.Generator().manual_seed(5)
    n, a, d, b = 80, 3, 4, 10
    bank = F.normalize(torch.randn(n, 1 if shared else a, d, generator=gen), dim=-1).expand(n, a, d)
    labels = torch.rand(n, a, generator=gen) < torch.tensor([0.1, 0.4, 0.5])
    assign = cluster_attributes(bank, labels, max_clusters=6, min_size=8, generator=gen).assign
    faces = torch.randperm(n, generator=gen)[:b]
    noise = 0.2 * torch.randn(b, 1 if shared else a, d, generator=gen)  # shared: one query for all
    query = F.normalize(bank[faces] + noise, dim=-1).requires_grad_(True)
    q = mine_all_attributes(query, faces, bank, labels, assign, shared=shared)
    margins = Margins(0.3, 0.6, 1.2)
    expected = []
    for attr in range(a):
        ref = mine_from_bank(query[:, attr], faces, bank[:, attr], labels[:, attr], assign[:, attr])
        for key in ("p_plus", "p_minus", "p_far", "negative"):
            assert torch.equal(getattr(q, key)[attr], getattr(ref, key)), (attr, key)
        own = labels[faces, attr]
        terms = [
            bank_quintuplet_loss(query[rows, attr], take(ref, rows), bank[:, attr], margins)
            for rows in (own, ~own)
            if rows.any()
        ]
        expected.append(torch.stack(terms).mean())
    loss = balanced_bank_loss(query, q, bank, labels[faces], margins)
    torch.testing.assert_close(loss, torch.stack(expected).mean())
    assert float(loss.detach()) > 0
