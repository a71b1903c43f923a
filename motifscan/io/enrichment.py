"""Known-motif enrichment outputs: the table (SEA's columns) and the sites TSV, written atomically.

Table columns, tab-separated, one row per motif, sorted by p-value (then by enrichment ratio,
then file order)::

    rank id alt_id consensus tp tp_percent fp fp_percent enr_ratio pvalue log_pvalue
    evalue log_evalue qvalue log_qvalue

``log_*`` columns are **natural** logs, as in SEA's ``sea.tsv``; they carry values below double
range (``pvalue`` is then printed from the log, e.g. ``3.1e-512``). Lines starting with ``#``
after the rows say which test and null the numbers come from.

Sites TSV columns (FIMO's, without q-values)::

    motif_id motif_alt_id sequence_name start stop strand score p-value matched_sequence

``start``/``stop`` 1-based inclusive, within the sequence (as FIMO without
``--parse-genomic-coord``); ``score`` the log-odds in bits after FIMO's rounding;
``matched_sequence`` read on the site's strand. Rows in input order (sequence, start, motif).
"""

from __future__ import annotations

import math
import os
from contextlib import ExitStack
from pathlib import Path
from typing import IO, Sequence

import numpy as np

from ..atomic import atomic_open

__all__ = ["ENRICHMENT_COLUMNS", "SITES_COLUMNS", "format_log_value", "write_enrichment", "SitesWriter"]

ENRICHMENT_COLUMNS = ("rank", "id", "alt_id", "consensus", "tp", "tp_percent", "fp", "fp_percent", "enr_ratio",
                      "pvalue", "log_pvalue", "evalue", "log_evalue", "qvalue", "log_qvalue")
SITES_COLUMNS = ("motif_id", "motif_alt_id", "sequence_name", "start", "stop", "strand", "score", "p-value",
                 "matched_sequence")
_LN10 = math.log(10.0)


def format_log_value(log_x: float) -> str:
    """``exp(log_x)`` as ``%.3g``, also where it underflows a double (``1.23e-512``)."""
    if log_x > -700:
        return f"{math.exp(log_x):.3g}"
    e10 = log_x / _LN10
    exponent = math.floor(e10)
    mantissa = 10 ** (e10 - exponent)
    if f"{mantissa:.3g}" == "10":
        mantissa, exponent = 1.0, exponent + 1
    return f"{mantissa:.3g}e{exponent}"


def write_enrichment(rows: Sequence[dict], path: str | os.PathLike, comments: Sequence[str] = ()) -> Path:
    """Write the enrichment table (module docstring) atomically.

    Parameters
    ----------
    rows
        One dict per motif with the keys of :data:`ENRICHMENT_COLUMNS` except the formatted
        ones: ``rank id alt_id consensus tp tp_percent fp fp_percent enr_ratio log_pvalue
        log_evalue log_qvalue`` (natural logs); in output order.
    comments
        Lines written after the rows, each prefixed with ``# ``.
    """
    with atomic_open(path) as fh:
        fh.write("\t".join(ENRICHMENT_COLUMNS) + "\n")
        for r in rows:
            fh.write("\t".join((
                str(r["rank"]), r["id"], r["alt_id"] or "", r["consensus"],
                str(r["tp"]), f"{r['tp_percent']:.2f}", str(r["fp"]), f"{r['fp_percent']:.2f}",
                f"{r['enr_ratio']:.3g}",
                format_log_value(r["log_pvalue"]), f"{r['log_pvalue']:.2f}",
                format_log_value(r["log_evalue"]), f"{r['log_evalue']:.2f}",
                format_log_value(r["log_qvalue"]), f"{r['log_qvalue']:.2f}",
            )) + "\n")
        for line in comments:
            fh.write(f"# {line}\n")
    return Path(path)


class SitesWriter:
    """Stream site rows into an atomic TSV (module docstring); use as a context manager."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self._stack = ExitStack()
        self._fh: IO | None = None

    def __enter__(self) -> "SitesWriter":
        self._fh = self._stack.enter_context(atomic_open(self.path))
        self._fh.write("\t".join(SITES_COLUMNS) + "\n")
        return self

    def __exit__(self, *exc) -> bool:
        return bool(self._stack.__exit__(*exc))

    def write(self, motif_id: Sequence[str], motif_alt: Sequence[str], sequence: Sequence[str],
              start: np.ndarray, stop: np.ndarray, strand: np.ndarray, score: np.ndarray,
              pvalue: np.ndarray, matched: Sequence[str]) -> None:
        """Append rows (parallel sequences; ``start``/``stop`` already 1-based, ``strand`` 0/1)."""
        assert self._fh is not None, "use SitesWriter as a context manager"
        sign = np.array(["+", "-"])[np.asarray(strand, dtype=np.int64)]
        self._fh.writelines(
            f"{m}\t{a}\t{s}\t{b}\t{e}\t{d}\t{sc:g}\t{p:.3g}\t{q}\n"
            for m, a, s, b, e, d, sc, p, q in zip(motif_id, motif_alt, sequence, start.tolist(), stop.tolist(),
                                                   sign, np.round(score, 3).tolist(), pvalue.tolist(), matched)
        )
