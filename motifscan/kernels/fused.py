"""The fused CPU window scan: k-mer table lookup, strand max and window max in one pass (numba).

The table method (:class:`~motifscan.kernels.kmer_conv.KmerTableConv`, then
:func:`~motifscan.kernels.conv.sliding_max`) writes every position's ``2F`` activations to memory
(about 12 MB per batch) and reads them back to pool them, so it is bound by memory traffic. Here a
position's activations never leave the registers: per row, for each block of ``stride`` positions
the maximum over the block (and over its head, the first ``kernel % stride`` positions, which the
last block of a window contributes) is kept, both strands are combined by an elementwise max,
and every window is the max over the blocks it covers -- exactly what ``sliding_max`` computes.
The N count of every window comes from the same pass.

A position's activations are the sum of the same table rows, in the same order, from the same
zero start as ``F.embedding_bag(mode="sum")`` (the table method), in IEEE float32 without
reassociation, so the pooled vectors are bit-identical to the table method's, whatever the
chunking; maxima are exact in any order.

Why numba, and why the one LLVM intrinsic (:func:`_block_max`): numba is a pure wheel on every
platform (no compiler at install time, code generated for the CPU it runs on: AVX-512, AVX2 or
NEON), and a well-kept dependency. Plain numba loops over the channels keep the running sums in
memory (LLVM cannot prove the table and the sums apart) and reached 21-29 Mbp/s per core on the
2-core development machine, against 75-85 for hand-written AVX-512 C; the intrinsic spells the
inner loop with ``<16 x float>`` vectors held in registers, which LLVM lowers to whatever the CPU
has, and unrolls the sum over the table rows, whose count is a compile-time constant (one kernel
per count, :func:`_kernel`): 55-67 Mbp/s per core, the whole kernel included.

Rows of a batch are split over a thread pool (the kernel releases the GIL), and a scan queues
each batch there ahead of time (:meth:`FusedWindowScan.start`), so the pool keeps working while
the caller runs the head and writes. A pool rather than numba's ``parallel=True``: its threading
layer here is GNU OpenMP (or workqueue), a second OpenMP runtime beside torch's whose spinning
idle threads compete with the reader thread on small machines, and which is neither fork-safe
(Snakemake and multiprocessing fork) nor safe to call from two threads at once (workqueue);
plain threads are all three.

Compilation: each kernel compiles once per machine (about 7 s) and is cached on disk
(:func:`motifscan.jit.njit`; loading it takes under a second).
"""

from __future__ import annotations

import functools
import os
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

from ..device import cpu_threads
from ..jit import njit
from .kmer_conv import KmerTable, KmerTableConv

__all__ = ["FusedWindowScan", "FusedJob", "flat_table"]

#: float32 lanes of one vector of :func:`_block_max` (a zmm register; LLVM splits it for AVX2/NEON)
LANES = 16
#: vectors (of LANES channels) one call of :func:`_block_max` keeps in registers
MAX_VECTORS = 4


