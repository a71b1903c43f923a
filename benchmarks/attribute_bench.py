"""ISM benchmark: motifscan's local-update ISM against naive ISM and tangermeme, in one run.

    python benchmarks/attribute_bench.py [--model models/ctcf_gm12878.h5] [--length 1000] [--n 16]

Three ways to get every single-base substitution effect ``logit(seq with b at i) - logit(seq)``
of random 1 kb sequences with the same model, on the CPU:

* ``motifscan``: :meth:`motifscan.kernels.mutations.MutationScorer.ism` (one convolution, then
  ``W`` shifted adds per position and the head on the updated pooled vectors);
* ``naive``: ``3 L`` full forward passes per sequence (batched 512 at a time, float32);
* ``tangermeme``: ``tangermeme.saturation_mutagenesis(raw_outputs=True)`` with ``fast=True``
  (its fastISM path) and ``fast=False`` (needs the ``bench`` extra).

Each is timed on its own number of sequences (the slow ones on fewer) and reported per sequence
as CPU time of this process (``time.process_time``: on a shared, loaded machine wall time
mostly measures the other jobs) and wall time; every one's values are compared with
motifscan's (max absolute difference). The machine's load is printed first: compare ratios
from the same run only.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import torch

from motifscan.codes import one_hot_torch
from motifscan.model import load_model
from motifscan.kernels.mutations import MutationScorer

REPO = Path(__file__).resolve().parents[1]


def naive_ism(model, codes: np.ndarray, batch: int = 512) -> np.ndarray:
    """``(N, L, 4, T)`` by 3 L forward passes per sequence (the reference base left at 0)."""
    N, L = codes.shape
    out = np.zeros((N, L, 4, len(model.config.tasks)), dtype=np.float64)
    with torch.no_grad():
        for n in range(N):
            ref = model(one_hot_torch(torch.from_numpy(codes[n : n + 1])))[0].double().numpy()
            pos = np.repeat(np.arange(L), 3)
            alt = (codes[n][pos] + np.tile([1, 2, 3], L)) % 4
            muts = np.repeat(codes[n][None], len(pos), axis=0)
            muts[np.arange(len(pos)), pos] = alt
            for a in range(0, len(pos), batch):
                y = model(one_hot_torch(torch.from_numpy(muts[a : a + batch]))).double().numpy()
                out[n, pos[a : a + batch], alt[a : a + batch]] = y - ref
    return out


class Timer:
    """CPU time of this process (all its threads) and wall time of a ``with`` block."""

    def __enter__(self):
        self.cpu, self.wall = time.process_time(), time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.cpu, self.wall = time.process_time() - self.cpu, time.perf_counter() - self.wall

    def per(self, n: int) -> float:
        return self.cpu / n

    def show(self, n: int) -> str:
        return f"{self.cpu / n * 1e3:9.1f} ms CPU/sequence ({self.wall / n * 1e3:9.1f} ms wall)"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=str(REPO / "models" / "ctcf_gm12878.h5"))
    ap.add_argument("--length", type=int, default=1000)
    ap.add_argument("--n", type=int, default=16, help="sequences for motifscan (naive and tangermeme use fewer)")
    ap.add_argument("--n-slow", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1, help="torch threads (1: steadier on a shared machine)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs; torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads")
    model = load_model(args.model)
    cfg = model.config
    print(f"model {args.model}: {cfg.n_filters} filters x {cfg.filter_width} bp, rc={cfg.rc_sharing}, "
          f"hidden={cfg.hidden}; sequences {args.length} bp")
    codes = np.random.default_rng(0).integers(0, 4, (args.n, args.length)).astype(np.uint8)
    scorer = MutationScorer(model)
    scorer.ism(torch.from_numpy(codes[:1]))  # warm up
    with Timer() as tf:
        fast = np.concatenate([scorer.ism(torch.from_numpy(codes[a : a + 8])).delta.numpy()
                               for a in range(0, args.n, 8)])
    per_fast = tf.per(args.n)
    print(f"motifscan ISM          {tf.show(args.n)}  ({args.n} sequences)")

    k = args.n_slow
    with Timer() as tn:
        naive = naive_ism(model, codes[:k])
    diff = np.abs(naive - fast[:k]).max()
    print(f"naive ISM              {tn.show(k)}  ({k} sequences, 3 L forward passes each): motifscan is "
          f"{tn.per(k) / per_fast:.0f}x faster (CPU time); max |difference| {diff:.2g}")
    try:
        from tangermeme.saturation_mutagenesis import saturation_mutagenesis
    except ImportError as exc:
        print(f"tangermeme: not installed ({exc}); pip install -e '.[bench]'")
        return
    X = one_hot_torch(torch.from_numpy(codes[:k]))
    for flag in (True, False):
        with Timer() as tt:
            res = saturation_mutagenesis(model, X, raw_outputs=True, fast=flag, device="cpu", batch_size=256)
        y0, y_hat = res
        tm = (y_hat - y0[:, None, None, :]).permute(0, 2, 1, 3).double().numpy()  # (N, L, 4, T)
        diff = np.abs(tm - fast[:k]).max()
        print(f"tangermeme fast={flag!s:5}  {tt.show(k)}  ({k} sequences): motifscan is "
              f"{tt.per(k) / per_fast:.0f}x faster (CPU time); max |difference| {diff:.2g}")


if __name__ == "__main__":
    main()
