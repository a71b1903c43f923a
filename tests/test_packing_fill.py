"""A batch of pieces is N everywhere but where its pieces' codes lie (``pack`` writes N around
the pieces instead of filling the whole batch first)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from motifscan.codes import N_CODE
from motifscan.scan.packing import Piece, group, group_packed, pack


@st.composite
def _pieces(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    out = []
    for i in range(draw(st.integers(1, 12))):
        n = int(rng.integers(0, 90))
        start = int(rng.integers(0, 200))
        out.append(Piece(f"r{i}", i, start, rng.integers(0, 4, n).astype(np.uint8), start + n, True, None))
    return out


def _reference(items, align, host, place):
    """N everywhere, then each piece's codes at its row and column."""
    want = np.full(host.shape, N_CODE, np.uint8)
    rows, cols = place[:2] if place is not None else (np.arange(len(items)), np.zeros(len(items), np.int64))
    for p, r, c in zip(items, rows.tolist(), cols.tolist()):
        o = c + p.start - (p.start - p.start % align)
        want[r, o : o + len(p.codes)] = p.codes
    return want


@given(pieces=_pieces(), align=st.sampled_from([1, 7, 50]), packed=st.booleans(), rows=st.integers(1, 5))
@settings(max_examples=150, deadline=None)
def test_pack_writes_n_around_the_pieces(pieces, align, packed, rows):
    if packed:
        width = 64 * (1 + (90 + align) // 64)
        batches = list(group_packed(pieces, width, rows, align))
    else:
        batches = [(b, None) for b in group(pieces, rows, 1 << 20, 64, align)]
    for items, place in batches:
        host = pack(items, align, 64, False, 1, place)["host"]  # numpy off CUDA
        np.testing.assert_array_equal(host, _reference(items, align, host, place))


def test_pack_places_pieces_in_any_order():
    """A placement not in row order (no producer makes one, but pack takes any) is still N
    everywhere but under the pieces: the batch is then filled with N first."""
    rng = np.random.default_rng(5)
    items = [Piece(f"r{i}", i, 0, rng.integers(0, 4, 40).astype(np.uint8), 40, True, None) for i in range(4)]
    rows, cols = np.array([2, 0, 3, 1]), np.array([64, 0, 0, 0])
    place = (rows, cols, 4, 128)
    host = pack(items, 1, 64, False, 1, place)["host"]
    np.testing.assert_array_equal(host, _reference(items, 1, host, place))