@intrinsic
def _block_max(typingctx, table, width, km, p0, split, p1, groups, k, rows5, c0, head, block, nvec):
    """Channel maxima of channels ``c0 .. c0 + LANES * nvec - 1`` over positions ``[p0, split)``
    into ``head[c0 : ...]`` and over ``[p0, p1)`` into ``block[c0 : ...]`` (``p0 < split <= p1``).

    A position's activations are ``0 + table[row_0] + ... + table[row_{groups-1}]`` (that order,
    IEEE float32), row ``g`` being ``km[p + g k] + g rows5`` of the flat ``table`` of rows of
    ``width`` channels. ``groups`` and ``nvec`` must be literals: the sum is unrolled (twice as
    fast as a loop: every row's loads are in flight at once).
    """
    if not isinstance(nvec, types.IntegerLiteral) or not isinstance(groups, types.IntegerLiteral):
        return None  # numba then retries with the literal values
    n_vec, n_groups = nvec.literal_value, groups.literal_value
    sig = types.void(table, width, km, p0, split, p1, groups, k, rows5, c0, head, block, nvec)

    def codegen(context, builder, signature, args):
        table_v, width_v, km_v, p0_v, split_v, p1_v, _, k_v, rows5_v, c0_v, head_v, block_v, _ = args
        tab = context.make_array(signature.args[0])(context, builder, table_v)
        kma = context.make_array(signature.args[2])(context, builder, km_v)
        i64 = ir.IntType(64)
        vec = ir.VectorType(ir.FloatType(), LANES)
        best = [cgutils.alloca_once_value(builder, ir.Constant(vec, [float("-inf")] * LANES)) for _ in range(n_vec)]
        acc = [cgutils.alloca_once(builder, vec) for _ in range(n_vec)]

        def add_row(pos, g):
            kmer = builder.load(builder.gep(kma.data, [builder.add(pos, builder.mul(g, k_v))]))
            row = builder.add(builder.sext(kmer, i64), builder.mul(g, rows5_v))
            base = builder.add(builder.mul(row, width_v), c0_v)
            for v, a in enumerate(acc):
                ptr = builder.gep(tab.data, [builder.add(base, ir.Constant(i64, v * LANES))])
                x = builder.load(builder.bitcast(ptr, vec.as_pointer()), align=4)
                builder.store(builder.fadd(builder.load(a), x), a)

        def positions(start, stop):
            with cgutils.for_range(builder, stop, start=start) as pos:
                for a in acc:
                    builder.store(ir.Constant(vec, [0.0] * LANES), a)
                for g in range(n_groups):
                    add_row(pos.index, ir.Constant(i64, g))
                for a, b in zip(acc, best):
                    x, m = builder.load(a), builder.load(b)
                    builder.store(builder.select(builder.fcmp_ordered(">", x, m), x, m), b)

        def store(arr_v, arr_t):
            data = context.make_array(arr_t)(context, builder, arr_v).data
            for v, b in enumerate(best):
                ptr = builder.gep(data, [builder.add(c0_v, ir.Constant(i64, v * LANES))])
                builder.store(builder.load(b), builder.bitcast(ptr, vec.as_pointer()), align=4)

        positions(p0_v, split_v)
        store(head_v, signature.args[10])
        positions(split_v, p1_v)
        store(block_v, signature.args[11])
        return context.get_dummy_value()

    return sig, codegen


@numba.njit(nogil=True, inline="always")
def _range_max(table, width, km, p0, split, p1, groups, k, rows5, head, block):
    """Channel maxima over ``[p0, split)`` into ``head[:width]`` and over ``[p0, p1)`` into
    ``block[:width]`` (``width`` a multiple of LANES): MAX_VECTORS vectors at a time, then one by one."""
    c0 = 0
    while width - c0 >= LANES * MAX_VECTORS:
        _block_max(table, width, km, p0, split, p1, groups, k, rows5, c0, head, block, MAX_VECTORS)
        c0 += LANES * MAX_VECTORS
    while c0 < width:
        _block_max(table, width, km, p0, split, p1, groups, k, rows5, c0, head, block, 1)
        c0 += LANES


