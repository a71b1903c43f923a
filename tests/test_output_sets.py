"""Issue 22, off the happy path of outputs: no input overwritten, no output set half-written.

* every command refuses (exit 2, one line naming both options) an output that is the same file as
  an input or another output -- the input left untouched;
* the fault-injection sweep: for each command with several outputs, a failure at each file's
  write, each ``fsync``, each backup link and each rename leaves either every final output
  (complete) or none -- or, over a previous run's outputs, exactly those -- and no temporary;
* stale indexes (``.tbi``) and temporaries of killed runs (``SIGKILL``) are removed on rerun;
* a full disk (an injected ``ENOSPC``, and a real 64 KiB tmpfs where the machine lets us mount one)
  is one line naming the file and saying the disk is full, with nothing left behind;
* a genome in a read-only folder without its ``.fai`` is indexed privately (read-only bind mount).
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pysam
import pytest

from conftest import write_fasta
from scan_helpers import random_dna, random_model

import motifscan.atomic as atomic
from motifscan.atomic import TMP_MARKER, OutputSet, atomic_open, check_distinct, output_set
from motifscan.cli._base import main
from motifscan.errors import DiskFullError, UsageError
from motifscan.io.gather import gather
from motifscan.model import save_model

REPO = Path(__file__).resolve().parents[1]
JASPAR = REPO / "motifscan" / "resources" / "JASPAR2024_CORE_vertebrates.meme"
CHROMS = {"chr1": 4000, "chr2": 2500}


@pytest.fixture
def restore_logger():
    log = logging.getLogger("motifscan")
    saved = (log.handlers[:], log.propagate, log.level)
    yield
    log.handlers[:], log.propagate, log.level = saved


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("outsets")
    rng = np.random.default_rng(11)
    seqs = {c: random_dna(rng, n) for c, n in CHROMS.items()}
    write_fasta(d / "g.fa", list(seqs), list(seqs.values()))
    pysam.faidx(str(d / "g.fa"))
    save_model(random_model(n_filters=4, width=8, seq_length=60, seed=2), d / "model.h5")
    write_fasta(d / "peaks.fa", [f"p{i}" for i in range(40)], [random_dna(rng, 60) for _ in range(40)])
    (d / "r.bed").write_text("chr1\t100\t2000\nchr2\t0\t2000\n")
    with open(d / "in.vcf", "w") as fh:
        fh.write("##fileformat=VCFv4.2\n" + "".join(f"##contig=<ID={c},length={n}>\n" for c, n in CHROMS.items()))
        fh.write("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")
        for c in CHROMS:
            for pos in range(300, 2000, 170):
                ref = seqs[c][pos - 1]
                fh.write(f"{c}\t{pos}\t.\t{ref}\t{'ACGT'[('ACGT'.index(ref) + 1) % 4]}\t.\t.\t.\n")
    text = JASPAR.read_text()
    head, _, rest = text.partition("MOTIF ")
    (d / "q.meme").write_text(head + "MOTIF " + next(b for b in rest.split("MOTIF ") if b.startswith("MA0139")))
    header = pysam.AlignmentHeader.from_dict({"HD": {"VN": "1.6", "SO": "coordinate"},
                                              "SQ": [{"SN": c, "LN": n} for c, n in CHROMS.items()]})
    with pysam.AlignmentFile(str(d / "reads.bam"), "wb", header=header) as bam:
        for i in range(5):
            read = pysam.AlignedSegment(header)
            read.query_name, read.flag, read.reference_id = f"r{i}", 0, 0
            read.reference_start, read.mapping_quality, read.cigarstring = 100 * i, 60, "80M"
            read.query_sequence = random_dna(rng, 80)
            read.query_qualities = pysam.qualitystring_to_array("I" * 80)
            bam.write(read)
    pysam.index(str(d / "reads.bam"))
    return d


def _cli(argv: list[str], capsys) -> tuple[int, str]:
    code = main([*argv, "--quiet"] if argv[0] != "simulate" else [*argv, "--quiet"])
    return code, capsys.readouterr().err


def _leftovers(folder: Path) -> list[str]:
    return sorted(n for n in os.listdir(folder) if TMP_MARKER in n or n.startswith("."))


# ---------------------------------------------------------------- item 1: outputs never overwrite inputs
CPU = ["--device", "cpu"]
SAME_FILE = {
    "variants -o VCF": (["variants", "{i}/model.h5", "{i}/in.vcf", "--genome", "{i}/g.fa", "-o", "{i}/in.vcf", *CPU],
                        ["-o", "VCF"], "in.vcf"),
    "variants --vcf-out VCF": (["variants", "{i}/model.h5", "{i}/in.vcf", "--genome", "{i}/g.fa", "-o", "{o}/e.tsv",
                                "--vcf-out", "{i}/in.vcf", *CPU], ["--vcf-out", "VCF"], "in.vcf"),
    "variants -o genome": (["variants", "{i}/model.h5", "{i}/in.vcf", "--genome", "{i}/g.fa", "-o", "{i}/g.fa", *CPU],
                           ["-o", "--genome"], "g.fa"),
    "variants motifs -o VCF": (["variants", "{i}/q.meme", "{i}/in.vcf", "--genome", "{i}/g.fa", "-o", "{i}/in.vcf",
                                *CPU], ["-o", "VCF"], "in.vcf"),
    "compare": (["compare", "{i}/q.meme", "-o", "{i}/q.meme"], ["-o", "QUERY"], "q.meme"),
    "train": (["train", "{i}/peaks.fa", "-o", "{i}/peaks.fa", "--epochs", "1", *CPU], ["-o", "POSITIVES"], "peaks.fa"),
    "train --metrics -o": (["train", "{i}/peaks.fa", "-o", "{o}/m.h5", "--metrics", "{o}/m.h5", *CPU],
                           ["--metrics", "-o"], None),
    "scan --regions": (["scan", "{i}/model.h5", "{i}/g.fa", "--regions", "{i}/r.bed", "-o", "{i}/r.bed", *CPU],
                       ["-o", "--regions"], "r.bed"),
    "scan -o MODEL": (["scan", "{i}/model.h5", "{i}/g.fa", "-o", "{i}/model.h5", "--format", "bedgraph", *CPU],
                      ["-o", "MODEL"], "model.h5"),
    "scan --tag-bam INPUT": (["scan", "{i}/model.h5", "{i}/reads.bam", "-o", "{o}/r.tsv", "--tag-bam",
                              "{i}/reads.bam", *CPU], ["--tag-bam", "INPUT"], "reads.bam"),
    "scan --tag-bam INPUT's index": (["scan", "{i}/model.h5", "{i}/reads.bam", "-o", "{o}/r.tsv", "--tag-bam",
                                      "{i}/reads.bam.bai", *CPU], ["--tag-bam", "INPUT's index"], "reads.bam.bai"),
    "scan motifs -o INPUT": (["scan", "{i}/q.meme", "{i}/g.fa", "-o", "{i}/g.fa", "--format", "tsv", *CPU],
                             ["-o", "INPUT"], "g.fa"),
    "export": (["export", "{i}/model.h5", "-o", "{i}/model.h5", "--format", "meme", *CPU], ["-o", "MODEL"],
               "model.h5"),
    "simulate": (["simulate", "-o", "{o}/s.fa", "--truth", "{o}/s.fa", "--length", "5000", "--n-sites", "2"],
                 ["--truth", "-o"], None),
    "attribute": (["attribute", "{i}/model.h5", "{i}/peaks.fa", "-o", "{i}/peaks.fa", *CPU], ["-o", "INPUT"],
                  "peaks.fa"),
    "evaluate": (["evaluate", "{i}/model.h5", "{o}/ev/metrics.json", "-o", "{o}/ev", *CPU], ["-o", "POSITIVES"],
                 None),
    "-o through a link to the input": (["compare", "{i}/q.meme", "-o", "{o}/link.meme"], ["-o", "QUERY"], "q.meme"),
}


@pytest.mark.parametrize("name", list(SAME_FILE))
def test_an_output_that_is_an_input_or_another_output_is_refused(name, inputs, tmp_path, capsys, restore_logger):
    argv, options, protected = SAME_FILE[name]
    out = tmp_path / "out"
    out.mkdir()
    if "link" in name:
        (out / "link.meme").symlink_to(inputs / "q.meme")
    if name == "evaluate":
        (out / "ev").mkdir()
        shutil.copy(inputs / "peaks.fa", out / "ev" / "metrics.json")
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in inputs.iterdir()}
    code, err = _cli([a.format(i=inputs, o=out) for a in argv], capsys)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("motifscan: error: "), err
    assert "is the same file as" in lines[0]
    for option in options:
        assert option in lines[0], (option, lines[0])
    if protected is not None:
        assert (inputs / protected).name in lines[0]
    assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in inputs.iterdir()} == before
    assert _leftovers(out) == []


def test_gather_refuses_an_output_that_is_a_shard(inputs, tmp_path):
    tracks, peaks = [], []
    for i in (1, 2):
        tracks.append(tmp_path / f"{i}.bw")
        peaks.append(tmp_path / f"{i}.bed")
        assert main(["scan", str(inputs / "model.h5"), str(inputs / "g.fa"), "-o", str(tracks[-1]), "--peaks",
                     str(peaks[-1]), "--shard", f"{i}/2", "--threshold", "0.5", "-q"]) == 0
    before = tracks[1].read_bytes()
    with pytest.raises(UsageError, match=r"gathered track .*2\.bw is the same file as the input shard track"):
        gather(tracks, peaks, tracks[1], tmp_path / "all.bed")
    with pytest.raises(UsageError, match="gathered peaks .* is the same file as the input shard peaks"):
        gather(tracks, peaks, tmp_path / "all.bw", peaks[0])
    assert tracks[1].read_bytes() == before and not (tmp_path / "all.bw").exists()


def test_check_distinct_follows_links_and_hard_links(tmp_path):
    a = tmp_path / "a.txt"
    a.write_text("x")
    os.link(a, tmp_path / "hard.txt")
    (tmp_path / "sub").mkdir()
    for same in (tmp_path / "hard.txt", tmp_path / "sub" / ".." / "a.txt"):
        with pytest.raises(UsageError, match="is the same file as the input IN"):
            check_distinct([("IN", a)], [("-o", same)])
    with pytest.raises(UsageError, match="--b .* is the same file as the output -a"):
        check_distinct([], [("-a", tmp_path / "new.txt"), ("--b", tmp_path / "sub" / ".." / "new.txt")])
    check_distinct([("IN", a), ("--missing", tmp_path / "nope"), ("STDIN", "-")],
                   [("-o", tmp_path / "b.txt"), ("--x", None), ("--y", "-")])


# ---------------------------------------------------------------- item 2: output sets, unit level
def test_a_set_commits_all_or_nothing(tmp_path):
    with pytest.raises(RuntimeError):
        with output_set():
            with atomic_open(tmp_path / "a.tsv") as fh:
                fh.write("a")
            with atomic_open(tmp_path / "b.bed") as fh:
                fh.write("b")
            assert os.listdir(tmp_path) != [] and not (tmp_path / "a.tsv").exists()
            raise RuntimeError("later")
    assert os.listdir(tmp_path) == []
    with output_set():
        for name in ("a.tsv", "b.bed"):
            with atomic_open(tmp_path / name) as fh:
                fh.write(name)
    assert sorted(os.listdir(tmp_path)) == ["a.tsv", "b.bed"]


def test_folders_a_failed_set_made_are_taken_back(tmp_path, monkeypatch):
    def refused(src, dst):
        raise OSError(errno.EIO, "rename refused", os.fspath(dst))

    monkeypatch.setattr(os, "replace", refused)
    with pytest.raises(OSError, match="rename refused"):
        with output_set() as outs:
            outs.makedirs(tmp_path / "a" / "b")
            with atomic_open(tmp_path / "a" / "b" / "x.txt") as fh:
                fh.write("x")
    assert os.listdir(tmp_path) == []


def test_writer_finish_failing_leaves_no_temporary(tmp_path):
    """The issue's suspicion: AtomicWriter.__exit__ skipped its exit stack when finish() raised."""
    from motifscan.io.writer import TextWriter

    class Failing(TextWriter):
        def finish(self):
            raise OSError(errno.EIO, "finish failed")

    with pytest.raises(OSError, match="finish failed"):
        with Failing(tmp_path / "x.tsv") as w:
            w.fh.write("row\n")
    assert os.listdir(tmp_path) == []


