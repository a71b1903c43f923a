"""Peaks: windows scoring ``>= threshold``, merged into narrowPeak-like intervals as they stream.

Windows whose spans overlap or touch are merged into one interval; narrowPeak columns: chrom,
start, end, name (``chrom:start-end``), score (``round(1000 * max)``, at most 1000), strand ``.``,
signalValue (max probability, ``%.6g``), pValue ``-1``, qValue ``-1``, peak (summit offset from
start: the centre of the best window, the first on ties).

One formatter (:func:`peak_line`) serves the streaming :class:`PeakWriter` and the gathering of
shard peaks (:func:`merge_peak_files`), so gathered peaks equal the unsharded scan's byte for byte.

With a null (``scan --null`` / ``--fdr``), :class:`SignificantPeakWriter` fills pValue and qValue
with ``-log10 p`` and ``-log10 q`` of the peak's most significant window (``%.6g``; q-values count
every window scanned, see :mod:`motifscan.stats.null`, so they are known only at the end of the
scan: the candidate windows are held until then, :func:`significant_peak_lines` merges them).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np

from ..atomic import atomic_open
from ..errors import InputError
from .writer import TextWriter

__all__ = ["PeakWriter", "SignificantPeakWriter", "PeakCandidates", "Peak", "peak_line", "significant_peak_lines",
           "select_peaks", "write_significant_peaks", "sidecar_path", "write_sidecar", "read_sidecar", "PeakSidecar",
           "read_peaks", "merge_peak_files"]

LN10 = float(np.log(10))


@dataclass
class Peak:
    """A peak being built: ``[start, end)`` of ``chrom``, its best value and summit (absolute).

    ``line`` is its text as read from a file (written back verbatim unless the peak is merged).
    """

    chrom: str
    start: int
    end: int
    value: float
    summit: int
    line: str | None = None

    def text(self) -> str:
        return self.line if self.line is not None else peak_line(self.chrom, self.start, self.end, self.value,
                                                                 self.summit)


def peak_line(chrom: str, start: int, end: int, value: float, summit: int, mlog10_p: float | None = None,
              mlog10_q: float | None = None) -> str:
    """One narrowPeak line (see the module docstring); ``value`` the best window's probability,
    ``mlog10_p`` / ``mlog10_q`` the pValue / qValue columns (``-1``: none)."""
    pq = "-1\t-1" if mlog10_p is None else f"{mlog10_p:.6g}\t{mlog10_q:.6g}"
    return (f"{chrom}\t{start}\t{end}\t{chrom}:{start}-{end}\t{min(1000, round(1000 * value))}\t.\t"
            f"{value:.6g}\t{pq}\t{summit - start}\n")


class PeakWriter(TextWriter):
    """Windows scoring ``>= threshold``, merged into narrowPeak-like intervals as they stream.

    ``column``: which score column (task) is thresholded.
    """

    def __init__(self, path, window: int, threshold: float, *, column: int = 0) -> None:
        super().__init__(path)
        self.window, self.threshold, self.column = window, threshold, column
        self._cur: Peak | None = None
        self.count = 0

    def write(self, ws) -> None:
        if not len(ws):
            return
        score = ws.score[:, self.column]
        sel = np.flatnonzero(score >= self.threshold)
        if not len(sel):
            return
        # runs of windows that overlap or touch (windows stream in order), found at once: a run
        # breaks where the contig changes or a window starts after the previous one's end
        # (only the rows holding a selected window are named: a batch of a draft assembly has
        # thousands of rows, pieces of one chromosome several)
        ids: dict[str, int] = {}
        used, inverse = np.unique(ws.row[sel], return_inverse=True)
        chrom = np.array([ids.setdefault(ws.names[r], len(ids)) for r in used.tolist()], dtype=np.int64)[inverse]
        q = ws.start[sel].astype(np.int64)
        v = score[sel]
        brk = np.ones(len(sel), dtype=bool)
        brk[1:] = (chrom[1:] != chrom[:-1]) | (q[1:] > q[:-1] + self.window)
        first = np.flatnonzero(brk)
        last = np.append(first[1:], len(sel)) - 1
        best = np.maximum.reduceat(v, first)
        # the first window of a run with the run's best value
        at = np.flatnonzero(v == np.repeat(best, np.diff(np.append(first, len(sel)))))
        run = np.cumsum(brk) - 1
        summit_k = at[np.unique(run[at], return_index=True)[1]]
        names = [ws.names[r] for r in ws.row[sel[first]].tolist()]
        half = self.window // 2
        out = []
        for name, a, e, val, sk in zip(names, q[first].tolist(), (q[last] + self.window).tolist(), best.tolist(),
                                        q[summit_k].tolist()):
            cur = self._cur
            if cur is not None and cur.chrom == name and a <= cur.end:
                cur.end = max(cur.end, e)
                if val > cur.value:
                    cur.value, cur.summit = val, sk + half
            else:
                if cur is not None:
                    out.append(cur.text())
                    self.count += 1
                self._cur = Peak(name, a, e, val, sk + half)
        if out:
            self.fh.write("".join(out))

    def finish(self) -> None:
        if self._cur is not None:
            self.fh.write(self._cur.text())
            self.count += 1
            self._cur = None


@dataclass
class PeakCandidates:
    """Windows that may enter peaks, in genome order: chromosome ``names[chrom[i]]``, ``start``,
    probability ``score`` (float32) and natural-log p-value ``log_p`` (float64)."""

    names: list[str]
    chrom: np.ndarray
    start: np.ndarray
    score: np.ndarray
    log_p: np.ndarray

    @classmethod
    def empty(cls) -> "PeakCandidates":
        return cls([], np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32), np.zeros(0))

    @classmethod
    def concat(cls, parts: Sequence["PeakCandidates"]) -> "PeakCandidates":
        """One set from parts in genome order (names renumbered; a chromosome may span parts)."""
        names: list[str] = []
        ids: dict[str, int] = {}
        chrom = []
        for p in parts:
            remap = np.array([ids.setdefault(n, len(ids)) for n in p.names] or [0], dtype=np.int64)
            chrom.append(remap[p.chrom])
        names = list(ids)
        if not parts:
            return cls.empty()
        return cls(names, np.concatenate(chrom), np.concatenate([p.start for p in parts]),
                   np.concatenate([p.score for p in parts]), np.concatenate([p.log_p for p in parts]))


def significant_peak_lines(c: PeakCandidates, keep: np.ndarray, log_q: np.ndarray, window: int) -> list[str]:
    """narrowPeak lines of the candidate windows ``keep`` (bool), merged where they overlap or touch.

    Each peak: value and summit from its highest-probability window (the first on ties), pValue
    and qValue from its smallest p-value and q-value; ``log_q`` ``(n,)`` holds each candidate's
    natural-log q-value.
    """
    sel = np.flatnonzero(keep)
    if not len(sel):
        return []
    chrom, q, v, lp, lq = c.chrom[sel], c.start[sel], c.score[sel], c.log_p[sel], log_q[sel]
    brk = np.ones(len(sel), dtype=bool)
    brk[1:] = (chrom[1:] != chrom[:-1]) | (q[1:] > q[:-1] + window)
    first = np.flatnonzero(brk)
    last = np.append(first[1:], len(sel)) - 1
    sizes = np.diff(np.append(first, len(sel)))
    best = np.maximum.reduceat(v, first)
    at = np.flatnonzero(v == np.repeat(best, sizes))
    run = np.cumsum(brk) - 1
    summit_k = at[np.unique(run[at], return_index=True)[1]]
    mlog_p = -np.minimum.reduceat(lp, first) / LN10 + 0.0
    mlog_q = -np.minimum.reduceat(lq, first) / LN10 + 0.0
    half = window // 2
    return [peak_line(c.names[ch], a, e, val, sk + half, p, qq)
            for ch, a, e, val, sk, p, qq in zip(chrom[first].tolist(), q[first].tolist(),
                                                 (q[last] + window).tolist(), best.tolist(),
                                                 q[summit_k].tolist(), mlog_p.tolist(), mlog_q.tolist())]


def select_peaks(c: PeakCandidates, log_q: np.ndarray, *, threshold: float, fdr: float | None) -> np.ndarray:
    """Which candidates make peaks: those with ``q <= fdr``, or (no ``fdr``) probability ``>= threshold``."""
    if fdr is None:
        return c.score >= threshold
    return log_q <= np.log(fdr)


def write_significant_peaks(fh, c: PeakCandidates, peak_log_q: Callable[[PeakCandidates], np.ndarray], window: int,
                            *, threshold: float, fdr: float | None) -> int:
    """Write the peaks of candidates ``c`` to ``fh``; returns how many (shared by the scan and gather)."""
    log_q = peak_log_q(c)
    lines = significant_peak_lines(c, select_peaks(c, log_q, threshold=threshold, fdr=fdr), log_q, window)
    fh.write("".join(lines))
    return len(lines)


class SignificantPeakWriter(TextWriter):
    """Peaks with p- and q-values: candidate windows held until the scan ends, then merged.

    Parameters
    ----------
    path, window, column
        As :class:`PeakWriter`.
    candidate
        ``f(log_p) -> bool``: windows whose p-values the q-values need (all with ``p`` up to a cap).
    peak_log_q
        Called at the end (the counts are complete only then): each candidate's natural-log q-value.
    threshold
        Peaks of windows with probability ``>= threshold`` (``fdr`` None) ...
    fdr
        ... or of windows with ``q <= fdr``.
    sidecar_counts
        A shard: also write :func:`sidecar_path` with the candidates and these p-value counts
        (``f() -> (N_BINS,)`` at the end), which gather needs (:func:`write_sidecar`).

    After :meth:`finish`, :attr:`candidates` holds the candidate windows (a shard hands them to
    gather, which needs every shard's counts before it can choose).
    """

    def __init__(self, path, window: int, *, column: int = 0, candidate: Callable[[np.ndarray], np.ndarray],
                 peak_log_q: Callable[[PeakCandidates], np.ndarray], threshold: float = 0.5,
                 fdr: float | None = None, sidecar_counts: Callable[[], np.ndarray] | None = None) -> None:
        super().__init__(path)
        self.sidecar_counts = sidecar_counts
        self.window, self.column = window, column
        self.candidate, self.peak_log_q = candidate, peak_log_q
        self.threshold, self.fdr = threshold, fdr
        self._ids: dict[str, int] = {}
        self._parts: list[tuple[np.ndarray, ...]] = []
        self.candidates: PeakCandidates | None = None
        self.count = 0

    def write(self, ws) -> None:
        if not len(ws):
            return
        score, log_p = ws.score[:, self.column], ws.log_p[:, self.column]
        want = self.candidate(log_p)
        if self.fdr is None:
            want |= score >= self.threshold
        sel = np.flatnonzero(want)
        if not len(sel):
            return
        row_chrom = np.array([self._ids.setdefault(n, len(self._ids)) for n in ws.names], dtype=np.int64)
        self._parts.append((row_chrom[ws.row[sel]], ws.start[sel].astype(np.int64), score[sel], log_p[sel]))

    def finish(self) -> None:
        parts = self._parts
        c = (PeakCandidates(list(self._ids), *(np.concatenate([p[k] for p in parts]) for k in range(4)))
             if parts else PeakCandidates.empty())
        self._parts = []
        self.candidates = c
        self.count = write_significant_peaks(self.fh, c, self.peak_log_q, self.window, threshold=self.threshold,
                                             fdr=self.fdr)
        if self.sidecar_counts is not None:
            write_sidecar(sidecar_path(self.path),
                          PeakSidecar(c, self.sidecar_counts(), self.window, self.threshold, self.fdr))


def sidecar_path(peaks_path: str | os.PathLike) -> Path:
    """Where a shard keeps what gather needs for q-values: ``PEAKS.pvalues.npz`` beside its peaks."""
    return Path(os.fspath(peaks_path) + ".pvalues.npz")


@dataclass
class PeakSidecar:
    """A shard's peak candidates, its p-value counts ``(N_BINS,)`` and the peak options."""

    candidates: PeakCandidates
    counts: np.ndarray
    window: int
    threshold: float
    fdr: float | None


SIDECAR_FORMAT = "motifscan-peak-pvalues-1"


def write_sidecar(path: str | os.PathLike, side: PeakSidecar) -> None:
    """Write ``side`` as NPZ (no pickles), atomically."""
    c = side.candidates
    with atomic_open(path, "wb") as fh:
        np.savez(fh, format=np.array(SIDECAR_FORMAT), names=np.array(c.names, dtype=str), chrom=c.chrom,
                 start=c.start, score=c.score, log_p=c.log_p, counts=np.asarray(side.counts, dtype=np.int64),
                 window=np.int64(side.window), threshold=np.float64(side.threshold),
                 fdr=np.float64(np.nan if side.fdr is None else side.fdr))


def read_sidecar(path: str | os.PathLike) -> PeakSidecar:
    """Read a sidecar written by :func:`write_sidecar` (one clear line if it is not one)."""
    try:
        with np.load(path, allow_pickle=False) as z:
            if str(z["format"]) != SIDECAR_FORMAT:
                raise InputError("not a motifscan peak p-value file", path=path)
            c = PeakCandidates([str(x) for x in z["names"]], z["chrom"].astype(np.int64), z["start"].astype(np.int64),
                               z["score"].astype(np.float32), z["log_p"].astype(np.float64))
            fdr = float(z["fdr"])
            return PeakSidecar(c, z["counts"].astype(np.int64), int(z["window"]), float(z["threshold"]),
                               None if np.isnan(fdr) else fdr)
    except FileNotFoundError:
        raise InputError("shard peak p-values not found (scan the shard with --null or --fdr)", path=path) from None
    except (KeyError, ValueError, OSError) as exc:
        if isinstance(exc, InputError):
            raise
        raise InputError(f"not a motifscan peak p-value file ({exc})", path=path) from None


def read_peaks(path: str | os.PathLike) -> Iterator[Peak]:
    """The peaks of a file written by :class:`PeakWriter` (blank, ``#``, track lines skipped)."""
    with open(path) as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip() or line.startswith(("#", "track", "browser")):
                continue
            f = line.rstrip("\n").split("\t")
            try:
                start, end = int(f[1]), int(f[2])
                value = float(f[6])
                summit = start + int(f[9])
            except (IndexError, ValueError):
                raise InputError("not a motifscan peak line (10 narrowPeak columns)", path=path,
                                 where=f"line {lineno}") from None
            yield Peak(f[0], start, end, value, summit, line if line.endswith("\n") else line + "\n")


def merge_peak_files(
    paths: Sequence[str | os.PathLike],
    out: str | os.PathLike,
    *,
    order: Sequence[str] | None = None,
    value_at: Callable[[int, str, int, int], float] | None = None,
) -> int:
    """Concatenate the peak files of shards ``1..N`` (in order), joining peaks cut at shard edges.

    Peaks of one shard never touch (the scan merged them); a peak of shard ``k`` and the first
    of shard ``k + 1`` that overlap or touch are one peak of the unsharded scan, cut by the shard
    boundary. The joined peak spans both; its best window is the one with the larger value (the
    first on ties), formatted by :func:`peak_line`. Every other line is copied verbatim, so the
    result equals the unsharded scan's peaks byte for byte. Memory: one peak.

    Parameters
    ----------
    paths
        Shard peak files, in shard order.
    out
        The merged peak file (written atomically).
    order
        Chromosome order (the genome's); checked when given.
    value_at
        ``value_at(k, chrom, start, end)``: the exact (float32) best value of shard ``k``'s
        (0-based) peak ``[start, end)``: the largest value of the shard's track there (any
        other window there scores below the threshold, or it would be in the peak). Without it
        the 6 digits of the text decide, which can pick the other window, or round the score
        differently, when two windows agree to 6 digits.

    Returns
    -------
    int
        Number of peaks written.
    """
    rank = {c: i for i, c in enumerate(order)} if order is not None else None
    n = 0
    cur: Peak | None = None
    cur_shard = -1  # the shard of the current peak's last part
    last = (-1, -1)
    with atomic_open(out, "w") as fh:
        for k, path in enumerate(paths):
            for p in read_peaks(path):
                if rank is not None:
                    if p.chrom not in rank:
                        raise InputError(f"chromosome {p.chrom!r} is not in the genome", path=path)
                    key = (rank[p.chrom], p.start)
                    if key < last:
                        raise InputError("peaks are not in genome order (shards must come in order 1..N)",
                                         path=path, where=f"{p.chrom}:{p.start}")
                    last = key
                if cur is not None and cur.chrom == p.chrom and p.start <= cur.end and k != cur_shard:
                    # a joined peak (line None) already holds its exact value
                    a = value_at(cur_shard, cur.chrom, cur.start, cur.end) if value_at and cur.line else cur.value
                    b = value_at(k, p.chrom, p.start, p.end) if value_at else p.value
                    best = (b, p.summit) if b > a else (a, cur.summit)
                    cur, cur_shard = Peak(cur.chrom, cur.start, max(cur.end, p.end), *best), k
                    continue
                if cur is not None:
                    fh.write(cur.text())
                    n += 1
                cur, cur_shard = p, k
        if cur is not None:
            fh.write(cur.text())
            n += 1
    return n
