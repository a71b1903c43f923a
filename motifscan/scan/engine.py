"""The scan engine: stream sequences as batches of uint8 codes onto a device, in bounded memory.

One engine serves every scan (CNN windows, CNN records, PWM motif hits). It knows nothing of
models: it cuts a :class:`~motifscan.scan.sources.Source` into overlapping pieces, packs them into
fixed-width batches on a background thread (reading and decoding overlap with compute), moves
only the **uint8 codes** to the device and hands out :class:`Batch` objects. Scorers build the
one-hot on the device (:func:`one_hot_torch`) and convolve (:func:`strand_conv`).

API (stable; used by :mod:`motifscan.scan.model_scan` and the PWM scan)
------------------------------------------------------------------------
``iter_batches(source, overlap=..., chunk_size=..., batch_size=None, device=..., align=1,
max_bases=None, n_filters=128)`` -> iterator of :class:`Batch`. ``overlap`` is the context a scorer needs past a start
    position (``window - 1`` for windows, ``motif_width - 1`` for motif hits). Row ``i`` holds
    record ``batch.names[i]`` positions ``[starts[i], starts[i] + L)`` (``L`` = batch width, padded
    with N = code 4 on the right and, for ``align > 1``, on the left so ``starts % align == 0``).
    Real bases are ``[begins[i], ends[i])``. Each start position is **owned** by exactly one row:
    row ``i`` owns starts in ``[begins[i], own_ends[i])``; a scorer reports a feature starting at
    ``p`` (window, motif hit) only when ``begins <= p < own_ends`` and it fits before ``ends``.
    Then chunk size, batch size, shard split and device never change results. Sources come from
    :func:`motifscan.scan.run.open_source` (FASTA streamed or by index segments, BAM/CRAM/SAM
    reads; ``--chrom``, ``--regions``, ``--shard``, ``--skip-masked`` applied there).
``strand_conv(codes, weight, bias, dtype)`` -> ``(fwd, rev)`` pre-activation filter scores,
    both ``(B, F, L - W + 1)``, from one convolution with the bank ``[W, flip(W)]``;
    ``rev[..., p]`` scores the reverse complement of ``x[p:p+W]`` (aligned to forward coordinates).
``strand_bank(weight, bias, device, dtype)`` + ``bank_conv(codes, bank, bias)`` -> the same as
    one ``(B, 2F, P)`` tensor (forward filters first), with the bank built once per scan.
``auto_batch_rows(width, n_filters, device, dtype)`` -> rows per batch from free device memory.
``default_chunk_size(device)`` -> a chunk size that suits the device (see below).
``Progress(total, quiet)`` -> tqdm bar on a TTY (bases done of total, Mbp/s, ETA).

Layout
------
On CPU the convolution is fastest on moderate chunks (a few to tens of kb) batched a few at a
time; whole-megabase chunks or 1 kb windows are several times slower. On CUDA large chunks and
many rows fill the device. :func:`default_chunk_size` encodes that; ``--chunk-size`` overrides.
On CPU the model scan convolves by k-mer table lookup
(:class:`~motifscan.scan.kmer_conv.KmerTableConv`), which leaves its output channels-last;
:func:`sliding_max` pools either layout.
"""

from __future__ import annotations

import logging
import queue
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator

import numpy as np
import torch
import torch.nn.functional as F

from ..device import tune_cpu_allocator
from ..sequences.encode import N_CODE, one_hot_torch

__all__ = [
    "Piece",
    "Batch",
    "iter_batches",
    "strand_conv",
    "strand_bank",
    "bank_conv",
    "auto_batch_rows",
    "default_chunk_size",
    "round_up",
    "sliding_max",
    "Progress",
    "DTYPES",
]

log = logging.getLogger("motifscan")

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}

CPU_CHUNK = 8_192
CUDA_CHUNK = 1 << 20
# CPU batches of ~32k bases keep each batch's activations (2F x bases x 4 bytes) well under the
# allocator's mmap threshold (see motifscan.device.tune_cpu_allocator) and in cache.
CPU_BATCH_BASES = 1 << 15