def test_commit_renames_data_before_its_index_and_drops_a_stale_one(tmp_path, monkeypatch):
    (tmp_path / "a.vcf.gz").write_text("old")
    (tmp_path / "a.vcf.gz.tbi").write_text("old index")
    (tmp_path / "b.bam").write_text("old bam")
    (tmp_path / "b.bam.bai").write_text("stale")
    order = []
    real = os.replace
    monkeypatch.setattr(os, "replace", lambda s, d: (order.append(Path(d).name), real(s, d))[1])
    with output_set() as outs:
        for name in ("a.vcf.gz.tbi", "a.vcf.gz", "b.bam"):
            with outs.path(tmp_path / name) as tmp:
                tmp.write_text(f"new {name}")
    assert order == ["a.vcf.gz", "b.bam", "a.vcf.gz.tbi"]
    assert (tmp_path / "a.vcf.gz.tbi").read_text() == "new a.vcf.gz.tbi"
    assert not (tmp_path / "b.bam.bai").exists()
    assert sorted(os.listdir(tmp_path)) == ["a.vcf.gz", "a.vcf.gz.tbi", "b.bam"]


def test_signals_during_the_renames_wait_for_them(tmp_path, monkeypatch):
    real = os.replace
    sent = []

    def replace_and_interrupt(src, dst):
        if not sent:
            sent.append(dst)
            os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C between the first and second rename
            time.sleep(0.05)
        return real(src, dst)

    monkeypatch.setattr(os, "replace", replace_and_interrupt)
    with pytest.raises(KeyboardInterrupt):
        with output_set():
            for name in ("a.txt", "b.txt"):
                with atomic_open(tmp_path / name) as fh:
                    fh.write(name)
    assert sorted(os.listdir(tmp_path)) == ["a.txt", "b.txt"]  # committed whole, then interrupted