@numba.njit(nogil=True, inline="always")
def _scan_rows(codes, row0, row1, table, width, k, groups, n_filters, both, kernel, stride, window, pooled, n_count):
    """Rows ``[row0, row1)`` of ``codes`` -> ``pooled[row]`` ``(Q, F)`` and ``n_count[row]`` ``(Q,)``.

    ``table`` is flat, rows of ``width`` channels (a multiple of LANES): forward filters, then
    (``both``) reverse, then zero padding. Window ``q`` pools positions ``[q*stride, q*stride +
    kernel)``: the blocks ``q .. q + full - 1`` whole and the head (``rem`` positions) of block
    ``q + full``.
    """
    n_rows, L = codes.shape
    Q = pooled.shape[1]
    F = n_filters
    rows5 = 5**k
    full = kernel // stride
    rem = kernel - full * stride
    npos = (Q - 1) * stride + kernel  # positions any window pools
    nblocks = Q + full if rem else Q + full - 1
    per_block = stride if full > 0 else rem  # positions of a block any window reads
    nkm = npos + (groups - 1) * k
    clamped = np.full(max(L, nkm + k), 4, np.int32)  # codes >= 4 and bases past L read as N
    km = np.empty(nkm, np.int32)
    block = np.empty((nblocks, F), np.float32)
    head = np.empty((nblocks, F), np.float32)
    m = np.empty(width, np.float32)
    h = np.empty(width, np.float32)
    cs = np.empty(L + 1, np.int32)
    for r in range(row0, row1):
        # k-mer of every start, base 5, most significant first: k vectorisable passes
        for j in range(L):
            clamped[j] = min(codes[r, j], 4)
        for p in range(nkm):
            km[p] = clamped[p]
        for i in range(1, k):
            for p in range(nkm):
                km[p] = km[p] * 5 + clamped[p + i]
        # N count of windows: code 4 exactly, as the engine's host-side rule
        cs[0] = 0
        for j in range(L):
            cs[j + 1] = cs[j] + (codes[r, j] == 4)
        for b in range(nblocks):
            p0 = b * stride
            n = min(per_block, npos - p0)
            # a head-only block (n == rem) has its head as its block maximum too
            _range_max(table, width, km, p0, p0 + (rem if rem else n), p0 + n, groups, k, rows5, h, m)
            if both:
                for f in range(F):
                    head[b, f] = max(h[f], h[f + F])
                    block[b, f] = max(m[f], m[f + F])
            else:
                for f in range(F):
                    head[b, f] = h[f]
                    block[b, f] = m[f]
        for q in range(Q):
            out = pooled[r, q]
            if rem:
                for f in range(F):
                    out[f] = head[q + full, f]
            else:
                for f in range(F):
                    out[f] = block[q, f]
            for j in range(full):
                for f in range(F):
                    out[f] = max(out[f], block[q + j, f])
        for q in range(Q):
            n_count[r, q] = cs[q * stride + window] - cs[q * stride]


@functools.lru_cache(maxsize=None)
def _kernel(groups: int):
    """:func:`_scan_rows` compiled for ``groups`` table rows per position, a compile-time constant
    (the sum is unrolled; each value compiles once and is cached on disk)."""

    def scan_rows(codes, row0, row1, table, width, k, n_filters, both, kernel, stride, window, pooled, n_count):
        _scan_rows(codes, row0, row1, table, width, k, groups, n_filters, both, kernel, stride, window, pooled,
                   n_count)

    return njit(scan_rows)


def _aligned_zeros(n: int, align: int) -> np.ndarray:
    """float32 zeros ``(n,)`` whose data starts on an ``align``-byte boundary."""
    raw = np.zeros(n * 4 + align, np.uint8)
    start = -raw.ctypes.data % align
    return raw[start : start + n * 4].view(np.float32)


