"""The two scans as library functions: :func:`scan_model` and :func:`scan_motifs`.

``motifscan scan MODEL INPUT -o OUT`` runs :func:`scan_model`; ``motifscan scan MOTIFS INPUT -o
OUT`` (a MEME, JASPAR, TRANSFAC or HOMER file) runs :func:`scan_motifs`. Both take the same
options objects (:mod:`motifscan.scan.options`): what to read, how to run, what to write; both
check every output before any work (none may be an input or another output), open the input
(:func:`~motifscan.scan.sources.open_source`), stream it through the batching engine (:func:`~motifscan.scan.batching.iter_batches`) and hand
each batch's results to the writers of :mod:`motifscan.io`, whose files are renamed into place
together, only when the whole scan succeeded (one :func:`~motifscan.atomic.output_set`).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from ..atomic import check_distinct, check_output_path, current_output_set, writes_outputs
from ..data.tasks import task_index
from ..device import set_threads
from ..errors import InputError, UsageError
from ..io.fimo import HitSink
from ..io.hits import HitsWriter
from ..io.manifest import ShardManifest, file_entry, manifest_path, write_manifest
from ..io.motif_formats import read_motifs
from ..io.outputs import MODEL_FORMATS, WindowTarget, hit_output_format, output_format, task_path
from ..io.peaks import SignificantPeakWriter, sidecar_path
from ..io.reads import is_alignment_file
from ..io.records import RecordsWriter, TaggedBamWriter
from ..model_file import ModelFile, model_digest
from ..motifs.pwm import Motif
from ..stats.null import WindowNull
from ..text import plural
from .batching import default_chunk_size, iter_batches
from .model_scan import ModelScanner
from ..kernels.methods import resolve_compute
from .options import InputOptions, MotifOptions, OutputOptions, RunOptions, WindowOptions
from .progress import Progress
from .significance import WindowSignificance, mlog10
from .sources import open_source

if TYPE_CHECKING:
    from ..model import MotifCNN

__all__ = ["scan_model", "check_fdr_output", "scan_motifs", "model_scan_mode"]

log = logging.getLogger("motifscan")

#: Bases per chunk of the lookahead (CPU) motif scan; rows are packed up to LOOKAHEAD_BATCH bases.
LOOKAHEAD_CHUNK = 1 << 17
LOOKAHEAD_BATCH = 1 << 19
#: A record this long scored as one record, with the mode chosen from the output name, is
#: probably a chromosome that was meant to be scanned in windows: say so as soon as it shows.
LONG_RECORD = 1_000_000
#: Threads writing the tracks of a multi-output windows scan.
WRITE_THREADS = 4


def _as_output(output: str | os.PathLike | OutputOptions) -> OutputOptions:
    return output if isinstance(output, OutputOptions) else OutputOptions(output)


def model_scan_mode(input_path: str | os.PathLike, out: OutputOptions) -> tuple[str, str, str]:
    """``(mode, format, why)`` of a model scan, checked before any work.

    ``--mode`` wins; otherwise reads give records, a ``.tsv``/``.txt`` output gives records, and
    any other output gives windows. ``why`` says which rule chose the mode (for the log).
    """
    reads = is_alignment_file(input_path)
    fmt = output_format(out.output, out.fmt)
    if out.mode is not None:
        mode, why = out.mode, "--mode"
    elif reads:
        mode, why = "records", "reads are scored one row each"
    elif fmt == "tsv":
        ext = os.path.splitext(os.fspath(out.output))[1] or "TSV"
        mode, why = "records", (f"a {ext} output holds one row per FASTA record; for a genome track or "
                                "peaks name it .bw, .bedGraph or .bed")
    else:
        mode, why = "windows", f"a {fmt} output holds windows"
    if mode == "records" and fmt != "tsv":
        raise UsageError(f"--mode records writes a TSV, not {fmt}", path=out.output, hint="name the output .tsv")
    if mode == "windows" and fmt == "tsv":
        raise UsageError("--mode windows writes bedGraph, bigWig or BED peaks, not a TSV",
                         hint="use -o OUT.bedGraph / OUT.bw / OUT.bed, or --mode records")
    if out.tag_bam is not None and not reads:
        raise UsageError("--tag-bam needs BAM/CRAM/SAM input")
    if out.peaks is not None:
        if mode != "windows":
            raise UsageError("--peaks needs a windows scan", hint="write a track (-o OUT.bw) with --peaks PEAKS.bed")
        if output_format(out.peaks) != "peaks":
            raise UsageError(f"--peaks {out.peaks} is not a BED file", hint="name it .bed or .narrowPeak")
        if fmt == "peaks":
            raise UsageError("-o is already a peak file", hint="use -o for the track and --peaks for the peaks")
    for path, opt in out.paths():
        if path is not None:
            check_output_path(path, option=opt)
    return mode, fmt, why


def task_columns(tasks: Sequence[str], out: OutputOptions, mode: str) -> list[tuple[int, str | None]]:
    """``(column, task suffix)`` of every track (and peak file) a windows scan writes.

    A one-task model, or ``--task NAME``, writes one file at the path given (suffix ``None``);
    a multi-task model writes one per task, at :func:`~motifscan.io.outputs.task_path`.
    """
    if out.task is not None:
        column = task_index(tasks, out.task)
        if mode != "windows":
            raise UsageError("--task picks the track and peaks of one task; records have a column per task",
                             hint="leave --task out in records mode")
        return [(column, None)]
    if len(tasks) == 1 or mode != "windows":
        return [(0, None)]
    return [(k, t) for k, t in enumerate(tasks)]


def _task_file(path, suffix: str | None):
    return path if suffix is None else task_path(path, suffix)


def _model_inputs(model_file, input_path, inputs: InputOptions) -> list[tuple[str, Any]]:
    """The files a scan reads, named by their argument or option."""
    return [("MODEL", model_file), ("INPUT", input_path), ("--regions", inputs.regions),
            ("--reference", inputs.reference)]


def _files_written(out: OutputOptions, columns: Sequence[tuple[int, str | None]], mode: str) -> list[tuple[str, Any]]:
    """Every file a scan writes (one track and peak file per task column), named by its option."""
    files = []
    for path, opt in out.paths():
        if path is None:
            continue
        per_task = mode == "windows" and opt in ("-o", "--peaks")
        files += [(opt, _task_file(path, s)) for _c, s in columns] if per_task else [(opt, path)]
    return files


@writes_outputs
def scan_model(
    model: MotifCNN | ModelFile,
    input_path: str | os.PathLike,
    output: str | os.PathLike | OutputOptions,
    *,
    windows: WindowOptions = WindowOptions(),
    inputs: InputOptions = InputOptions(),
    run: RunOptions = RunOptions(),
    null: WindowNull | None = None,
) -> dict[str, Any]:
    """Scan a FASTA or BAM/CRAM/SAM with a model and write what ``output`` asks for.

    Parameters
    ----------
    model
        The model, or its file read by :func:`~motifscan.model_file.read_model_file`: a fused
        window scan on the CPU then runs without torch (:class:`~motifscan.scan.model_scan.ModelScanner`).
    input_path
        FASTA (plain, gzip, bgzip, ``-``) or BAM/CRAM/SAM reads.
    output
        A path (format from its extension) or :class:`~motifscan.scan.options.OutputOptions`
        (format, mode, and the extra outputs of the same pass: peaks, filter hits, tagged BAM).
        Windows mode writes a bedGraph / bigWig track or BED peaks; records mode (reads, or a
        ``.tsv`` output) one row per record or read; see :func:`model_scan_mode`.
    windows
        Window, stride, peak threshold, filter-hit fraction.
    inputs
        Which part of the input (chromosomes, regions, shard, soft-masking, alignments).
    run
        Device, threads, chunk and batch sizes, precision, convolution method, progress bar.
    null
        The null of the model's window scores (:func:`motifscan.interpret.calibrate.calibrate`
        or :func:`~motifscan.interpret.calibrate.load_null`), for the same window: peaks get
        ``-log10 p`` and ``-log10 q`` (narrowPeak columns 8 and 9); needed by ``windows.fdr``
        and ``windows.track_value == "pvalue"``.

    Returns
    -------
    dict
        Counters: bases, windows or records, peaks, hits, skipped windows, reads without
        sequence, seconds.
    """
    out = _as_output(output)
    mode, fmt, why = model_scan_mode(input_path, out)
    set_threads(run.threads)
    window = int(windows.window or model.config.seq_length)
    if window < model.config.filter_width:
        raise UsageError(f"--window {window} is shorter than the filter width {model.config.filter_width}")
    columns = task_columns(model.config.tasks, out, mode)
    significance = _significance(null, windows, mode, model, window, out)
    written = _files_written(out, columns, mode)
    if inputs.shard is not None and mode == "windows":
        written += [("-o's shard manifest", manifest_path(_task_file(out.output, s))) for _c, s in columns]
        if significance is not None:  # each shard's peak p-values, for gather
            written += [(f"{opt}'s p-values", sidecar_path(_task_file(path, s))) for _c, s in columns
                        for path, opt in ((out.output, "-o"), (out.peaks, "--peaks"))
                        if path is not None and (opt == "--peaks" or fmt == "peaks")]
    check_distinct(_model_inputs(model.source, input_path, inputs), written)
    if len(columns) > 1:
        for path, opt in ((out.output, "-o"), (out.peaks, "--peaks")):
            if path is not None:
                for _column, suffix in columns:
                    check_output_path(task_path(path, suffix), option=opt)
    compute = resolve_compute(run.device, "scan", method=run.conv_method, precision=run.precision)
    dev = compute.device
    scanner = ModelScanner(model, window=window, stride=windows.stride, device=dev, precision=compute.precision,
                           hit_fraction=windows.hit_fraction if out.hits else None, conv_method=compute.method)
    if len(columns) > 1:
        log.info("%d tasks: one track%s per task, %s", len(columns), " and peak file" if out.peaks else "",
                 ", ".join(str(task_path(out.output, s)) for _c, s in columns[:3]) + (" ..." if len(columns) > 3 else ""))
    log.info("mode: %s (%s) -> %s", mode, why, out.output)
    in_windows = mode == "windows"
    overlap = (window if in_windows else model.config.filter_width) - 1
    grid = windows.stride if in_windows else 1
    source = open_source(input_path, inputs, overlap=overlap, grid=grid, records=not in_windows,
                         keep_reads=out.tag_bam is not None, sizes=in_windows and fmt == "bigwig")
    if inputs.shard is not None:
        log.info("shard %s: %s bases", inputs.shard, f"{source.total:,}" if source.total is not None else "?")
    with contextlib.ExitStack() as stack:
        if in_windows:
            window_writers, peak_writers = [], []
            for column, suffix in columns:
                target = _task_file(out.output, suffix)
                if fmt == "peaks":  # peaks may carry significance: the scan's own peak writer
                    writer = _peak_writer(target, window, windows, column, significance, inputs.shard is not None)
                    peak_writers.append(writer)
                else:
                    writer = MODEL_FORMATS[fmt].writer(target, WindowTarget(window, windows.stride, windows.threshold,
                                                                            source.sizes, column))
                window_writers.append(stack.enter_context(writer))
                if out.peaks is not None:
                    peaks = _peak_writer(_task_file(out.peaks, suffix), window, windows, column, significance,
                                         inputs.shard is not None)
                    window_writers.append(stack.enter_context(peaks))
                    peak_writers.append(peaks)
        else:
            main = stack.enter_context(RecordsWriter(out.output, model.config.tasks, scanner.names))
        hit_writer = stack.enter_context(HitsWriter(out.hits)) if out.hits else None
        bam_writer = (stack.enter_context(TaggedBamWriter(out.tag_bam, source.header, command=out.command))
                      if out.tag_bam else None)
        progress = stack.enter_context(Progress(source.total, not run.progress))
        # several tracks (one per task): written side by side, as their compression (zlib) and
        # binning (numpy) run without the GIL; peaks (light, pure Python) in this thread meanwhile
        track_writers = [w for w in window_writers if w not in peak_writers] if in_windows else []
        write_pool = (stack.enter_context(ThreadPoolExecutor(min(len(track_writers), WRITE_THREADS)))
                      if len(track_writers) > 1 else None)
        # records mode chosen from the output name, over whole FASTA records: warn (once, as soon
        # as it shows) when a record is as long as a chromosome -- a genome scored as one row each
        watch_long = (not in_windows and out.mode is None and inputs.regions is None
                      and not is_alignment_file(input_path))
        chunk, max_bases = scanner.batch_layout(records=not in_windows, hits=hit_writer is not None)
        batches = iter_batches(source, overlap=overlap, chunk_size=run.chunk_size or chunk or default_chunk_size(dev),
                               batch_size=run.batch_size, device=dev, align=grid, max_bases=max_bases,
                               n_filters=model.config.n_filters * (2 if model.config.rc_sharing else 1),
                               pack=in_windows and hit_writer is None)
        # the next batch is scored while this one is written
        for batch, result in scanner.process_all(batches, windows=in_windows, records=not in_windows,
                                                 hits=hit_writer is not None):
            if in_windows:
                ws = result.windows
                if significance is not None:
                    significance.annotate(batch, ws)
                # tracks of -log10 p: the same windows with their p-values as the values
                tws = replace(ws, score=mlog10(ws.log_p)) if windows.track_value == "pvalue" else ws
                if write_pool is None:
                    for writer in window_writers:
                        writer.write(ws if writer in peak_writers else tws)
                else:  # one call per writer per batch, all done before the next batch: same files
                    pending = [write_pool.submit(w.write, tws) for w in track_writers]
                    for writer in peak_writers:
                        writer.write(ws)
                    for job in pending:
                        job.result()
            else:
                main.write(result.records)
                if bam_writer:
                    bam_writer.write(result.records)
                if watch_long and len(batch.ends) and int(batch.ends.max()) >= LONG_RECORD:
                    watch_long = False
                    _warn_long_record(batch.names[int(np.argmax(batch.ends))], fmt, out.output)
            if hit_writer:
                hit_writer.write(result.hits)
            progress.update(batch.bases)
        seconds = progress.rate and progress.done / progress.rate
        src_stats = getattr(source, "stats", {})
        if src_stats.get("no_sequence") and not src_stats.get("reads"):  # raised here: no output is kept
            raise InputError(f"none of the {src_stats['no_sequence']:,} selected reads has a stored sequence "
                             "(SEQ is '*')", path=input_path,
                             hint="scan a BAM/CRAM that keeps read sequences, or a FASTA of the reads")
    if inputs.shard is not None and in_windows:
        _write_manifests(model, out, columns, fmt, window, windows, inputs, run, getattr(source, "sizes", None), null)
    stats = dict(scanner.stats)
    stats.update(getattr(source, "stats", {}))
    stats["bases"] = progress.done
    stats["seconds"] = seconds
    if in_windows:
        stats.pop("too_short", None)
        if peak_writers:
            stats["peaks"] = sum(w.count for w in peak_writers)
        if significance is not None:
            stats["pvalue_counts"] = significance.counts
            if windows.fdr is not None:
                log.info("FDR %g: %s peaks with q <= %g, over %s windows", windows.fdr, f"{stats.get('peaks', 0):,}",
                         windows.fdr, f"{int(significance.counts.total[0]):,}")
    else:
        stats.pop("windows", None)
        stats.pop("skipped_n", None)
        stats["records"] = main.count
    if hit_writer:
        stats["hits"] = hit_writer.count
    _log_stats(stats, out.output)
    return stats


def _significance(null: WindowNull | None, windows: WindowOptions, mode: str, model: MotifCNN | ModelFile,
                  window: int, out: OutputOptions) -> WindowSignificance | None:
    """The p-value bookkeeping of a scan with a null, after checking the options that need one."""
    needs = [opt for opt, on in (("--fdr", windows.fdr is not None),
                                 ("--track-value pvalue", windows.track_value == "pvalue")) if on]
    check_fdr_output(out, windows)
    if null is None:
        if needs:
            raise UsageError(f"{needs[0]} needs a null of the model's window scores",
                             hint="give --null null.h5 from 'motifscan calibrate', or let 'motifscan scan' build one")
        return None
    if mode != "windows":
        raise UsageError("a null gives p-values of windows; records mode has none", hint="scan in windows mode")
    if tuple(null.tasks) != tuple(model.config.tasks):
        raise UsageError(f"the null's tasks ({', '.join(null.tasks)}) are not the model's "
                         f"({', '.join(model.config.tasks)})", hint="calibrate this model")
    return WindowSignificance(null, window)


def check_fdr_output(out: OutputOptions, windows: WindowOptions) -> None:
    """``--fdr`` chooses peaks: refuse it (before any work) when the scan writes none."""
    if windows.fdr is not None and not (out.peaks or output_format(out.output, out.fmt) == "peaks"):
        raise UsageError("--fdr chooses peaks, and this scan writes none", hint="give -o PEAKS.bed or --peaks PEAKS.bed")


def _peak_writer(path, window: int, windows: WindowOptions, column: int, significance: WindowSignificance | None,
                 shard: bool):
    if significance is None:
        return MODEL_FORMATS["peaks"].writer(path, WindowTarget(window, windows.stride, windows.threshold, None, column))
    # a shard's q-values need every shard's counts: it hands its counts and candidates to gather
    counts = (lambda: significance.counts.counts[column]) if shard else None
    return SignificantPeakWriter(path, window, column=column, candidate=significance.candidate(windows.fdr),
                                 peak_log_q=significance.peak_log_q(column, windows.fdr),
                                 threshold=windows.threshold, fdr=windows.fdr, sidecar_counts=counts)
def _digest(*parts: bytes) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(len(part).to_bytes(8, "little"))
        h.update(part)
    return h.hexdigest()


#: Records of a genome digested at a time by :func:`_sizes_digest`.
_DIGEST_RECORDS = 1 << 16


def _sizes_digest(sizes) -> str:
    """``_digest`` of the text ``name<TAB>length<NL>`` of every record, in order.

    Sizes held as columns (:class:`~motifscan.io.fasta.RecordSizes`: a draft assembly's 10^6
    scaffolds) are digested a block of records at a time, the text's length counted from the
    columns first, so no text or ``str`` of the whole genome is made (that was a shard's peak
    memory, ~100 MB at 10^6 scaffolds); the digest is the same.
    """
    names, lengths = getattr(sizes, "names", None), getattr(sizes, "lengths", None)
    if names is None or lengths is None:
        return _digest("".join(f"{c}\t{n}\n" for c, n in sizes.items()).encode())
    lengths = np.asarray(lengths, dtype=np.int64)
    digits = len(lengths) + sum(int(np.count_nonzero(lengths >= 10**k)) for k in range(1, 19))
    name_bytes = sum(len(n.encode()) for n in names) if not hasattr(names, "blob") else len(names.blob) - len(names)
    h = hashlib.sha256()
    h.update((name_bytes + digits + 2 * len(lengths)).to_bytes(8, "little"))
    for lo in range(0, len(lengths), _DIGEST_RECORDS):
        hi = min(lo + _DIGEST_RECORDS, len(lengths))
        h.update("".join(f"{c}\t{n}\n" for c, n in zip(names[lo:hi], lengths[lo:hi].tolist())).encode())
    return h.hexdigest()


def _write_manifests(model: MotifCNN | ModelFile, out: OutputOptions, columns, fmt: str, window: int, windows: WindowOptions,
                     inputs: InputOptions, run: RunOptions, sizes: dict[str, int] | None,
                     null: WindowNull | None = None) -> None:
    """Beside each track of a shard: what gathering needs to check the set (:mod:`motifscan.io.manifest`)."""
    outputs = current_output_set()
    regions = None
    if inputs.regions is not None:
        with open(inputs.regions, "rb") as fh:
            regions = _digest(fh.read())
    common = {
        "model": model_digest(model), "format": fmt, "window": window, "stride": windows.stride,
        "threshold": windows.threshold, "precision": run.precision,
        "hit_fraction": windows.hit_fraction if out.hits else None,
        "chroms": list(inputs.chroms) if inputs.chroms else None, "regions": regions,
        "skip_masked": inputs.skip_masked,
        "genome": None if sizes is None else _sizes_digest(sizes),
        # shards with p-values: one null, one FDR, one kind of track value
        "null": None if null is None else null.digest(), "fdr": windows.fdr, "track_value": windows.track_value,
    }
    for column, suffix in columns:
        track = _task_file(out.output, suffix)
        files = {"track": file_entry(track, outputs.written(track))}
        if out.peaks is not None:
            peaks = _task_file(out.peaks, suffix)
            files["peaks"] = file_entry(peaks, outputs.written(peaks))
            if null is not None:
                side = sidecar_path(peaks)
                files["pvalues"] = file_entry(side, outputs.written(side))
        settings = {**common, "task": model.config.tasks[column]}
        write_manifest(track, ShardManifest.new((inputs.shard.index, inputs.shard.count), settings, files))


def _warn_long_record(name: str, fmt: str, output) -> None:
    ext = os.path.splitext(os.fspath(output))[1] or fmt
    log.warning("records mode (from the %s output name) scores each FASTA record as ONE sequence, and "
                "record %s is over %s bp: for a genome track or peaks give -o OUT.bw, OUT.bedGraph or "
                "OUT.bed (or --mode windows); --mode records keeps one row per record without this "
                "warning", ext, name, f"{LONG_RECORD:,}")


def _log_stats(stats: dict, output) -> None:
    mbps = stats["bases"] / max(stats["seconds"] or 1e-9, 1e-9) / 1e6
    parts = [f"{stats['bases']:,} bases in {stats['seconds']:.1f} s ({mbps:.2f} Mbp/s)"]
    for key, noun in (("windows", "window"), ("peaks", "peak"), ("records", "record"), ("hits", "hit")):
        if key in stats:
            parts.append(plural(stats[key], noun, commas=True))
    log.info("scanned %s -> %s", ", ".join(parts), output)
    if stats.get("skipped_n"):
        log.info("%s skipped: more than half N", plural(stats["skipped_n"], "window"))
    if stats.get("too_short"):
        log.warning("%s shorter than the filter width %s not scored", plural(stats["too_short"], "record"),
                    "was" if stats["too_short"] == 1 else "were")
    if stats.get("no_sequence"):
        log.warning("%s without a stored sequence %s skipped", plural(stats["no_sequence"], "read"),
                    "was" if stats["no_sequence"] == 1 else "were")


# ---------------------------------------------------------------------------- motif files
#: Model-scan outputs a motif scan cannot write.
_MODEL_ONLY_OUTPUTS = {"mode": "--mode", "peaks": "--peaks", "hits": "--hits", "tag_bam": "--tag-bam"}


def check_motif_outputs(out: OutputOptions) -> str:
    """The hit format of a motif scan's output (``tsv``, ``bed``, ``gff3``), checked before any work."""
    for name, opt in _MODEL_ONLY_OUTPUTS.items():
        if getattr(out, name) is not None:
            raise UsageError(f"{opt} is for model scans; a motif file writes its hits to -o",
                             hint="leave it out, or scan with a model (.h5)")
    fmt = hit_output_format(out.output, out.fmt)
    check_output_path(out.output)
    return fmt