# ---------------------------------------------------------------- item 2: the fault-injection sweep
def _commands(inputs: Path, out: Path) -> dict[str, tuple[list[str], list[str]]]:
    i, o = inputs, out
    return {
        "scan track+peaks+hits": (["scan", f"{i}/model.h5", f"{i}/g.fa", "-o", f"{o}/t.bw", "--peaks", f"{o}/p.bed",
                                   "--hits", f"{o}/h.bed", "--threshold", "0.5", *CPU], ["t.bw", "p.bed", "h.bed"]),
        "variants tsv+vcf.gz+tbi": (["variants", f"{i}/model.h5", f"{i}/in.vcf", "--genome", f"{i}/g.fa", "-o",
                                     f"{o}/e.tsv", "--vcf-out", f"{o}/a.vcf.gz", *CPU],
                                    ["e.tsv", "a.vcf.gz", "a.vcf.gz.tbi"]),
        "export motifs+table": (["export", f"{i}/model.h5", "-o", f"{o}/m.meme", *CPU], ["m.meme", "m.tsv"]),
        "evaluate": (["evaluate", f"{i}/model.h5", f"{i}/peaks.fa", "-o", f"{o}", *CPU],
                     ["metrics.json", "pr.png", "roc.png"]),
        "attribute npz+onehot+seqlets": (["attribute", f"{i}/model.h5", f"{i}/peaks.fa", "-o", f"{o}/a.npz",
                                          "--onehot-out", f"{o}/x.npz", "--seqlets", f"{o}/s.bed", *CPU],
                                         ["a.npz", "x.npz", "s.bed"]),
        "simulate": (["simulate", "-o", f"{o}/s.fa", "--truth", f"{o}/s.bed", "--length", "6000", "--n-sites", "3"],
                     ["s.fa", "s.bed"]),
        "train model+metrics": (["train", f"{i}/peaks.fa", "-o", f"{o}/m.h5", "--metrics", f"{o}/m.json",
                                 "--epochs", "1", "--filters", "2", "--filter-width", "6", "--length", "60", *CPU],
                                ["m.h5", "m.json"]),
        "calibrate null+plot": (["calibrate", f"{i}/model.h5", f"{i}/g.fa", "-o", f"{o}/n.h5", "--mbp", "0.003",
                                 "--stride", "20", *CPU], ["n.h5", "null.png"]),
        "enrich table+plot+sites": (["enrich", f"{i}/peaks.fa", "--motifs", f"{i}/q.meme", "-o", f"{o}/e.tsv",
                                     "--plot", f"{o}/e.png", "--sites", f"{o}/s.tsv", "--pvalue", "0.01",
                                     "--threads", "1"], ["e.tsv", "e.png", "s.tsv"]),
    }


