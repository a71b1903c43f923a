"""Choosing the compute device: ``auto`` picks the best available and says which."""

from __future__ import annotations

import logging

import torch

from .errors import UsageError

__all__ = ["resolve_device", "set_threads"]

log = logging.getLogger("motifscan")


def resolve_device(spec: str | torch.device | None = "auto") -> torch.device:
    """Turn ``auto``, ``cpu``, ``cuda``, ``cuda:N`` or ``mps`` into a usable :class:`torch.device`.

    ``auto`` (or ``None``) takes CUDA, then MPS, then CPU, and logs the choice so a GPU is never
    silently unused. Asking for a device that is not there is a :class:`UsageError`.
    """
    if isinstance(spec, torch.device):
        return spec
    spec = (spec or "auto").strip().lower()
    if spec == "auto":
        if torch.cuda.is_available():
            dev = torch.device("cuda")
            log.info("device: cuda (%s)", torch.cuda.get_device_name(dev))
        elif getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            dev = torch.device("mps")
            log.info("device: mps")
        else:
            dev = torch.device("cpu")
            log.info("device: cpu (%d threads; no GPU found)", torch.get_num_threads())
        return dev
    try:
        dev = torch.device(spec)
    except RuntimeError:
        raise UsageError(f"--device {spec!r} is not a device", hint="use auto, cpu, cuda, cuda:N or mps") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise UsageError("--device cuda asked for, but no CUDA GPU is available", hint="use --device auto or cpu")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise UsageError(f"--device {spec}: only {torch.cuda.device_count()} CUDA device(s)")
    elif dev.type == "mps":
        if not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
            raise UsageError("--device mps asked for, but MPS is not available", hint="use --device auto or cpu")
    elif dev.type != "cpu":
        raise UsageError(f"--device {spec!r} is not supported", hint="use auto, cpu, cuda, cuda:N or mps")
    log.info("device: %s", dev)
    return dev


def set_threads(threads: int | None) -> None:
    """Set torch's intra-op CPU threads (``None`` or 0 keeps torch's default)."""
    if threads:
        if threads < 0:
            raise UsageError("--threads must be >= 0")
        torch.set_num_threads(threads)
