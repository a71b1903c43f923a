"""Export a model's filters as motifs: PWMs ordered by influence, a TSV summary and logos.

:func:`export_motifs` is what ``motifscan export`` runs:

1. sequences (a FASTA, a BED + genome, or code arrays; read by the one loader,
   :func:`motifscan.data.datasets.load_sequences`) -> filter activations -> one motif per filter
   from the W-mers that activate it (:func:`motifscan.motifs.extract.activation_motifs`, over
   the sequences as read); without sequences, the rougher weight-based conversion
   (:func:`motifscan.motifs.extract.weight_motifs`);
2. negatives for the influence: the ones the model was trained with when its provenance or the
   user says what they were (dinucleotide shuffles, GC-matched genomic background, a file), at
   most :attr:`ExportOptions.max_negatives` of them;
3. class-balanced influence of each filter (:func:`motifscan.motifs.influence.filter_influence`)
   over the model-length windows of the sequences and the negatives -- independent of how many
   positives there are;
4. redundant filters grouped (:func:`motifscan.motifs.groups.group_motifs`): each group is
   written once, as its best member's motif, ranked by the influence of knocking the whole
   group out; the TSV lists the members (``merge=False``: one motif per filter);
5. optional trimming of low-information flanks, database matching, logos.

Why the best member's PWM and not the members aligned and merged: the members of a group are
filters that matched one another, but at different offsets and with different widths and flanks
(a filter may hold the whole CTCF core, another its 3' half plus background); a merged matrix
would blur the columns where they disagree and describe no filter of the model, while the best
member's motif is what one real filter -- the one whose own knock-out costs most -- responds to,
and scanning with it reproduces that filter.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..atomic import (atomic_open, atomic_path, check_distinct, check_output_path, named_inputs, output_set,
                      writes_outputs)
from ..data.datasets import SequenceSet, load_sequences, sequence_set
from ..data.tasks import task_index
from ..errors import InputError, UsageError
from ..io.fasta import IndexedFasta
from ..kernels.methods import resolve_compute
from ..io.samplesheet import TaskSpec
from ..io.motif_formats import detect_format, read_motifs, write_motifs
from ..model import MotifCNN, file_sha256, load_model
from .extract import activation_motifs, pooled_outputs, weight_motifs
from .groups import GROUP_EVALUE, group_motifs
from .influence import Influence, filter_influence
from .pwm import Motif

__all__ = [
    "ExportOptions", "ExportResult", "export_motifs", "resolve_negatives", "table_path",
    "TSV_COLUMNS", "MAX_NEGATIVES", "NAME_EVALUE", "match_name",
]

log = logging.getLogger("motifscan")

#: A motif whose best database match has at most this E-value is named after it: the alternate
#: name in the motif file (``MOTIF filter25 CTCF_MA0139.2``) and the workflow report's motif column.
NAME_EVALUE = 0.05

#: Columns of the TSV written beside the motif file (``NA`` where a value does not apply). One
#: row per written motif: a group of filters (``members``, best member first; the motif is the
#: first member's) or, with ``merge=False``, one filter.
TSV_COLUMNS = (
    "rank",
    "filter",
    "motif_id",
    "n_members",
    "members",
    "method",
    "nsites",
    "width",
    "total_ic",
    "influence_loss",
    "influence_pred",
    "best_match_id",
    "best_match_alt",
    "best_match_evalue",
)

#: Negatives for the influence are drawn for at most this many sequences (seeded sample). The
#: influence weighs both classes equally, so more negatives only make it less noisy.
MAX_NEGATIVES = 2000


@dataclass(frozen=True)
class ExportOptions:
    """How filters become motifs and in which order (``motifscan export``'s knobs).

    Attributes
    ----------
    fraction, min_sites
        Activation threshold ``mean + fraction * (max - mean)`` and the minimum number of
        sites; filters with fewer sites are left out with a warning.
    trim, trim_ic
        Drop flanking positions below ``trim_ic`` bits.
    merge
        Group filters whose motifs match one another and write each group once; ``False``: one
        motif per filter, ranked by its own influence.
    group_evalue
        Two filters are grouped when their motifs match with at most this Tomtom E-value (see
        :mod:`motifscan.motifs.groups`).
    max_negatives
        Negatives for the influence are made for a seeded sample of at most this many sequences.
    batch_bases
        Memory bound for activations (bases per batch).
    seed
        Seed of the negatives and of the sample they are drawn for.
    task
        Multi-task models: order the motifs by this task's influence (``None``: by the mean over
        the tasks). With one sequence file it also says whose peaks they are.
    """

    fraction: float = 0.5
    min_sites: int = 10
    trim: bool = False
    trim_ic: float = 0.5
    merge: bool = True
    group_evalue: float = GROUP_EVALUE
    max_negatives: int = MAX_NEGATIVES
    batch_bases: int = 1 << 17
    seed: int = 0
    task: str | None = None

    def __post_init__(self) -> None:
        if not 0.0 <= self.fraction < 1.0:
            raise UsageError(f"--fraction must be in [0, 1), got {self.fraction}")
        if self.min_sites < 1:
            raise UsageError(f"--min-sites must be at least 1, got {self.min_sites}")
        if self.group_evalue < 0:
            raise UsageError(f"--group-evalue must be >= 0, got {self.group_evalue}")
        if self.max_negatives < 1:
            raise UsageError(f"--max-negatives must be at least 1, got {self.max_negatives}")
        if self.batch_bases < 1:
            raise UsageError(f"batch_bases must be at least 1, got {self.batch_bases}")


@dataclass
class ExportResult:
    """What :func:`export_motifs` wrote.

    Attributes
    ----------
    motifs
        The written motifs, most influential first (one per group, or per filter).
    filters
        The filter of each written motif (its group's best member).
    groups
        The filters of each written motif's group, best member first (``[f]`` without merging).
    rows
        The TSV rows (dicts keyed by :data:`TSV_COLUMNS`), in the same order.
    method
        ``"activation"`` (from sequences) or ``"weights"``.
    dropped
        Filters left out for having fewer than ``min_sites`` sites.
    influence
        Per-filter influence, indexed by filter (``None`` for the weight-based export).
    group_influence
        Influence of knocking out each written motif's group, in the written order.
    negatives
        The negatives the influence used: ``"shuffle"``, ``"background"``, a file, ``"labels"``
        (given with in-memory sequences) or ``None`` (weight-based export).
    n_negatives
        How many negatives.
    motifs_path, table_path
        The motif file and its TSV.
    logo_paths
        Logo files written (empty without ``logos_dir``).
    """

    motifs: list[Motif]
    filters: list[int]
    groups: list[list[int]]
    rows: list[dict[str, Any]]
    method: str
    dropped: list[int]
    influence: Influence | None
    group_influence: Influence | None
    negatives: str | None
    n_negatives: int
    motifs_path: Path
    table_path: Path
    logo_paths: list[Path] = field(default_factory=list)


def table_path(output: str | os.PathLike) -> Path:
    """The TSV beside a motif file: the same path with its suffix replaced by ``.tsv``."""
    out = Path(output)
    return out.with_suffix(".tsv") if out.suffix.lower() != ".tsv" else out.with_suffix(".motifs.tsv")


def _resolve_db(db) -> list[Motif] | None:
    if db is None:
        return None
    if isinstance(db, (str, os.PathLike)):
        from . import motif_file

        path = motif_file(db)
        if not path.exists():
            raise InputError("motif database not found", path=path,
                             hint="give a MEME/JASPAR/TRANSFAC/HOMER file, or 'jaspar' for the bundled JASPAR 2024")
        return read_motifs(path)
    return list(db)


def match_name(target_id: str, target_alt: str = "") -> str:
    """How a motif that matches a database motif is named after it: ``CTCF MA0139.2``."""
    return f"{target_alt} {target_id}" if target_alt and target_alt != "NA" else target_id


def _best_matches(queries: list[Motif], database: list[Motif]) -> dict[str, tuple[str, str, float]]:
    """Best database match (lowest E-value) per query id: ``(target_id, target_alt, e_value)``."""
    from .compare import compare_motifs

    return {m.query_id: (m.target_id, m.target_alt or "", m.e_value)
            for m in compare_motifs(queries, database, top=1)}


# ---------------------------------------------------------------------------- negatives
def resolve_negatives(negatives: str | os.PathLike | None, model: MotifCNN, *,
                      genome: str | os.PathLike | None, intervals: bool, task: str | None = None) -> str:
    """The negatives to contrast the sequences with: the user's, else the model's own.

    Parameters
    ----------
    negatives
        ``"shuffle"``, ``"background"``, a FASTA/BED file, or ``None``: what the model was
        trained with, as its provenance records it (``train`` writes ``negatives``: shuffle,
        background or file, with the file's path and SHA-256).
    model
        The model (its ``provenance``).
    genome, intervals
        Whether a genome and BED intervals are at hand (background negatives need both).
    task
        Multi-task models: whose negatives (each task records its own).

    Returns
    -------
    str
        ``"shuffle"``, ``"background"`` or a file path. Where the model's negatives cannot be
        made again (background without BED + genome; a file that is gone or changed) it is
        ``"shuffle"``, with a warning naming the option that would restore them.
    """
    if negatives is not None:
        return os.fspath(negatives)
    prov = getattr(model, "provenance", None) or {}
    trained = prov.get("negatives")
    if isinstance(trained, dict):  # a multi-task model: {task: mode}
        trained = trained.get(task)
    if trained == "background":
        if genome is not None and intervals:
            return "background"
        log.warning("the model was trained against GC-matched background negatives, but export has no "
                    "BED --sequences with --genome to draw them from: contrasting with dinucleotide shuffles "
                    "(give BED peaks and --genome, or --negatives FILE)")
    elif trained == "file":
        entry = prov.get("inputs", {}).get("negatives" if task is None else f"{task}.negatives", {})
        path = entry.get("path")
        if path and Path(path).is_file():
            if entry.get("sha256") in (None, file_sha256(path)):
                return path
        log.warning("the model was trained against the negatives in %s, which is %s: contrasting with "
                    "dinucleotide shuffles (give --negatives FILE)", path or "a file",
                    "not the same file any more" if path and Path(path).is_file() else "not here")
    return "shuffle"


def _negatives(pos: SequenceSet, mode: str, fa: IndexedFasta | None, *, min_length: int,
               options: ExportOptions) -> np.ndarray:
    """``(M, L)`` negative codes for the influence: ``mode`` made for (a sample of) ``pos``."""
    from ..data.negatives import gc_matched_background, shuffle_all

    rng = np.random.default_rng(options.seed)
    limit = options.max_negatives
    sample = pos if len(pos) <= limit else pos.subset(np.sort(rng.choice(len(pos), limit, replace=False)))
    if mode == "shuffle":
        return shuffle_all(sample.codes, 1, options.seed)
    if mode == "background":
        if fa is None or pos.intervals is None:
            raise UsageError("--negatives background needs BED/narrowPeak --sequences and --genome")
        # away from every peak, not only the sampled ones
        return gc_matched_background(fa, sample.intervals, sample.codes, seed=options.seed, avoid=pos.intervals)[1]
    if not Path(mode).exists():
        raise UsageError(f"--negatives {mode!r} is neither 'shuffle', 'background' nor an existing file")
    codes = load_sequences(mode, genome=fa, length=pos.codes.shape[1], min_length=min_length).codes
    if len(codes) > limit:
        codes = codes[np.sort(rng.choice(len(codes), limit, replace=False))]
    return codes


# ---------------------------------------------------------------------------- ordering without data
def _weight_proxy(model: MotifCNN) -> np.ndarray:
    """Influence proxy without data: largest possible pooled output x head sensitivity."""
    bank = model.bank()
    w = bank.weight.double().cpu()
    top = torch.relu(w.amax(dim=1).sum(dim=1) + bank.bias.double().cpu())
    sens = model.head_params().linears[0].weight.detach().double().cpu().norm(dim=0)
    return (top * sens).numpy()


def _ranks(order: np.ndarray) -> np.ndarray:
    """``rank[i]`` = position of ``i`` in ``order`` (0 = first)."""
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return rank


# ---------------------------------------------------------------------------- main entry
@writes_outputs
def export_motifs(
    model: MotifCNN | str | os.PathLike,
    output: str | os.PathLike,
    *,
    sequences=None,
    genome: str | os.PathLike | None = None,
    negatives: str | os.PathLike | None = None,
    labels: np.ndarray | None = None,
    format: str | None = None,
    db=None,
    logos_dir: str | os.PathLike | None = None,
    svg: bool = False,
    device: str | torch.device | None = None,
    options: ExportOptions = ExportOptions(),
) -> ExportResult:
    """Write a model's filters as motifs, most influential first, with a TSV and logos.

    Parameters
    ----------
    model
        A :class:`~motifscan.model.MotifCNN` or the path of a model file.
    output
        Motif file; its extension (``.meme``, ``.jaspar``, ``.transfac``, ``.motif``) picks the
        format unless ``format`` is given. The TSV goes beside it (:func:`table_path`).
    sequences, genome
        The sequences (e.g. the training peaks): a FASTA (records of any length; ``genome`` is
        then only used for background negatives), a BED/narrowPeak with ``genome``, or in
        memory (an ``(N, L)`` uint8 array, or a list of code arrays or strings); read by
        :func:`motifscan.data.datasets.load_sequences`. Motifs come from the sequences as read;
        the influence from their model-length windows (centre-cropped or N-padded). For a
        multi-task model: one :class:`~motifscan.io.samplesheet.TaskSpec` per task (its peaks,
        negatives and genome; each task's sequences are positives for it and unknown for the
        others, as in training), or one file with ``options.task`` naming its task.
        ``None``: the weight-based conversion (rougher; motifs ordered by a weight proxy --
        largest possible pooled output times the head's weight norm -- and the influence
        columns are ``NA``).
    negatives
        What the sequences are contrasted with for the influence: ``"shuffle"`` (dinucleotide
        shuffles), ``"background"`` (GC-matched genomic regions; BED sequences and ``genome``),
        a FASTA/BED file, or ``None``: what the model was trained with (see
        :func:`resolve_negatives`). Made for at most ``options.max_negatives`` sequences.
    labels
        ``(N,)`` or ``(N, T)`` 0/1 labels of in-memory ``sequences``: then the classes are
        given and no negatives are added (``negatives`` must be ``None``).
    format
        Motif format, if not from the extension.
    db
        Motif database (a path, ``"jaspar"`` for the bundled JASPAR 2024 CORE vertebrates, or
        a list of motifs): adds each motif's best match (lowest E-value) to the TSV.
    logos_dir, svg
        Write one PNG logo per motif (and SVG with ``svg``) into this directory (created if
        missing; its parent must exist).
    device
        ``None``/``"auto"``, ``"cpu"``, ``"cuda"``...; a model passed in is moved back after.
    options
        Thresholds, trimming, grouping, the negatives' number and seed: :class:`ExportOptions`.

    Returns
    -------
    ExportResult

    Raises
    ------
    UsageError
        Unwritable outputs, unknown format, a BED without genome, bad option values.
    InputError
        Unreadable model, sequences or database; no filter with enough sites.
    """
    fmt = detect_format(output, format)
    output = check_output_path(output)
    tsv = check_output_path(table_path(output))
    model_file = model if isinstance(model, (str, os.PathLike)) else model.source
    check_distinct([("MODEL", model_file), *named_inputs("--sequences", sequences), ("--genome", genome),
                    ("--negatives", negatives), ("--db", db if isinstance(db, (str, os.PathLike)) else None)],
                   [("-o", output), ("-o's table", tsv)])
    if logos_dir is not None:
        logos_dir = Path(logos_dir)
        if logos_dir.exists() and not logos_dir.is_dir():
            raise UsageError(f"--logos {logos_dir} is a file, not a directory")
        if not logos_dir.exists() and not logos_dir.parent.is_dir():
            raise UsageError(f"the parent of --logos {logos_dir} does not exist",
                             hint=f"create it first (mkdir -p {logos_dir.parent})")
    if sequences is None and genome is not None:
        raise UsageError("--genome needs --sequences (a BED or FASTA file)")
    if sequences is None and negatives is not None:
        raise UsageError("--negatives needs --sequences", hint="negatives are contrasted with sequences")
    if labels is not None and negatives is not None:
        raise UsageError("give labels or negatives, not both")
    database = _resolve_db(db)

    dev = resolve_compute(device, "export").device
    if isinstance(model, (str, os.PathLike)):
        model, home = load_model(model, device=dev), None
    else:
        home = next(model.parameters()).device
        model.to(dev)
    try:
        if sequences is not None:
            ranking = _rank_from_sequences(model, sequences, genome, negatives, labels, options, dev)
        else:
            log.info("export: no sequences given; weight-based motifs (rougher)")
            ranking = _rank_from_weights(model, options)
    finally:
        if home is not None:
            model.to(home)
    model_tasks = list(model.config.tasks)
    per_filter, nsites, method = ranking.motifs, ranking.nsites, ranking.method
    groups, group_inf = ranking.groups, ranking.group_influence

    filters = [g[0] for g in groups]
    dropped = [f for f in range(len(per_filter)) if per_filter[f] is None]
    motifs = [per_filter[f] for f in filters]
    if options.trim:
        motifs = [m.trim(options.trim_ic) for m in motifs]
    best = _best_matches(motifs, database) if database is not None else {}
    # a motif that matches a known one well carries its name (the motif file's alternate name)
    motifs = [replace(m, alt=match_name(*best[m.id][:2])) if m.id in best and best[m.id][2] <= NAME_EVALUE else m
              for m in motifs]

    rows = []
    for rank, (members, m) in enumerate(zip(groups, motifs), start=1):
        f = members[0]
        match = best.get(m.id)
        rows.append({
            "rank": rank,
            "filter": f,
            "motif_id": m.id,
            "n_members": len(members),
            "members": ",".join(per_filter[g].id for g in members),
            "method": method,
            "nsites": int(nsites[f]) if method == "activation" else "NA",
            "width": m.width,
            "total_ic": round(m.total_ic(), 4),
            "influence_loss": float(group_inf.loss[rank - 1]) if group_inf is not None else "NA",
            "influence_pred": float(group_inf.pred[rank - 1]) if group_inf is not None else "NA",
            **_task_cells(model_tasks, group_inf, rank - 1),
            "best_match_id": match[0] if match else "NA",
            "best_match_alt": (match[1] or "NA") if match else "NA",
            "best_match_evalue": match[2] if match else "NA",
        })

    logo_paths: list[Path] = []
    # the motif file, its table and the logos are one output set (and a logo folder made here
    # goes again if anything fails)
    with output_set() as outputs:
        with atomic_path(output) as motif_tmp, atomic_path(tsv) as tsv_tmp:
            write_motifs(motifs, motif_tmp, fmt)
            _write_table(rows, tsv_tmp, task_columns(model_tasks))
        if logos_dir is not None:
            from .logos import plot_logos

            outputs.makedirs(logos_dir)
            logo_paths = [Path(p) for p in (plot_logos(motifs, logos_dir, svg=svg) or [])]
    grouped = sum(len(g) for g in groups)
    log.info("wrote %d motifs (%d filters%s) to %s (%s), table %s%s", len(motifs), grouped,
             f" in {len(groups)} groups" if options.merge else "", output, fmt, tsv,
             f", logos in {logos_dir}" if logos_dir is not None else "")
    return ExportResult(motifs, filters, groups, rows, method, dropped, ranking.influence, group_inf,
                        ranking.negatives, ranking.n_negatives, output, tsv, logo_paths)


@dataclass
class _Ranking:
    """Filters -> motifs, and the groups to write in order (most influential first)."""

    motifs: list[Motif | None]  # per filter
    nsites: np.ndarray  # per filter
    method: str
    groups: list[list[int]]  # written order, best member first
    influence: Influence | None = None  # per filter
    group_influence: Influence | None = None  # per group, written order
    negatives: str | None = None
    n_negatives: int = 0


def _rank_from_weights(model: MotifCNN, options: ExportOptions) -> _Ranking:
    motifs = weight_motifs(model)
    order = [int(f) for f in np.argsort(-_weight_proxy(model), kind="stable")]
    if options.merge and len(order) > 1:
        groups = group_motifs([motifs[f] for f in order], -np.arange(len(order)), evalue=options.group_evalue)
        groups = [[order[i] for i in g] for g in groups]  # seeds come in proxy order
    else:
        groups = [[f] for f in order]
    return _Ranking(motifs, np.array([m.nsites for m in motifs]), "weights", groups)


def _task_parts(model: MotifCNN, sequences, genome, negatives, options: ExportOptions) -> list[tuple]:
    """``(sequences or path, genome, negatives, task column or None)`` per labelled part.

    One part for a one-task model (``None``: its only task); for a multi-task model one part per
    :class:`~motifscan.io.samplesheet.TaskSpec`, or the one file of ``options.task``.
    """
    tasks = list(model.config.tasks)
    column = None if options.task is None else task_index(tasks, options.task)
    if isinstance(sequences, (list, tuple)) and sequences and all(isinstance(s, TaskSpec) for s in sequences):
        unknown = [s.name for s in sequences if s.name not in tasks]
        if unknown:
            raise UsageError(f"task {unknown[0]!r} is not a task of the model", hint=f"its tasks: {', '.join(tasks)}")
        return [(s.peaks, s.genome or genome, s.negatives if s.negatives is not None else negatives,
                 tasks.index(s.name)) for s in sequences]
    if len(tasks) > 1:
        if options.task is None:
            raise UsageError(f"the model has {len(tasks)} tasks ({', '.join(tasks)}): say whose peaks --sequences are",
                             hint="add --task NAME, or give one file per task (--sequences A --sequences B "
                                  "--task-names a,b, or --samplesheet)")
        return [(sequences, genome, negatives, column)]
    return [(sequences, genome, negatives, None)]


def _rank_from_sequences(model: MotifCNN, sequences, genome, negatives, labels, options: ExportOptions,
                         dev) -> _Ranking:
    length = model.config.seq_length
    tasks = list(model.config.tasks)
    parts = _task_parts(model, sequences, genome, negatives, options)
    if labels is not None and len(parts) > 1:
        raise UsageError("give labels or tasks' peak files, not both")
    loaded = []
    for seqs, fa_path, _neg, _col in parts:
        fa = IndexedFasta(fa_path) if fa_path is not None else None
        try:
            pos = (load_sequences(seqs, genome=fa, length=length) if isinstance(seqs, (str, os.PathLike))
                   else sequence_set(seqs, length=length))
        except BaseException:
            if fa is not None:
                fa.close()
            raise
        loaded.append((pos, fa))
    try:
        n_pos = sum(len(pos) for pos, _fa in loaded)
        if labels is not None and len(np.asarray(labels)) != n_pos:
            raise UsageError(f"{len(np.asarray(labels))} labels for {n_pos} sequences")
        log.info("export: %d filters, activations over %d sequences", model.config.n_filters, n_pos)
        as_read = [r for pos, _fa in loaded for r in pos.as_read()]
        try:
            act = activation_motifs(model, as_read, fraction=options.fraction, min_sites=options.min_sites,
                                    batch_bases=options.batch_bases, device=dev)
        except ValueError as exc:
            raise InputError(str(exc), path=sequences if isinstance(sequences, (str, os.PathLike)) else None) from None
        kept = [f for f, m in enumerate(act.motifs) if m is not None]
        if not kept:
            raise InputError(
                f"no filter has {options.min_sites} or more sites above the activation threshold",
                hint="give more sequences, or lower --min-sites / --fraction",
            )
        pooled_parts, label_parts, modes, n_neg, offset = [], [], [], 0, 0
        for (pos, fa), (seqs, fa_path, neg_mode, col) in zip(loaded, parts):
            # the influence sees what the model saw in training: windows of its length
            whole = pos.records is None or all(len(r) == length for r in pos.records)
            pooled = (act.pooled[offset : offset + len(pos)] if whole
                      else pooled_outputs(model, list(pos.codes), batch_bases=options.batch_bases, device=dev))
            offset += len(pos)
            if labels is not None:
                pooled_parts.append(pooled)
                modes.append("labels")
                n_neg += int((np.asarray(labels).reshape(len(pos), -1) < 0.5).any(axis=1).sum())
                continue
            task = tasks[col] if col is not None and len(tasks) > 1 else None
            mode = resolve_negatives(neg_mode, model, genome=fa_path, intervals=pos.intervals is not None, task=task)
            neg = _negatives(pos, mode, fa, min_length=model.config.filter_width, options=options)
            log.info("export: influence of %d sequences%s against %d negatives (%s), both classes weighed equally",
                     len(pos), f" of task {task}" if task else "", len(neg), mode)
            neg_pooled = pooled_outputs(model, list(neg), batch_bases=options.batch_bases, device=dev)
            pooled_parts += [pooled, neg_pooled]
            y = np.r_[np.ones(len(pos)), np.zeros(len(neg))]
            if col is None:
                label_parts.append(y)
            else:  # the other tasks' labels are unknown for this part
                block = np.full((len(y), len(tasks)), np.nan)
                block[:, col] = y
                label_parts.append(block)
            modes.append(mode)
            n_neg += len(neg)
    finally:
        for _pos, fa in loaded:
            if fa is not None:
                fa.close()
    pooled = np.concatenate(pooled_parts)
    if labels is None:
        labels = np.concatenate(label_parts)
    mode = modes[0] if len(set(modes)) == 1 else ",".join(modes)
    order_task = task_index(tasks, options.task) if options.task is not None and len(tasks) > 1 else None
    influence = filter_influence(model, pooled, labels, device=dev)
    if options.merge and len(kept) > 1:
        priority = -_ranks(influence.order(order_task))[kept]  # each filter's own influence
        groups = group_motifs([act.motifs[f] for f in kept], priority, evalue=options.group_evalue)
        groups = [[kept[i] for i in g] for g in groups]
        by_group = filter_influence(model, pooled, labels, groups=groups, device=dev)
    else:  # one filter per group: the per-filter influence is the groups' already
        groups = [[f] for f in kept]
        by_group = influence.take(kept)
    order = by_group.order(order_task)
    return _Ranking(act.motifs, act.nsites, "activation", [groups[i] for i in order], influence,
                    by_group.take(order), mode, n_neg)


def _cell(value) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def task_columns(tasks: list[str]) -> list[str]:
    """The per-task influence columns of a multi-task model's table (none for one task)."""
    return [f"influence_{t}" for t in tasks] if len(tasks) > 1 else []


def _task_cells(tasks: list[str], influence: Influence | None, index: int) -> dict[str, Any]:
    if len(tasks) < 2:
        return {}
    if influence is None or influence.task_loss is None:
        return {c: "NA" for c in task_columns(tasks)}
    return {c: ("NA" if np.isnan(v) else float(v)) for c, v in zip(task_columns(tasks), influence.task_loss[index])}


def _write_table(rows: list[dict[str, Any]], path: Path, extra: list[str] = ()) -> None:
    columns = list(TSV_COLUMNS[: TSV_COLUMNS.index("influence_pred") + 1]) + list(extra) + \
        list(TSV_COLUMNS[TSV_COLUMNS.index("influence_pred") + 1:])
    with atomic_open(path, "w") as fh:
        fh.write("\t".join(columns) + "\n")
        for row in rows:
            fh.write("\t".join(_cell(row[c]) for c in columns) + "\n")
