"""Scoring batches with a model (:class:`~motifscan.model.MotifCNN`, or its file read without torch): window
tracks, records and filter hits.

Windows
    Each batch is convolved once with the bank ``[W, flip(W)]`` (both strands), the strands are
    combined by an elementwise max, and every window's pooled filter vector comes from
    ``max_pool1d(kernel=window - W + 1, stride)``; ReLU (monotone, so it commutes with max) and
    the dense head follow. A window ``[q, q + window)`` thus scores exactly what
    ``model.predict_codes`` gives its sequence (to float rounding). On CPU the convolution is a
    k-mer table lookup (:mod:`.kmer_conv`), fused with both maxima into one pass that never
    writes the activations out (:mod:`.fused`), and the head runs in float64, so a window's score
    is the same to the bit whatever chunk or batch holds it (and whether fused or not).

    * Windows start at ``0, stride, 2*stride, ...`` of each chromosome, whatever the chunking.
    * A window must fit wholly in its chromosome (or ``--regions`` interval); a sequence shorter
      than the window gets no windows.
    * A window with more than half of its bases N (after ``--skip-masked``, soft-masked bases
      count as N) is skipped: it has no value in any output.

Records
    One score per record (FASTA record or read): global max over the whole record, then the head
    (as the model scores a training sequence of any length). Records shorter than the filter
    width cannot be scored and are counted (``stats["too_short"]``). ``best_position`` is the
    0-based start of the best match of the ``top_filter`` (the filter contributing most to the
    logit of the first task), ``strand`` its strand. With ``--regions`` each (merged) region is
    one record named ``chrom:start-end`` and ``best_position`` is a chromosome coordinate.

Hits
    Positions where a filter's activation reaches ``hit_fraction`` of the largest activation the
    filter can produce, on either strand, as BED6 (+ the matched sequence read 5'->3' on the hit's
    strand). Each start position is reported once (chunk ownership, see :mod:`.sources`).
"""

from __future__ import annotations

import logging
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import compress
from typing import TYPE_CHECKING, Any, Iterable, Iterator

import numpy as np

from ..codes import N_CODE, decode, reverse_complement
from ..device import cpu_threads, device_type, no_grad, use_torch
from ..model_file import ModelFile
from .batching import Batch
from ..kernels.head import Head
from ..jit import njit
from ..kernels.kmer_conv import KmerTable
from ..kernels.methods import CPU_CONV_METHODS
from ..kernels.methods import conv_method as resolve_conv_method

if TYPE_CHECKING:
    import torch

    from ..model import MotifCNN

__all__ = ["ModelScanner", "ScanResult", "WindowScores", "RecordScore", "Hit", "MAX_N_FRACTION",
           "window_n_counts"]

log = logging.getLogger("motifscan")

MAX_N_FRACTION = 0.5


@dataclass
class WindowScores:
    """Scores of the kept windows of one batch, in genome order.

    ``names[row[i]]`` is the chromosome of window ``i``; ``start`` its 0-based start; ``score``
    ``(n, T)`` probabilities. ``finished`` maps chromosomes that ended in this batch to their
    length (for writers that learn chromosome sizes as they go). ``log_p`` ``(n, T)``: natural-log
    p-values, when the scan has a null (:mod:`motifscan.scan.significance`).
    """

    names: list[str]
    row: np.ndarray
    start: np.ndarray
    score: np.ndarray
    finished: dict[str, int] = field(default_factory=dict)
    log_p: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.start)


@dataclass
class RecordScore:
    """One record's result; ``score`` is ``None`` when the record could not be scored."""

    name: str
    length: int
    score: np.ndarray | None
    best_position: int = -1
    strand: str = "."
    top_filter: int = -1
    payload: Any = None


@dataclass
class Hit:
    """A filter match: BED6 fields plus the matched sequence."""

    chrom: str
    start: int
    end: int
    name: str
    score: float
    strand: str
    sequence: str


@dataclass
class ScanResult:
    """What one batch gave: window scores, finished records and filter hits (each when asked)."""

    windows: WindowScores | None = None
    records: list[RecordScore] = field(default_factory=list)
    hits: list[Hit] = field(default_factory=list)


