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
from ..codes import N_CODE, one_hot_torch


log = logging.getLogger("motifscan")


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
