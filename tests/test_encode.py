import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

from motifscan.errors import InputError
from motifscan.codes import (
    decode,
    encode,
    first_invalid,
    one_hot,
    one_hot_torch,
    reverse_complement,
    soft_mask,
)

IUPAC = "ACGTUNRYSWKMBDHV"
dna = st.text(alphabet="ACGTNacgtnRYKMSWBDHVrykmswbdhv", max_size=300)


def test_bases_and_case():
    assert encode("ACGTacgt").tolist() == [0, 1, 2, 3, 0, 1, 2, 3]
    assert encode("Uu").tolist() == [3, 3]


def test_every_iupac_code_is_n_not_an_error():
    codes = encode("NRYSWKMBDHVnryswkmbdhv")
    assert (codes == 4).all()


def test_lowercase_is_a_real_base_and_reported_as_masked():
    assert encode("acgt").tolist() == [0, 1, 2, 3]
    assert soft_mask("ACgtN").tolist() == [False, False, True, True, False]


@pytest.mark.parametrize("bad", ["ACGX", "AC-G", "AC G", "AC*", "ACG\x00"])
def test_non_iupac_letter_names_its_position(bad):
    with pytest.raises(InputError) as err:
        encode(bad, offset=100)
    pos = next(i for i, c in enumerate(bad) if c.upper() not in IUPAC)
    assert f"position {100 + pos + 1}" in str(err.value)
    assert first_invalid(bad) == pos


def test_all_256_bytes_either_encode_or_raise():
    for b in range(256):
        raw = np.array([b], dtype=np.uint8)
        if chr(b) in IUPAC + IUPAC.lower():
            assert encode(raw)[0] <= 4
        else:
            with pytest.raises(InputError):
                encode(raw)


@given(dna)
def test_reverse_complement_is_an_involution(seq):
    codes = encode(seq)
    assert np.array_equal(reverse_complement(reverse_complement(codes)), codes)


@given(dna)
def test_one_hot_columns_and_n(seq):
    codes = encode(seq)
    oh = one_hot(codes)
    assert oh.shape == (4, len(seq))
    assert np.array_equal(oh.sum(axis=0), (codes < 4).astype(np.float32))
    assert np.array_equal(oh.argmax(axis=0)[codes < 4], codes[codes < 4])


@given(dna)
@settings(max_examples=50)
def test_one_hot_of_revcomp_is_flip_of_both_axes(seq):
    codes = encode(seq)
    assert np.array_equal(one_hot(reverse_complement(codes)), one_hot(codes)[::-1, ::-1])


def test_torch_one_hot_matches_numpy():
    rng = np.random.default_rng(0)
    codes = rng.integers(0, 5, (3, 50), dtype=np.uint8)
    assert np.array_equal(one_hot_torch(torch.from_numpy(codes)).numpy(), one_hot(codes))


def test_decode_round_trip():
    assert decode(encode("ACGTNacgtR")) == "ACGTNACGTN"


@given(st.binary(max_size=200) | dna.map(str.encode))
@settings(max_examples=300)
def test_every_input_type_encodes_alike(raw):
    """bytes, bytearray and str (bytes.translate) and uint8 arrays (a numpy lookup) give the same
    writable codes, or the same error at the same position."""
    arr = np.frombuffer(raw, dtype=np.uint8)
    inputs = [raw, bytearray(raw), arr]
    if raw.isascii():
        inputs.append(raw.decode("ascii"))
    results = []
    for x in inputs:
        try:
            codes = encode(x, offset=7)
            assert codes.dtype == np.uint8 and codes.flags.writeable and len(codes) == len(raw)
            results.append(codes.tolist())
        except InputError as exc:
            results.append(str(exc))
    assert all(r == results[0] for r in results)
    bad = first_invalid(raw)
    assert isinstance(results[0], str) == (bad is not None)
    if bad is not None:
        assert f"position {7 + bad + 1}" in results[0]
