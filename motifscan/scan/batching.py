"""Batching: stream a source as batches of uint8 codes on a device, in bounded memory.

One engine serves every scan (model windows, model records, motif-file hits, and the variant and
attribution commands). It knows nothing of models: it cuts a source
(:mod:`motifscan.scan.sources`) into overlapping pieces, packs them into fixed-width batches on a
background thread (reading and decoding overlap with compute), moves only the **uint8 codes** to
the device and hands out :class:`Batch` objects.

``iter_batches(source, overlap=..., chunk_size=..., batch_size=None, device=..., align=1,
max_bases=None, n_filters=128)`` -> iterator of :class:`Batch`. ``overlap`` is the context a
scorer needs past a start position (``window - 1`` for windows, ``motif_width - 1`` for motif
hits). Row ``i`` holds record ``batch.names[i]`` positions ``[starts[i], starts[i] + L)`` (``L`` =
batch width, padded with N = code 4 on the right and, for ``align > 1``, on the left so
``starts % align == 0``). Real bases are ``[begins[i], ends[i])``. Each start position is
**owned** by exactly one row: row ``i`` owns starts in ``[begins[i], own_ends[i])``; a scorer
reports a feature starting at ``p`` (window, motif hit) only when ``begins <= p < own_ends`` and
it fits before ``ends``. Then chunk size, batch size, shard split and device never change
results.

Packed batches (``pack=True``, window scans): short records (draft scaffolds, reads) share rows.
Every row is as wide as a full chunk; pieces are laid one after another in a row, each at a
column that is a multiple of ``align`` (so windows keep their grid), until the next does not fit.
Then ``rows[i]``/``cols[i]`` say where piece ``i`` lies: row ``rows[i]``, columns from ``cols[i]``
hold positions from ``starts[i]``, and every per-piece array above is per piece, not per row.
A window scorer only keeps windows wholly inside one piece, so neighbours never mix. Unpacked
batches have ``rows``/``cols`` ``None`` (piece ``i`` is row ``i`` from column 0). A packed scan
takes a source's ``piece_runs`` where it has one (a FASTA's scaffolds as
:class:`~motifscan.scan.packing.PieceRun` arrays, a block of the file at a time: no Python
step per record); the layout is the same (:mod:`.packing`).

Layout: on CPU the convolution is fastest on moderate chunks (a few to tens of kb) batched a few
at a time; whole-megabase chunks or 1 kb windows are several times slower. On CUDA large chunks
and many rows fill the device. :func:`default_chunk_size` encodes that; ``--chunk-size``
overrides it.
"""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterator

import numpy as np

from ..device import device_type, tune_cpu_allocator
from .packing import Piece, PieceRun, group, group_packed, round_up
from .packing import pack as pack_batch

if TYPE_CHECKING:
    import torch


__all__ = ["Piece", "PieceRun", "Batch", "iter_batches", "auto_batch_rows", "default_chunk_size", "round_up"]

CPU_CHUNK = 8_192
CUDA_CHUNK = 1 << 20
# CPU batches of ~32k bases keep each batch's activations (2F x bases x 4 bytes) well under the
# allocator's mmap threshold (see motifscan.device.tune_cpu_allocator) and in cache.
CPU_BATCH_BASES = 1 << 15


def default_chunk_size(device: torch.device | str) -> int:
    """Chunk size (step between chunk starts) suited to ``device``."""
    return CUDA_CHUNK if device_type(device) == "cuda" else CPU_CHUNK


