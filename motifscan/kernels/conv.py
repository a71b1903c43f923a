"""Convolution maths of the scans: both strands from one convolution, and window max pooling.

* :func:`strand_bank` + :func:`bank_conv` (or :func:`strand_conv`): every position scored on both
  strands by ONE convolution with the bank ``[W, flip(W)]`` -- flipping a one-hot window on both
  axes is its reverse complement, so the data needs no flip.
* :func:`sliding_max`: window maxima of filter activations (exactly ``max_pool1d``), several
  times faster on CPU; pools either layout (channels-first from ``conv1d``, channels-last from
  the k-mer table convolution of :mod:`motifscan.kernels.kmer_conv`).
"""

from __future__ import annotations


import torch
import torch.nn.functional as F

from ..codes import one_hot_torch


__all__ = ["DTYPES", "strand_conv", "strand_bank", "bank_conv", "sliding_max"]

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


def strand_conv(
    codes: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None = None,
    dtype: torch.dtype = torch.float32,
    both_strands: bool = True,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Score every position on both strands with ONE convolution.

    Parameters
    ----------
    codes
        uint8 codes ``(B, L)`` on the device (N = 4 is an all-zero column).
    weight, bias
        Filter bank ``(F, 4, W)`` (channels ``A, C, G, T``) and ``(F,)``.
    dtype
        Compute precision (``float32``, or ``bfloat16``/``float16`` on GPUs).
    both_strands
        Also score the reverse complement.

    Returns
    -------
    fwd, rev
        Pre-activation scores ``(B, F, L - W + 1)``; ``rev[..., p]`` is the filter applied to the
        reverse complement of ``x[p:p+W]`` (``None`` when ``both_strands`` is False). The bank
        ``[W, W.flip(1, 2)]`` does this because flipping a one-hot window on both axes is its
        reverse complement, so ``rev`` needs no flip of the data. Both are views of one
        ``(B, 2F, P)`` tensor (:func:`strand_bank` + :func:`bank_conv`).
    """
    out = bank_conv(codes, *strand_bank(weight, bias, codes.device, dtype, both_strands))
    if not both_strands:
        return out, None
    n = weight.shape[0]
    return out[:, :n], out[:, n:]


def strand_bank(
    weight: torch.Tensor,
    bias: torch.Tensor | None,
    device: torch.device | str,
    dtype: torch.dtype = torch.float32,
    both_strands: bool = True,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The bank ``[W, W.flip(1, 2)]`` (and bias ``[b, b]``) on ``device`` in ``dtype``; build it once
    per scan and pass it to :func:`bank_conv` for every batch."""
    w = weight.detach().to(device=device, dtype=dtype)
    b = None if bias is None else bias.detach().to(device=device, dtype=dtype)
    if not both_strands:
        return w.contiguous(), b
    return torch.cat([w, w.flip((1, 2))], dim=0).contiguous(), (None if b is None else torch.cat([b, b]))


def bank_conv(codes: torch.Tensor, bank: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """One-hot ``codes`` ``(B, L)`` on their device and convolve with ``bank`` -> ``(B, F', P)``.

    An fp32 bank is convolved in true fp32: cuDNN may otherwise use TF32 on Ampere and newer GPUs
    (10-bit mantissas), and the scan promises fp32 scores equal to the CPU's to float rounding.
    """
    cudnn = torch.backends.cudnn
    with cudnn.flags(enabled=cudnn.enabled, benchmark=cudnn.benchmark, deterministic=cudnn.deterministic,
                     allow_tf32=bank.dtype != torch.float32):
        return F.conv1d(one_hot_torch(codes, dtype=bank.dtype), bank, bias)


def sliding_max(x: torch.Tensor, kernel: int, stride: int, other: torch.Tensor | None = None) -> torch.Tensor:
    """``F.max_pool1d(max(x, other), kernel, stride)``, exactly, several times faster on CPU.

    ``x`` may be a channels-last view (``x.stride(1) == 1``, as the table convolution leaves it):
    then the blocks are reduced over positions, whole rows of channels at a time.

    torch's CPU max-pool visits each output's ``kernel`` inputs one by one; here each window is
    the max of ``kernel // stride`` whole blocks of ``stride`` positions plus the head of the next
    block, and block maxima are contiguous reductions. ``x`` (and ``other``, e.g. the reverse
    strand's activations, max-ed in elementwise first) are ``(B, C, P)``; the elementwise max is
    written straight into the contiguous block buffer, so no extra copy is made.
    """
    full, rem = divmod(kernel, stride)
    B, C, P = x.shape
    Q = (P - kernel) // stride + 1
    if full == 0 or Q <= 0:
        return F.max_pool1d(x if other is None else torch.maximum(x, other), kernel, stride)
    if x.stride(1) == 1 and C > 1:  # channels-last (KmerTableConv): reduce over positions
        out = _window_max_positions(x.transpose(1, 2), kernel, stride, Q)
        if other is not None:
            out = torch.maximum(out, _window_max_positions(other.transpose(1, 2), kernel, stride, Q))
        return out.transpose(1, 2)
    nb = Q + full - (0 if rem else 1)
    need = nb * stride
    if need <= P:
        buf = torch.empty((B, C, need), dtype=x.dtype, device=x.device)
        if other is None:
            buf.copy_(x[..., :need])
        else:
            torch.maximum(x[..., :need], other[..., :need], out=buf)
    else:  # the last block runs past the end: pad with -inf
        buf = torch.full((B, C, need), float("-inf"), dtype=x.dtype, device=x.device)
        buf[..., :P] = x if other is None else torch.maximum(x, other)
    blocks = buf.view(B, C, nb, stride)
    block_max = blocks.amax(-1)
    out = block_max[..., :Q]
    for j in range(1, full):
        out = torch.maximum(out, block_max[..., j : j + Q])
    if rem:
        out = torch.maximum(out, blocks[..., full : full + Q, :rem].amax(-1))
    return out


def _window_max_positions(x: torch.Tensor, kernel: int, stride: int, Q: int) -> torch.Tensor:
    """Window maxima ``(B, Q, C)`` of ``x`` ``(B, P, C)`` whose channels are contiguous.

    Every block of ``stride`` positions is split into its head (the first ``kernel % stride``,
    which the last block of a window contributes) and its tail; each is a max over whole rows of
    ``C`` channels (vectorised), and every position is read once.
    """
    full, rem = divmod(kernel, stride)
    B, P, C = x.shape
    sb, sp, sc = x.stride()
    n_blocks = Q + full - 1  # blocks every window covers whole: q .. q + full - 1
    if rem:
        heads = x.as_strided((B, n_blocks + 1, rem, C), (sb, stride * sp, sp, sc), x.storage_offset()).amax(2)
        tails = x.as_strided(
            (B, n_blocks, stride - rem, C), (sb, stride * sp, sp, sc), x.storage_offset() + rem * sp
        ).amax(2)
        block_max = torch.maximum(heads[:, :n_blocks], tails)
    else:
        block_max = x.as_strided((B, n_blocks, stride, C), (sb, stride * sp, sp, sc), x.storage_offset()).amax(2)
    out = block_max[:, :Q]
    for j in range(1, full):
        out = torch.maximum(out, block_max[:, j : j + Q])
    if rem:
        out = torch.maximum(out, heads[:, full : full + Q])
    return out
