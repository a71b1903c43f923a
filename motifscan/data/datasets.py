"""Labelled sequence sets: loading positives and negatives, and train/valid/test splits.

Sequences are fixed-length ``uint8`` code arrays. Where they carry coordinates (BED/narrowPeak,
or FASTA names like ``chr1:100-300``) whole chromosomes are held out for validation and test, so
no region near a training region is ever scored as held-out; otherwise the split is a seeded,
stratified random one.
"""

from __future__ import annotations

import logging
import os
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from ..codes import N_CODE, encode
from ..errors import InputError, UsageError
from ..io.fasta import IndexedFasta, open_binary, read_fasta
from ..io.intervals import (
    Interval,
    centre,
    check_chromosomes,
    parse_region_name,
    read_intervals,
)
from .negatives import gc_matched_background, shuffle_all
from .windows import Windows, take_rows

__all__ = [
    "SequenceSet",
    "LabelledSet",
    "Split",
    "is_fasta",
    "load_sequences",
    "iter_records",
    "sequence_set",
    "build_labelled_set",
    "split_dataset",
    "row_labels",
    "DEFAULT_VALID_CHROMS",
    "DEFAULT_TEST_CHROMS",
]

log = logging.getLogger("motifscan")

DEFAULT_VALID_CHROMS = ("chr8", "chr20")
DEFAULT_TEST_CHROMS = ("chr1", "chr3", "chr6")


@dataclass
class SequenceSet:
    """Equal-length sequences: ``codes`` ``(N, L)`` uint8, their names and chromosomes.

    ``chroms[i]`` is ``None`` when sequence ``i`` has no known coordinates; ``intervals`` holds the
    genomic windows when the sequences came from a BED file (else ``None``). ``records`` holds
    each sequence as it was read, before cropping or padding to ``L`` (FASTA records at their
    own length; for a BED, the windows themselves); ``None`` means the same as ``codes``.
    """

    names: list[str]
    codes: np.ndarray
    chroms: list[str | None]
    intervals: list[Interval] | None = None
    records: list[np.ndarray] | None = None

    def __len__(self) -> int:
        return len(self.names)

    def as_read(self) -> list[np.ndarray]:
        """The sequences as read (any lengths): :attr:`records`, or the rows of :attr:`codes`."""
        return list(self.codes) if self.records is None else self.records

    def subset(self, idx: np.ndarray) -> "SequenceSet":
        """The sequences at ``idx``, in that order."""
        idx = np.asarray(idx, dtype=np.int64)
        return SequenceSet(
            [self.names[i] for i in idx],
            self.codes[idx],
            [self.chroms[i] for i in idx],
            None if self.intervals is None else [self.intervals[i] for i in idx],
            None if self.records is None else [self.records[i] for i in idx],
        )


@dataclass
class LabelledSet:
    """Positives and negatives together: ``codes`` ``(N, L)``, ``labels`` ``(N,)`` float 0/1 (one
    task) or ``(N, T)`` with NaN where a task's label is unknown (:mod:`motifscan.data.tasks`).

    ``codes`` is a uint8 array, or :class:`~motifscan.data.windows.Windows` (pooled sets: windows
    of one genome, gathered a batch at a time); :meth:`subset` keeps it so."""

    names: list[str]
    codes: np.ndarray | Windows
    labels: np.ndarray
    chroms: list[str | None]

    def subset(self, idx: np.ndarray) -> "LabelledSet":
        return LabelledSet(
            [self.names[i] for i in idx], take_rows(self.codes, idx), self.labels[idx], [self.chroms[i] for i in idx]
        )

    def __len__(self) -> int:
        return len(self.names)


@dataclass
class Split:
    """Indices of the train, valid and test parts and how they were chosen."""

    train: np.ndarray
    valid: np.ndarray
    test: np.ndarray
    method: str
    valid_chroms: list[str] = field(default_factory=list)
    test_chroms: list[str] = field(default_factory=list)