@dataclass
class Batch:
    """Rows of codes on the device, with where each row lies (see the module docstring).

    ``host_codes`` is a uint8 array ``(B, L)``; ``codes`` the same as a tensor on the device (on
    the CPU made from ``host_codes`` when first asked for: a scan that reads only ``host_codes``,
    the fused window scan, needs no torch).
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
    host_codes: np.ndarray
    bases: int = 0
    extra: dict = field(default_factory=dict)
    rows: np.ndarray | None = None
    cols: np.ndarray | None = None
    device_codes: torch.Tensor | None = None

    @property
    def codes(self) -> torch.Tensor:
        """The codes as a uint8 tensor on the device."""
        if self.device_codes is None:
            import torch

            self.device_codes = torch.from_numpy(self.host_codes)
        return self.device_codes

    def __len__(self) -> int:
        return len(self.names)

    def layout(self) -> tuple[np.ndarray, np.ndarray]:
        """``(rows, cols)``: the row and first column of every piece (see the module docstring)."""
        if self.rows is None:
            return np.arange(len(self.names), dtype=np.int64), np.zeros(len(self.names), dtype=np.int64)
        return self.rows, self.cols


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
    pack: bool = False,
) -> Iterator[Batch]:
    """Stream ``source`` as batches of uint8 codes on ``device``.

    Parameters
    ----------
    source
        A source of :mod:`motifscan.scan.sources` (FASTA, indexed regions, reads).
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
    pack
        Lay short pieces side by side in rows as wide as a chunk (see the module docstring;
        for scorers that read :meth:`Batch.layout`: window scans). ``batch_size`` then counts
        rows, not pieces.

    Yields
    ------
    Batch
        In input order; every owned start position of the source appears exactly once.
    """
    chunk_size = round_up(chunk_size or default_chunk_size(device), max(align, 1))
    on_cpu, cuda = device_type(device) == "cpu", device_type(device) == "cuda"
    if not on_cpu:
        import torch

        device = torch.device(device)
    if not cuda:
        tune_cpu_allocator()
    if max_bases is None:
        if cuda:
            max_bases = auto_batch_rows(chunk_size + overlap, n_filters, device) * (chunk_size + overlap)
        else:
            max_bases = max(CPU_BATCH_BASES, round_up(chunk_size + overlap, width_multiple))

    def produce() -> Iterator[dict]:
        if pack:
            # short records come as runs where the source can (see motifscan.scan.sources)
            runs = getattr(source, "piece_runs", None)
            items = runs(chunk_size, overlap) if runs is not None else source.pieces(chunk_size, overlap)
            # a piece holds at most chunk + overlap bases, after at most align - 1 of left padding
            width = max(overlap + 1, round_up(chunk_size + overlap + max(align, 1) - 1, width_multiple))
            rows = batch_size or max(1, max_bases // width)
            for batch, place in group_packed(items, width, rows, max(align, 1)):
                yield pack_batch(batch, align, width_multiple, cuda, overlap + 1, place)
            return
        for batch in group(source.pieces(chunk_size, overlap), batch_size, max_bases, width_multiple, align):
            yield pack_batch(batch, align, width_multiple, cuda, overlap + 1)

    host_iter = _threaded(produce(), prefetch) if threaded else produce()
    try:
        for h in host_iter:
            host = h["host"]  # a pinned tensor on CUDA, else a numpy array
            codes = None
            if not on_cpu:
                codes = (host if cuda else torch.from_numpy(host)).to(device, non_blocking=cuda)
            yield Batch(
                names=h["names"], records=h["records"], starts=h["starts"], begins=h["begins"],
                ends=h["ends"], own_ends=h["own_ends"], last=h["last"], lengths=h["lengths"],
                payloads=h["payloads"], host_codes=host.numpy() if cuda else host, bases=h["bases"],
                rows=h["rows"], cols=h["cols"], device_codes=codes,
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


def auto_batch_rows(width: int, n_filters: int, device: torch.device | str, dtype: torch.dtype | None = None) -> int:
    """Rows of ``width`` bases per batch that fit comfortably in the device's free memory.

    On CUDA: a third of the free memory over the per-row working set (one-hot, the activations
    of ``n_filters`` filters -- both strands counted -- and the temporaries of the reductions).
    On CPU: a few rows (cache-sized batches are fastest there).
    """
    if device_type(device) != "cuda":
        return max(1, CPU_BATCH_BASES // max(width, 1))
    import torch

    device = torch.device(device)
    free, _total = torch.cuda.mem_get_info(device)
    per_base = torch.finfo(dtype or torch.float32).bits // 8 * (4 + n_filters * 3) + 2
    return int(max(1, min(4096, (free // 3) // (per_base * max(width, 1)))))
