"""Classification metrics (AUROC, AUPRC) and curves, in NumPy.

AUPRC is average precision as scikit-learn defines it (step-wise, no interpolation), the usual
choice for imbalanced ChIP-seq sets; AUROC is the Mann-Whitney statistic with ties counted half.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

__all__ = ["auroc", "auprc", "roc_curve", "pr_curve", "summary", "task_metrics", "as_task_labels"]


def _check(labels, scores) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(labels, dtype=np.float64).ravel()
    s = np.asarray(scores, dtype=np.float64).ravel()
    if y.shape != s.shape:
        raise ValueError("labels and scores differ in length")
    return y, s


def auroc(labels, scores) -> float:
    """Area under the ROC curve (NaN when only one class is present)."""
    y, s = _check(labels, scores)
    n_pos, n_neg = int((y == 1).sum()), int((y == 0).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    order = np.argsort(s, kind="mergesort")
    ranks = np.empty(len(s), dtype=np.float64)
    sorted_s = s[order]
    # average ranks over ties
    boundaries = np.flatnonzero(np.diff(sorted_s)) + 1
    starts = np.concatenate([[0], boundaries])
    ends = np.concatenate([boundaries, [len(s)]])
    avg = (starts + ends + 1) / 2.0
    ranks[order] = np.repeat(avg, ends - starts)
    return float((ranks[y == 1].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def _desc_thresholds(y: np.ndarray, s: np.ndarray):
    order = np.argsort(-s, kind="mergesort")
    s, y = s[order], y[order]
    last = np.concatenate([np.flatnonzero(np.diff(s)), [len(s) - 1]])
    tps = np.cumsum(y)[last]
    fps = (last + 1) - tps
    return tps, fps, s[last]


def roc_curve(labels, scores) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """False-positive rates, true-positive rates and thresholds (starting at (0, 0))."""
    y, s = _check(labels, scores)
    tps, fps, thr = _desc_thresholds(y, s)
    tpr = np.concatenate([[0.0], tps / max(tps[-1], 1)])
    fpr = np.concatenate([[0.0], fps / max(fps[-1], 1)])
    return fpr, tpr, np.concatenate([[np.inf], thr])


def pr_curve(labels, scores) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Precision, recall and thresholds, from high to low threshold (recall rising)."""
    y, s = _check(labels, scores)
    tps, fps, thr = _desc_thresholds(y, s)
    precision = tps / (tps + fps)
    recall = tps / max(tps[-1], 1)
    return np.concatenate([[1.0], precision]), np.concatenate([[0.0], recall]), np.concatenate([[np.inf], thr])


def auprc(labels, scores) -> float:
    """Average precision: sum over thresholds of (recall step) x precision."""
    y, s = _check(labels, scores)
    if (y == 1).sum() == 0:
        return float("nan")
    precision, recall, _ = pr_curve(y, s)
    return float(np.sum(np.diff(recall) * precision[1:]))


def summary(labels, scores) -> dict[str, float]:
    """``{"auroc", "auprc", "n", "n_pos"}`` for one labelled set."""
    y, s = _check(labels, scores)
    return {"auroc": auroc(y, s), "auprc": auprc(y, s), "n": int(len(y)), "n_pos": int((y == 1).sum())}


def as_task_labels(labels: np.ndarray, n_tasks: int) -> np.ndarray:
    """Labels as ``(N, T)``: float32 (NaN = unknown), or uint8 0/1 kept as they are (pooled sets,
    where every label is known: a quarter of the memory, no copy); a one-task ``(N,)`` vector
    becomes one column."""
    y = labels if isinstance(labels, np.ndarray) and labels.dtype == np.uint8 else np.asarray(labels, dtype=np.float32)
    y = y.reshape(len(y), -1)
    if y.shape[1] != n_tasks:
        raise ValueError(f"labels have {y.shape[1]} column(s) for a model with {n_tasks} task(s)")
    return y


def task_metrics(labels: np.ndarray, scores: np.ndarray, tasks: Sequence[str]) -> dict[str, Any]:
    """Metrics of one data part: ``summary`` per task over its known labels, and their mean.

    With one task this is exactly :func:`motifscan.metrics.summary` (the metrics a one-task model
    always had). With several: ``{"auroc", "auprc"}`` = the means over tasks (NaN-free tasks
    only), ``n``/``n_pos`` the labelled entries, and ``"tasks": {name: summary}``.
    """
    y = as_task_labels(labels, len(tasks))
    s = np.asarray(scores).reshape(len(y), -1)
    if len(tasks) == 1:
        return summary(y[:, 0], s[:, 0])
    per = {}
    for t, name in enumerate(tasks):
        known = ~np.isnan(y[:, t])
        per[name] = summary(y[known, t], s[known, t])
    mean = {k: float(np.nanmean([per[n][k] for n in tasks])) if any(np.isfinite(per[n][k]) for n in tasks)
            else float("nan") for k in ("auroc", "auprc")}
    return {**mean, "n": int(sum(per[n]["n"] for n in tasks)), "n_pos": int(sum(per[n]["n_pos"] for n in tasks)),
            "tasks": per}
