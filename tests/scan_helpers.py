"""Helpers for the scan tests, imported by them (not collected: no tests here): tiny models with
hand-set filters, brute-force references."""

from __future__ import annotations

import numpy as np
import torch

from motifscan.model import ModelConfig, MotifCNN
from motifscan.scan.batching import iter_batches
from motifscan.scan.model_scan import ModelScanner
from motifscan.codes import N_CODE, encode

CONSENSUS = "GCCACTAGGTGG"


def random_model(n_filters=4, width=5, seq_length=24, seed=0, rc=True) -> MotifCNN:
    torch.manual_seed(seed)
    return MotifCNN(ModelConfig(n_filters=n_filters, filter_width=width, seq_length=seq_length, rc_sharing=rc)).eval()


def motif_model(seq_length: int = 60, n_filters: int = 4) -> MotifCNN:
    """Filter 0 is the CONSENSUS as +1/-1 weights, bias -8: activation 4 on an exact site, 0 with
    two mismatches. The head reads filter 0 only: p ~ 1 with a site, ~0.05 without."""
    w = len(CONSENSUS)
    model = MotifCNN(ModelConfig(n_filters=n_filters, filter_width=w, seq_length=seq_length)).eval()
    with torch.no_grad():
        weight = torch.full((n_filters, 4, w), -1.0)
        for i, b in enumerate(CONSENSUS):
            weight[0, "ACGT".index(b), i] = 1.0
        gen = torch.Generator().manual_seed(1)
        weight[1:] = torch.randn(n_filters - 1, 4, w, generator=gen) * 0.1
        model.conv.weight.copy_(weight)
        model.conv.bias.zero_()
        model.conv.bias[0] = -8.0
        lin = model.head[-1]
        lin.weight.zero_()
        lin.weight[0, 0] = 3.0
        lin.bias.fill_(-3.0)
    return model


def reference_windows(model, records: dict[str, np.ndarray], window: int, stride: int):
    """Brute force: every grid window that fits and is at most half N, scored by predict_codes."""
    names, starts, seqs = [], [], []
    for name, codes in records.items():
        for q in range(0, len(codes) - window + 1, stride):
            w = codes[q : q + window]
            if 2 * int((w == N_CODE).sum()) <= window:
                names.append(name)
                starts.append(q)
                seqs.append(w)
    probs = model.predict_codes(np.stack(seqs))[:, 0] if seqs else np.zeros(0, np.float32)
    return names, np.array(starts, dtype=np.int64), probs


def engine_windows(model, source, window, stride, *, chunk_size, batch_size=None, device="cpu", conv_method="auto",
                   pack=False):
    """Window scores through the engine, as (names, starts, probs); ``pack``: short records share rows."""
    scanner = ModelScanner(model, window=window, stride=stride, device=device, conv_method=conv_method)
    names, starts, probs = [], [], []
    for batch in iter_batches(source, overlap=window - 1, chunk_size=chunk_size, batch_size=batch_size,
                              device=device, align=stride, pack=pack):
        ws = scanner.windows(batch)
        names += [ws.names[r] for r in ws.row]
        starts.append(ws.start)
        probs.append(ws.score[:, 0])
    return names, np.concatenate(starts) if starts else np.zeros(0, np.int64), (
        np.concatenate(probs) if probs else np.zeros(0, np.float32))


def random_dna(rng: np.random.Generator, n: int, alphabet: str = "ACGT") -> str:
    return "".join(rng.choice(list(alphabet), n))


def codes_of(seq: str) -> np.ndarray:
    return encode(seq)
