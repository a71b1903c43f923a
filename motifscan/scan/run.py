"""``scan_model``: the library function behind ``motifscan scan MODEL INPUT -o OUT``.

Also :func:`open_source`, which turns a path plus ``--chrom`` / ``--regions`` / ``--shard`` /
``--skip-masked`` into a source the engine streams -- the PWM scan uses it too.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import torch

from ..atomic import check_output_path
from ..device import resolve_device
from ..errors import InputError, UsageError
from ..model import MotifCNN
from ..io.tracks import BedGraphWriter, BigWigWriter
from ..io.hits import HitsWriter
from ..io.peaks import PeakWriter
from ..io.records import RecordsWriter, TaggedBamWriter
from ..io.outputs import output_format
from .progress import Progress
from .batching import default_chunk_size, iter_batches
from .model_scan import ModelScanner
from .shard import RecordFilter, Shard, split_segments
from .sources import FastaSource, Segment, is_alignment_file, open_index, region_segments, whole_segments


log = logging.getLogger("motifscan")


def scan_model(
    model: MotifCNN,
    input_path: str | os.PathLike,
    output: str | os.PathLike,
    *,
    mode: str | None = None,
    fmt: str | None = None,
    window: int | None = None,
    stride: int = 50,
    threshold: float = 0.5,
    hits: str | os.PathLike | None = None,
    hit_fraction: float = 0.75,
    shard: Shard | None = None,
    chroms: list[str] | None = None,
    regions: str | os.PathLike | None = None,
    batch_size: int | None = None,
    chunk_size: int | None = None,
    precision: str = "fp32",
    device: str | torch.device | None = "auto",
    skip_masked: bool = False,
    reference: str | os.PathLike | None = None,
    include_secondary: bool = False,
    tag_bam: str | os.PathLike | None = None,
    quiet: bool = False,
    conv_method: str = "auto",
) -> dict[str, Any]:
    """Scan a FASTA or BAM/CRAM/SAM with a model and write the result to ``output``.

    Parameters
    ----------
    mode
        ``windows`` (sliding windows -> bedGraph / bigWig / peaks) or ``records`` (one row per
        record or read -> TSV). Default: ``records`` for reads or a ``.tsv`` output, else windows.
    fmt
        Output format (default from the extension of ``output``).
    window, stride
        Window length (default the model's training length) and step.
    threshold
        Peak calling threshold (probability).
    hits, hit_fraction
        Also write filter hits (BED6 + sequence) at >= ``hit_fraction`` of each filter's maximum.
    shard, chroms, regions
        Which part of the input (see :func:`open_source`).
    batch_size, chunk_size
        Rows per batch (default from free memory) and chunk step (default per device).
    precision
        ``fp32``, ``bf16`` or ``fp16`` (bf16/fp16 are for GPUs; slow on most CPUs).
    tag_bam
        For reads: write them back as BAM with the score in tag ``ms``.
    conv_method
        ``auto``, ``table`` or ``dense`` (see :class:`~motifscan.scan.model_scan.ModelScanner`).

    Returns
    -------
    dict
        Counters: bases, windows, records, hits, skipped windows, reads without sequence, seconds.
    """
    reads = is_alignment_file(input_path)
    fmt = output_format(output, fmt)
    if mode is None:
        mode = "records" if (reads or fmt == "tsv") else "windows"
    if mode not in ("windows", "records"):
        raise UsageError(f"--mode {mode!r} is not windows or records")
    if mode == "records" and fmt != "tsv":
        raise UsageError(f"--mode records writes a TSV, not {fmt}", path=output, hint="name the output .tsv")
    if mode == "windows" and fmt == "tsv":
        raise UsageError("--mode windows writes bedGraph, bigWig or BED peaks, not a TSV",
                         hint="use -o OUT.bedGraph / OUT.bw / OUT.bed, or --mode records")
    if tag_bam is not None and not reads:
        raise UsageError("--tag-bam needs BAM/CRAM/SAM input")
    for path, opt in ((output, "-o"), (hits, "--hits"), (tag_bam, "--tag-bam")):
        if path is not None:
            check_output_path(path, option=opt)
    if precision not in ("fp32", "bf16", "fp16"):
        raise UsageError(f"--precision {precision!r}", hint="use fp32, bf16 or fp16")
    dev = resolve_device(device)
    if conv_method == "table" and (dev.type != "cpu" or precision != "fp32"):
        raise UsageError("--conv-method table runs on CPU in fp32 only", hint="use --conv-method dense or auto")
    if precision != "fp32" and dev.type == "cpu":
        log.warning("--precision %s on CPU is much slower than fp32 here; fp32 is the CPU default", precision)
    window = int(window or model.config.seq_length)
    if window < model.config.filter_width:
        raise UsageError(f"--window {window} is shorter than the filter width {model.config.filter_width}")
    if stride < 1:
        raise UsageError("--stride must be >= 1")
    scanner = ModelScanner(model, window=window, stride=stride, device=dev, precision=precision,
                           hit_fraction=hit_fraction if hits else None, conv_method=conv_method)
    windows = mode == "windows"
    overlap = (window if windows else model.config.filter_width) - 1
    grid = stride if windows else 1
    source = open_source(input_path, overlap=overlap, grid=grid, records=not windows, chroms=chroms,
                         regions=regions, shard=shard, skip_masked=skip_masked, reference=reference,
                         include_secondary=include_secondary, keep_reads=tag_bam is not None)
    if shard is not None:
        log.info("shard %s: %s bases", shard, f"{source.total:,}" if source.total is not None else "?")
    writers = []
    if windows:
        if fmt == "bedgraph":
            main = BedGraphWriter(output, window, stride)
        elif fmt == "bigwig":
            main = BigWigWriter(output, window, stride, getattr(source, "sizes", None))
        else:
            main = PeakWriter(output, window, threshold)
    else:
        main = RecordsWriter(output, model.config.tasks, scanner.names)
    writers.append(main)
    if hits:
        hit_writer = HitsWriter(hits)
        writers.append(hit_writer)
    bam_writer = TaggedBamWriter(tag_bam, source.header) if tag_bam else None
    if bam_writer:
        writers.append(bam_writer)
    import contextlib

    with contextlib.ExitStack() as stack:
        for w in writers:
            stack.enter_context(w)
        progress = stack.enter_context(Progress(source.total, quiet))
        for batch in iter_batches(source, overlap=overlap, chunk_size=chunk_size or default_chunk_size(dev),
                                  batch_size=batch_size, device=dev, align=grid,
                                  n_filters=model.config.n_filters * (2 if model.config.rc_sharing else 1)):
            out = scanner.process(batch, windows=windows, records=not windows, hits=bool(hits))
            if windows:
                main.write(out["windows"])
            else:
                main.write(out["records"])
                if bam_writer:
                    bam_writer.write(out["records"])
            if hits:
                hit_writer.write(out["hits"])
            progress.update(batch.bases)
        seconds = progress.rate and progress.done / progress.rate
        src_stats = getattr(source, "stats", {})
        if src_stats.get("no_sequence") and not src_stats.get("reads"):  # raised here: no output is kept
            raise InputError(f"none of the {src_stats['no_sequence']:,} selected reads has a stored sequence "
                             "(SEQ is '*')", path=input_path,
                             hint="scan a BAM/CRAM that keeps read sequences, or a FASTA of the reads")
    stats = dict(scanner.stats)
    stats.update(getattr(source, "stats", {}))
    stats["bases"] = progress.done
    stats["seconds"] = seconds
    if windows:
        stats.pop("too_short", None)
    else:
        stats.pop("windows", None)
        stats.pop("skipped_n", None)
        stats["records"] = main.count
    if hits:
        stats["hits"] = hit_writer.count
    if isinstance(main, PeakWriter):
        stats["peaks"] = main.count
    _log_stats(stats, output)
    return stats


def _log_stats(stats: dict, output) -> None:
    mbps = stats["bases"] / max(stats["seconds"] or 1e-9, 1e-9) / 1e6
    parts = [f"{stats['bases']:,} bases in {stats['seconds']:.1f} s ({mbps:.2f} Mbp/s)"]
    for key, label in (("windows", "windows"), ("peaks", "peaks"), ("records", "records"), ("hits", "hits")):
        if key in stats:
            parts.append(f"{stats[key]:,} {label}")
    log.info("scanned %s -> %s", ", ".join(parts), output)
    if stats.get("skipped_n"):
        log.info("%d windows skipped: more than half N", stats["skipped_n"])
    if stats.get("too_short"):
        log.warning("%d records shorter than the filter width were not scored", stats["too_short"])
    if stats.get("no_sequence"):
        log.warning("%d reads without a stored sequence were skipped", stats["no_sequence"])
