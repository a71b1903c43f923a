"""Filter influence (Basset): knock a filter's pooled output down to its mean, measure the change;
classes weighed equally, so the measure does not depend on the class ratio; groups of filters."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from motifscan.model import MotifCNN, ModelConfig
from motifscan.motifs.extract import pooled_outputs
from motifscan.motifs.influence import class_weights, filter_influence
from motifscan.codes import encode

MOTIF = "GGGCGGTCATTACG"


def _planted(n_filters=6, hidden=0, seed=0):
    """Filter 2 detects MOTIF and drives the output; the others are small random."""
    torch.manual_seed(seed)
    model = MotifCNN(ModelConfig(n_filters=n_filters, filter_width=len(MOTIF), seq_length=80,
                                 hidden=hidden, dropout=0.3))
    with torch.no_grad():
        model.conv.weight.mul_(0.05)
        model.conv.bias.zero_()
        model.conv.weight[2] = -1.0
        model.conv.weight[2, torch.from_numpy(encode(MOTIF)).long(), torch.arange(len(MOTIF))] = 1.0
        model.conv.bias[2] = -len(MOTIF) + 4.0
        if hidden == 0:
            model.head[-1].weight.mul_(0.05)
            model.head[-1].weight[0, 2] = 2.0
            model.head[-1].bias.fill_(-3.0)
    return model


def _data(n=120, seed=1):
    """Half the sequences carry MOTIF (label 1), half do not (label 0)."""
    rng = np.random.default_rng(seed)
    seqs = rng.integers(0, 4, (n, 80)).astype(np.uint8)
    labels = np.zeros(n)
    for i in range(0, n, 2):
        p = rng.integers(0, 80 - len(MOTIF))
        seqs[i, p : p + len(MOTIF)] = encode(MOTIF)
        labels[i] = 1
    return seqs, labels


def _loop_reference(model, pooled, labels):
    """One filter at a time, the plain way."""
    model.eval()
    x = torch.from_numpy(pooled)
    y = torch.from_numpy(labels).float().reshape(len(x), -1)
    with torch.no_grad():
        logits = model.forward_pooled(x)
        base = F.binary_cross_entropy_with_logits(logits, y).item()
        loss, pred = [], []
        for f in range(x.shape[1]):
            k = x.clone()
            k[:, f] = x[:, f].mean()
            kl = model.forward_pooled(k)
            loss.append(F.binary_cross_entropy_with_logits(kl, y).item() - base)
            pred.append(((torch.sigmoid(kl) - torch.sigmoid(logits)) ** 2).mean().item())
    return np.array(loss), np.array(pred), base


def test_planted_filter_is_most_influential():
    seqs, labels = _data()
    model = _planted()
    inf = filter_influence(model, pooled_outputs(model, list(seqs)), labels)
    assert inf.order()[0] == 2
    assert inf.loss[2] > 0.1 and inf.pred[2] > 0.01
    others = np.delete(np.arange(6), 2)
    assert np.all(np.abs(inf.loss[others]) < 0.1 * inf.loss[2])
    assert np.all(inf.pred[others] < 0.1 * inf.pred[2])


@pytest.mark.parametrize("hidden", [0, 8])
def test_vectorised_equals_one_filter_at_a_time(hidden):
    seqs, labels = _data()
    model = _planted(hidden=hidden)
    pooled = pooled_outputs(model, list(seqs))
    inf = filter_influence(model, pooled, labels, max_elements=500)  # several batches
    assert model.training  # mode restored (a fresh module is in training mode)
    loss, pred, base = _loop_reference(model, pooled, labels)
    np.testing.assert_allclose(inf.loss, loss, atol=1e-5)
    np.testing.assert_allclose(inf.pred, pred, rtol=1e-4, atol=1e-8)
    assert inf.base_loss == pytest.approx(base, rel=1e-5)


def test_no_labels_means_all_positive():
    seqs, _ = _data()
    model = _planted()
    pooled = pooled_outputs(model, list(seqs))
    a = filter_influence(model, pooled)
    b = filter_influence(model, pooled, np.ones(len(seqs)))
    np.testing.assert_allclose(a.loss, b.loss)
    np.testing.assert_allclose(a.pred, b.pred)


def test_multitask_labels_and_order_ties():
    model = MotifCNN(ModelConfig(n_filters=3, filter_width=4, seq_length=10, tasks=["a", "b"]))
    with torch.no_grad():
        model.head[-1].weight.zero_()
        model.head[-1].weight[1, 1] = 1.0  # only filter 1 matters, for task b
    pooled = np.random.default_rng(0).random((50, 3)).astype(np.float32)
    labels = np.stack([np.ones(50), pooled[:, 1] > 0.5], axis=1)  # task b follows filter 1
    inf = filter_influence(model, pooled, labels)
    assert inf.order()[0] == 1
    np.testing.assert_allclose(inf.loss[[0, 2]], 0.0, atol=1e-7)
    np.testing.assert_allclose(inf.pred[[0, 2]], 0.0, atol=1e-12)


def _weak_positives(n_pos=100, n_neg=100, with_site=0.5, seed=1):
    """As in ChIP-seq peaks, only some positives carry the motif (the others are weak positives)."""
    rng = np.random.default_rng(seed)
    seqs = rng.integers(0, 4, (n_pos + n_neg, 80)).astype(np.uint8)
    for i in range(int(n_pos * with_site)):
        p = rng.integers(0, 80 - len(MOTIF))
        seqs[i, p : p + len(MOTIF)] = encode(MOTIF)
    return seqs, np.r_[np.ones(n_pos), np.zeros(n_neg)]


def test_influence_does_not_depend_on_the_class_ratio():
    """Issue 12: the same data with the positives replicated 20 times (95% positives) gives the
    same influence. Basset's plain means flipped the planted filter to -1.05 and ranked it last:
    knocked out to a mean over mostly positives, the weak positives gain more than the rest lose."""
    model = _planted()
    seqs, labels = _weak_positives()
    pooled = pooled_outputs(model, list(seqs))
    many = np.r_[np.repeat(np.flatnonzero(labels == 1), 20), np.flatnonzero(labels == 0)]
    once = filter_influence(model, pooled, labels)
    twenty = filter_influence(model, pooled[many], labels[many])
    assert once.order()[0] == 2 and once.loss[2] > 0.01
    np.testing.assert_array_equal(twenty.order(), once.order())
    np.testing.assert_allclose(twenty.loss, once.loss, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(twenty.pred, once.pred, rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(twenty.knockout, once.knockout, rtol=1e-6)
    # the knock-out value is the mean of the two class means
    expected = 0.5 * (pooled[labels == 1].mean(0) + pooled[labels == 0].mean(0))
    np.testing.assert_allclose(once.knockout, expected, rtol=1e-5)


def _balanced_reference(model, pooled, labels, groups):
    """Knock-out of each group, one at a time, with explicit class means (single task)."""
    model.eval()
    x = torch.from_numpy(pooled)
    y = torch.from_numpy(labels).float()[:, None]
    pos, neg = labels == 1, labels == 0
    ko = 0.5 * (x[pos].mean(0) + x[neg].mean(0))

    def balanced(v):  # per-sequence values (N, 1) -> mean of the class means
        return 0.5 * (v[pos].mean() + v[neg].mean())

    with torch.no_grad():
        logits = model.forward_pooled(x)
        base = balanced(F.binary_cross_entropy_with_logits(logits, y, reduction="none")).item()
        loss, pred = [], []
        for g in groups:
            k = x.clone()
            k[:, list(g)] = ko[list(g)]
            kl = model.forward_pooled(k)
            loss.append(balanced(F.binary_cross_entropy_with_logits(kl, y, reduction="none")).item() - base)
            pred.append(balanced((torch.sigmoid(kl) - torch.sigmoid(logits)) ** 2).item())
    return np.array(loss), np.array(pred), base


@pytest.mark.parametrize("hidden", [0, 8])
def test_groups_on_unbalanced_data_equal_one_group_at_a_time(hidden):
    model = _planted(hidden=hidden)
    seqs, labels = _weak_positives(n_pos=150, n_neg=40)
    pooled = pooled_outputs(model, list(seqs))
    groups = [(2,), (0, 1), (2, 3, 5), (4,)]
    inf = filter_influence(model, pooled, labels, groups=groups, max_elements=700)  # several batches
    loss, pred, base = _balanced_reference(model, pooled, labels, groups)
    np.testing.assert_allclose(inf.loss, loss, atol=1e-6)
    np.testing.assert_allclose(inf.pred, pred, rtol=1e-4, atol=1e-9)
    assert inf.base_loss == pytest.approx(base, rel=1e-5)
    assert inf.groups == groups
    # a group of one filter is that filter alone
    alone = filter_influence(model, pooled, labels)
    assert inf.loss[0] == pytest.approx(alone.loss[2], abs=1e-7)
    with pytest.raises(ValueError, match="group 0"):
        filter_influence(model, pooled, labels, groups=[(6,)])


def test_redundant_copies_count_together():
    """Two copies of the planted filter: each alone barely matters (the other stands in), the
    two knocked out together matter as much as the single filter did."""
    model = _planted(n_filters=6)
    with torch.no_grad():
        model.conv.weight[4] = model.conv.weight[2]
        model.conv.bias[4] = model.conv.bias[2]
        model.head[-1].weight[0, 4] = 0.0  # head max-like: the pair acts through one weight ...
    seqs, labels = _weak_positives()
    pooled = pooled_outputs(model, list(seqs))
    single = filter_influence(model, pooled, labels, groups=[(2,)]).loss[0]
    with torch.no_grad():  # ... now split it: either copy alone carries half
        model.head[-1].weight[0, 2] = 1.0
        model.head[-1].weight[0, 4] = 1.0
    inf = filter_influence(model, pooled, labels, groups=[(2,), (4,), (2, 4)])
    assert inf.loss[2] == pytest.approx(single, rel=1e-5)
    assert inf.loss[2] > 2 * max(inf.loss[0], inf.loss[1])


def test_class_weights():
    labels = np.array([[1, 1], [1, 1], [1, 0], [0, 1]], dtype=float)
    w = class_weights(labels)
    np.testing.assert_allclose(w.sum(axis=0), 1.0)
    np.testing.assert_allclose(w[:, 0], [1 / 6, 1 / 6, 1 / 6, 1 / 2])
    np.testing.assert_allclose(class_weights(np.ones((4, 1))), 0.25)  # one class: plain mean
