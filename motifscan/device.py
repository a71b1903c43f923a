"""Choosing the compute device: ``auto`` picks the best available and says which.

The CPU needs no torch: where no GPU can be there (no NVIDIA or AMD GPU driver, not macOS) and
torch is not loaded yet, ``auto`` and ``cpu`` resolve to the device ``"cpu"`` (a string) without
importing it, and the CPU scans that need no torch (:mod:`motifscan.scan.model_scan`'s fused
window scan) start 1-2 s sooner. Functions here and below take a device as a
:class:`torch.device` or its name; :func:`device_type` reads either.
"""

from __future__ import annotations

import functools
import glob
import logging
import os
import sys
from typing import TYPE_CHECKING, Any, Callable

from .errors import UsageError
from .text import plural

if TYPE_CHECKING:
    import torch

__all__ = ["probe_device", "resolve_device", "set_threads", "cpu_threads", "device_type", "gpu_possible",
           "use_torch", "no_grad", "tune_cpu_allocator"]

log = logging.getLogger("motifscan")

#: Files whose presence means a GPU driver is loaded: NVIDIA's (and its container runtime's), AMD's
#: ROCm, WSL2's GPU bridge, NVIDIA Jetson's; then ``auto`` asks torch (a GPU is never silently unused).
_GPU_DRIVER_FILES = ("/proc/driver/nvidia/version", "/dev/nvidiactl", "/dev/kfd", "/dev/dxg",
                     "/dev/nvhost-ctrl-gpu")

#: CPU threads asked for with :func:`set_threads` before torch was loaded (``None``: the default).
_threads: int | None = None


def device_type(device: Any) -> str:
    """``"cpu"``, ``"cuda"``, ``"mps"``: the type of a :class:`torch.device` or of a device name."""
    if isinstance(device, str):
        return device.strip().lower().split(":")[0]
    return device.type


def gpu_possible() -> bool:
    """False when this machine cannot have a GPU that torch would use: Linux without a GPU driver
    loaded (:data:`_GPU_DRIVER_FILES`, ``/dev/nvidia0..``); macOS may have MPS, and elsewhere torch
    is asked."""
    if not sys.platform.startswith("linux"):
        return True
    return any(os.path.exists(f) for f in _GPU_DRIVER_FILES) or bool(glob.glob("/dev/nvidia[0-9]*"))


def _torch_loaded() -> bool:
    return "torch" in sys.modules


def no_grad(fn: Callable) -> Callable:
    """``torch.no_grad()`` around ``fn`` once torch is loaded; before, there is no tensor to track
    (a decorator that needs no torch to be applied)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        torch = sys.modules.get("torch")
        if torch is None:
            return fn(*args, **kwargs)
        with torch.no_grad():
            return fn(*args, **kwargs)

    return wrapper


def cpu_threads() -> int:
    """The CPU threads a scan computes with: torch's intra-op count once torch is loaded, else
    :func:`set_threads`' value, else ``OMP_NUM_THREADS``, else the CPUs this process may use."""
    if _torch_loaded():
        import torch

        return torch.get_num_threads()
    if _threads:
        return _threads
    try:
        return max(1, int(os.environ.get("OMP_NUM_THREADS", "")))
    except ValueError:
        pass
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def probe_device(spec: str | torch.device | None = "auto") -> tuple[torch.device | str, str]:
    """Turn ``auto``, ``cpu``, ``cuda``, ``cuda:N`` or ``mps`` into a usable device, and say which.

    ``auto`` (or ``None``) takes CUDA, then MPS, then CPU. Asking for a device that is not there
    is a :class:`UsageError`. Nothing is logged: see :func:`resolve_device`.

    Returns
    -------
    device, description
        The :class:`torch.device` (``"cpu"`` when the CPU is chosen without torch loaded: see the
        module docstring) and a few words for the log (``cuda (NVIDIA H100)``).
    """
    if not isinstance(spec, (str, type(None))):
        return spec, str(spec)
    spec = (spec or "auto").strip().lower()
    if spec == "cpu" and not _torch_loaded():
        return "cpu", "cpu"
    if spec == "auto" and not _torch_loaded() and not gpu_possible():
        return "cpu", f"cpu ({plural(cpu_threads(), 'thread')}; no GPU found)"
    import torch

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


def resolve_device(spec: str | torch.device | None = "auto") -> torch.device | str:
    """:func:`probe_device`, logging the choice (``device: ...``) so a GPU is never silently unused.

    The commands that compute with a filter bank resolve their device with
    :func:`motifscan.kernels.methods.resolve_compute` instead (device, method and precision at once).
    """
    dev, described = probe_device(spec)
    if isinstance(spec, (str, type(None))):
        log.info("device: %s", described)
    return dev


def set_threads(threads: int | None) -> None:
    """Set the CPU threads (``None`` or 0 keeps the default): torch's intra-op threads, and the
    count :func:`cpu_threads` gives the scans that run without torch.

    Before torch is loaded the count is kept here and given to torch when :func:`use_torch`
    loads it.
    """
    global _threads
    if threads:
        if threads < 0:
            raise UsageError("--threads must be >= 0")
        _threads = int(threads)
        if _torch_loaded():
            import torch

            torch.set_num_threads(threads)


def use_torch():
    """``torch``, imported now if it was not, with the threads :func:`set_threads` asked for."""
    loaded = _torch_loaded()
    import torch

    if not loaded and _threads:
        torch.set_num_threads(_threads)
    return torch


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