class _Faults:
    """Count the calls of one file-system step; make call number ``fail_at`` raise (0: none)."""

    def __init__(self, monkeypatch, kind: str, fail_at: int) -> None:
        self.calls, self.fail_at = 0, fail_at
        if kind == "write":  # a file's writing fails as it completes (ENOSPC at its last write)
            real = OutputSet.stage

            def stage(outputs, tmp, target):
                self._tick(tmp)
                return real(outputs, tmp, target)

            monkeypatch.setattr(OutputSet, "stage", stage)
            return
        real_fn = getattr(os, kind)

        def step(*args, **kwargs):
            self._tick(args[0])
            return real_fn(*args, **kwargs)

        monkeypatch.setattr(os, kind, step)

    def _tick(self, what) -> None:
        self.calls += 1
        if self.calls == self.fail_at:
            raise OSError(errno.ENOSPC if self.calls % 2 else errno.EIO, "injected fault",
                          what if isinstance(what, (str, os.PathLike)) else None)


def _state(out: Path, names: list[str]) -> dict[str, bytes | None]:
    return {n: (out / n).read_bytes() if (out / n).exists() else None for n in names}


def _comparable(name: str, data: bytes | None):
    if data is None or not name.endswith((".h5", ".png", ".npz", ".json", ".bw", ".gz", ".tbi")):
        return data
    return len(data) > 0  # binary formats with timestamps inside: present and not empty