def is_fasta(path: str | os.PathLike) -> bool:
    """True if the file's first non-blank character is ``>`` (after decompression).

    Raises
    ------
    InputError
        The file is empty, or its compressed data is truncated or corrupt.
    """
    try:
        with open_binary(path) as fh:
            head = fh.read(4096)
    except (EOFError, OSError, zlib.error) as exc:  # gzip.BadGzipFile is an OSError
        raise InputError(
            f"compressed data is truncated or corrupt ({exc})",
            path=path,
            hint="download or compress the file again",
        ) from None
    if not head.strip():
        raise InputError("file is empty", path=path, hint="give a FASTA, BED or narrowPeak file with at least one record")
    return head.lstrip()[:1] == b">"


# read_intervals messages that mean the file is not BED-shaped at all (not a bad BED line)
_NOT_BED = ("not a text", "expected at least 3", "start '", "end '", "no intervals")


def _fit_length(codes: np.ndarray, length: int) -> np.ndarray:
    """Centre-crop or centre-pad (with N) ``codes`` to ``length``."""
    n = len(codes)
    if n == length:
        return codes
    if n > length:
        s = (n - length) // 2
        return codes[s : s + length]
    out = np.full(length, N_CODE, dtype=np.uint8)
    s = (length - n) // 2
    out[s : s + n] = codes
    return out


def load_sequences(
    path: str | os.PathLike,
    *,
    genome: str | os.PathLike | IndexedFasta | None = None,
    length: int = 200,
    min_length: int = 1,
) -> SequenceSet:
    """Load fixed-length sequences from a FASTA file or from BED/narrowPeak + genome.

    Parameters
    ----------
    path
        FASTA (plain/gz/bgzip) or BED/narrowPeak.
    genome
        Genome FASTA (or an open :class:`IndexedFasta`), required for BED input.
    length
        Output length. BED windows are centred on the narrowPeak summit or the midpoint;
        windows that run off a chromosome end are dropped and counted in the log. FASTA records
        longer than ``length`` are centre-cropped, shorter ones centre-padded with N.
    min_length
        FASTA records shorter than this (usually the filter width) are an error.

    Returns
    -------
    SequenceSet
        ``codes`` ``(N, length)`` for training, scoring and influence; ``records`` keeps FASTA
        records at their own length (for motif extraction, which uses every position).

    Raises
    ------
    InputError
        Unreadable, empty or malformed input; unknown chromosomes; no usable interval.
    UsageError
        BED input without ``genome``.
    """
    path = Path(path)
    if is_fasta(path):  # by content: a FASTA is a FASTA whatever its name, genome or not
        names, rows, chroms, records = [], [], [], []
        for rec in read_fasta(path):
            if len(rec) < min_length:
                raise InputError(
                    f"sequence is {len(rec)} bp, shorter than the filter width {min_length}",
                    path=path,
                    where=f"record {rec.name}",
                    hint="remove short records or use a narrower --filter-width",
                )
            names.append(rec.name)
            records.append(rec.codes)
            rows.append(_fit_length(rec.codes, length))
            region = parse_region_name(rec.name)
            chroms.append(region[0] if region else None)
        if not names:
            raise InputError("no FASTA records", path=path)
        return SequenceSet(names, np.stack(rows), chroms, records=records)
    try:
        intervals = read_intervals(path)
    except InputError as exc:
        if exc.message.startswith(_NOT_BED):  # not BED-shaped at all: say it is not FASTA either
            exc.message = f"neither FASTA (no '>' header) nor BED/narrowPeak: {exc.message}"
        raise exc.located() from None
    if genome is None:
        raise UsageError(f"{path} is not FASTA, so it is read as BED and needs --genome FASTA")
    fa = genome if isinstance(genome, IndexedFasta) else IndexedFasta(genome)
    check_chromosomes(intervals, fa.sizes, path, fa.path)
    kept, rows = [], []
    for iv in intervals:
        win = centre(iv, length, fa.sizes[iv.chrom])
        if win is None:
            continue
        kept.append(Interval(iv.chrom, win[0], win[1], iv.name or f"{iv.chrom}:{win[0]}-{win[1]}", iv.summit))
        rows.append(fa.fetch(iv.chrom, *win))
    dropped = len(intervals) - len(kept)
    if dropped:
        log.info("%s: dropped %d of %d intervals whose %d-bp window runs off a chromosome end", path, dropped, len(intervals), length)
    if not kept:
        raise InputError("no interval fits inside its chromosome", path=path)
    return SequenceSet(
        [iv.name for iv in kept], np.stack(rows), [iv.chrom for iv in kept], kept
    )


