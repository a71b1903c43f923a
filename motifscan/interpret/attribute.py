"""Per-base attribution: which bases of a sequence drive the model's score?

:func:`attribute_codes` explains ``(N, L)`` code sequences; :func:`attribute` is ``motifscan
attribute MODEL INPUT -o attributions.npz``: it reads FASTA records or BED/narrowPeak windows
(through :func:`motifscan.data.datasets.load_sequences`) and writes the NPZ arrays, optionally
the one-hot sequences, a contribution bigWig and seqlets.

Methods (values are *hypothetical* contributions, one per base and position, ``(N, 4, L)``,
the layout TF-MoDISco reads):

``ism`` (default)
    Exact in-silico saturation mutagenesis: ``value[b, i] = logit(sequence with b at i) -
    logit(sequence)`` for the chosen task; 0 at the reference base. Computed by local updates of
    cached activations (:meth:`motifscan.kernels.mutations.MutationScorer.ism`), equal to ``3 L``
    forward passes per sequence to float rounding.
``grad``
    Gradient x input: ``value[b, i] = d logit / d x[b, i]``, the contribution base ``b`` would
    make at ``i``; at the reference base it is exactly gradient x input (``values * one_hot``
    gives the usual gradient x input track).

``center`` subtracts the per-position mean over the 4 bases (as tangermeme and TF-MoDISco do
for ISM). The per-base **contribution** (bigWig, seqlets) is the centred value at the
reference base (0 at N): for ISM ``-(sum of the 3 substitution effects) / 4``, for gradients the
mean-corrected gradient x input.

Seqlets (``--seqlets``): contiguous stretches where the running mean of the contribution over
``seqlet_window`` bases exceeds a threshold set on dinucleotide-shuffled copies of the
sequences (the ``seqlet_quantile`` of the same running mean there, so about ``1 - quantile`` of
shuffled positions pass), each widened by ``seqlet_window // 2`` on both sides and merged where
they touch. Given motifs, each is named after its best Tomtom-style match
(:func:`motifscan.motifs.compare.compare_motifs`; ``TF|ID``, or ``seqlet`` without a match at
E <= 1).

DeepLIFT/SHAP are not offered: for this architecture exact ISM costs about as much as a few
forward passes (see ``benchmarks/attribute_bench.py``), so approximations would buy no speed;
and captum's and tangermeme's DeepLIFT rules need every nonlinearity as a registered module,
while the model applies ReLU and the strand/position max functionally -- tangermeme's
``deep_lift_shap`` on the bundled CTCF model warns that its convergence deltas are about 230% of
the output differences (those operations are treated as linear), i.e. the attributions would
not add up to the prediction.
"""

from __future__ import annotations

import copy
import logging
import os
import sys
import time
from dataclasses import dataclass

import numpy as np
import torch

from ..atomic import check_distinct, check_output_path, writes_outputs
from ..codes import N_CODE, one_hot, one_hot_torch
from ..device import set_threads
from ..errors import InputError, UsageError
from ..model import MotifCNN
from ..kernels.methods import resolve_compute
from ..kernels.mutations import MutationScorer
from ..scan.options import AttributionOptions, RunOptions
from ..text import plural

__all__ = ["attribute", "attribute_codes", "contributions", "call_seqlets", "resolve_task", "Seqlet"]

log = logging.getLogger("motifscan")

#: float32 elements of the ISM working set per batch (``N * L * 4 * C``).
ISM_ELEMENTS = 1 << 24


def resolve_task(model: MotifCNN, task: str | int | None) -> int:
    """Index of ``task`` (a name or a 0-based index; ``None``: the first)."""
    from ..data.tasks import task_index

    return 0 if task is None else task_index(model.config.tasks, task)


