"""Labelled sets for multi-task models: one label column per task, unknown labels masked.

Two ways to build the labels (:func:`build_task_set` picks one from the inputs):

``per-task`` (peak sets as FASTA, possibly from different cells or assemblies; or any mix)
    Each task's positives get that task's own negatives (shuffle, background or a file) exactly
    as a one-task model's would. For a sequence that comes from task A, the labels of the other
    tasks are **unknown** (NaN) and are masked out of the loss and the metrics, so tasks from
    different experiments share one model honestly.
``pooled`` (BED/narrowPeak per task, all on one genome, Basset-style)
    All peaks are pooled into one set of fixed-length regions: each peak gives the window centred
    on its summit (or midpoint); a window whose centre lies within half a window of an already
    kept window's centre is dropped, so co-bound sites give one region. **Label rule:** a region
    is positive for task ``t`` iff one of ``t``'s peak summits (midpoints without a summit) lies
    inside the region; else negative -- every label is known. GC-matched genome background
    regions (or dinucleotide shuffles of the regions, with ``negatives: shuffle``) are added as
    negatives for every task. Chromosome hold-out then works on the union.

Pooled mode is used when every task is a BED/narrowPeak on the same genome and none names a
negatives file; otherwise per-task mode.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, replace
from typing import Sequence

import numpy as np

from ..errors import InputError, UsageError
from ..io.fasta import IndexedFasta
from ..io.intervals import Interval, check_chromosomes, read_intervals
from ..io.samplesheet import TaskSpec, check_task_name
from .datasets import LabelledSet, build_labelled_set, is_fasta, load_sequences
from .negatives import gc_matched_background, shuffle_all

__all__ = ["TaskSpec", "TaskSet", "task_specs", "with_genome", "build_task_set", "task_index"]

log = logging.getLogger("motifscan")

GENERATED = (None, "shuffle", "background")


def task_index(tasks: Sequence[str], task: str | int) -> int:
    """The column of ``task`` among a model's ``tasks``: by name, or by 0-based index.

    The one reading of ``--task`` (scan, export, evaluate, attribute). A name wins over an index,
    so a task named ``"1"`` is that task, not the second one.

    Raises
    ------
    UsageError
        ``task`` names no task, or the index is out of range.
    """
    names = list(tasks)
    if isinstance(task, str) and task in names:
        return names.index(task)
    if isinstance(task, int) or (isinstance(task, str) and task.strip().isdigit()):
        k = int(task)
        if not 0 <= k < len(names):
            raise UsageError(f"--task {task}: the model has {len(names)} task{'s' if len(names) != 1 else ''} "
                             f"(0 to {len(names) - 1})", hint=f"its tasks: {', '.join(names)}")
        return k
    raise UsageError(f"--task {task!r} is not a task of the model",
                     hint=f"its tasks: {', '.join(names)} (or a 0-based index)")


@dataclass
class TaskSet:
    """A labelled set for ``tasks``: ``data.labels`` is ``(N, T)`` float32, NaN = unknown (per-task
    sets), or uint8 0/1 (pooled sets, where every label is known)."""

    data: LabelledSet
    tasks: list[str]
    mode: str  # "per-task" or "pooled"


def task_specs(
    peaks: Sequence[str | os.PathLike],
    names: Sequence[str] | None = None,
    *,
    negatives: str | os.PathLike | None = None,
    genome: str | os.PathLike | None = None,
) -> list[TaskSpec]:
    """Tasks from positional peak files: names from ``names`` or the file stems.

    ``negatives`` and ``genome`` apply to every task. Duplicate names are an error.
    """
    if not peaks:
        raise UsageError("no peaks given", hint="give one peak file per task, or --samplesheet")
    if names is not None and len(names) != len(peaks):
        raise UsageError(f"--task-names gives {len(names)} name(s) for {len(peaks)} peak file(s)",
                         hint="give one name per peak file, comma-separated")
    out, seen = [], set()
    for i, p in enumerate(peaks):
        name = names[i] if names is not None else _stem(p)
        try:
            check_task_name(name)
        except InputError as exc:
            raise UsageError(exc.message, hint=exc.hint) from None
        if name in seen:
            raise UsageError(f"task name {name!r} is given twice",
                             hint="name the tasks with --task-names a,b,c (file stems are the default)")
        seen.add(name)
        out.append(TaskSpec(name, os.fspath(p), os.fspath(negatives) if negatives is not None else None,
                            os.fspath(genome) if genome is not None else None))
    return out


def with_genome(tasks: Sequence[TaskSpec], genome: str | os.PathLike | None) -> list[TaskSpec]:
    """``genome`` (``--genome``) for every task without a genome of its own (a samplesheet's
    ``genome`` column wins for its row)."""
    if genome is None:
        return list(tasks)
    return [t if t.genome else replace(t, genome=os.fspath(genome)) for t in tasks]


def _stem(path) -> str:
    name = os.path.basename(os.fspath(path))
    for ext in (".gz", ".bgz"):
        if name.lower().endswith(ext):
            name = name[: -len(ext)]
    return os.path.splitext(name)[0]


def _pooled(tasks: Sequence[TaskSpec]) -> bool:
    genomes = {os.path.realpath(t.genome) for t in tasks if t.genome}
    return (len(genomes) == 1 and all(t.genome for t in tasks)
            and all(t.negatives in GENERATED for t in tasks)
            and all(not is_fasta(t.peaks) for t in tasks))


def build_task_set(
    tasks: Sequence[TaskSpec],
    *,
    length: int = 200,
    neg_ratio: int = 1,
    seed: int = 0,
    min_length: int = 1,
) -> TaskSet:
    """The labelled set of a multi-task model (see the module docstring for the two modes).

    Parameters
    ----------
    tasks
        One :class:`~motifscan.io.samplesheet.TaskSpec` per task (names unique).
    length
        Sequence length.
    neg_ratio
        Generated negatives per positive (per task, or per pooled region).
    seed
        Seed of the generated negatives.
    min_length
        FASTA records shorter than this (the filter width) are an error.

    Raises
    ------
    InputError
        A task with no positive left (e.g. every peak too near a chromosome end).
    UsageError
        A BED task without a genome, or ``background`` negatives for FASTA peaks.
    """
    names = [t.name for t in tasks]
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})[0]
        raise UsageError(f"task name {dup!r} is given twice", hint="give every task its own name")
    if len(tasks) > 1 and _pooled(tasks):  # one task: exactly as one-task models always were
        return _pooled_set(tasks, length=length, neg_ratio=neg_ratio, seed=seed)
    return _per_task_set(tasks, length=length, neg_ratio=neg_ratio, seed=seed, min_length=min_length)


def _per_task_set(tasks, *, length, neg_ratio, seed, min_length) -> TaskSet:
    T = len(tasks)
    parts: list[LabelledSet] = []
    columns: list[int] = []
    genomes: dict[str, IndexedFasta] = {}
    for t, spec in enumerate(tasks):
        fa = None
        if spec.genome:
            key = os.path.realpath(spec.genome)
            fa = genomes.setdefault(key, IndexedFasta(spec.genome))
        pos = load_sequences(spec.peaks, genome=fa, length=length, min_length=min_length)
        lab = build_labelled_set(pos, spec.negatives or "shuffle", genome=fa, neg_ratio=neg_ratio, seed=seed + t,
                                 min_length=min_length)
        _check_positives(spec, lab.labels)
        parts.append(lab)
        columns.append(t)
        log.info("task %s: %d positives, %d negatives (%s)", spec.name, int(lab.labels.sum()),
                 int((lab.labels == 0).sum()), spec.negatives or "shuffle")
    n = sum(len(p) for p in parts)
    labels = np.full((n, T), np.nan, dtype=np.float32)
    row = 0
    for t, p in zip(columns, parts):
        labels[row : row + len(p), t] = p.labels
        row += len(p)
    data = LabelledSet(
        [nm for p in parts for nm in p.names],
        np.concatenate([p.codes for p in parts]),
        labels,
        [c for p in parts for c in p.chroms],
    )
    return TaskSet(data, [t.name for t in tasks], "per-task")


def _check_positives(spec: TaskSpec, labels: np.ndarray) -> None:
    if not (np.asarray(labels) == 1).any():
        raise InputError(f"task {spec.name} has no positive sequence left", path=spec.peaks,
                         hint="check the peaks (and that they fit inside the genome's chromosomes)")


def _windows(fa: IndexedFasta, centres: list[tuple[str, int]], half: int, length: int) -> np.ndarray:
    """Codes ``(N, length)`` of the windows ``[c - half, c - half + length)``: each chromosome
    read once and its windows gathered at once (atlas sets hold 10^5-10^6 regions)."""
    codes = np.empty((len(centres), length), dtype=np.uint8)
    by_chrom: dict[str, list[int]] = {}
    for k, (chrom, _pos) in enumerate(centres):
        by_chrom.setdefault(chrom, []).append(k)
    for chrom, rows in by_chrom.items():
        idx = np.asarray(rows, dtype=np.int64)
        starts = np.asarray([centres[k][1] - half for k in rows], dtype=np.int64)
        lo, hi = int(starts.min()), int(starts.max()) + length
        seq = fa.fetch(chrom, lo, hi)
        codes[idx] = seq[(starts - lo)[:, None] + np.arange(length)]
    return codes


def _pooled_set(tasks, *, length, neg_ratio, seed) -> TaskSet:
    T = len(tasks)
    fa = IndexedFasta(tasks[0].genome)
    summits: list[tuple[str, int, int]] = []  # (chrom, summit, task)
    for t, spec in enumerate(tasks):
        ivs = read_intervals(spec.peaks)
        check_chromosomes(ivs, fa.sizes, spec.peaks, fa.path)
        summits += [(iv.chrom, iv.centre, t) for iv in ivs]
    order = {c: i for i, c in enumerate(fa.sizes)}
    summits.sort(key=lambda s: (order[s[0]], s[1], s[2]))
    half = length // 2
    # greedy union: a window is kept unless its centre lies within half a window of the last kept
    kept: list[tuple[str, int]] = []
    for chrom, pos, _t in summits:
        start = pos - half
        if start < 0 or start + length > fa.sizes[chrom]:
            continue
        if kept and kept[-1][0] == chrom and pos - kept[-1][1] < half:
            continue
        kept.append((chrom, pos))
    if not kept:
        raise InputError("no peak leaves room for a window inside its chromosome", path=tasks[0].peaks)
    labels = np.zeros((len(kept), T), dtype=np.uint8)  # every label known: 0/1 bytes (atlas sets: 10^6 x 100s)
    by_chrom: dict[str, list[int]] = {}
    for k, (chrom, _pos) in enumerate(kept):
        by_chrom.setdefault(chrom, []).append(k)
    summit_arr: dict[tuple[str, int], np.ndarray] = {}
    for chrom, pos, t in summits:
        summit_arr.setdefault((chrom, t), []).append(pos)  # type: ignore[arg-type]
    for (chrom, t), poss in summit_arr.items():
        if chrom not in by_chrom:
            continue
        idx = np.array(by_chrom[chrom])
        starts = np.array([kept[k][1] - half for k in idx])
        s = np.sort(np.asarray(poss))
        # a region [a, a + L) is positive for t when some summit s has a <= s < a + L
        lo = np.searchsorted(s, starts, side="left")
        hi = np.searchsorted(s, starts + length, side="left")
        labels[idx[hi > lo], t] = 1
    intervals = [Interval(c, p - half, p - half + length, f"{c}:{p - half}-{p - half + length}") for c, p in kept]
    codes = _windows(fa, kept, half, length)
    for t, spec in enumerate(tasks):
        _check_positives(spec, labels[:, t])
    # GC-matched background unless every task asks for shuffles
    mode = "shuffle" if all(t.negatives == "shuffle" for t in tasks) else "background"
    if mode == "background":
        neg_ivs, neg_codes = gc_matched_background(fa, intervals, codes, ratio=neg_ratio, seed=seed)
        neg_names, neg_chroms = [iv.name for iv in neg_ivs], [iv.chrom for iv in neg_ivs]
    else:
        neg_codes = shuffle_all(codes, neg_ratio, seed)
        neg_names = [f"{iv.name}_shuffle{k}" for k in range(neg_ratio) for iv in intervals]
        neg_chroms = [iv.chrom for _ in range(neg_ratio) for iv in intervals]
    log.info("pooled %d peaks of %d tasks into %d regions (%s); %d %s negatives", len(summits), T, len(kept),
             ", ".join(f"{spec.name}: {int(labels[:, t].sum())} positive" for t, spec in enumerate(tasks)),
             len(neg_codes), mode)
    data = LabelledSet(
        [iv.name for iv in intervals] + neg_names,
        np.concatenate([codes, neg_codes]),
        np.concatenate([labels, np.zeros((len(neg_codes), T), np.uint8)]),
        [iv.chrom for iv in intervals] + neg_chroms,
    )
    return TaskSet(data, [t.name for t in tasks], "pooled")