def iter_records(
    path: str | os.PathLike,
    *,
    genome: str | os.PathLike | IndexedFasta | None = None,
    length: int | None = None,
) -> Iterator[tuple[str, np.ndarray, Interval | None]]:
    """Stream sequences at their own lengths from FASTA, or BED/narrowPeak + genome.

    The streaming sibling of :func:`load_sequences` for jobs whose memory must not grow with the
    number of sequences (``enrich``). FASTA records come as they are; BED intervals as whole
    intervals, or with ``length`` as windows of ``length`` centred on the narrowPeak summit (or
    midpoint), dropping (and logging) windows that run off a chromosome end.

    Yields
    ------
    name, codes, interval
        Record name, ``uint8`` codes, and the genomic interval (from the BED, or parsed from a
        FASTA name such as ``chr1:100-300``; ``None`` if unknown).

    Raises
    ------
    InputError
        Unreadable, empty or malformed input; unknown chromosomes; no usable record.
    UsageError
        BED input without ``genome``.
    """
    path = Path(path)
    n = 0
    if is_fasta(path):
        for rec in read_fasta(path):
            region = parse_region_name(rec.name)
            n += 1
            yield rec.name, rec.codes, (Interval(region[0], region[1], region[2], rec.name) if region else None)
        if n == 0:
            raise InputError("no FASTA records", path=path)
        return
    try:
        intervals = read_intervals(path)
    except InputError as exc:
        if exc.message.startswith(_NOT_BED):
            exc.message = f"neither FASTA (no '>' header) nor BED/narrowPeak: {exc.message}"
        raise exc.located() from None
    if genome is None:
        raise UsageError(f"{path} is not FASTA, so it is read as BED and needs --genome FASTA")
    fa = genome if isinstance(genome, IndexedFasta) else IndexedFasta(genome)
    check_chromosomes(intervals, fa.sizes, path, fa.path)
    dropped = 0
    for iv in intervals:
        win = (iv.start, iv.end) if length is None else centre(iv, length, fa.sizes[iv.chrom])
        if win is None or win[1] > fa.sizes[iv.chrom]:
            dropped += 1
            continue
        n += 1
        name = iv.name or f"{iv.chrom}:{win[0]}-{win[1]}"
        yield name, fa.fetch(iv.chrom, *win), Interval(iv.chrom, win[0], win[1], name, iv.summit)
    if dropped:
        log.info("%s: dropped %d of %d intervals that run off a chromosome end", path, dropped, len(intervals))
    if n == 0:
        raise InputError("no interval fits inside its chromosome", path=path)


def sequence_set(sequences: np.ndarray | Sequence, *, length: int) -> SequenceSet:
    """In-memory sequences as a :class:`SequenceSet`, as :func:`load_sequences` makes from files.

    Parameters
    ----------
    sequences
        An ``(N, L)`` uint8 code array, or a list of code arrays or strings (any lengths).
    length
        Length of ``codes``: longer sequences are centre-cropped, shorter ones centre-padded with
        N; ``records`` keeps them as given. Names are ``seq0, seq1, ...``; no coordinates.
    """
    if isinstance(sequences, np.ndarray) and sequences.ndim == 2:
        records = list(np.asarray(sequences, dtype=np.uint8))
    else:
        records = [encode(s) if isinstance(s, (str, bytes)) else np.asarray(s, dtype=np.uint8) for s in sequences]
    if not records:
        raise InputError("no sequences given")
    codes = np.stack([_fit_length(r, length) for r in records])
    return SequenceSet([f"seq{i}" for i in range(len(records))], codes, [None] * len(records), records=records)


