"""The rough edges a new user hit (issue 21, part 3): each one as it was met, run through the CLI."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import write_fasta

from motifscan.cli._base import main
from motifscan.model import ModelConfig, MotifCNN, save_model

REPO = Path(__file__).resolve().parents[1]
JASPAR = REPO / "motifscan" / "resources" / "JASPAR2024_CORE_vertebrates.meme"


def _one_error_line(err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("motifscan: error: ")
    return lines[0]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A tiny model, a genome, peaks and a VCF."""
    d = tmp_path_factory.mktemp("edges")
    rng = np.random.default_rng(3)
    genome = "".join(rng.choice(list("ACGT"), 3000))
    write_fasta(d / "genome.fa", ["chr1"], [genome])
    write_fasta(d / "peaks.fa", [f"p{i}" for i in range(4)],
                ["".join(rng.choice(list("ACGT"), 40)) for _ in range(4)])
    torch.manual_seed(0)
    save_model(MotifCNN(ModelConfig(n_filters=4, filter_width=8, seq_length=40)).eval(), d / "model.h5")
    (d / "calls.vcf").write_text("##fileformat=VCFv4.2\n##contig=<ID=chr1,length=3000>\n"
                                 "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
                                 f"chr1\t1500\trs1\t{genome[1499]}\t{'A' if genome[1499] != 'A' else 'C'}\t.\t.\t.\n")
    (d / "notes.txt").write_text("a note, not motifs\n")
    return d


# ---------------------------------------------------------------- 1: the `jaspar` keyword
def test_readme_names_no_motif_file_that_is_missing():
    """The README's commands name the bundled collection by keyword, not by a path that does not exist."""
    readme = (REPO / "README.md").read_text()
    for path in re.findall(r"[\w.-]+/[\w./-]+\.meme\b", readme):
        assert (REPO / path).exists(), path


def test_jaspar_keyword_is_the_bundled_file_for_scan_and_variants(files):
    from motifscan.cli._inputs import SEQUENCE_ENDINGS, VCF_ENDINGS, model_or_motifs

    kind, path = model_or_motifs("jaspar", str(files / "genome.fa"), command="scan", usage="", what="input",
                                 endings=SEQUENCE_ENDINGS)
    assert kind == "motifs" and Path(path) == JASPAR
    kind, path = model_or_motifs("JASPAR", str(files / "calls.vcf"), command="variants", usage="", what="VCF",
                                 endings=VCF_ENDINGS)
    assert kind == "motifs" and Path(path) == JASPAR


def test_scan_jaspar(files, tmp_path):
    out = tmp_path / "hits.tsv"
    assert main(["scan", "jaspar", str(files / "genome.fa"), "-o", str(out), "--pvalue", "1e-5", "-q"]) == 0
    assert out.read_text().startswith("motif_id\tmotif_alt_id")


def test_variants_jaspar(files, tmp_path):
    out = tmp_path / "breaks.tsv"
    assert main(["variants", "jaspar", str(files / "calls.vcf"), "--genome", str(files / "genome.fa"),
                 "-o", str(out), "-q"]) == 0
    assert out.exists()


def test_simulate_jaspar_plants_ctcf(tmp_path):
    fa, bed = tmp_path / "g.fa", tmp_path / "t.bed"
    assert main(["simulate", "-o", str(fa), "--truth", str(bed), "--length", "5000", "--n-sites", "3",
                 "--motifs", "jaspar", "-q"]) == 0
    assert {ln.split("\t")[3] for ln in bed.read_text().splitlines()} == {"MA0139.2"}


def test_attribute_motifs_jaspar(files, tmp_path):
    out = tmp_path / "a.npz"
    assert main(["attribute", str(files / "model.h5"), str(files / "peaks.fa"), "-o", str(out),
                 "--seqlets", str(tmp_path / "s.bed"), "--motifs", "jaspar", "--device", "cpu", "-q"]) == 0
    assert out.exists()


