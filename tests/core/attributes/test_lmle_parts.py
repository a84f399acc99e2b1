"""LMLE's parts on hand-made data: quintuplets, triple-header hinge, cluster-wise kNN, metrics, k-means."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from core.attributes.clustering import cluster_attributes, cluster_count, kmeans
from core.attributes.knn import cluster_knn, sample_knn
from core.attributes.loss import Margins, centroid_hinge, quintuplet_loss, triple_header_hinge, triplet_hinge
from core.attributes.metrics import attribute_metrics, balanced_accuracy, evaluate_predictions
from core.attributes.quintuplets import select_quintuplets

# 2-D points: class 1 in clusters A (0-2), B (3-4), C (5); class 0 in clusters D (6), E (7)
POINTS = torch.tensor(
    [
        [0.0, 0.0],  # 0 A  the anchor
        [0.1, 0.0],  # 1 A
        [0.3, 0.0],  # 2 A  farthest in the anchor's cluster      -> p+
        [1.0, 0.0],  # 3 B  nearest same class, another cluster    -> p-
        [2.0, 0.0],  # 4 B
        [0.0, -3.0],  # 5 C  farthest of the class (9)              -> p--
        [0.0, 0.5],  # 6 D  nearest other class (0.25)             -> n
        [5.0, 5.0],  # 7 E
    ]
)
LABELS = torch.tensor([1, 1, 1, 1, 1, 1, 0, 0], dtype=torch.bool)
ASSIGN = torch.tensor([0, 0, 0, 1, 1, 2, 3, 4])


def test_quintuplet_members_on_hand_made_points():
    q = select_quintuplets(POINTS, LABELS, ASSIGN, torch.tensor([0, 3]))
    assert q.anchor.tolist() == [0, 3]
    assert q.p_plus.tolist() == [2, 4]
    assert q.p_minus.tolist() == [3, 2]  # for anchor 3 (cluster B) the nearest class-1 point elsewhere is 2
    assert q.p_far.tolist() == [5, 5]
    assert q.negative.tolist() == [6, 6]


def test_missing_members_are_marked():
    # anchors 5 and 6 are alone in their clusters: no p+
    q = select_quintuplets(POINTS, LABELS, ASSIGN, torch.tensor([5, 6]))
    assert q.p_plus.tolist() == [-1, -1]
    assert q.p_minus.tolist() == [0, 7]
    assert q.negative.tolist() == [6, 0]
    one_cluster = torch.zeros(8, dtype=torch.int64)
    q = select_quintuplets(POINTS, torch.ones(8, dtype=torch.bool), one_cluster, torch.tensor([0]))
    assert q.p_minus.tolist() == [-1] and q.negative.tolist() == [-1] and q.p_plus.tolist() == [7]


def _d(*values):
    return torch.tensor(values, dtype=torch.float32)


def test_hinge_is_zero_when_every_margin_holds():
    m = Margins(0.1, 0.2, 0.3)
    loss = triple_header_hinge(_d(0.1, 0.0), _d(0.3, 0.5), _d(0.6, 0.8), _d(1.0, 1.2), m)
    assert float(loss) == 0.0
    # exactly at the margins still counts as satisfied
    assert float(triple_header_hinge(_d(0.1), _d(0.2), _d(0.4), _d(0.7), m)) == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize("broken", [0, 1, 2])
def test_hinge_is_positive_when_one_ordering_fails(broken):
    m = Margins(0.1, 0.2, 0.3)
    d = [0.1, 0.3, 0.6, 1.0]
    d[broken + 1] = d[broken]  # D equal on both sides of one inequality: that hinge = its margin
    loss = triple_header_hinge(*(_d(v) for v in d), m)
    expected = (m.g1, m.g2, m.g3)[broken]
    if broken < 2:  # moving the middle distance also shortens the next gap below its margin
        expected += max(0.0, (m.g2, m.g3)[broken] + d[broken + 1] - d[broken + 2])
    assert float(loss) == pytest.approx(expected)


def test_hinge_masks_and_gradient():
    m = Margins()
    dp = _d(0.5).requires_grad_()
    loss = triple_header_hinge(dp, _d(0.1), _d(2.0), _d(3.0), m, (torch.tensor([False]),) * 3)
    assert loss.item() == 0.0
    loss = triple_header_hinge(dp, _d(0.1), _d(2.0), _d(3.0), m)
    loss.backward()
    assert float(dp.grad) == pytest.approx(1.0)  # only the first hinge is active
    empty = torch.zeros(0, requires_grad=True)
    assert triple_header_hinge(empty, empty, empty, empty, m).item() == 0.0


def test_quintuplet_loss_from_embeddings():
    emb = {
        k: POINTS[[i]]
        for k, i in zip(("anchor", "p_plus", "p_minus", "p_far", "negative"), (0, 2, 3, 5, 6), strict=True)
    }
    valid = {k: torch.tensor([True]) for k in emb}
    # D: p+ 0.09, p- 1, p-- 9, n 0.25 -> only the third hinge fails: 0.2 + 9 - 0.25
    assert float(quintuplet_loss(emb, valid, Margins(0.05, 0.1, 0.2))) == pytest.approx(8.95)
    assert float(triplet_hinge(_d(1.0), _d(2.0), 0.5)) == 0.0
    assert float(triplet_hinge(_d(1.0), _d(1.2), 0.5)) == pytest.approx(0.3)


# one attribute; query at the origin; squared distances P1 1, N1 2, P2 3.5, N2 100, slot 4 unused
CENTROIDS = torch.tensor(
    [[[1.0, 0.0], [0.0, math.sqrt(2.0)], [-math.sqrt(3.5), 0.0], [10.0, 0.0], [0.0, 0.0]]]
)
CENTROID_LABEL = torch.tensor([[1, 0, 1, 0, -1]], dtype=torch.int8)
QUERY = torch.zeros(1, 1, 2)


def test_large_margin_rule_overrules_nearest_and_majority():
    # k = 3: P1, N1, P2. 1-NN and the vote say positive; the rule compares
    # positive: min_neg 2 - farthest pos 3.5 = -1.5 with negative: min_pos 1 - farthest neg 2 = -1
    d = cluster_knn(QUERY, CENTROIDS, CENTROID_LABEL, 3)
    assert not bool(d.positive[0, 0]) and not bool(d.unanimous[0, 0])
    assert float(d.margin[0, 0]) == pytest.approx(-0.5, abs=1e-5)


def test_unanimous_neighbours_decide_and_margin_is_the_gap():
    d = cluster_knn(QUERY, CENTROIDS, CENTROID_LABEL, 1)
    assert bool(d.positive[0, 0]) and bool(d.unanimous[0, 0])
    assert float(d.margin[0, 0]) == pytest.approx(1.0, abs=1e-5)  # nearest negative 2 - farthest positive 1
    # k larger than the used slots: the unused one never counts
    d = cluster_knn(QUERY, CENTROIDS, CENTROID_LABEL, 50)
    assert not bool(d.unanimous[0, 0])


def test_one_class_attribute_is_bounded():
    label = torch.tensor([[1, -1, 1, -1, -1]], dtype=torch.int8)
    d = cluster_knn(QUERY, CENTROIDS, label, 2)
    assert bool(d.positive[0, 0]) and float(d.margin[0, 0]) == pytest.approx(4.0)


def test_sample_knn_votes():
    bank = torch.tensor([[[0.0, 0.0]], [[0.1, 0.0]], [[0.2, 0.0]], [[5.0, 0.0]]])
    labels = torch.tensor([[True], [True], [False], [False]])
    positive, frac = sample_knn(torch.zeros(1, 1, 2), bank, labels, 3)
    assert bool(positive[0, 0]) and float(frac[0, 0]) == pytest.approx(2 / 3)
    positive, _ = sample_knn(torch.zeros(1, 1, 2), bank, labels, 4)  # 2 vs 2: a tie answers negative
    assert not bool(positive[0, 0])


def test_balanced_accuracy():
    truth = np.array([1, 1, 0, 0, 0, 0], bool)
    assert balanced_accuracy(truth, np.array([1, 0, 0, 0, 0, 1], bool)) == pytest.approx((0.5 + 0.75) / 2)
    assert balanced_accuracy(truth, np.zeros(6, bool)) == pytest.approx(0.5)  # the majority answer
    m = attribute_metrics(truth, truth)
    assert (m.accuracy, m.balanced_accuracy, m.positive_rate) == (1.0, 1.0, pytest.approx(1 / 3))
    one_class = attribute_metrics(np.zeros(4, bool), np.array([0, 0, 0, 1], bool))
    assert one_class.balanced_accuracy == 0.75 and math.isnan(one_class.tpr)
    report = evaluate_predictions(np.stack([truth, ~truth], 1), np.stack([truth, truth], 1), ["a", "b"], "x")
    doc = report.to_json()
    assert doc["attributes"]["a"]["balanced_accuracy"] == 1.0 and doc["attributes"]["b"]["accuracy"] == 0.0
    assert doc["mean_balanced_accuracy"] == pytest.approx(0.5) and doc["method"] == "x"
    with pytest.raises(ValueError):
        balanced_accuracy(truth, truth[:3])


def test_kmeans_finds_blobs_and_layout():
    gen = torch.Generator().manual_seed(0)
    blobs = torch.cat(
        [
            torch.randn(20, 2, generator=gen) * 0.05 + c
            for c in (torch.tensor([0.0, 1.0]), torch.tensor([1.0, 0.0]))
        ]
    )
    centroids, assign = kmeans(blobs, 2, generator=gen)
    assert len(set(assign[:20].tolist())) == 1 and len(set(assign[20:].tolist())) == 1
    assert assign[0] != assign[20]
    assert cluster_count(0, 8, 10) == 0 and cluster_count(5, 8, 10) == 1 and cluster_count(1000, 8, 10) == 8
    labels = torch.tensor([[True]] * 20 + [[False]] * 20)
    emb = torch.nn.functional.normalize(blobs, dim=1)[:, None, :]
    layout = cluster_attributes(emb, labels, max_clusters=3, min_size=10, generator=gen)
    assert layout.centroids.shape == (1, 6, 2)
    assert layout.centroid_label[0].tolist() == [1, 1, 0, 0, -1, -1]
    assert set(layout.assign[:20, 0].tolist()) <= {0, 1} and set(layout.assign[20:, 0].tolist()) <= {2, 3}
    torch.testing.assert_close(layout.centroids[0, :4].norm(dim=1), torch.ones(4))


def _tiny_lmle(
    seed: int, num_attr: int, in_dim: int, *, views: int, rate: float, refresh_every: int, identity_dim=0
):
    """40 random training rows ``(40, views, in_dim)`` with labels at ``rate``, a 4-d head, its
    :class:`EmbeddingModel` (2 clusters per class) and a batch of 8 anchor items. ``identity_dim``:
    the first clustering runs on random "identity" features of that size (0: on the head)."""
    from core.attributes.training import AnchorDataset, ClusterOptions, EmbeddingModel
    from core.models.lmle import LMLEHead

    gen = torch.Generator().manual_seed(seed)
    n = 40
    feats = torch.randn(n, views, in_dim, generator=gen)
    labels = torch.rand(n, num_attr, generator=gen) < rate
    head = LMLEHead(in_dim, num_attr, hidden=0, dim=4)
    core = EmbeddingModel(head, n, ClusterOptions(max_clusters=2, min_size=3, refresh_every=refresh_every))
    init = torch.randn(n, identity_dim, generator=gen) if identity_dim else None
    core.set_training_data(feats, labels, init)
    data = AnchorDataset(labels.numpy())
    batch = torch.from_numpy(np.stack([data.sample(i, np.random.default_rng(i)) for i in range(8)]))
    return gen, feats, labels, head, core, batch


def test_grouped_embedding_and_anchor_mined_loss_match_the_full_pool_reference():
    from core.attributes.loss import quintuplet_loss as qloss
    from core.attributes.training import MEMBERS, pool_losses

    num_attr, in_dim = 3, 12
    gen, feats, labels, head, core, batch = _tiny_lmle(
        3, num_attr, in_dim, views=2, rate=0.3, refresh_every=100
    )
    x = torch.randn(7, in_dim, generator=gen)
    full = head(x)  # (7, A, d)
    slots = torch.tensor([[0, 1, 2], [3, 3, 4], [5, 6, 0]])
    torch.testing.assert_close(head.forward_grouped(x[slots]), full[slots, torch.arange(num_attr)[:, None]])

    torch.manual_seed(5)
    got = pool_losses(
        core, core, batch, method="lmle", margins=Margins(), triplet_margin=0.2, mine_in="anchors"
    )
    # reference: every pool member embedded for all attributes, candidates picked afterwards
    torch.manual_seed(5)
    pool, inverse = torch.unique(batch, return_inverse=True)
    view = torch.randint(2, (len(pool),))
    emb = head(feats[pool, view])
    ref = []
    for a in range(num_attr):
        cand, anchors = torch.unique(inverse[:, a].reshape(-1), return_inverse=True)
        e = emb[cand, a]
        q = select_quintuplets(e.detach(), labels[pool][cand, a], core.assign[pool, a][cand], anchors)
        members = q.members()
        embs = {k: e[t.clamp_min(0)] for k, t in zip(MEMBERS, members, strict=True)}
        ref.append(qloss(embs, {k: t >= 0 for k, t in zip(MEMBERS, members, strict=True)}, Margins()))
    torch.testing.assert_close(got["quintuplet"], torch.stack(ref).mean())
    assert got["quintuplet"].item() > 0


def test_roc_auc_and_imbalance_groups():
    from core.attributes.metrics import group_means, roc_auc

    truth = np.array([1, 1, 0, 0, 0], dtype=bool)
    assert roc_auc(truth, np.array([0.9, 0.8, 0.1, 0.2, 0.3])) == 1.0
    assert roc_auc(truth, np.array([0.1, 0.2, 0.9, 0.8, 0.7])) == 0.0
    # one positive tied with one negative: that pair counts half -> (5 + 0.5) / 6
    assert roc_auc(truth, np.array([0.9, 0.3, 0.3, 0.2, 0.1])) == pytest.approx(5.5 / 6)
    assert math.isnan(roc_auc(np.ones(3, dtype=bool), np.arange(3.0)))
    groups = group_means([0.9, 0.7, 0.8, 0.6], [0.02, 0.2, 0.5, 0.05])
    assert groups["rare (<10 %)"] == (pytest.approx(0.75), 2)
    assert groups["10-30 %"] == (pytest.approx(0.7), 1) and groups[">=30 %"] == (pytest.approx(0.8), 1)


def test_centroid_hinge_zero_when_own_centroid_is_nearer_by_the_margin():
    centroids = torch.tensor([[0.0, 0.0], [0.0, 3.0], [2.0, 0.0], [-1.0, 0.0]])
    centroid_label = torch.tensor([1, 1, 0, -1], dtype=torch.int8)  # slot 3 unused: never "other"
    emb = torch.tensor([[0.1, 0.0], [0.0, 2.9]])
    assign, label = torch.tensor([0, 1]), torch.tensor([True, True])
    # own D 0.01 / 0.01, nearest class-0 centroid D 3.61 / 8.41
    assert float(centroid_hinge(emb, assign, label, centroids, centroid_label, 0.5)) == 0.0
    # a class-1 point in cluster 0 that sits at the class-0 centroid: 4 + margin - 0
    far = torch.tensor([[2.0, 0.0]], requires_grad=True)
    loss = centroid_hinge(far, torch.tensor([0]), torch.tensor([True]), centroids, centroid_label, 0.5)
    assert float(loss.detach()) == pytest.approx(4.5)
    loss.backward()
    assert far.grad.abs().sum() > 0
    # a class-0 point: "other" are the class-1 centroids (nearest D 1.0 from [1, 0])
    neg = torch.tensor([[1.0, 0.0]])
    loss = centroid_hinge(neg, torch.tensor([2]), torch.tensor([False]), centroids, centroid_label, 0.2)
    assert float(loss) == pytest.approx(0.2 + 1.0 - 1.0)


def test_centroid_hinge_term_starts_after_the_first_embedding_refresh():
    from core.attributes.training import pool_losses

    # the first clustering runs on other features (the paper's identity features): centroids unusable
    _, _, _, head, core, batch = _tiny_lmle(4, 2, 10, views=1, rate=0.4, refresh_every=2, identity_dim=6)
    kwargs = dict(method="lmle", margins=Margins(), triplet_margin=0.2, mine_in="anchors")
    terms = [
        pool_losses(core, core, batch, centroid_weight=2.0, centroid_margin=4.0, **kwargs) for _ in range(4)
    ]
    # steps 0-1: no centroids in the embedding space yet, but the key is there (aligned loss curves)
    assert [t["centroid"].item() for t in terms[:2]] == [0.0, 0.0]
    # the step-2 refresh clusters the head's embeddings; margin 4 (the largest squared distance
    # between unit vectors) keeps the hinge active from then on
    assert terms[2]["centroid"].item() > 0 and terms[3]["centroid"].item() > 0
    terms[3]["centroid"].backward()
    assert head.fc2.weight.grad is not None and head.fc2.weight.grad.abs().sum() > 0
    off = pool_losses(core, core, batch, **kwargs)
    assert "centroid" not in off
