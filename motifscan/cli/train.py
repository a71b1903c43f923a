"""``motifscan train`` and ``motifscan evaluate``."""

from __future__ import annotations

import shlex
from contextlib import nullcontext
from pathlib import Path

import click

from ..atomic import atomic_path, check_distinct, check_output_path, named_inputs
from ..errors import UsageError
from ..train import TrainOptions
from ._base import cli, device_options, invocation, log, quiet_option, task_inputs
from ._inputs import model_first


def _chroms(value: str | None) -> list[str] | None:
    return None if value is None else [c.strip() for c in value.split(",") if c.strip()]


@cli.command(context_settings={"show_default": True})
@click.argument("positives", nargs=-1, type=click.Path(dir_okay=False))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="Model file to write (.h5).")
@click.option("--task-names", help="Several POSITIVES: comma-separated task names [default: the file stems].")
@click.option("--samplesheet", type=click.Path(dir_okay=False),
              help="Tasks from a TSV (columns name, peaks, and optionally negatives, genome) instead of POSITIVES.")
@click.option("--genome", type=click.Path(dir_okay=False), help="Genome FASTA (plain or bgzip) for BED positives or background negatives.")
@click.option("--negatives", help="'shuffle' (dinucleotide), 'background' (GC-matched genome regions) or a FASTA/BED file "
              "[default: shuffle; background for BED tasks pooled on one genome].")
@click.option("--neg-ratio", type=click.IntRange(min=1), default=TrainOptions.neg_ratio,
              help="Generated negatives per positive.")
@click.option("--length", type=click.IntRange(min=1), default=TrainOptions.length,
              help="Sequence length (BED windows centred on summit/midpoint; FASTA cropped or N-padded).")
@click.option("--filters", "n_filters", type=click.IntRange(min=1), default=TrainOptions.n_filters,
              help="Number of shared filters.")
@click.option("--filter-width", type=click.IntRange(min=1), default=TrainOptions.filter_width, help="Filter width in bp.")
@click.option("--no-rc", is_flag=True, help="Turn reverse-complement parameter sharing off.")
@click.option("--hidden", type=click.IntRange(min=0), default=TrainOptions.hidden,
              help="Units of a hidden dense layer (0: linear head).")
@click.option("--dropout", type=click.FloatRange(0, 1, max_open=True), default=TrainOptions.dropout)
@click.option("--epochs", type=click.IntRange(min=1), default=TrainOptions.epochs, help="Maximum epochs.")
@click.option("--patience", type=click.IntRange(min=1), default=TrainOptions.patience,
              help="Epochs without better validation AUPRC before stopping.")
@click.option("--batch-size", type=click.IntRange(min=1), default=TrainOptions.batch_size)
@click.option("--lr", type=click.FloatRange(min=0, min_open=True), default=TrainOptions.lr, help="Adam learning rate.")
@click.option("--seed", type=int, default=TrainOptions.seed, help="Random seed (same seed, same CPU: same model).")
@click.option("--valid-chroms", help="Comma-separated validation chromosomes [default: chr8,chr20].")
@click.option("--test-chroms", help="Comma-separated test chromosomes [default: chr1,chr3,chr6].")
@click.option("--metrics", "metrics_path", type=click.Path(dir_okay=False), help="Also write the metrics as JSON.")
@device_options
@quiet_option
def train(positives, output, task_names, samplesheet, genome, negatives, neg_ratio, length, n_filters,
          filter_width, no_rc, hidden, dropout, epochs, patience, batch_size, lr, seed, valid_chroms, test_chroms,
          metrics_path, device, threads, quiet):
    """Train a shared-filter CNN on POSITIVES (FASTA, or BED/narrowPeak with --genome).

    Several POSITIVES (or --samplesheet) train one multi-task model: one bank of filters, one
    logit per task. FASTA peak sets each get their own negatives and their labels for the other
    tasks are unknown (masked); BED/narrowPeak tasks on one genome are pooled into one set of
    regions labelled by overlap (a summit inside the region), with GC-matched background
    negatives. Writes one HDF5 model file with weights, config, metrics and provenance.
    """
    from ..evaluate import write_metrics
    from ..model import save_model
    from ..train import train_model

    check_output_path(output)
    if metrics_path:
        check_output_path(metrics_path, option="--metrics")
    tasks = task_inputs(positives, task_names, samplesheet, genome, negatives)
    check_distinct([*named_inputs("POSITIVES", list(positives)), ("--samplesheet", samplesheet),
                    *named_inputs("--samplesheet", tasks if isinstance(tasks, list) else None),
                    ("--genome", genome), ("--negatives", negatives)],
                   [("-o", output), ("--metrics", metrics_path)])
    options = TrainOptions(
        length=length, neg_ratio=neg_ratio, n_filters=n_filters, filter_width=filter_width, rc_sharing=not no_rc,
        hidden=hidden, dropout=dropout, epochs=epochs, batch_size=batch_size, lr=lr, patience=patience, seed=seed,
        valid_chroms=_chroms(valid_chroms), test_chroms=_chroms(test_chroms),
    )
    result = train_model(tasks, genome=genome, negatives=negatives or "shuffle", options=options, device=device,
                         threads=threads, progress=not quiet, command=shlex.join(invocation))
    # the model and its metrics are renamed into place together, at the very end
    with atomic_path(output) as model_tmp, (atomic_path(metrics_path) if metrics_path else nullcontext()) as json_tmp:
        save_model(result.model, model_tmp)
        if json_tmp is not None:
            write_metrics(result.metrics, json_tmp)
    m = result.metrics
    log.info(
        "test AUROC %.4f, AUPRC %.4f (n=%d) | valid AUROC %.4f | best epoch %d of %d | %.1f s on %s -> %s",
        m["test"]["auroc"], m["test"]["auprc"], m["test"]["n"], m["valid"]["auroc"], m["best_epoch"],
        m["epochs_run"], m["train_seconds"], m["device"], output,
    )
    for name, per in m["test"].get("tasks", {}).items():
        log.info("  task %s: test AUROC %.4f, AUPRC %.4f (n=%d, %d positive)", name, per["auroc"], per["auprc"],
                 per["n"], per["n_pos"])


