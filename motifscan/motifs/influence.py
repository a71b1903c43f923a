"""Filter influence (Basset's measure, Kelley et al. 2016).

The influence of filter ``f`` is what the model loses when the filter stops carrying
information: its pooled output is replaced, on every sequence, by its mean over the data set,
and the rest of the network is run unchanged. Two numbers per filter:

* ``loss``: change in mean binary cross-entropy against the labels (positive = the filter
  helps; the most influential filters have the largest values);
* ``pred``: mean squared change of the predicted probabilities (over sequences and tasks) --
  how much the filter moves predictions, whichever way.

Only the dense head runs, on pooled outputs computed once (see
:func:`motifscan.motifs.extract.activation_motifs`), and all filters are knocked out at once: a
batch of sequences becomes an ``(F, B, F)`` stack with column ``f`` of slice ``f`` replaced.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

__all__ = ["Influence", "filter_influence"]


@dataclass
class Influence:
    """Per-filter influence.

    Attributes
    ----------
    loss
        ``(F,)`` change in mean BCE when the filter's pooled output is set to its mean.
    pred
        ``(F,)`` mean squared change of predicted probabilities.
    base_loss
        Mean BCE of the intact model on the data.
    """

    loss: np.ndarray
    pred: np.ndarray
    base_loss: float

    def order(self) -> np.ndarray:
        """Filter indices, most influential first (by ``loss``, then ``pred``)."""
        return np.lexsort((-self.pred, -self.loss))


@torch.no_grad()
def filter_influence(
    model,
    pooled: np.ndarray,
    labels: np.ndarray | None = None,
    *,
    max_elements: int = 1 << 22,
    device: torch.device | str | None = None,
) -> Influence:
    """Influence of every filter from pooled outputs.

    Parameters
    ----------
    model
        A :class:`~motifscan.model.MotifCNN`; its head is run in eval mode (no dropout).
    pooled
        ``(N, F)`` pooled filter outputs (max over positions and strands) per sequence.
    labels
        ``(N,)`` or ``(N, T)`` 0/1 labels; ``None`` means every sequence is a positive. With
        positives only the measure is weak (a filter that fires on every positive hardly moves
        when set to its mean over them), so :func:`motifscan.motifs.export.export_motifs` adds
        shuffled negatives.
    max_elements
        Memory bound for the ``(F, B, F)`` knock-out stack.
    device
        Where to compute; ``None`` = the model's device.

    Returns
    -------
    Influence
    """
    device = torch.device(device) if device is not None else next(model.parameters()).device
    pooled_t = torch.as_tensor(np.asarray(pooled, dtype=np.float32), device=device)
    n, n_filters = pooled_t.shape
    n_tasks = len(model.config.tasks)
    if labels is None:
        labels_t = torch.ones(n, n_tasks, device=device)
    else:
        labels_t = torch.as_tensor(np.asarray(labels, dtype=np.float32), device=device)
        labels_t = labels_t.reshape(n, -1).expand(n, n_tasks)
    if n == 0:
        raise ValueError("influence needs at least one sequence")
    mean = pooled_t.mean(0)
    diag = torch.arange(n_filters, device=device)
    batch = max(1, max_elements // (n_filters * n_filters))
    was_training = model.training
    model.eval()
    try:
        base_sum = 0.0
        loss_sum = torch.zeros(n_filters, dtype=torch.float64, device=device)
        pred_sum = torch.zeros(n_filters, dtype=torch.float64, device=device)
        for i in range(0, n, batch):
            x, y = pooled_t[i : i + batch], labels_t[i : i + batch]
            logits = model.forward_pooled(x)  # (B, T)
            base_sum += float(F.binary_cross_entropy_with_logits(logits, y, reduction="sum"))
            knocked = x.unsqueeze(0).repeat(n_filters, 1, 1)  # (F, B, F)
            knocked[diag, :, diag] = mean[:, None]
            k_logits = model.forward_pooled(knocked.reshape(-1, n_filters)).reshape(n_filters, len(x), -1)
            bce = F.binary_cross_entropy_with_logits(k_logits, y.expand_as(k_logits), reduction="none")
            loss_sum += bce.sum(dim=(1, 2)).double()
            change = torch.sigmoid(k_logits) - torch.sigmoid(logits)[None]
            pred_sum += change.square().sum(dim=(1, 2)).double()
    finally:
        model.train(was_training)
    denom = n * n_tasks
    base = base_sum / denom
    return Influence(
        loss=(loss_sum / denom).cpu().numpy() - base,
        pred=(pred_sum / denom).cpu().numpy(),
        base_loss=base,
    )