# ---------------------------------------------------------------- 2 and 4: the first argument
@pytest.mark.parametrize("output", ["x.tsv", "x.bw"])
def test_scan_of_a_text_file_says_it_is_not_a_model_or_motif_file(files, tmp_path, capsys, output):
    """Not 'give --format' (the output's format) and not a complaint about the output name first."""
    assert main(["scan", str(files / "notes.txt"), str(files / "genome.fa"), "-o", str(tmp_path / output)]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert "notes.txt" in line and "not a model" in line and "--motif-format" in line
    assert output not in line and "--format" not in line.replace("--motif-format", "")


def test_motif_format_makes_any_name_a_motif_file(files, tmp_path):
    notes = tmp_path / "ctcf.txt"
    notes.write_bytes(JASPAR.read_bytes())
    assert main(["scan", str(notes), str(files / "genome.fa"), "-o", str(tmp_path / "h.tsv"),
                 "--motif-format", "meme", "--pvalue", "1e-6", "-q"]) == 0


@pytest.mark.parametrize("argv, swap", [
    ("evaluate {d}/peaks.fa {d}/model.h5 -o {t}/ev", "evaluate {d}/model.h5 {d}/peaks.fa"),
    ("attribute {d}/peaks.fa {d}/model.h5 -o {t}/a.npz", "attribute {d}/model.h5 {d}/peaks.fa"),
    ("scan {d}/genome.fa {d}/model.h5 -o {t}/x.bw", "scan {d}/model.h5 {d}/genome.fa"),
    ("variants {d}/calls.vcf {d}/model.h5 --genome {d}/genome.fa -o {t}/e.tsv",
     "variants {d}/model.h5 {d}/calls.vcf"),
])
def test_swapped_arguments_suggest_the_swap(files, tmp_path, capsys, argv, swap):
    assert main(argv.format(d=files, t=tmp_path).split()) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert "first argument must be a model" in line and f"did you mean: motifscan {swap.format(d=files)}" in line
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("second", ["genome.fa", "peaks.fa"])
def test_two_inputs_do_not_suggest_swapping_them(files, tmp_path, capsys, second):
    """`scan genome.fa genome.fa` once suggested the very same command."""
    assert main(["scan", str(files / "genome.fa"), str(files / second), "-o", str(tmp_path / "x.bw")]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert "genome.fa is the input" in line and "did you mean" not in line


# ---------------------------------------------------------------- 3: JASPAR's raw .pfm
def test_jaspar_raw_pfm_is_read_and_named_by_its_file(files, tmp_path):
    from motifscan.io.motif_formats import read_motifs, write_motifs

    ctcf = next(m for m in read_motifs(JASPAR) if m.id == "MA0139.2")
    counts = np.round(ctcf.probs * 100).astype(int)
    pfm = tmp_path / "MA0139.2.pfm"  # as JASPAR serves it: 4 rows A, C, G, T, no header
    pfm.write_text("\n".join(" ".join(f"{c:4d}" for c in counts[:, j]) for j in range(4)) + "\n")
    (m,) = read_motifs(pfm)
    assert m.id == "MA0139.2" and m.width == ctcf.width
    np.testing.assert_allclose(m.probs, counts / counts.sum(axis=1, keepdims=True))
    # written back (with its '>ID' line) and read again: the same matrix
    back = read_motifs(write_motifs([m], tmp_path / "again.pfm"))
    assert back[0].id == m.id
    np.testing.assert_allclose(back[0].probs, m.probs, atol=1e-6)
    # and the CLI takes it as a motif file
    assert main(["scan", str(pfm), str(files / "genome.fa"), "-o", str(tmp_path / "h.tsv"), "-q"]) == 0


def test_raw_pfm_rows_must_be_four(tmp_path):
    from motifscan.errors import InputError
    from motifscan.io.motif_formats import read_motifs

    pfm = tmp_path / "five.pfm"
    pfm.write_text("1 2\n3 4\n5 6\n7 8\n9 10\n")
    with pytest.raises(InputError, match="five.pfm.*line 5"):
        read_motifs(pfm)


# ---------------------------------------------------------------- 13: counts in messages
def test_plural():
    from motifscan.text import plural

    assert [plural(n, "allele") for n in (0, 1, 2)] == ["0 alleles", "1 allele", "2 alleles"]
    assert plural(1, "match", "matches") == "1 match" and plural(3, "match", "matches") == "3 matches"
    assert plural(1024, "read", commas=True) == "1,024 reads"


def test_one_thread_and_one_allele_are_singular(files, tmp_path, capsys):
    assert main(["variants", "jaspar", str(files / "calls.vcf"), "--genome", str(files / "genome.fa"),
                 "-o", str(tmp_path / "b.tsv"), "--threads", "1", "--device", "auto"]) == 0
    err = capsys.readouterr().err
    assert "(1 thread;" in err and "1 allele of 1 record" in err
    assert not re.search(r"\b1 (threads|alleles|records)\b", err)


# ---------------------------------------------------------------- one --task resolver
def test_task_index_by_name_or_index():
    from motifscan.data.tasks import task_index
    from motifscan.errors import UsageError

    tasks = ["ctcf", "1", "maf"]
    assert task_index(tasks, "maf") == 2 and task_index(tasks, 2) == 2 and task_index(tasks, "0") == 0
    assert task_index(tasks, "1") == 1  # the task named "1" (also its index here)
    with pytest.raises(UsageError, match="--task 'nosuch' is not a task"):
        task_index(tasks, "nosuch")
    with pytest.raises(UsageError, match="--task 3: the model has 3 tasks"):
        task_index(tasks, "3")


@pytest.fixture(scope="module")
def two_task_model(tmp_path_factory):
    path = tmp_path_factory.mktemp("two") / "two.h5"
    torch.manual_seed(1)
    save_model(MotifCNN(ModelConfig(n_filters=4, filter_width=8, seq_length=40, tasks=["ctcf", "maf"])).eval(), path)
    return path


@pytest.mark.parametrize("command, output", [
    ("scan {m} {d}/genome.fa -o {o}", "t.bedGraph"),
    ("attribute {m} {d}/peaks.fa -o {o}", "a.npz"),
    ("evaluate {m} {d}/peaks.fa -o {o}", "ev"),
    ("export {m} -o {o}", "m.meme"),
])
def test_task_by_name_or_index_is_the_same_in_every_command(files, two_task_model, tmp_path, command, output):
    outs = []
    for task in ("maf", "1"):
        out = tmp_path / task / output
        out.parent.mkdir()
        argv = command.format(m=two_task_model, d=files, o=out).split() + ["--task", task, "-q"]
        assert main(argv + ["--device", "cpu"]) == 0
        outs.append(out)
    a, b = outs
    if a.is_dir():
        a, b = a / "metrics.json", b / "metrics.json"
    if a.suffix == ".npz":
        assert all(np.array_equal(x, y) for x, y in zip(np.load(a).values(), np.load(b).values()))
    elif a.exists() or b.exists():
        assert a.read_bytes() == b.read_bytes()


# ---------------------------------------------------------------- TrainOptions: defaults once
def test_workflow_schema_train_defaults_are_train_options():
    import yaml

    from motifscan.data.datasets import DEFAULT_TEST_CHROMS, DEFAULT_VALID_CHROMS
    from motifscan.train import TrainOptions

    schema = yaml.safe_load((REPO / "workflows" / "schemas" / "config.schema.yaml").read_text())
    train = schema["properties"]["experiments"]["additionalProperties"]["properties"]["train"]["properties"]
    field = {"filters": "n_filters", "rc": "rc_sharing"}
    held_out = {"valid_chroms": list(DEFAULT_VALID_CHROMS), "test_chroms": list(DEFAULT_TEST_CHROMS)}
    checked = set()
    for key, spec in train.items():
        if key == "extra":
            continue
        assert "default" in spec, key
        want = held_out[key] if key in held_out else getattr(TrainOptions, field.get(key, key))
        assert spec["default"] == want, key
        checked.add(key)
    assert checked >= {"length", "filters", "filter_width", "epochs", "neg_ratio", "rc", "seed"}


def test_cli_train_defaults_are_train_options():
    from motifscan.cli import cli
    from motifscan.train import TrainOptions

    params = {p.name: p for p in cli.commands["train"].params}
    for name in ("neg_ratio", "length", "n_filters", "filter_width", "hidden", "dropout", "epochs", "patience",
                 "batch_size", "lr", "seed"):
        assert params[name].default == getattr(TrainOptions, name), name


# ---------------------------------------------------------------- 7: training progress off a terminal
def test_fit_logs_one_line_per_epoch_off_a_terminal(planted, caplog):
    import logging

    from motifscan.train import fit

    pos, neg = planted[0], planted[1]
    order = np.random.default_rng(0).permutation(2 * len(pos))
    codes = np.concatenate([pos, neg])[order]
    labels = np.concatenate([np.ones(len(pos)), np.zeros(len(neg))]).astype(np.float32)[order]
    torch.manual_seed(0)
    model = MotifCNN(ModelConfig(n_filters=4, filter_width=8, seq_length=codes.shape[1]))
    with caplog.at_level(logging.INFO, logger="motifscan"):
        history = fit(model, codes[:200], labels[:200], codes[200:], labels[200:], epochs=3, min_epochs=3,
                      device="cpu", progress=True)
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("epoch ")]
    assert len(lines) == len(history) == 3
    assert all(re.fullmatch(r"epoch \d of at most 3: loss [\d.]+, valid AUROC [\d.]+, AUPRC [\d.]+ \([\d.]+ s\)", ln)
               for ln in lines)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="motifscan"):
        fit(model, codes[:200], labels[:200], codes[200:], labels[200:], epochs=2, min_epochs=2, device="cpu",
            progress=False)  # --quiet
    assert not [r for r in caplog.records if r.getMessage().startswith("epoch ")]


