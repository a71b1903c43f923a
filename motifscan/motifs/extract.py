"""Learned filters -> motifs.

Two conversions:

* :func:`activation_motifs` -- the field's standard (Kelley et al. 2016, Basset's
  ``basset_motifs.py``; Basenji's ``basenji_motifs.py``). For each filter, every position of the
  given sequences whose activation exceeds ``mean + fraction * (max - mean)`` of that filter's
  activations over the whole data set contributes its aligned W-mer; the W-mers are counted into a
  matrix (pseudocount 1 per base; an ``N`` adds 0.25 to each base). With reverse-complement
  sharing the activation at a position is the larger of the two strands, and the W-mer is taken on
  the strand where the filter fired: as read for the forward strand, reverse-complemented for the
  reverse strand, so every site is in the filter's own orientation.
* :func:`weight_motifs` -- the rougher option when no sequences are at hand: each filter's weights
  read as log-odds up to an unknown scale (``p = softmax(beta * w)`` per column, ``beta`` set from
  the filter's dynamic range). Good for a quick look; the activation-based motifs are what the
  filter actually responds to in real sequence and should be preferred.

Memory is bounded: sequences are batched by a budget of bases, long sequences are cut into
overlapping pieces (``W - 1`` bases of overlap, so each position belongs to exactly one piece),
and the data are read twice (statistics, then sites) rather than keeping activations.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Iterator, Sequence

import numpy as np
import torch

from ..codes import N_CODE, one_hot_torch
from ..text import plural
from .pwm import Motif

__all__ = [
    "ActivationMotifs",
    "activation_motifs",
    "weight_motifs",
    "pooled_outputs",
    "iter_activations",
    "WEIGHT_SCALE_NATS",
]

log = logging.getLogger("motifscan")

#: Weight-based conversion: the filter's most discriminating column is scaled to span this many
#: nats, so a column with one preferred base and three equal others gives that base p = 0.9.
WEIGHT_SCALE_NATS = math.log(27.0)

_DEFAULT_BATCH_BASES = 1 << 17
_HIT_CHUNK = 1 << 18


@dataclass
class ActivationMotifs:
    """Result of :func:`activation_motifs`.

    Attributes
    ----------
    motifs
        One entry per filter (index = filter number): a :class:`Motif` or ``None`` where the
        filter had fewer than ``min_sites`` sites.
    nsites
        ``(F,)`` int64 number of sites per filter (also for dropped filters).
    counts
        ``(F, W, 4)`` float64 site counts without the pseudocount.
    threshold, mean, max
        ``(F,)`` activation threshold and the statistics it came from.
    pooled
        ``(N, F)`` float32 pooled (max over positions and strands) output of every filter on
        every sequence, in input order -- what :func:`motifscan.motifs.influence.filter_influence`
        needs, so influence costs no second pass over the data.
    """

    motifs: list[Motif | None]
    nsites: np.ndarray
    counts: np.ndarray
    threshold: np.ndarray
    mean: np.ndarray
    max: np.ndarray
    pooled: np.ndarray


# ---------------------------------------------------------------------------- batching
def _pieces(lengths: np.ndarray, width: int, max_len: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cut sequences into pieces of at most ``max_len`` bases overlapping by ``width - 1``.

    Returns ``(seq_index, start, length)`` per piece. Piece ``k`` of a sequence owns the window
    starts ``[k*step, k*step + length - width]``, so no window is seen twice. Sequences shorter
    than ``width`` give no piece.
    """
    step = max(1, max_len - width + 1)
    n_pos = np.maximum(lengths - width + 1, 0)
    n_pieces = -(-n_pos // step)  # ceil
    seq_index = np.repeat(np.arange(len(lengths)), n_pieces)
    first = np.cumsum(n_pieces) - n_pieces
    k = np.arange(len(seq_index)) - np.repeat(first, n_pieces)
    start = k * step
    length = np.minimum(step, n_pos[seq_index] - start) + width - 1
    return seq_index, start, length


def iter_activations(
    model,
    sequences: Sequence[np.ndarray],
    *,
    batch_bases: int = _DEFAULT_BATCH_BASES,
    device: torch.device | str | None = None,
) -> Iterator[tuple[np.ndarray, torch.Tensor, torch.Tensor, torch.Tensor | None, torch.Tensor]]:
    """Filter activations over ``sequences`` in memory-bounded batches.

    Parameters
    ----------
    model
        A :class:`~motifscan.model.MotifCNN` (put in eval mode by the caller).
    sequences
        uint8 code arrays of any lengths (``A,C,G,T = 0..3``, ``N = 4``).
    batch_bases
        Bases per batch (padding included); longer sequences are cut into pieces.
    device
        Where to compute; ``None`` = the model's device.

    Yields
    ------
    seq_index, codes, fwd, rev, valid
        ``seq_index`` ``(B,)`` numpy: which input sequence each row comes from; ``codes``
        ``(B, L)`` uint8 tensor (N-padded); ``fwd``/``rev`` ``(B, F, P)`` activations after ReLU
        (``rev`` is ``None`` without RC sharing); ``valid`` ``(B, P)`` bool, False for padding.
    """
    width = model.bank().width  # the one door: refuses a model whose activations these are not
    device = torch.device(device) if device is not None else next(model.parameters()).device
    lengths = np.fromiter((len(s) for s in sequences), dtype=np.int64, count=len(sequences))
    max_len = max(int(batch_bases), width)
    seq_index, start, length = _pieces(lengths, width, max_len)
    order = np.argsort(-length, kind="stable")  # longest first: little padding per batch
    i = 0
    while i < len(order):
        longest = int(length[order[i]])
        n = max(1, min(len(order) - i, max_len // longest))
        rows = order[i : i + n]
        i += n
        codes = np.full((n, longest), N_CODE, dtype=np.uint8)
        for r, row in enumerate(rows):  # one copy per sequence piece, not per base
            s = int(start[row])
            codes[r, : length[row]] = sequences[seq_index[row]][s : s + length[row]]
        codes_t = torch.from_numpy(codes).to(device)
        fwd, rev = model.strand_activations(one_hot_torch(codes_t))
        n_valid = torch.from_numpy(length[rows] - width + 1).to(device)
        valid = torch.arange(fwd.shape[-1], device=device)[None, :] < n_valid[:, None]
        yield seq_index[rows], codes_t, fwd, rev, valid


def _best_strand(fwd: torch.Tensor, rev: torch.Tensor | None, valid: torch.Tensor) -> torch.Tensor:
    """Per-position activation (max over strands), zero on padding."""
    act = fwd if rev is None else torch.maximum(fwd, rev)
    return act * valid[:, None, :]


def _check(model, sequences) -> list[np.ndarray]:
    seqs = [np.asarray(s, dtype=np.uint8) for s in sequences]
    width = model.bank().width
    short = sum(len(s) < width for s in seqs)
    if short:
        log.warning("%s shorter than the filter width (%d) skipped", plural(short, "sequence"), width)
    if short == len(seqs):
        raise ValueError(f"no sequence is at least as long as the filters ({width} bp)")
    return seqs


@torch.no_grad()
def pooled_outputs(
    model, sequences: Sequence[np.ndarray], *, batch_bases: int = _DEFAULT_BATCH_BASES, device=None
) -> np.ndarray:
    """``(N, F)`` float32 pooled filter outputs (max over positions and strands) per sequence.

    Equal to ``model.pool`` on each sequence alone, whatever its length (pieces are combined
    with a max). Sequences shorter than the filters give zeros.
    """
    seqs = list(sequences)
    was_training = model.training
    model.eval()
    try:
        pooled = np.zeros((len(seqs), model.config.n_filters), dtype=np.float32)
        for idx, _codes, fwd, rev, valid in iter_activations(
            model, seqs, batch_bases=batch_bases, device=device
        ):
            np.maximum.at(pooled, idx, _best_strand(fwd, rev, valid).amax(-1).float().cpu().numpy())
    finally:
        model.train(was_training)
    return pooled


# ---------------------------------------------------------------------------- activation-based
@torch.no_grad()
def activation_motifs(
    model,
    sequences: Sequence[np.ndarray],
    *,
    fraction: float = 0.5,
    min_sites: int = 10,
    batch_bases: int = _DEFAULT_BATCH_BASES,
    device: torch.device | str | None = None,
    id_prefix: str = "filter",
) -> ActivationMotifs:
    """Turn each filter into a motif from the W-mers that activate it (Basset's method).

    Parameters
    ----------
    model
        A :class:`~motifscan.model.MotifCNN`.
    sequences
        uint8 code arrays (any lengths; those shorter than the filter width are skipped with a
        warning).
    fraction
        Threshold ``mean + fraction * (max - mean)`` of each filter's activations over all
        positions (max over strands) of all sequences; a position counts when its activation is
        strictly above it. Basset uses 0.5.
    min_sites
        Filters with fewer sites are left out (``None`` in ``motifs``) and listed in one warning.
    batch_bases
        Memory bound: bases per batch.
    device
        Where to compute; ``None`` = the model's device.
    id_prefix
        Motif ids are ``f"{id_prefix}{filter_index}"``.

    Returns
    -------
    ActivationMotifs
        Motifs with probabilities ``(counts + 1) / (nsites + 4)`` and integer ``nsites`` = the
        number of sites, plus the pooled outputs for influence.
    """
    if not 0.0 <= fraction < 1.0:
        raise ValueError(f"fraction must be in [0, 1), got {fraction}")
    seqs = _check(model, sequences)
    bank = model.bank()
    n_filters, width = bank.n_filters, bank.width
    was_training = model.training
    model.eval()
    try:
        # Pass 1: per-filter mean and max over every position, and the pooled outputs.
        total = torch.zeros(n_filters, dtype=torch.float64)
        top = torch.zeros(n_filters, dtype=torch.float64)
        count = 0
        pooled = np.zeros((len(seqs), n_filters), dtype=np.float32)
        for idx, _codes, fwd, rev, valid in iter_activations(
            model, seqs, batch_bases=batch_bases, device=device
        ):
            act = _best_strand(fwd, rev, valid)
            total += act.double().sum(dim=(0, 2)).cpu()
            per_seq = act.amax(-1)
            top = torch.maximum(top, per_seq.amax(0).double().cpu())
            count += int(valid.sum())
            np.maximum.at(pooled, idx, per_seq.float().cpu().numpy())
        mean = total / max(count, 1)
        threshold = mean + fraction * (top - mean)

        # Pass 2: gather the W-mers above threshold and count bases per filter and position.
        binned = None
        for _idx, codes, fwd, rev, valid in iter_activations(
            model, seqs, batch_bases=batch_bases, device=device
        ):
            counts_dev = _count_sites(codes, fwd, rev, valid, threshold.to(fwd.device, fwd.dtype), width)
            binned = counts_dev if binned is None else binned + counts_dev
    finally:
        model.train(was_training)

    binned = binned.cpu().numpy().reshape(n_filters, width, 5)
    counts = binned[:, :, :4] + 0.25 * binned[:, :, 4:5]  # an N is a quarter of each base
    nsites = np.rint(binned[:, 0, :].sum(axis=1)).astype(np.int64)
    motifs: list[Motif | None] = []
    dropped = []
    for f in range(n_filters):
        if nsites[f] < min_sites:
            motifs.append(None)
            dropped.append(f)
            continue
        motifs.append(Motif(f"{id_prefix}{f}", (counts[f] + 1.0) / (nsites[f] + 4.0), nsites=int(nsites[f])))
    if dropped:
        shown = ", ".join(f"{id_prefix}{f} ({nsites[f]})" for f in dropped[:10])
        more = f" and {len(dropped) - 10} more" if len(dropped) > 10 else ""
        log.warning(
            "%s with fewer than %d sites left out: %s%s",
            plural(len(dropped), "filter"), min_sites, shown, more,
        )
    return ActivationMotifs(
        motifs=motifs,
        nsites=nsites,
        counts=counts,
        threshold=threshold.numpy(),
        mean=mean.numpy(),
        max=top.numpy(),
        pooled=pooled,
    )


# Complement of codes A,C,G,T,N -> T,G,C,A,N.
_COMPLEMENT = torch.tensor([3, 2, 1, 0, N_CODE], dtype=torch.long)


def _count_sites(codes, fwd, rev, valid, threshold, width) -> torch.Tensor:
    """Bincount ``(F * W * 5,)`` of the bases of every above-threshold W-mer, in filter orientation."""
    n_filters = fwd.shape[1]
    act = _best_strand(fwd, rev, valid)
    hits = (act > threshold[None, :, None]).nonzero()  # (n, 3): batch row, filter, position
    out = torch.zeros(n_filters * width * 5, dtype=torch.float64, device=codes.device)
    offsets = torch.arange(width, device=codes.device)
    complement = _COMPLEMENT.to(codes.device)
    for i in range(0, len(hits), _HIT_CHUNK):  # chunks bound the (n, W) index arrays
        b, f, p = hits[i : i + _HIT_CHUNK].unbind(1)
        kmers = codes[b[:, None], p[:, None] + offsets].long()  # (n, W)
        if rev is not None:
            on_rev = rev[b, f, p] > fwd[b, f, p]
            # The reverse strand saw revcomp(W-mer): that is the filter's orientation.
            kmers = torch.where(on_rev[:, None], complement[kmers.flip(1)], kmers)
        index = (f[:, None] * width + offsets) * 5 + kmers
        out += torch.bincount(index.reshape(-1), minlength=out.numel()).double()
    return out


# ---------------------------------------------------------------------------- weight-based
def weight_motifs(model, *, nsites: int = 20, id_prefix: str = "filter") -> list[Motif]:
    """The rougher conversion: read each filter's weights as log-odds of unknown scale.

    Column ``i`` of filter ``f`` becomes ``softmax(beta_f * w_f[:, i])``, with ``beta_f`` such
    that the filter's most discriminating column (largest max - min weight) spans
    :data:`WEIGHT_SCALE_NATS` (ln 27: one preferred base against three equal others gets p =
    0.9). Weaker columns are flatter in proportion, so relative shape is kept but absolute
    information content is a convention, not a measurement. A filter with all-equal weights
    becomes uniform. ``nsites`` is nominal (no sites were counted).
    """
    weight = model.bank().weight.double().cpu().numpy()  # (F, 4, W)
    w = np.transpose(weight, (0, 2, 1))  # (F, W, 4)
    spread = (w.max(axis=2) - w.min(axis=2)).max(axis=1)  # (F,)
    beta = np.where(spread > 0, WEIGHT_SCALE_NATS / np.where(spread > 0, spread, 1.0), 0.0)
    z = beta[:, None, None] * (w - w.max(axis=2, keepdims=True))
    probs = np.exp(z)
    probs /= probs.sum(axis=2, keepdims=True)
    return [Motif(f"{id_prefix}{f}", probs[f], nsites=nsites) for f in range(len(probs))]