@pytest.mark.parametrize("command", ["scan track+peaks+hits", "variants tsv+vcf.gz+tbi", "export motifs+table",
                                     "evaluate", "attribute npz+onehot+seqlets", "simulate", "train model+metrics",
                                     "calibrate null+plot", "enrich table+plot+sites"])
def test_a_fault_at_any_write_or_rename_leaves_every_output_or_none(command, inputs, tmp_path, monkeypatch, capsys,
                                                                     restore_logger):
    """Each step of each file in turn fails: all outputs (complete) or none; over old ones, the old ones."""
    clean = tmp_path / "clean"
    clean.mkdir()
    argv, names = _commands(inputs, clean)[command]
    code, err = _cli(argv, capsys)
    assert code == 0, err
    good = _state(clean, names)
    assert all(v is not None for v in good.values())
    runs = 0
    for kind, over_old in (("write", False), ("fsync", False), ("replace", False), ("replace", True),
                           ("link", True)):
        k = 0
        while True:
            k += 1
            out = tmp_path / f"{kind}-{over_old}-{k}"
            out.mkdir()
            if over_old:
                for n in names:
                    (out / n).write_bytes(b"old " + n.encode())
            old = _state(out, names)
            argv, _names = _commands(inputs, out)[command]
            with monkeypatch.context() as m:
                faults = _Faults(m, kind, k)
                code, err = _cli(argv, capsys)
            runs += 1
            if faults.calls < k:  # every step of this kind has been failed once
                assert code == 0, err
                assert {n: _comparable(n, v) for n, v in _state(out, names).items()} == \
                       {n: _comparable(n, v) for n, v in good.items()}
                break
            assert code == 1, (kind, k, err)
            lines = err.strip().splitlines()
            assert lines[-1].startswith("motifscan: error: ") and "Traceback" not in err, err
            assert _state(out, names) == old, (kind, k, "a partial output set")
            assert _leftovers(out) == [], (kind, k)
            assert sorted(os.listdir(out)) == sorted(n for n in names if old[n] is not None)
    print(f"{command}: {runs} runs with a fault")


# ---------------------------------------------------------------- item 3: stale .tbi
def test_a_rerun_that_cannot_be_indexed_removes_the_old_index(inputs, tmp_path, capsys, restore_logger):
    base = ["variants", str(inputs / "model.h5"), None, "--genome", str(inputs / "g.fa"), "-o", str(tmp_path / "e.tsv"),
            "--vcf-out", str(tmp_path / "a.vcf.gz"), *CPU]
    base[2] = str(inputs / "in.vcf")
    assert _cli(base, capsys)[0] == 0
    assert (tmp_path / "a.vcf.gz.tbi").exists()
    lines = (inputs / "in.vcf").read_text().splitlines(keepends=True)
    head = [ln for ln in lines if ln.startswith("#")]
    body = [ln for ln in lines if not ln.startswith("#")]
    unsorted = tmp_path / "unsorted.vcf"
    unsorted.write_text("".join(head + body[::-1]))
    base[2] = str(unsorted)
    code, err = _cli(base, capsys)
    assert code == 0 and "not indexed" in err
    assert not (tmp_path / "a.vcf.gz.tbi").exists(), "the old index was left beside the new file"
    with pysam.VariantFile(str(tmp_path / "a.vcf.gz")) as vf:  # readable from start to end
        assert sum(1 for _ in vf) == len(body)