def attribute_codes(
    model: MotifCNN,
    codes: np.ndarray,
    *,
    method: str = "ism",
    task: int = 0,
    center: bool = False,
    device: torch.device | str = "cpu",
    batch_size: int | None = None,
    conv_method: str = "auto",
) -> np.ndarray:
    """Hypothetical attributions ``(N, 4, L)`` float32 of uint8 codes ``(N, L)`` (see the module docstring)."""
    codes = np.ascontiguousarray(codes, dtype=np.uint8)
    N, L = codes.shape
    dev = torch.device(device)
    out = np.zeros((N, 4, L), dtype=np.float32)
    if N == 0:
        return out
    if method == "ism":
        scorer = MutationScorer(model, dev, conv_method)
        bs = batch_size or max(1, ISM_ELEMENTS // (L * 4 * scorer.channels))
        for a in range(0, N, bs):
            res = scorer.ism(torch.from_numpy(codes[a : a + bs]))
            out[a : a + bs] = res.delta[..., task].permute(0, 2, 1).cpu().numpy()
    elif method == "grad":
        net = copy.deepcopy(model).to(dev).float().eval()
        bs = batch_size or 256
        for a in range(0, N, bs):
            x = one_hot_torch(torch.from_numpy(codes[a : a + bs]).to(dev)).requires_grad_(True)
            net(x)[:, task].sum().backward()
            out[a : a + bs] = x.grad.cpu().numpy()
    else:
        raise ValueError(f"method must be ism or grad, not {method!r}")
    if center:
        out -= out.mean(axis=1, keepdims=True)
    return out


def contributions(values: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Per-base contribution ``(N, L)``: the centred attribution at the reference base (0 at N)."""
    centred = values - values.mean(axis=1, keepdims=True)
    ref = np.minimum(np.asarray(codes), N_CODE).astype(np.int64)
    at = np.take_along_axis(centred, np.minimum(ref, 3)[:, None, :], axis=1)[:, 0]
    return np.where(ref < N_CODE, at, 0.0).astype(np.float32)


def _running_mean(x: np.ndarray, w: int) -> np.ndarray:
    """Centred running mean over ``w`` positions along the last axis (shrinking at the ends)."""
    c = np.concatenate([np.zeros(x.shape[:-1] + (1,)), np.cumsum(x, axis=-1, dtype=np.float64)], axis=-1)
    L = x.shape[-1]
    lo = np.clip(np.arange(L) - w // 2, 0, L)
    hi = np.clip(np.arange(L) - w // 2 + w, 0, L)
    return (c[..., hi] - c[..., lo]) / (hi - lo)


@dataclass
class Seqlet:
    """A high-contribution stretch ``[start, end)`` of sequence ``index``; ``score`` sums its contributions."""

    index: int
    start: int
    end: int
    score: float


def call_seqlets(contrib: np.ndarray, null: np.ndarray, *, quantile: float = 0.99, window: int = 5) -> tuple[list[Seqlet], float]:
    """Seqlets of contributions ``(N, L)`` against the null contributions of shuffled sequences.

    Returns the seqlets (by sequence, then start) and the threshold on the running mean.
    """
    smooth = _running_mean(contrib, window)
    threshold = float(np.quantile(_running_mean(null, window), quantile)) if null.size else float("inf")
    threshold = max(threshold, 0.0)
    N, L = contrib.shape
    above = smooth > threshold
    pad = window // 2
    seqlets = []
    for n in np.flatnonzero(above.any(axis=1)):
        edges = np.diff(np.concatenate([[0], above[n].astype(np.int8), [0]]))
        starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
        merged: list[list[int]] = []
        for s, e in zip(np.maximum(starts - pad, 0), np.minimum(ends + pad, L)):
            if merged and s <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], int(e))
            else:
                merged.append([int(s), int(e)])
        for s, e in merged:
            seqlets.append(Seqlet(int(n), s, e, float(contrib[n, s:e].sum())))
    return seqlets, threshold


def _name_seqlets(seqlets: list[Seqlet], codes: np.ndarray, motifs_path,
                  progress: bool = False) -> list[tuple[str, str]]:
    """(name, strand) of each seqlet: its best motif match at E <= 1, else ``seqlet``.

    ``progress`` shows a bar (on a terminal): each seqlet is a Tomtom search of the whole file.
    """
    if motifs_path is None or not seqlets:
        return [("seqlet", ".")] * len(seqlets)
    from tqdm import tqdm

    from ..io.motif_formats import read_motifs
    from ..motifs.compare import MotifDatabase, compare_motifs
    from ..motifs.pwm import Motif

    db = MotifDatabase(read_motifs(motifs_path))
    log.info("naming %s after their best match among %s of %s", plural(len(seqlets), "seqlet"),
             plural(len(db), "motif"), motifs_path)
    out = []
    bar = tqdm(seqlets, desc="naming seqlets", unit="seqlet", leave=False,
               disable=not (progress and sys.stderr.isatty() and log.isEnabledFor(logging.INFO)))
    for k, s in enumerate(bar):
        seq = codes[s.index, s.start : s.end]
        probs = one_hot(seq, np.float64).T * 0.9 + 0.025  # (W, 4); N columns become uniform
        probs[seq > 3] = 0.25
        matches = compare_motifs(Motif(f"seqlet{k}", probs), db, evalue_threshold=1.0, top=1)
        if matches:
            m = matches[0]
            out.append((f"{m.target_alt or m.target_id}|{m.target_id}".replace(" ", "_"), m.orientation))
        else:
            out.append(("seqlet", "."))
    return out


@writes_outputs
def attribute(
    model: MotifCNN,
    input_path: str | os.PathLike,
    output: str | os.PathLike,
    *,
    genome: str | os.PathLike | None = None,
    onehot_out: str | os.PathLike | None = None,
    bigwig: str | os.PathLike | None = None,
    seqlets: str | os.PathLike | None = None,
    motifs: str | os.PathLike | None = None,
    options: AttributionOptions = AttributionOptions(),
    run: RunOptions = RunOptions(),
) -> dict:
    """Attribute FASTA records or BED/narrowPeak windows; write the NPZ (and the other outputs).

    Parameters
    ----------
    model
        The model.
    input_path
        FASTA, or BED/narrowPeak with ``genome`` (windows of ``options.length`` centred on the
        summit or midpoint).
    output
        NPZ: ``arr_0`` = ``(N, 4, L)`` float32 attributions, ``names`` = record/window names,
        ``scores`` = the model's probability for the task, ``method``, ``task``.
    onehot_out
        NPZ with ``arr_0`` = the ``(N, 4, L)`` float32 one-hot sequences
        (``modisco motifs -s ONEHOT -a OUTPUT``).
    bigwig
        BED input only: the per-base contribution as a bigWig.
    seqlets
        BED6 of seqlets (BED input: genome coordinates; FASTA: positions in the ``L``-bp
        sequence the model saw, named by the record); ``motifs`` names them after their best
        match.
    options, run
        :class:`~motifscan.scan.options.AttributionOptions`; device, threads, batch size.

    Returns
    -------
    dict
        ``sequences``, ``length``, ``method``, ``task``, ``seqlets``, ``threshold``, ``seconds``.
    """
    from ..data.datasets import load_sequences
    from ..io.attributions import write_contribution_bigwig, write_npz, write_seqlets
    from ..io.fasta import IndexedFasta

    named = [(p, o) for p, o in ((output, "-o"), (onehot_out, "--onehot-out"), (bigwig, "--bigwig"),
                                 (seqlets, "--seqlets")) if p is not None]
    for p, o in named:
        check_output_path(p, option=o)
    check_distinct([("MODEL", model.source), ("INPUT", input_path), ("--genome", genome), ("--motifs", motifs)],
                   [(o, p) for p, o in named])
    if motifs is not None and seqlets is None:
        raise UsageError("--motifs names seqlets: give --seqlets too")
    if motifs is not None and not os.path.exists(motifs):
        raise UsageError(f"--motifs {motifs}: file not found")
    set_threads(run.threads)
    task = resolve_task(model, options.task)
    length = int(options.length or model.config.seq_length)
    W = model.config.filter_width
    if length < W:
        raise UsageError(f"--length {length} is shorter than the filter width {W}")
    fa = IndexedFasta(genome) if genome is not None else None
    data = load_sequences(input_path, genome=fa, length=length, min_length=W)
    if len(data) == 0:
        raise InputError("no sequences to attribute", path=input_path)
    if bigwig is not None and data.intervals is None:
        raise UsageError("--bigwig needs BED/narrowPeak input with --genome (FASTA records have no coordinates)")
    compute = resolve_compute(run.device, "substitutions", method=run.conv_method, precision=run.precision)
    dev = compute.device
    t0 = time.perf_counter()
    model = model.to(dev).eval()
    values = attribute_codes(model, data.codes, method=options.method, task=task, center=options.center,
                             device=dev, batch_size=run.batch_size, conv_method=compute.method)
    stages = {"attributions": time.perf_counter() - t0}  # seconds of each stage, logged apart
    contrib = contributions(values, data.codes) if (bigwig or seqlets) else None
    found, threshold = [], float("nan")
    rows = []
    if seqlets is not None:
        from ..data.negatives import shuffle_all

        t1 = time.perf_counter()
        shuffled = shuffle_all(data.codes, 1, options.seed)
        null = contributions(attribute_codes(model, shuffled, method=options.method, task=task, device=dev,
                                             batch_size=run.batch_size, conv_method=compute.method), shuffled)
        found, threshold = call_seqlets(contrib, null, quantile=options.seqlet_quantile, window=options.seqlet_window)
        t2 = time.perf_counter()
        stages["seqlets"] = t2 - t1
        names = _name_seqlets(found, data.codes, motifs, progress=run.progress)
        if motifs is not None:
            stages["naming"] = time.perf_counter() - t2
        for s, (name, strand) in zip(found, names):
            if data.intervals is not None:
                iv = data.intervals[s.index]
                rows.append((iv.chrom, iv.start + s.start, iv.start + s.end, name, s.score, strand))
            else:
                rows.append((data.names[s.index], s.start, s.end, name, s.score, strand))
    seconds = time.perf_counter() - t0
    task_name = model.config.tasks[task]
    scores = model.predict_codes(data.codes, device=dev)[:, task]
    write_npz(output, values, names=np.array(data.names), scores=scores.astype(np.float32),
              method=np.array(options.method), task=np.array(task_name))
    if onehot_out is not None:
        write_npz(onehot_out, one_hot(data.codes).astype(np.float32), names=np.array(data.names))
    if bigwig is not None:
        write_contribution_bigwig(bigwig, fa.sizes, [iv.chrom for iv in data.intervals],
                                  [iv.start for iv in data.intervals], contrib)
    if seqlets is not None:
        write_seqlets(seqlets, rows)
    N, L = data.codes.shape
    log.info("%s attributions of %s x %d bp (task %s) in %.1f s -> %s", options.method, plural(N, "sequence"), L,
             task_name, stages["attributions"], output)
    if seqlets is not None:
        log.info("%s (running mean over %d bp > %.3g, the %g quantile on shuffled sequences) in %.1f s%s -> %s",
                 plural(len(found), "seqlet"), options.seqlet_window, threshold, options.seqlet_quantile,
                 stages["seqlets"], f", named in {stages['naming']:.1f} s" if "naming" in stages else "", seqlets)
    return {"sequences": N, "length": L, "method": options.method, "task": task_name, "seqlets": len(found),
            "threshold": threshold, "seconds": seconds, "stage_seconds": stages}