# ---------------------------------------------------------------- 15: plot titles
def test_roc_and_pr_plots_name_the_model_and_the_data(files, tmp_path, monkeypatch):
    from motifscan import evaluate

    titles = []
    real = evaluate.plot_curves

    def spy(*args, **kw):
        titles.append(kw["title"])
        return real(*args, **kw)

    monkeypatch.setattr(evaluate, "plot_curves", spy)
    assert main(["evaluate", str(files / "model.h5"), str(files / "peaks.fa"), "-o", str(tmp_path / "ev"),
                 "--device", "cpu", "-q"]) == 0
    assert titles == [f"{files.name}/model.h5 on {files.name}/peaks.fa"]
    assert evaluate.evaluation_title("model.h5", "peaks.fa") == "model.h5 on peaks.fa"


# ---------------------------------------------------------------- 9: gather from the command line
def test_gather_command_joins_shards_into_the_unsharded_outputs(tmp_path, capsys):
    from scan_helpers import random_dna, random_model

    rng = np.random.default_rng(5)
    fa = write_fasta(tmp_path / "g.fa", ["chr1", "chr2"], [random_dna(rng, 9000), random_dna(rng, 4000)])
    model = tmp_path / "m.h5"
    save_model(random_model(n_filters=6, width=7, seq_length=60, seed=3), model)

    def scan(out, peaks, *extra):
        assert main(["scan", str(model), str(fa), "-o", str(out), "--peaks", str(peaks), "--stride", "10",
                     "--threshold", "0.5", "-q", *extra]) == 0

    scan(tmp_path / "whole.bw", tmp_path / "whole.bed")
    for i in (1, 2, 3):
        scan(tmp_path / f"{i}.bw", tmp_path / f"{i}.bed", "--shard", f"{i}/3", "--chunk-size", "1500")
    assert main(["gather", *(str(tmp_path / f"{i}.bw") for i in (1, 2, 3)), "-o", str(tmp_path / "g.bw"),
                 *(a for i in (1, 2, 3) for a in ("--shard-peaks", str(tmp_path / f"{i}.bed"))),
                 "--peaks", str(tmp_path / "g.bed")]) == 0
    assert "from 3 shards" in capsys.readouterr().err
    assert (tmp_path / "g.bw").read_bytes() == (tmp_path / "whole.bw").read_bytes()
    assert (tmp_path / "g.bed").read_text() == (tmp_path / "whole.bed").read_text()
    assert main(["gather", str(tmp_path / "1.bw"), str(tmp_path / "2.bw"), str(tmp_path / "3.bw"),
                 "-o", str(tmp_path / "t.bw")]) == 0
    assert (tmp_path / "t.bw").read_bytes() == (tmp_path / "whole.bw").read_bytes()
    assert main(["gather", str(tmp_path / "1.bw"), "-o", str(tmp_path / "x.bw"), "--peaks", "p.bed"]) == 2


