"""Choosing the compute device: ``auto`` picks the best available and says which."""

from __future__ import annotations

import logging

import torch

from .errors import UsageError
from .text import plural

__all__ = ["probe_device", "resolve_device", "set_threads", "tune_cpu_allocator"]

log = logging.getLogger("motifscan")


def probe_device(spec: str | torch.device | None = "auto") -> tuple[torch.device, str]:
    """Turn ``auto``, ``cpu``, ``cuda``, ``cuda:N`` or ``mps`` into a usable device, and say which.

    ``auto`` (or ``None``) takes CUDA, then MPS, then CPU. Asking for a device that is not there
    is a :class:`UsageError`. Nothing is logged: see :func:`resolve_device`.

    Returns
    -------
    device, description
        The :class:`torch.device` and a few words for the log (``cuda (NVIDIA H100)``).
    """
    if isinstance(spec, torch.device):
        return spec, str(spec)
    spec = (spec or "auto").strip().lower()
    if spec == "auto":
        if torch.cuda.is_available():
            dev = torch.device("cuda")
            return dev, f"cuda ({torch.cuda.get_device_name(dev)})"
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps"), "mps"
        return torch.device("cpu"), f"cpu ({plural(torch.get_num_threads(), 'thread')}; no GPU found)"
    try:
        dev = torch.device(spec)
    except RuntimeError:
        raise UsageError(f"--device {spec!r} is not a device", hint="use auto, cpu, cuda, cuda:N or mps") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise UsageError("--device cuda asked for, but no CUDA GPU is available", hint="use --device auto or cpu")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise UsageError(f"--device {spec}: only {plural(torch.cuda.device_count(), 'CUDA device')}")
    elif dev.type == "mps":
        if not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
            raise UsageError("--device mps asked for, but MPS is not available", hint="use --device auto or cpu")
    elif dev.type != "cpu":
        raise UsageError(f"--device {spec!r} is not supported", hint="use auto, cpu, cuda, cuda:N or mps")
    return dev, str(dev)


def resolve_device(spec: str | torch.device | None = "auto") -> torch.device:
    """:func:`probe_device`, logging the choice (``device: ...``) so a GPU is never silently unused.

    The commands that compute with a filter bank resolve their device with
    :func:`motifscan.kernels.methods.resolve_compute` instead (device, method and precision at once).
    """
    dev, described = probe_device(spec)
    if not isinstance(spec, torch.device):
        log.info("device: %s", described)
    return dev


def set_threads(threads: int | None) -> None:
    """Set torch's intra-op CPU threads (``None`` or 0 keeps torch's default)."""
    if threads:
        if threads < 0:
            raise UsageError("--threads must be >= 0")
        torch.set_num_threads(threads)


_ALLOCATOR_TUNED = False


def tune_cpu_allocator(threshold: int = 32 << 20) -> bool:
    """Keep large CPU buffers on glibc's heap instead of fresh ``mmap`` pages for every batch.

    glibc serves allocations above ``M_MMAP_THRESHOLD`` with ``mmap`` and returns them to the
    kernel on free, so each batch's multi-megabyte activation tensor is page-faulted (and
    zeroed by the kernel) again: measured here, that makes a CPU scan's convolution 3-4x slower
    (about 2 Mbp/s instead of 6-8) in a way that depends on allocation history. Raising the mmap
    and trim thresholds (what ``MALLOC_MMAP_THRESHOLD_`` would do) keeps the pages. Memory stays
    bounded by the largest batch. A no-op (returning False) off glibc.
    """
    global _ALLOCATOR_TUNED
    if _ALLOCATOR_TUNED:
        return True
    import ctypes
    import ctypes.util
    import sys

    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
    ok = bool(mallopt(M_MMAP_THRESHOLD, threshold)) and bool(mallopt(M_TRIM_THRESHOLD, 2 * threshold))
    _ALLOCATOR_TUNED = ok
    return ok
