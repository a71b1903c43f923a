"""Evaluate a model on any labelled set: metrics, ROC and precision-recall curves, per task.

A multi-task model is evaluated on one peak file per task (or a samplesheet; labels built as in
training, :mod:`motifscan.data.tasks`), or on one peak file for the task it names (``task``);
the metrics then hold each task's and their mean, and each curve has one line per task.

:func:`evaluate_model` scores the set; when a file it is given is byte for byte one of the files
the model was trained on (same SHA-256 as in the model's provenance), the metrics say so
(``evaluated_on_training_data``) and a warning points to the held-out metrics the model file
keeps. :func:`write_evaluation` writes ``metrics.json``, ``roc.png`` and ``pr.png`` into a folder,
all three or none.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .atomic import atomic_open, atomic_path, check_output_dir, check_output_path, output_set
from .data.tasks import build_task_set, task_index
from .device import resolve_device
from .errors import UsageError
from .io.samplesheet import TaskSpec
from .metrics import pr_curve, roc_curve, summary, task_metrics
from .model import MotifCNN, file_sha256

__all__ = ["Evaluation", "evaluate_model", "training_overlap", "plot_curves", "write_metrics", "write_evaluation",
           "check_evaluation_dir", "EVALUATION_FILES"]

log = logging.getLogger("motifscan")

#: The files :func:`write_evaluation` writes.
EVALUATION_FILES = ("roc.png", "pr.png", "metrics.json")
#: Training inputs an evaluated file is compared with (the genome is shared on purpose).
_LABELLED_INPUTS = ("positives", "negatives")


@dataclass
class Evaluation:
    """Labels, predicted probabilities and their summary metrics.

    ``training_overlap`` maps each evaluated file that is one of the model's training inputs
    (``positives``/``negatives``) to the training input it equals (see :func:`training_overlap`).
    """

    labels: np.ndarray
    scores: np.ndarray
    metrics: dict[str, Any]
    training_overlap: dict[str, str] = field(default_factory=dict)
    tasks: list[str] = field(default_factory=list)


def training_overlap(
    model: MotifCNN, positives: str | os.PathLike, negatives: str | os.PathLike | None = None
) -> dict[str, str]:
    """Which evaluated files are byte-identical to a file the model was trained on.

    Compares the SHA-256 of ``positives`` (and of ``negatives`` when it is a file) with the
    training positives and negatives recorded in ``model.provenance["inputs"]`` (the genome is
    left out: evaluating on the training genome is expected). A file that merely shares some
    sequences with the training set is not detected.

    Returns
    -------
    dict
        ``{evaluated role: training role}``, e.g. ``{"positives": "positives"}``; empty when
        nothing matches or the model records no inputs.
    """
    recorded = (getattr(model, "provenance", None) or {}).get("inputs") or {}
    trained = {}
    for key, entry in recorded.items():
        # one-task models record "positives"; multi-task models "TASK.positives"
        if key.rsplit(".", 1)[-1] in _LABELLED_INPUTS and (entry or {}).get("sha256"):
            trained.setdefault(entry["sha256"], key)
    if not trained:
        return {}
    found = {}
    for role, path in (("positives", positives), ("negatives", negatives)):
        if path is None or os.fspath(path) in ("shuffle", "background") or not Path(path).is_file():
            continue
        match = trained.get(file_sha256(path))
        if match is not None:
            found[role] = match
    return found


def _warn_training_data(model: MotifCNN, overlap: dict[str, str], files: dict[str, Any]) -> None:
    which = ", ".join(f"{files[role]} is its training {trained}" for role, trained in overlap.items())
    test = (getattr(model, "metrics", None) or {}).get("test") or {}
    if "auroc" in test and "auprc" in test:
        honest = (f"the honest ones are the held-out test metrics in the model file: AUROC {test['auroc']:.4f}, "
                  f"AUPRC {test['auprc']:.4f}" + (f" (n={test['n']})" if "n" in test else ""))
    else:
        honest = "the model file holds no held-out test metrics; evaluate on peaks the model never saw"
    log.warning("evaluated on the model's training data (%s, same SHA-256): these metrics are optimistic; %s",
                which, honest)


def evaluate_model(
    model: MotifCNN,
    positives: str | os.PathLike | Sequence[TaskSpec],
    *,
    negatives: str | os.PathLike = "shuffle",
    genome: str | os.PathLike | None = None,
    task: str | None = None,
    neg_ratio: int = 1,
    seed: int = 0,
    device: str | None = "auto",
    batch_size: int = 256,
) -> Evaluation:
    """Score positives and negatives with ``model`` and compute AUROC/AUPRC (per task).

    Sequences are cut or padded to the model's training length; negatives are generated as in
    training (``shuffle``, ``background``) or read from a file.

    Parameters
    ----------
    positives
        A peak file (FASTA, or BED/narrowPeak with ``genome``): the positives of ``task`` (of the
        only task of a one-task model); or, for a multi-task model, one
        :class:`~motifscan.io.samplesheet.TaskSpec` per task to evaluate (names must be tasks of
        the model; labels of the other tasks are unknown or built by overlap, as in training).
    task
        Which task a single peak file is for (needed when the model has several).

    When a file is byte for byte a training input of the model (:func:`training_overlap`), the
    metrics get ``evaluated_on_training_data: true``, the roles that matched
    (``training_inputs_evaluated``) and the model file's held-out test metrics
    (``model_test_metrics``), and one warning is logged.

    Returns
    -------
    Evaluation
        ``labels`` and ``scores`` are ``(N,)`` for one task, else ``(N, T)`` over the evaluated
        tasks (NaN = unknown label); ``metrics`` as :func:`motifscan.train.task_metrics`.
    """
    tasks = list(model.config.tasks)
    length = model.config.seq_length
    if isinstance(positives, (str, os.PathLike)):
        if task is None and len(tasks) > 1:
            raise UsageError(f"the model has {len(tasks)} tasks ({', '.join(tasks)}): say which one these peaks "
                             "are for", hint="add --task NAME, or give one peak file per task with --task-names")
        name = tasks[0] if task is None else tasks[task_index(tasks, task)]
        specs = [TaskSpec(name, os.fspath(positives), os.fspath(negatives),
                          os.fspath(genome) if genome is not None else None)]
        files = {"positives": positives, "negatives": negatives}
    else:
        specs = list(positives)
        files = {}
    unknown = [s.name for s in specs if s.name not in tasks]
    if unknown:
        raise UsageError(f"task {unknown[0]!r} is not a task of the model", hint=f"its tasks: {', '.join(tasks)}")
    built = build_task_set(specs, length=length, neg_ratio=neg_ratio, seed=seed,
                           min_length=model.config.filter_width)
    cols = [tasks.index(s.name) for s in specs]
    dev = resolve_device(device)
    scores = model.to(dev).predict_codes(built.data.codes, batch_size=batch_size)[:, cols]
    model.cpu()
    labels = built.data.labels
    if len(specs) == 1:
        labels, scores = labels[:, 0], scores[:, 0]
        metrics = summary(labels, scores)
        if len(tasks) > 1:
            metrics["task"] = specs[0].name
    else:
        metrics = task_metrics(labels, scores, [s.name for s in specs])
        metrics["labels"] = built.mode
    overlap = {}
    if files:
        overlap = training_overlap(model, files["positives"], files["negatives"])
    else:
        for s in specs:
            found = training_overlap(model, s.peaks, s.negatives)
            overlap.update({f"{s.name}.{role}": key for role, key in found.items()})
            files.update({f"{s.name}.positives": s.peaks, f"{s.name}.negatives": s.negatives})
    if overlap:
        # added only then, so the metrics of an honest evaluation stay as they were
        metrics["evaluated_on_training_data"] = True
        metrics["training_inputs_evaluated"] = dict(overlap)
        test = (model.metrics or {}).get("test")
        if test:
            metrics["model_test_metrics"] = dict(test)
        _warn_training_data(model, overlap, files)
    return Evaluation(labels, scores, metrics, overlap, [s.name for s in specs])


def write_metrics(metrics: dict[str, Any], path: str | os.PathLike) -> Path:
    """Write metrics as indented JSON (atomically)."""
    with atomic_open(path) as fh:
        json.dump(metrics, fh, indent=2, sort_keys=True, default=float)
        fh.write("\n")
    return Path(path)


def _short_name(path: str | os.PathLike) -> str:
    """A file as a plot names it: its folder and name (``ctcf/model.h5``), the name alone at the top."""
    p = Path(path)
    return p.name if p.parent.name in ("", ".") else f"{p.parent.name}/{p.name}"


def evaluation_title(model_path: str | os.PathLike, data: str | os.PathLike | Sequence[TaskSpec]) -> str:
    """The title of the ROC and PR plots: the model and the data it was scored on.

    ``data`` is a peak file, or the tasks of a multi-task evaluation (named by their files).
    """
    files = [data] if isinstance(data, (str, os.PathLike)) else [s.peaks for s in data]
    shown = ", ".join(_short_name(f) for f in files[:3]) + (f" +{len(files) - 3}" if len(files) > 3 else "")
    return f"{_short_name(model_path)} on {shown}"


def plot_curves(labels: np.ndarray, scores: np.ndarray, out_dir: str | os.PathLike, *, title: str = "",
                tasks: Sequence[str] | None = None) -> list[Path]:
    """Draw ``roc.png`` and ``pr.png`` into ``out_dir`` (atomically); returns their paths.

    ``labels``/``scores`` are ``(N,)``, or ``(N, T)`` with ``tasks`` naming the columns (one line
    per task, over its known labels).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir = Path(out_dir)
    y = np.asarray(labels, dtype=np.float64).reshape(len(labels), -1)
    s = np.asarray(scores, dtype=np.float64).reshape(len(scores), -1)
    names = list(tasks) if tasks is not None and y.shape[1] > 1 else [None] * y.shape[1]
    curves = []
    for t, name in enumerate(names):
        known = ~np.isnan(y[:, t])
        yt, st = y[known, t], s[known, t]
        m = summary(yt, st)
        fpr, tpr, _ = roc_curve(yt, st)
        precision, recall, _ = pr_curve(yt, st)
        prefix = f"{name}: " if name else ""
        curves.append(((fpr, tpr, f"{prefix}AUROC {m['auroc']:.3f}"), (recall, precision, f"{prefix}AUPRC {m['auprc']:.3f}")))
    paths = []
    for k, (name, xl, yl, diag) in enumerate((("roc.png", "false positive rate", "true positive rate", True),
                                              ("pr.png", "recall", "precision", False))):
        fig, ax = plt.subplots(figsize=(4, 4), dpi=120)
        for curve in curves:
            x, yv, label = curve[k]
            ax.plot(x, yv, drawstyle="steps-post" if name == "pr.png" else "default", label=label)
        if diag:
            ax.plot([0, 1], [0, 1], ls="--", c="grey", lw=0.8)
        ax.set(xlabel=xl, ylabel=yl, xlim=(0, 1), ylim=(0, 1.02))
        if title:
            ax.set_title(title, fontsize="small", wrap=True)
        ax.legend(loc="lower right" if diag else "lower left", fontsize="small" if len(curves) > 1 else None)
        fig.tight_layout()
        target = out_dir / name
        check_output_path(target)
        with atomic_path(target) as tmp:
            fig.savefig(tmp, format="png")
        plt.close(fig)
        paths.append(target)
    return paths


