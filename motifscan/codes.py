"""DNA encoding: bytes -> uint8 codes -> one-hot, and reverse complements.

Codes are one byte per base: ``A=0, C=1, G=2, T=3`` (upper or lower case; ``U`` reads as ``T``)
and ``N=4`` for ``N`` and every other IUPAC ambiguity code (``RYSWKMBDHV``). Soft-masked
(lowercase) bases are real bases and keep their code; :func:`soft_mask` reports them separately.
Any other byte is invalid; :func:`encode` raises an :class:`~motifscan.errors.InputError` naming
the first one, and the caller adds the file and record.

One-hot uses channel order ``A, C, G, T``; an ``N`` is an all-zero column. With that order the
complement of a one-hot column is the column reversed, so the reverse complement of a one-hot
array is a flip of both axes.
"""

from __future__ import annotations

import functools

import numpy as np

from .errors import InputError

__all__ = [
    "ALPHABET",
    "N_CODE",
    "LETTERS",
    "INVALID",
    "encode",
    "decode",
    "soft_mask",
    "one_hot",
    "one_hot_torch",
    "reverse_complement",
    "first_invalid",
]

ALPHABET = "ACGT"
N_CODE = 4
INVALID = 255

_LUT = np.full(256, INVALID, dtype=np.uint8)
for _i, _base in enumerate("ACGT"):
    _LUT[ord(_base)] = _i
    _LUT[ord(_base.lower())] = _i
for _base in "UNRYSWKMBDHV":
    _LUT[ord(_base)] = _LUT[ord(_base.lower())] = N_CODE
_LUT[ord("U")] = _LUT[ord("u")] = 3
_LUT.setflags(write=False)
_LUT_BYTES = _LUT.tobytes()

_COMPLEMENT = np.array([3, 2, 1, 0, N_CODE], dtype=np.uint8)
_DECODE = np.frombuffer(b"ACGTN", dtype=np.uint8)
#: ASCII letter of each code (``LETTERS[codes]``; codes above 4 must be clipped first).
LETTERS = _DECODE
_LOWER = np.zeros(256, dtype=bool)
_LOWER[ord("a") : ord("z") + 1] = True


def _as_bytes_array(seq: str | bytes | bytearray | memoryview | np.ndarray) -> np.ndarray:
    if isinstance(seq, np.ndarray):
        if seq.dtype != np.uint8:
            raise TypeError("a sequence array must hold uint8 bytes")
        return seq
    if isinstance(seq, str):
        seq = seq.encode("ascii", errors="replace")
    return np.frombuffer(seq, dtype=np.uint8)


def first_invalid(raw: str | bytes | np.ndarray) -> int | None:
    """Index of the first byte that is not an IUPAC nucleotide, or ``None``."""
    codes = _LUT[_as_bytes_array(raw)]
    bad = np.flatnonzero(codes == INVALID)
    return int(bad[0]) if bad.size else None


def encode(seq: str | bytes | bytearray | np.ndarray, *, offset: int = 0) -> np.ndarray:
    """Encode a DNA sequence as uint8 codes.

    Parameters
    ----------
    seq
        ASCII sequence (``str``, ``bytes`` or a uint8 array of bytes). No whitespace.
    offset
        Added to the position reported in an error (the 0-based position of ``seq[0]`` in its
        record), so messages point at the right base when a record is encoded in pieces.

    Returns
    -------
    numpy.ndarray
        ``uint8`` codes of shape ``(len(seq),)``: 0-3 for ACGT, 4 for N/IUPAC.

    Raises
    ------
    InputError
        A byte is not an IUPAC nucleotide; the message gives the letter and its 1-based position.
    """
    if isinstance(seq, str):
        seq = seq.encode("ascii", errors="replace")
    if isinstance(seq, (bytes, bytearray, memoryview)):
        # bytes.translate is a C loop several times faster than a numpy table lookup; a bytearray
        # gives a writable result (as the lookup does)
        out = bytearray(seq).translate(_LUT_BYTES)
        i = out.find(INVALID)
        codes = np.frombuffer(out, dtype=np.uint8)
        raw = np.frombuffer(seq, dtype=np.uint8)
    else:
        raw = _as_bytes_array(seq)
        codes = _LUT[raw]
        bad = np.flatnonzero(codes == INVALID)
        i = int(bad[0]) if bad.size else -1
    if i >= 0:
        letter = bytes([raw[i]])
        shown = letter.decode("ascii") if 32 < raw[i] < 127 else f"byte 0x{raw[i]:02x}"
        raise InputError(
            f"position {offset + i + 1}: {shown!r} is not an IUPAC nucleotide code",
            hint="sequences may hold only A, C, G, T, U, N and the IUPAC ambiguity codes",
        )
    return codes


def decode(codes: np.ndarray) -> str:
    """Turn codes back into an upper-case string (``N`` for code 4)."""
    return _DECODE[np.asarray(codes, dtype=np.uint8)].tobytes().decode("ascii")


def soft_mask(seq: str | bytes | np.ndarray) -> np.ndarray:
    """Boolean array, True where the base is lower case (soft-masked)."""
    return _LOWER[_as_bytes_array(seq)]


def reverse_complement(codes: np.ndarray) -> np.ndarray:
    """Reverse complement of codes along the last axis (N stays N)."""
    return _COMPLEMENT[np.asarray(codes)][..., ::-1].copy()


def one_hot(codes: np.ndarray, dtype=np.float32) -> np.ndarray:
    """One-hot encode codes of shape ``(..., L)`` into ``(..., 4, L)``; N is an all-zero column."""
    codes = np.asarray(codes)
    return (codes[..., None, :] == np.arange(4, dtype=codes.dtype)[:, None]).astype(dtype)


def one_hot_torch(codes, dtype=None):
    """One-hot encode a uint8 torch tensor ``(..., L)`` into ``(..., 4, L)`` on its own device.

    This is how codes become model input: only bytes travel to the device, which builds the
    floats itself.
    """
    import torch

    dtype = dtype or torch.float32
    return (codes.unsqueeze(-2) == _base_column(codes.device, codes.dtype)).to(dtype)


@functools.lru_cache(maxsize=None)
def _base_column(device, dtype):
    """``[[0], [1], [2], [3]]`` on ``device``, made once (a per-batch arange costs a device op)."""
    import torch

    return torch.arange(4, device=device, dtype=dtype)[:, None]
