"""Ctrl-C and SIGTERM in the middle of real work: a prompt exit, the right code, nothing left behind.

Each case starts ``python -m motifscan`` on work that would take minutes (a 30 Mbp genome scanned
in tiny batches; training for thousands of epochs), waits until it is really working (its output's
temporary exists, or it has logged a finished epoch), sends the signal, and asserts that it exits
within a couple of seconds with 130 (SIGINT) or 143 (SIGTERM), one line on stderr and no traceback,
and that neither an output file nor a stray temporary is left -- so Snakemake never mistakes a
killed job's output for a finished one.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from motifscan.model import ModelConfig, MotifCNN, save_model

REPO = Path(__file__).resolve().parents[1]
GENOME_MBP = 30
STOP_WITHIN_S = 2.0  # from the signal to the work stopped, cleaned up and said so
EXIT_WITHIN_S = 5.0  # ... and to the process gone (torch alone takes ~0.5 s to tear down on a busy CPU)
START_TIMEOUT_S = 90  # a cold start (torch import) on a busy machine


def _random_fasta(path: Path, names_lengths: list[tuple[str, int]], seed: int, width: int = 100) -> Path:
    """Vectorised FASTA writer: lines of ``width`` bases from a seeded RNG."""
    rng = np.random.default_rng(seed)
    letters = np.frombuffer(b"ACGT", dtype=np.uint8)
    with open(path, "wb") as fh:
        for name, n in names_lengths:
            seq = letters[rng.integers(0, 4, n)]
            rows = seq[: n // width * width].reshape(-1, width)
            body = np.concatenate([rows, np.full((len(rows), 1), ord("\n"), np.uint8)], axis=1).tobytes()
            tail = seq[n // width * width :].tobytes()
            fh.write(f">{name}\n".encode() + body + (tail + b"\n" if tail else b""))
    return path


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("interrupts")
    per = GENOME_MBP * 1_000_000 // 3
    _random_fasta(d / "genome.fa", [(f"chr{i}", per) for i in (1, 2, 3)], seed=1)
    torch.manual_seed(0)
    save_model(MotifCNN(ModelConfig(n_filters=8, filter_width=12, seq_length=100)).eval(), d / "model.h5")
    _random_fasta(d / "peaks.fa", [(f"p{i}", 100) for i in range(3000)], seed=2)
    # one motif, copied from the bundled JASPAR (CTCF) so the PWM scan has something to find
    jaspar = (REPO / "motifscan" / "resources" / "JASPAR2024_CORE_vertebrates.meme").read_text()
    head, _, rest = jaspar.partition("MOTIF ")
    ctcf = next(block for block in rest.split("MOTIF ") if block.startswith("MA0139"))
    (d / "ctcf.meme").write_text(head + "MOTIF " + ctcf)
    return d


def _temporaries(folder: Path) -> list[str]:
    return sorted(n for n in os.listdir(folder) if n.startswith("."))


# (name, argv after `motifscan`, outputs, how to tell it is working)
SLOW = "--batch-size 1 --chunk-size 4096".split()
CASES = {
    "scan-model": (["scan", "{w}/model.h5", "{w}/genome.fa", "-o", "{o}/track.bedGraph", "--stride", "10",
                    "--device", "cpu", "--threads", "1", *SLOW], ["track.bedGraph"], "temporary"),
    "scan-motifs": (["scan", "{w}/ctcf.meme", "{w}/genome.fa", "-o", "{o}/hits.tsv", "--pvalue", "1e-3",
                     "--device", "cpu", "--threads", "1", *SLOW], ["hits.tsv"], "temporary"),
    # standard input has no index, so the bigWig goes through a temporary bedGraph spill first
    "scan-bigwig-stdin": (["scan", "{w}/model.h5", "-", "-o", "{o}/track.bw", "--stride", "10", "--device", "cpu",
                           "--threads", "1", *SLOW], ["track.bw"], "temporary"),
    "train": (["--debug", "train", "{w}/peaks.fa", "-o", "{o}/model.h5", "--metrics", "{o}/metrics.json",
               "--length", "100", "--filters", "16", "--filter-width", "12", "--epochs", "5000",
               "--patience", "5000", "--batch-size", "16", "--device", "cpu", "--threads", "1"],
              ["model.h5", "metrics.json"], "epoch 1 of"),
}
PARAMS = [("scan-model", signal.SIGINT), ("scan-model", signal.SIGTERM), ("scan-motifs", signal.SIGTERM),
          ("scan-bigwig-stdin", signal.SIGINT),
          ("train", signal.SIGINT), ("train", signal.SIGTERM)]


def _wait_until_working(proc: subprocess.Popen, err_path: Path, out: Path, ready: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"finished before the signal (exit {proc.returncode}): {err_path.read_text()[-2000:]}")
        if ready == "temporary" and _temporaries(out):
            time.sleep(0.5)  # well inside the work, not at its first line
            return
        if ready != "temporary" and ready in err_path.read_text(errors="replace"):
            return
        time.sleep(0.05)
    proc.kill()
    pytest.fail(f"never got to work within {START_TIMEOUT_S} s: {err_path.read_text()[-2000:]}")


@pytest.mark.parametrize("name,sig", PARAMS, ids=[f"{n}-{s.name}" for n, s in PARAMS])
def test_interrupt_stops_promptly_and_leaves_nothing(work, tmp_path, name, sig):
    args, outputs, ready = CASES[name]
    out = tmp_path / "out"
    out.mkdir()
    inputs_before = set(os.listdir(work))
    argv = [a.format(w=work, o=out) for a in args]
    err_path = tmp_path / "stderr.txt"
    notice = "motifscan: interrupted" if sig == signal.SIGINT else "motifscan: terminated"
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "PYTHONUNBUFFERED": "1"}
    with open(err_path, "wb") as err, open(work / "genome.fa", "rb") as genome:
        proc = subprocess.Popen([sys.executable, "-m", "motifscan", *argv], stdout=subprocess.DEVNULL,
                                stderr=err, env=env, stdin=genome if "-" in argv else subprocess.DEVNULL)
        try:
            _wait_until_working(proc, err_path, out, ready)
            sent = time.monotonic()
            proc.send_signal(sig)
            said = None  # when the one-line notice appeared: the work has stopped and cleaned up
            while proc.poll() is None and time.monotonic() - sent < 30:
                if said is None and notice in err_path.read_text(errors="replace"):
                    said = time.monotonic() - sent
                time.sleep(0.02)
            if proc.poll() is None:
                pytest.fail("did not exit within 30 s of the signal")
            code, gone = proc.returncode, time.monotonic() - sent
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    stderr = err_path.read_text(errors="replace")
    assert code == 128 + sig, stderr[-2000:]
    assert "Traceback" not in stderr
    assert stderr.rstrip().splitlines()[-1] == notice
    said = gone if said is None else said
    print(f"{name} {sig.name}: stopped in {said:.2f} s, exited in {gone:.2f} s")
    assert said < STOP_WITHIN_S, f"took {said:.2f} s to stop"
    assert gone < EXIT_WITHIN_S, f"took {gone:.2f} s to exit"
    assert os.listdir(out) == [], f"left behind: {os.listdir(out)}"
    stray = {n for n in set(os.listdir(work)) - inputs_before if not n.endswith((".fai", ".gzi"))}
    assert not stray, f"left beside the inputs: {stray}"