def round_up(n: int, multiple: int) -> int:
    """Smallest multiple of ``multiple`` that is >= ``n``."""
    return -(-n // multiple) * multiple


def default_chunk_size(device: torch.device | str) -> int:
    """Chunk size (step between chunk starts) suited to ``device``."""
    return CUDA_CHUNK if torch.device(device).type == "cuda" else CPU_CHUNK


@dataclass
class Piece:
    """A stretch of one record on the host, produced by a source.

    Attributes
    ----------
    name
        Record (chromosome, read) name.
    record
        Serial number of the record in the input (read names can repeat; serials do not).
    start
        Position of ``codes[0]`` in the record (0-based).
    codes
        uint8 codes.
    own_end
        Start positions ``[start, own_end)`` belong to this piece (see the module docstring).
    last
        True for the final piece of its record (or of its segment).
    length
        The record's full length when known.
    payload
        Anything the source wants carried to the sinks (e.g. the pysam read for ``--tag-bam``).
    """

    name: str
    record: int
    start: int
    codes: np.ndarray
    own_end: int
    last: bool = True
    length: int | None = None
    payload: Any = None

    @property
    def end(self) -> int:
        return self.start + len(self.codes)


@dataclass
class Batch:
    """Rows of codes on the device, with where each row lies (see the module docstring).

    ``codes`` is a uint8 tensor ``(B, L)`` on the device; ``host_codes`` the same on the host.
    Per-row numpy int64 arrays: ``starts`` (position of column 0), ``begins``/``ends`` (real
    bases), ``own_ends``, ``records``; ``last`` bool; ``names``, ``lengths`` and ``payloads``
    lists. ``bases`` is the number of newly owned bases (for progress).
    """

    names: list[str]
    records: np.ndarray
    starts: np.ndarray
    begins: np.ndarray
    ends: np.ndarray
    own_ends: np.ndarray
    last: np.ndarray
    lengths: list[int | None]
    payloads: list[Any]
    codes: torch.Tensor
    host_codes: np.ndarray
    bases: int = 0
    extra: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.names)


def _pack(pieces: list[Piece], align: int, width_multiple: int, pin: bool, min_width: int = 1) -> dict:
    starts = np.array([p.start - (p.start % align) for p in pieces], dtype=np.int64)
    begins = np.array([p.start for p in pieces], dtype=np.int64)
    ends = np.array([p.end for p in pieces], dtype=np.int64)
    width = max(min_width, round_up(int((ends - starts).max()), width_multiple))
    host = torch.full((len(pieces), width), N_CODE, dtype=torch.uint8, pin_memory=pin)
    arr = host.numpy()
    for i, p in enumerate(pieces):
        o = p.start - starts[i]
        arr[i, o : o + len(p.codes)] = p.codes
    own = np.array([p.own_end for p in pieces], dtype=np.int64)
    return dict(
        names=[p.name for p in pieces],
        records=np.array([p.record for p in pieces], dtype=np.int64),
        starts=starts,
        begins=begins,
        ends=ends,
        own_ends=own,
        last=np.array([p.last for p in pieces], dtype=bool),
        lengths=[p.length for p in pieces],
        payloads=[p.payload for p in pieces],
        host=host,
        bases=int(np.maximum(own - begins, 0).sum()),
    )


def _group(
    pieces: Iterable[Piece], rows: int | None, max_bases: int, width_multiple: int, align: int
) -> Iterator[list[Piece]]:
    """Group pieces into batches: at most ``rows`` rows, and rows * width <= ``max_bases``."""
    group: list[Piece] = []
    widest = 0
    for p in pieces:
        w = round_up(len(p.codes) + (p.start % align), width_multiple)
        new_widest = max(widest, w)
        if group and (
            (rows is not None and len(group) >= rows)
            or (rows is None and new_widest * (len(group) + 1) > max_bases)
        ):
            yield group
            group, new_widest = [], w
        group.append(p)
        widest = new_widest
    if group:
        yield group


_DONE = object()


