"""Motif-hit outputs of the PWM scan: FIMO's TSV, BED and GFF3, with q-values, in bounded memory.

q-values need every hit's rank, so hits are **spilled** to a temporary binary file beside the
output while the scan streams (memory holds one batch), together with a per-motif count of hits
at each integer score. At the end the q-value of every score is computed from those counts and
the spill is read back in blocks to write the final file (atomically: nothing is left half
written).

q-values
    Benjamini-Hochberg, **per motif** (FIMO computes them per motif too), over that motif's
    tests: ``m`` = the number of windows scanned (both strands) that hold no N. For a hit of
    p-value ``p``, ``q = min over p' >= p of p' * m / #{hits with p-value <= p'}``, capped at 1.
    Only the reported hits enter the minimum (the p-values above ``--pvalue`` are not kept), which
    can only make q larger than BH over all windows, never smaller: the q-values are
    conservative. FIMO instead estimates the fraction of true nulls from a reservoir sample of
    all p-values (Storey's method), so its q-values are usually a little smaller than ours. With
    ``--shard`` each shard's q-values count that shard's tests only.

Formats (from the extension, or ``fmt``)
    ``.tsv`` / ``.txt``: FIMO's columns ``motif_id motif_alt_id sequence_name start stop strand
    score p-value q-value matched_sequence``; ``start``/``stop`` 1-based inclusive like FIMO;
    ``score`` (``%g``) is the log-odds in bits after FIMO's rounding, p- and q-values ``%.3g``;
    ``matched_sequence`` is read on the hit's strand (reverse complement for ``-``). Rows come in
    input order (record, start, motif, strand) -- FIMO sorts by p-value instead.
    ``.bed``: BED6+5 -- ``chrom start end motif_id score strand`` (0-based half-open, score
    ``min(1000, round(-10 * log10(p)))``), then ``motif_alt_id log_odds p-value q-value
    matched_sequence``.
    ``.gff`` / ``.gff3``: GFF3, type ``nucleotide_motif`` (SO:0000714), score = log-odds,
    attributes ``Name``, ``Alias``, ``pvalue``, ``qvalue``, ``sequence``.
"""

from __future__ import annotations

import os
from typing import IO

import numpy as np

from ..atomic import atomic_open, check_output_path, temporary_file
from .outputs import hit_output_format
from .writer import read_array, write_array

__all__ = ["HitSink", "bh_qvalues_by_score", "FIMO_COLUMNS"]


FIMO_COLUMNS = ["motif_id", "motif_alt_id", "sequence_name", "start", "stop", "strand", "score",
                "p-value", "q-value", "matched_sequence"]
READ_BLOCK = 1 << 16


def bh_qvalues_by_score(pv: np.ndarray, counts: np.ndarray, cutoff: int, m: int) -> np.ndarray:
    """Benjamini-Hochberg q-value of each integer score ``>= cutoff`` of one motif.

    Parameters
    ----------
    pv
        The motif's table, ``pv[s] = P(score >= s)``.
    counts
        ``counts[i]`` = hits with score ``cutoff + i``.
    cutoff
        Lowest reported score.
    m
        Number of tests.

    Returns
    -------
    numpy.ndarray
        ``q[i]`` for score ``cutoff + i`` (same length as ``counts``).
    """
    counts = np.asarray(counts, dtype=np.int64)
    if len(counts) == 0:
        return np.zeros(0)
    p = pv[cutoff : cutoff + len(counts)]
    at_least = np.cumsum(counts[::-1])[::-1]  # hits with score >= s, i.e. p-value <= p(s)
    with np.errstate(divide="ignore", invalid="ignore"):
        raw = np.where(at_least > 0, p * max(m, 1) / np.maximum(at_least, 1), np.inf)
    # q(s) = min over s' <= s (p' >= p) -> running minimum from the lowest score upwards
    q = np.minimum.accumulate(raw)
    return np.minimum(q, 1.0)