@dataclass
class _PartialRecord:
    """Per-filter maxima (and their first positions) of a record seen so far, per strand."""

    fwd_max: np.ndarray
    fwd_pos: np.ndarray
    rev_max: np.ndarray
    rev_pos: np.ndarray

    def merge(self, later: "_PartialRecord") -> "_PartialRecord":
        """Maxima over both parts; ties keep the earlier position (the first occurrence)."""
        fb, rb = later.fwd_max > self.fwd_max, later.rev_max > self.rev_max
        return _PartialRecord(np.where(fb, later.fwd_max, self.fwd_max), np.where(fb, later.fwd_pos, self.fwd_pos),
                              np.where(rb, later.rev_max, self.rev_max), np.where(rb, later.rev_pos, self.rev_pos))


@dataclass
class _FinishedRecord:
    """A record whose last piece was in the batch, before the head scores it."""

    row: int               # its (last) row in the batch: results come in input order
    name: str
    length: int
    pooled: np.ndarray     # (F,) strand-max filter maxima
    best_position: int
    top_filter: int
    forward: bool
    payload: Any


HIT_BLOCK = 64
#: Batch layout of fused window scans (see :meth:`ModelScanner.batch_layout`): 64 kb chunks carry
#: 0.3% overlap (8 kb ones 2.4%), 1 Mbp batches hold 16 rows to share among threads.
FUSED_CHUNK = 1 << 16
FUSED_BATCH_BASES = 1 << 20


def _threshold_positions(x: torch.Tensor, thr: torch.Tensor, block: int) -> tuple[torch.Tensor, ...]:
    """``(row, position, channel)`` of every ``x[row, channel, position] >= thr[channel]``.

    ``x`` is ``(B, C, P)`` in either layout. Block maxima come first (for a channels-last view
    the reduction runs over whole rows of channels), then only candidate blocks are compared.
    Ordered by row, position, channel.
    """
    import torch

    B, C, P = x.shape
    full = P // block
    parts = []
    if full:
        head = x[..., : full * block]
        if x.stride(1) == 1:  # channels-last: reduce positions, channels stay contiguous
            bm = head.transpose(1, 2).reshape(B, full, block, C).amax(2).transpose(1, 2)
        else:
            bm = head.reshape(B, C, full, block).amax(-1)
        parts.append(bm)
    if P % block:
        parts.append(x[..., full * block :].amax(-1, keepdim=True))
    block_max = torch.cat(parts, dim=2) if len(parts) > 1 else parts[0]  # (B, C, nb)
    rows, blocks = (block_max >= thr[None, :, None]).any(dim=1).nonzero(as_tuple=True)
    if not len(rows):
        e = torch.zeros(0, dtype=torch.long, device=x.device)
        return e, e, e
    pos = blocks[:, None] * block + torch.arange(block, device=x.device)[None, :]  # (K, block)
    inside = pos < P
    vals = x[rows[:, None], :, pos.clamp(max=P - 1)]  # (K, block, C)
    k, j, c = ((vals >= thr) & inside[..., None]).nonzero(as_tuple=True)
    return rows[k], pos[k, j], c


def window_n_counts(codes: np.ndarray | torch.Tensor, starts: np.ndarray, window: int) -> np.ndarray:
    """N bases (code 4 exactly; the batch padding is N too) in each window ``[s, s + window)`` of
    every row of ``codes`` ``(B, L)``, as int32 ``(B, len(starts))``.

    From a cumulative sum on the device the codes are on (a GPU batch holds up to tens of Mbp per
    row set: its host would spend seconds a genome on the sum), in numpy on the CPU.
    """
    B, L = codes.shape
    if isinstance(codes, np.ndarray):
        cs = np.zeros((B, L + 1), dtype=np.int32)
        np.cumsum(codes == N_CODE, axis=1, out=cs[:, 1:])
        return cs[:, starts + window] - cs[:, starts]
    import torch

    cs = torch.zeros((B, L + 1), dtype=torch.int32, device=codes.device)
    torch.cumsum(codes == N_CODE, dim=1, dtype=torch.int32, out=cs[:, 1:])
    idx = torch.from_numpy(np.asarray(starts, dtype=np.int64)).to(codes.device)
    return (cs[:, idx + window] - cs[:, idx]).cpu().numpy()


