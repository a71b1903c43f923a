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
from ..io.intervals import check_chromosomes, read_intervals
from ..io.samplesheet import TaskSpec, check_task_name
from .datasets import LabelledSet, build_labelled_set, is_fasta, load_sequences
from .negatives import gc_content, pick_background, shuffle_all
from .windows import Windows, covered

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


def _pooled_set(tasks, *, length, neg_ratio, seed) -> TaskSet:
    """Pooled regions and negatives as :class:`~motifscan.data.windows.Windows` of the bases they
    cover (read once per chromosome): memory is bounded by the genome and a few bytes a region,
    not ``N x L`` codes, and the rows' codes are those a per-region copy would hold."""
    T = len(tasks)
    fa = IndexedFasta(tasks[0].genome)
    chrom_names = list(fa.sizes)
    order = {c: i for i, c in enumerate(chrom_names)}
    sizes = np.array([fa.sizes[c] for c in chrom_names], dtype=np.int64)
    cidx, pos, task = [], [], []
    for t, spec in enumerate(tasks):
        ivs = read_intervals(spec.peaks)
        check_chromosomes(ivs, fa.sizes, spec.peaks, fa.path)
        cidx.append(np.fromiter((order[iv.chrom] for iv in ivs), np.int64, len(ivs)))
        pos.append(np.fromiter((iv.centre for iv in ivs), np.int64, len(ivs)))
        task.append(np.full(len(ivs), t, dtype=np.int64))
    c_all, p_all, t_all = np.concatenate(cidx), np.concatenate(pos), np.concatenate(task)
    n_summits = len(p_all)
    half = length // 2
    # greedy union over the summits sorted by (chromosome, position, task): a window is kept
    # unless its centre lies within half a window of the last kept one's (a sequential rule)
    srt = np.lexsort((t_all, p_all, c_all))
    c_s, p_s = c_all[srt], p_all[srt]
    fits = (p_s - half >= 0) & (p_s - half + length <= sizes[c_s])
    kc, kp = [], []
    last_c, last_p = -1, 0
    for c, p in zip(c_s[fits].tolist(), p_s[fits].tolist()):
        if c == last_c and p - last_p < half:
            continue
        kc.append(c)
        kp.append(p)
        last_c, last_p = c, p
    if not kc:
        raise InputError("no peak leaves room for a window inside its chromosome", path=tasks[0].peaks)
    reg_c = np.asarray(kc, dtype=np.int64)
    reg_s = np.asarray(kp, dtype=np.int64) - half
    n_reg = len(reg_s)
    # label rule: region [a, a + L) is positive for t when one of t's summits s has a <= s < a + L
    # (on one axis of concatenated chromosomes: a window never crosses a chromosome's end)
    offset = np.r_[0, np.cumsum(sizes)[:-1]]
    g_reg = offset[reg_c] + reg_s
    g_sum = offset[c_all] + p_all
    labels = np.zeros((n_reg, T), dtype=np.uint8)  # every label known: 0/1 bytes (atlas sets: 10^6 x 100s)
    for t in range(T):
        s = np.sort(g_sum[t_all == t])
        labels[:, t] = np.searchsorted(s, g_reg + length) > np.searchsorted(s, g_reg)
    del c_all, p_all, t_all, g_sum, srt, c_s, p_s, fits, kc, kp
    for t, spec in enumerate(tasks):
        _check_positives(spec, labels[:, t])
    # GC-matched background unless every task asks for shuffles
    mode = "shuffle" if all(t.negatives == "shuffle" for t in tasks) else "background"
    rng = np.random.default_rng(seed)
    neg_s = np.zeros(n_reg * neg_ratio if mode == "background" else 0, dtype=np.int64)
    windows = np.empty(n_reg + len(neg_s), dtype=np.int64)  # each row's offset in ``bases``
    # the covered bases of each chromosome in turn; an upper bound is reserved and only what is
    # written becomes resident (untouched pages of np.empty are never mapped in)
    bases = np.empty(int(min(sizes[np.unique(reg_c)].sum(), (n_reg + len(neg_s)) * length)), dtype=np.uint8)
    used = 0
    pos_gc, neg_gc = 0.0, 0.0
    bounds = np.r_[0, np.cumsum(np.bincount(reg_c, minlength=len(chrom_names)))]  # regions sorted by chromosome
    for c in np.flatnonzero(np.diff(bounds)).tolist():
        chrom = chrom_names[c]
        rows = np.arange(bounds[c], bounds[c + 1])
        seq = fa.fetch(chrom, 0, fa.sizes[chrom])
        starts = reg_s[rows]
        neg_rows = np.zeros(0, dtype=np.int64)
        if mode == "background":
            target = gc_content(seq[starts[:, None] + np.arange(length)])
            picks = pick_background(seq, np.column_stack((starts, starts + length)), np.tile(target, neg_ratio), rng,
                                    length=length, chrom=chrom, path=fa.path)
            neg_rows = (np.arange(neg_ratio)[:, None] * n_reg + rows).ravel()
            neg_s[neg_rows] = picks
            pos_gc += float(target.sum())
            neg_gc += float(gc_content(seq[picks[:, None] + np.arange(length)]).sum())
            starts = np.r_[starts, picks]
        got, off = covered(seq, starts, length)
        bases[used : used + len(got)] = got
        windows[np.r_[rows, n_reg + neg_rows]] = used + off
        used += len(got)
        del seq, got
    bases = bases[:used]
    names = [f"{chrom_names[c]}:{a}-{a + length}" for c, a in zip(reg_c.tolist(), reg_s.tolist())]
    chroms = [chrom_names[c] for c in reg_c.tolist()]
    if mode == "background":
        log.info("background negatives: %d GC-matched regions (positives GC %.3f, background GC %.3f)",
                 len(neg_s), pos_gc / n_reg, neg_gc / max(len(neg_s), 1))
        neg_names = [f"bg_{chrom}:{a}" for chrom, a in zip(chroms * neg_ratio, neg_s.tolist())]
        neg_chroms = chroms * neg_ratio
        codes = Windows(bases, windows, length)
    else:
        shuffles = shuffle_all(Windows(bases, windows, length)[:], neg_ratio, seed)
        neg_names = [f"{nm}_shuffle{k}" for k in range(neg_ratio) for nm in names]
        neg_chroms = chroms * neg_ratio
        codes = Windows(bases, np.r_[windows, -1 - np.arange(len(shuffles))], length, extra=shuffles)
    log.info("pooled %d peaks of %d tasks into %d regions (%s); %d %s negatives; %.1f MB of bases held for %d "
             "windows", n_summits, T, n_reg,
             ", ".join(f"{spec.name}: {int(labels[:, t].sum())} positive" for t, spec in enumerate(tasks)),
             len(codes) - n_reg, mode, used / 1e6, len(codes))
    data = LabelledSet(
        names + neg_names,
        codes,
        np.concatenate([labels, np.zeros((len(codes) - n_reg, T), np.uint8)]),
        chroms + neg_chroms,
    )
    return TaskSet(data, [t.name for t in tasks], "pooled")
