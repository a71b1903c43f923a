"""The PWM half of ``motifscan scan``: options for motif files and the call into the library.

``motifscan scan MOTIFS INPUT -o hits.tsv`` (MOTIFS = .meme, .jaspar, .transfac, .motif) scans
like FIMO: same scores, exact p-values, per-motif q-values; see
:func:`motifscan.scan.pwm_run.scan_motifs`. The ``scan`` command adds :func:`pwm_options` to
its own and calls :func:`run_motif_scan` when MODEL is not an HDF5 model.
"""

from __future__ import annotations

import logging
from typing import Callable

import click

from ..errors import UsageError

__all__ = ["pwm_options", "run_motif_scan"]

log = logging.getLogger("motifscan")

# model-scan options that mean nothing for a motif scan: warn when they are set
_MODEL_ONLY = {"mode": None, "window": None, "threshold": 0.5, "hits": None, "stride": 50,
               "precision": "fp32", "hit_fraction": 0.75, "tag_bam": None, "conv_method": "auto"}


def pwm_options(func: Callable) -> Callable:
    """Add ``--pvalue``, ``--bg``, ``--motif-pseudo``, ``--pssm-range``, ``--motif-format``, ``--motif-method``."""
    func = click.option(
        "--motif-method", type=click.Choice(["auto", "lookahead", "dense"]), default="auto",
        help="Motif files: how windows are found (same hits either way): auto = dense "
             "convolution on a GPU, lookahead index on CPU.",
    )(func)
    func = click.option(
        "--motif-format", type=click.Choice(["meme", "jaspar", "transfac", "homer"]),
        help="Motif files: the format, when the extension does not say.",
    )(func)
    func = click.option(
        "--pssm-range", type=click.IntRange(min=10), default=1000, show_default=True,
        help="Motif files: integer range of a PSSM column (MEME PSSM_RANGE): 1000 as MEME 5; "
             "100 gives the p-values of FIMO releases before 2013.",
    )(func)
    func = click.option(
        "--motif-pseudo", type=click.FloatRange(min=0), default=0.1, show_default=True,
        help="Motif files: pseudocount added to each motif (FIMO --motif-pseudo).",
    )(func)
    func = click.option(
        "--bg", default="motif-file", show_default=True,
        help="Motif files: background for log-odds and p-values: motif-file, uniform, input "
             "(the scanned sequences' composition) or a MEME background file; made symmetric.",
    )(func)
    return click.option(
        "--pvalue", type=click.FloatRange(min=0, max=1, min_open=True), default=1e-4, show_default=True,
        help="Motif files: report windows with p-value <= this (FIMO --thresh).",
    )(func)


def run_motif_scan(motifs_path, input_path, output, **params) -> int:
    """Run the PWM scan for ``motifscan scan`` (``params`` are the scan command's options).

    Uses ``pvalue``, ``bg``, ``motif_pseudo``, ``motif_format``, ``motif_method``, ``fmt``,
    ``shard``, ``chroms``, ``regions``, ``skip_masked``, ``reference``, ``include_secondary``,
    ``chunk_size``, ``batch_size``, ``device``, ``quiet``; warns about model-only options.
    Returns the exit code (0).
    """
    from pathlib import Path

    from ..errors import ModelFileError
    from ..scan.run import scan_motifs

    if Path(motifs_path).suffix.lower() in (".h5", ".hdf5", ".hdf") and not params.get("motif_format"):
        # the scan command sends every non-HDF5 file here; a model name means a broken model
        raise ModelFileError("not an HDF5 model file (corrupt, truncated or another format)", path=motifs_path,
                             hint="give a model written by 'motifscan train', or a motif file "
                                  "(.meme, .jaspar, .transfac, .motif)")
    for key, default in _MODEL_ONLY.items():
        if key in params and params[key] not in (None, default, False):
            log.warning("--%s applies to model scans and is ignored for motif files", key.replace("_", "-"))
    fmt = params.get("fmt")
    if fmt not in (None, "tsv"):
        raise UsageError(f"--format {fmt} is for model scans; motif hits are written as .tsv, .bed or .gff3",
                         hint="name the output .tsv, .bed or .gff3")
    scan_motifs(
        motifs_path, input_path, output,
        pvalue=params.get("pvalue", 1e-4),
        background=params.get("bg") or "motif-file",
        pseudocount=params.get("motif_pseudo", 0.1),
        pssm_range=params.get("pssm_range", 1000),
        motif_format=params.get("motif_format"),
        fmt=fmt,
        method=params.get("motif_method") or "auto",
        chroms=params.get("chroms"),
        regions=params.get("regions"),
        shard=params.get("shard"),
        skip_masked=bool(params.get("skip_masked")),
        reference=params.get("reference"),
        include_secondary=bool(params.get("include_secondary")),
        chunk_size=params.get("chunk_size"),
        batch_size=params.get("batch_size"),
        device=params.get("device") or "cpu",
        quiet=bool(params.get("quiet")),
    )
    return 0
