"""The compiled line-at-a-time decoder of streamed FASTA records (``motifscan.io.fasta._decode_run``)
and the line count it keeps for error messages."""

from __future__ import annotations

from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import motifscan.io.fasta as fasta_mod
from motifscan.errors import InputError
from motifscan.io.fasta import _decode_run, stream_chunks


def _reference(raw: bytes) -> tuple[int, bytes, bytes, int]:
    """Byte by byte: ``(codes or -(i + 1) at the first bad byte, codes, soft-mask flags, newlines)``."""
    c = fasta_mod._compiled()
    table, lower = c["table"], c["lower"]
    codes, flags = bytearray(), bytearray()
    for i, b in enumerate(raw):
        if table[b] == fasta_mod._SKIP:
            continue
        if table[b] == fasta_mod.INVALID:
            return -(i + 1), bytes(codes), bytes(flags), raw.count(b"\n")
        codes.append(int(table[b]))
        flags.append(int(lower[b]))
    return len(codes), bytes(codes), bytes(flags), raw.count(b"\n")


_BASES = b"ACGTNacgtnRYKMSWBDHVU"
_ODD = b" \t\r\x0b\x0c>*-.0J\x00\xff"


@st.composite
def _lines(draw):
    """Sequence lines of one width (a shorter last one), LF or CRLF, maybe cut anywhere at both
    ends (as a read block cuts them), with a few lines of another width and a few odd bytes."""
    width = draw(st.integers(1, 80))
    n = draw(st.integers(0, 30))
    eol = draw(st.sampled_from([b"\n", b"\r\n"]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    lines = []
    for i in range(n):
        w = width if i < n - 1 else int(rng.integers(0, width + 1))
        if rng.random() < 0.1:
            w = int(rng.integers(0, 2 * width + 2))  # an uneven line
        line = bytes(rng.choice(np.frombuffer(_BASES, np.uint8), w).astype(np.uint8))
        if w and rng.random() < draw(st.sampled_from([0.0, 0.05, 0.3])):
            k = int(rng.integers(0, w))
            line = line[:k] + bytes([_ODD[int(rng.integers(0, len(_ODD)))]]) + line[k + 1 :]
        lines.append(line + eol)
    raw = b"".join(lines)
    a = draw(st.integers(0, len(raw)))
    b = draw(st.integers(a, len(raw)))
    return raw[a:b] if draw(st.booleans()) else raw


@given(raw=_lines(), with_mask=st.booleans())
@settings(max_examples=400, deadline=None)
def test_line_decoder_equals_byte_by_byte(raw, with_mask):
    """Codes, soft-mask flags, the position of the first bad byte and the newlines passed: as a
    byte-by-byte decode gives them, for any line width, line end, cut and stray byte."""
    n_want, codes_want, flags_want, lines_want = _reference(raw)
    arr = np.frombuffer(raw, np.uint8)
    codes = np.full(len(raw), 99, np.uint8)
    masks = np.zeros(len(raw), np.bool_) if with_mask else None
    n, lines = _decode_run(arr, codes, masks)
    assert n == n_want
    if n >= 0:
        assert lines == lines_want
        assert codes[:n].tobytes() == codes_want
        if with_mask:
            assert masks[:n].astype(np.uint8).tobytes() == flags_want


def test_line_decoder_takes_whole_lines_at_once():
    """A genome's 60-base lines (soft-masked stretches, N runs) and the shorter last line."""
    rng = np.random.default_rng(1)
    seq = rng.choice(np.frombuffer(b"ACGTacgtNN", np.uint8), 60 * 500 + 17).astype(np.uint8).tobytes()
    raw = b"\n".join(seq[k : k + 60] for k in range(0, len(seq), 60)) + b"\n"
    for cut in (0, 1, 59, 60, 61, 125):  # a block may begin anywhere in a line
        n_want, codes_want, flags_want, lines_want = _reference(raw[cut:])
        codes, masks = np.empty(len(raw), np.uint8), np.empty(len(raw), np.bool_)
        assert _decode_run(np.frombuffer(raw[cut:], np.uint8), codes, masks) == (n_want, lines_want)
        assert codes[:n_want].tobytes() == codes_want and masks[:n_want].tobytes() == flags_want


@pytest.mark.parametrize("few", [0, 1, 64])
@pytest.mark.parametrize("block", [7, 50, 61, 1 << 22])
@pytest.mark.parametrize("wanted", [None, {"z"}])
def test_line_numbers_after_records_read_over_many_blocks(tmp_path, block, few, wanted):
    """Error line numbers stay right when the newlines of a chromosome's blocks are counted by
    the decoder (or, for a record left out, by the count alone), headers found either way."""
    rng = np.random.default_rng(2)
    body = b"".join(rng.choice(np.frombuffer(b"ACGTacgtN", np.uint8), 60).astype(np.uint8).tobytes() + b"\n"
                    for _ in range(40))
    text = b">a\n" + body + b">b x\n" + body + body[:30] + b"\n>z\nAC\n>a\nGT\n"
    line = text[: text.rindex(b">a")].count(b"\n") + 1
    path = tmp_path / "g.fa"
    path.write_bytes(text)
    with mock.patch.object(fasta_mod, "BLOCK_SIZE", block), mock.patch.object(fasta_mod, "_FEW_HEADERS", few):
        with pytest.raises(InputError, match=rf"g.fa.*line {line}.*duplicate record name 'a'"):
            list(stream_chunks(path, 100, 19, records=wanted))
