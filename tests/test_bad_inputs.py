"""Bad inputs, table-driven: every case runs the real CLI and must fail cleanly.

Each case asserts the exit code (1 data error, 2 usage error), that the one error line
``motifscan: error: ...`` names the file (and the line or record where that is known), that no
traceback is printed, and that nothing is left behind: the output folder stays empty (no output,
no ``.NAME.tmp-*`` temporary, no spill file) and no temporary appears beside the inputs.
A few inputs that look odd but are fine (CRLF line endings, a bgzip genome without its index)
must work and give the same answer as the clean input.
"""

from __future__ import annotations

import gzip
import json
import logging
import os
import pickle
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np
import pysam
import pytest
import torch

from motifscan.cli._base import main
from motifscan.model import FORMAT_VERSION, ModelConfig, MotifCNN, save_model

from memory_helpers import cli_peak_mb, load_peak_mb

REPO = Path(__file__).resolve().parents[1]
CHROMS = {"chr1": 5000, "chr2": 3000}
MEME_HEAD = ("MEME version 4\n\nALPHABET= ACGT\n\nstrands: + -\n\n"
             "Background letter frequencies\nA 0.25 C 0.25 G 0.25 T 0.25\n\n")
UNIFORM = "0.25 0.25 0.25 0.25\n"