@writes_outputs
def scan_motifs(
    motifs: str | os.PathLike | Sequence[Motif],
    input_path: str | os.PathLike,
    output: str | os.PathLike | OutputOptions,
    *,
    options: MotifOptions = MotifOptions(),
    inputs: InputOptions = InputOptions(),
    run: RunOptions = RunOptions(),
) -> dict:
    """Scan ``input_path`` with every motif of ``motifs``; write FIMO-style hits to ``output``.

    Parameters
    ----------
    motifs
        A motif file (MEME, JASPAR, TRANSFAC, HOMER) or a list of :class:`Motif`.
    input_path
        FASTA (plain, gzip, bgzip, ``-``) or BAM/CRAM/SAM reads.
    output
        ``.tsv`` (FIMO columns), ``.bed`` or ``.gff3`` (see :mod:`motifscan.io.fimo`), as a path or
        :class:`~motifscan.scan.options.OutputOptions` (with a format).
    options
        p-value threshold, background (or a ``(4,)`` array), pseudocount, PSSM range, motif file
        format, search method (:class:`~motifscan.scan.options.MotifOptions`).
    inputs, run
        What to read and how to run, as for the model scan; results never depend on ``run``.

    Returns
    -------
    dict
        ``hits``, ``bases``, ``seconds``, ``motifs``, ``unreachable`` (ids), ``output``.
    """
    from .motif_bank import MotifBank, resolve_background  # torch: loaded by motif scans only
    from .motif_scan import scan_batch

    out = _as_output(output)
    fmt = check_motif_outputs(out)
    check_distinct([("MOTIFS", motifs if isinstance(motifs, (str, os.PathLike)) else None),
                    *_model_inputs(None, input_path, inputs)], [("-o", out.output)])
    set_threads(run.threads)
    if isinstance(motifs, (str, os.PathLike)):
        motif_list = read_motifs(motifs, options.motif_format)
    else:
        motif_list = list(motifs)
    if not motif_list:
        raise InputError("no motifs", path=motifs if isinstance(motifs, (str, os.PathLike)) else None)
    overlap = max(m.width for m in motif_list) - 1
    source = open_source(input_path, inputs, overlap=overlap)
    bg = resolve_background(options.background, source)
    t0 = time.perf_counter()
    bank = MotifBank(motif_list, background=bg, pseudocount=options.pseudocount, pvalue=options.pvalue,
                     range_=options.pssm_range)
    bank.check_reachable(motifs if isinstance(motifs, (str, os.PathLike)) else None)
    compute = resolve_compute(run.device, "motifs", method=options.method)
    dev, lookahead = compute.device, compute.method == "lookahead"
    if lookahead:
        bank.lookahead_index()
    log.info("%d motifs (%d cannot reach p <= %g) ready in %.1f s", len(motif_list), len(bank.unreachable),
             options.pvalue, time.perf_counter() - t0)
    if inputs.shard is not None:
        log.info("shard %s: %s bases", inputs.shard, f"{source.total:,}" if source.total is not None else "?")
    sink = HitSink(bank, out.output, fmt)
    with contextlib.ExitStack() as stack:
        stack.callback(sink.close)
        progress = stack.enter_context(Progress(source.total, not run.progress, desc="motifs"))
        batches = iter_batches(
            source, overlap=overlap, chunk_size=run.chunk_size or (LOOKAHEAD_CHUNK if lookahead else None),
            batch_size=run.batch_size, device="cpu" if lookahead else dev,
            max_bases=LOOKAHEAD_BATCH if lookahead else None)
        for batch in batches:
            hits, names, tests = scan_batch(bank, batch, "lookahead" if lookahead else "dense")
            sink.add(hits, names, tests)
            progress.update(batch.bases)
        seconds = time.perf_counter() - t0
        bases = progress.done
        stats = getattr(source, "stats", {})
        if stats.get("no_sequence") and not stats.get("reads"):
            raise InputError(
                f"none of the {stats['no_sequence']:,} selected reads has a stored sequence (SEQ is '*')",
                path=input_path,
                hint="scan a BAM/CRAM that keeps read sequences, or a FASTA of the reads",
            )
        summary = sink.finish()
    mbps = bases / max(seconds, 1e-9) / 1e6
    log.info("scanned %s bases with %d motifs in %.1f s (%.2f Mbp/s), %s hits -> %s",
             f"{bases:,}", len(motif_list), seconds, mbps, f"{summary['hits']:,}", out.output)
    return {"hits": summary["hits"], "bases": bases, "seconds": seconds, "motifs": len(motif_list),
            "unreachable": [motif_list[i].id for i in bank.unreachable], "output": str(out.output)}