def build_labelled_set(
    positives: SequenceSet,
    negatives: str | os.PathLike = "shuffle",
    *,
    genome: str | os.PathLike | IndexedFasta | None = None,
    neg_ratio: int = 1,
    seed: int = 0,
    min_length: int = 1,
) -> LabelledSet:
    """Pair positives with negatives: ``"shuffle"``, ``"background"`` or a FASTA/BED file.

    Shuffled negatives inherit the chromosome of their positive, so a chromosome hold-out puts
    a sequence and its shuffles on the same side.
    """
    length = positives.codes.shape[1]
    if neg_ratio < 1:
        raise UsageError("--neg-ratio must be >= 1")
    mode = os.fspath(negatives)
    if mode == "shuffle":
        neg_codes = shuffle_all(positives.codes, neg_ratio, seed)
        reps = neg_ratio
        neg_names = [f"{n}_shuffle{k}" for k in range(reps) for n in positives.names]
        neg_chroms = [c for _ in range(reps) for c in positives.chroms]
    elif mode == "background":
        if genome is None or positives.intervals is None:
            raise UsageError("--negatives background needs BED/narrowPeak positives and --genome")
        fa = genome if isinstance(genome, IndexedFasta) else IndexedFasta(genome)
        ivs, neg_codes = gc_matched_background(fa, positives.intervals, positives.codes, ratio=neg_ratio, seed=seed)
        neg_names = [iv.name for iv in ivs]
        neg_chroms = [iv.chrom for iv in ivs]
    else:
        if not Path(mode).exists():
            raise UsageError(
                f"--negatives {mode!r} is neither 'shuffle', 'background' nor an existing file"
            )
        neg = load_sequences(mode, genome=genome, length=length, min_length=min_length)
        neg_codes, neg_names, neg_chroms = neg.codes, neg.names, neg.chroms
    codes = np.concatenate([positives.codes, neg_codes])
    labels = np.concatenate([np.ones(len(positives)), np.zeros(len(neg_codes))]).astype(np.float32)
    return LabelledSet(list(positives.names) + list(neg_names), codes, labels, list(positives.chroms) + list(neg_chroms))


def row_labels(labels: np.ndarray) -> np.ndarray:
    """One 0/1 label per row: ``labels`` itself for one task, else 1 if the row is positive for any
    task (unknown labels count as 0); splits stratify on it."""
    labels = np.asarray(labels)
    if labels.ndim == 1:
        return labels.astype(np.float32)
    return (labels > 0).any(axis=1).astype(np.float32)  # NaN > 0 is False: no float copy of (N, T)


def _task_without_class(labels: np.ndarray, parts: dict[str, np.ndarray],
                        tasks: Sequence[str] | None) -> tuple[str, str, str] | None:
    """``(task, "no positive" | "no negative", part)`` of the first task of a multi-task ``labels``
    ``(N, T)`` whose known labels in a part lack a class; ``None`` when every task has both."""
    labels = np.asarray(labels)  # uint8 (pooled) or float32 (NaN = unknown): no float copy of (N, T)
    if labels.ndim == 1 or labels.shape[1] == 1:
        return None
    for t in range(labels.shape[1]):
        for part, idx in parts.items():
            col = labels[idx, t]
            for value, what in ((1.0, "no positive"), (0.0, "no negative")):
                if not (col == value).any():
                    return (tasks[t] if tasks is not None else str(t)), what, part
    return None


