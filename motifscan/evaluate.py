"""Evaluate a model on any labelled set: metrics, ROC and precision-recall curves."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .atomic import atomic_open, atomic_path, check_output_path
from .data.datasets import build_labelled_set, load_sequences
from .device import resolve_device
from .io.fasta import IndexedFasta
from .metrics import pr_curve, roc_curve, summary
from .model import MotifCNN

__all__ = ["Evaluation", "evaluate_model", "plot_curves", "write_metrics"]


@dataclass
class Evaluation:
    """Labels, predicted probabilities and their summary metrics."""

    labels: np.ndarray
    scores: np.ndarray
    metrics: dict[str, Any]


def evaluate_model(
    model: MotifCNN,
    positives: str | os.PathLike,
    *,
    negatives: str | os.PathLike = "shuffle",
    genome: str | os.PathLike | None = None,
    neg_ratio: int = 1,
    seed: int = 0,
    device: str | None = "auto",
    batch_size: int = 256,
) -> Evaluation:
    """Score positives and negatives with ``model`` and compute AUROC/AUPRC.

    Sequences are cut or padded to the model's training length; negatives are generated as in
    training (``shuffle``, ``background``) or read from a file.
    """
    fa = IndexedFasta(genome) if genome is not None else None
    length = model.config.seq_length
    pos = load_sequences(positives, genome=fa, length=length, min_length=model.config.filter_width)
    data = build_labelled_set(pos, negatives, genome=fa, neg_ratio=neg_ratio, seed=seed, min_length=model.config.filter_width)
    dev = resolve_device(device)
    scores = model.to(dev).predict_codes(data.codes, batch_size=batch_size)[:, 0]
    model.cpu()
    return Evaluation(data.labels, scores, summary(data.labels, scores))


def write_metrics(metrics: dict[str, Any], path: str | os.PathLike) -> Path:
    """Write metrics as indented JSON (atomically)."""
    with atomic_open(path) as fh:
        json.dump(metrics, fh, indent=2, sort_keys=True, default=float)
        fh.write("\n")
    return Path(path)


def plot_curves(labels: np.ndarray, scores: np.ndarray, out_dir: str | os.PathLike, *, title: str = "") -> list[Path]:
    """Draw ``roc.png`` and ``pr.png`` into ``out_dir`` (atomically); returns their paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir = Path(out_dir)
    m = summary(labels, scores)
    fpr, tpr, _ = roc_curve(labels, scores)
    precision, recall, _ = pr_curve(labels, scores)
    paths = []
    for name, x, y, xl, yl, label, diag in (
        ("roc.png", fpr, tpr, "false positive rate", "true positive rate", f"AUROC {m['auroc']:.3f}", True),
        ("pr.png", recall, precision, "recall", "precision", f"AUPRC {m['auprc']:.3f}", False),
    ):
        fig, ax = plt.subplots(figsize=(4, 4), dpi=120)
        ax.plot(x, y, drawstyle="steps-post" if name == "pr.png" else "default", label=label)
        if diag:
            ax.plot([0, 1], [0, 1], ls="--", c="grey", lw=0.8)
        ax.set(xlabel=xl, ylabel=yl, xlim=(0, 1), ylim=(0, 1.02), title=title or None)
        ax.legend(loc="lower right" if diag else "lower left")
        fig.tight_layout()
        target = out_dir / name
        check_output_path(target)
        with atomic_path(target) as tmp:
            fig.savefig(tmp, format="png")
        plt.close(fig)
        paths.append(target)
    return paths
