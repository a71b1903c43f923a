"""Training: fit a :class:`~motifscan.model.MotifCNN` to bound vs. unbound sequences.

:func:`fit` is the loop (Adam, class-balanced binary cross-entropy on logits, early stopping on
validation AUPRC with best-epoch restore); :func:`train_model` is the whole job the CLI runs:
load positives, make or load negatives, split (chromosome hold-out where coordinates are known),
fit, and score train/valid/test.

Reproducibility: the same ``seed`` on the same CPU (and thread count) gives the same model; on
CUDA, deterministic algorithms are switched on when a seed is given.
"""

from __future__ import annotations

import copy
import logging
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from ._version import __version__
from .codes import one_hot_torch
from .data.datasets import (
    LabelledSet,
    Split,
    build_labelled_set,
    load_sequences,
    split_dataset,
)
from .device import resolve_device, set_threads
from .errors import UsageError
from .io.fasta import IndexedFasta
from .metrics import summary
from .model import ModelConfig, MotifCNN, file_sha256

__all__ = ["fit", "train_model", "TrainResult", "seed_everything", "file_sha256"]

log = logging.getLogger("motifscan")


@dataclass
class TrainResult:
    """What :func:`train_model` returns: the fitted model (best epoch), metrics and history."""

    model: MotifCNN
    metrics: dict[str, Any]
    history: list[dict[str, float]] = field(default_factory=list)
    split: Split | None = None
    data: LabelledSet | None = None


def seed_everything(seed: int, device: torch.device | None = None) -> None:
    """Seed torch (CPU and CUDA); on CUDA also ask for deterministic algorithms."""
    torch.manual_seed(seed)
    if device is not None and device.type == "cuda":
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.benchmark = False


@torch.no_grad()
def _predict_logits(model: MotifCNN, codes: np.ndarray, device: torch.device, batch_size: int = 512) -> np.ndarray:
    model.eval()
    out = []
    for i in range(0, len(codes), batch_size):
        x = one_hot_torch(torch.from_numpy(codes[i : i + batch_size]).to(device))
        out.append(model(x).float().cpu().numpy())
    return np.concatenate(out)[:, 0] if out else np.zeros(0, np.float32)