def test_scan_help_says_to_gather_shards(capsys):
    assert main(["scan", "--help"]) == 0
    assert "motifscan gather" in " ".join(capsys.readouterr().out.split())


# ---------------------------------------------------------------- 12: provenance of the annotated VCF
@pytest.mark.parametrize("name", ["a.vcf", "a.vcf.gz"])
def test_annotated_vcf_records_version_and_command(files, tmp_path, name):
    import pysam

    from motifscan import __version__

    out = tmp_path / name
    argv = ["variants", str(files / "model.h5"), str(files / "calls.vcf"), "--genome", str(files / "genome.fa"),
            "-o", str(tmp_path / "e.tsv"), "--vcf-out", str(out), "--device", "cpu", "-q"]
    assert main(argv) == 0
    with pysam.VariantFile(str(out)) as vf:
        meta = {r.key: r.value for r in vf.header.records if r.type == "GENERIC"}
        assert len(list(vf)) == 1
    assert meta["motifscanVersion"] == __version__
    assert meta["motifscanCommand"] == "motifscan " + " ".join(argv)


# ---------------------------------------------------------------- 5: tagged BAM from unaligned reads
def test_tagged_bam_of_unaligned_reads_opens_in_htslib(files, tmp_path):
    """A uBAM (no @SQ lines) written back with scores: a header htslib accepts, every read tagged."""
    import pysam

    rng = np.random.default_rng(9)
    ubam = tmp_path / "reads.unaligned.bam"
    header = pysam.AlignmentHeader.from_dict({"HD": {"VN": "1.6", "SO": "unsorted"}, "RG": [{"ID": "run1", "SM": "s"}]})
    with pysam.AlignmentFile(str(ubam), "wb", header=header) as out:
        for i in range(5):
            read = pysam.AlignedSegment(header)
            read.query_name, read.flag = f"r{i}", 4
            read.query_sequence = "".join(rng.choice(list("ACGT"), 60))
            read.query_qualities = pysam.qualitystring_to_array("I" * 60)
            read.set_tag("RG", "run1")
            out.write(read)
    tagged = tmp_path / "tagged.bam"
    assert main(["scan", str(files / "model.h5"), str(ubam), "-o", str(tmp_path / "r.tsv"), "--tag-bam", str(tagged),
                 "--device", "cpu", "-q"]) == 0
    with pysam.AlignmentFile(str(tagged), "rb", check_sq=False) as bam:
        reads = list(bam.fetch(until_eof=True))
        assert [r.query_name for r in reads] == [f"r{i}" for i in range(5)]
        assert all(r.has_tag("ms") and r.get_tag("RG") == "run1" for r in reads)
        assert bam.header.to_dict()["PG"][-1]["PN"] == "motifscan"
    pysam.view("-H", str(tagged))  # samtools' own reader: raises on a header it refuses


