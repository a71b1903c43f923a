"""Substitutions as local updates of cached filter activations: the maths of variants and ISM.

The model is one convolution layer, ReLU, a global max over positions and both strands, then a
small head. A substitution at position ``i`` changes only the ``W`` convolution outputs whose
window covers ``i`` (output positions ``i - W + 1 .. i``), and each by a known amount: with
one-hot input, output ``p`` of channel ``c`` changes by ``w[c, b, i - p] - w[c, r, i - p]`` when
base ``r`` becomes ``b`` (``N`` is the all-zero column, so its weight is 0). A channel's pooled
value after the substitution is therefore

    max( max of the cached outputs outside the W touched positions,  max of the W updated outputs )

and only the head has to run again. :class:`MutationScorer` holds the pieces:

* :meth:`~MutationScorer.activations` -- pre-ReLU outputs ``(N, P, C)`` (channels last) of the
  strand bank ``[W, flip(W)]`` (:func:`~motifscan.kernels.conv.strand_bank`), so reverse-strand
  channels are ordinary filters on forward coordinates and the update rule is the same for both;
  the k-mer table (:class:`~motifscan.kernels.kmer_conv.KmerTableConv`) on CPU, ``conv1d`` elsewhere.
  Outputs do not depend on which chunk or window a position was computed in.
* :meth:`~MutationScorer.substitute` -- pooled channels after replacing ``k`` consecutive bases
  of each row (a variant's SNV or MNV): cost ``O((W + k) C)`` per row on top of the cached
  outputs.
* :meth:`~MutationScorer.substitute_codes` -- the same for windows of a stretch given as its
  bases, when the activations are needed for nothing else (variants): on the CPU the maxima come
  straight from the k-mer table, as in the fused window scan, and no activation is stored.
* :meth:`~MutationScorer.ism` -- every substitution at every base of a batch (saturation
  mutagenesis): the outside-maximum of position ``i`` is ``max(prefix max up to i - W, suffix max
  from i + 1)``, and the updated maxima of all ``(i, b)`` come from ``W`` shifted adds, so a whole
  ISM costs about ``4 W`` elementwise operations per position and channel instead of ``3 L``
  forward passes.

Both ReLU and the strand max are monotone, so they commute with the max: pooling the pre-ReLU
outputs and applying ReLU after is exactly ``model.pool``. The head runs in float64 (a copy of the
model's head), so differences of logits are not lost to float32 cancellation; activations are
float32, as in the scans. The difference table ``D[r, b, j, c] = w[c, b, j] - w[c, r, j]`` is
exactly 0 for ``b == r``, so "substituting" the reference base gives the reference pooled
vector bit for bit.
"""

from __future__ import annotations

import copy
import functools
from dataclasses import dataclass

import numba
import numpy as np
import torch

from ..jit import njit
from ..model import MotifCNN
from .conv import bank_conv, strand_bank
from .fused import _range_max, flat_table
from .kmer_conv import KmerTableConv
from .methods import CONV_METHODS
from .methods import conv_method as resolve_conv_method

__all__ = ["MutationScorer", "ISMResult", "CONV_METHODS"]

#: Candidate substitutions updated output by output at once in :meth:`MutationScorer.ism`.
ISM_BLOCK = 1 << 16
#: Rows per block of the compiled substitution's range maxima (:func:`_substitute`).
RANGE_BLOCK = 16


@dataclass
class ISMResult:
    """Saturation mutagenesis of a batch.

    Attributes
    ----------
    ref_logits
        ``(N, T)`` float64 logits of the sequences as given.
    delta
        ``(N, L, 4, T)`` float64: ``logit(sequence with base b at i) - logit(sequence)``; exactly
        0 at the reference base.
    """

    ref_logits: torch.Tensor
    delta: torch.Tensor