def check_evaluation_dir(out_dir: str | os.PathLike, *, option: str = "-o") -> Path:
    """Check before any work that :func:`write_evaluation` can write into ``out_dir``.

    The folder may be missing (it is created with its parents); the closest existing ancestor
    must be a writable folder, and an existing folder must not hold folders named as the files.
    """
    out = check_output_dir(out_dir, option=option)
    if out.is_dir():
        for name in EVALUATION_FILES:
            check_output_path(out / name, option=option)
    return out


def write_evaluation(
    evaluation: Evaluation, out_dir: str | os.PathLike, *, title: str = ""
) -> list[Path]:
    """Write ``metrics.json``, ``roc.png`` and ``pr.png`` into ``out_dir``, all three or none.

    ``out_dir`` and any missing parents are created (as ``mkdir -p``). The files are one output
    set (:func:`~motifscan.atomic.output_set`): renamed into place together at the end; a failure
    or interrupt removes their temporaries and every folder this call created, so nothing is left
    behind.

    Returns
    -------
    list of Path
        The three files, in ``out_dir``.
    """
    out = Path(out_dir)
    with output_set() as outputs:  # the three files are renamed into place together, at the end
        outputs.makedirs(out)  # taken back, with its new parents, if anything fails
        plot_curves(evaluation.labels, evaluation.scores, out, title=title, tasks=evaluation.tasks or None)
        write_metrics(evaluation.metrics, out / "metrics.json")
    return [out / name for name in EVALUATION_FILES]