def _kept_windows_loop(slots, starts, begins, own_ends, rows, cols, n_count, Q, stride, window, out_piece,
                      out_start, out_at):  # pragma: no cover - compiled
    """The windows a batch keeps, in piece order (see :meth:`ModelScanner.windows`): piece ``i``'s
    slot ``k`` starts at ``starts[i] + k * stride`` and is window ``(rows[i], cols[i] // stride + k)``
    of the kernel's output (flat index ``at``); kept when its piece owns its start and at most half
    of it is N. Fills ``out_*`` and returns ``(kept, owned)``."""
    n = 0
    owned = 0
    for i in range(len(slots)):
        base = rows[i] * Q + cols[i] // stride
        for k in range(slots[i]):
            s = starts[i] + k * stride
            if s < begins[i] or s >= own_ends[i]:
                continue
            owned += 1
            if n_count[base + k] * 2 > window:  # > 50% N: skipped
                continue
            out_piece[n] = i
            out_start[n] = s
            out_at[n] = base + k
            n += 1
    return n, owned


_kept_windows = njit(_kept_windows_loop)


class ModelScanner:
    """Turn engine batches into window scores, record scores and filter hits.

    Parameters
    ----------
    model
        A :class:`~motifscan.model.MotifCNN` (put in eval mode; moved to ``device``), or a
        :class:`~motifscan.model_file.ModelFile`: then a fused window scan on the CPU with a
        linear head runs on its numpy arrays without torch, which is loaded (and the module
        built) only for what needs it (records, hits, the other methods and devices).
    window, stride
        Window length (default: the model's training length) and step, for window scans.
    device
        Compute device.
    precision
        ``fp32``, ``bf16`` or ``fp16`` for the convolution (the head always runs in fp32).
    hit_fraction
        Report filter hits at >= this fraction of each filter's maximum activation; ``None``
        for no hits.
    conv_method
        ``fused`` (window scans: the k-mer table, the strand max and the window max in one pass,
        :class:`~motifscan.kernels.fused.FusedWindowScan`; records and hits use the table), ``table``
        (k-mer table lookup, :class:`~motifscan.kernels.kmer_conv.KmerTableConv`, then the pooling
        in torch), both CPU and fp32 only; ``dense`` (``conv1d``); or ``auto``: fused on CPU in
        fp32, else dense. ``fused`` and ``table`` give bit-identical windows.
    """

    def __init__(
        self,
        model: MotifCNN | ModelFile,
        *,
        window: int | None = None,
        stride: int = 50,
        device: torch.device | str = "cpu",
        precision: str = "fp32",
        hit_fraction: float | None = None,
        conv_method: str = "auto",
    ) -> None:
        self.conv_method = conv_method = resolve_conv_method("scan", device, conv_method, precision)
        config = model.config
        # what every method needs, as numpy: a file's arrays, or a module's through its one door
        if isinstance(model, ModelFile):
            weight, bias = model.bank_arrays()
            linear = model.linear_head()
        else:
            bank, head = model.bank(), model.head_params()  # the one door: refuses what is not scanned right
            weight, bias = (t.detach().float().cpu().numpy() for t in (bank.weight, bank.bias))
            linear = (None if not head.is_linear else
                      tuple(t.detach().float().cpu().numpy() for t in (head.linears[0].weight, head.linears[0].bias)))
        self.width = config.filter_width
        self.n_filters = config.n_filters
        self.n_tasks = len(config.tasks)
        self.window = int(window or config.seq_length)
        if self.window < self.width:
            raise ValueError(f"window {self.window} is shorter than the filter width {self.width}")
        if stride < 1:
            raise ValueError("stride must be >= 1")
        self.stride = int(stride)
        self.rc = config.rc_sharing
        self.names = model.filter_names()
        self.stats: dict[str, int] = {"too_short": 0, "windows": 0, "skipped_n": 0}
        self._pending: dict[int, _PartialRecord] = {}
        # the filter contributing most to task 0 is well defined for a linear head only
        self._head_w = None if linear is None else np.asarray(linear[0][0], dtype=np.float32)
        self.model = model
        self.device = device
        self.precision = precision
        self.hit_fraction = hit_fraction
        self._torch_ready = False
        self._table = None
        self._fused = None
        # the k-mer table of the bank [W, flip(W)] (in numpy): the fused kernel's, and the table method's
        self._kmer = None
        if conv_method in CPU_CONV_METHODS:
            both = [weight, weight[:, ::-1, ::-1]] if self.rc else [weight]
            self._kmer = KmerTable(np.concatenate(both), np.concatenate([bias] * len(both)))
        if conv_method == "fused":
            from ..kernels.fused import FusedWindowScan  # numba: imported (and compiled) only when used

            self._fused = FusedWindowScan(self._kmer, self.n_filters, self.rc, self.window, self.stride)
        # float64, rounded to float32 once: a window scores the same bits whatever chunk and batch
        # it falls in (see motifscan.kernels.head)
        self._head = Head(linear, "cpu") if linear is not None and device_type(device) == "cpu" else None
        # a model file's fused CPU window scan needs no torch: the rest is made when first needed
        if not (isinstance(model, ModelFile) and self._fused is not None and self._head is not None
                and hit_fraction is None):
            self._torch()

    def _torch(self) -> None:
        """Make the torch half (the module on the device, its bank and head, the table, the hit
        thresholds), once: at construction, or when a model file's scan first needs it."""
        if self._torch_ready:
            return
        torch = use_torch()
        from ..kernels.conv import DTYPES, strand_bank
        from ..kernels.kmer_conv import KmerTableConv
        from ..model import model_from_file

        model = model_from_file(self.model) if isinstance(self.model, ModelFile) else self.model
        self.device = torch.device(self.device)
        self.model = model.to(self.device).eval()
        bank, head = model.bank(), model.head_params()
        self.dtype = DTYPES[self.precision]
        self.weight, self.bias = bank.weight, bank.bias
        self._bank, self._bank_bias = strand_bank(self.weight, self.bias, self.device, self.dtype, self.rc)
        if self._kmer is not None:
            self._table = KmerTableConv.of(self._kmer)
        if self._head is None:
            self._head = Head(head, self.device)
        self.hit_threshold = None
        if self.hit_fraction is not None:
            best = self.weight.float().amax(dim=1).sum(dim=1) + self.bias.float()
            self.hit_threshold = (self.hit_fraction * best.clamp(min=0)).to(self.device)
            # a filter that cannot activate cannot hit
            self.hit_threshold[best <= 0] = float("inf")
            # per channel of the convolution: forward filters, then their reverse complements
            self._hit_thr = torch.cat([self.hit_threshold] * (2 if self.rc else 1)).to(self.dtype)
        self._torch_ready = True

    def batch_layout(self, *, records: bool = False, hits: bool = False) -> tuple[int | None, int | None]:
        """``(chunk_size, max_bases)`` this scanner is fastest with, ``None`` for the engine's default.

        The fused window scan keeps no activations, so large batches (which amortise the
        per-batch Python work) cost no cache: at least 1 Mbp, and two rows per thread; records
        and filter hits use the table's activations, which want the engine's cache-sized batches.
        """
        if self._fused is None or records or hits:
            return None, None
        return FUSED_CHUNK, max(FUSED_BATCH_BASES, (2 * cpu_threads() + 1) * FUSED_CHUNK)

    # -- convolution -------------------------------------------------------------------------
    def _conv(self, batch: Batch) -> torch.Tensor:
        """``(B, 2F, P)`` (forward filters then reverse) or ``(B, F, P)`` without RC sharing.

        With the table method the tensor is a channels-last view (filters contiguous), which
        :func:`~motifscan.kernels.conv.sliding_max` pools over positions directly.
        """
        self._torch()
        if self._table is not None:
            return self._table(batch.codes).transpose(1, 2)
        from ..kernels.conv import bank_conv

        return bank_conv(batch.codes, self._bank, self._bank_bias)

    def _split(self, conv: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        if not self.rc:
            return conv, None
        n = self.n_filters
        return conv[:, :n], conv[:, n:]

    # -- windows -----------------------------------------------------------------------------
    @no_grad
    def windows(self, batch: Batch, conv=None, fused=None) -> WindowScores:
        """Score every window owned by the batch (rows must start on the stride grid).

        ``conv`` (:meth:`_conv`'s activations) is pooled when given; without it the fused method
        pools straight from the codes (or finishes ``fused``, the batch's started
        :class:`~motifscan.kernels.fused.FusedJob`), the others convolve first.
        """
        L = batch.host_codes.shape[1]
        # a dict of the names and lengths at last pieces, built in C (10^6 scaffolds pass here)
        last = np.asarray(batch.last).tolist()
        finished = dict(zip(compress(batch.names, last), compress(batch.lengths, last)))
        if None in finished.values():
            finished = {n: length for n, length in finished.items() if length is not None}
        if L < self.window:
            return WindowScores(batch.names, np.zeros(0, np.int64), np.zeros(0, np.int64),
                                np.zeros((0, self.n_tasks), np.float32), finished)
        n_count = None
        if conv is None and self._fused is not None:
            pooled, n_count = self._fused.finish(fused) if fused is not None else self._fused(batch.host_codes)  # (B, Q, F)
        else:
            import torch

            from ..kernels.conv import sliding_max

            conv = self._conv(batch) if conv is None else conv
            kernel = self.window - self.width + 1
            if conv.stride(1) == 1:
                # channels-last (table method): pool both strands' rows at once, combine the small result
                fwd, rev = self._split(sliding_max(conv, kernel, self.stride))
                pooled = fwd if rev is None else torch.maximum(fwd, rev)  # (B, F, Q)
            else:
                # strand max first (halves what the pooling reads), then the block-wise window max
                fwd, rev = self._split(conv)
                pooled = sliding_max(fwd, kernel, self.stride, rev)  # (B, F, Q)
            pooled = pooled.transpose(1, 2)  # (B, Q, F)
        R, Q, Fn = pooled.shape
        # which windows to keep: small bookkeeping on the host, so the device runs only a handful
        # of large ops per batch (each op has a fixed cost that small ops would pay). Every piece's
        # candidate windows, flat: piece i has window slots from column cols[i] (a multiple of the
        # stride) for as long as a window fits before its data ends.
        rows, cols = batch.layout()
        if n_count is None:
            n_count = window_n_counts(batch.codes if batch.codes.device.type != "cpu" else batch.host_codes,
                                      np.arange(Q, dtype=np.int64) * self.stride, self.window)
        slots = np.maximum(0, (batch.ends - batch.starts - self.window) // self.stride + 1)
        piece = np.empty(int(slots.sum()), np.int64)
        starts, at = np.empty_like(piece), np.empty_like(piece)
        kept = _kept_windows(
            *(np.ascontiguousarray(a, dtype=np.int64) for a in (slots, batch.starts, batch.begins, batch.own_ends,
                                                                rows, cols)),
            np.ascontiguousarray(n_count, dtype=np.int32).reshape(-1), Q, self.stride, self.window, piece, starts, at)
        fits = kept[1]
        piece, starts, at = piece[: kept[0]], starts[: kept[0]], at[: kept[0]]
        self.stats["skipped_n"] += int(fits - kept[0])
        self.stats["windows"] += len(piece)
        if not len(piece):
            return WindowScores(batch.names, piece, starts, np.zeros((0, self.n_tasks), np.float32), finished)
        probs = self._head(pooled.reshape(R * Q, Fn), None if len(at) == R * Q else at)
        return WindowScores(batch.names, piece, starts, probs, finished)

    # -- records -----------------------------------------------------------------------------
    @no_grad
    def records(self, batch: Batch, conv=None, *, inplace: bool = False) -> list[RecordScore]:
        """Finish the records whose last piece is in this batch (long records span batches).

        ``inplace`` lets the positions a row does not own be overwritten in ``conv`` (pass it
        only when nothing reads ``conv`` afterwards).
        """
        import torch

        conv = self._conv(batch) if conv is None else conv
        B, _, P = conv.shape
        n = self.n_filters
        pos = np.arange(P, dtype=np.int64)[None, :] + batch.starts[:, None]  # host bookkeeping
        valid = ((pos >= batch.begins[:, None]) & (pos < batch.own_ends[:, None])
                 & (pos + self.width <= batch.ends[:, None]))
        # -inf where a row does not own the position: an added penalty (broadcast over the
        # filters) is an order of magnitude faster on CPU than masked_fill in either layout
        penalty = torch.from_numpy(np.where(valid, 0.0, -np.inf).astype(np.float32))
        penalty = penalty.to(device=conv.device, dtype=conv.dtype)[:, None, :]
        x = conv.add_(penalty) if inplace else conv + penalty
        best = x.amax(dim=2).float().cpu().numpy()  # (B, C): both strands in one pass
        fmax, rmax = (best[:, :n], best[:, n:]) if self.rc else (best, np.full_like(best, -np.inf))
        records = np.asarray(batch.records)
        lengths = [int(end) if ln is None else ln for ln, end in zip(batch.lengths, batch.ends)]
        ids, counts = np.unique(records, return_counts=True)
        pending = np.fromiter(self._pending, dtype=np.int64, count=len(self._pending))
        # a record wholly in one row (every read, every short FASTA record) needs the position of
        # its top filter only; rows of longer records keep every filter's position to merge
        whole = np.asarray(batch.last) & ~np.isin(records, ids[counts > 1]) & ~np.isin(records, pending)
        done: list[_FinishedRecord] = []
        w_idx = np.flatnonzero(whole)
        if len(w_idx):
            top, fwd_best = self._top(fmax[w_idx], rmax[w_idx])
            channel = np.where(fwd_best, top, top + n)
            rows_t = torch.from_numpy(w_idx).to(conv.device)
            arg = x[rows_t, torch.from_numpy(channel).to(conv.device)].argmax(dim=1).cpu().numpy()
            bestpos = arg + batch.starts[w_idx]
            for j, i in enumerate(w_idx.tolist()):
                done.append(_FinishedRecord(i, batch.names[i], lengths[i], np.maximum(fmax[i], rmax[i]),
                                            int(bestpos[j]), int(top[j]), bool(fwd_best[j]), batch.payloads[i]))
        m_idx = np.flatnonzero(~whole)
        if len(m_idx):
            _, arg = x[torch.from_numpy(m_idx).to(conv.device)].max(dim=2)  # first occurrence
            arg = arg.cpu().numpy() + batch.starts[m_idx, None]
            for j, i in enumerate(m_idx.tolist()):
                rec = int(records[i])
                fp, rp = (arg[j, :n], arg[j, n:]) if self.rc else (arg[j], arg[j])
                cur = _PartialRecord(fmax[i], fp, rmax[i], rp)
                earlier = self._pending.pop(rec, None)
                if earlier is not None:
                    cur = earlier.merge(cur)
                if not batch.last[i]:
                    self._pending[rec] = cur
                    continue
                top, fwd_best = self._top(cur.fwd_max[None], cur.rev_max[None])
                t, fb = int(top[0]), bool(fwd_best[0])
                done.append(_FinishedRecord(i, batch.names[i], lengths[i], np.maximum(cur.fwd_max, cur.rev_max),
                                            int(cur.fwd_pos[t] if fb else cur.rev_pos[t]), t, fb, batch.payloads[i]))
        done.sort(key=lambda d: d.row)  # batch (input) order
        return self._finish(done)

    def _top(self, f: np.ndarray, r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per row: the filter contributing most to task 0, and whether its best is forward."""
        pooled = np.maximum(np.maximum(f, r), 0)
        contrib = pooled * self._head_w if self._head_w is not None else pooled
        top = np.argmax(contrib, axis=1)
        rows = np.arange(len(top))
        return top, f[rows, top] >= r[rows, top]

    def _finish(self, done: list[_FinishedRecord]) -> list[RecordScore]:
        """RecordScores of finished records: one head call for all scorable ones."""
        out: list[RecordScore] = []
        ok = [d for d in done if d.length >= self.width]
        probs = None
        if ok:
            pooled = np.maximum(np.stack([d.pooled for d in ok]), 0)
            probs = self._head(pooled)
        j = 0
        for d in done:
            if d.length < self.width:
                if d.length > 0:
                    self.stats["too_short"] += 1
                out.append(RecordScore(d.name, int(d.length), None, payload=d.payload))
                continue
            out.append(RecordScore(d.name, int(d.length), probs[j], d.best_position, "+" if d.forward else "-",
                                   d.top_filter, d.payload))
            j += 1
        return out

    # -- hits --------------------------------------------------------------------------------
    @no_grad
    def hits(self, batch: Batch, conv=None) -> list[Hit]:
        """Filter matches owned by this batch, ordered by record, position, filter, strand."""
        if self.hit_fraction is None:
            return []
        conv = self._conv(batch) if conv is None else conv
        n = self.n_filters
        # hits are rare: the maximum of every block of HIT_BLOCK positions (one reduction pass)
        # says which blocks can hold one; only those blocks are compared position by position
        rows, cols, c = _threshold_positions(conv, self._hit_thr, HIT_BLOCK)
        if not len(rows):
            return []
        v = conv[rows, c, cols].float().cpu().numpy()
        r, p, c = rows.cpu().numpy(), cols.cpu().numpy(), c.cpu().numpy()
        f, st = c % n, c // n
        gpos = batch.starts[r] + p
        keep = (gpos >= batch.begins[r]) & (gpos < batch.own_ends[r]) & (gpos + self.width <= batch.ends[r])
        r, f, p, v, st, gpos = r[keep], f[keep], p[keep], v[keep], st[keep], gpos[keep]
        order = np.lexsort((st, f, gpos, r))
        out = []
        for k in order:
            seq = batch.host_codes[r[k], p[k] : p[k] + self.width]
            if st[k]:
                seq = reverse_complement(seq)
            out.append(Hit(batch.names[r[k]], int(gpos[k]), int(gpos[k]) + self.width, self.names[f[k]],
                           float(v[k]), "-" if st[k] else "+", decode(seq)))
        return out

    def process(self, batch: Batch, *, windows: bool, records: bool, hits: bool) -> ScanResult:
        """One convolution, every requested result (windows alone, fused, need no activations)."""
        conv = self._conv(batch) if (records or hits or self._fused is None) else None
        out = ScanResult()
        if windows:
            out.windows = self.windows(batch, conv)
        if hits:
            out.hits = self.hits(batch, conv)
        if records:  # last, so it may mask the positions no row owns in place
            out.records = self.records(batch, conv, inplace=True)
        return out

    def process_all(self, batches: Iterable[Batch], *, windows: bool, records: bool,
                    hits: bool) -> Iterator[tuple[Batch, ScanResult]]:
        """:meth:`process` every batch, in order, one batch ahead of the caller.

        While the caller writes one batch's results, the next batch is scored on a worker thread
        (the fused kernel, the head and torch release the GIL), so writing overlaps with
        computing. One batch is scored at a time, so results and record state stay in order.
        Fused window scans instead queue each batch's kernel four batches ahead on the kernel's
        thread pool and finish batches (head, bookkeeping) in the caller's thread.
        """
        if windows and not (records or hits) and self._fused is not None:
            yield from self._fused_windows(batches)
            return
        with ThreadPoolExecutor(1, thread_name_prefix="motifscan-score") as pool:
            ahead: tuple[Batch, Future] | None = None
            try:
                for batch in batches:
                    job = pool.submit(self.process, batch, windows=windows, records=records, hits=hits)
                    if ahead is not None:
                        yield ahead[0], ahead[1].result()
                    ahead = (batch, job)
                if ahead is not None:
                    yield ahead[0], ahead[1].result()
            finally:
                if ahead is not None:
                    ahead[1].cancel()

    def _fused_windows(self, batches: Iterable[Batch], ahead: int = 4) -> Iterator[tuple[Batch, ScanResult]]:
        """Windows of fused batches: each batch's kernel is queued on the thread pool ``ahead``
        batches before it is finished here (head, bookkeeping) and written by the caller, so the
        pool never waits for this thread. Four, not two: on a busy machine this thread is
        descheduled for tens of ms at a time, and two queued batches (~2 Mbp) ran the pool dry
        (measured at load 3-4 on 200 Mbp: its threads idle 5-6% of the scan with two, 2-3% with
        four; each batch in flight holds ~4 MB)."""
        started: deque = deque()
        for batch in batches:
            started.append((batch, self._fused.start(batch.host_codes)))
            if len(started) > ahead:
                b, job = started.popleft()
                yield b, ScanResult(windows=self.windows(b, fused=job))
        while started:
            b, job = started.popleft()
            yield b, ScanResult(windows=self.windows(b, fused=job))