class MutationScorer:
    """A model's filter bank and head, set up for scoring substitutions by local updates.

    Parameters
    ----------
    model
        The model (its weights are copied; the model is not changed).
    device
        Where activations are computed.
    conv_method
        ``table`` (k-mer table lookup, CPU only; ``fused``, the window scans' fused table pass,
        is the same here: substitutions need the activations), ``dense`` (``conv1d``), or
        ``auto``: the table on CPU, dense elsewhere. Dense convolutions run with TF32 off, so GPU results match the
        CPU's to float32 rounding.

    Attributes
    ----------
    width, n_filters, channels
        Filter width ``W``, filters ``F``, convolution channels ``C`` (``2F`` with RC sharing).
    tasks
        The model's task names (``T`` of them).
    """

    def __init__(self, model: MotifCNN, device: torch.device | str = "cpu", conv_method: str = "auto") -> None:
        self.device = torch.device(device)
        filters, head = model.bank(), model.head_params()
        self.width = W = filters.width
        self.n_filters = filters.n_filters
        self.rc = filters.rc_sharing
        self.tasks = list(model.config.tasks)
        weight, bias = filters.weight.cpu(), filters.bias.cpu()
        bank, bank_bias = strand_bank(weight, bias, "cpu", torch.float32, self.rc)
        self.channels = C = bank.shape[0]
        use_table = resolve_conv_method("substitutions", self.device, conv_method) == "table"
        self._table = KmerTableConv(bank, bank_bias) if use_table else None
        self._bank = bank.to(self.device)
        self._bank_bias = bank_bias.to(self.device)
        # D[r, b, j, c] = w[c, b, j] - w[c, r, j], with r = 4 (N) weighing nothing
        w5 = torch.zeros(C, 5, W, dtype=torch.float64)
        w5[:, :4] = bank.double()
        diff = w5[:, None, :4, :] - w5[:, :, None, :]  # (C, r, b, W)
        self.diff = diff.permute(1, 2, 3, 0).to(torch.float32).contiguous().to(self.device)  # (5, 4, W, C)
        self.diff_max = self.diff.amax(dim=2).contiguous()  # (5, 4, C): the most a base can add to an output
        self._diff_flat = self.diff.reshape(-1)
        # (r * 4 + b, W, C) with the columns reversed: row m of it is what output pos + m - (W - 1) gains
        self._diff_rows_flipped = self.diff.flip(2).reshape(20, W, C).contiguous()
        # the compiled CPU pass of substitute_windows (torch's ops stay the reference, and the GPU path)
        self._kernel = self.device.type == "cpu"
        self._diff_rows_flipped_np = self._diff_rows_flipped.cpu().numpy()
        # the fused table layout of substitute_codes (the same sums, in the same order, as the table's)
        self._flat = flat_table(self._table) if use_table else None
        # MPS has no float64: the (small) head runs on the CPU there
        self._head_device = torch.device("cpu") if self.device.type == "mps" else self.device
        self._head = copy.deepcopy(head.module).to(self._head_device).double().eval()

    # -- building blocks ---------------------------------------------------------------------
    @torch.no_grad()
    def activations(self, codes: torch.Tensor) -> torch.Tensor:
        """Pre-ReLU outputs ``(N, L - W + 1, C)`` (float32, channels last) of uint8 codes ``(N, L)``."""
        codes = codes.to(self.device)
        if self._table is not None:
            return self._table(codes)
        with torch.backends.cudnn.flags(enabled=True, allow_tf32=False):
            return bank_conv(codes, self._bank, self._bank_bias).transpose(1, 2)

    def combine(self, channels: torch.Tensor) -> torch.Tensor:
        """Per-filter pooled values ``(..., F)`` from per-channel maxima ``(..., C)``: strand max, ReLU."""
        if self.rc:
            channels = torch.maximum(channels[..., : self.n_filters], channels[..., self.n_filters :])
        return torch.relu(channels)

    @torch.no_grad()
    def logits(self, pooled: torch.Tensor) -> torch.Tensor:
        """float64 logits ``(..., T)`` from per-filter pooled values ``(..., F)``."""
        return self._head(pooled.to(self._head_device, torch.float64)).to(pooled.device)

    @staticmethod
    def pool(act: torch.Tensor) -> torch.Tensor:
        """Per-channel maxima ``(N, C)`` of activations ``(N, P, C)``."""
        return act.amax(dim=1)

    # -- a block substitution per row --------------------------------------------------------
    @torch.no_grad()
    def substitute(self, act: torch.Tensor, pos: torch.Tensor, ref: torch.Tensor, alt: torch.Tensor) -> torch.Tensor:
        """Per-channel pooled maxima after replacing bases ``pos .. pos + k - 1`` of each row.

        Parameters
        ----------
        act
            ``(V, P, C)`` cached activations of each row's sequence (``P = L - W + 1``).
        pos
            ``(V,)`` int64: first replaced base (0-based, in the sequence of length ``L``).
        ref, alt
            ``(V, k)`` uint8 codes of the bases before and after (N = 4 allowed in ``ref``;
            ``alt`` holds A, C, G or T).

        Returns
        -------
        torch.Tensor
            ``(V, C)`` maxima over positions (untouched positions: over both strands), before the strand
            max and ReLU (see :meth:`combine`).
        """
        V, P, C = act.shape
        starts = torch.arange(V, device=act.device) * P
        return self.substitute_windows(act.reshape(V * P, C), starts, P, pos, ref, alt)[1]

    @torch.no_grad()
    def substitute_windows(self, act: torch.Tensor, starts: torch.Tensor, P: int, pos: torch.Tensor,
                           ref: torch.Tensor, alt: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Reference and substituted per-channel maxima of windows of one stretch of activations.

        Parameters
        ----------
        act
            ``(T, C)`` activations of a stretch of sequence (several windows may share it).
        starts
            ``(V,)`` first activation row of each window; the window's rows are ``starts .. starts + P - 1``.
        P
            Activation rows per window (``L - W + 1``).
        pos, ref, alt
            As in :meth:`substitute`, ``pos`` relative to the window's first base; ``alt`` may
            also be ``(V, A, k)``: ``A`` alternatives of each window's block (the three other
            bases of an SNV, say), which share the window's untouched maxima and reference.

        Returns
        -------
        ref_max, alt_max
            ``(V, C)`` and ``(V, C)`` (``(V, A, C)`` with ``A`` alternatives); the untouched maxima
            are taken over both strands of a filter (its two channels), which :meth:`combine` makes no difference to. The untouched part of each window (rows ``starts .. starts + pos - W``
            and ``starts + pos + k .. starts + P - 1``) is reduced by range-maximum queries on a
            sparse table, so no window is copied: the cost per window is ``O((W + k) C)``.
        """
        T, C = act.shape
        W = self.width
        k = ref.shape[1]
        dev = act.device
        starts, pos = starts.to(dev, torch.int64), pos.to(dev, torch.int64)
        ref_l, alt_l = ref.to(dev).long().clamp(max=4), alt.to(dev).long()
        if (alt_l > 3).any():
            raise ValueError("alternative bases must be A, C, G or T")
        if alt_l.dim() == 3:
            A = alt_l.shape[1]
            if dev.type == "cpu" and act.dtype == torch.float32 and self._kernel:
                return self._substitute_kernel(act, starts, P, pos, ref_l, alt_l)
            r, a = self.substitute_windows(act, starts.repeat_interleave(A), P, pos.repeat_interleave(A),
                                           ref.repeat_interleave(A, 0), alt.reshape(-1, k))
            return r[::A], a.view(-1, A, C)
        if dev.type == "cpu" and act.dtype == torch.float32 and self._kernel:
            r, a = self._substitute_kernel(act, starts, P, pos, ref_l, alt_l[:, None])
            return r, a[:, 0]
        span = W + k - 1
        p = pos[:, None] - (W - 1) + torch.arange(span, device=dev)[None, :]  # touched rows, window coordinates
        inside = (p >= 0) & (p < P)
        left = (torch.zeros_like(pos), pos - W)             # rows 0 .. pos - W
        right = (pos + k, torch.full_like(pos, P - 1))       # rows pos + k .. P - 1
        whole = (torch.zeros_like(pos), torch.full_like(pos, P - 1))
        # the untouched maxima are only ever max-ed over both strands: reduce the strand max (half the rows' width)
        F_ = self.n_filters
        merged = torch.maximum(act[:, :F_], act[:, F_:]) if self.rc else act
        table = RangeMax(merged, [whole, left, right])
        outside = torch.maximum(table.query(starts + left[0], starts + left[1]),
                                table.query(starts + right[0], starts + right[1]))
        ref_max = table.query(starts + whole[0], starts + whole[1])
        if self.rc:  # per channel again: both strands' channels see the two-strand maximum (same pooled filter)
            outside, ref_max = torch.cat([outside, outside], 1), torch.cat([ref_max, ref_max], 1)
        rows = (starts[:, None] + p.clamp(0, P - 1)).reshape(-1)
        touched = act.index_select(0, rows).view(-1, span, C)
        if not bool(inside.all()):  # windows cut by the sequence's ends (else every touched row is real)
            touched = torch.where(inside[..., None], touched, torch.tensor(float("-inf"), device=dev))
        for m in range(k):  # base pos + m is column j = pos + m - p of output p: p = pos + m - j
            touched[:, m : m + W] += self._diff_rows_flipped.index_select(0, ref_l[:, m] * 4 + alt_l[:, m])
        local = touched.amax(dim=1)
        return ref_max, torch.maximum(local, outside)

    def _substitute_kernel(self, act, starts, P, pos, ref_l, alt_l) -> tuple[torch.Tensor, torch.Tensor]:
        """:meth:`substitute_windows` on the CPU in one compiled pass (same sums, same order: same bits).

        ``alt_l`` is ``(V, A, k)``; returns ``(V, C)`` and ``(V, A, C)``.
        """
        V, A, C = len(starts), alt_l.shape[1], act.shape[1]
        ref_out = np.empty((V, C), dtype=np.float32)
        alt_out = np.empty((V, A, C), dtype=np.float32)
        if V:
            _substitute_jit(np.ascontiguousarray(act.numpy()), starts.numpy(), pos.numpy(),
                            np.ascontiguousarray((ref_l[:, None, :] * 4 + alt_l).numpy()), self._diff_rows_flipped_np,
                            P, self.n_filters if self.rc else C, ref_out, alt_out)
        return torch.from_numpy(ref_out), torch.from_numpy(alt_out)

    @torch.no_grad()
    def substitute_codes(self, codes: np.ndarray, starts: np.ndarray, P: int, pos: np.ndarray, k: np.ndarray,
                         ref: np.ndarray, alt: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """Reference and substituted per-channel maxima of windows of a stretch given as its bases.

        :meth:`substitute_windows` on ``activations(codes)``, with blocks of any lengths at once.

        Parameters
        ----------
        codes
            ``(n,)`` uint8 codes of a stretch of sequence (several windows may share it).
        starts
            ``(V,)`` int64 first base of each window; its activation rows are ``starts ..
            starts + P - 1`` (``P = L - W + 1`` for windows of ``L`` bases).
        pos, k
            ``(V,)`` int64: first replaced base of each window's block (relative to the window)
            and the block's length.
        ref, alt
            ``(V, max k)`` and ``(V, A, max k)`` uint8 codes before and after (``A`` alternatives
            of each block, sharing its window's untouched maxima and reference); columns past a
            window's ``k`` are not read.

        Returns
        -------
        ref_max, alt_max
            ``(V, C)`` and ``(V, A, C)``, bit for bit those of :meth:`substitute_windows`. On the
            CPU with the k-mer table no activation is stored: two-strand maxima of aligned blocks
            of :data:`RANGE_BLOCK` rows are taken straight from the table (the fused scan's range
            maxima), the rows at a range's ends and the touched rows likewise, so a stretch costs
            one fused pass instead of writing and reading back ``n x C`` activations.
        """
        codes = np.ascontiguousarray(codes, dtype=np.uint8)
        starts = np.ascontiguousarray(starts, dtype=np.int64)
        pos = np.ascontiguousarray(pos, dtype=np.int64)
        k = np.ascontiguousarray(k, dtype=np.int64)
        ref_l = np.minimum(np.asarray(ref, dtype=np.int64), 4)
        alt_l = np.asarray(alt, dtype=np.int64)
        V, A, C = len(starts), alt_l.shape[1], self.channels
        inside = np.arange(alt_l.shape[2])[None, None, :] < k[:, None, None]  # columns past a block's k: padding
        if ((alt_l > 3) & inside).any():
            raise ValueError("alternative bases must be A, C, G or T")
        if self._flat is None or self.device.type != "cpu":
            act = self.activations(torch.from_numpy(codes)[None])[0]
            ref_max = torch.empty((V, C), device=act.device)
            alt_max = torch.empty((V, A, C), device=act.device)
            for kk in np.unique(k).tolist():  # blocks of each length together
                sel = np.flatnonzero(k == kk)
                r, a = self.substitute_windows(act, torch.from_numpy(starts[sel]), P, torch.from_numpy(pos[sel]),
                                               torch.from_numpy(ref_l[sel, :kk]), torch.from_numpy(alt_l[sel, :, :kk]))
                tsel = torch.from_numpy(sel).to(act.device)
                ref_max[tsel], alt_max[tsel] = r, a
            return ref_max, alt_max
        ref_out = np.empty((V, C), dtype=np.float32)
        alt_out = np.empty((V, A, C), dtype=np.float32)
        if V:
            flat, width = self._flat
            t = self._table
            _from_table_kernel(t.groups)(codes, starts, pos, k, np.ascontiguousarray(ref_l[:, None, :] * 4 + alt_l),
                                         flat, width, t.k, self._diff_rows_flipped_np, P,
                                         self.n_filters if self.rc else C, ref_out, alt_out)
        return torch.from_numpy(ref_out), torch.from_numpy(alt_out)

    # -- every substitution at every base ----------------------------------------------------
    @torch.no_grad()
    def ism(self, codes: torch.Tensor) -> ISMResult:
        """Saturation mutagenesis of uint8 codes ``(N, L)`` (``L >= W``): all 4 bases at every position.

        Memory: ``N * L * 4 * C`` float32 for the updated maxima; callers batch ``N``.
        """
        codes = codes.to(self.device)
        N, L = codes.shape
        W = self.width
        if L < W:
            raise ValueError(f"sequences of {L} bp are shorter than the filter width {W}")
        act = self.activations(codes)  # (N, P, C)
        P = act.shape[1]
        C = self.channels
        dev = act.device
        neg = float("-inf")
        padded = torch.full((N, L + W - 1, C), neg, device=dev, dtype=act.dtype)
        padded[:, W - 1 : W - 1 + P] = act
        ref = codes.long().clamp(max=4)
        # the untouched outputs of base i: p <= i - W and p >= i + 1
        outside = torch.full((N, L, C), neg, device=dev, dtype=act.dtype)
        outside[:, W:] = _cummax(act)[:, : L - W]
        outside[:, : P - 1] = torch.maximum(outside[:, : P - 1], _cummax(act.flip(1)).flip(1)[:, 1:])
        # Each filter's pooled value after substituting b at i is relu(max(untouched maxima of both
        # strands, updated outputs)). An updated output A[p] + D[r, b, j] is at most (max of the
        # touched A) + max_j D[r, b, j] (float rounding is monotone, so this holds for the computed
        # sums too): where that bound does not exceed relu(max of the untouched maxima of both
        # strands), the update cannot change the filter's value. Only the other (i, b, channel)
        # -- near a channel's maximum, or where a base could beat it: a few percent in real
        # sequences -- are updated output by output; the result is exactly the full update's.
        base = self.combine(outside)  # (N, L, F)
        slack = (torch.cat([base, base], dim=-1) if self.rc else base) - \
            torch.nn.functional.max_pool1d(padded.transpose(1, 2), W, 1).transpose(1, 2)  # (N, L, C)
        cand = (self.diff_max[ref] > slack[:, :, None, :]).nonzero()  # (K, 4): n, i, b, c
        del slack
        F_ = self.n_filters
        new = base[:, :, None, :].expand(N, L, 4, F_).contiguous()
        flat_pad, flat_new = padded.reshape(-1), new.view(-1)
        # flat offsets: output p = i - j is padded row i + W - 1 - j; D[r, b, j, c] is ((r*4 + b)*W + j)*C + c
        step = torch.arange(W, device=dev) * C
        for a in range(0, len(cand), ISM_BLOCK):
            n, i, b, c = cand[a : a + ISM_BLOCK].unbind(1)
            r = ref[n, i]
            at_pad = (n * (L + W - 1) + i + W - 1) * C + c
            at_diff = (r * 4 + b) * (W * C) + c
            vals = flat_pad.take(at_pad[:, None] - step) + self._diff_flat.take(at_diff[:, None] + step)
            local = torch.relu(vals.amax(dim=1))
            flat_new.scatter_reduce_(0, ((n * L + i) * 4 + b) * F_ + c % F_, local, "amax")
        ref_logits = self.logits(self.combine(act.amax(dim=1)))
        delta = self.logits(new) - ref_logits[:, None, None, :]
        is_ref = torch.nn.functional.one_hot(ref, 5)[..., :4].bool()  # (N, L, 4); N rows: none
        delta[is_ref] = 0.0
        return ISMResult(ref_logits, delta)


def _substitute(act, starts, pos, sub, diff, P, F, ref_out, alt_out):
    """Compiled :meth:`MutationScorer.substitute_windows` for float32 activations ``act`` ``(T, C)``.

    ``sub[v, a, m] = ref * 4 + alt`` of base ``m`` of alternative ``a`` of window ``v``'s block;
    ``diff`` ``(20, W, C)`` is ``_diff_rows_flipped``; ``F`` the channels whose max over both
    strands is pooled (``C // 2`` with RC sharing, else ``C``). Window ``v`` has rows ``starts[v]
    .. starts[v] + P - 1``, its block starts at base ``pos[v]``; ``ref_out`` is ``(V, C)``,
    ``alt_out`` ``(V, A, C)``. The untouched rows' two-strand maxima come from maxima of aligned
    blocks of :data:`RANGE_BLOCK` rows (one pass over the stretch) and the rows at the ranges'
    ends, branch-free so the channel loops vectorise: cheaper than the sparse table's full passes
    over the stretch; they and the reference are computed once per window, whatever ``A``. Each
    updated output is ``act + d_0 + d_1 + ...`` in float32, in the order of the torch version, so
    both give the same bits; maxima are exact in any order.
    """
    V = starts.shape[0]
    C = act.shape[1]
    k = sub.shape[2]
    W = diff.shape[1]
    other = F if F != C else 0  # the other strand's channel (itself without RC sharing)
    neg = np.float32(-np.inf)
    outside = np.empty(F, dtype=np.float32)
    whole = np.empty(F, dtype=np.float32)
    local = np.empty(C, dtype=np.float32)
    row = np.empty(C, dtype=np.float32)
    B = RANGE_BLOCK
    T = act.shape[0]
    blocks = np.full((T // B, F), neg, dtype=np.float32)  # two-strand maxima of rows b B .. b B + B - 1
    for r in range(T // B * B):
        b = r // B
        for c in range(F):
            x, y = act[r, c], act[r, c + other]
            x = x if x > y else y
            o = blocks[b, c]
            blocks[b, c] = x if x > o else o
    for v in range(V):
        s = starts[v]
        q = pos[v]
        outside[:] = neg
        # rows 0 .. q - W and q + k .. P - 1 of the window
        for lo, hi in ((s, s + min(max(q - W + 1, 0), P)), (s + min(q + k, P), s + P)):
            a0, e0, a1, e1 = _whole_blocks(blocks, lo, hi, B, outside)
            for a, e in ((a0, e0), (a1, e1)):
                for r in range(a, e):
                    for c in range(F):
                        x, y = act[r, c], act[r, c + other]
                        x = x if x > y else y
                        o = outside[c]
                        outside[c] = x if x > o else o
        whole[:] = outside
        lo_j, hi_j = max(W - 1 - q, 0), min(W + k - 1, P + W - 1 - q)  # touched rows inside the window
        for j in range(lo_j, hi_j):  # touched rows p = q - (W - 1) + j
            r = s + q - (W - 1) + j
            for c in range(F):
                x, y = act[r, c], act[r, c + other]
                x = x if x > y else y
                o = whole[c]
                whole[c] = x if x > o else o
        for c in range(C):
            ref_out[v, c] = whole[c % F]
        _alternatives(act, s + q - (W - 1), lo_j, hi_j, sub[v], k, diff, outside, F, local, row, alt_out[v])


_substitute_jit = njit(_substitute)


@numba.njit(nogil=True, inline="always")
def _whole_blocks(blocks, lo, hi, B, outside):
    """Max the blocks of ``B`` rows lying wholly inside rows ``[lo, hi)`` (their two-strand maxima,
    ``blocks`` ``(T // B, F)``) into ``outside`` ``(F,)``; return the rows left at either end,
    ``(a0, e0, a1, e1)``: ``[a0, e0)`` and ``[a1, e1)`` (all of ``[lo, hi)`` when no block fits)."""
    b0, b1 = -(-lo // B), hi // B
    if b0 >= b1:
        return lo, hi, hi, hi
    for b in range(b0, b1):
        for c in range(outside.shape[0]):
            x, o = blocks[b, c], outside[c]
            outside[c] = x if x > o else o
    return lo, b0 * B, b1 * B, hi


@numba.njit(nogil=True, inline="always")
def _alternatives(src, off, lo_j, hi_j, sub_v, k, diff, outside, F, local, row, out_v):
    """Each alternative's per-channel maxima ``out_v`` ``(A, C)``: the touched outputs ``j`` in
    ``[lo_j, hi_j)`` (rows ``off + j`` of ``src``) updated by its bases ``sub_v[a, :k]``, one base
    after the other (``act + d_0 + d_1 + ...`` in float32), max-ed with the untouched ``outside``
    ``(F,)``. ``local`` and ``row`` are ``(C,)`` scratch."""
    W = diff.shape[1]
    C = out_v.shape[1]
    neg = np.float32(-np.inf)
    for al in range(sub_v.shape[0]):
        local[:] = neg
        for j in range(lo_j, hi_j):
            r = off + j
            for c in range(C):
                row[c] = src[r, c]
            for m in range(k):
                if m <= j < m + W:
                    d = sub_v[al, m]
                    for c in range(C):
                        row[c] += diff[d, j - m, c]
            for c in range(C):
                x, o = row[c], local[c]
                local[c] = x if x > o else o
        for c in range(C):
            o, x = outside[c % F], local[c]
            out_v[al, c] = x if x > o else o


@numba.njit(nogil=True, inline="always")
def _from_table(codes, starts, pos, kw, sub, table, width, k, groups, diff, P, F, ref_out, alt_out):
    """Compiled :meth:`MutationScorer.substitute_codes`: :func:`_substitute` with activations from the table.

    ``table`` is the flat k-mer table (:func:`~motifscan.kernels.fused.flat_table`), rows of
    ``width`` channels; the activations of output ``p`` are ``0 + table[row_0] + ... +
    table[row_{groups-1}]`` in float32 (the table method's sums, in its order), so every maximum
    below is that of the activations. Blocks of RANGE_BLOCK rows are reduced in one pass (the
    fused scan's range maxima), the rows at the ends of a window's untouched ranges and its
    touched rows as ranges of their own; the touched rows are then updated as
    :func:`_substitute` updates them, in its order. Window ``v``'s block has ``kw[v]`` bases.
    """
    n = codes.shape[0]
    V = starts.shape[0]
    C = ref_out.shape[1]
    W = diff.shape[1]
    T = n - W + 1  # activation rows of the stretch
    rows5 = 5**k
    other = F if F != C else 0
    neg = np.float32(-np.inf)
    nkm = max(T, 0) + (groups - 1) * k
    clamped = np.full(max(n, nkm + k), 4, np.int32)  # bases past the stretch read as N (weight 0)
    km = np.empty(nkm, np.int32)
    for j in range(n):
        clamped[j] = min(codes[j], 4)
    for p in range(nkm):
        km[p] = clamped[p]
    for i in range(1, k):
        for p in range(nkm):
            km[p] = km[p] * 5 + clamped[p + i]
    head = np.empty(width, np.float32)
    part = np.empty(width, np.float32)
    B = RANGE_BLOCK
    nb = max(T, 0) // B
    blocks = np.empty((nb, F), dtype=np.float32)  # two-strand maxima of rows b B .. b B + B - 1
    for b in range(nb):
        _range_max(table, width, km, b * B, (b + 1) * B, (b + 1) * B, groups, k, rows5, head, part)
        for c in range(F):
            x, y = part[c], part[c + other]
            blocks[b, c] = x if x > y else y
    kmax = sub.shape[2]
    outside = np.empty(F, dtype=np.float32)
    whole = np.empty(F, dtype=np.float32)
    touched = np.empty((W + kmax - 1, width), dtype=np.float32)
    top = np.empty(C, dtype=np.float32)
    local = np.empty(C, dtype=np.float32)
    row = np.empty(C, dtype=np.float32)
    for v in range(V):
        s = starts[v]
        q = pos[v]
        kk = kw[v]
        outside[:] = neg
        # rows 0 .. q - W and q + k .. P - 1 of the window: whole blocks, then the rows at either end
        for lo, hi in ((s, s + min(max(q - W + 1, 0), P)), (s + min(max(q + kk, 0), P), s + P)):
            if hi <= lo:
                continue
            a0, e0, a1, e1 = _whole_blocks(blocks, lo, hi, B, outside)
            for e0, e1 in ((a0, e0), (a1, e1)):
                if e1 > e0:
                    _range_max(table, width, km, e0, e1, e1, groups, k, rows5, head, part)
                    for c in range(F):
                        x, y = part[c], part[c + other]
                        x = x if x > y else y
                        o = outside[c]
                        outside[c] = x if x > o else o
        whole[:] = outside
        top[:] = neg
        lo_j, hi_j = max(W - 1 - q, 0), min(W + kk - 1, P + W - 1 - q)  # touched rows inside the window
        for j in range(lo_j, hi_j):  # touched output p = q - (W - 1) + j
            p = s + q - (W - 1) + j
            _range_max(table, width, km, p, p + 1, p + 1, groups, k, rows5, head, touched[j])
            for c in range(C):
                x, o = touched[j, c], top[c]
                top[c] = x if x > o else o
        for c in range(F):
            x, y = top[c], top[c + other]
            x = x if x > y else y
            o = whole[c]
            whole[c] = x if x > o else o
        for c in range(C):
            ref_out[v, c] = whole[c % F]
        _alternatives(touched, 0, lo_j, hi_j, sub[v], kk, diff, outside, F, local, row, alt_out[v])


@functools.lru_cache(maxsize=None)
def _from_table_kernel(groups: int):
    """:func:`_from_table` compiled for ``groups`` table rows per output, a compile-time constant (as
    the fused scan's kernel: :func:`_range_max` unrolls its sum over them)."""

    def from_table(codes, starts, pos, kw, sub, table, width, k, diff, P, F, ref_out, alt_out):
        _from_table(codes, starts, pos, kw, sub, table, width, k, groups, diff, P, F, ref_out, alt_out)

    return njit(from_table)


class RangeMax:
    """Maxima of row ranges ``[lo, hi]`` of a ``(T, C)`` tensor, many at once (a sparse table).

    Level ``e`` holds the maxima of ``2**e`` consecutive rows; a range of length ``n`` is the max
    of two (overlapping) level-``floor(log2 n)`` entries. Only the levels the given ranges need
    are kept (built by doubling), so memory is a few copies of ``x``. Empty ranges give -inf.
    """

    def __init__(self, x: torch.Tensor, ranges: list[tuple[torch.Tensor, torch.Tensor]]) -> None:
        lengths = torch.cat([(hi - lo + 1).reshape(-1) for lo, hi in ranges])
        lengths = lengths[lengths > 0]
        need = sorted({int(v) for v in torch.unique(torch.floor(torch.log2(lengths.double())).long())}) if len(lengths) else []
        self.levels: dict[int, torch.Tensor] = {}
        cur, e = x, 0
        for target in need:
            while e < target:
                half = 1 << e
                if half >= cur.shape[0]:  # no range this long fits: the level is never read
                    break
                nxt = torch.empty_like(cur)
                torch.maximum(cur[:-half], cur[half:], out=nxt[:-half])
                nxt[-half:] = cur[-half:]
                cur, e = nxt, e + 1
            self.levels[target] = cur
        self.neg = torch.tensor(float("-inf"), device=x.device, dtype=x.dtype)

    def query(self, lo: torch.Tensor, hi: torch.Tensor) -> torch.Tensor:
        """``(V, C)`` maxima of rows ``lo .. hi`` (inclusive) per query; -inf where ``hi < lo``."""
        n = hi - lo + 1
        out = torch.full((len(lo), next(iter(self.levels.values())).shape[1]) if self.levels else (len(lo), 0),
                         float("-inf"), device=lo.device, dtype=self.neg.dtype)
        e = torch.floor(torch.log2(n.clamp(min=1).double())).long()
        for level, tab in self.levels.items():
            sel = ((e == level) & (n > 0)).nonzero().squeeze(1)
            if len(sel):
                a, b = lo[sel], hi[sel] - (1 << level) + 1
                out[sel] = torch.maximum(tab.index_select(0, a), tab.index_select(0, b))
        return out


def _cummax(x: torch.Tensor) -> torch.Tensor:
    """Running maximum along dim 1 by log2(P) shifted maxima (torch.cummax is slow on CPU here)."""
    y = x.clone()
    k = 1
    while k < y.shape[1]:
        y[:, k:] = torch.maximum(y[:, k:], y[:, :-k])
        k *= 2
    return y


def naive_ism(model: MotifCNN, codes: np.ndarray, dtype: torch.dtype = torch.float64) -> np.ndarray:
    """Reference ISM by full forward passes (``3 L`` per sequence, or ``4 L`` at N): ``(N, L, 4, T)``.

    For tests and benchmarks only.
    """
    from ..codes import one_hot_torch

    net = copy.deepcopy(model).to(dtype).eval().cpu()
    codes = np.asarray(codes, dtype=np.uint8)
    N, L = codes.shape
    out = np.zeros((N, L, 4, len(model.config.tasks)))
    with torch.no_grad():
        for n in range(N):
            ref = net(one_hot_torch(torch.from_numpy(codes[n : n + 1]), dtype=dtype))[0]
            muts = np.repeat(codes[n][None], L * 4, axis=0)
            muts[np.arange(L * 4), np.repeat(np.arange(L), 4)] = np.tile(np.arange(4), L)
            logit = net(one_hot_torch(torch.from_numpy(muts), dtype=dtype))
            out[n] = (logit - ref).reshape(L, 4, -1).numpy()
    return out
