"""The k-mer table convolution equals conv1d over the one-hot input, position by position."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from motifscan.kernels.kmer_conv import KmerTableConv, choose_k
from motifscan.codes import one_hot_torch


def dense(codes: torch.Tensor, bank: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """Reference: conv1d of the one-hot (N and any code >= 4 are zero columns), channels last."""
    x = one_hot_torch(codes.clamp(max=4)).double()
    return F.conv1d(x, bank.double(), None if bias is None else bias.double()).transpose(1, 2)


@settings(max_examples=60, deadline=None)
@given(
    channels=st.integers(1, 9), width=st.integers(1, 25), length=st.integers(1, 90), rows=st.integers(1, 3),
    k=st.sampled_from([None, 1, 2, 3, 4]), with_bias=st.booleans(), seed=st.integers(0, 2**16),
)
def test_table_conv_equals_conv1d(channels, width, length, rows, k, with_bias, seed):
    g = torch.Generator().manual_seed(seed)
    bank = torch.randn(channels, 4, width, generator=g)
    bias = torch.randn(channels, generator=g) if with_bias else None
    codes = torch.randint(0, 7, (rows, length), generator=g, dtype=torch.uint8)  # 4..6: N and beyond
    conv = KmerTableConv(bank, bias, k=k)
    got = conv(codes)
    assert got.shape == (rows, max(length - width + 1, 0), channels)
    assert got.dtype == torch.float32
    if length >= width:
        torch.testing.assert_close(got.double(), dense(codes, bank, bias), atol=2e-5, rtol=1e-5)


def test_positions_do_not_depend_on_the_batch_around_them():
    """A stretch scored alone, or inside a longer row of a bigger batch, gives identical bits."""
    g = torch.Generator().manual_seed(3)
    bank, bias = torch.randn(8, 4, 19, generator=g), torch.randn(8, generator=g)
    conv = KmerTableConv(bank, bias)
    codes = torch.randint(0, 5, (4, 500), generator=g, dtype=torch.uint8)
    whole = conv(codes)
    part = conv(codes[2:3, 100:300])
    assert torch.equal(part[0], whole[2, 100:282])


def test_n_scores_zero_and_bias_only():
    bank = torch.randn(3, 4, 6)
    bias = torch.tensor([0.5, -1.0, 2.0])
    out = KmerTableConv(bank, bias)(torch.full((1, 10), 4, dtype=torch.uint8))
    torch.testing.assert_close(out[0], bias.expand(5, 3))


def test_planted_kmer_scores_its_filter_maximum():
    """A filter that matches ACGTACG exactly scores its maximum (the sum of column maxima) there."""
    onehot = one_hot_torch(torch.tensor([[0, 1, 2, 3, 0, 1, 2]], dtype=torch.uint8))[0].float()
    bank = (onehot * 2 - 1)[None]  # +1 for the planted base, -1 otherwise
    codes = torch.tensor([[3, 3, 0, 1, 2, 3, 0, 1, 2, 3, 3]], dtype=torch.uint8)
    out = KmerTableConv(bank)(codes)[0, :, 0]
    assert int(out.argmax()) == 2 and float(out.max()) == 7.0


def test_short_input_gives_no_positions():
    out = KmerTableConv(torch.randn(2, 4, 10))(torch.zeros((3, 9), dtype=torch.uint8))
    assert out.shape == (3, 0, 2)


def test_choose_k_keeps_the_table_in_budget():
    assert choose_k(19, 128) == 4  # 5 groups x 625 rows x 128 x 4 bytes = 1.6 MB
    assert choose_k(19, 1024) < 4
    for width, channels in ((19, 128), (30, 512), (8, 4096)):
        k = choose_k(width, channels)
        assert k == 1 or -(-width // k) * 5**k * channels * 4 <= 2 << 20


def test_bad_bank_shape_is_refused():
    with pytest.raises(ValueError, match=r"\(C, 4, W\)"):
        KmerTableConv(torch.randn(2, 5, 3))