def flat_table(table: KmerTable | KmerTableConv) -> tuple[np.ndarray, int]:
    """The k-mer table as :func:`_range_max` reads it: flat float32, rows of ``width`` channels.

    Rows are padded to whole vectors of LANES channels with zeros (never read back); the array
    is 64-byte aligned, so no vector load straddles two cache lines (measured: up to 2x slower).
    Returns ``(flat, width)``.
    """
    t = np.asarray(table.table)
    width = -(-t.shape[1] // LANES) * LANES
    flat = _aligned_zeros(t.shape[0] * width, 64)
    flat.reshape(t.shape[0], width)[:, : t.shape[1]] = t
    return flat, width


_POOL: ThreadPoolExecutor | None = None
_POOL_KEY: tuple[int, int] | None = None


def _pool(threads: int) -> ThreadPoolExecutor:
    """A thread pool of ``threads`` workers, made again after a fork (threads do not survive it)."""
    global _POOL, _POOL_KEY
    key = (os.getpid(), threads)
    if _POOL is None or _POOL_KEY != key:
        if _POOL is not None and _POOL_KEY is not None and _POOL_KEY[0] == key[0]:
            _POOL.shutdown(wait=False)
        _POOL = ThreadPoolExecutor(threads, thread_name_prefix="motifscan-fused")
        _POOL_KEY = key
    return _POOL


class FusedWindowScan:
    """Pooled filter vectors and N counts of every window of a batch, in one fused pass.

    Parameters
    ----------
    table
        The k-mer table (:class:`~motifscan.kernels.kmer_conv.KmerTable`, or the table convolution
        holding one) of the bank ``[W, flip(W)]`` (or ``W`` alone without reverse-complement
        sharing): its table and grouping are used as they are.
    n_filters
        ``F``, filters per strand.
    both_strands
        The table holds ``2F`` channels (forward, then reverse complement), max-ed together.
    window, stride
        Window length and step; ``kernel = window - W + 1`` positions are pooled per window.

    Calling it with uint8 codes ``(B, L)`` returns ``pooled`` float32 ``(B, Q, F)`` --
    ``max_pool1d(max(fwd, rev), kernel, stride)`` channels-last, bit-identical to the table method
    -- and ``n_count`` int32 ``(B, Q)``, the number of code-4 bases in each window ``[q * stride,
    q * stride + window)``, with ``Q = (L - window) // stride + 1`` (0 when ``L < window``).
    """

    def __init__(self, table: KmerTable | KmerTableConv, n_filters: int, both_strands: bool, window: int,
                 stride: int) -> None:
        if table.channels != n_filters * (2 if both_strands else 1):
            raise ValueError("the table's channels do not match n_filters and both_strands")
        self.table, self.width = flat_table(table)
        self.k, self.groups, self.filter_width = table.k, table.groups, table.width
        self.n_filters, self.both = n_filters, both_strands
        self.window, self.stride = int(window), int(stride)
        self.kernel = self.window - self.filter_width + 1
        if self.kernel < 1 or self.stride < 1:
            raise ValueError("window must be >= the filter width and stride >= 1")
        # compile (or load) the kernel now, in this thread and before any output is opened: a
        # first compile takes seconds in C code that an interrupt cannot stop
        _kernel(self.groups)(np.full((1, self.window), 4, np.uint8), 0, 1, self.table, self.width, self.k,
                             self.n_filters, self.both, self.kernel, self.stride, self.window,
                             np.empty((1, 1, self.n_filters), np.float32), np.empty((1, 1), np.int32))

    def __call__(self, codes: np.ndarray, threads: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        return self.finish(self.start(codes, threads))

    def start(self, codes: np.ndarray, threads: int | None = None) -> "FusedJob":
        """Queue the batch on the thread pool and return at once; :meth:`finish` waits for it.

        ``threads`` (default: :func:`motifscan.device.cpu_threads`) rows ranges are scored in parallel; queueing
        the next batch before finishing this one keeps the pool busy while the caller works.
        """
        codes = np.ascontiguousarray(codes, dtype=np.uint8)  # a CPU tensor too
        B, L = codes.shape
        Q = (L - self.window) // self.stride + 1 if L >= self.window else 0
        job = FusedJob(codes, np.empty((B, Q, self.n_filters), np.float32), np.empty((B, Q), np.int32), [])
        if B == 0 or Q == 0:
            return job
        args = (self.table, self.width, self.k, self.n_filters, self.both, self.kernel, self.stride, self.window,
                job.pooled, job.n_count)
        kernel = _kernel(self.groups)
        threads = max(1, min(threads or cpu_threads(), B))
        pool = _pool(threads)
        cuts = [B * i // threads for i in range(threads + 1)]
        job.futures.extend(pool.submit(kernel, codes, lo, hi, *args) for lo, hi in zip(cuts[:-1], cuts[1:]) if hi > lo)
        return job

    @staticmethod
    def finish(job: "FusedJob") -> tuple[np.ndarray, np.ndarray]:
        """``(pooled, n_count)`` of a started batch, once its rows are done."""
        for f in job.futures:
            f.result()
        return job.pooled, job.n_count


@dataclass
class FusedJob:
    """A batch queued by :meth:`FusedWindowScan.start`: its codes (kept alive while the kernel
    reads them), the outputs being filled, and the pool's futures."""

    codes: np.ndarray
    pooled: np.ndarray
    n_count: np.ndarray
    futures: list[Future]