# ---------------------------------------------------------------- 10: --regions keeps the BED's names
def test_regions_keep_their_names_and_the_merge_is_logged(files, tmp_path, capsys):
    peaks = tmp_path / "r.narrowPeak"
    peaks.write_text("chr1\t100\t300\tpeakA\t0\t.\t5\t-1\t-1\t100\n"
                     "chr1\t250\t500\tpeakB\t0\t.\t5\t-1\t-1\t100\n"
                     "chr1\t1000\t1200\tpeakC\t0\t.\t5\t-1\t-1\t100\n")
    out = tmp_path / "r.tsv"
    assert main(["scan", str(files / "model.h5"), str(files / "genome.fa"), "--regions", str(peaks), "-o", str(out),
                 "--device", "cpu"]) == 0
    assert "2 overlapping intervals merged into 1 region" in capsys.readouterr().err
    rows = [ln.split("\t") for ln in out.read_text().splitlines()[1:]]
    assert [(r[0], r[1]) for r in rows] == [("peakA+peakB", "400"), ("peakC", "200")]
    # a BED without names: rows named by their coordinates, as before; no merge, no merge line
    bed = tmp_path / "r.bed"
    bed.write_text("chr1\t100\t300\nchr1\t1000\t1200\n")
    assert main(["scan", str(files / "model.h5"), str(files / "genome.fa"), "--regions", str(bed), "-o", str(out),
                 "--device", "cpu"]) == 0
    assert "merged" not in capsys.readouterr().err
    assert [ln.split("\t")[0] for ln in out.read_text().splitlines()[1:]] == ["chr1:100-300", "chr1:1000-1200"]


