"""Filter influence (Basset): knock a filter's pooled output down to its mean, measure the change."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from motifscan.model import MotifCNN, ModelConfig
from motifscan.motifs.extract import pooled_outputs
from motifscan.motifs.influence import filter_influence
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