def _stratified(labels: np.ndarray, fractions: tuple[float, float], seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    parts: list[list[np.ndarray]] = [[], [], []]
    for value in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == value))
        n_valid = int(round(len(idx) * fractions[0]))
        n_test = int(round(len(idx) * fractions[1]))
        parts[1].append(idx[:n_valid])
        parts[2].append(idx[n_valid : n_valid + n_test])
        parts[0].append(idx[n_valid + n_test :])
    return tuple(np.sort(np.concatenate(p)) for p in parts)  # type: ignore[return-value]


def split_dataset(
    data: LabelledSet,
    *,
    valid_chroms: Sequence[str] | None = None,
    test_chroms: Sequence[str] | None = None,
    fractions: tuple[float, float] = (0.1, 0.2),
    min_held_out: int = 20,
    seed: int = 0,
    tasks: Sequence[str] | None = None,
) -> Split:
    """Split into train/valid/test, holding out whole chromosomes when coordinates are known.

    With coordinates for every sequence, ``valid_chroms``/``test_chroms`` (defaults
    :data:`DEFAULT_VALID_CHROMS`, :data:`DEFAULT_TEST_CHROMS`) are held out. When a held-out part
    would have fewer than ``min_held_out`` sequences of either class, the split falls back, with a
    warning, to seeded stratified fractions (``fractions`` = valid, test). Chromosomes the user
    names explicitly must exist in the data. With several tasks the split falls back the same way
    when a held-out part has no positive or no negative label of some task (a task whose peaks
    lie on another genome, without the held-out chromosomes); ``tasks`` names them in the warning.
    """
    labels = row_labels(data.labels)
    has_coords = all(c is not None for c in data.chroms)
    explicit = valid_chroms is not None or test_chroms is not None
    if has_coords:
        vset = list(valid_chroms) if valid_chroms is not None else list(DEFAULT_VALID_CHROMS)
        tset = list(test_chroms) if test_chroms is not None else list(DEFAULT_TEST_CHROMS)
        overlap = set(vset) & set(tset)
        if overlap:
            raise UsageError(f"chromosomes in both --valid-chroms and --test-chroms: {', '.join(sorted(overlap))}")
        present = set(data.chroms)
        if explicit:
            missing = [c for c in vset + tset if c not in present]
            if missing:
                raise UsageError(
                    f"held-out {'chromosome' if len(missing) == 1 else 'chromosomes'} not in the data: "
                    f"{', '.join(missing)}",
                    hint=f"the data has {', '.join(sorted(present)[:8])}{' ...' if len(present) > 8 else ''}",
                )
        chroms = np.array(data.chroms, dtype=object)
        valid = np.flatnonzero(np.isin(chroms, vset))
        test = np.flatnonzero(np.isin(chroms, tset))
        train = np.flatnonzero(~np.isin(chroms, vset + tset))

        def enough(idx: np.ndarray) -> bool:
            return all((labels[idx] == v).sum() >= min_held_out for v in (0.0, 1.0))

        short = _task_without_class(data.labels, {"validation": valid, "test": test}, tasks)
        if enough(valid) and enough(test) and enough(train) and short is None:
            return Split(train, valid, test, "chromosomes", vset, tset)
        if short is not None:
            log.warning("chromosome hold-out (valid %s, test %s) leaves task %s with %s in the %s set: "
                        "using stratified random fractions instead", ",".join(vset), ",".join(tset), *short)
        else:
            log.warning(
                "chromosome hold-out too small (valid %s: %d, test %s: %d sequences; need %d of each class): "
                "using stratified random fractions instead",
                ",".join(vset), len(valid), ",".join(tset), len(test), min_held_out,
            )
    elif explicit:
        log.warning("sequences carry no coordinates (names like chr1:100-300): --valid/--test-chroms ignored")
    train, valid, test = _stratified(labels, fractions, seed)
    return Split(train, valid, test, "stratified")
