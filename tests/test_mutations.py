"""Substitutions as local updates of cached activations equal full forward passes (fast == naive)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from motifscan.codes import one_hot_torch
from motifscan.model import ModelConfig, MotifCNN
from motifscan.kernels.mutations import MutationScorer, naive_ism


def _model(width: int, rc: bool, hidden: int, tasks: int = 2, filters: int = 5, seed: int = 0) -> MotifCNN:
    torch.manual_seed(seed)
    m = MotifCNN(ModelConfig(n_filters=filters, filter_width=width, rc_sharing=rc, hidden=hidden,
                             seq_length=max(width, 20), tasks=[f"t{i}" for i in range(tasks)])).eval()
    with torch.no_grad():  # larger weights than the default init: activations cross zero and maxima move
        m.conv.weight.mul_(3.0)
    return m


def _logits64(model: MotifCNN, codes: np.ndarray) -> np.ndarray:
    net = model.double()
    try:
        with torch.no_grad():
            return net(one_hot_torch(torch.from_numpy(codes), dtype=torch.float64)).numpy()
    finally:
        model.float()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(width=st.integers(1, 9), extra=st.integers(0, 25), rc=st.booleans(), hidden=st.sampled_from([0, 4]),
       method=st.sampled_from(["table", "dense"]), n_frac=st.sampled_from([0.0, 0.2]), seed=st.integers(0, 10**6))
def test_fast_ism_equals_naive_ism(width, extra, rc, hidden, method, n_frac, seed):
    """Every position (the edges included), N bases, RC sharing on/off, hidden layer on/off, two tasks."""
    rng = np.random.default_rng(seed)
    model = _model(width, rc, hidden, seed=seed % 1000)
    L = width + extra
    codes = rng.integers(0, 4, (2, L)).astype(np.uint8)
    codes[rng.random((2, L)) < n_frac] = 4
    res = MutationScorer(model, conv_method=method).ism(torch.from_numpy(codes))
    want = naive_ism(model, codes)
    np.testing.assert_allclose(res.delta.numpy(), want, atol=1e-5, rtol=0)
    np.testing.assert_allclose(res.ref_logits.numpy(), _logits64(model, codes), atol=1e-5, rtol=0)
    # exactly 0 at the reference base (none at N)
    ref = res.delta.numpy()[np.arange(2)[:, None], np.arange(L)[None, :], np.minimum(codes, 3)]
    assert (ref[codes < 4] == 0).all()


@settings(max_examples=40, deadline=None)
@given(width=st.integers(1, 9), extra=st.integers(0, 30), k=st.integers(1, 4), rc=st.booleans(),
       hidden=st.sampled_from([0, 4]), seed=st.integers(0, 10**6))
def test_block_substitution_equals_forward_pass(width, extra, k, rc, hidden, seed):
    """A k-base substitution anywhere (edges included) pools like the mutated sequence's forward pass."""
    rng = np.random.default_rng(seed)
    model = _model(width, rc, hidden, seed=seed % 1000)
    L = max(width, k) + extra
    V = 6
    codes = rng.integers(0, 5, (V, L)).astype(np.uint8)
    pos = rng.integers(0, L - k + 1, V)
    alt = rng.integers(0, 4, (V, k)).astype(np.uint8)
    ref = np.stack([codes[v, p : p + k] for v, p in enumerate(pos)])
    s = MutationScorer(model)
    act = s.activations(torch.from_numpy(codes))
    pooled = s.combine(s.substitute(act, torch.from_numpy(pos), torch.from_numpy(ref), torch.from_numpy(alt)))
    mutated = codes.copy()
    for v, p in enumerate(pos):
        mutated[v, p : p + k] = alt[v]
    np.testing.assert_allclose(s.logits(pooled).numpy(), _logits64(model, mutated), atol=1e-5, rtol=0)
    # substituting the reference itself changes nothing, bit for bit
    same = s.substitute(act, torch.from_numpy(pos), torch.from_numpy(ref), torch.from_numpy(np.minimum(ref, 3)))
    keep = (ref < 4).all(axis=1)
    assert torch.equal(s.combine(same)[torch.from_numpy(keep)], s.combine(s.pool(act))[torch.from_numpy(keep)])


@settings(max_examples=40, deadline=None)
@given(width=st.integers(1, 9), extra=st.integers(0, 30), k=st.integers(1, 4), rc=st.booleans(),
       seed=st.integers(0, 10**6))
