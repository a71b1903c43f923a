"""Check an experiment's peaks, summarise them, and write the held-out (test-chromosome) part.

    python prepare_peaks.py PEAKS [--genome FA] --test-chroms chr1,chr3 -o peaks.json --heldout OUT
    python prepare_peaks.py P1 P2 ... --task-names a,b,... [--genome FA] [--negatives N] \
        --test-chroms chr1,chr3 -o tasks.json --heldout DIR
    python prepare_peaks.py --samplesheet TASKS.tsv --test-chroms chr1,chr3 -o tasks.json --heldout DIR

PEAKS is FASTA (records named chrom:start-end) or BED/narrowPeak (needs --genome, checked
against it). OUT gets the peaks on the test chromosomes, in the same format, for
`motifscan evaluate` (training never sees them).

The tasks of a multi-task model (several peak files with --task-names, or a samplesheet, as in
`motifscan train`) are checked one by one; DIR gets each task's held-out peaks (TASK.peaks) and
samplesheet.tsv naming them with the task's negatives and genome, for `motifscan evaluate
--samplesheet`. The summary has one entry per task.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import one_line_errors  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("peaks", nargs="*")
    ap.add_argument("--task-names", help="several PEAKS: their task names, comma-separated")
    ap.add_argument("--samplesheet", help="the tasks of a multi-task model (instead of PEAKS)")
    ap.add_argument("--genome")
    ap.add_argument("--negatives", help="the tasks' negatives (written into DIR's samplesheet)")
    ap.add_argument("--test-chroms", required=True)
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("--heldout", required=True, help="held-out peaks: a file, or a folder for several tasks")
    args = ap.parse_args()
    if not (args.samplesheet or args.task_names) and len(args.peaks) != 1:
        ap.error("give one PEAKS file; several with --task-names; or --samplesheet")
    with one_line_errors(__file__):
        if args.samplesheet or args.task_names:
            run_tasks(args)
        else:
            run(args)


def summarise_peaks(path, genome: str | None, test: set[str]) -> tuple[dict, list[str]]:
    """Check one peak file; its summary and its lines (FASTA records) on the ``test`` chromosomes."""
    from motifscan.codes import decode
    from motifscan.data.datasets import is_fasta
    from motifscan.errors import InputError
    from motifscan.io.fasta import IndexedFasta, read_fasta
    from motifscan.io.intervals import check_chromosomes, parse_region_name, read_intervals

    path = Path(path)
    if is_fasta(path):
        kind, lengths, chroms, held = "fasta", [], [], []
        for rec in read_fasta(path):
            region = parse_region_name(rec.name)
            chrom = region[0] if region else None
            lengths.append(len(rec))
            chroms.append(chrom)
            if chrom in test:
                held.append(f">{rec.name}\n{decode(rec.codes)}\n")
    else:
        if not genome:
            raise InputError("peaks are not FASTA, so they are BED and need a genome",
                             path=path, hint="add `genome:` to the experiment in the config")
        kind = "bed"
        ivs = read_intervals(path)
        check_chromosomes(ivs, IndexedFasta(genome).sizes, path, genome)
        lengths = [iv.end - iv.start for iv in ivs]
        chroms = [iv.chrom for iv in ivs]
        with open(path) as fh:
            held = [ln for ln in fh if ln.split("\t", 1)[0] in test]
    if not lengths:
        raise InputError("no peaks", path=path)
    if not held:
        raise InputError(f"no peaks on the test chromosomes {','.join(sorted(test))}", path=path,
                         hint="set train: test_chroms: to chromosomes that have peaks")
    lengths = np.asarray(lengths)
    summary = {
        "path": str(path), "format": kind, "n": int(len(lengths)), "n_heldout": len(held),
        "test_chroms": sorted(test),
        "length": {"min": int(lengths.min()), "median": float(np.median(lengths)),
                   "max": int(lengths.max())},
        "chroms": dict(Counter(c or "?" for c in chroms).most_common()),
    }
    return summary, held


def run(args) -> None:
    from motifscan.atomic import atomic_open, check_output_path

    check_output_path(args.output)
    check_output_path(args.heldout, option="--heldout")
    summary, held = summarise_peaks(args.peaks[0], args.genome, set(args.test_chroms.split(",")))
    with atomic_open(args.heldout, "w") as fh:
        fh.writelines(held)
    with atomic_open(args.output, "w") as fh:
        json.dump(summary, fh, indent=2)


def run_tasks(args) -> None:
    """Several tasks: the summary per task, and DIR with the held-out peaks and their samplesheet."""
    from motifscan.atomic import atomic_open, check_output_dir, check_output_path
    from motifscan.data.tasks import task_specs
    from motifscan.errors import UsageError
    from motifscan.io.samplesheet import read_samplesheet

    check_output_path(args.output)
    out = check_output_dir(args.heldout, option="--heldout")
    if args.samplesheet:
        if args.peaks or args.task_names:
            raise UsageError("give PEAKS with --task-names, or --samplesheet, not both")
        specs = read_samplesheet(args.samplesheet)
    else:
        specs = task_specs(args.peaks, [n.strip() for n in args.task_names.split(",")],
                           negatives=args.negatives, genome=args.genome)
    test = set(args.test_chroms.split(","))
    summaries, held = {}, {}
    for t in specs:
        summaries[t.name], held[t.name] = summarise_peaks(t.peaks, t.genome, test)

    def absolute(p: str | None) -> str:
        return "" if p is None else p if p in ("shuffle", "background") else os.path.abspath(p)

    # the folder is filled beside its final place and renamed into it: all or nothing
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    umask = os.umask(0)
    os.umask(umask)
    tmp.chmod(0o777 & ~umask)  # mkdtemp's 0700 would hide the folder from others
    try:
        rows = ["name\tpeaks\tnegatives\tgenome"]
        for t in specs:
            (tmp / f"{t.name}.peaks").write_text("".join(held[t.name]))
            rows.append(f"{t.name}\t{t.name}.peaks\t{absolute(t.negatives)}\t{absolute(t.genome)}")
        (tmp / "samplesheet.tsv").write_text("\n".join(rows) + "\n")
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    with atomic_open(args.output, "w") as fh:
        json.dump({"tasks": summaries, "n": sum(s["n"] for s in summaries.values()),
                   "n_heldout": sum(s["n_heldout"] for s in summaries.values()), "test_chroms": sorted(test)},
                  fh, indent=2)


if __name__ == "__main__":
    main()
