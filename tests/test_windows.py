"""Pooled windows gathered from one genome (:mod:`motifscan.data.windows`) equal the codes a
per-window copy holds, and train the very model a materialised array trains."""

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from motifscan.data.datasets import LabelledSet
from motifscan.data.windows import Windows, covered, take_rows


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 10_000), st.integers(1, 30), st.integers(1, 40))
def test_covered_windows_read_back_the_chromosome(seed, length, n):
    rng = np.random.default_rng(seed)
    seq = rng.integers(0, 5, 300, dtype=np.uint8)
    starts = rng.integers(0, len(seq) - length + 1, n)
    bases, off = covered(seq, starts, length)
    assert len(bases) <= min(len(seq), n * length)
    want = seq[starts[:, None] + np.arange(length)]
    w = Windows(bases, off, length)
    assert np.array_equal(np.asarray(w), want) and w.shape == want.shape
    idx = rng.permutation(n)[: max(1, n // 2)]
    assert np.array_equal(w[idx], want[idx])
    assert np.array_equal(w[1:3], want[1:3]) and np.array_equal(w[0], want[0])
    assert np.array_equal(np.asarray(w.take(idx)), want[idx])


def test_extra_rows_sit_beside_genome_windows():
    seq = np.arange(50, dtype=np.uint8) % 4
    bases, off = covered(seq, np.array([3, 20]), 5)
    extra = np.full((2, 5), 4, dtype=np.uint8)
    w = Windows(bases, np.r_[off, -1, -2], 5, extra=extra)
    assert np.array_equal(w[np.array([3, 0, 2])], np.stack([extra[1], seq[3:8], extra[0]]))


def test_subsets_stay_windows_and_fit_equals_the_array():
    from motifscan.model import ModelConfig, MotifCNN
    from motifscan.train import fit

    rng = np.random.default_rng(0)
    seq = rng.integers(0, 4, 5000, dtype=np.uint8)
    starts = rng.integers(0, 5000 - 60, 96)
    bases, off = covered(seq, starts, 60)
    labels = rng.integers(0, 2, (96, 3)).astype(np.uint8)
    data = LabelledSet([str(i) for i in range(96)], Windows(bases, off, 60), labels, ["chr1"] * 96)
    part = data.subset(np.arange(10, 90))
    assert isinstance(part.codes, Windows)
    assert np.array_equal(np.asarray(part.codes), seq[starts[10:90, None] + np.arange(60)])
    assert isinstance(take_rows(np.asarray(data.codes), np.arange(3)), np.ndarray)
    states = []
    for codes in (data.codes, np.asarray(data.codes)):
        torch.manual_seed(0)
        model = MotifCNN(ModelConfig(n_filters=4, filter_width=9, seq_length=60, tasks=["a", "b", "c"]))
        fit(model, take_rows(codes, np.arange(80)), labels[:80], take_rows(codes, np.arange(80, 96)), labels[80:],
            epochs=2, batch_size=16, min_epochs=1, progress=False, device="cpu")
        states.append(model.state_dict())
    for k in states[0]:
        assert torch.equal(states[0][k], states[1][k]), k