def fit(
    model: MotifCNN,
    train_codes: np.ndarray,
    train_labels: np.ndarray,
    valid_codes: np.ndarray,
    valid_labels: np.ndarray,
    *,
    epochs: int = 60,
    batch_size: int = 64,
    lr: float = 3e-3,
    weight_decay: float = 1e-4,
    patience: int = 8,
    min_epochs: int = 10,
    seed: int = 0,
    device: str | torch.device | None = None,
    progress: bool = True,
) -> list[dict[str, float]]:
    """Train ``model`` in place and restore the epoch with the best validation AUPRC.

    Parameters
    ----------
    model
        The network (single task: labels are ``(N,)`` 0/1).
    train_codes, valid_codes
        ``uint8`` codes ``(N, L)``.
    train_labels, valid_labels
        0/1 labels ``(N,)``.
    epochs, patience, min_epochs
        At most ``epochs`` passes; after ``min_epochs`` (small data sets learn slowly at first),
        stop once ``patience`` epochs pass without a better validation AUPRC.
    lr, weight_decay, batch_size
        Adam settings.
    seed
        Seeds initialisation-independent randomness here (batch order, dropout).
    progress
        Show a tqdm bar per epoch (only on a terminal).

    Returns
    -------
    list of dict
        One entry per epoch: ``epoch, loss, valid_loss, valid_auroc, valid_auprc``.
    """
    from tqdm import tqdm

    device = resolve_device(device) if not isinstance(device, torch.device) else device
    model.to(device)
    y_train = np.asarray(train_labels, dtype=np.float32)
    n_pos = float(y_train.sum())
    pos_weight = torch.tensor([(len(y_train) - n_pos) / max(n_pos, 1.0)], device=device)
    loss_fn = torch.nn.BCEWithLogitsLoss(pos_weight=pos_weight)
    optimiser = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    rng = np.random.default_rng(seed)
    codes_t = torch.from_numpy(np.ascontiguousarray(train_codes))
    labels_t = torch.from_numpy(y_train)
    best_score, best_loss, best_state, best_epoch, waited = -np.inf, np.inf, None, 0, 0
    history: list[dict[str, float]] = []
    show = progress and sys.stderr.isatty() and log.isEnabledFor(logging.INFO)
    for epoch in range(1, epochs + 1):
        model.train()
        order = torch.from_numpy(rng.permutation(len(codes_t)))
        total, seen = 0.0, 0
        bar = tqdm(
            range(0, len(order), batch_size), desc=f"epoch {epoch}", unit="batch", leave=False, disable=not show
        )
        for i in bar:
            idx = order[i : i + batch_size]
            x = one_hot_torch(codes_t[idx].to(device, non_blocking=True))
            y = labels_t[idx].to(device)
            optimiser.zero_grad(set_to_none=True)
            loss = loss_fn(model(x)[:, 0], y)
            loss.backward()
            optimiser.step()
            total += loss.item() * len(idx)
            seen += len(idx)
            bar.set_postfix(loss=f"{total / seen:.4f}")
        bar.close()
        logits = _predict_logits(model, valid_codes, device)
        v = summary(valid_labels, logits)
        valid_loss = float(loss_fn(torch.from_numpy(logits).to(device), torch.from_numpy(np.asarray(valid_labels, np.float32)).to(device)))
        history.append({"epoch": epoch, "loss": total / max(seen, 1), "valid_loss": valid_loss,
                        "valid_auroc": v["auroc"], "valid_auprc": v["auprc"]})
        log.debug("epoch %d: loss %.4f, valid AUPRC %.4f", epoch, total / max(seen, 1), v["auprc"])
        if show:
            tqdm.write(f"epoch {epoch:3d}  loss {total / max(seen, 1):.4f}  valid AUROC {v['auroc']:.4f}  AUPRC {v['auprc']:.4f}", file=sys.stderr)
        score = v["auprc"] if np.isfinite(v["auprc"]) else -valid_loss
        # a small validation set saturates AUPRC: an equal AUPRC with a lower loss still counts
        improved = score > best_score + 1e-6 or (score >= best_score - 1e-6 and valid_loss < best_loss)
        if improved:
            best_score, best_loss, best_epoch, waited = max(score, best_score), valid_loss, epoch, 0
            best_state = copy.deepcopy(model.state_dict())
        else:
            waited += 1
            if waited >= patience and epoch >= min_epochs:
                break
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    model.metrics["best_epoch"] = best_epoch
    model.metrics["epochs_run"] = len(history)
    return history


