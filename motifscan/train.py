"""Training: fit a :class:`~motifscan.model.MotifCNN` to bound vs. unbound sequences, one or many tasks.

:func:`fit` is the loop (Adam, binary cross-entropy on logits balanced per task, unknown labels
masked out, early stopping on the mean validation AUPRC over tasks with best-epoch restore);
:func:`train_model` is the whole job the CLI runs: load positives, make or load negatives (per
task, see :mod:`motifscan.data.tasks`), split (chromosome hold-out where coordinates are known),
fit, and score train/valid/test per task.

A one-task model trains exactly as before multi-task models existed (same data, same loss, same
weights for the same seed).

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
from .data.datasets import LabelledSet, Split, split_dataset
from .data.windows import Windows
from .data.tasks import build_task_set
from .device import resolve_device, set_threads
from .errors import InputError, UsageError
from .text import plural
from .io.samplesheet import TaskSpec
from .metrics import as_task_labels, task_metrics
from .model import ModelConfig, MotifCNN, file_sha256

__all__ = ["fit", "train_model", "TrainOptions", "TrainResult", "seed_everything", "file_sha256"]

log = logging.getLogger("motifscan")


@dataclass(frozen=True)
class TrainOptions:
    """How a model is trained: the defaults of ``motifscan train``, defined here once.

    The CLI's option defaults are these class attributes; the workflow schema's ``train:``
    defaults must equal them (``tests/test_rough_edges.py`` checks). The architecture's defaults
    are :class:`~motifscan.model.ModelConfig`'s.

    Attributes
    ----------
    length
        Sequence length (BED windows centred on the summit; FASTA records cropped or N-padded).
    neg_ratio
        Generated negatives per positive.
    n_filters, filter_width, rc_sharing, hidden, dropout
        The architecture (see :class:`~motifscan.model.ModelConfig`).
    epochs, patience, min_epochs
        At most ``epochs`` passes; after ``min_epochs``, stop once ``patience`` epochs pass
        without a better validation AUPRC.
    batch_size, lr, weight_decay
        Adam settings.
    seed
        Seed of the negatives, the split, the initialisation, batch order and dropout.
    valid_chroms, test_chroms
        Held-out chromosomes; ``None`` holds out :data:`DEFAULT_VALID_CHROMS` and
        :data:`DEFAULT_TEST_CHROMS` (the chromosomes the workflow names by default), falling back
        to a stratified random split when the data lacks them.
    """

    length: int = ModelConfig.seq_length
    neg_ratio: int = 1
    n_filters: int = ModelConfig.n_filters
    filter_width: int = ModelConfig.filter_width
    rc_sharing: bool = ModelConfig.rc_sharing
    hidden: int = ModelConfig.hidden
    dropout: float = ModelConfig.dropout
    epochs: int = 60
    batch_size: int = 64
    lr: float = 3e-3
    weight_decay: float = 1e-4
    patience: int = 8
    min_epochs: int = 10
    seed: int = 0
    valid_chroms: tuple[str, ...] | None = None
    test_chroms: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.length < self.filter_width:  # checked before any data is read
            raise UsageError(
                f"--length {self.length} is shorter than --filter-width {self.filter_width}",
                hint="use a --length of at least the filter width",
            )
        for name in ("valid_chroms", "test_chroms"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, tuple(value))


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
    """Logits ``(N, T)`` float32, written in place (atlas sets: 10^6 x 100s, no list of parts to join)."""
    model.eval()
    out = np.empty((len(codes), len(model.config.tasks)), dtype=np.float32)
    for i in range(0, len(codes), batch_size):
        x = one_hot_torch(torch.from_numpy(codes[i : i + batch_size]).to(device))
        out[i : i + len(x)] = model(x).float().cpu().numpy()
    return out


class _TaskLoss:
    """Binary cross-entropy on logits ``(B, T)``, each task's classes balanced, unknown labels masked.

    ``pos_weight[t] = negatives / positives`` of task ``t`` (over its known labels). With every
    label known this is ``BCEWithLogitsLoss(pos_weight)`` averaged over all entries -- for one
    task, exactly the loss one-task models were always trained with; with unknown (NaN) labels
    the masked entries give no gradient and the mean runs over the known ones.
    """

    def __init__(self, labels: np.ndarray, device: torch.device) -> None:
        if labels.dtype == np.uint8:  # pooled 0/1 bytes, all known: column sums, no (N, T) temporaries
            n_pos = labels.sum(axis=0, dtype=np.int64).astype(np.float64)
            n_known = np.full(labels.shape[1], float(len(labels)))
        else:
            known = ~np.isnan(labels)
            n_pos = np.where(known, labels == 1, False).sum(axis=0).astype(np.float64)
            n_known = known.sum(axis=0).astype(np.float64)
        self.pos_weight = torch.tensor((n_known - n_pos) / np.maximum(n_pos, 1.0), dtype=torch.float32, device=device)
        self.dense = torch.nn.BCEWithLogitsLoss(pos_weight=self.pos_weight)

    def __call__(self, logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        known = ~torch.isnan(y)
        if bool(known.all()):
            return self.dense(logits, y)
        el = torch.nn.functional.binary_cross_entropy_with_logits(
            logits, torch.nan_to_num(y), pos_weight=self.pos_weight, reduction="none")
        return (el * known).sum() / known.sum().clamp(min=1)


#: float32's smallest normal number: parameters below it are denormal.
_TINY = float(torch.finfo(torch.float32).tiny)


@torch.no_grad()
def _zero_denormals(params: Sequence[torch.Tensor]) -> None:
    """Parameters that shrank below float32's smallest normal number set to 0.

    A filter that stops firing gets no gradient but weight decay; Adam then shrinks its weights
    geometrically, into the denormal range, and every multiplication by a denormal takes the
    CPU's slow path (the x86 microcode assist): a 100-task atlas model ran its convolutions ~6x
    slower by its second epoch. Zeroing them changes nothing else (they are below 1.2e-38).
    """
    for p in params:
        p.masked_fill_(p.abs() < _TINY, 0.0)


def fit(
    model: MotifCNN,
    train_codes: np.ndarray | Windows,
    train_labels: np.ndarray,
    valid_codes: np.ndarray | Windows,
    valid_labels: np.ndarray,
    *,
    epochs: int = TrainOptions.epochs,
    batch_size: int = TrainOptions.batch_size,
    lr: float = TrainOptions.lr,
    weight_decay: float = TrainOptions.weight_decay,
    patience: int = TrainOptions.patience,
    min_epochs: int = TrainOptions.min_epochs,
    seed: int = TrainOptions.seed,
    device: str | torch.device | None = None,
    progress: bool = True,
) -> list[dict[str, float]]:
    """Train ``model`` in place and restore the epoch with the best (mean) validation AUPRC.

    Parameters
    ----------
    model
        The network.
    train_codes, valid_codes
        ``uint8`` codes ``(N, L)``: an array, or :class:`~motifscan.data.windows.Windows` (pooled
        sets; rows gathered a batch at a time).
    train_labels, valid_labels
        0/1 labels ``(N,)`` for a one-task model, or ``(N, T)`` with NaN where a label is
        unknown (masked out of the loss and the metrics).
    epochs, patience, min_epochs
        At most ``epochs`` passes; after ``min_epochs`` (small data sets learn slowly at first),
        stop once ``patience`` epochs pass without a better validation AUPRC (the mean over
        tasks). Defaults: :class:`TrainOptions`.
    lr, weight_decay, batch_size
        Adam settings.
    seed
        Seeds initialisation-independent randomness here (batch order, dropout).
    progress
        Show a tqdm bar per epoch on a terminal; elsewhere (a log file, Snakemake, SLURM) log one
        line per epoch: loss, validation AUROC and AUPRC, seconds.

    Returns
    -------
    list of dict
        One entry per epoch: ``epoch, loss, valid_loss, valid_auroc, valid_auprc`` (means over
        tasks), and ``seconds``.
    """
    from tqdm import tqdm

    device = resolve_device(device) if not isinstance(device, torch.device) else device
    model.to(device)
    tasks = list(model.config.tasks)
    y_train = as_task_labels(train_labels, len(tasks))
    y_valid = as_task_labels(valid_labels, len(tasks))
    loss_fn = _TaskLoss(y_train, device)
    params = [p for p in model.parameters() if p.requires_grad]
    optimiser = torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    rng = np.random.default_rng(seed)
    # rows are gathered a batch at a time (numpy indexing): from an array, or from the genome
    # windows of a pooled set (:class:`~motifscan.data.windows.Windows`), the same bytes either way
    codes = train_codes if isinstance(train_codes, Windows) else np.ascontiguousarray(train_codes)
    valid_t = torch.from_numpy(y_valid).to(device).float()
    best_score, best_loss, best_state, best_epoch, waited = -np.inf, np.inf, None, 0, 0
    history: list[dict[str, float]] = []
    show = progress and sys.stderr.isatty() and log.isEnabledFor(logging.INFO)
    for epoch in range(1, epochs + 1):
        started = time.perf_counter()
        model.train()
        order = rng.permutation(len(codes))
        total, seen = 0.0, 0
        bar = tqdm(
            range(0, len(order), batch_size), desc=f"epoch {epoch}", unit="batch", leave=False, disable=not show
        )
        for i in bar:
            idx = order[i : i + batch_size]
            x = one_hot_torch(torch.from_numpy(codes[idx]).to(device, non_blocking=True))
            y = torch.from_numpy(y_train[idx]).to(device).float()  # uint8 labels (pooled): floats per batch
            optimiser.zero_grad(set_to_none=True)
            loss = loss_fn(model(x), y)
            loss.backward()
            optimiser.step()
            _zero_denormals(params)
            total += loss.item() * len(idx)
            seen += len(idx)
            bar.set_postfix(loss=f"{total / seen:.4f}")
        bar.close()
        logits = _predict_logits(model, valid_codes, device)
        v = task_metrics(y_valid, logits, tasks)
        valid_loss = float(loss_fn(torch.from_numpy(logits).to(device), valid_t))
        history.append({"epoch": epoch, "loss": total / max(seen, 1), "valid_loss": valid_loss,
                        "valid_auroc": v["auroc"], "valid_auprc": v["auprc"],
                        "seconds": round(time.perf_counter() - started, 3)})
        if show:
            tqdm.write(f"epoch {epoch:3d}  loss {total / max(seen, 1):.4f}  valid AUROC {v['auroc']:.4f}  AUPRC {v['auprc']:.4f}", file=sys.stderr)
        else:  # off a terminal (Snakemake and SLURM logs) one line per epoch instead of the bar
            (log.info if progress else log.debug)(
                "epoch %d of at most %d: loss %.4f, valid AUROC %.4f, AUPRC %.4f (%.1f s)", epoch, epochs,
                total / max(seen, 1), v["auroc"], v["auprc"], history[-1]["seconds"])
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
    positives: str | os.PathLike | Sequence[TaskSpec],
    *,
    genome: str | os.PathLike | None = None,
    negatives: str | os.PathLike = "shuffle",
    options: TrainOptions | None = None,
    device: str | torch.device | None = "auto",
    threads: int = 0,
    progress: bool = True,
    command: str | None = None,
) -> TrainResult:
    """Train a model on peaks vs. negatives; the library form of ``motifscan train``.

    Parameters
    ----------
    positives
        Bound sequences of a one-task model: FASTA, or BED/narrowPeak with ``genome``. Or, for a
        multi-task model, a list of :class:`~motifscan.io.samplesheet.TaskSpec` (name, peaks,
        negatives, genome per task; see :mod:`motifscan.data.tasks` for how labels are built).
    genome
        Genome FASTA (plain or bgzip) for BED input and background negatives (one task).
    negatives
        ``"shuffle"`` (dinucleotide shuffles of the positives), ``"background"`` (GC-matched
        genomic regions; BED positives only) or a FASTA/BED file (one task).
    options
        Data, architecture and training settings (:class:`TrainOptions`; default its defaults).
    device, threads
        Where to train.
    command
        The command line, recorded in the model's provenance.

    Returns
    -------
    TrainResult
        The model (best epoch) with ``model.metrics`` filled: AUROC/AUPRC on train, valid and
        test (per task and their mean for several tasks), best epoch, split method and sizes.
    """
    o = options if options is not None else TrainOptions()
    seed = o.seed
    started = time.perf_counter()
    set_threads(threads)
    dev = resolve_device(device)
    seed_everything(seed, dev)
    single = isinstance(positives, (str, os.PathLike))
    if single:
        specs = [TaskSpec("bound", os.fspath(positives), os.fspath(negatives),
                          os.fspath(genome) if genome is not None else None)]
    else:
        specs = list(positives)
        if not specs:
            raise UsageError("no tasks given")
    built = build_task_set(specs, length=o.length, neg_ratio=o.neg_ratio, seed=seed, min_length=o.filter_width)
    data = built.data
    length = data.codes.shape[1]
    split = split_dataset(data, valid_chroms=o.valid_chroms, test_chroms=o.test_chroms, seed=seed,
                          tasks=None if single else [s.name for s in specs])
    _check_split_sizes(split, data, specs[0].peaks if single else None)
    n_pos, n_neg = _label_counts(data.labels)
    log.info(
        "%s (%s labels), %d sequences: %d positive and %d negative labels; split by %s: train %d, "
        "valid %d, test %d", plural(len(specs), "task"), built.mode, len(data), n_pos, n_neg,
        split.method, len(split.train), len(split.valid), len(split.test),
    )
    config = ModelConfig(
        n_filters=o.n_filters, filter_width=o.filter_width, rc_sharing=o.rc_sharing, hidden=o.hidden,
        dropout=o.dropout, seq_length=length, tasks=["bound"] if single else [s.name for s in specs],
    )
    torch.manual_seed(seed)
    model = MotifCNN(config)
    tr, va, te = data.subset(split.train), data.subset(split.valid), data.subset(split.test)
    for part, subset in (("validation", va), ("test", te)):
        _check_held_out(subset.labels, config.tasks, part)
    history = fit(
        model, tr.codes, tr.labels, va.codes, va.labels, epochs=o.epochs, batch_size=o.batch_size, lr=o.lr,
        weight_decay=o.weight_decay, patience=o.patience, min_epochs=o.min_epochs, seed=seed, device=dev,
        progress=progress,
    )
    metrics: dict[str, Any] = {}
    for part, subset in (("train", tr), ("valid", va), ("test", te)):
        metrics[part] = task_metrics(subset.labels, _predict_logits(model, subset.codes, dev), config.tasks)
    metrics.update(
        best_epoch=model.metrics["best_epoch"], epochs_run=model.metrics["epochs_run"], split=split.method,
        valid_chroms=split.valid_chroms, test_chroms=split.test_chroms,
        train_seconds=round(time.perf_counter() - started, 2), device=str(dev),
    )
    if not single:
        metrics["labels"] = built.mode
        metrics["epoch_seconds"] = round(float(np.mean([h["seconds"] for h in history])), 3)
    model.metrics = metrics
    model.provenance = {
        "motifscan_version": __version__,
        "torch_version": torch.__version__,
        "command": command or "",
        "seed": seed,
        "negatives": _negatives_mode(specs[0].negatives) if single else {s.name: _negatives_mode(s.negatives)
                                                                         for s in specs},
        "neg_ratio": o.neg_ratio,
        "inputs": _input_files(specs, single),
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "training": {"epochs": o.epochs, "batch_size": o.batch_size, "lr": o.lr, "weight_decay": o.weight_decay,
                     "patience": o.patience},
    }
    if not single:
        model.provenance["tasks"] = [{"name": s.name, "labels": built.mode} for s in specs]
    model.cpu()
    return TrainResult(model, metrics, history, split, data)


def _label_counts(labels: np.ndarray) -> tuple[int, int]:
    """Positive and negative labels (unknown ones not counted); pooled 0/1 bytes are all known, so
    a sum counts them without (N, T) temporaries (1.7M x 100 labels: 170 MB each)."""
    if labels.dtype == np.uint8:
        n_pos = int(labels.sum(dtype=np.int64))
        return n_pos, labels.size - n_pos
    return int((labels == 1).sum()), int(((labels == 0) & ~np.isnan(labels)).sum())


def _negatives_mode(negatives: str | None) -> str:
    return negatives if negatives in ("shuffle", "background") else ("shuffle" if negatives is None else "file")


def _input_files(specs: Sequence[TaskSpec], single: bool) -> dict[str, dict[str, str]]:
    """``{key: {path, sha256}}`` of every input file (keys ``positives``... for one task, else
    ``TASK.positives``...)."""
    out = {}
    digests: dict[str, str] = {}  # a genome shared by hundreds of tasks is read once
    for s in specs:
        prefix = "" if single else f"{s.name}."
        files = {"positives": s.peaks}
        if s.genome is not None:
            files["genome"] = s.genome
        if s.negatives not in (None, "shuffle", "background"):
            files["negatives"] = s.negatives
        for key, path in files.items():
            if Path(path).is_file():
                real = os.path.realpath(path)
                if real not in digests:
                    digests[real] = file_sha256(path)
                out[prefix + key] = {"path": path, "sha256": digests[real]}
    return out


#: Fewest sequences of each label that give every part of the default stratified split one
#: (10% validation, 20% test, rounded): 6 of each, so about 10 positives with their negatives.
MIN_PER_LABEL = 6


def _check_split_sizes(split: Split, data: LabelledSet, path: str | None) -> None:
    """One clear line when a part of the split is empty: too few sequences to train and evaluate."""
    for name, part in (("training", split.train), ("validation", split.valid), ("test", split.test)):
        if len(part) == 0:
            raise InputError(
                f"{plural(len(data), 'sequence')} (positives and negatives) {'is' if len(data) == 1 else 'are'} too few to train: the {name} set "
                "is empty",
                path=path,
                hint=f"give at least {MIN_PER_LABEL} positive and {MIN_PER_LABEL} negative sequences, so that the "
                     "validation (10%) and test (20%) sets get one of each (10 or more positives to learn anything)",
            )


def _check_held_out(labels: np.ndarray, tasks: Sequence[str], part: str) -> None:
    """Warn about a task that has no positive or no negative label in a held-out part."""
    y = as_task_labels(labels, len(tasks))
    for t, name in enumerate(tasks):
        col = y[:, t][~np.isnan(y[:, t])]
        if len(tasks) > 1 and (not (col == 1).any() or not (col == 0).any()):
            log.warning("task %s has %s in the %s set: its metrics there are undefined", name,
                        "no positive" if not (col == 1).any() else "no negative", part)
