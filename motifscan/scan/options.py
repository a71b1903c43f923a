"""Scan options: one small typed object per concern, defaults defined here once.

* :class:`InputOptions` -- what to read: which chromosomes, regions, shard; soft-masked bases;
  the CRAM reference; which alignments.
* :class:`RunOptions` -- how to run: device, threads, chunk and batch sizes, precision, the
  convolution method, the progress bar.
* :class:`OutputOptions` -- what to write: the main output and its format, and the extra outputs
  of the same pass (peaks, filter hits, tagged BAM).
* :class:`WindowOptions` -- how a model scan scores windows (window, stride, peak threshold,
  filter-hit fraction).
* :class:`MotifOptions` -- how a motif file is scored (FIMO's p-value threshold, background,
  pseudocount, PSSM range) and which search finds the windows.
* :class:`VariantOptions` -- how ``motifscan variants`` scores alleles (window, whose REF to trust).
* :class:`AttributionOptions` -- how ``motifscan attribute`` explains sequences (method, task,
  centring, sequence length, seqlet calling).

Each object checks its own values when made (a :class:`~motifscan.errors.UsageError` naming the
option), so the layers below trust what they get. The CLI takes its defaults from these classes
(``WindowOptions.stride`` ...), Python callers build them directly, and the workflow passes the
same options on the command line.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from typing import Any

from ..errors import UsageError
from ..kernels.methods import CONV_METHODS, CPU_CONV_METHODS, MOTIF_METHODS, PRECISIONS
from .shard import Shard

__all__ = [
    "InputOptions", "RunOptions", "OutputOptions", "WindowOptions", "MotifOptions",
    "VariantOptions", "AttributionOptions", "REF_FROM", "ATTRIBUTION_METHODS",
    "PRECISIONS", "CONV_METHODS", "CPU_CONV_METHODS", "MOTIF_METHODS", "BACKGROUNDS", "SCAN_MODES", "TRACK_VALUES",
    "changed",
]

#: ``--bg`` keywords (anything else is a MEME background file).
BACKGROUNDS = ("motif-file", "uniform", "input")
SCAN_MODES = ("windows", "records")
#: ``--track-value``: what a window track holds: the model's probability, or ``-log10 p`` (needs a null).
TRACK_VALUES = ("probability", "pvalue")

PathLike = str | os.PathLike


@dataclass(frozen=True)
class InputOptions:
    """What to read.

    Attributes
    ----------
    chroms
        Only these chromosomes (indexed FASTA, or an indexed BAM/CRAM).
    regions
        Only these BED regions; windows and motif hits lie wholly inside them.
    shard
        Part ``I/N`` of the input (:class:`~motifscan.scan.shard.Shard`).
    skip_masked
        Read soft-masked (lower-case) bases as N.
    reference
        Reference FASTA of a CRAM input.
    include_secondary
        Also score secondary and supplementary alignments.
    """

    chroms: tuple[str, ...] | None = None
    regions: PathLike | None = None
    shard: Shard | None = None
    skip_masked: bool = False
    reference: PathLike | None = None
    include_secondary: bool = False

    def __post_init__(self) -> None:
        if self.chroms is not None:
            chroms = tuple(c for c in self.chroms if c)
            object.__setattr__(self, "chroms", chroms or None)


@dataclass(frozen=True)
class RunOptions:
    """How to run.

    Attributes
    ----------
    device
        ``auto`` (a CUDA GPU, then Apple MPS, then the CPU), ``cpu``, ``cuda``, ``cuda:N``, ``mps``.
    threads
        CPU threads for torch (0: torch's default).
    chunk_size
        Bases per chunk (``None``: per device, see :func:`motifscan.scan.batching.default_chunk_size`).
    batch_size
        Rows per batch (``None``: from free memory).
    precision
        Model-scan convolution precision: ``fp32``, ``bf16`` or ``fp16`` (the last two for GPUs).
    conv_method
        Model-scan convolution: see :data:`CONV_METHODS`.
    progress
        Show a progress bar (on a terminal only).
    """

    device: str = "auto"
    threads: int = 0
    chunk_size: int | None = None
    batch_size: int | None = None
    precision: str = "fp32"
    conv_method: str = "auto"
    progress: bool = True

    def __post_init__(self) -> None:
        if self.precision not in PRECISIONS:
            raise UsageError(f"--precision {self.precision!r}", hint="use fp32, bf16 or fp16")
        if self.conv_method not in CONV_METHODS:
            raise UsageError(f"--conv-method {self.conv_method!r}", hint="use " + ", ".join(CONV_METHODS))
        for name in ("chunk_size", "batch_size"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise UsageError(f"--{name.replace('_', '-')} must be >= 1, got {value}")
        if self.threads < 0:
            raise UsageError(f"--threads must be >= 0, got {self.threads}")


@dataclass(frozen=True)
class OutputOptions:
    """What to write.

    Attributes
    ----------
    output
        The main output. Model scans: ``.bedGraph``/``.bw`` (track), ``.bed``/``.narrowPeak``
        (peaks) or ``.tsv`` (records); motif files: ``.tsv`` (FIMO columns), ``.bed``, ``.gff3``.
    fmt
        Format of ``output`` when its extension does not say.
    mode
        Model scans: ``windows`` or ``records`` (``None``: records for reads, else windows).
    peaks
        Model window scans: also write the peaks here, from the same pass.
    hits
        Model scans: also write filter hits (BED6 + matched sequence) here.
    tag_bam
        Model scans of reads: also write the reads back as BAM, each with its score in tag ``ms``.
    command
        The command line, recorded where an output format keeps one (``CL`` of the ``@PG``
        line of ``tag_bam``); ``None`` leaves it out.
    task
        Multi-task models, windows mode: write only this task's track and peaks (at the paths
        given). ``None``: every task, each to its own file ``OUT.TASK.EXT``
        (:func:`motifscan.io.outputs.task_path`); a one-task model writes to the paths given.
    """

    output: PathLike
    fmt: str | None = None
    mode: str | None = None
    peaks: PathLike | None = None
    hits: PathLike | None = None
    tag_bam: PathLike | None = None
    command: str | None = None
    task: str | None = None

    def __post_init__(self) -> None:
        if self.mode is not None and self.mode not in SCAN_MODES:
            raise UsageError(f"--mode {self.mode!r} is not windows or records")
        named = [(p, opt) for p, opt in self.paths() if p is not None]
        resolved = [os.path.realpath(os.fspath(p)) for p, _ in named]
        if len(set(resolved)) < len(resolved):
            raise UsageError(", ".join(opt for _, opt in named) + " must name different files",
                             hint="give each output its own path")

    def paths(self) -> list[tuple[PathLike | None, str]]:
        """Every output with the option that names it."""
        return [(self.output, "-o"), (self.peaks, "--peaks"), (self.hits, "--hits"), (self.tag_bam, "--tag-bam")]


@dataclass(frozen=True)
class WindowOptions:
    """How a model scan scores windows.

    Attributes
    ----------
    window
        Window length (``None``: the model's training length).
    stride
        Step between window starts (windows start at 0, stride, 2 * stride ... of each sequence).
    threshold
        Peaks: windows scoring at least this probability are merged into peaks.
    hit_fraction
        Filter hits: positions reaching this fraction of the filter's largest possible activation.
    fdr
        Peaks: instead of ``threshold``, windows with a Benjamini-Hochberg q-value (over every
        window scanned) ``<= fdr`` are merged into peaks; needs a null.
    track_value
        What a bedGraph / bigWig track holds: ``probability`` or ``pvalue`` (``-log10 p``; needs
        a null).
    """

    window: int | None = None
    stride: int = 50
    threshold: float = 0.5
    hit_fraction: float = 0.75
    fdr: float | None = None
    track_value: str = "probability"

    def __post_init__(self) -> None:
        if self.window is not None and self.window < 1:
            raise UsageError(f"--window must be >= 1, got {self.window}")
        if self.stride < 1:
            raise UsageError(f"--stride must be >= 1, got {self.stride}")
        if not 0 <= self.threshold <= 1:
            raise UsageError(f"--threshold must be in [0, 1], got {self.threshold}")
        if not 0 < self.hit_fraction <= 1:
            raise UsageError(f"--hit-fraction must be in (0, 1], got {self.hit_fraction}")
        if self.fdr is not None and not 0 < self.fdr <= 1:
            raise UsageError(f"--fdr must be in (0, 1], got {self.fdr}")
        if self.track_value not in TRACK_VALUES:
            raise UsageError(f"--track-value {self.track_value!r}", hint="use probability or pvalue")


@dataclass(frozen=True)
class MotifOptions:
    """How a motif file is scored (FIMO's options) and searched.

    Attributes
    ----------
    pvalue
        Report windows with ``p <= pvalue`` (FIMO ``--thresh``).
    background
        ``motif-file`` (each motif's own), ``uniform``, ``input`` (the scanned sequences'
        composition) or a MEME background file; made symmetric, as FIMO does.
    pseudocount
        Added to each motif (FIMO ``--motif-pseudo``).
    pssm_range
        Integer range of a PSSM column (MEME's ``PSSM_RANGE``): 1000 as MEME 5, 100 as FIMO
        releases before 2013.
    motif_format
        ``meme``, ``jaspar``, ``transfac`` or ``homer`` when the extension does not say.
    method
        See :data:`MOTIF_METHODS` (the same hits either way).
    """

    pvalue: float = 1e-4
    background: PathLike = "motif-file"
    pseudocount: float = 0.1
    pssm_range: int = 1000
    motif_format: str | None = None
    method: str = "auto"

    def __post_init__(self) -> None:
        if not 0 < self.pvalue <= 1:
            raise UsageError(f"--pvalue must be in (0, 1], got {self.pvalue}")
        if self.pseudocount < 0:
            raise UsageError(f"--motif-pseudo must be >= 0, got {self.pseudocount}")
        if self.pssm_range < 10:
            raise UsageError(f"--pssm-range {self.pssm_range} is too coarse", hint="use at least 10 (MEME uses 1000)")
        if self.method not in MOTIF_METHODS:
            raise UsageError(f"--motif-method {self.method!r}", hint="use auto, lookahead or dense")


#: ``--ref-from``: whose REF allele the reference window holds.
REF_FROM = ("genome", "vcf")
#: ``motifscan attribute --method``.
ATTRIBUTION_METHODS = ("ism", "grad")


#: Random SNVs in the null of variant p-values by default: about 3,750 per stratum of an
#: RC-shared model (4 GC bins x 2 REF classes), so p = 0.01 (0.005 in each tail) rests on about 19
#: null SNVs (relative standard error about 23%); smaller p-values come from the fitted tail.
NULL_VARIANTS = 30_000


@dataclass(frozen=True)
class VariantOptions:
    """How ``motifscan variants`` scores alleles.

    Attributes
    ----------
    window
        Window length centred on the variant (``None``: the model's training length; unused
        with motif files, which look at every site overlapping the variant).
    ref_from
        ``genome``: a REF that disagrees with the genome gets ``ref_check=mismatch`` and no
        scores; ``vcf``: trust the VCF (the reference window holds its REF; still flagged).
    null_variants
        Models: random SNVs of the genome whose logit changes are the null of the SNVs' p-values
        (:mod:`motifscan.interpret.variant_null`); 0: no ``pvalue``/``qvalue`` columns.
    seed
        Seed of those random SNVs.
    """

    window: int | None = None
    ref_from: str = "genome"
    null_variants: int = NULL_VARIANTS
    seed: int = 0

    def __post_init__(self) -> None:
        if self.window is not None and self.window < 1:
            raise UsageError(f"--window must be >= 1, got {self.window}")
        if self.null_variants < 0:
            raise UsageError(f"--null-variants must be >= 0, got {self.null_variants}")
        if self.ref_from not in REF_FROM:
            raise UsageError(f"--ref-from {self.ref_from!r}", hint="use genome or vcf")


@dataclass(frozen=True)
class AttributionOptions:
    """How ``motifscan attribute`` explains sequences.

    Attributes
    ----------
    method
        ``ism`` (exact in-silico saturation mutagenesis) or ``grad`` (gradient x input).
    task
        Task name or 0-based index (``None``: the first task).
    center
        Subtract the per-position mean over the 4 bases (as tangermeme and TF-MoDISco use).
    length
        Sequence length (BED/narrowPeak windows centred on the summit; FASTA records
        centre-cropped or padded with N); ``None``: the model's training length.
    seqlet_quantile
        Seqlets: a smoothed contribution must exceed this quantile of the same statistic on
        dinucleotide-shuffled copies of the sequences.
    seqlet_window
        Seqlets: bases in the running mean of contributions.
    seed
        Seed of the shuffles behind the seqlet threshold.
    """

    method: str = "ism"
    task: str | int | None = None
    center: bool = False
    length: int | None = None
    seqlet_quantile: float = 0.99
    seqlet_window: int = 5
    seed: int = 0

    def __post_init__(self) -> None:
        if self.method not in ATTRIBUTION_METHODS:
            raise UsageError(f"--method {self.method!r}", hint="use ism or grad")
        if self.length is not None and self.length < 1:
            raise UsageError(f"--length must be >= 1, got {self.length}")
        if not 0 < self.seqlet_quantile < 1:
            raise UsageError(f"--seqlet-quantile must be in (0, 1), got {self.seqlet_quantile}")
        if self.seqlet_window < 1:
            raise UsageError(f"--seqlet-window must be >= 1, got {self.seqlet_window}")


def changed(options: Any) -> dict[str, Any]:
    """The fields of an options object that differ from their defaults (for warnings)."""
    return {f.name: getattr(options, f.name) for f in fields(options)
            if f.default is not getattr(options, f.name) and f.default != getattr(options, f.name)}
