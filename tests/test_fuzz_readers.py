"""Property tests: every reader, given arbitrary input, parses it or raises a MotifscanError.

Inputs are arbitrary bytes, text built from each format's own tokens (so the parsers get deep),
and gzip streams of both, cut at random places. The budget is fixed and derandomised, so CI runs
the same examples every time.
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from motifscan.errors import MotifscanError
from motifscan.io.motif_formats import read_motifs
from motifscan.codes import N_CODE
from motifscan.io.fasta import read_fasta, stream_chunks
from motifscan.io.intervals import read_intervals

BUDGET = settings(max_examples=150, deadline=None, derandomize=True, database=None,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])

FASTA_TOKENS = [">", ">chr1", ">chr1 desc", ">chr2", "\n", "\r\n", " ", "\t", "ACGT", "acgt", "N", "NNNN",
                "RYKM", "X", "-", "*", "U", "1", "\x00", "é", ">>", "\n>\n"]
BED_TOKENS = ["chr1", "chr2", "\t", " ", "\n", "\r\n", "0", "1", "100", "250", "-1", "-5", "99999999999",
              "1e3", "x", "#", "track name=a", "browser", ".", "+", "peak", "3.5"]
MOTIF_TOKENS = ["MEME version 4\n", "ALPHABET= ACGT\n", "ALPHABET= ACGU\n", "strands: + -\n",
                "Background letter frequencies\n", "A 0.25 C 0.25 G 0.25 T 0.25\n", "MOTIF ", "m1", " ",
                "\n", "\r\n", "\t", "letter-probability matrix: ", "alength= 4 ", "w= 2 ", "w= 0 ",
                "nsites= 20 ", "E= 0", "0.25 0.25 0.25 0.25\n", "1 0 0 0\n", "0.5", "-0.1", "nan", "inf",
                "1e309", ">", "MA0001.1 x\n", "A [ 1 2 ]\n", "C [ 0 3 ]\n", "G [", "T", "]", "AC  M1\n",
                "P0  A C G T\n", "01  1 2 3 4 N\n", "02", "XX\n", "//\n", ">ACGT\tname\t4.5\n", "#", "URL"]
FORMATS = {"meme": ".meme", "jaspar": ".jaspar", "transfac": ".transfac", "homer": ".motif"}


def _from_tokens(tokens: list[str]) -> st.SearchStrategy[bytes]:
    text = st.lists(st.sampled_from(tokens), max_size=80).map("".join)
    return st.one_of(
        text.map(lambda t: t.encode("utf-8")),
        st.tuples(text, st.binary(max_size=40)).map(lambda p: p[0].encode("utf-8") + p[1]),
    )


def _inputs(tokens: list[str]) -> st.SearchStrategy[bytes]:
    """Raw bytes, format-shaped text, and gzip streams of either (whole or cut off)."""
    plain = st.one_of(st.binary(max_size=300), _from_tokens(tokens))
    zipped = st.tuples(plain, st.integers(0, 400), st.booleans()).map(
        lambda p: gzip.compress(p[0], mtime=0)[: p[1]] if p[2] else gzip.compress(p[0], mtime=0))
    return st.one_of(plain, plain, zipped)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


def _write(workdir: Path, name: str, data: bytes) -> Path:
    path = workdir / name
    path.write_bytes(data)
    return path


@BUDGET
@given(data=_inputs(FASTA_TOKENS))
def test_read_fasta_parses_or_raises_input_error(workdir, data):
    path = _write(workdir, "fuzz.fa", data)
    try:
        records = list(read_fasta(path))
    except MotifscanError as exc:
        assert str(exc).startswith(str(path))
        return
    assert records
    names = [r.name for r in records]
    assert len(set(names)) == len(names) and all(names)
    for rec in records:
        assert rec.codes.dtype == np.uint8 and (rec.codes <= N_CODE).all()


@BUDGET
@given(data=_inputs(FASTA_TOKENS), chunk=st.integers(1, 9), overlap=st.integers(0, 5))
def test_stream_chunks_agree_with_read_fasta(workdir, data, chunk, overlap):
    path = _write(workdir, "fuzz_chunks.fa", data)
    try:
        chunks = list(stream_chunks(path, chunk, overlap, with_mask=True))
    except MotifscanError as exc:
        assert str(exc).startswith(str(path))
        with pytest.raises(MotifscanError):  # the whole-record reader refuses it too
            list(read_fasta(path))
        return
    whole = {r.name: r.codes for r in read_fasta(path)}
    assert list(dict.fromkeys(c.name for c in chunks)) == list(whole)
    for c in chunks:
        assert c.start % chunk == 0
        np.testing.assert_array_equal(c.codes, whole[c.name][c.start : c.start + chunk + overlap])
        assert c.masked is not None and len(c.masked) == len(c.codes)
    for name, codes in whole.items():
        mine = [c for c in chunks if c.name == name]
        assert mine[-1].last and not any(c.last for c in mine[:-1])
        last_k = max(0, -(-(len(codes) - chunk - overlap) // chunk))  # first k whose chunk reaches the end
        assert [c.start for c in mine] == [k * chunk for k in range(last_k + 1)]
        assert mine[-1].start + len(mine[-1].codes) == len(codes)


@BUDGET
@given(data=_inputs(BED_TOKENS))
def test_read_intervals_parses_or_raises_input_error(workdir, data):
    path = _write(workdir, "fuzz.bed", data)
    try:
        intervals = read_intervals(path)
    except MotifscanError as exc:
        assert str(exc).startswith(str(path))
        return
    assert intervals
    for iv in intervals:
        assert iv.chrom and 0 <= iv.start <= iv.end
        assert iv.summit is None or iv.start <= iv.summit <= max(iv.end - 1, iv.start)


@pytest.mark.parametrize("fmt", sorted(FORMATS))
@BUDGET
@given(data=_inputs(MOTIF_TOKENS))
def test_read_motifs_parses_or_raises_input_error(workdir, fmt, data):
    path = _write(workdir, f"fuzz{FORMATS[fmt]}", data)
    for format in (fmt, None):  # named, and detected from the extension
        try:
            motifs = read_motifs(path, format=format)
        except MotifscanError as exc:
            assert str(exc).startswith(str(path))
            continue
        assert motifs
        for m in motifs:
            assert m.probs.ndim == 2 and m.probs.shape[1] == 4 and m.probs.shape[0] >= 1
            assert np.isfinite(m.probs).all() and (m.probs >= 0).all()
            np.testing.assert_allclose(m.probs.sum(axis=1), 1, atol=1e-3)


@pytest.fixture(scope="module")
def model_file(workdir) -> Path:
    import torch

    from motifscan.model import ModelConfig, MotifCNN, save_model

    torch.manual_seed(0)
    return save_model(MotifCNN(ModelConfig(n_filters=3, filter_width=5, seq_length=20)), workdir / "m.h5")


@settings(max_examples=60, deadline=None, derandomize=True, database=None)
@given(cut=st.floats(0, 1, exclude_max=True), junk=st.binary(max_size=64))
def test_load_model_of_a_cut_off_file_loads_or_raises_model_file_error(workdir, model_file, cut, junk):
    """A model cut off anywhere (an interrupted copy or download), maybe followed by junk.

    """
    from motifscan.errors import ModelFileError
    from motifscan.model import load_model

    data = model_file.read_bytes()
    path = _write(workdir, "damaged.h5", data[: int(cut * len(data))] + junk)
    try:
        model = load_model(path)
    except ModelFileError as exc:
        assert str(exc).startswith(os.fspath(path))
    else:  # HDF5 refuses a file shorter than its recorded end; only tail bytes were replaced
        assert int(cut * len(data)) + len(junk) >= len(data)
        assert model.config.filter_width == 5


@settings(max_examples=100, deadline=None, derandomize=True, database=None)
@given(edits=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)), min_size=1, max_size=8))
def test_load_model_of_a_file_with_flipped_bytes_loads_or_raises_model_file_error(workdir, model_file, edits):
    """Bytes changed anywhere: checksums (metadata, Fletcher-32 on the weights) catch the damage
    before libhdf5 acts on it -- unchecksummed structures could make libhdf5 hang or crash."""
    from motifscan.errors import ModelFileError
    from motifscan.model import load_model

    data = bytearray(model_file.read_bytes())
    for where, value in edits:
        data[int(where * len(data))] = value
    path = _write(workdir, "flipped.h5", bytes(data))
    try:
        model = load_model(path)
    except ModelFileError as exc:
        assert str(exc).startswith(os.fspath(path))
    else:  # the damage fell on free space only: every weight is as written
        reference = load_model(model_file)
        for (k, a), b in zip(model.state_dict().items(), reference.state_dict().values()):
            assert torch.equal(a, b), k