class HitSink:
    """Collect hits while scanning (spilled to disk), then write the final output with q-values.

    Parameters
    ----------
    bank
        The :class:`~motifscan.scan.motif_bank.MotifBank` the hits come from.
    output
        Final output path (``.tsv``, ``.bed``, ``.gff3``).
    fmt
        Format override (see :func:`hit_output_format`).
    """

    def __init__(self, bank, output: str | os.PathLike, fmt: str | None = None) -> None:
        self.bank = bank
        self.output = check_output_path(output)
        self.fmt = hit_output_format(self.output, fmt)
        self.dtype = None
        self.names: dict[int, str] = {}
        span = np.maximum(bank.max_scores - bank.cutoffs + 1, 0)
        self._base = np.concatenate([[0], np.cumsum(span)[:-1]]).astype(np.int64)
        self._span = span
        self._counts = np.zeros(int(span.sum()), dtype=np.int64)
        self.tests = np.zeros(bank.max_width + 2, dtype=np.int64)
        self.n_hits = 0
        # a marked temporary of the output (.STEM.tmp-PID-HOST-X.tsv.hits): removed by close(),
        # and by the next run writing the output if this one is killed
        self._spill_path = temporary_file(self.output, ".hits")
        self._spill: IO[bytes] | None = open(self._spill_path, "wb")

    # ------------------------------------------------------------------ streaming
    def add(self, hits: np.ndarray, names: dict[int, str], tests: np.ndarray) -> None:
        """Append one batch's hits (already in input order) and its test counts."""
        self.tests += tests
        if len(hits) == 0:
            return
        self.dtype = hits.dtype
        assert self._spill is not None
        write_array(self._spill, hits)
        self.n_hits += len(hits)
        self.names.update(names)
        m = hits["motif"].astype(np.int64)
        idx = self._base[m] + hits["score"].astype(np.int64) - self.bank.cutoffs[m]
        self._counts += np.bincount(idx, minlength=len(self._counts))

    # ------------------------------------------------------------------ results
    def tests_per_motif(self) -> np.ndarray:
        """Tests per motif: N-free windows of its width, both strands."""
        suffix = np.cumsum(self.tests[::-1])[::-1]
        return 2 * suffix[self.bank.widths]

    def qvalue_tables(self) -> list[np.ndarray]:
        """Per motif, ``q[score - cutoff]`` (empty for unreachable motifs)."""
        m = self.tests_per_motif()
        out = []
        for i, pssm in enumerate(self.bank.pssms):
            c = self._counts[self._base[i] : self._base[i] + self._span[i]]
            out.append(bh_qvalues_by_score(pssm.pv, c, int(self.bank.cutoffs[i]), int(m[i])))
        return out

    def finish(self) -> dict:
        """Write the output (atomically) and remove the spill; return a summary."""
        if self._spill is not None:
            self._spill.close()
            self._spill = None
        try:
            qtabs = self.qvalue_tables()
            qflat = np.concatenate([q for q in qtabs] + [np.zeros(1)])
            with atomic_open(self.output, "w") as fh:
                self._write_header(fh)
                if self.n_hits and self.dtype is not None:
                    total = self.n_hits
                    with open(self._spill_path, "rb") as src:
                        done = 0
                        while done < total:
                            block = read_array(src, self.dtype, min(READ_BLOCK, total - done))
                            done += len(block)
                            self._write_block(fh, block, qflat)
        finally:
            self.close()
        return {"hits": self.n_hits, "output": str(self.output), "format": self.fmt,
                "tests": int(self.tests_per_motif().max(initial=0))}

    def close(self) -> None:
        """Remove the spill file (also on errors)."""
        if self._spill is not None:
            self._spill.close()
            self._spill = None
        try:
            self._spill_path.unlink()
        except FileNotFoundError:
            pass

    # ------------------------------------------------------------------ formatting
    def _write_header(self, fh) -> None:
        if self.fmt == "tsv":
            fh.write("\t".join(FIMO_COLUMNS) + "\n")
        elif self.fmt == "gff3":
            fh.write("##gff-version 3\n")

    def _write_block(self, fh, block: np.ndarray, qflat: np.ndarray) -> None:
        bank = self.bank
        m = block["motif"].astype(np.int64)
        sc = block["score"].astype(np.int64)
        # score, p- and q-value depend only on (motif, integer score): format each pair once
        key = self._base[m] + sc - bank.cutoffs[m]
        uniq, inv = np.unique(key, return_inverse=True)
        first = np.zeros(len(uniq), dtype=np.int64)
        first[inv[::-1]] = np.arange(len(key))[::-1]  # one hit of each pair
        um, us = m[first], sc[first]
        p = bank.pvalues(um, us)
        q = qflat[uniq]
        raw = bank.raw_scores(um, us)
        start = block["start"].tolist()
        stop = (block["start"] + bank.widths[m]).tolist()
        strand = np.where(block["strand"] == 1, "-", "+").tolist()
        seqs = block["seq"].astype(f"U{block.dtype['seq'].itemsize}").tolist()
        rec = block["record"].tolist()
        names = self.names
        mlist = m.tolist()
        inv = inv.tolist()
        if self.fmt == "tsv":
            vals = [f"{r:g}\t{pp:.3g}\t{qq:.3g}" for r, pp, qq in zip(raw, p, q)]
            pre = [f"{mm.id}\t{mm.alt}\t" for mm in bank.motifs]
            lines = [
                f"{pre[mi]}{names[r]}\t{a + 1}\t{b}\t{st}\t{vals[u]}\t{sq}\n"
                for mi, r, a, b, st, u, sq in zip(mlist, rec, start, stop, strand, inv, seqs)
            ]
        elif self.fmt == "bed":
            bscore = np.minimum(1000, np.round(-10 * np.log10(np.maximum(p, 1e-300)))).astype(np.int64)
            vals = [f"{b}" for b in bscore.tolist()]
            tails = [f"{r:g}\t{pp:.3g}\t{qq:.3g}" for r, pp, qq in zip(raw, p, q)]
            ids = [mm.id for mm in bank.motifs]
            alts = [mm.alt or "." for mm in bank.motifs]
            lines = [
                f"{names[r]}\t{a}\t{b}\t{ids[mi]}\t{vals[u]}\t{st}\t{alts[mi]}\t{tails[u]}\t{sq}\n"
                for mi, r, a, b, st, u, sq in zip(mlist, rec, start, stop, strand, inv, seqs)
            ]
        else:
            scores = [f"{r:g}" for r in raw]
            pq = [f"pvalue={pp:.3g};qvalue={qq:.3g}" for pp, qq in zip(p, q)]
            attrs = []
            for mm in bank.motifs:
                alias = f";Alias={_gff_escape(mm.alt)}" if mm.alt else ""
                attrs.append(f"Name={_gff_escape(mm.id)}{alias};")
            lines = [
                f"{names[r]}\tmotifscan\tnucleotide_motif\t{a + 1}\t{b}\t{scores[u]}\t{st}\t.\t"
                f"{attrs[mi]}{pq[u]};sequence={sq}\n"
                for mi, r, a, b, st, u, sq in zip(mlist, rec, start, stop, strand, inv, seqs)
            ]
        fh.write("".join(lines))


def _gff_escape(text: str) -> str:
    """Percent-encode the characters GFF3 reserves in attribute values."""
    out = []
    for ch in text:
        out.append(f"%{ord(ch):02X}" if ch in ";=&,\t\n%" or ord(ch) < 32 else ch)
    return "".join(out)