def train_model(
    positives: str | os.PathLike,
    *,
    genome: str | os.PathLike | None = None,
    negatives: str | os.PathLike = "shuffle",
    neg_ratio: int = 1,
    length: int = 200,
    n_filters: int = 64,
    filter_width: int = 19,
    rc_sharing: bool = True,
    hidden: int = 0,
    dropout: float = 0.2,
    epochs: int = 60,
    batch_size: int = 64,
    lr: float = 3e-3,
    weight_decay: float = 1e-4,
    patience: int = 8,
    seed: int = 0,
    valid_chroms: Sequence[str] | None = None,
    test_chroms: Sequence[str] | None = None,
    device: str | torch.device | None = "auto",
    threads: int = 0,
    progress: bool = True,
    command: str | None = None,
) -> TrainResult:
    """Train a model on peaks vs. negatives; the library form of ``motifscan train``.

    Parameters
    ----------
    positives
        Bound sequences: FASTA, or BED/narrowPeak with ``genome``.
    genome
        Genome FASTA (plain or bgzip) for BED input and background negatives.
    negatives
        ``"shuffle"`` (dinucleotide shuffles of the positives), ``"background"`` (GC-matched
        genomic regions; BED positives only) or a FASTA/BED file.
    neg_ratio
        Negatives per positive (generated modes).
    length
        Sequence length (BED windows; FASTA records are cropped or N-padded to it).
    n_filters, filter_width, rc_sharing, hidden, dropout
        Architecture (see :class:`~motifscan.model.ModelConfig`).
    epochs, batch_size, lr, weight_decay, patience, seed
        Training settings (see :func:`fit`).
    valid_chroms, test_chroms
        Held-out chromosomes (defaults in :mod:`motifscan.data.datasets`).
    device, threads
        Where to train.
    command
        The command line, recorded in the model's provenance.

    Returns
    -------
    TrainResult
        The model (best epoch) with ``model.metrics`` filled: AUROC/AUPRC on train, valid and
        test, best epoch, split method and sizes.
    """
    if length < filter_width:  # checked before any data is read
        raise UsageError(
            f"--length {length} is shorter than --filter-width {filter_width}",
            hint="use a --length of at least the filter width",
        )
    started = time.perf_counter()
    set_threads(threads)
    dev = resolve_device(device)
    seed_everything(seed, dev)
    fa = IndexedFasta(genome) if genome is not None else None
    pos = load_sequences(positives, genome=fa, length=length, min_length=filter_width)
    length = pos.codes.shape[1]
    data = build_labelled_set(pos, negatives, genome=fa, neg_ratio=neg_ratio, seed=seed, min_length=filter_width)
    split = split_dataset(data, valid_chroms=valid_chroms, test_chroms=test_chroms, seed=seed)
    log.info(
        "%d positives, %d negatives (%s); split by %s: train %d, valid %d, test %d",
        int(data.labels.sum()), int((data.labels == 0).sum()), os.fspath(negatives), split.method,
        len(split.train), len(split.valid), len(split.test),
    )
    config = ModelConfig(
        n_filters=n_filters, filter_width=filter_width, rc_sharing=rc_sharing, hidden=hidden,
        dropout=dropout, seq_length=length,
    )
    torch.manual_seed(seed)
    model = MotifCNN(config)
    tr, va, te = data.subset(split.train), data.subset(split.valid), data.subset(split.test)
    history = fit(
        model, tr.codes, tr.labels, va.codes, va.labels, epochs=epochs, batch_size=batch_size, lr=lr,
        weight_decay=weight_decay, patience=patience, seed=seed, device=dev, progress=progress,
    )
    metrics: dict[str, Any] = {}
    for part, subset in (("train", tr), ("valid", va), ("test", te)):
        metrics[part] = summary(subset.labels, _predict_logits(model, subset.codes, dev))
    metrics.update(
        best_epoch=model.metrics["best_epoch"], epochs_run=model.metrics["epochs_run"], split=split.method,
        valid_chroms=split.valid_chroms, test_chroms=split.test_chroms,
        train_seconds=round(time.perf_counter() - started, 2), device=str(dev),
    )
    model.metrics = metrics
    inputs = {"positives": os.fspath(positives)}
    if genome is not None:
        inputs["genome"] = os.fspath(genome)
    if os.fspath(negatives) not in ("shuffle", "background"):
        inputs["negatives"] = os.fspath(negatives)
    model.provenance = {
        "motifscan_version": __version__,
        "torch_version": torch.__version__,
        "command": command or "",
        "seed": seed,
        "negatives": os.fspath(negatives) if os.fspath(negatives) in ("shuffle", "background") else "file",
        "neg_ratio": neg_ratio,
        "inputs": {k: {"path": v, "sha256": file_sha256(v)} for k, v in inputs.items() if Path(v).is_file()},
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "training": {"epochs": epochs, "batch_size": batch_size, "lr": lr, "weight_decay": weight_decay, "patience": patience},
    }
    model.cpu()
    return TrainResult(model, metrics, history, split, data)
