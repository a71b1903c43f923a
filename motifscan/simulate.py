"""Synthetic genomes with planted motif sites: a known answer for scans and workflows.

:func:`simulate_genome` writes a FASTA of random background sequence (i.i.d. bases with a given
GC content) in which ``n_sites`` motif instances, each sampled letter by letter from the
motif's probability matrix, are planted at non-overlapping positions on either strand. The
planted sites are written beside it as a BED6 truth file (``chrom start end motif_id 0 strand``)
so that a scan's recovery of them can be measured.

With ``isochores`` the background is instead a first-order Markov chain with CpG depletion (C -> G
transitions weighted by ``cpg``) whose GC content changes in blocks of
``isochore_length`` bp, cycling through the ``isochores`` list along each chromosome, as GC
isochores do in mammalian genomes: a site-free test bed for calibrated p-values
(:mod:`motifscan.stats.null`); :func:`isochore_gc` gives the block GC at any position.

Everything is drawn from one seeded ``numpy.random.Generator``, so the same arguments give the
same files byte for byte. The genome is generated and written in blocks, so memory does not
grow with its length.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import numba
import numpy as np

from .atomic import atomic_open, check_distinct, check_output_path, writes_outputs
from .motifs.pwm import Motif

__all__ = ["simulate_genome", "SimulatedGenome", "LINE_WIDTH", "markov_transitions", "isochore_gc"]

log = logging.getLogger("motifscan")

LINE_WIDTH = 60
_BLOCK = LINE_WIDTH * (1 << 14)  # ~1 Mbp of sequence per generated block (a whole number of lines)
_LETTERS = np.frombuffer(b"ACGT", dtype=np.uint8)


@dataclass
class SimulatedGenome:
    """What :func:`simulate_genome` wrote.

    Attributes
    ----------
    sizes
        Chromosome name -> length, in file order.
    sites
        One ``(chrom, start, end, strand)`` tuple per planted site, sorted by chromosome order
        and start (0-based, half-open, as in the truth BED).
    motif_id
        Identifier written in the truth BED's name column.
    """

    sizes: dict[str, int]
    sites: list[tuple[str, int, int, str]] = field(default_factory=list)
    motif_id: str = "motif"


def _as_motif(motif) -> Motif:
    if isinstance(motif, Motif):
        return motif
    return Motif(id="motif", probs=np.asarray(motif, dtype=np.float64))


def _chrom_lengths(length: int, n_chroms: int) -> list[int]:
    # Equal shares; the first chromosomes take the remainder so the total is exactly `length`.
    base, extra = divmod(length, n_chroms)
    return [base + (1 if i < extra else 0) for i in range(n_chroms)]


def _site_starts(rng: np.random.Generator, chrom_len: int, n: int, width: int) -> np.ndarray:
    """``n`` sorted starts of non-overlapping width-``width`` sites in ``[0, chrom_len)``.

    Draw ``n`` distinct slots among ``chrom_len - n*width + n`` and shift the k-th smallest by
    ``k*(width-1)``: a uniform draw over all non-overlapping placements, with no rejection loop.
    """
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    slots = chrom_len - n * width + n
    picks = np.sort(rng.choice(slots, size=n, replace=False)).astype(np.int64)
    return picks + np.arange(n, dtype=np.int64) * (width - 1)


def _sample_instances(rng: np.random.Generator, probs: np.ndarray, n: int) -> np.ndarray:
    """``(n, W)`` uint8 codes, each position drawn from its row of ``probs`` (inverse CDF)."""
    cdf = np.cumsum(probs, axis=1)
    cdf[:, -1] = 1.0  # guard against rounding so every draw lands on a letter
    u = rng.random((n, probs.shape[0]))
    return (u[:, :, None] >= cdf[None, :, :3]).sum(axis=2).astype(np.uint8)


def markov_transitions(gc: float, cpg: float) -> np.ndarray:
    """``(4, 4)`` transition matrix (A, C, G, T) whose chain has stationary GC ``gc`` and C -> G
    depleted by the weight ``cpg`` (0.25 gives a CG observed/expected ratio of 0.33-0.42 at 35-60%
    GC; mammals: about 0.2-0.25).

    ``P[a, b]`` is proportional to ``pi_b`` (``pi`` = ``(1 - g, g, g, 1 - g) / 2``), times ``cpg``
    for C -> G; ``g`` is moved until the chain's stationary GC is ``gc``.
    """
    g = gc
    for _ in range(60):
        pi = np.array([1 - g, g, g, 1 - g]) / 2.0
        P = np.tile(pi, (4, 1))
        P[1, 2] *= cpg
        P /= P.sum(axis=1, keepdims=True)
        w, v = np.linalg.eig(P.T)
        stat = np.real(v[:, np.argmin(np.abs(w - 1))])
        stat /= stat.sum()
        got = stat[1] + stat[2]
        if abs(got - gc) < 1e-10:
            break
        g = min(max(g + (gc - got), 1e-6), 1 - 1e-6)
    return P


def isochore_gc(pos: np.ndarray, isochores, isochore_length: int) -> np.ndarray:
    """The GC of the isochore holding each chromosome position (blocks restart on each chromosome)."""
    iso = np.asarray(isochores, dtype=np.float64)
    return iso[(np.asarray(pos, dtype=np.int64) // isochore_length) % len(iso)]


def _markov_chain(u, cdf, prev, out):
    """``out[i]``: the letter after ``out[i - 1]`` (``prev`` before ``out[0]``) drawn by ``u[i]``."""
    for i in range(u.shape[0]):
        row = cdf[prev]
        b = 3
        for k in range(3):
            if u[i] < row[k]:
                b = k
                break
        out[i] = b
        prev = b


_markov_chain_jit = numba.njit(nogil=True)(_markov_chain)


def _fasta_lines(codes: np.ndarray) -> bytes:
    """Sequence codes (0..3) as FASTA text, ``LINE_WIDTH`` letters per line, newline-terminated."""
    letters = _LETTERS[codes]
    n_full = len(letters) // LINE_WIDTH
    full = letters[: n_full * LINE_WIDTH].reshape(n_full, LINE_WIDTH)
    out = np.empty((n_full, LINE_WIDTH + 1), dtype=np.uint8)
    out[:, :LINE_WIDTH] = full
    out[:, LINE_WIDTH] = ord("\n")
    text = out.tobytes()
    rest = letters[n_full * LINE_WIDTH:]
    if len(rest):
        text += rest.tobytes() + b"\n"
    return text


@writes_outputs
def simulate_genome(
    path: str | os.PathLike,
    truth_bed: str | os.PathLike,
    *,
    length: int,
    n_chroms: int,
    motif,
    n_sites: int,
    seed: int,
    gc: float | None = 0.41,
    isochores: tuple[float, ...] | None = None,
    isochore_length: int = 1_000_000,
    cpg: float = 0.25,
) -> SimulatedGenome:
    """Write a random genome with planted motif sites, and the BED of those sites.

    Parameters
    ----------
    path
        Output FASTA (plain text, ``LINE_WIDTH``-letter lines, chromosomes ``chr1..chrN``).
    truth_bed
        Output BED6 of the planted sites: ``chrom start end motif_id 0 strand`` (0-based,
        half-open), sorted by chromosome and start.
    length
        Total genome length in bp, split as evenly as possible over ``n_chroms`` chromosomes.
    n_chroms
        Number of chromosomes (>= 1).
    motif
        A :class:`~motifscan.motifs.pwm.Motif`, or a ``(W, 4)`` probability array (A, C, G, T).
    n_sites
        Number of motif instances to plant, spread over chromosomes in proportion to length
        (multinomial draw). Sites never overlap each other.
    seed
        Seed of the random generator; the same arguments give identical files.
    gc
        GC fraction of the i.i.d. background (0.41 is the human genome average); ``None`` for
        uniform bases.
    isochores
        GC of the background's isochores (a Markov chain with CpG depletion, see the module
        docstring), cycled in blocks of ``isochore_length`` along each chromosome; ``gc`` is then
        not used.
    isochore_length
        Bases per isochore block.
    cpg
        With ``isochores``: the weight of C -> G transitions (CpG depletion; 1 for none).

    Returns
    -------
    SimulatedGenome
        Chromosome sizes and the planted sites.

    Notes
    -----
    A site on the ``-`` strand is the reverse complement of an instance sampled from the
    matrix, so reading the ``-`` strand of ``[start, end)`` gives a sample of the motif.
    Sampling from the matrix (not planting the consensus) means sites vary as real ones do;
    weak matrix positions give weak sites.
    """
    m = _as_motif(motif)
    width = m.width
    if n_chroms < 1:
        raise ValueError(f"n_chroms must be >= 1, got {n_chroms}")
    if n_sites < 0:
        raise ValueError(f"n_sites must be >= 0, got {n_sites}")
    if gc is not None and not 0.0 < gc < 1.0:
        raise ValueError(f"gc must be between 0 and 1 (exclusive), got {gc}")
    lengths = _chrom_lengths(int(length), int(n_chroms))
    if min(lengths) < 1:
        raise ValueError(f"length {length} is too short for {n_chroms} chromosomes")
    check_output_path(path)
    check_output_path(truth_bed, option="--truth")
    check_distinct([("--motifs", motif if isinstance(motif, (str, os.PathLike)) else None)],
                   [("-o", path), ("--truth", truth_bed)])

    rng = np.random.default_rng(seed)
    bg = np.full(4, 0.25) if gc is None else np.array([1 - gc, gc, gc, 1 - gc]) / 2.0
    names = [f"chr{i + 1}" for i in range(len(lengths))]
    per_chrom = rng.multinomial(n_sites, np.asarray(lengths) / sum(lengths))
    for name, chrom_len, k in zip(names, lengths, per_chrom):
        if k * width > chrom_len:
            raise ValueError(
                f"{k} sites of width {width} do not fit in {name} ({chrom_len} bp): "
                "give a longer genome or fewer sites")

    if isochores is not None:
        if isochore_length < 1 or not all(0 < g < 1 for g in isochores) or not 0 < cpg <= 1:
            raise ValueError("isochores need GC values in (0, 1), isochore_length >= 1 and cpg in (0, 1]")
        cdfs = [np.cumsum(markov_transitions(g, cpg), axis=1) for g in isochores]
    result = SimulatedGenome(sizes=dict(zip(names, lengths)), motif_id=m.id)
    with atomic_open(path, "wb") as fa, atomic_open(truth_bed, "w") as bed:
        for name, chrom_len, k in zip(names, lengths, per_chrom):
            starts = _site_starts(rng, chrom_len, int(k), width)
            minus = rng.random(len(starts)) < 0.5
            inst = _sample_instances(rng, m.probs, len(starts))
            inst[minus] = 3 - inst[minus, ::-1]  # reverse complement (codes A,C,G,T = 0..3)
            fa.write(f">{name}\n".encode())
            prev = 0
            for b0 in range(0, chrom_len, _BLOCK):
                b1 = min(b0 + _BLOCK, chrom_len)
                if isochores is None:
                    block = rng.choice(4, size=b1 - b0, p=bg).astype(np.uint8)
                else:
                    block = np.empty(b1 - b0, dtype=np.uint8)
                    u = rng.random(b1 - b0)
                    a = b0
                    while a < b1:  # one isochore at a time
                        e = min(b1, (a // isochore_length + 1) * isochore_length)
                        cdf = cdfs[(a // isochore_length) % len(cdfs)]
                        _markov_chain_jit(u[a - b0:e - b0], cdf, prev, block[a - b0:e - b0])
                        prev = int(block[e - b0 - 1])
                        a = e
                # Paste every site that overlaps [b0, b1) (sites may straddle two blocks).
                hit = (starts < b1) & (starts + width > b0)
                if hit.any():
                    pos = starts[hit, None] + np.arange(width)
                    inside = (pos >= b0) & (pos < b1)
                    block[pos[inside] - b0] = inst[hit][inside]
                fa.write(_fasta_lines(block))
            for s, neg in zip(starts.tolist(), minus.tolist()):
                strand = "-" if neg else "+"
                bed.write(f"{name}\t{s}\t{s + width}\t{m.id}\t0\t{strand}\n")
                result.sites.append((name, s, s + width, strand))
    log.info("wrote %s (%d chromosomes, %d bp) with %d planted %s sites; truth in %s",
             Path(path), len(names), sum(lengths), len(result.sites), m.id, Path(truth_bed))
    return result