def iter_batches(
    source,
    *,
    overlap: int,
    chunk_size: int | None = None,
    batch_size: int | None = None,
    device: torch.device | str = "cpu",
    align: int = 1,
    max_bases: int | None = None,
    width_multiple: int = 64,
    prefetch: int = 3,
    threaded: bool = True,
    n_filters: int = 128,
) -> Iterator[Batch]:
    """Stream ``source`` as batches of uint8 codes on ``device``.

    Parameters
    ----------
    source
        A :class:`~motifscan.scan.sources.Source` (FASTA, indexed regions, reads).
    overlap
        Bases of context past each owned start (``window - 1``, or motif width - 1).
    chunk_size
        Step between chunk starts of long records (default :func:`default_chunk_size`; rounded
        up to a multiple of ``align``). Records shorter than a chunk come whole.
    batch_size
        Rows per batch; ``None`` packs rows until ``max_bases`` (default: 4 chunks on CPU, from
        free memory on CUDA).
    device
        Where the codes go; on CUDA the host batch is pinned and copied non-blocking.
    align
        Left-pad rows with N so every row starts at a multiple of ``align`` (the window
        stride), keeping windows anchored at position 0 of each record.
    threaded
        Read, decode and pack on a background thread (overlaps with compute).
    n_filters
        Filters the scorer computes per position, both strands counted (sizes CUDA batches
        from free memory when ``max_bases`` and ``batch_size`` are not given).

    Yields
    ------
    Batch
        In input order; every owned start position of the source appears exactly once.
    """
    device = torch.device(device)
    chunk_size = round_up(chunk_size or default_chunk_size(device), max(align, 1))
    cuda = device.type == "cuda"
    if not cuda:
        tune_cpu_allocator()
    if max_bases is None:
        if cuda:
            max_bases = auto_batch_rows(chunk_size + overlap, n_filters, device) * (chunk_size + overlap)
        else:
            max_bases = max(CPU_BATCH_BASES, round_up(chunk_size + overlap, width_multiple))

    def produce() -> Iterator[dict]:
        pieces = source.pieces(chunk_size, overlap)
        for group in _group(pieces, batch_size, max_bases, width_multiple, align):
            yield _pack(group, align, width_multiple, cuda, overlap + 1)

    host_iter = _threaded(produce(), prefetch) if threaded else produce()
    try:
        for h in host_iter:
            codes = h["host"].to(device, non_blocking=cuda)
            yield Batch(
                names=h["names"], records=h["records"], starts=h["starts"], begins=h["begins"],
                ends=h["ends"], own_ends=h["own_ends"], last=h["last"], lengths=h["lengths"],
                payloads=h["payloads"], codes=codes, host_codes=h["host"].numpy(), bases=h["bases"],
            )
    finally:
        close = getattr(host_iter, "close", None)
        if close is not None:
            close()


class _threaded:
    """Run an iterator on a daemon thread with a bounded queue; re-raise its errors here."""

    def __init__(self, it: Iterator, depth: int) -> None:
        self._q: queue.Queue = queue.Queue(maxsize=max(1, depth))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(it,), daemon=True, name="motifscan-reader")
        self._thread.start()

    def _run(self, it: Iterator) -> None:
        try:
            for item in it:
                self._put(item)
                if self._stop.is_set():
                    return
            self._put((_DONE, None))
        except BaseException as exc:  # handed to the consumer, raised there
            self._put((_DONE, exc))

    def _put(self, item) -> None:
        while not self._stop.is_set():
            try:
                self._q.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def __iter__(self):
        return self

    def __next__(self):
        item = self._q.get()
        if isinstance(item, tuple) and len(item) == 2 and item[0] is _DONE:
            self._thread.join()
            if item[1] is not None:
                raise item[1]
            raise StopIteration
        return item

    def close(self) -> None:
        self._stop.set()
        while True:  # unblock a producer waiting on a full queue
            try:
                self._q.get_nowait()
            except queue.Empty:
                break
        self._thread.join(timeout=5)


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
    """One-hot ``codes`` ``(B, L)`` on their device and convolve with ``bank`` -> ``(B, F', P)``."""
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


def auto_batch_rows(width: int, n_filters: int, device: torch.device | str, dtype: torch.dtype = torch.float32) -> int:
    """Rows of ``width`` bases per batch that fit comfortably in the device's free memory.

    On CUDA: a third of the free memory over the per-row working set (one-hot, the activations
    of ``n_filters`` filters -- both strands counted -- and the temporaries of the reductions).
    On CPU: a few rows (cache-sized batches are fastest there).
    """
    device = torch.device(device)
    if device.type != "cuda":
        return max(1, CPU_BATCH_BASES // max(width, 1))
    free, _total = torch.cuda.mem_get_info(device)
    per_base = torch.finfo(dtype).bits // 8 * (4 + n_filters * 3) + 2
    return int(max(1, min(4096, (free // 3) // (per_base * max(width, 1)))))


class Progress:
    """A tqdm bar in bases (done of total, Mbp/s, ETA) shown only on a TTY and when not quiet."""

    def __init__(self, total: int | None, quiet: bool = False, desc: str = "scan") -> None:
        self._bar = None
        self.done = 0
        self.t0 = time.perf_counter()
        if not quiet and sys.stderr.isatty():
            from tqdm import tqdm

            self._bar = tqdm(
                total=total, desc=desc, unit="bp", unit_scale=True, unit_divisor=1000,
                dynamic_ncols=True, leave=False,
            )

    def update(self, bases: int) -> None:
        self.done += bases
        if self._bar is not None:
            self._bar.update(bases)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    @property
    def rate(self) -> float:
        """Bases per second so far."""
        return self.done / max(time.perf_counter() - self.t0, 1e-9)

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
