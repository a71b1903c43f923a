"""``motifscan calibrate``: the null of a model's window scores on a genome, per GC stratum.

:func:`calibrate` samples windows of the genome (non-N, seeded, spread over the chromosomes in
proportion to their length, in patches of :data:`PATCH` adjacent windows so the genome is read
in a few thousand pieces), shuffles each window keeping its dinucleotides
(:func:`~motifscan.data.negatives.shuffle_rows`), scores the shuffles through the scan's own
window code (:class:`~motifscan.scan.model_scan.ModelScanner`, one pass for every task) and fits
a :class:`~motifscan.stats.null.WindowNull`. A tenth of the shuffles is held out: their p-values
against the fitted null show the calibration (:func:`qq_plot`, ``null.png``).

What the null is: windows with the genome's own local composition (GC, CpG depletion, every
dinucleotide) and nothing else. A p-value says how unusual a window's score is for a sequence of
that composition; it does not model biology the shuffle destroys (repeats, unmodelled cofactors,
real but non-target sites), so it controls false peaks that come from composition, not those.

:func:`save_null` / :func:`load_null` keep it in HDF5 (:mod:`motifscan.io.nulls`) with the
model's digest, the window and the stride.
"""

from __future__ import annotations

import logging
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, Sequence

import numpy as np

from ..codes import N_CODE
from ..data.negatives import gc_content, shuffle_rows
from ..device import set_threads
from ..kernels.methods import resolve_compute
from ..errors import InputError, UsageError
from ..io.fasta import IndexedFasta, fasta_sizes
from ..io.nulls import NullMeta, read_null, write_null
from ..model_file import ModelFile, model_digest
from ..scan.batching import Piece, iter_batches
from ..scan.model_scan import ModelScanner
from ..scan.options import InputOptions, RunOptions, WindowOptions
from ..scan.sources import selected_segments
from ..stats.null import GC_EDGES, MIN_STRATUM, WindowNull, assign_strata

if TYPE_CHECKING:
    from ..model import MotifCNN

__all__ = ["CalibrateOptions", "Calibration", "calibrate", "score_windows", "sample_windows",
           "save_null", "load_null", "qq_plot", "null_spans", "DEFAULT_MBP", "PATCH"]

log = logging.getLogger("motifscan")

#: Default null size: Mbp of sampled windows (500,000 windows of 200 bp).
DEFAULT_MBP = 100.0
#: Adjacent windows read together from the genome.
PATCH = 16
#: Share of the shuffled windows held out of the fit, for the QQ plot.
HOLDOUT = 0.1


@dataclass(frozen=True)
class CalibrateOptions:
    """How a null is drawn.

    Attributes
    ----------
    mbp
        Mbp of windows to sample and shuffle (``mbp * 1e6 / window`` windows).
    window
        Window length (``None``: the model's training length); must be the scan's.
    stride
        The scan's stride (recorded: a null is used by scans of this window and stride).
    seed
        Seed of the sampling and the shuffles.
    edges
        Interior GC stratum edges before merging (:func:`~motifscan.stats.null.merge_strata`).
    min_stratum
        Null windows a stratum needs (sparser strata are merged with a neighbour).
    """

    mbp: float = DEFAULT_MBP
    window: int | None = None
    stride: int = WindowOptions.stride
    seed: int = 0
    edges: tuple[float, ...] = GC_EDGES
    min_stratum: int = MIN_STRATUM

    def __post_init__(self) -> None:
        if not self.mbp > 0:
            raise UsageError(f"--mbp must be > 0, got {self.mbp}")
        if self.window is not None and self.window < 1:
            raise UsageError(f"--window must be >= 1, got {self.window}")
        if self.stride < 1:
            raise UsageError(f"--stride must be >= 1, got {self.stride}")
        if self.min_stratum < 100:
            raise UsageError(f"a stratum needs at least 100 null windows, got {self.min_stratum}")


@dataclass
class Calibration:
    """A fitted null, what it was made for, and its held-out check.

    ``heldout_log_p`` ``(h, T)`` natural-log p-values of held-out shuffles, ``heldout_stratum``
    ``(h,)`` their strata; ``seconds`` the time taken; ``windows`` the shuffles fitted.
    """

    null: WindowNull
    meta: NullMeta
    heldout_log_p: np.ndarray
    heldout_stratum: np.ndarray
    seconds: float = 0.0
    windows: int = 0
    stats: dict = field(default_factory=dict)


