"""Export a model's filters as motifs: PWMs ordered by influence, a TSV summary and logos.

:func:`export_motifs` is what ``motifscan export`` runs:

1. sequences (a FASTA, a BED + genome, or code arrays) -> filter activations -> one motif per
   filter from the W-mers that activate it (:func:`motifscan.motifs.extract.activation_motifs`);
   without sequences, the rougher weight-based conversion
   (:func:`motifscan.motifs.extract.weight_motifs`);
2. influence of each filter (:func:`motifscan.motifs.influence.filter_influence`) from the same
   pass; motifs are written most influential first;
3. optional trimming of low-information flanks, database matching, logos.
"""

from __future__ import annotations

import logging
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from ..atomic import atomic_open, atomic_path, check_output_path
from ..codes import encode
from ..errors import InputError, UsageError
from ..io.motif_formats import detect_format, read_motifs, write_motifs
from ..model import MotifCNN, load_model
from .extract import activation_motifs, pooled_outputs, weight_motifs
from .influence import Influence, filter_influence
from .pwm import Motif

__all__ = ["ExportResult", "export_motifs", "load_sequences", "shuffled_negatives", "table_path", "TSV_COLUMNS", "MAX_SHUFFLED"]

log = logging.getLogger("motifscan")

#: Columns of the TSV written beside the motif file (``NA`` where a value does not apply).
TSV_COLUMNS = (
    "rank",
    "filter",
    "motif_id",
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

_BED_SUFFIXES = (".bed", ".narrowpeak", ".broadpeak", ".bed.gz", ".narrowpeak.gz", ".broadpeak.gz")


@dataclass
class ExportResult:
    """What :func:`export_motifs` wrote.

    Attributes
    ----------
    motifs
        The written motifs, most influential first.
    filters
        The filter index of each written motif.
    rows
        The TSV rows (dicts keyed by :data:`TSV_COLUMNS`), in the same order.
    method
        ``"activation"`` (from sequences) or ``"weights"``.
    dropped
        Filters left out for having fewer than ``min_sites`` sites.
    influence
        Per-filter influence (``None`` for the weight-based export, which has no data).
    motifs_path, table_path
        The motif file and its TSV.
    logo_paths
        Logo files written (empty without ``logos_dir``).
    """

    motifs: list[Motif]
    filters: list[int]
    rows: list[dict[str, Any]]
    method: str
    dropped: list[int]
    influence: Influence | None
    motifs_path: Path
    table_path: Path
    logo_paths: list[Path] = field(default_factory=list)


def table_path(output: str | os.PathLike) -> Path:
    """The TSV beside a motif file: the same path with its suffix replaced by ``.tsv``."""
    out = Path(output)
    return out.with_suffix(".tsv") if out.suffix.lower() != ".tsv" else out.with_suffix(".motifs.tsv")


# ---------------------------------------------------------------------------- input
def _is_bed(path: Path) -> bool:
    name = path.name.lower()
    return name.endswith(_BED_SUFFIXES)


def load_sequences(
    sequences: str | os.PathLike | np.ndarray | Sequence,
    genome: str | os.PathLike | None = None,
    *,
    length: int = 200,
) -> list[np.ndarray]:
    """Sequences for export as uint8 code arrays.

    Parameters
    ----------
    sequences
        A FASTA path (records of any length); a BED/narrowPeak path together with ``genome``
        (``length``-bp windows centred on the summit or midpoint, as training cuts them;
        intervals too near a chromosome end are skipped with a warning); or in memory: an
        ``(N, L)`` uint8 array, or a list of code arrays or strings.
    genome
        Indexed (plain or bgzip) genome FASTA for a BED.
    length
        Window length for a BED (the model's ``seq_length``).

    Raises
    ------
    UsageError
        A BED without ``genome``.
    InputError
        Unreadable input, unknown chromosomes, or no usable sequence.
    """
    if not isinstance(sequences, (str, os.PathLike)):
        if isinstance(sequences, np.ndarray) and sequences.dtype == np.uint8 and sequences.ndim == 2:
            return list(sequences)
        return [encode(s) if isinstance(s, (str, bytes)) else np.asarray(s, dtype=np.uint8) for s in sequences]
    path = Path(sequences)
    if not path.exists():
        raise InputError("sequence file not found", path=path)
    if genome is None:
        if _is_bed(path):
            raise UsageError(
                "--sequences is a BED file but no genome was given", path=path,
                hint="add --genome GENOME.fa, or give a FASTA of the sequences",
            )
        from ..io.fasta import read_fasta

        seqs = [rec.codes for rec in read_fasta(path)]
        if not seqs:
            raise InputError("no FASTA records", path=path)
        return seqs
    from ..io.fasta import IndexedFasta
    from ..io.intervals import centre, check_chromosomes, read_intervals

    intervals = read_intervals(path)
    with IndexedFasta(genome) as fa:
        check_chromosomes(intervals, fa.sizes, path, genome)
        windows = [(iv.chrom, centre(iv, length, fa.sizes[iv.chrom])) for iv in intervals]
        seqs = [fa.fetch(chrom, *span) for chrom, span in windows if span is not None]
    skipped = len(intervals) - len(seqs)
    if skipped:
        log.warning("%d interval(s) too close to a chromosome end for a %d-bp window skipped", skipped, length)
    if not seqs:
        raise InputError(f"no interval leaves room for a {length}-bp window", path=path)
    return seqs


def _resolve_db(db) -> list[Motif] | None:
    if db is None:
        return None
    if isinstance(db, (str, os.PathLike)):
        path = Path(db)
        if not path.exists() and str(db).lower() == "jaspar":
            from . import jaspar_path

            path = jaspar_path()
        if not path.exists():
            raise InputError("motif database not found", path=path,
                             hint="give a MEME/JASPAR/TRANSFAC/HOMER file, or 'jaspar' for the bundled JASPAR 2024")
        return read_motifs(path)
    return list(db)


def _best_matches(queries: list[Motif], database: list[Motif]) -> dict[str, tuple[str, str, float]]:
    """Best database match (lowest E-value) per query id: ``(target_id, target_alt, e_value)``."""
    from .compare import compare_motifs

    return {m.query_id: (m.target_id, m.target_alt or "", m.e_value)
            for m in compare_motifs(queries, database, top=1)}


#: At most this many sequences are shuffled into negatives for the influence (bounded cost).
MAX_SHUFFLED = 2000


def shuffled_negatives(seqs: Sequence[np.ndarray], length: int, *, seed: int = 0,
                       max_n: int = MAX_SHUFFLED) -> list[np.ndarray]:
    """Dinucleotide shuffles of up to ``max_n`` of ``seqs`` (seeded subset), each cut to its
    central ``length`` bases first."""
    from ..data.negatives import dinucleotide_shuffle

    rng = np.random.default_rng(seed)
    pick = np.arange(len(seqs)) if len(seqs) <= max_n else np.sort(rng.choice(len(seqs), max_n, replace=False))
    out = []
    for i in pick:
        s = seqs[i]
        lo = max(0, (len(s) - length) // 2)
        out.append(dinucleotide_shuffle(s[lo : lo + length], rng))
    return out


# ---------------------------------------------------------------------------- ordering without data
def _weight_proxy(model: MotifCNN) -> np.ndarray:
    """Influence proxy without data: largest possible pooled output x head sensitivity."""
    w = model.conv.weight.detach().double().cpu()
    top = torch.relu(w.amax(dim=1).sum(dim=1) + model.conv.bias.detach().double().cpu())
    first = next(m for m in model.head if isinstance(m, torch.nn.Linear))
    sens = first.weight.detach().double().cpu().norm(dim=0)
    return (top * sens).numpy()


# ---------------------------------------------------------------------------- main entry
def export_motifs(
    model: MotifCNN | str | os.PathLike,
    output: str | os.PathLike,
    *,
    sequences=None,
    genome: str | os.PathLike | None = None,
    labels: np.ndarray | None = None,
    format: str | None = None,
    fraction: float = 0.5,
    min_sites: int = 10,
    trim: bool = False,
    trim_ic: float = 0.5,
    db=None,
    logos_dir: str | os.PathLike | None = None,
    svg: bool = False,
    device: str | torch.device | None = None,
    batch_bases: int = 1 << 17,
    seed: int = 0,
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
        Data for the activation-based conversion and influence: see :func:`load_sequences`.
        ``None``: the weight-based conversion (rougher; motifs ordered by a weight proxy --
        largest possible pooled output times the head's weight norm -- and the influence
        columns are ``NA``).
    labels
        ``(N,)`` or ``(N, T)`` 0/1 labels of in-memory ``sequences`` for the influence loss.
        ``None`` (the usual case, and the CLI's): the sequences are positives, contrasted with
        dinucleotide shuffles of up to :data:`MAX_SHUFFLED` of them (cut to the model's length)
        as negatives -- with positives alone, replacing a filter by its mean over the positives
        barely changes anything for a filter that fires on all of them. Motifs come from the
        given sequences only.
    fraction, min_sites
        Activation threshold ``mean + fraction * (max - mean)`` and the minimum number of
        sites; filters with fewer sites are left out with a warning.
    trim, trim_ic
        Drop flanking positions below ``trim_ic`` bits.
    db
        Motif database (a path, ``"jaspar"`` for the bundled JASPAR 2024 CORE vertebrates, or
        a list of motifs): adds each motif's best match (lowest E-value) to the TSV.
    logos_dir, svg
        Write one PNG logo per motif (and SVG with ``svg``) into this directory (created if
        missing; its parent must exist).
    device
        ``None``/``"auto"``, ``"cpu"``, ``"cuda"``...; a model passed in is moved back after.
    batch_bases
        Memory bound for activations (bases per batch).
    seed
        Seed of the shuffled negatives.

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
    from ..device import resolve_device

    fmt = detect_format(output, format)
    output = check_output_path(output)
    tsv = check_output_path(table_path(output))
    if logos_dir is not None:
        logos_dir = Path(logos_dir)
        if logos_dir.exists() and not logos_dir.is_dir():
            raise UsageError(f"--logos {logos_dir} is a file, not a directory")
        if not logos_dir.exists() and not logos_dir.parent.is_dir():
            raise UsageError(f"the parent of --logos {logos_dir} does not exist",
                             hint=f"create it first (mkdir -p {logos_dir.parent})")
    if not 0.0 <= fraction < 1.0:
        raise UsageError(f"--fraction must be in [0, 1), got {fraction}")
    if min_sites < 1:
        raise UsageError(f"--min-sites must be at least 1, got {min_sites}")
    database = _resolve_db(db)

    dev = resolve_device(device)
    if isinstance(model, (str, os.PathLike)):
        model, home = load_model(model, device=dev), None
    else:
        home = next(model.parameters()).device
        model.to(dev)
    try:
        if sequences is not None:
            seqs = load_sequences(sequences, genome, length=model.config.seq_length)
            if labels is not None and len(np.asarray(labels)) != len(seqs):
                raise UsageError(f"{len(np.asarray(labels))} labels for {len(seqs)} sequences")
            log.info("export: %d filters, activations over %d sequences", model.config.n_filters, len(seqs))
            try:
                act = activation_motifs(model, seqs, fraction=fraction, min_sites=min_sites,
                                        batch_bases=batch_bases, device=dev)
            except ValueError as exc:
                raise InputError(str(exc), path=sequences if isinstance(sequences, (str, os.PathLike)) else None) from None
            pooled, labels = act.pooled, labels
            if labels is None:
                # Positives alone make the knock-out degenerate (a filter that fires on every
                # positive barely moves from its mean), so contrast them with shuffles, as
                # training does by default.
                negatives = shuffled_negatives(seqs, model.config.seq_length, seed=seed)
                neg_pooled = pooled_outputs(model, negatives, batch_bases=batch_bases, device=dev)
                pooled = np.concatenate([pooled, neg_pooled])
                labels = np.r_[np.ones(len(seqs)), np.zeros(len(negatives))]
            influence = filter_influence(model, pooled, labels, device=dev)
            per_filter, method, nsites = act.motifs, "activation", act.nsites
            order = influence.order()
        else:
            if genome is not None:
                raise UsageError("--genome needs --sequences (a BED file)")
            log.info("export: no sequences given; weight-based motifs (rougher)")
            per_filter, method, influence = weight_motifs(model), "weights", None
            nsites = np.array([m.nsites for m in per_filter])
            order = np.argsort(-_weight_proxy(model), kind="stable")
    finally:
        if home is not None:
            model.to(home)

    filters = [int(f) for f in order if per_filter[f] is not None]
    dropped = [f for f in range(len(per_filter)) if per_filter[f] is None]
    if not filters:
        raise InputError(
            f"no filter has {min_sites} or more sites above the activation threshold",
            hint="give more sequences, or lower --min-sites / --fraction",
        )
    motifs = [per_filter[f] for f in filters]
    if trim:
        motifs = [m.trim(trim_ic) for m in motifs]
    best = _best_matches(motifs, database) if database is not None else {}

    rows = []
    for rank, (f, m) in enumerate(zip(filters, motifs), start=1):
        match = best.get(m.id)
        rows.append({
            "rank": rank,
            "filter": f,
            "motif_id": m.id,
            "method": method,
            "nsites": int(nsites[f]) if method == "activation" else "NA",
            "width": m.width,
            "total_ic": round(m.total_ic(), 4),
            "influence_loss": float(influence.loss[f]) if influence is not None else "NA",
            "influence_pred": float(influence.pred[f]) if influence is not None else "NA",
            "best_match_id": match[0] if match else "NA",
            "best_match_alt": (match[1] or "NA") if match else "NA",
            "best_match_evalue": match[2] if match else "NA",
        })

    logo_paths: list[Path] = []
    made_logos_dir = logos_dir is not None and not logos_dir.exists()
    try:
        # the motif file and its table appear together, and only once the logos are drawn too
        with atomic_path(output) as motif_tmp, atomic_path(tsv) as tsv_tmp:
            write_motifs(motifs, motif_tmp, fmt)
            _write_table(rows, tsv_tmp)
            if logos_dir is not None:
                from .logos import plot_logos

                logos_dir.mkdir(exist_ok=True)
                logo_paths = [Path(p) for p in (plot_logos(motifs, logos_dir, svg=svg) or [])]
    except BaseException:  # failed or interrupted: take back the logo folder this run made
        if made_logos_dir:
            shutil.rmtree(logos_dir, ignore_errors=True)
        raise
    log.info("wrote %d motifs to %s (%s), table %s%s", len(motifs), output, fmt, tsv,
             f", logos in {logos_dir}" if logos_dir is not None else "")
    return ExportResult(motifs, filters, rows, method, dropped, influence, output, tsv, logo_paths)


def _cell(value) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _write_table(rows: list[dict[str, Any]], path: Path) -> None:
    with atomic_open(path, "w") as fh:
        fh.write("\t".join(TSV_COLUMNS) + "\n")
        for row in rows:
            fh.write("\t".join(_cell(row[c]) for c in TSV_COLUMNS) + "\n")
