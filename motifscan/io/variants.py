"""VCF / BCF input (pysam ``VariantFile``, streamed) and the variant outputs.

* :func:`iter_alleles` streams a VCF, VCF.gz or BCF record by record (no index needed) and yields
  one :class:`Allele` per ALT, in input order; symbolic ALTs (``<DEL>``, ``*``, breakends, ``.``)
  are counted, not yielded. Memory does not grow with the file.
* :class:`EffectsWriter` -- the model-mode effects TSV; :class:`BreaksWriter` -- the motif-mode
  TSV; :class:`AnnotatedVcfWriter` -- the input VCF with ``MS_*`` INFO fields, bgzipped and
  tabix-indexed when its name ends in ``.gz``.

Problems with the file (not VCF, no header, truncated, a record pysam cannot parse) are one
:class:`~motifscan.errors.InputError` naming the file and the record.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

import numpy as np

from .._version import __version__
from ..atomic import disk_full_error
from ..errors import InputError
from .fasta import compression, open_binary
from .floats import insert_g
from .writer import AtomicWriter, TextWriter

__all__ = [
    "Allele", "AlleleStats", "iter_alleles", "vcf_contigs", "EffectsWriter", "BreaksWriter",
    "AnnotatedVcfWriter", "effect_columns", "BREAK_COLUMNS", "REF_CHECKS", "info_key",
]

#: Values of the ``ref_check`` column.
#: ``longer_than_window`` (model mode): an MNV as long as the scoring window or longer, which no
#: window can hold with context; not scored (give a longer ``--window``).
REF_CHECKS = ("ok", "mismatch", "n_in_window", "contig_missing", "longer_than_window")
_DNA = frozenset("ACGTNacgtn")
_ACGT = frozenset("ACGTacgt")


@dataclass(slots=True)
class Allele:
    """One ALT of one VCF record.

    Attributes
    ----------
    serial
        0-based number of the record in the file (rows of one record share it).
    chrom, pos, id, ref, alt
        As in the VCF (``pos`` 1-based); ``id`` is ``.`` when missing.
    alt_index
        0-based index of this ALT among the record's ALTs.
    record
        The pysam record (kept only when an annotated VCF is written).
    """

    serial: int
    chrom: str
    pos: int
    id: str
    ref: str
    alt: str
    alt_index: int
    record: Any = None

    @property
    def is_substitution(self) -> bool:
        """SNV or MNV: REF and ALT of the same length."""
        return len(self.ref) == len(self.alt)


@dataclass
class AlleleStats:
    """Counts of what the reader saw: records, ALTs yielded, symbolic ALTs skipped."""

    records: int = 0
    alleles: int = 0
    symbolic: int = 0
    no_alt: int = 0
    kinds: dict[str, int] = field(default_factory=dict)


def _describe_open_error(path: Path, exc: Exception) -> InputError:
    """Why pysam could not open ``path``: missing, truncated, empty, VCF lines without a header, or not VCF."""
    if isinstance(exc, FileNotFoundError) or not path.exists():
        return InputError("VCF file not found", path=path)
    truncated = InputError(f"truncated or corrupt ({exc})", path=path, hint="download or compress the file again")
    if "truncated" in str(exc) or "EOF" in str(exc):
        return truncated
    try:
        with open_binary(path) as fh:
            head = fh.read(4096)
    except (OSError, EOFError, InputError):
        return truncated
    if not head.strip():
        return InputError("file is empty", path=path, hint="give a VCF, VCF.gz or BCF file")
    first = head.lstrip().split(b"\n", 1)[0]
    cols = first.split(b"\t")
    if not head.startswith(b"#") and len(cols) >= 5 and cols[1].strip().isdigit():
        return InputError("VCF has no header (no '##fileformat' or '#CHROM' line)", where="line 1", path=path,
                          hint="add the header, e.g. with 'bcftools view' from a file that has one")
    return InputError(f"not a VCF/BCF file ({exc})", path=path, hint="give a VCF, VCF.gz (bgzip) or BCF file")


def open_vcf(path: str | os.PathLike):
    """Open a VCF/BCF with pysam, quietly (htslib's own messages off); :class:`InputError` if it cannot."""
    import pysam

    pysam.set_verbosity(0)
    p = Path(path)
    if p.is_dir():
        raise InputError("is a directory, not a VCF file", path=p)
    try:
        plain_gzip = p.exists() and compression(p) == "gzip"
    except OSError:
        plain_gzip = False
    if plain_gzip:
        raise InputError("compressed with plain gzip; a VCF.gz must be compressed with bgzip", path=p,
                         hint="recompress it with bgzip (zcat FILE.vcf.gz | bgzip -c > NEW.vcf.gz; "
                              "tabix -p vcf NEW.vcf.gz to index it)")
    try:
        return pysam.VariantFile(str(p), "r")
    except (OSError, ValueError) as exc:
        raise _describe_open_error(p, exc) from None


def vcf_contigs(path: str | os.PathLike) -> list[str]:
    """Contigs declared in the VCF header (``##contig`` lines), in order."""
    with open_vcf(path) as vf:
        return list(vf.header.contigs)


def iter_alleles(path: str | os.PathLike, *, keep_records: bool = False,
                 stats: AlleleStats | None = None) -> Iterator[Allele]:
    """Stream the ALTs of a VCF/VCF.gz/BCF in input order.

    Parameters
    ----------
    path
        The variant file (no index needed).
    keep_records
        Attach each pysam record to its alleles (for :class:`AnnotatedVcfWriter`). A record with
        only symbolic ALTs is yielded once as an allele with ``alt == ""`` so it is written back.
    stats
        Filled in as the file is read.

    Raises
    ------
    InputError
        The file is missing, not VCF/BCF, has no header, is truncated, or holds a record that
        cannot be parsed (the message names the record number and the last good position).
    """
    stats = stats if stats is not None else AlleleStats()
    vf = open_vcf(path)
    serial = 0
    last = None
    # counted in locals, copied into stats when the reader stops (a few attribute writes per ALT
    # are a tenth of the reader's time)
    kinds = [0, 0, 0]  # snv, mnv, indel
    n_records = n_alleles = n_symbolic = n_no_alt = 0
    try:
        it = iter(vf)
        while True:
            try:
                rec = next(it)
            except StopIteration:
                break
            except (OSError, ValueError) as exc:
                after = "the header" if last is None else f"{last.chrom}:{last.pos}"
                raise InputError(f"cannot read record {serial + 1} after {after}: {exc}", path=path,
                                 where=f"record {serial + 1}",
                                 hint="the file is truncated or malformed; check it with 'bcftools view'") from None
            n_records += 1
            chrom, pos = rec.chrom, rec.pos
            if pos < 1:  # POS 0 (a telomere in the VCF spec) has no base to score or check
                raise InputError(f"POS {pos} at {chrom} is before the first base (VCF positions start at 1)",
                                 path=path, where=f"record {serial + 1}",
                                 hint="remove the record (bcftools view -e 'POS<1')")
            # REF and ALTs from one tuple (pysam builds rec.ref and rec.alts from it, each time)
            alleles = rec.alleles or ("",)
            ref = alleles[0] or ""
            if ref not in _DNA and (not ref or not _DNA.issuperset(ref)):  # one lookup for a one-base REF
                raise InputError(f"REF {ref!r} at {chrom}:{pos} is not a DNA sequence", path=path,
                                 where=f"record {serial + 1}")
            yielded = False
            if len(alleles) == 1:
                n_no_alt += 1
            rid = rec.id or "."
            REF = ref.upper()
            n_ref = len(ref)
            for k in range(len(alleles) - 1):
                alt = alleles[k + 1]
                # symbolic, breakend, '*', '.', or N: nothing to score
                if alt not in _ACGT and (not alt or not _ACGT.issuperset(alt)):
                    n_symbolic += 1
                    continue
                n_alleles += 1
                n_alt = len(alt)
                kinds[0 if n_ref == n_alt == 1 else 1 if n_ref == n_alt else 2] += 1
                yielded = True
                yield Allele(serial, chrom, pos, rid, REF, alt.upper(), k, rec if keep_records else None)
            if keep_records and not yielded:
                yield Allele(serial, chrom, pos, rid, REF, "", -1, rec)
            last = rec  # named in the error of a record that cannot be read
            serial += 1
    finally:
        stats.records += n_records
        stats.alleles += n_alleles
        stats.symbolic += n_symbolic
        stats.no_alt += n_no_alt
        failing = sys.exc_info()[1] is not None
        try:
            vf.close()
        except OSError as exc:
            # htslib's close of a damaged BCF fails too; the read error (already raised) is the one to show
            if not failing:
                raise InputError(f"cannot read the file to its end ({exc})", path=path,
                                 hint="the file is truncated or malformed; check it with 'bcftools view'") from None
        for name, n in zip(("snv", "mnv", "indel"), kinds):
            if n:
                stats.kinds[name] = stats.kinds.get(name, 0) + n


# ---------------------------------------------------------------------------- writers
def effect_columns(tasks: Sequence[str], pvalues: bool = False) -> list[str]:
    """Columns of the model-mode effects TSV for ``tasks`` (``pvalue qvalue`` last, with ``pvalues``)."""
    per = ["ref_score", "alt_score", "delta", "logit_delta"]
    scores = per if len(tasks) == 1 else [f"{c}_{t}" for t in tasks for c in per]
    sig = ["pvalue", "qvalue"] if len(tasks) == 1 else [f"{c}_{t}" for t in tasks for c in ("pvalue", "qvalue")]
    return ["chrom", "pos", "id", "ref", "alt", "ref_check", *scores, "top_filter", "filter_delta",
            *(sig if pvalues else [])]


def _g(x: float) -> str:
    return f"{x:.6g}"


#: Natural log of the smallest p-value printed from its float (below it, from its logarithm).
_LOG_TINY = -700.0


def p_texts(log_p: np.ndarray) -> list[str]:
    """``%.3g`` texts of p-values given as natural logs ``(n,)``: ``""`` for NaN, ``"0"`` for ``-inf``.

    p-values below about 1e-304 (a fitted tail reaches them) are written from their logarithm,
    e.g. ``3.2e-412``, so they do not underflow to 0.
    """
    log_p = np.asarray(log_p, dtype=np.float64)
    out = [f"{v:.3g}" for v in np.exp(log_p).tolist()]
    for i in np.flatnonzero(np.isnan(log_p) | (log_p < _LOG_TINY)).tolist():
        x = float(log_p[i])
        if np.isnan(x):
            out[i] = ""
        elif x == -np.inf:
            out[i] = "0"
        else:
            l10 = x / np.log(10.0)
            e = int(np.floor(l10))
            m = float(f"{10.0 ** (l10 - e):.3g}")
            if m >= 10.0:
                m, e = m / 10.0, e + 1
            out[i] = f"{m:g}e{e:+d}"
    return out


#: Bytes of staged rows read back at once by :meth:`EffectsWriter.finish`.
_STAGED_BLOCK = 1 << 22


def _tail_fields(log_pq: np.ndarray) -> np.ndarray:
    """``(n, k)`` object array of ``b"\\t%.3g"`` texts of p- or q-values given as natural logs ``(n, k)``.

    NaN gives ``b"\\t"`` (an empty column). Each distinct value is formatted once (p-values of a
    null repeat: empirical ones are counts over its size, and SNVs that change nothing have 1);
    the few below about 1e-304 are written from their logarithms (:func:`p_texts`).
    """
    values = np.exp(log_pq)
    uniq, inv = np.unique(values, return_inverse=True)  # NaN: one entry, last
    texts = np.array([b"\t" if v != v else b"\t%.3g" % v for v in uniq.tolist()], dtype=object)
    out = texts[inv.reshape(values.shape)]
    for i in np.flatnonzero((log_pq < _LOG_TINY).any(axis=1)).tolist():
        out[i] = [("\t" + t).encode() for t in p_texts(log_pq[i])]
    return out


def _staging(path: Path, mode: str):
    """An anonymous temporary file beside ``path`` (deleted when closed, even by a crash)."""
    import tempfile

    return tempfile.TemporaryFile(mode, dir=path.parent, prefix=f".{path.name}.", **({"encoding": "utf-8"}
                                                                                        if "b" not in mode else {}))


class EffectsWriter(TextWriter):
    """Model-mode effects: one row per allele, in input order (see :func:`effect_columns`).

    Rows without scores (``mismatch``, ``contig_missing``) leave the score columns empty. With
    ``pvalues`` the rows are staged in a temporary file until :meth:`significance` gives every
    row's p- and q-values (the q-values need the whole file), then written with them at the end.
    """

    def __init__(self, path, tasks: Sequence[str], filter_names: Sequence[str], *, pvalues: bool = False) -> None:
        super().__init__(path)
        self.tasks = list(tasks)
        self.filter_names = list(filter_names)
        self._names = np.array([*self.filter_names, "."], dtype=object)  # top = -1: "."
        self.pvalues = pvalues
        self.fh.write("\t".join(effect_columns(self.tasks, pvalues)) + "\n")
        self._out = self._stack.enter_context(_staging(self.path, "w+b")) if pvalues else None
        self._sig: tuple[np.ndarray, np.ndarray] | None = None
        self.count = 0

    def significance(self, log_p: np.ndarray, log_q: np.ndarray) -> None:
        """Natural logs of every row's p- and q-values, ``(rows, T)`` each (NaN: none)."""
        if log_p.shape != (self.count, len(self.tasks)) or log_q.shape != log_p.shape:
            raise ValueError(f"p-values of shape {log_p.shape} for {self.count} rows and {len(self.tasks)} tasks")
        self._sig = (log_p, log_q)

    def finish(self) -> None:
        if not self.pvalues:
            return
        if self._sig is None:
            raise RuntimeError("EffectsWriter(pvalues=True) finished without significance()")
        log_p, log_q = self._sig
        both = np.stack([log_p, log_q], axis=2).reshape(len(log_p), 2 * len(self.tasks))  # per row: p and q of each task
        # the staged rows as bytes, in blocks of whole lines, each line followed by its tail
        self.fh.flush()
        out = self.fh.buffer
        self._out.seek(0)
        done, rest = 0, b""
        while True:
            block = self._out.read(_STAGED_BLOCK)
            if not block:
                break
            block = rest + block
            cut = block.rfind(b"\n") + 1
            whole, rest = block[:cut], block[cut:]
            n = whole.count(b"\n")
            logs = both[done : done + n]
            nan = np.isnan(logs)
            blank = nan.all(axis=1)
            if (nan.any(axis=1) & ~blank).any() or ((logs < _LOG_TINY) & (logs != -np.inf)).any():
                # NaN beside a value, or p-values written from their logarithms: field by field
                lines = whole.split(b"\n")[:-1]
                k = both.shape[1] + 2
                parts: list[bytes] = [b"\n"] * (n * k)
                parts[::k] = lines
                tails = _tail_fields(logs)
                for j in range(k - 2):
                    parts[1 + j :: k] = tails[:, j].tolist()
                out.write(b"".join(parts))
            else:  # the usual block: %.3g of every value in one compiled pass
                last = 7 + 4 * len(self.tasks)  # the staged rows' last field
                out.write(insert_g(whole.decode(), [last], [np.exp(logs)], blank=blank, digits=3).encode())
            done += n

    def write(self, alleles: Sequence[Allele], checks: Sequence[str], ref_p: np.ndarray, alt_p: np.ndarray,
              ref_logit: np.ndarray, alt_logit: np.ndarray, top: np.ndarray, filter_delta: np.ndarray) -> None:
        """One batch: ``ref_p`` etc. ``(n, T)`` (NaN rows: no scores), ``top`` ``(n,)`` (-1: none)."""
        T = len(self.tasks)
        n = len(alleles)
        if not n:
            return
        scored = ~np.isnan(ref_p[:, 0])
        # the text fields by one %-format of the whole batch, then the numbers added in one
        # compiled pass (Python's %.6g, byte for byte: Python formatting them was half the time)
        table = np.empty((n, 7), dtype=object)
        table[:, 0] = [a.chrom for a in alleles]
        table[:, 1] = [a.pos for a in alleles]
        table[:, 2] = [a.id for a in alleles]
        table[:, 3] = [a.ref for a in alleles]
        table[:, 4] = [a.alt for a in alleles]
        table[:, 5] = checks
        table[:, 6] = self._names[top]
        if not scored.all():  # an unscored row's number columns are empty
            table[~scored, 6] = ""
        text = ("%s\t%d\t%s\t%s\t%s\t%s\t%s\n" * n) % tuple(table.ravel().tolist())
        nums = np.stack([ref_p, alt_p, alt_p - ref_p, alt_logit - ref_logit], axis=2).reshape(n, 4 * T)
        text = insert_g(text, [5, 6], [nums, filter_delta], blank=~scored)
        self.count += n
        if self._out is None:
            self.fh.write(text)
        else:
            self._out.write(text.encode())


#: Columns of the motif-mode TSV.
BREAK_COLUMNS = ["chrom", "pos", "id", "ref", "alt", "ref_check", "motif_id", "motif_alt_id", "strand", "site_start",
                 "ref_pvalue", "alt_pvalue", "ref_score", "alt_score", "effect", "matched_ref", "matched_alt"]
_BREAK_SET = frozenset(BREAK_COLUMNS)


class BreaksWriter(TextWriter):
    """Motif-mode rows, written as given (already in input order).

    Each row is a mapping column name -> text; a column of :data:`BREAK_COLUMNS` it lacks is
    written empty, and a name that is not a column is an error (so rows and header cannot drift).
    """

    def __init__(self, path) -> None:
        super().__init__(path)
        self.fh.write("\t".join(BREAK_COLUMNS) + "\n")
        self.count = 0

    def write(self, rows: Sequence[Mapping[str, str]]) -> None:
        for r in rows:
            if not r.keys() <= _BREAK_SET:
                raise ValueError(f"not motif-mode columns: {sorted(r.keys() - _BREAK_SET)}")
        self.fh.write("".join("\t".join([r.get(c, "") for c in BREAK_COLUMNS]) + "\n" for r in rows))
        self.count += len(rows)


def info_key(base: str, task: str | None) -> str:
    """An INFO key (``MS_DELTA`` or ``MS_DELTA_<task>``), the task reduced to VCF's key characters."""
    if task is None:
        return base
    return base + "_" + re.sub(r"[^0-9A-Za-z_.]", "_", task)


class AnnotatedVcfWriter(AtomicWriter):
    """The input VCF with per-ALT INFO fields ``MS_REF``, ``MS_ALT``, ``MS_DELTA`` (per task) and ``MS_CHECK``.

    Fields are declared in the header (``Number=A``; ``.`` for symbolic ALTs and unscored
    alleles). Each record is written as pysam formats it, with the fields appended to its INFO
    column, so everything else (samples, FORMAT, undeclared contigs) is kept as it was. A name
    ending in ``.gz`` is written bgzipped and indexed with tabix (``.tbi`` beside it, renamed
    into place with the file, in the same output set); an unsorted VCF cannot be indexed, which is
    a warning, and an older ``.tbi`` beside the target is removed with the commit. The header
    records its provenance as bcftools does: ``##motifscanVersion`` and, when ``command`` is
    given, ``##motifscanCommand``.

    With ``pvalues``, ``MS_P`` and ``MS_Q`` (per task) follow: records are staged in a temporary
    file until :meth:`significance` gives the p- and q-values of every allele row and the
    header's descriptions of them (the null and the family), then written at the end.
    """

    def __init__(self, path, template_path, tasks: Sequence[str], command: str | None = None, *,
                 pvalues: bool = False) -> None:
        super().__init__()
        import pysam

        self.path = Path(path)
        self.tasks = list(tasks)
        self.pvalues = pvalues
        self.compressed = self.path.name.endswith(".gz")
        vf = open_vcf(template_path)
        lines = str(vf.header).rstrip("\n").split("\n")
        vf.close()
        per_task = [None] if len(self.tasks) == 1 else self.tasks
        meta = []
        self.keys: list[list[str]] = []  # per task: ref, alt, delta keys
        self.sig_keys: list[list[str]] = []  # per task: p, q keys
        for task in per_task:
            name = self.tasks[0] if task is None else task
            keys = [info_key(b, task) for b in ("MS_REF", "MS_ALT", "MS_DELTA")]
            self.keys.append(keys)
            self.sig_keys.append([info_key(b, task) for b in ("MS_P", "MS_Q")])
            meta += [f'##INFO=<ID={keys[0]},Number=A,Type=Float,Description="motifscan: probability of binding '
                     f'({name}) of the window centred on the variant, reference allele">',
                     f'##INFO=<ID={keys[1]},Number=A,Type=Float,Description="motifscan: probability of binding '
                     f'({name}) of the window centred on the variant, alternative allele">',
                     f'##INFO=<ID={keys[2]},Number=A,Type=Float,Description="motifscan: {keys[1]} - {keys[0]}">']
        meta.append('##INFO=<ID=MS_CHECK,Number=A,Type=String,Description="motifscan: reference check '
                    f'({", ".join(REF_CHECKS)})">')
        meta.append(f"##motifscanVersion={__version__}")
        if command:
            meta.append("##motifscanCommand=" + " ".join(command.split()))  # one header line
        taken = {ln.split("ID=", 1)[1].split(",", 1)[0] for ln in lines if ln.startswith("##INFO=<ID=")}
        ours = {k for ks in self.keys for k in ks} | {"MS_CHECK"}
        if pvalues:
            ours |= {k for ks in self.sig_keys for k in ks}
        clash = sorted(taken & ours)
        if clash:
            raise InputError(f"the VCF already has {'an INFO field' if len(clash) == 1 else 'INFO fields'} {', '.join(clash)}", path=template_path,
                             hint="remove them first (bcftools annotate -x INFO/MS_REF,...)")
        self._lines, self._meta = lines, meta
        self._tmp = self._stack.enter_context(self.outputs.path(self.path))
        if self.compressed:
            self._fh = pysam.BGZFile(str(self._tmp), "wb")
        else:
            self._fh = open(self._tmp, "wb")
        self._closed = False
        self._stack.callback(self._close)
        if pvalues:
            self._out = self._stack.enter_context(_staging(self.path, "w+b"))
            self._sig: tuple[np.ndarray, np.ndarray, list[str], list[str]] | None = None
        else:
            self._out = self._fh
            self._write_header([])
        self.count = 0

    def _write_header(self, extra: list[str]) -> None:
        lines = self._lines
        self._fh.write(("\n".join(lines[:-1] + self._meta + extra + lines[-1:]) + "\n").encode())

    def _close(self) -> None:
        if not self._closed:
            self._fh.close()
            self._closed = True

    def add(self, record, values: dict[int, tuple]) -> None:
        """Write ``record`` with ``values[alt_index] = (ref_check, probs (2, T) or None[, row])``.

        ``row`` (with ``pvalues``) is the allele's row in the arrays given to :meth:`significance`.
        """
        line = str(record).rstrip("\n")
        n_alt = len(record.alts or ())
        extra = []
        if n_alt and values:
            for t, keys in enumerate(self.keys):
                cols: list[list[str]] = [["."] * n_alt for _ in range(3)]
                for k, (_check, p, *_row) in values.items():
                    if p is not None:
                        cols[0][k], cols[1][k], cols[2][k] = _g(p[0, t]), _g(p[1, t]), _g(p[1, t] - p[0, t])
                for key, col in zip(keys, cols):
                    if any(v != "." for v in col):
                        extra.append(f"{key}={','.join(col)}")
            checks = ["."] * n_alt
            for k, (check, *_rest) in values.items():
                checks[k] = check
            extra.append("MS_CHECK=" + ",".join(checks))
        if extra:
            f = line.split("\t")
            f[7] = ";".join(extra) if f[7] == "." else f[7] + ";" + ";".join(extra)
            if self.pvalues:  # where MS_P/MS_Q go: the rows of this record's alleles, filled in at the end
                rows = ["-1"] * n_alt
                for k, (_check, _p, *row) in values.items():
                    if row:
                        rows[k] = str(row[0])
                f[7] += "\x00" + ",".join(rows) + "\x00"
            line = "\t".join(f)
        self._out.write((line + "\n").encode())
        self.count += 1

    def significance(self, log_p: np.ndarray, log_q: np.ndarray, p_text: Sequence[str], q_text: Sequence[str]) -> None:
        """Natural logs of the p- and q-values of every allele row ``(rows, T)``, and the header's
        description of each (per task: what the null is; over which family the q-values are)."""
        self._sig = (log_p, log_q, list(p_text), list(q_text))

    def finish(self) -> None:
        import logging

        import pysam

        if self.pvalues:
            self._fill_significance()
        self._close()
        if not self.compressed:
            return
        tbi = Path(str(self._tmp) + ".tbi")
        try:
            pysam.tabix_index(str(self._tmp), preset="vcf", force=True, keep_original=True)
        except (OSError, ValueError) as exc:
            tbi.unlink(missing_ok=True)
            full = disk_full_error(exc, [self.path])
            if full is not None:
                raise full from None
            # the previous run's index, if any, is removed with the commit: it describes the old file
            logging.getLogger("motifscan").warning(
                "%s: not indexed (%s); sort it first (bcftools sort) to index it", self.path, exc)
            return
        try:
            self.outputs.stage(tbi, str(self.path) + ".tbi")
        except BaseException:
            tbi.unlink(missing_ok=True)
            raise

    def _fill_significance(self) -> None:
        if self._sig is None:
            raise RuntimeError("AnnotatedVcfWriter(pvalues=True) finished without significance()")
        log_p, log_q, p_desc, q_desc = self._sig
        meta = []
        for (kp, kq), dp, dq in zip(self.sig_keys, p_desc, q_desc):
            meta += [f'##INFO=<ID={kp},Number=A,Type=Float,Description="motifscan: {dp}">',
                     f'##INFO=<ID={kq},Number=A,Type=Float,Description="motifscan: {dq}">']
        self._write_header(meta)
        texts = [(p_texts(log_p[:, t]), p_texts(log_q[:, t])) for t in range(log_p.shape[1])]
        self._out.seek(0)
        for raw in self._out:
            if b"\x00" not in raw:
                self._fh.write(raw)
                continue
            head, rows, tail = raw.split(b"\x00")
            idx = [int(r) for r in rows.split(b",")]
            fields = []
            for (kp, kq), (ptxt, qtxt) in zip(self.sig_keys, texts):
                for key, txt in ((kp, ptxt), (kq, qtxt)):
                    col = [txt[i] or "." if i >= 0 else "." for i in idx]
                    if any(v != "." for v in col):
                        fields.append(f"{key}={','.join(col)}")
            self._fh.write(head + ("".join(";" + f for f in fields)).encode() + tail)