# ---------------------------------------------------------------- 11: a task without held-out sequences
def test_a_task_on_a_small_genome_falls_back_to_a_stratified_split(caplog):
    """Task 'big' has peaks on every chromosome; task 'small' only on chr1-chr3 of its own small
    genome, so the default hold-out (valid chr8, chr20) would give it no validation sequence."""
    import logging

    from motifscan.data.datasets import LabelledSet, split_dataset

    rng = np.random.default_rng(0)
    big = [f"chr{c}" for c in range(1, 23) for _ in range(40)]
    small = [f"chr{c}" for c in (1, 2, 3) for _ in range(60)]
    n_big, n_small = len(big), len(small)
    labels = np.full((n_big + n_small, 2), np.nan, np.float32)
    labels[:n_big, 0] = rng.integers(0, 2, n_big)
    labels[n_big:, 1] = rng.integers(0, 2, n_small)
    data = LabelledSet([f"s{i}" for i in range(len(labels))], np.zeros((len(labels), 10), np.uint8), labels,
                       big + small)
    with caplog.at_level(logging.WARNING, logger="motifscan"):
        split = split_dataset(data, tasks=["big", "small"])
    assert split.method == "stratified"
    assert "task small" in caplog.text and "validation" in caplog.text and "stratified" in caplog.text
    for part in (split.valid, split.test):
        col = labels[part, 1]
        assert (col == 1).any() and (col == 0).any()
    # with both tasks on every chromosome the hold-out stands
    labels[n_big:, 1] = np.nan
    labels[:n_big, 1] = labels[:n_big, 0]
    assert split_dataset(data, tasks=["big", "small"]).method == "chromosomes"


# ---------------------------------------------------------------- 6: attribute's stages timed apart
def test_attribute_times_each_stage(files, tmp_path, capsys):
    assert main(["attribute", str(files / "model.h5"), str(files / "peaks.fa"), "-o", str(tmp_path / "a.npz"),
                 "--seqlets", str(tmp_path / "s.bed"), "--motifs", "jaspar", "--seqlet-quantile", "0.5",
                 "--device", "cpu"]) == 0
    err = capsys.readouterr().err
    ism = re.search(r"ism attributions of 4 sequences x 40 bp \(task bound\) in ([\d.]+) s", err)
    seq = re.search(r"(\d+) seqlets? \(running mean .*\) in ([\d.]+) s, named in ([\d.]+) s -> ", err)
    assert ism and seq, err
    n = int(seq.group(1))
    assert n > 0 and f"naming {n} seqlet" in err and "among 879 motifs" in err


@pytest.mark.slow
def test_enrich_motifs_jaspar_is_the_default_collection(files, tmp_path):
    a, b = tmp_path / "a.tsv", tmp_path / "b.tsv"
    assert main(["enrich", str(files / "peaks.fa"), "-o", str(a), "-q"]) == 0
    assert main(["enrich", str(files / "peaks.fa"), "-o", str(b), "--motifs", "jaspar", "-q"]) == 0
    assert a.read_bytes() == b.read_bytes()


# ---------------------------------------------------------------- `-o -` is not a file called '-'
@pytest.mark.parametrize("args, said", [
    (["scan", "{model}", "{genome}", "-o", "-", "--format", "bedgraph"], "standard output is not an output here"),
    (["variants", "{model}", "{vcf}", "--genome", "{genome}", "-o", "-"], "standard output is not an output here"),
    # refused earlier, as a name without a format
    (["scan", "jaspar", "{genome}", "-o", "-"], "cannot tell the motif-hit format from '-'"),
    (["scan", "{model}", "{genome}", "-o", "{tmp}/t.bedGraph", "--peaks", "-"], "cannot tell the output format"),
])
def test_dash_output_is_refused_not_written_as_a_file(files, tmp_path, monkeypatch, capsys, args, said):
    monkeypatch.chdir(tmp_path)
    argv = [a.format(model=files / "model.h5", genome=files / "genome.fa", vcf=files / "calls.vcf", tmp=tmp_path)
            for a in args]
    assert main(argv) == 2
    assert said in _one_error_line(capsys.readouterr().err)
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_spill_arrays_round_trip_without_numpys_file_object_path(tmp_path):
    # the scans' spill files (stdin bigWig runs, FIMO hits) are written and read through the file
    # object's own write/readinto: numpy's tofile/fromfile turned a Ctrl-C landing in them into a
    # TypeError (an internal error, exit 1, instead of the interrupt, exit 130)
    import numpy as np

    from motifscan.io.writer import read_array, write_array

    hits = np.zeros(5, np.dtype([("motif", "<i4"), ("score", "<f8"), ("strand", "u1")]))
    hits["motif"], hits["score"] = np.arange(5), 2.5
    with open(tmp_path / "spill", "w+b") as fh:
        write_array(fh, hits)
        write_array(fh, np.arange(7, dtype=np.int64).reshape(7, 1)[::1])
        fh.seek(0)
        back = read_array(fh, hits.dtype, 5)
        rest = read_array(fh, np.int64, 100)  # fewer at the end of the file
    assert np.array_equal(back, hits) and back.flags.writeable
    assert np.array_equal(rest, np.arange(7)) and rest.flags.writeable