def test_compiled_substitution_equals_torch_bit_for_bit(width, extra, k, rc, seed):
    """The CPU's compiled pass and torch's ops (the GPU path) give the same bits, for overlapping
    windows of one stretch, blocks at the windows' edges, N in the reference."""
    rng = np.random.default_rng(seed)
    model = _model(width, rc, 0, seed=seed % 1000)
    L = max(width, k) + extra
    P = L - width + 1
    stretch = rng.integers(0, 5, 3 * L).astype(np.uint8)
    V = 12
    starts = np.sort(rng.integers(0, 2 * L + 1, V))
    pos = rng.integers(0, L - k + 1, V)
    alt = rng.integers(0, 4, (V, k)).astype(np.uint8)
    ref = np.stack([stretch[s + p : s + p + k] for s, p in zip(starts, pos)])
    s = MutationScorer(model)
    act = s.activations(torch.from_numpy(stretch)[None])[0]
    args = (act, torch.from_numpy(starts), P, torch.from_numpy(pos), torch.from_numpy(ref), torch.from_numpy(alt))
    assert s._kernel
    fast = s.substitute_windows(*args)
    s._kernel = False
    slow = s.substitute_windows(*args)
    for a, b in zip(fast, slow):
        assert torch.equal(a, b)
    # A alternatives per window, (V, A, k): each the bits of its own window scored alone, both paths
    alts = rng.integers(0, 4, (V, 3, k)).astype(np.uint8)
    for kernel in (True, False):
        s._kernel = kernel
        ref_max, alt_max = s.substitute_windows(*args[:5], torch.from_numpy(alts))
        assert alt_max.shape == (V, 3, act.shape[1])
        for j in range(3):
            one = s.substitute_windows(*args[:5], torch.from_numpy(alts[:, j]))
            assert torch.equal(ref_max, one[0]) and torch.equal(alt_max[:, j], one[1])
        assert torch.equal(ref_max, fast[0])


@settings(max_examples=30, deadline=None)
@given(width=st.integers(1, 9), extra=st.integers(0, 40), kmax=st.integers(1, 3), rc=st.booleans(),
       filters=st.sampled_from([5, 20]), seed=st.integers(0, 10**6))
def test_windows_from_the_table_equal_cached_activations_bit_for_bit(width, extra, kmax, rc, filters, seed):
    """substitute_codes (no activations kept: range maxima from the table) gives the bits of
    substitute_windows on the stretch's activations: overlapping windows, blocks of several
    lengths at both edges, N in the stretch, one and several vectors of channels, A alternatives."""
    rng = np.random.default_rng(seed)
    model = _model(width, rc, 0, filters=filters, seed=seed % 1000)
    L = max(width, kmax) + extra
    P = L - width + 1
    stretch = rng.integers(0, 4, 3 * L).astype(np.uint8)
    stretch[rng.random(3 * L) < 0.1] = 4
    V = 12
    starts = np.sort(rng.integers(0, 2 * L + 1, V))
    k = rng.integers(1, kmax + 1, V)
    pos = np.array([rng.integers(0, L - kk + 1) for kk in k])
    pos[1], pos[2] = 0, L - k[2]
    ref = np.full((V, kmax), 4, np.uint8)
    alts = np.full((V, 3, kmax), 4, np.uint8)  # N past each block's k: padding, never read
    for v in range(V):
        ref[v, : k[v]] = stretch[starts[v] + pos[v] : starts[v] + pos[v] + k[v]]
        alts[v, :, : k[v]] = rng.integers(0, 4, (3, k[v]))
    s = MutationScorer(model)
    ref_max, alt_max = s.substitute_codes(stretch, starts, P, pos, k, ref, alts)
    assert alt_max.shape == (V, 3, s.channels)
    act = s.activations(torch.from_numpy(stretch)[None])[0]
    for v in range(V):
        kk = int(k[v])
        one = s.substitute_windows(act, torch.from_numpy(starts[v : v + 1]), P, torch.from_numpy(pos[v : v + 1]),
                                   torch.from_numpy(ref[v : v + 1, :kk]), torch.from_numpy(alts[v : v + 1, :, :kk]))
        assert torch.equal(ref_max[v], one[0][0]) and torch.equal(alt_max[v], one[1][0])
    dense = MutationScorer(model, conv_method="dense").substitute_codes(stretch, starts, P, pos, k, ref, alts)
    for a, b in zip(dense, (ref_max, alt_max)):  # the device path (activations by conv1d): float32 rounding apart
        torch.testing.assert_close(a, b, rtol=0, atol=1e-4)


def test_activations_do_not_depend_on_the_chunk():
    """An output position scores the same bits whatever stretch it was computed in (table method)."""
    model = _model(7, True, 0)
    rng = np.random.default_rng(1)
    codes = rng.integers(0, 5, 300).astype(np.uint8)
    s = MutationScorer(model)
    whole = s.activations(torch.from_numpy(codes)[None])[0]
    part = s.activations(torch.from_numpy(codes[100:200])[None])[0]
    assert torch.equal(whole[100 : 100 + part.shape[0]], part)


def test_ism_shorter_than_the_filter_is_refused():
    with pytest.raises(ValueError, match="shorter than the filter width"):
        MutationScorer(_model(9, True, 0)).ism(torch.zeros((1, 5), dtype=torch.uint8))


def test_alternative_bases_must_be_acgt():
    s = MutationScorer(_model(3, True, 0))
    act = s.activations(torch.zeros((1, 10), dtype=torch.uint8))
    with pytest.raises(ValueError, match="A, C, G or T"):
        s.substitute(act, torch.tensor([2]), torch.zeros((1, 1), dtype=torch.uint8), torch.full((1, 1), 4, dtype=torch.uint8))


def test_ism_on_device(device):
    model = _model(5, True, 4)
    codes = np.random.default_rng(2).integers(0, 4, (3, 40)).astype(np.uint8)
    got = MutationScorer(model, device, "dense").ism(torch.from_numpy(codes)).delta.cpu().numpy()
    np.testing.assert_allclose(got, naive_ism(model, codes), atol=1e-5, rtol=0)