# ---------------------------------------------------------------- item 4: temporaries of killed runs
def test_spill_files_are_marked_and_killed_runs_leftovers_are_removed(inputs, tmp_path, capsys, restore_logger):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    host = atomic._HOST
    stale = [f".t.tmp-{dead.pid}-{host}-abcdefgh.bw", f".t.tmp-{dead.pid}-{host}-abcdefgh.bw.runs",
             f".t.tmp-{dead.pid}-{host}-ijklmnop.bw.values"]
    alive = [f".t.tmp-{os.getppid()}-{host}-abcdefgh.bw", f".t.tmp-{dead.pid}-0123abcd-abcdefgh.bw",
             f".other.tmp-{dead.pid}-{host}-abcdefgh.bw"]
    for n in stale + alive:
        (tmp_path / n).write_bytes(b"left by a killed run")
    # a plain-gzip genome: no index, so the bigWig is spooled to two marked spill files
    gz = tmp_path / "g.fa.gz"
    import gzip

    gz.write_bytes(gzip.compress((inputs / "g.fa").read_bytes()))
    seen = []
    real = atomic._new_temp

    def spy(target, extra=""):
        p = real(target, extra)
        seen.append(p.name)
        return p

    atomic._new_temp = spy
    try:
        code, err = _cli(["scan", str(inputs / "model.h5"), str(gz), "-o", str(tmp_path / "t.bw"), *CPU], capsys)
    finally:
        atomic._new_temp = real
    assert code == 0, err
    assert any(n.endswith(".bw.runs") for n in seen) and any(n.endswith(".bw.values") for n in seen)
    assert all(n.startswith(f".t{TMP_MARKER}{os.getpid()}-{host}-") for n in seen), seen
    assert sorted(os.listdir(tmp_path)) == sorted(["g.fa.gz", "t.bw", *alive])