class _Payload:
    """Unpickling this creates ``marker``: proof that a file's code ran."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _dna(rng: np.random.Generator, n: int) -> str:
    return "".join(np.array(list("ACGT"))[rng.integers(0, 4, n)])


def _fasta(records: dict[str, str], newline: str = "\n", width: int = 60) -> bytes:
    lines = []
    for name, seq in records.items():
        lines.append(f">{name}")
        lines += [seq[i : i + width] for i in range(0, len(seq), width)]
    return (newline.join(lines) + newline).encode()


def _model(seq_length: int = 60) -> MotifCNN:
    torch.manual_seed(0)
    return MotifCNN(ModelConfig(n_filters=4, filter_width=12, seq_length=seq_length)).eval()


def _bam_reads(path: Path, mode: str, *, with_seq: bool, **kw) -> Path:
    header = pysam.AlignmentHeader.from_dict(
        {"HD": {"VN": "1.6", "SO": "coordinate"}, "SQ": [{"SN": c, "LN": n} for c, n in CHROMS.items()]})
    rng = np.random.default_rng(5)
    with pysam.AlignmentFile(str(path), mode, header=header, **kw) as out:
        for i in range(6):
            read = pysam.AlignedSegment(header)
            read.query_name, read.flag, read.reference_id = f"r{i}", 0, 0
            read.reference_start, read.mapping_quality, read.cigarstring = 100 * i, 60, "80M"
            if with_seq:
                read.query_sequence = _dna(rng, 80)
                read.query_qualities = pysam.qualitystring_to_array("I" * 80)
            out.write(read)
    return path


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Path:
    """One folder with every bad (and a few good) input file; built once, seeded."""
    d = tmp_path_factory.mktemp("bad_inputs")
    rng = np.random.default_rng(7)
    genome = {c: _dna(rng, n) for c, n in CHROMS.items()}
    (d / "genome.fa").write_bytes(_fasta(genome))
    pysam.faidx(str(d / "genome.fa"))
    (d / "genome_nochr.fa").write_bytes(_fasta({c[3:]: s for c, s in genome.items()}))
    (d / "genome_crlf.fa").write_bytes(_fasta(genome, newline="\r\n"))
    peaks = {f"p{i}": _dna(rng, 60) for i in range(40)}
    (d / "peaks.fa").write_bytes(_fasta(peaks))
    (d / "peaks_crlf.fa").write_bytes(_fasta(peaks, newline="\r\n"))
    save_model(_model(), d / "model.h5")

    # FASTA
    (d / "empty.fa").write_bytes(b"")
    (d / "binary.fa").write_bytes(bytes(np.random.default_rng(1).integers(0, 256, 3000, dtype=np.uint8)))
    (d / "letters.fa").write_bytes(b">s1\nACGTACGTACGTACGTACGT\n>s2\nACGTACGTAJGTACGTACGT\n")
    dup = _fasta({"chr1": genome["chr1"][:2000]}) + _fasta({"chr2": genome["chr2"][:900]}) + \
        _fasta({"chr1": genome["chr1"][2000:4000]})
    (d / "dup.fa").write_bytes(dup)
    (d / "dup_idx.fa").write_bytes(dup)
    (d / "one.fa").write_bytes(_fasta({"s0": _dna(rng, 60)}))
    (d / "few.fa").write_bytes(_fasta({f"s{i}": _dna(rng, 60) for i in range(5)}))
    (d / "short.fa").write_bytes(b">s1\nACGTAC\n>s2\nACGTACGTA\n")
    plain = _fasta(genome)
    (d / "cut.fa.gz").write_bytes(gzip.compress(plain)[:1500])
    pysam.tabix_compress(str(d / "genome.fa"), str(d / "genome.bgz.fa.gz"), force=True)
    (d / "cut.bgz.fa.gz").write_bytes((d / "genome.bgz.fa.gz").read_bytes()[:1500])
    shutil.copy(d / "genome.bgz.fa.gz", d / "noindex.bgz.fa.gz")  # no .fai/.gzi next to it
    (d / "plain.fa.gz").write_bytes(gzip.compress(plain))

    # BED / narrowPeak
    (d / "empty.bed").write_bytes(b"")
    (d / "nochr.bed").write_text("1\t100\t400\n2\t200\t500\n")
    (d / "withchr.bed").write_text("chr1\t100\t400\nchr2\t200\t500\n")
    (d / "otherasm.bed").write_text("chr1\t100\t400\nchrUn_KI270302v1\t10\t300\n")
    (d / "endstart.bed").write_text("chr1\t100\t400\nchr1\t900\t700\n")
    (d / "negative.bed").write_text("chr1\t-20\t400\n")
    (d / "words.bed").write_text("chr1\tstart\t400\n")
    (d / "twocols.bed").write_text("chr1\t100\n")
    (d / "pastend.bed").write_text("chr1\t100\t400\nchr2\t2800\t3100\n")
    (d / "summit.narrowPeak").write_text("chr1\t100\t400\tp1\t0\t.\t5\t-1\t-1\t150\n"
                                         "chr1\t1000\t1300\tp2\t0\t.\t5\t-1\t-1\t450\n")

    # reads
    _bam_reads(d / "reads.bam", "wb", with_seq=True)  # no .bai
    _bam_reads(d / "reads.cram", "wc", with_seq=True, reference_filename=str(d / "genome.fa"))
    _bam_reads(d / "noseq.bam", "wb", with_seq=False)
    sam = _bam_reads(d / "reads.sam", "w", with_seq=True).read_text().splitlines(keepends=True)
    body = [k for k, ln in enumerate(sam) if not ln.startswith("@")]
    bad = sam[body[3]].split("\t")
    bad[3] = "abc"  # POS not a number
    sam[body[3]] = "\t".join(bad)
    (d / "bad.sam").write_text("".join(sam))

    # model files
    (d / "text.h5").write_text("this is not a model\n" * 20)
    whole = (d / "model.h5").read_bytes()
    (d / "cut.h5").write_bytes(whole[: len(whole) // 2])
    shutil.copy(d / "model.h5", d / "future.h5")
    with h5py.File(d / "future.h5", "a") as h5:
        h5.attrs["format_version"] = FORMAT_VERSION + 1
    with h5py.File(d / "foreign.h5", "w") as h5:
        h5["x"] = np.arange(3)
    for name, change in (("huge.h5", {"n_filters": 10**9}), ("misfit.h5", {"n_filters": 5}),
                         ("longseq.h5", {"seq_length": 10**9}), ("manyfilters.h5", {"n_filters": 1_700_000}),
                         ("widefilter.h5", {"filter_width": 100_000}), ("twintasks.h5", {"tasks": ["same", "same"]}),
                         ("slashtask.h5", {"tasks": ["a/b"]}), ("wideparams.h5", {"n_filters": 16000, "hidden": 16000})):
        shutil.copy(d / "model.h5", d / name)
        with h5py.File(d / name, "a") as h5:
            cfg = json.loads(h5.attrs["config"])
            h5.attrs["config"] = json.dumps({**cfg, **change})
    for name, value in (("nan.h5", np.nan), ("inf.h5", np.inf)):
        shutil.copy(d / "model.h5", d / name)
        with h5py.File(d / name, "a") as h5:
            weight = h5["weights/conv.weight"][()]
            weight[1, 2, 3] = value
            h5["weights/conv.weight"][...] = weight
    (d / "pickle.h5").write_bytes(pickle.dumps(_Payload(str(d / "PWNED"))))
    torch.save({"weights": _Payload(str(d / "PWNED"))}, d / "checkpoint.h5")

    # motif files
    m = "MOTIF m1 one\nletter-probability matrix: alength= 4 w= 2 nsites= 10 E= 0\n"
    (d / "rows.meme").write_text(MEME_HEAD + m + "0.25 0.25 0.5\n" + UNIFORM)
    (d / "negative.meme").write_text(MEME_HEAD + m + "0.5 0.5 0.5 -0.5\n" + UNIFORM)
    (d / "unnormalised.meme").write_text(MEME_HEAD + m + "0.5 0.5 0.5 0.5\n" + UNIFORM)
    (d / "zero.meme").write_text(MEME_HEAD + "MOTIF m1\nletter-probability matrix: alength= 4 w= 0 nsites= 10\n")
    (d / "empty.meme").write_bytes(b"")
    (d / "zero.jaspar").write_text(">MA0001.1 x\nA [ ]\nC [ ]\nG [ ]\nT [ ]\n")
    (d / "negative.jaspar").write_text(">MA0001.1 x\nA [ 1 2 ]\nC [ 1 -2 ]\nG [ 1 2 ]\nT [ 1 2 ]\n")
    flat = ("MOTIF flat1\nletter-probability matrix: alength= 4 w= 1 nsites= 20 E= 0\n" + UNIFORM +
            "MOTIF flat2\nletter-probability matrix: alength= 4 w= 2 nsites= 20 E= 0\n" + UNIFORM * 2)
    (d / "flat.meme").write_text(MEME_HEAD + flat)
    (d / "rows.transfac").write_text("AC  M1\nID  m1\nP0  A C G T\n01  1 2 3\nXX\n//\n")
    (d / "rows.motif").write_text(">ACG\tm1\t3.0\n0.2 0.3 0.5\n")

    # variant files
    vhead = "##fileformat=VCFv4.2\n" + "".join(f"##contig=<ID={c},length={n}>\n" for c, n in CHROMS.items())
    vhead += "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
    body = "".join(f"chr1\t{p}\tv{p}\t{genome['chr1'][p - 1]}\tA\t.\t.\t.\n" for p in range(200, 4000, 37))
    (d / "good.vcf").write_text(vhead + body)
    (d / "junk.vcf").write_text("this is not a VCF\nat all\n")
    (d / "noheader.vcf").write_text(body)
    (d / "badpos.vcf").write_text(vhead + body.split("\n", 3)[0] + "\nchr1\tabc\tx\tA\tC\t.\t.\t.\n")
    (d / "cutline.vcf").write_text(vhead + "".join(body.splitlines(keepends=True)[:5]) + "chr1\t4000\tv\tA")
    pysam.tabix_compress(str(d / "good.vcf"), str(d / "good.vcf.gz"), force=True)
    whole = (d / "good.vcf.gz").read_bytes()
    (d / "cut.vcf.gz").write_bytes(whole[: len(whole) // 2])
    (d / "plain.vcf.gz").write_bytes(gzip.compress((d / "good.vcf").read_bytes()))
    with pysam.VariantFile(str(d / "good.vcf")) as vf, pysam.VariantFile(str(d / "good.bcf"), "wb",
                                                                         header=vf.header) as bcf:
        for rec in vf:
            bcf.write(rec)
    flipped = bytearray((d / "good.bcf").read_bytes())
    flipped[300:340] = bytes(b ^ 0xFF for b in flipped[300:340])
    (d / "flipped.bcf").write_bytes(bytes(flipped))
    first = body.split("\n", 1)[0] + "\n"
    (d / "pos0.vcf").write_text(vhead + first + "chr1\t0\tz\tA\tC\t.\t.\t.\n")
    nochr = vhead.replace("ID=chr", "ID=") + body.replace("chr1\t", "1\t")
    (d / "nochr.vcf").write_text(nochr)
    (d / "headers_only.fa").write_text(">a\n>b\n")
    (d / "offend.bed").write_text("chr1\t10\t20\nchr2\t2990\t3000\n")
    # multi-task samplesheets and tasks
    (d / "sheet_nopeaks.tsv").write_text("name\tnegatives\nA\tshuffle\n")
    (d / "sheet_missing.tsv").write_text("name\tpeaks\nA\tpeaks.fa\nB\tnot_there.fa\n")
    (d / "sheet_twopeaks.tsv").write_text("name\tpeaks\tgenome\tpeaks\nA\tpeaks.fa\tNA\tpeaks_crlf.fa\n")
    (d / "sheet_dup.tsv").write_text("name\tpeaks\nA\tpeaks.fa\nA\tpeaks_crlf.fa\n")
    return d


@dataclass(frozen=True)
class Case:
    """One bad input: the command (``{i}`` = inputs folder, ``{o}`` = empty output folder), the
    exit code, and the pieces the error line must contain (file name first)."""

    id: str
    argv: tuple[str, ...]
    code: int
    needles: tuple[str, ...]
    subprocess: bool = False  # run as `python -m motifscan` (a real process) instead of main()
    marks: tuple = field(default=())
    stdin: str | None = None  # input file (in the inputs folder) piped to a subprocess's stdin


def C(id, argv, code, *needles, subprocess=False, marks=(), stdin=None):
    return Case(id, tuple(argv.split()), code, needles, subprocess or stdin is not None, marks, stdin)


SCAN = "scan {i}/model.h5"
VAR = "variants {i}/model.h5"
ATTR = "attribute {i}/model.h5"
JASPAR = str(REPO / "motifscan" / "resources" / "JASPAR2024_CORE_vertebrates.meme")
NOT_HDF5 = "not an HDF5 model"

CASES = [
    # --- empty and binary files
    C("empty-fasta-scan", SCAN + " {i}/empty.fa -o {o}/t.bedGraph", 1, "empty.fa", "empty"),
    C("empty-fasta-train", "train {i}/empty.fa -o {o}/m.h5", 1, "empty.fa", "empty"),
    C("empty-bed-regions", SCAN + " {i}/genome.fa --regions {i}/empty.bed -o {o}/t.bedGraph", 1,
      "empty.bed", "no intervals"),
    C("empty-motif-file", "compare {i}/empty.meme -o {o}/m.tsv", 1, "empty.meme", "no motifs"),
    C("binary-as-fasta-scan", SCAN + " {i}/binary.fa -o {o}/t.bedGraph", 1, "binary.fa:line 1", "not FASTA"),
    C("binary-as-fasta-train", "train {i}/binary.fa -o {o}/m.h5", 1, "binary.fa", "neither FASTA"),
    C("binary-as-fasta-export", "export {i}/model.h5 --sequences {i}/binary.fa -o {o}/m.meme", 1,
      "binary.fa", "neither FASTA"),  # one sequence loader for train, evaluate and export
    # --- letters, names
    C("non-iupac-scan", SCAN + " {i}/letters.fa -o {o}/t.bedGraph", 1, "letters.fa:record s2", "'J'",
      "position 10"),
    C("non-iupac-train", "train {i}/letters.fa -o {o}/m.h5 --filter-width 8 --length 20", 1,
      "letters.fa:record s2", "'J'"),
    C("duplicate-names-stream", SCAN + " {i}/dup.fa -o {o}/t.bedGraph", 1, "dup.fa:line", "duplicate", "'chr1'"),
    C("duplicate-names-indexed", SCAN + " {i}/dup_idx.fa --chrom chr2 -o {o}/t.bedGraph", 1,
      "dup_idx.fa", "duplicate"),
    # --- compression
    C("truncated-gzip-scan", SCAN + " {i}/cut.fa.gz -o {o}/t.bedGraph", 1, "cut.fa.gz", "truncated"),
    C("truncated-gzip-train", "train {i}/cut.fa.gz -o {o}/m.h5", 1, "cut.fa.gz", "truncated"),
    C("truncated-gzip-subprocess", SCAN + " {i}/cut.fa.gz -o {o}/t.bedGraph", 1, "cut.fa.gz", "truncated",
      subprocess=True),
    C("truncated-gzip-stdin", SCAN + " - -o {o}/t.bedGraph", 1, "-:", "truncated", stdin="cut.fa.gz"),
    C("truncated-bgzip-scan", SCAN + " {i}/cut.bgz.fa.gz -o {o}/t.bedGraph", 1, "cut.bgz.fa.gz", "truncated"),
    C("truncated-bgzip-indexed", SCAN + " {i}/cut.bgz.fa.gz --chrom chr1 -o {o}/t.bedGraph", 1,
      "cut.bgz.fa.gz", "truncated"),
    C("truncated-bgzip-genome", "train {i}/withchr.bed --genome {i}/cut.bgz.fa.gz -o {o}/m.h5", 1,
      "cut.bgz.fa.gz", "truncated"),
    C("plain-gzip-needs-index", SCAN + " {i}/plain.fa.gz --chrom chr1 -o {o}/t.bedGraph", 1,
      "plain.fa.gz", "gzip", "bgzip"),
    # --- intervals
    C("bed-chroms-need-chr-train", "train {i}/nochr.bed --genome {i}/genome.fa -o {o}/m.h5", 1,
      "nochr.bed", "not in genome", "genome.fa", "'chr' prefix"),
    C("bed-chroms-drop-chr-export", "export {i}/model.h5 --sequences {i}/withchr.bed --genome {i}/genome_nochr.fa"
      " -o {o}/m.meme", 1, "withchr.bed", "not in genome", "without the 'chr' prefix"),
    C("bed-chroms-other-assembly", "train {i}/otherasm.bed --genome {i}/genome.fa -o {o}/m.h5", 1,
      "otherasm.bed", "not in genome", "chrUn_KI270302v1", "assembly"),
    C("bed-chroms-need-chr-regions", SCAN + " {i}/genome.fa --regions {i}/nochr.bed -o {o}/t.bedGraph", 1,
      "nochr.bed", "not in genome", "genome.fa", "'chr' prefix"),
    C("bed-end-before-start", SCAN + " {i}/genome.fa --regions {i}/endstart.bed -o {o}/t.bedGraph", 1,
      "endstart.bed:line 2", "before start"),
    C("bed-negative-start", "train {i}/negative.bed --genome {i}/genome.fa -o {o}/m.h5", 1,
      "negative.bed:line 1", "negative start"),
    C("bed-region-past-chromosome-end", SCAN + " {i}/genome.fa --regions {i}/pastend.bed -o {o}/t.bedGraph", 1,
      "pastend.bed:line 2", "chr2:2800-3100", "past the end", "3,000"),
    C("bed-not-integer", SCAN + " {i}/genome.fa --regions {i}/words.bed -o {o}/t.bedGraph", 1,
      "words.bed:line 1", "not an integer"),
    C("bed-two-columns", "export {i}/model.h5 --sequences {i}/twocols.bed --genome {i}/genome.fa -o {o}/m.meme",
      1, "twocols.bed:line 1", "3"),
    C("narrowpeak-summit-outside", "train {i}/summit.narrowPeak --genome {i}/genome.fa -o {o}/m.h5", 1,
      "summit.narrowPeak:line 2", "summit"),
    # --- lengths
    C("shorter-than-filter-train", "train {i}/short.fa -o {o}/m.h5 --filter-width 8 --length 20", 1,
      "short.fa:record s1", "shorter than the filter width"),
    C("shorter-than-filter-evaluate", "evaluate {i}/model.h5 {i}/short.fa -o {o}/ev", 1,
      "short.fa:record s1", "shorter than the filter width"),
    C("shorter-than-filter-export", "export {i}/model.h5 --sequences {i}/short.fa -o {o}/m.meme", 1,
      "short.fa", "filter"),
    C("train-too-few-sequences", "train {i}/few.fa -o {o}/m.h5", 1, "few.fa", "too few", "at least 6 positive"),
    C("train-one-sequence", "train {i}/one.fa -o {o}/m.h5", 1, "one.fa", "too few"),
    C("length-below-filter-width", "train {i}/peaks.fa -o {o}/m.h5 --length 10 --filter-width 12", 2,
      "--length 10", "--filter-width 12"),
    C("window-below-filter-width", SCAN + " {i}/genome.fa --window 8 -o {o}/t.bedGraph", 2,
      "--window 8", "filter width"),
    C("table-conv-needs-fp32", SCAN + " {i}/genome.fa --conv-method table --precision bf16 -o {o}/t.bedGraph", 2,
      "--conv-method table", "fp32"),
    C("fused-conv-needs-fp32", SCAN + " {i}/genome.fa --conv-method fused --precision fp16 -o {o}/t.bedGraph", 2,
      "--conv-method fused", "fp32"),
    C("pssm-range-too-coarse", f"scan {JASPAR} {{i}}/genome.fa --pssm-range 5 -o {{o}}/h.tsv", 2,
      "--pssm-range", "5"),
    # --- reads
    C("bam-region-without-index", SCAN + " {i}/reads.bam --chrom chr1 -o {o}/r.tsv", 2, "reads.bam", "--chrom",
      "index"),
    C("bam-regions-bed-without-index", SCAN + " {i}/reads.bam --regions {i}/withchr.bed -o {o}/r.tsv", 2,
      "reads.bam", "index"),
    C("cram-without-reference", SCAN + " {i}/reads.cram -o {o}/r.tsv", 2, "reads.cram", "--reference"),
    C("cram-without-reference-motifs", f"scan {JASPAR} {{i}}/reads.cram -o {{o}}/h.tsv", 2,
      "reads.cram", "--reference"),
    C("reads-bad-sam-line", SCAN + " {i}/bad.sam -o {o}/r.tsv", 1, "bad.sam:line 7", "SAM record"),
    C("reads-bad-sam-line-motifs", f"scan {JASPAR} {{i}}/bad.sam -o {{o}}/h.tsv", 1, "bad.sam:line 7"),
    C("reads-without-sequence", SCAN + " {i}/noseq.bam -o {o}/r.tsv", 1, "noseq.bam", "sequence"),
    C("reads-without-sequence-motifs", f"scan {JASPAR} {{i}}/noseq.bam -o {{o}}/h.tsv", 1, "noseq.bam",
      "sequence"),
    # --- model files
    C("model-not-hdf5-evaluate", "evaluate {i}/text.h5 {i}/peaks.fa -o {o}/ev", 1, "text.h5", NOT_HDF5),
    C("model-not-hdf5-scan", "scan {i}/text.h5 {i}/genome.fa -o {o}/t.bedGraph", 1, "text.h5", NOT_HDF5),
    C("model-truncated-scan", "scan {i}/cut.h5 {i}/genome.fa -o {o}/t.bedGraph", 1, "cut.h5", "truncated"),
    C("model-truncated-export", "export {i}/cut.h5 -o {o}/m.meme", 1, "cut.h5", "truncated"),
    C("model-future-version", "scan {i}/future.h5 {i}/genome.fa -o {o}/t.bedGraph", 1, "future.h5",
      f"unknown model format version {FORMAT_VERSION + 1}"),
    C("model-foreign-hdf5", "export {i}/foreign.h5 -o {o}/m.meme", 1, "foreign.h5", "not a motifscan model"),
    C("model-config-too-large", "scan {i}/huge.h5 {i}/genome.fa -o {o}/t.bedGraph", 1, "huge.h5", "n_filters",
      "out of range"),
    C("model-config-too-many-parameters", "scan {i}/wideparams.h5 {i}/genome.fa -o {o}/t.bedGraph", 1,
      "wideparams.h5", "parameters"),
    C("model-seq-length-too-large", "scan {i}/longseq.h5 {i}/genome.fa -o {o}/t.bedGraph", 1, "longseq.h5",
      "seq_length = 1000000000", "out of range"),
    C("model-too-many-filters", "export {i}/manyfilters.h5 -o {o}/m.meme", 1, "manyfilters.h5", "n_filters"),
    C("model-filter-too-wide", "evaluate {i}/widefilter.h5 {i}/peaks.fa -o {o}/ev", 1, "widefilter.h5",
      "filter_width"),
    C("model-nan-weights-scan", "scan {i}/nan.h5 {i}/genome.fa -o {o}/t.bedGraph", 1, "nan.h5",
      "weights/conv.weight", "non-finite"),
    C("model-inf-weights-evaluate", "evaluate {i}/inf.h5 {i}/peaks.fa -o {o}/ev", 1, "inf.h5",
      "weights/conv.weight", "non-finite"),
    C("model-task-names-repeat", "scan {i}/twintasks.h5 {i}/genome.fa -o {o}/t.bedGraph", 1, "twintasks.h5",
      "'same'", "twice"),
    C("model-task-name-with-slash", "scan {i}/slashtask.h5 {i}/genome.fa -o {o}/t.bedGraph", 1, "slashtask.h5",
      "'a/b'", "path separator"),
    C("model-weights-misfit", "export {i}/misfit.h5 -o {o}/m.meme", 1, "misfit.h5", "do not fit", "conv.bias: (4,) in the file, (5,) expected"),
    C("model-pickle-evaluate", "evaluate {i}/pickle.h5 {i}/peaks.fa -o {o}/ev", 1, "pickle.h5", NOT_HDF5,
      subprocess=True),
    C("model-pickle-export", "export {i}/pickle.h5 -o {o}/m.meme", 1, "pickle.h5", NOT_HDF5),
    C("model-pickle-scan", "scan {i}/pickle.h5 {i}/genome.fa -o {o}/t.bedGraph", 1, "pickle.h5", NOT_HDF5),
    C("model-torch-checkpoint", "evaluate {i}/checkpoint.h5 {i}/peaks.fa -o {o}/ev", 1, "checkpoint.h5",
      NOT_HDF5),
    # --- motif files
    C("motif-malformed-row-compare", "compare {i}/rows.meme -o {o}/m.tsv", 1, "rows.meme:line 12",
      "expected 4 probabilities"),
    C("motif-malformed-row-scan", "scan {i}/rows.meme {i}/genome.fa -o {o}/h.tsv", 1, "rows.meme:line 12",
      "expected 4"),
    C("motif-negative-probability", f"compare {JASPAR} --db {{i}}/negative.meme -o {{o}}/m.tsv", 1,
      "negative.meme:line 12", "negative"),
    C("motif-not-normalised", "scan {i}/unnormalised.meme {i}/genome.fa -o {o}/h.tsv", 1,
      "unnormalised.meme:line 12", "sum to 2"),
    C("motif-none-reach-pvalue-scan", "scan {i}/flat.meme {i}/genome.fa -o {o}/h.tsv", 1, "flat.meme",
      "no motif can reach p <= 0.0001", "flat1", "--pvalue"),
    C("motif-none-reach-pvalue-variants", "variants {i}/flat.meme {i}/good.vcf --genome {i}/genome.fa -o {o}/b.tsv", 1,
      "flat.meme", "no motif can reach", "flat2"),
    C("motif-zero-width-meme", "compare {i}/zero.meme -o {o}/m.tsv", 1, "zero.meme:line 11", "w= 0"),
    C("motif-zero-width-jaspar", "simulate -o {o}/g.fa --truth {o}/t.bed --motifs {i}/zero.jaspar", 1,
      "zero.jaspar:line 1", "zero width"),
    C("motif-negative-count-jaspar", "compare {i}/negative.jaspar -o {o}/m.tsv", 1, "negative.jaspar:line 3",
      "negative"),
    C("motif-malformed-row-transfac", "compare {i}/rows.transfac -o {o}/m.tsv", 1, "rows.transfac:line 4",
      "4 counts"),
    C("motif-malformed-row-homer", "compare {i}/rows.motif -o {o}/m.tsv", 1, "rows.motif:line 2", "expected 4"),
    # --- multi-task training
    C("duplicate-task-stems", "train {i}/peaks.fa {i}/peaks.fa -o {o}/m.h5", 2, "'peaks'", "given twice"),
    C("duplicate-task-names", "train {i}/peaks.fa {i}/peaks_crlf.fa --task-names a,a -o {o}/m.h5", 2,
      "'a'", "given twice"),
    C("bed-task-without-genome", "train {i}/peaks.fa {i}/withchr.bed -o {o}/m.h5", 2, "withchr.bed", "needs --genome"),
    C("task-without-positives", "train {i}/peaks.fa {i}/offend.bed --genome {i}/genome.fa -o {o}/m.h5", 1,
      "offend.bed", "no interval"),
    C("samplesheet-missing-column", "train --samplesheet {i}/sheet_nopeaks.tsv -o {o}/m.h5", 1,
      "sheet_nopeaks.tsv:line 1", "'peaks' column"),
    C("samplesheet-missing-file", "train --samplesheet {i}/sheet_missing.tsv -o {o}/m.h5", 1,
      "sheet_missing.tsv:line 3", "not_there.fa", "not found"),
    C("samplesheet-duplicate-column", "train --samplesheet {i}/sheet_twopeaks.tsv -o {o}/m.h5", 1,
      "sheet_twopeaks.tsv:line 1", "two 'peaks' columns"),
    C("samplesheet-duplicate-task", "train --samplesheet {i}/sheet_dup.tsv -o {o}/m.h5", 1,
      "sheet_dup.tsv:line 3", "named twice"),
    C("samplesheet-and-positives", "train {i}/peaks.fa --samplesheet {i}/sheet_dup.tsv -o {o}/m.h5", 2,
      "--samplesheet", "not both"),
    # --- outputs and paths
    C("output-dir-missing-scan", SCAN + " {i}/genome.fa -o {o}/nodir/t.bedGraph", 2, "nodir", "does not exist"),
    C("output-dir-missing-hits", SCAN + " {i}/genome.fa -o {o}/t.bedGraph --hits {o}/nodir/h.bed", 2,
      "nodir/h.bed", "does not exist"),
    C("output-dir-missing-motif-scan", f"scan {JASPAR} {{i}}/genome.fa -o {{o}}/nodir/h.tsv", 2, "nodir",
      "does not exist"),
    C("output-dir-missing-train", "train {i}/peaks.fa -o {o}/nodir/m.h5", 2, "nodir/m.h5", "does not exist"),
    C("output-dir-missing-metrics", "train {i}/peaks.fa -o {o}/m.h5 --metrics {o}/nodir/m.json", 2,
      "nodir/m.json", "does not exist"),
    C("output-dir-under-a-file-evaluate", "evaluate {i}/model.h5 {i}/peaks.fa -o {i}/peaks.fa/ev", 2,
      "peaks.fa", "not a directory"),
    C("output-dir-missing-export", "export {i}/model.h5 -o {o}/nodir/m.meme", 2, "nodir/m.meme", "does not exist"),
    C("output-dir-missing-compare", "compare {i}/rows.meme -o {o}/nodir/m.tsv", 2, "nodir/m.tsv", "does not exist"),
    C("output-dir-missing-simulate", "simulate -o {o}/g.fa --truth {o}/nodir/t.bed", 2, "nodir/t.bed",
      "does not exist"),
    C("output-is-a-directory", SCAN + " {i}/genome.fa -o {o}", 2, "is a directory"),
    C("output-twice-train", "train {i}/peaks.fa -o {o}/m.h5 --metrics {o}/./m.h5", 2, "--metrics", "-o"),
    C("output-twice-scan", SCAN + " {i}/genome.fa -o {o}/t.bed --hits {o}/t.bed", 2, "--hits", "-o"),
    C("input-missing", SCAN + " {i}/nothere.fa -o {o}/t.bedGraph", 1, "nothere.fa", "not found"),
    # --- variants
    C("variants-not-vcf", VAR + " {i}/junk.vcf --genome {i}/genome.fa -o {o}/e.tsv", 1, "junk.vcf", "not a VCF"),
    C("variants-vcf-without-header", VAR + " {i}/noheader.vcf --genome {i}/genome.fa -o {o}/e.tsv", 1,
      "noheader.vcf:line 1", "no header"),
    C("variants-truncated-vcf-gz", VAR + " {i}/cut.vcf.gz --genome {i}/genome.fa -o {o}/e.tsv", 1, "cut.vcf.gz",
      "truncated"),
    C("variants-truncated-record", VAR + " {i}/cutline.vcf --genome {i}/genome.fa -o {o}/e.tsv --vcf-out {o}/a.vcf.gz",
      1, "cutline.vcf:record 6", "truncated"),
    C("variants-plain-gzip", VAR + " {i}/plain.vcf.gz --genome {i}/genome.fa -o {o}/e.tsv", 1, "plain.vcf.gz",
      "plain gzip", "bgzip", "tabix"),
    C("variants-plain-gzip-motifs", f"variants {JASPAR} {{i}}/plain.vcf.gz --genome {{i}}/genome.fa -o {{o}}/b.tsv",
      1, "plain.vcf.gz", "bgzip"),
    C("variants-corrupt-bcf", VAR + " {i}/flipped.bcf --genome {i}/genome.fa -o {o}/e.tsv", 1, "flipped.bcf",
      "cannot read record"),
    C("variants-pos-zero", VAR + " {i}/pos0.vcf --genome {i}/genome.fa -o {o}/e.tsv", 1, "pos0.vcf:record 2", "POS 0"),
    C("variants-pos-zero-motifs", f"variants {JASPAR} {{i}}/pos0.vcf --genome {{i}}/genome.fa -o {{o}}/b.tsv", 1,
      "pos0.vcf:record 2", "POS 0"),
    C("variants-malformed-record", VAR + " {i}/badpos.vcf --genome {i}/genome.fa -o {o}/e.tsv", 1,
      "badpos.vcf:record 2"),
    C("variants-malformed-record-motifs", f"variants {JASPAR} {{i}}/badpos.vcf --genome {{i}}/genome.fa -o {{o}}/b.tsv",
      1, "badpos.vcf:record 2"),
    C("variants-no-contig-matches", VAR + " {i}/nochr.vcf --genome {i}/genome.fa -o {o}/e.tsv", 1, "nochr.vcf",
      "not in genome", "'chr' prefix"),
    C("variants-arguments-swapped", "variants {i}/good.vcf {i}/model.h5 --genome {i}/genome.fa -o {o}/e.tsv", 2,
      "good.vcf", "looks like the VCF"),
    C("variants-vcf-missing", VAR + " {i}/nothere.vcf --genome {i}/genome.fa -o {o}/e.tsv", 1, "nothere.vcf",
      "not found"),
    C("variants-vcf-out-with-motifs", f"variants {JASPAR} {{i}}/good.vcf --genome {{i}}/genome.fa -o {{o}}/b.tsv"
      " --vcf-out {o}/a.vcf", 2, "--vcf-out"),
    C("variants-window-below-filter", VAR + " {i}/good.vcf --genome {i}/genome.fa -o {o}/e.tsv --window 5", 2,
      "--window 5", "filter width"),
    C("variants-output-dir-missing", VAR + " {i}/good.vcf --genome {i}/genome.fa -o {o}/nodir/e.tsv", 2, "nodir",
      "does not exist"),
    # --- attribute
    C("attribute-empty-fasta", ATTR + " {i}/empty.fa -o {o}/a.npz", 1, "empty.fa", "empty"),
    C("attribute-headers-only", ATTR + " {i}/headers_only.fa -o {o}/a.npz", 1, "headers_only.fa:record a",
      "shorter than the filter width"),
    C("attribute-no-window-fits", ATTR + " {i}/offend.bed --genome {i}/genome.fa -o {o}/a.npz --length 60", 1,
      "offend.bed", "no interval fits"),
    C("attribute-bed-without-genome", ATTR + " {i}/withchr.bed -o {o}/a.npz", 2, "withchr.bed", "--genome"),
    C("attribute-unknown-task", ATTR + " {i}/peaks.fa -o {o}/a.npz --task nosuch", 2, "--task 'nosuch'"),
    C("attribute-binary-input", ATTR + " {i}/binary.fa -o {o}/a.npz", 1, "binary.fa", "neither FASTA"),
    # --- enrich
    C("enrich-empty-peaks", "enrich {i}/empty.fa -o {o}/e.tsv", 1, "empty.fa", "empty"),
    C("enrich-bed-without-genome", "enrich {i}/withchr.bed -o {o}/e.tsv", 2, "withchr.bed", "--genome"),
    C("enrich-genome-background-fasta", "enrich {i}/peaks.fa --background genome -o {o}/e.tsv", 2, "peaks.fa",
      "--genome"),
    C("enrich-no-motifs", "enrich {i}/peaks.fa --motifs {i}/empty.meme -o {o}/e.tsv", 1, "empty.meme", "no motifs"),
    C("enrich-headers-only", "enrich {i}/headers_only.fa -o {o}/e.tsv", 1, "headers_only.fa",
      "narrowest motif"),
    C("enrich-controls-shorter-than-motifs", "enrich {i}/peaks.fa --background {i}/short.fa -o {o}/e.tsv", 1,
      "short.fa:record s1", "shorter than motif"),
]


@pytest.fixture
def restore_logger():
    """The CLI reconfigures the "motifscan" logger; put it back for later tests."""
    log = logging.getLogger("motifscan")
    saved = (log.handlers[:], log.propagate, log.level)
    yield
    log.handlers[:], log.propagate, log.level = saved


def _run(case: Case, argv: list[str], capsys, inputs: Path) -> tuple[int, str]:
    if case.subprocess:
        stdin = open(inputs / case.stdin, "rb") if case.stdin else subprocess.DEVNULL
        try:
            proc = subprocess.run([sys.executable, "-m", "motifscan", *argv], capture_output=True, text=True,
                                  timeout=120, env={**os.environ, "CUDA_VISIBLE_DEVICES": ""}, stdin=stdin)
        finally:
            if case.stdin:
                stdin.close()
        return proc.returncode, proc.stderr
    code = main(argv)
    return code, capsys.readouterr().err


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id, marks=c.marks) for c in CASES])
def test_bad_input_fails_cleanly(case, inputs, tmp_path, capsys, restore_logger):
    out = tmp_path / "out"
    out.mkdir()
    argv = [a.format(i=inputs, o=out) for a in case.argv] + ["--quiet"]
    if case.argv[0] in ("scan", "train", "evaluate", "export", "variants", "attribute"):
        argv += ["--device", "cpu"]
    before = set(os.listdir(inputs))
    code, err = _run(case, argv, capsys, inputs)

    assert "Traceback" not in err, err
    errors = [ln for ln in err.splitlines() if ln.startswith("motifscan: error: ")]
    assert len(errors) == 1, err
    assert err.rstrip().splitlines()[-1] == errors[0], err  # the error is the last thing said
    message = errors[0]
    for needle in case.needles:
        assert needle in message, f"{needle!r} not in {message!r}"
    assert code == case.code, message
    # nothing left behind: no output, no temporary, no spill; no temporary beside the inputs
    assert sorted(os.listdir(out)) == [], "left behind in the output folder"
    stray = {n for n in set(os.listdir(inputs)) - before if not n.endswith((".fai", ".gzi"))}
    assert not stray, f"left beside the inputs: {stray}"
    assert not (inputs / "PWNED").exists(), "a model file ran code"


def test_table_has_every_kind_of_case():
    assert len(CASES) >= 25
    assert len({c.id for c in CASES}) == len(CASES)


def test_debug_shows_the_traceback(inputs, tmp_path, capsys, restore_logger):
    code = main(["--debug", "scan", str(inputs / "model.h5"), str(inputs / "empty.fa"), "-o",
                 str(tmp_path / "t.bedGraph"), "--device", "cpu"])
    err = capsys.readouterr().err
    assert code == 1
    assert "Traceback" in err and err.rstrip().splitlines()[-1].startswith("motifscan: error: ")
    assert not (tmp_path / "t.bedGraph").exists()


# ---------------------------------------------------------------- odd inputs that must work


def _scan(model: Path, fasta: Path, out: Path, *extra: str) -> str:
    assert main(["scan", str(model), str(fasta), "-o", str(out), "--stride", "20", "--device", "cpu",
                 "--quiet", *extra]) == 0
    return out.read_text()


def test_crlf_genome_and_bed_scan_like_lf(inputs, tmp_path, restore_logger):
    model = inputs / "model.h5"
    lf = _scan(model, inputs / "genome.fa", tmp_path / "lf.bedGraph")
    assert lf and _scan(model, inputs / "genome_crlf.fa", tmp_path / "crlf.bedGraph") == lf
    # indexed access (pyfaidx) of a CRLF genome, with a CRLF BED of regions
    regions = tmp_path / "regions_crlf.bed"
    regions.write_bytes(b"chr1\t100\t1900\r\nchr2\t50\t1000\r\n")
    regions_lf = tmp_path / "regions.bed"
    regions_lf.write_bytes(regions.read_bytes().replace(b"\r\n", b"\n"))
    crlf_dir = tmp_path / "g"
    crlf_dir.mkdir()
    shutil.copy(inputs / "genome_crlf.fa", crlf_dir / "genome_crlf.fa")
    want = _scan(model, inputs / "genome.fa", tmp_path / "r_lf.bedGraph", "--regions", str(regions_lf))
    got = _scan(model, crlf_dir / "genome_crlf.fa", tmp_path / "r_crlf.bedGraph", "--regions", str(regions))
    assert want and got == want


def test_crlf_positives_train_the_same_model(inputs, tmp_path, restore_logger):
    args = ["--epochs", "1", "--filters", "2", "--filter-width", "8", "--length", "60", "--batch-size", "32",
            "--device", "cpu", "--threads", "1", "--quiet"]
    assert main(["train", str(inputs / "peaks.fa"), "-o", str(tmp_path / "lf.h5"), *args]) == 0
    assert main(["train", str(inputs / "peaks_crlf.fa"), "-o", str(tmp_path / "crlf.h5"), *args]) == 0
    with h5py.File(tmp_path / "lf.h5") as a, h5py.File(tmp_path / "crlf.h5") as b:
        assert sorted(a["weights"]) == sorted(b["weights"])
        for k in a["weights"]:
            np.testing.assert_array_equal(a["weights"][k][()], b["weights"][k][()])


def test_bgzip_without_index_gets_one_built(inputs, tmp_path, restore_logger):
    src = tmp_path / "g.fa.gz"
    shutil.copy(inputs / "noindex.bgz.fa.gz", src)
    assert not Path(str(src) + ".fai").exists()
    got = _scan(inputs / "model.h5", src, tmp_path / "bgz.bedGraph", "--chrom", "chr2")
    want = _scan(inputs / "model.h5", inputs / "genome.fa", tmp_path / "plain.bedGraph", "--chrom", "chr2")
    assert got == want and got.startswith("chr2\t")
    assert Path(str(src) + ".fai").exists() and Path(str(src) + ".gzi").exists()


def test_disk_full_is_one_line_and_leaves_nothing(tmp_path, capsys, monkeypatch, restore_logger):
    """The system refusing a write (ENOSPC here, at the final rename) is a data error, not a bug."""
    import errno

    def full(src, dst):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), os.fspath(dst))

    monkeypatch.setattr(os, "replace", full)
    code = main(["simulate", "-o", str(tmp_path / "g.fa"), "--truth", str(tmp_path / "t.bed"),
                 "--length", "20000", "--n-sites", "5", "--quiet"])
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err
    assert err.strip().splitlines() == [f"motifscan: error: {tmp_path / 't.bed'}: cannot write it: the disk is full "
                                        f"(no space left on the device holding {tmp_path}); free some space there, "
                                        "or write the output elsewhere"]
    assert os.listdir(tmp_path) == []


def test_export_interrupted_while_drawing_logos_leaves_nothing(inputs, tmp_path, capsys, monkeypatch,
                                                               restore_logger):
    """The motif file, its table and the logo folder appear together or not at all."""
    import motifscan.motifs.logos as logos

    def interrupted(*args, **kwargs):
        (tmp_path / "out" / "logos" / "motif1.png").write_bytes(b"half a logo set")
        raise KeyboardInterrupt

    monkeypatch.setattr(logos, "plot_logos", interrupted)
    out = tmp_path / "out"
    out.mkdir()
    code = main(["export", str(inputs / "model.h5"), "-o", str(out / "m.meme"), "--logos", str(out / "logos"),
                 "--device", "cpu", "--quiet"])
    assert code == 130
    assert capsys.readouterr().err.strip().splitlines()[-1] == "motifscan: interrupted"
    assert os.listdir(out) == []


def test_evaluate_interrupted_while_plotting_leaves_nothing(inputs, tmp_path, capsys, monkeypatch, restore_logger):
    """metrics.json, roc.png and pr.png appear together or not at all (and no new folder)."""
    import motifscan.evaluate as evaluate

    real = evaluate.plot_curves

    def interrupted(labels, scores, out_dir, **kw):
        real(labels, scores, out_dir, **kw)  # the PNGs are drawn, then Ctrl-C
        raise KeyboardInterrupt

    monkeypatch.setattr(evaluate, "plot_curves", interrupted)
    code = main(["evaluate", str(inputs / "model.h5"), str(inputs / "peaks.fa"), "-o", str(tmp_path / "ev"),
                 "--device", "cpu", "--quiet"])
    assert code == 130
    assert os.listdir(tmp_path) == []
    monkeypatch.setattr(evaluate, "plot_curves", real)
    assert main(["evaluate", str(inputs / "model.h5"), str(inputs / "peaks.fa"), "-o", str(tmp_path / "ev"),
                 "--device", "cpu", "--quiet"]) == 0
    assert sorted(os.listdir(tmp_path / "ev")) == ["metrics.json", "pr.png", "roc.png"]
    assert os.listdir(tmp_path) == ["ev"]


def test_stale_fasta_index_is_rebuilt(inputs, tmp_path, restore_logger):
    """A genome rewritten after it was indexed (same name, new sequences): the old .fai must not be used."""
    genome = tmp_path / "g.fa"
    rng = np.random.default_rng(3)
    genome.write_bytes(_fasta({"chr1": _dna(rng, 1500), "chr2": _dna(rng, 900)}))
    _scan(inputs / "model.h5", genome, tmp_path / "first.bedGraph", "--chrom", "chr2")
    fai = Path(str(genome) + ".fai")
    assert fai.exists()
    genome.write_bytes(_fasta({"chr1": _dna(rng, 2500), "chr2": _dna(rng, 1700), "chr3": _dna(rng, 1200)}))
    os.utime(fai, (fai.stat().st_mtime - 10,) * 2)  # the index is older than the FASTA
    got = _scan(inputs / "model.h5", genome, tmp_path / "second.bedGraph", "--chrom", "chr2,chr3")
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    shutil.copy(genome, fresh / "g.fa")
    assert got == _scan(inputs / "model.h5", fresh / "g.fa", tmp_path / "want.bedGraph", "--chrom", "chr2,chr3")
    assert "chr3\t" in got


# ---------------------------------------------------------------- memory bounded by the input

def test_unused_huge_attribute_is_not_read(inputs, tmp_path):
    """A model file carrying a 200 MB attribute nobody uses loads in the memory of a plain model."""
    padded = tmp_path / "padded.h5"
    shutil.copy(inputs / "model.h5", padded)
    with h5py.File(padded, "a") as h5:
        h5.attrs.create("junk", np.zeros(200 << 20, np.uint8))
    plain, big = load_peak_mb(inputs / "model.h5"), load_peak_mb(padded)
    assert big < plain + 50, (plain, big)  # reading the attribute would add 200 MB


@pytest.mark.parametrize("tasks", [["same", "same"], ["a/b"], [""], [".."], ["a\\b"], ["tab\there"], ["nl\n"]])
def test_unusable_task_names_are_not_written(tasks, tmp_path):
    from motifscan.errors import ModelFileError
    from motifscan.model import check_task_names

    with pytest.raises(ValueError):
        check_task_names(tasks)
    model = MotifCNN(ModelConfig(n_filters=2, filter_width=4, seq_length=20, tasks=tasks))
    with pytest.raises(ModelFileError, match="cannot write the model"):
        save_model(model, tmp_path / "m.h5")
    assert os.listdir(tmp_path) == []
    check_task_names(["bound", "CTCF rep1", "H3K27ac.v2"])  # the rule is about files, not style


def _replace_keeping_old_date(genome: Path, data: bytes) -> None:
    """Overwrite ``genome`` with ``data`` dated an hour before its index (as ``wget`` keeps dates)."""
    fai = Path(str(genome) + ".fai")
    genome.write_bytes(data)
    old = fai.stat().st_mtime - 3600
    os.utime(genome, (old, old))


@pytest.mark.parametrize("kind", ["plain", "bgzip"])
@pytest.mark.parametrize("change", ["lengths", "line-width", "same-size"])
def test_older_dated_genome_with_newer_index_is_reindexed(kind, change, inputs, tmp_path, caplog, restore_logger):
    """A genome replaced by an older-dated file: its (newer) index is checked against it, not trusted."""
    rng = np.random.default_rng(11)
    first = {"chr1": _dna(rng, 1500), "chr2": _dna(rng, 900)}
    second = {"lengths": {"chr1": _dna(rng, 2500), "chr2": _dna(rng, 1700), "chr3": _dna(rng, 1200)},
              "line-width": first, "same-size": {"chr2": _dna(rng, 900), "chr1": _dna(rng, 1500)}}[change]
    width = 70 if change == "line-width" else 60
    folder = tmp_path / "g"
    folder.mkdir()
    genome = folder / ("g.fa" if kind == "plain" else "g.fa.gz")

    def write(records, w=60):
        data = _fasta(records, width=w)
        if kind == "plain":
            return data
        plain = tmp_path / "plain.fa"
        plain.write_bytes(data)
        pysam.tabix_compress(str(plain), str(tmp_path / "z.gz"), force=True)
        return (tmp_path / "z.gz").read_bytes()

    genome.write_bytes(write(first))
    _scan(inputs / "model.h5", genome, tmp_path / "first.bedGraph", "--chrom", "chr2")  # builds the index
    _replace_keeping_old_date(genome, write(second, width))
    chroms = ",".join(sorted(second))
    got = _scan(inputs / "model.h5", genome, tmp_path / "second.bedGraph", "--chrom", chroms)
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    shutil.copy(genome, fresh / genome.name)
    assert got == _scan(inputs / "model.h5", fresh / genome.name, tmp_path / "want.bedGraph", "--chrom", chroms)


def test_stale_index_in_a_read_only_folder_is_not_used(inputs, tmp_path, monkeypatch, caplog, restore_logger):
    """A stale index that cannot be rewritten: a private index for this run, said in a logged line."""
    import motifscan.io.fasta as fasta

    rng = np.random.default_rng(12)
    genome = tmp_path / "g.fa"
    genome.write_bytes(_fasta({"chr1": _dna(rng, 1500), "chr2": _dna(rng, 900)}))
    pysam.faidx(str(genome))
    _replace_keeping_old_date(genome, _fasta({"chr1": _dna(rng, 700), "chr2": _dna(rng, 1300)}))
    stale = Path(str(genome) + ".fai").read_bytes()
    monkeypatch.setattr(fasta, "build_fai", lambda path: False)  # as in a read-only folder
    with caplog.at_level(logging.WARNING, logger="motifscan"):
        with fasta.IndexedFasta(genome) as fa:
            assert fa.sizes == {"chr1": 700, "chr2": 1300}
            assert fa.fetch_raw("chr2", 0, 1300) == _fasta_records(genome)["chr2"]
    assert "does not match" in caplog.text and "temporary folder" in caplog.text
    assert Path(str(genome) + ".fai").read_bytes() == stale  # left as it was, never trusted


def _fasta_records(path: Path) -> dict[str, str]:
    out, name = {}, None
    for line in path.read_text().splitlines():
        if line.startswith(">"):
            name = line[1:].split()[0]
            out[name] = ""
        else:
            out[name] += line.strip()
    return out


def test_fai_check_accepts_good_indexes(inputs, tmp_path):
    """The check passes every index htslib builds: LF and CRLF, a last line without newline, bgzip."""
    from motifscan.io.fasta import read_fai

    for name in ("genome.fa", "genome_crlf.fa", "genome.bgz.fa.gz"):
        shutil.copy(inputs / name, tmp_path / name)
        pysam.faidx(str(tmp_path / name))
        assert read_fai(tmp_path / name) == CHROMS, name
    (tmp_path / "nonl.fa").write_bytes(b">a desc\nACGTACGT\nACG\n>b\nACGTA")
    pysam.faidx(str(tmp_path / "nonl.fa"))
    assert read_fai(tmp_path / "nonl.fa") == {"a": 11, "b": 5}


def test_bom_fasta_streams_like_without(inputs, tmp_path, restore_logger):
    """A UTF-8 byte-order mark before the first '>' is accepted when streaming; indexed access says why not."""
    bom = tmp_path / "bom.fa"
    bom.write_bytes(b"\xef\xbb\xbf" + (inputs / "genome.fa").read_bytes())
    want = _scan(inputs / "model.h5", inputs / "genome.fa", tmp_path / "want.bedGraph")
    assert _scan(inputs / "model.h5", bom, tmp_path / "bom.bedGraph") == want
    from motifscan.errors import InputError
    from motifscan.io.fasta import IndexedFasta

    with pytest.raises(InputError, match="byte-order mark"):
        IndexedFasta(bom)


def test_bom_samplesheet_reads_like_without(inputs, tmp_path):
    from motifscan.io.samplesheet import read_samplesheet

    text = f"name\tpeaks\nA\t{inputs / 'peaks.fa'}\nB\t{inputs / 'peaks_crlf.fa'}\n"
    (tmp_path / "plain.tsv").write_text(text)
    (tmp_path / "bom.tsv").write_bytes(b"\xef\xbb\xbf" + text.encode())
    want = read_samplesheet(tmp_path / "plain.tsv")
    assert [t.name for t in want] == ["A", "B"]
    assert read_samplesheet(tmp_path / "bom.tsv") == want


def test_sizes_from_chrom_sizes_or_fai(inputs, tmp_path):
    from motifscan.errors import InputError
    from motifscan.io.intervals import read_sizes

    shutil.copy(inputs / "genome.fa", tmp_path / "g.fa")
    pysam.faidx(str(tmp_path / "g.fa"))
    assert read_sizes(tmp_path / "g.fa.fai") == list(CHROMS.items())
    (tmp_path / "chrom.sizes").write_text("chr1\t5000\r\nchr2 3000\n")
    assert read_sizes(tmp_path / "chrom.sizes") == list(CHROMS.items())
    (tmp_path / "bad.sizes").write_text("chr1\t5000\nchr2\n")
    with pytest.raises(InputError, match="line 2"):
        read_sizes(tmp_path / "bad.sizes")


@pytest.mark.parametrize("command", ["scan", "variants"])
def test_unreachable_motifs_are_named_and_the_rest_scanned(command, inputs, tmp_path, capsys, restore_logger):
    """Motifs that cannot reach --pvalue are named in one warning; the others still report."""
    head = (inputs / "flat.meme").read_text()
    site = "ACGTTGCA"
    rows = "".join(" ".join("0.97" if b == x else "0.01" for x in "ACGT") + "\n" for b in site)
    mixed = tmp_path / "mixed.meme"
    mixed.write_text(head + f"MOTIF good\nletter-probability matrix: alength= 4 w= {len(site)} nsites= 20 E= 0\n"
                     + rows)
    out = tmp_path / "out.tsv"
    args = [str(inputs / "genome.fa")] if command == "scan" else [str(inputs / "good.vcf"), "--genome",
                                                                  str(inputs / "genome.fa")]
    extra = ["--pvalue", "0.01"] if command == "variants" else []
    assert main([command, str(mixed), *args, "-o", str(out), *extra]) == 0
    err = capsys.readouterr().err
    assert "2 motifs cannot reach" in err and "flat1, flat2" in err
    body = [ln.split("\t") for ln in out.read_text().splitlines()[1:]]
    assert body and all("good" in row for row in body)


def test_mnv_as_long_as_the_window_is_flagged_not_called_mismatch(inputs, tmp_path, restore_logger):
    """An MNV whose REF matches the genome but is as long as the window (60 here) or longer gets its
    own ref_check, not ``mismatch``; a shorter one is scored as before."""
    chr1 = "".join(ln.strip() for ln in (inputs / "genome.fa").read_text().split(">chr2")[0].splitlines()[1:])
    comp = str.maketrans("ACGT", "CATG")
    rows = []
    for pos, k in ((1001, 59), (2001, 60), (3001, 90)):
        ref = chr1[pos - 1 : pos - 1 + k]
        rows.append(f"chr1\t{pos}\tm{k}\t{ref}\t{ref.translate(comp)}\t.\t.\t.\n")
    head = "".join(ln for ln in (inputs / "good.vcf").read_text().splitlines(keepends=True) if ln.startswith("#"))
    vcf = tmp_path / "mnv.vcf"
    vcf.write_text(head + "".join(rows))
    out = tmp_path / "e.tsv"
    assert main(["variants", str(inputs / "model.h5"), str(vcf), "--genome", str(inputs / "genome.fa"), "-o",
                 str(out), "--device", "cpu", "--quiet"]) == 0
    table = [ln.split("\t") for ln in out.read_text().splitlines()]
    col = table[0].index("ref_check")
    checks = {r[2]: r[col] for r in table[1:]}
    assert checks == {"m59": "ok", "m60": "longer_than_window", "m90": "longer_than_window"}
    scored = {r[2]: r[col + 1] for r in table[1:]}
    assert scored["m59"] != "" and scored["m60"] == "" and scored["m90"] == ""


def test_motif_variants_memory_does_not_grow_with_indel_length(tmp_path):
    """A 30 kb deletion (and the insertion of the same bases) in motif mode: memory stays near that of
    one SNV (it took 600 MB more with 30 motifs, and a MemoryError with all of JASPAR)."""
    rng = np.random.default_rng(21)
    seq = _dna(rng, 40_000)
    (tmp_path / "g.fa").write_bytes(_fasta({"chr1": seq}))
    text = Path(JASPAR).read_text()
    head, *motifs = text.split("\nMOTIF ")
    (tmp_path / "m.meme").write_text(head + "".join("\nMOTIF " + m for m in motifs[:30]))
    vhead = ("##fileformat=VCFv4.2\n##contig=<ID=chr1,length=40000>\n"
             "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")
    L = 30_000
    (tmp_path / "snv.vcf").write_text(vhead + f"chr1\t5000\ts\t{seq[4999]}\t{'A' if seq[4999] != 'A' else 'C'}\t.\t.\t.\n")
    (tmp_path / "indel.vcf").write_text(vhead + f"chr1\t5000\td\t{seq[4999:4999 + L]}\t{seq[4999]}\t.\t.\t.\n"
                                        f"chr1\t36000\ti\t{seq[35999]}\t{seq[35999]}{seq[5000:5000 + L - 1]}\t.\t.\t.\n")

    def peak(vcf: str) -> float:
        mb, code, err = cli_peak_mb(["variants", str(tmp_path / "m.meme"), str(tmp_path / vcf), "--genome",
                                     str(tmp_path / "g.fa"), "-o", str(tmp_path / f"{vcf}.tsv"), "--quiet"])
        assert code == 0, err
        return mb

    small, large = peak("snv.vcf"), peak("indel.vcf")
    assert large < small + 250, (small, large)
    rows = (tmp_path / "indel.vcf.tsv").read_text().splitlines()[1:]
    assert {r.split("\t")[2] for r in rows} == {"d", "i"}  # both scored