def sample_windows(genome: IndexedFasta, n: int, window: int, rng: np.random.Generator, *,
                   patch: int = PATCH, spans: Sequence[tuple[str, int, int]] | None = None,
                   skip_masked: bool = False) -> np.ndarray:
    """``n`` windows of ``genome`` without N, as codes ``(n, window)``, in genome order.

    Patches of ``patch`` adjacent windows start at uniform positions of the windows that fit in
    ``spans`` (``(chrom, start, end)``; default: every whole sequence), so each span contributes
    in proportion to its length; windows holding an N (with ``skip_masked``, a soft-masked base:
    the scan reads those as N) are dropped and more patches drawn until ``n`` are found. A genome
    smaller than the null repeats windows (each is shuffled anew).
    """
    if spans is None:
        spans = [(c, 0, size) for c, size in genome.sizes.items()]
    spans = [(c, lo, hi) for c, lo, hi in spans if hi - lo >= window]
    if not spans:
        raise InputError(f"no sequence (or region) is as long as the window ({window} bp)", path=genome.path)
    span = np.array([hi - lo - window + 1 for _c, lo, hi in spans], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(span)])
    found: list[np.ndarray] = []
    have = 0
    for _round in range(50):
        if have >= n:
            break
        k = max(1, math.ceil((n - have) / patch * 1.2))
        pos = np.sort(rng.integers(0, offsets[-1], k))
        which = np.searchsorted(offsets, pos, side="right") - 1
        for c, p in zip(which.tolist(), pos.tolist()):
            name, lo, hi = spans[c]
            start = lo + p - int(offsets[c])
            end = min(hi, start + patch * window)
            count = (end - start) // window
            codes = genome.fetch(name, start, start + count * window, skip_masked=skip_masked)
            codes = codes.reshape(count, window)
            codes = codes[(codes != N_CODE).all(axis=1)]
            if len(codes):
                found.append(codes)
                have += len(codes)
    what = "unmasked window without N" if skip_masked else "window without N"
    if not have:
        raise InputError(f"no {window} bp {what} found", path=genome.path)
    if have < n:
        log.warning("only %d of %d null windows (%s) found in %s", have, n, what, genome.path)
    return np.concatenate(found)[:n]


def null_spans(genome: IndexedFasta, inputs: InputOptions) -> list[tuple[str, int, int]] | None:
    """The parts of ``genome`` a scan with ``inputs`` reads (``--chrom``, ``--regions``), or ``None`` for all.

    ``--shard`` is ignored: every shard of a scan must use the same null, drawn from the whole
    selection.
    """
    if not (inputs.regions or inputs.chroms):
        return None
    segments = selected_segments(genome.sizes, inputs, genome.path)
    return [(s.name, s.lo, s.hi) for s in segments]


class _WindowRows:
    """A scan source of windows held in memory: each row one record, scored as one window."""

    def __init__(self, codes: np.ndarray) -> None:
        self.codes = codes
        self.total = int(codes.size)
        self.stats: dict = {}
        self.sizes = None

    def pieces(self, chunk_size: int, overlap: int) -> Iterator[Piece]:
        w = self.codes.shape[1]
        for i, row in enumerate(self.codes):
            yield Piece(f"w{i}", i, 0, row, 1, True, w)


def score_windows(model: MotifCNN | ModelFile, codes: np.ndarray, *, run: RunOptions = RunOptions()) -> np.ndarray:
    """Probabilities ``(n, T)`` of windows ``codes`` ``(n, window)``, through the scan's window code.

    Each row is scored exactly as ``motifscan scan`` scores a window of that sequence (the same
    :class:`~motifscan.scan.model_scan.ModelScanner`, convolution method and head), so null and
    scan scores are the same numbers for the same bases.
    """
    n, window = codes.shape
    compute = resolve_compute(run.device, "scan", method=run.conv_method, precision=run.precision)
    dev = compute.device
    scanner = ModelScanner(model, window=window, stride=window, device=dev, precision=compute.precision,
                           conv_method=compute.method)
    out = np.empty((n, len(model.config.tasks)), dtype=np.float32)
    chunk, max_bases = scanner.batch_layout()
    batches = iter_batches(_WindowRows(codes), overlap=window - 1, chunk_size=run.chunk_size or chunk,
                           batch_size=run.batch_size, device=dev, max_bases=max_bases,
                           n_filters=model.config.n_filters * (2 if model.config.rc_sharing else 1))
    got = 0
    for batch, result in scanner.process_all(batches, windows=True, records=False, hits=False):
        ws = result.windows
        rec = batch.records[ws.row]
        out[rec] = ws.score
        got += len(rec)
    if got != n:  # every row is one whole, N-free window
        raise RuntimeError(f"scored {got} of {n} null windows")
    return out