# ---------------------------------------------------------------- items 10, 11: a full disk
def _enospc_on(monkeypatch, after: int) -> None:
    """Every write to a file under an output folder fails with ENOSPC after ``after`` bytes (as a full disk)."""
    import builtins

    real_open = builtins.open

    class Full:
        def __init__(self, fh):
            self._fh, self._n = fh, 0

        def write(self, data):
            self._n += len(data)
            if self._n > after:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            return self._fh.write(data)

        def __getattr__(self, name):
            return getattr(self._fh, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return self._fh.__exit__(*exc)

    def full_open(file, mode="r", *args, **kwargs):
        fh = real_open(file, mode, *args, **kwargs)
        return Full(fh) if any(c in mode for c in "wa") and TMP_MARKER in os.fspath(file) else fh

    monkeypatch.setattr(builtins, "open", full_open)


@pytest.mark.parametrize("command", ["scan track+peaks+hits", "simulate", "evaluate", "train model+metrics",
                                     "calibrate null+plot", "enrich table+plot+sites"])
def test_disk_full_names_the_file_and_says_so(command, inputs, tmp_path, monkeypatch, capsys, restore_logger):
    argv, names = _commands(inputs, tmp_path)[command]
    with monkeypatch.context() as m:
        _enospc_on(m, after=100)
        code, err = _cli(argv, capsys)
    lines = err.strip().splitlines()
    assert code == 1 and "Traceback" not in err, err
    assert lines[-1].startswith("motifscan: error: ") and "the disk is full" in lines[-1], lines[-1]
    assert any(f"{tmp_path / n}:" in lines[-1] for n in names), lines[-1]
    assert os.listdir(tmp_path) == []


def test_disk_full_error_is_an_oserror_naming_the_output(tmp_path):
    with pytest.raises(DiskFullError) as info:
        with atomic_open(tmp_path / "x.tsv") as fh:
            fh.write("a")
            raise OSError(errno.ENOSPC, "No space left on device", str(fh.name))
    assert isinstance(info.value, OSError) and info.value.errno == errno.ENOSPC
    assert str(info.value).startswith(f"{tmp_path / 'x.tsv'}: cannot write it: the disk is full")
    assert os.listdir(tmp_path) == []


# a full disk needs a small tmpfs, mounted in a user + mount namespace (Linux; CI has them); a
# machine without them fails the test unless it opts out
needs_namespace = pytest.mark.skipif(os.environ.get("MOTIFSCAN_NO_NAMESPACES") == "1",
                                     reason="opt-out: MOTIFSCAN_NO_NAMESPACES=1 (no user/mount namespaces for a tmpfs)")


def _in_namespace(script: str, tmp_path: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "PYTHONPATH": str(REPO)}
    return subprocess.run(["unshare", "-rm", "bash", "-c", script], capture_output=True, text=True, env=env,
                          timeout=600, cwd=tmp_path)


@needs_namespace
def test_a_real_full_disk_train_scan_variants(inputs, tmp_path):
    """A 64 KiB tmpfs: train (once a segfault), scan with three outputs, variants with an index."""
    probe = subprocess.run(["unshare", "-rm", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"], capture_output=True)
    assert probe.returncode == 0, f"cannot mount a tmpfs in a namespace (set MOTIFSCAN_NO_NAMESPACES=1): {probe.stderr}"
    disk = tmp_path / "disk"
    disk.mkdir()
    py = f"{sys.executable} -m motifscan"
    runs = {
        "train": f"{py} train {inputs}/peaks.fa -o {disk}/m.h5 --metrics {disk}/m.json --epochs 1 --length 60 "
                 f"--filters 64 --filter-width 19 --device cpu -q",
        "scan": f"{py} scan {inputs}/model.h5 {inputs}/g.fa -o {disk}/t.bedGraph --peaks {disk}/p.bed --hits "
                f"{disk}/h.bed --threshold 0 --stride 1 --device cpu -q",
        "variants": f"{py} variants {inputs}/model.h5 {inputs}/in.vcf --genome {inputs}/g.fa -o {disk}/e.tsv "
                    f"--vcf-out {disk}/a.vcf.gz --device cpu -q",
    }
    for name, cmd in runs.items():
        filler = f"head -c $((64*1024 - {4096 if name == 'variants' else 0})) /dev/zero > {disk}/.fill 2>/dev/null"
        res = _in_namespace(f"mount -t tmpfs -o size=64k tmpfs {disk} && {filler}; {cmd}; echo rc=$?; "
                            f"rm -f {disk}/.fill; ls -A {disk}", tmp_path)
        out = res.stdout.strip().splitlines()
        assert out[0] == "rc=1", (name, res.stdout, res.stderr)
        assert out[1:] == [], (name, "left behind", out[1:])
        err = res.stderr.strip().splitlines()
        assert "Traceback" not in res.stderr and err[-1].startswith("motifscan: error: "), res.stderr
        assert "the disk is full" in err[-1] and f"{disk}/" in err[-1], err[-1]


# ---------------------------------------------------------------- item 14: a read-only genome folder
@needs_namespace
def test_a_genome_in_a_read_only_folder_without_fai_is_indexed_privately(inputs, tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    shutil.copy(inputs / "g.fa", ro / "g.fa")
    py = f"{sys.executable} -m motifscan"
    cmds = [f"{py} scan {inputs}/model.h5 {ro}/g.fa -o {tmp_path}/w.bw --device cpu -q",
            f"{py} scan {inputs}/model.h5 {ro}/g.fa -o {tmp_path}/c.bedGraph --chrom chr2 --device cpu -q",
            f"{py} variants {inputs}/model.h5 {inputs}/in.vcf --genome {ro}/g.fa -o {tmp_path}/e.tsv --device cpu -q"]
    res = _in_namespace(f"mount --bind -o ro {ro} {ro} && " + " && ".join(cmds) + "; echo rc=$?", tmp_path)
    assert res.stdout.strip().splitlines()[-1] == "rc=0", res.stderr
    assert "Read-only" not in res.stderr
    assert os.listdir(ro) == ["g.fa"]
    want = tmp_path / "want"
    want.mkdir()
    assert main(["scan", str(inputs / "model.h5"), str(inputs / "g.fa"), "-o", str(want / "c.bedGraph"), "--chrom",
                 "chr2", "--device", "cpu", "-q"]) == 0
    assert (tmp_path / "c.bedGraph").read_text() == (want / "c.bedGraph").read_text()