@cli.command(context_settings={"show_default": True})
@click.argument("model_path", metavar="MODEL", type=click.Path(dir_okay=False))
@click.argument("positives", nargs=-1, type=click.Path(dir_okay=False))
@click.option("-o", "--output", "out_dir", required=True, type=click.Path(file_okay=False), help="Directory for metrics.json, roc.png and pr.png (created, with its parents, if missing).")
@click.option("--task", help="Multi-task models: the task (name or 0-based index) one POSITIVES file is for.")
@click.option("--task-names", help="Several POSITIVES: the task of each, comma-separated [default: the file stems].")
@click.option("--samplesheet", type=click.Path(dir_okay=False),
              help="Tasks from a TSV (columns name, peaks, and optionally negatives, genome) instead of POSITIVES.")
@click.option("--genome", type=click.Path(dir_okay=False), help="Genome FASTA for BED input or background negatives.")
@click.option("--negatives", help="'shuffle', 'background' or a FASTA/BED file [default: shuffle; background for "
                                  "BED tasks pooled on one genome].")
@click.option("--neg-ratio", type=click.IntRange(min=1), default=1)
@click.option("--seed", type=int, default=0)
@device_options
@quiet_option
def evaluate(model_path, positives, out_dir, task, task_names, samplesheet, genome, negatives, neg_ratio, seed,
             device, threads, quiet):
    """Score a labelled set with MODEL: AUROC/AUPRC, ROC and precision-recall curves (PNG), per task.

    Evaluating on a file the model was trained on (same SHA-256 as recorded in the model) gives
    optimistic metrics: a warning says so and names the model file's held-out test metrics.
    """
    from ..device import set_threads
    from ..evaluate import EVALUATION_FILES, check_evaluation_dir, evaluate_model, evaluation_title, write_evaluation
    from ..model import load_model

    model_first(model_path, positives, command="evaluate", usage="MODEL POSITIVES... -o DIR", what="peak file")
    check_evaluation_dir(out_dir)
    tasks = task_inputs(positives, task_names, samplesheet, genome, negatives)
    check_distinct([("MODEL", model_path), *named_inputs("POSITIVES", list(positives)), ("--samplesheet", samplesheet),
                    *named_inputs("--samplesheet", tasks if isinstance(tasks, list) else None),
                    ("--genome", genome), ("--negatives", negatives)],
                   [("-o", Path(out_dir) / name) for name in EVALUATION_FILES])
    if task is not None and not isinstance(tasks, str):
        raise UsageError("--task names the task of one POSITIVES file", hint="with several, use --task-names")
    set_threads(threads)
    model = load_model(model_path)
    result = evaluate_model(model, tasks, negatives=negatives or "shuffle", genome=genome, task=task,
                            neg_ratio=neg_ratio, seed=seed, device=device)
    write_evaluation(result, out_dir, title=evaluation_title(model_path, tasks))
    m = result.metrics
    log.info("AUROC %.4f, AUPRC %.4f (n=%d, %d positive%s) -> %s", m["auroc"], m["auprc"], m["n"], m["n_pos"],
             f"; task {m['task']}" if "task" in m else "", Path(out_dir))
    for name, per in m.get("tasks", {}).items():
        log.info("  task %s: AUROC %.4f, AUPRC %.4f (n=%d, %d positive)", name, per["auroc"], per["auprc"],
                 per["n"], per["n_pos"])
