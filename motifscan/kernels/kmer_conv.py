"""Convolution of DNA codes with a fixed filter bank by k-mer table lookup (the CPU fast path).

A filter's score at position ``p`` is a sum over its ``W`` columns of one weight per base, because
the input is one-hot. Group the columns ``k`` at a time: the ``k`` bases at ``p + jk .. p + jk + k - 1``
form one k-mer (base 5: A, C, G, T and N, which scores 0 as in the one-hot), and its summed weights
for every filter are one row of a precomputed table. A position's scores are then the sum of
``ceil(W / k)`` table rows -- ``F.embedding_bag(mode="sum")``, a fused gather-and-add -- instead of
``4 W`` multiply-adds per filter. On CPU this is several times faster than ``conv1d`` (see
``benchmarks/scan_bench.py``); on GPUs cuDNN's convolution is used instead.

The output is **channels-last**, ``(B, P, C)``: the window max-pooling reduces over positions,
which is then a vectorised maximum of whole rows of ``C`` filters.

Each position's sum runs over the same table rows in the same order whatever the batch or chunk it
is in, so results do not depend on chunking; they differ from ``conv1d`` only by float rounding
(the sums are grouped differently).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch

__all__ = ["KmerTable", "KmerTableConv", "choose_k"]

# Tables up to this size stay in a core's L2/L3 cache; bigger ones make every lookup a miss.
TABLE_BYTES = 2 << 20


def choose_k(width: int, channels: int, itemsize: int = 4, budget: int = TABLE_BYTES) -> int:
    """The longest k-mer (4, 3, 2 or 1) whose table fits ``budget`` bytes."""
    for k in (4, 3, 2):
        if -(-width // k) * 5**k * channels * itemsize <= budget:
            return k
    return 1


class KmerTable:
    """The k-mer table of a filter bank, in numpy (no torch): what :class:`KmerTableConv` and the
    fused window scan (:mod:`motifscan.kernels.fused`) look up.

    Parameters
    ----------
    bank
        Filter bank ``(C, 4, W)`` float32 (channels ``A, C, G, T``).
    bias
        ``(C,)`` or ``None``; added to the first group's rows.
    k
        Bases per table row; default :func:`choose_k`.

    Attributes
    ----------
    table
        float32 ``(G * 5**k, C)``: row ``j * 5**k + kmer`` holds group ``j``'s summed weights.
    k, groups, width, channels
        ``k``, ``G = ceil(W / k)``, ``W`` and ``C``.
    """

    def __init__(self, bank: np.ndarray, bias: np.ndarray | None = None, k: int | None = None) -> None:
        bank = np.asarray(bank, dtype=np.float32)
        if bank.ndim != 3 or bank.shape[1] != 4:
            raise ValueError(f"filter bank must be (C, 4, W), got {tuple(bank.shape)}")
        C, _four, W = bank.shape
        self.width = W
        self.channels = C
        self.k = k = int(k or choose_k(W, C))
        self.groups = G = -(-W // k)
        # columns past W (the last group's tail) and the N row weigh nothing; built in numpy (a
        # few small float64 sums, which torch would run as OpenMP regions: a second on a busy machine)
        padded = np.zeros((C, 5, G * k), dtype=np.float64)
        padded[:, :4, :W] = bank.astype(np.float64)
        kmers = np.arange(5**k)
        digits = [(kmers // 5 ** (k - 1 - i)) % 5 for i in range(k)]  # most significant first
        table = np.zeros((G, 5**k, C), dtype=np.float64)
        for j in range(G):
            for i in range(k):
                table[j] += padded[:, digits[i], j * k + i].T
        if bias is not None:
            table[0] += np.asarray(bias, dtype=np.float32).astype(np.float64)
        # summed in float64 so each row is the correctly rounded sum of its k weights
        self.table = table.reshape(G * 5**k, C).astype(np.float32)


class KmerTableConv:
    """``conv1d(one_hot(codes), bank, bias)`` by table lookup, channels-last.

    Parameters
    ----------
    bank
        Filter bank ``(C, 4, W)`` (channels ``A, C, G, T``), e.g. forward and reverse-complement
        filters stacked (:func:`motifscan.kernels.conv.strand_bank`).
    bias
        ``(C,)`` or ``None``.
    k
        Bases per table row; default :func:`choose_k`.

    Calling it with uint8 codes ``(B, L)`` (N = 4; any code >= 4 scores as N) returns float32
    scores ``(B, L - W + 1, C)``.
    """

    def __init__(self, bank: torch.Tensor, bias: torch.Tensor | None = None, k: int | None = None) -> None:
        import torch

        bank = bank.detach().to(dtype=torch.float32, device="cpu")
        if bank.dim() != 3 or bank.shape[1] != 4:
            raise ValueError(f"filter bank must be (C, 4, W), got {tuple(bank.shape)}")
        b = None if bias is None else bias.detach().to(device="cpu", dtype=torch.float32).numpy()
        self._adopt(KmerTable(bank.numpy(), b, k))

    @classmethod
    def of(cls, table: KmerTable) -> "KmerTableConv":
        """The table convolution of a :class:`KmerTable` already built (its memory shared)."""
        conv = cls.__new__(cls)
        conv._adopt(table)
        return conv

    def _adopt(self, table: KmerTable) -> None:
        import torch

        self.width, self.channels, self.k, self.groups = table.width, table.channels, table.k, table.groups
        self.table = torch.from_numpy(table.table)  # the same memory: the fused scan reads it as numpy
        self.offsets = (torch.arange(self.groups, dtype=torch.int32) * 5**self.k).contiguous()

    def kmer_index(self, codes: torch.Tensor) -> torch.Tensor:
        """Table rows ``(B * P, G)`` (int32) for every position of ``codes`` ``(B, L)``."""
        import torch

        B, L = codes.shape
        P = L - self.width + 1
        k, G = self.k, self.groups
        n = P + G * k - 1  # the last group may reach past L: pad with N (its weights are 0)
        x = torch.full((B, n), 4, dtype=torch.int32)
        x[:, :L] = codes.clamp(max=4)
        m = n - k + 1
        km = x[:, :m].clone()
        for i in range(1, k):
            km.mul_(5).add_(x[:, i : i + m])
        # group j of position p is the k-mer starting at p + j k; written row-major (embedding_bag
        # flattens its input, which copies a layout that follows the strided view's)
        s = km.stride(0)
        idx = torch.empty((B, P, G), dtype=torch.int32)
        torch.add(km.as_strided((B, P, G), (s, 1, k)), self.offsets, out=idx)
        return idx.view(B * P, G)

    def __call__(self, codes: torch.Tensor) -> torch.Tensor:
        import torch
        import torch.nn.functional as F

        if codes.device.type != "cpu":
            raise ValueError("KmerTableConv runs on CPU; use conv1d on other devices")
        B, L = codes.shape
        P = L - self.width + 1
        if P <= 0:
            return torch.zeros((B, 0, self.channels), dtype=torch.float32)
        out = F.embedding_bag(self.kmer_index(codes), self.table, mode="sum")
        return out.view(B, P, self.channels)
