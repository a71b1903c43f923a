"""Filter influence (Basset's knock-out, Kelley et al. 2016), made independent of the class ratio.

The influence of a filter -- or of a group of filters knocked out together -- is what the model
loses when it stops carrying information: its pooled output is replaced, on every sequence, by
one constant (the knock-out value), and the rest of the network runs unchanged. Two numbers:

* ``loss``: change in class-balanced binary cross-entropy against the labels (positive = the
  filter helps; the most influential filters have the largest values);
* ``pred``: class-balanced mean squared change of the predicted probabilities -- how much the
  filter moves predictions, whichever way.

**Class balance.** Basset averages over the data set as it comes and knocks a filter out to its
mean over that set. Both depend on the class ratio: with 95% positives the knock-out value is
the positives' mean, and raising the weak positives towards it lowers their loss (the loss is
steep there) more than lowering the strong ones raises it, so a filter the model relies on gets a
*negative* influence (issue 12). Here each class of each task weighs the same -- as in training,
where ``pos_weight`` balances the classes (:func:`motifscan.train.fit`) -- and the knock-out value
is the mean of the two class means, each class counted once. Replicating the positives 20 times
changes neither. With classes of equal size this is exactly Basset's measure.

Why the mean of both classes rather than the negatives' mean: it treats a filter that marks
positives and one that marks negatives alike (each is moved half-way towards the other class),
and it equals Basset's knock-out on balanced data, so the numbers keep their usual meaning.

Only the dense head runs, on pooled outputs computed once (see
:func:`motifscan.motifs.extract.activation_motifs`), and all knock-outs run at once: a batch of
sequences becomes a ``(G, B, F)`` stack in which slice ``g`` has the columns of group ``g``
replaced.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

__all__ = ["Influence", "filter_influence", "class_weights"]


@dataclass
class Influence:
    """Influence per filter, or per group of filters knocked out together.

    Attributes
    ----------
    loss
        ``(G,)`` change in class-balanced mean BCE when the group's pooled outputs are set to
        their knock-out values.
    pred
        ``(G,)`` class-balanced mean squared change of the predicted probabilities.
    base_loss
        Class-balanced mean BCE of the intact model on the data.
    knockout
        ``(F,)`` the knock-out value of every filter (mean of the class means).
    groups
        The filter indices of each entry (one filter each unless groups were given).
    task_loss, task_pred
        ``(G, T)``: the same per task (over the task's known labels, its classes balanced);
        ``loss`` and ``pred`` are their means over the tasks that have labels.
    """

    loss: np.ndarray
    pred: np.ndarray
    base_loss: float
    knockout: np.ndarray = field(default_factory=lambda: np.zeros(0))
    groups: list[tuple[int, ...]] = field(default_factory=list)
    task_loss: np.ndarray | None = None
    task_pred: np.ndarray | None = None

    def order(self, task: int | None = None) -> np.ndarray:
        """Entry indices, most influential first (by ``loss``, then ``pred``), overall or for one task."""
        if task is None or self.task_loss is None:
            return np.lexsort((-self.pred, -self.loss))
        return np.lexsort((-self.task_pred[:, task], -self.task_loss[:, task]))

    def take(self, index: Sequence[int]) -> "Influence":
        """The entries ``index`` (in that order)."""
        index = list(index)
        return Influence(self.loss[index], self.pred[index], self.base_loss, self.knockout,
                         [self.groups[i] for i in index] if self.groups else [],
                         None if self.task_loss is None else self.task_loss[index],
                         None if self.task_pred is None else self.task_pred[index])


def class_weights(labels: np.ndarray) -> np.ndarray:
    """Weights that give each class of each task the same total weight.

    Parameters
    ----------
    labels
        ``(N, T)`` 0/1 labels; NaN marks a label that is unknown (a multi-task sequence from
        another task's experiment): it weighs nothing.

    Returns
    -------
    numpy.ndarray
        ``(N, T)`` float64: ``1 / (2 n_c)`` for a sequence of class ``c`` in a task with both
        classes, ``1 / n`` (``n`` known labels) in a task with one class only, 0 where the label
        is unknown; every column with a known label sums to 1.
    """
    labels = np.asarray(labels, dtype=np.float64)
    known = ~np.isnan(labels)
    positive = known & (np.nan_to_num(labels) > 0.5)
    n_known = known.sum(axis=0)
    n_pos = positive.sum(axis=0)
    n_neg = n_known - n_pos
    both = (n_pos > 0) & (n_neg > 0)
    w_pos = np.where(both, 0.5 / np.maximum(n_pos, 1), 1.0 / np.maximum(n_known, 1))
    w_neg = np.where(both, 0.5 / np.maximum(n_neg, 1), 1.0 / np.maximum(n_known, 1))
    return np.where(known, np.where(positive, w_pos[None, :], w_neg[None, :]), 0.0)


@torch.no_grad()
def filter_influence(
    model,
    pooled: np.ndarray,
    labels: np.ndarray | None = None,
    *,
    groups: Sequence[Sequence[int]] | None = None,
    max_elements: int = 1 << 22,
    device: torch.device | str | None = None,
) -> Influence:
    """Class-balanced influence of every filter, or of every group of filters, from pooled outputs.

    Parameters
    ----------
    model
        A :class:`~motifscan.model.MotifCNN`; its head is run in eval mode (no dropout).
    pooled
        ``(N, F)`` pooled filter outputs (max over positions and strands) per sequence.
    labels
        ``(N,)`` or ``(N, T)`` 0/1 labels, NaN where unknown (those entries weigh nothing);
        ``None`` means every sequence is a positive. With
        one class only the measure is weak (a filter that fires on every positive hardly moves
        when set to its mean over them), so :func:`motifscan.motifs.export.export_motifs` adds
        negatives.
    groups
        Filter indices knocked out together, one entry per group (e.g. filters that learned
        the same motif: knocking one of them out alone costs little while the others stand
        in). ``None``: every filter alone, in filter order.
    max_elements
        Memory bound for the ``(G, B, F)`` knock-out stack.
    device
        Where to compute; ``None`` = the model's device.

    Returns
    -------
    Influence
    """
    head = model.head_params().module  # the one door: refuses a head these knock-outs do not fit
    device = torch.device(device) if device is not None else next(model.parameters()).device
    pooled_t = torch.as_tensor(np.asarray(pooled, dtype=np.float32), device=device)
    n, n_filters = pooled_t.shape
    if n == 0:
        raise ValueError("influence needs at least one sequence")
    n_tasks = len(model.config.tasks)
    if labels is None:
        labels_np = np.ones((n, n_tasks), dtype=np.float32)
    else:
        labels_np = np.array(np.broadcast_to(np.asarray(labels, dtype=np.float32).reshape(n, -1), (n, n_tasks)))
    weights_np = class_weights(labels_np)  # per task: each class of each task weighs the same
    labelled = weights_np.sum(axis=0) > 0  # tasks with any known label
    if not labelled.any():
        raise ValueError("influence needs at least one known label")
    labels_t = torch.as_tensor(np.nan_to_num(labels_np), device=device)
    task_w = torch.as_tensor(weights_np, dtype=torch.float64, device=device)  # each task's column sums to 1
    weights_t = task_w / int(labelled.sum())  # all tasks together sum to 1
    # knock-out value: the mean of the class means (per-sequence weight summed over tasks)
    knockout = (weights_t.sum(1)[:, None] * pooled_t.double()).sum(0).float()
    if groups is None:
        groups = [(f,) for f in range(n_filters)]
    groups = [tuple(int(f) for f in g) for g in groups]
    mask = torch.zeros(len(groups), n_filters, dtype=torch.bool, device=device)
    for g, members in enumerate(groups):
        if not members or min(members) < 0 or max(members) >= n_filters:
            raise ValueError(f"group {g} {members} is empty or names a filter outside 0..{n_filters - 1}")
        mask[g, list(members)] = True
    batch = max(1, max_elements // max(1, len(groups) * n_filters))
    was_training = model.training
    model.eval()
    try:
        base = torch.zeros(n_tasks, dtype=torch.float64, device=device)
        loss = torch.zeros(len(groups), n_tasks, dtype=torch.float64, device=device)
        pred = torch.zeros(len(groups), n_tasks, dtype=torch.float64, device=device)
        for i in range(0, n, batch):
            x, y, w = pooled_t[i : i + batch], labels_t[i : i + batch], task_w[i : i + batch]
            logits = head(x)  # (B, T)
            bce = F.binary_cross_entropy_with_logits(logits, y, reduction="none")
            base += (bce.double() * w).sum(0)
            knocked = torch.where(mask[:, None, :], knockout[None, None, :], x[None])  # (G, B, F)
            k_logits = head(knocked.reshape(-1, n_filters)).reshape(len(groups), len(x), -1)
            k_bce = F.binary_cross_entropy_with_logits(k_logits, y.expand_as(k_logits), reduction="none")
            loss += (k_bce.double() * w).sum(dim=1)
            change = torch.sigmoid(k_logits) - torch.sigmoid(logits)[None]
            pred += (change.double().square() * w).sum(dim=1)
    finally:
        model.train(was_training)
    task_loss = (loss - base[None, :]).cpu().numpy()
    task_pred = pred.cpu().numpy()
    use = np.flatnonzero(labelled)
    return Influence(
        loss=task_loss[:, use].mean(axis=1),
        pred=task_pred[:, use].mean(axis=1),
        base_loss=float(base.cpu().numpy()[use].mean()),
        knockout=knockout.cpu().numpy(),
        groups=groups,
        task_loss=np.where(labelled[None, :], task_loss, np.nan),
        task_pred=np.where(labelled[None, :], task_pred, np.nan),
    )
