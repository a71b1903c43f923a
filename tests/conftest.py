"""Shared fixtures: seeded synthetic sequences with a planted motif, devices, file writers."""

from __future__ import annotations

import gzip
import logging
import signal
from pathlib import Path

import numpy as np
import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"
CTCF_FASTA = EXAMPLES / "ctcf" / "ctcf_gm12878_top500.fa"
CTCF_BED = EXAMPLES / "ctcf" / "ctcf_gm12878_top500.bed"

# A shell starts background jobs with SIGINT ignored, and children inherit that: tests that
# interrupt a command (test_interrupts, test_output_sets) would then see it ignore Ctrl-C. Python's
# own handler here gives every child the default disposition back.
signal.signal(signal.SIGINT, signal.default_int_handler)

# A strong 12-bp motif (probabilities, ACGT) used to plant binding sites.
PLANTED_CONSENSUS = "GCCACTAGGTGG"


def consensus_probs(consensus: str, strength: float = 0.91) -> np.ndarray:
    probs = np.full((len(consensus), 4), (1 - strength) / 3)
    for i, base in enumerate(consensus):
        probs[i, "ACGT".index(base)] = strength
    return probs


def sample_from_pwm(probs: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` sequences sampled column-wise from ``probs`` (W, 4) -> codes (n, W)."""
    cum = probs.cumsum(axis=1)
    u = rng.random((n, len(probs), 1))
    return (u > cum[None]).sum(axis=2).astype(np.uint8)


def planted_set(n: int = 300, length: int = 100, seed: int = 0, consensus: str = PLANTED_CONSENSUS):
    """Random positives with one motif instance each (random strand), random negatives."""
    from motifscan.codes import reverse_complement

    rng = np.random.default_rng(seed)
    probs = consensus_probs(consensus)
    pos = rng.integers(0, 4, (n, length), dtype=np.uint8)
    neg = rng.integers(0, 4, (n, length), dtype=np.uint8)
    sites = sample_from_pwm(probs, n, rng)
    starts = rng.integers(0, length - len(consensus), n)
    strands = rng.random(n) < 0.5
    for i in range(n):  # test data construction, not a hot path
        site = reverse_complement(sites[i]) if strands[i] else sites[i]
        pos[i, starts[i] : starts[i] + len(consensus)] = site
    return pos, neg, probs, starts, strands


def write_fasta(path: Path, names, seqs, *, width: int = 60, compress: bool = False, newline: str = "\n") -> Path:
    """Write sequences (str) as FASTA; gzip if ``compress``."""
    lines = []
    for name, seq in zip(names, seqs):
        lines.append(f">{name}")
        lines.extend(seq[i : i + width] for i in range(0, len(seq), width))
    data = (newline.join(lines) + newline).encode()
    if compress:
        with gzip.open(path, "wb") as fh:
            fh.write(data)
    else:
        path.write_bytes(data)
    return path


@pytest.fixture
def planted():
    return planted_set()


@pytest.fixture(params=["cpu", pytest.param("cuda", marks=pytest.mark.gpu)])
def device(request):
    """Each test using it runs on CPU, and on CUDA when a GPU is present (skipped otherwise)."""
    if request.param == "cuda" and not torch.cuda.is_available():
        pytest.skip("no CUDA GPU")
    return torch.device(request.param)


@pytest.fixture(autouse=True)
def _restore_motifscan_logger():
    """The CLI reconfigures the "motifscan" logger's handlers and level; put them back after
    each test so later tests (caplog) see the library's logging as it is by default."""
    log = logging.getLogger("motifscan")
    saved = (log.handlers[:], log.propagate, log.level)
    yield
    log.handlers[:], log.propagate, log.level = saved