def calibrate(model: MotifCNN | ModelFile, genome: str | os.PathLike, options: CalibrateOptions = CalibrateOptions(),
              *, run: RunOptions = RunOptions(), inputs: InputOptions = InputOptions()) -> Calibration:
    """Build the null of ``model``'s window scores on ``genome``.

    Parameters
    ----------
    model
        The model (every task gets its own null, from the same shuffles).
    genome
        FASTA (plain or bgzip; indexed, an index is built when missing).
    options
        Null size, window, stride, seed, strata.
    run
        Device, threads, precision, convolution method (as the scan's).
    inputs
        The part of the genome the scan reads: windows are drawn from ``--chrom``/``--regions``
        only, and with ``skip_masked`` from unmasked bases only (``shard`` is ignored).

    Returns
    -------
    Calibration
        The null (fitted on 90% of the shuffles) and the held-out 10%'s p-values.
    """
    t0 = time.perf_counter()
    set_threads(run.threads)
    window = int(options.window or model.config.seq_length)
    if window < model.config.filter_width:
        raise UsageError(f"--window {window} is shorter than the filter width {model.config.filter_width}")
    n = max(1000, math.ceil(options.mbp * 1e6 / window))
    rng = np.random.default_rng(options.seed)
    if fasta_sizes(genome) is None:
        raise InputError("calibrate needs an indexable FASTA (plain or bgzip)", path=genome)
    with IndexedFasta(genome) as fa:
        windows = sample_windows(fa, n, window, rng, spans=null_spans(fa, inputs), skip_masked=inputs.skip_masked)
    t_sample = time.perf_counter()
    shuffled = shuffle_rows(windows, rng)
    gc = gc_content(windows)  # a shuffle keeps the composition
    del windows
    t_shuffle = time.perf_counter()
    scores = score_windows(model, shuffled, run=run)
    t_score = time.perf_counter()
    held = rng.random(len(scores)) < HOLDOUT
    null = WindowNull.fit(scores[~held], gc[~held], model.config.tasks, edges=options.edges,
                          min_count=options.min_stratum)
    heldout_log_p = null.log_pvalues(scores[held], gc[held])
    seconds = time.perf_counter() - t0
    meta = NullMeta(model_digest(model), Path(genome).name, window, options.stride, tuple(model.config.tasks),
                    {"mbp": options.mbp, "seed": options.seed, "windows": int((~held).sum()),
                     "heldout": int(held.sum()), "min_stratum": options.min_stratum,
                     "chroms": list(inputs.chroms or ()), "regions": Path(inputs.regions).name if inputs.regions else "",
                     "skip_masked": bool(inputs.skip_masked),
                     "edges": [float(e) for e in options.edges]})
    stats = {"sample_s": t_sample - t0, "shuffle_s": t_shuffle - t_sample, "score_s": t_score - t_shuffle,
             "fit_s": seconds - (t_score - t0)}
    log.info("null of %s windows (%d bp, %d GC strata: %s) in %.1f s (sample %.1f, shuffle %.1f, score %.1f, "
             "fit %.1f)", f"{int((~held).sum()):,}", window, null.n_strata,
             ", ".join(f"{lab} {k:,}" for lab, k in zip(null.stratum_labels(), null.sizes.tolist())),
             seconds, stats["sample_s"], stats["shuffle_s"], stats["score_s"], stats["fit_s"])
    calib = Calibration(null, meta, heldout_log_p, assign_strata(gc[held], null.edges), seconds,
                        int((~held).sum()), stats)
    for a in (1e-2, 1e-3):
        frac = float((heldout_log_p <= math.log(a)).mean()) if heldout_log_p.size else float("nan")
        log.info("held-out shuffles with p <= %g: %.4g (%.2fx nominal)", a, frac, frac / a)
    return calib


def save_null(path: str | os.PathLike, calib: Calibration) -> None:
    """Write a :class:`Calibration`'s null to ``path`` (HDF5, atomically)."""
    write_null(path, calib.meta, calib.null.to_arrays())


def load_null(path: str | os.PathLike, model: MotifCNN | ModelFile, *, window: int, stride: int) -> WindowNull:
    """The null in ``path``, refused (one line) unless made for ``model``, ``window`` and ``stride``."""
    meta, arrays = read_null(path, model_sha256=model_digest(model), window=window, stride=stride)
    try:
        return WindowNull.from_arrays(arrays, meta.tasks)
    except (KeyError, ValueError) as exc:
        raise InputError(f"incomplete null file ({exc})", path=path) from None


def qq_plot(calib: Calibration, path: str | os.PathLike) -> None:
    """QQ plot of the held-out shuffles' p-values against uniform, one line per GC stratum (and task).

    Points on the diagonal: calibrated; above it: p-values too small (anti-conservative).
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    from ..atomic import atomic_path

    tasks = calib.null.tasks
    labels = calib.null.stratum_labels()
    fig, axes = plt.subplots(1, len(tasks), figsize=(4.5 * len(tasks), 4.5), squeeze=False)
    for t, ax in enumerate(axes[0]):
        top = 0.0
        for s, label in enumerate(labels):
            lp = np.sort(calib.heldout_log_p[calib.heldout_stratum == s, t])
            if len(lp) < 10:
                continue
            obs = -lp / math.log(10)
            exp = -np.log10(np.arange(1, len(lp) + 1) / (len(lp) + 1))
            ax.plot(exp, obs, ".", ms=2, label=f"{label} ({len(lp):,})")
            top = max(top, exp.max(), obs.max())
        ax.plot([0, top], [0, top], "k-", lw=0.8)
        ax.set_xlabel("expected -log10 p (uniform)")
        ax.set_ylabel("observed -log10 p (held-out shuffles)")
        ax.set_title(f"null calibration: {tasks[t]}" if len(tasks) > 1 else "null calibration")
        ax.legend(fontsize=6, markerscale=3, loc="upper left")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
