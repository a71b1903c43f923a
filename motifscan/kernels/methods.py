"""One rule for every command: device x convolution method x precision, and the motif search.

Every command that computes with a filter bank (``scan``, ``variants``, ``attribute``, ``export``)
resolves its device, method and precision with :func:`resolve_compute`, which logs the outcome
once (``device: ...; convolution: ...``) after the command's own argument checks. The table:

============================  ==========  =========  ===============================================
device                        method      precision  outcome
============================  ==========  =========  ===============================================
cpu                           auto        fp32       the fastest CPU method of the job: ``fused``
                                                     (scan), ``table`` (variants, attribute)
cpu                           auto        bf16/fp16  ``dense`` (with a warning: slower than fp32)
cpu                           fused       fp32       scan: ``fused``; variants/attribute: ``table``
                                                     (they keep activations; the table is the
                                                     fused kernel's first half)
cpu                           table       fp32       ``table``
any                           fused/table bf16/fp16  usage error (exit 2): CPU fp32 only
cuda, mps                     fused/table any        usage error (exit 2): CPU fp32 only
any                           dense       any        ``dense`` (bf16/fp16 on CPU: a warning)
any (export)                  --          fp32       ``dense``: the model's own convolution
any (variants, attribute)     --          bf16/fp16  usage error (exit 2): they compute in fp32
============================  ==========  =========  ===============================================

Motif files (:func:`motif_method`): ``auto`` is ``dense`` (one convolution) on CUDA and the
``lookahead`` index elsewhere; ``lookahead`` and ``dense`` run as asked on any device.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..device import device_type, probe_device
from ..errors import UsageError

if TYPE_CHECKING:
    import torch

__all__ = ["PRECISIONS", "CONV_METHODS", "CPU_CONV_METHODS", "MOTIF_METHODS", "JOBS", "Compute",
           "conv_method", "motif_method", "resolve_compute"]

log = logging.getLogger("motifscan")

PRECISIONS = ("fp32", "bf16", "fp16")
#: Model-scan convolution: ``fused`` (k-mer table lookup fused with the window and strand maxima),
#: ``table`` (the table lookup, pooled in torch), both CPU fp32; ``dense`` (conv1d); ``auto``.
CONV_METHODS = ("auto", "fused", "table", "dense")
#: The convolution methods that run on the CPU in float32 only.
CPU_CONV_METHODS = ("fused", "table")
#: Motif-file search: ``lookahead`` (CPU index), ``dense`` (one convolution), ``auto``.
MOTIF_METHODS = ("auto", "lookahead", "dense")

#: What each job computes with: its convolution methods (fastest CPU one first) and precisions.
JOBS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "scan": (("fused", "table", "dense"), PRECISIONS),      # model scans: windows, records, hits
    "substitutions": (("table", "dense"), ("fp32",)),        # variants, attribute: local updates
    "export": (("dense",), ("fp32",)),                       # filters -> motifs: the model's conv
    "motifs": ((), ("fp32",)),                               # motif files: see motif_method
}


@dataclass(frozen=True)
class Compute:
    """A resolved choice: where and how a job computes.

    Attributes
    ----------
    device
        The torch device, or ``"cpu"`` when the CPU was chosen without loading torch
        (:mod:`motifscan.device`).
    method
        ``fused``, ``table`` or ``dense`` for a model; ``lookahead`` or ``dense`` for a motif file.
    precision
        ``fp32``, ``bf16`` or ``fp16``.
    """

    device: torch.device | str
    method: str
    precision: str = "fp32"


def conv_method(job: str, device: torch.device | str, method: str = "auto", precision: str = "fp32") -> str:
    """The convolution ``job`` runs for ``method`` on ``device`` in ``precision`` (the table above).

    Raises
    ------
    UsageError
        A CPU-only method on another device or precision, or a precision the job does not have.
    """
    methods, precisions = JOBS[job]
    if method not in CONV_METHODS:
        raise UsageError(f"--conv-method {method!r}", hint="use " + ", ".join(CONV_METHODS))
    if precision not in precisions:
        raise UsageError(f"--precision {precision} is for model scans; this command computes in fp32")
    cpu_fp32 = device_type(device) == "cpu" and precision == "fp32"
    if method in CPU_CONV_METHODS and not cpu_fp32:
        raise UsageError(f"--conv-method {method} runs on CPU in fp32 only", hint="use --conv-method dense or auto")
    if method == "auto":
        return methods[0] if cpu_fp32 else "dense"
    if method not in methods:  # a CPU method the job has no kernel for: its nearest, the table
        return "table" if method in CPU_CONV_METHODS and "table" in methods else "dense"
    return method


def motif_method(method: str, device: torch.device | str) -> str:
    """``lookahead`` or ``dense``: how a motif file's candidate sites are found on ``device``."""
    if method not in MOTIF_METHODS:
        raise UsageError(f"--motif-method {method!r}", hint="use " + ", ".join(MOTIF_METHODS))
    if method == "auto":
        return "dense" if device_type(device) == "cuda" else "lookahead"
    return method


def resolve_compute(device: str | torch.device | None, job: str, *, method: str = "auto",
                    precision: str = "fp32") -> Compute:
    """Resolve the device and the job's method and precision, and log the outcome once.

    Parameters
    ----------
    device
        ``auto``/``None``, ``cpu``, ``cuda``, ``cuda:N``, ``mps`` or a :class:`torch.device`.
    job
        ``scan``, ``substitutions`` (variants, attribute), ``export`` or ``motifs`` (a motif file,
        where ``method`` is the ``--motif-method``).
    method, precision
        As given on the command line.

    Raises
    ------
    UsageError
        A device that is not there, or a combination the table above refuses.
    """
    dev, described = probe_device(device)
    if job == "motifs":
        chosen = motif_method(method, dev)
        what = f"motif search: {chosen}"
    else:
        chosen = conv_method(job, dev, method, precision)
        what = f"convolution: {chosen}" + (f", {precision}" if precision != "fp32" else "")
        if precision != "fp32" and device_type(dev) == "cpu":
            log.warning("--precision %s on CPU is much slower than fp32 here; fp32 is the CPU default", precision)
    compute = Compute(dev, chosen, precision)
    _announce(f"device: {described}; {what}")
    return compute


#: Device lines said since the command started: a scan that builds its null first resolves the
#: same compute twice, and the user needs the line once.
_announced: set[str] = set()


def forget_announcements() -> None:
    """Start a new command: its device line is logged again (the CLI calls this first)."""
    _announced.clear()


def _announce(line: str) -> None:
    if line not in _announced:
        _announced.add(line)
        log.info(line)
