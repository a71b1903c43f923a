"""The :class:`Motif` type: a letter-probability matrix with its background and site count.

Every motif in motifscan -- read from a file, exported from a model's filters, or written for
other tools -- is a ``Motif``: a ``(W, 4)`` float64 matrix of probabilities in the order
A, C, G, T (rows sum to 1), an integer ``nsites`` (how many sites the matrix was counted from;
counts are ``probs * nsites``) and an order-0 background.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

__all__ = ["Motif", "ALPHABET", "UNIFORM", "sanitise_id", "consensus"]

ALPHABET = "ACGT"
UNIFORM = np.full(4, 0.25)

_BAD_ID = re.compile(r"[\s=]+")


def sanitise_id(text: str) -> str:
    """Return ``text`` with runs of whitespace and ``=`` replaced by ``_`` (never empty).

    MEME-format readers split the ``MOTIF`` line on whitespace and some treat ``=`` as a
    key/value separator, so ids carry neither.
    """
    out = _BAD_ID.sub("_", str(text).strip())
    return out or "motif"


def _uniform() -> np.ndarray:
    return UNIFORM.copy()


def _as_background(bg) -> np.ndarray:
    if bg is None:
        return _uniform()
    arr = np.asarray(bg, dtype=np.float64).reshape(-1)
    if arr.shape != (4,) or not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        raise ValueError(f"background must be 4 positive frequencies (A,C,G,T), got {bg!r}")
    return arr / arr.sum()


@dataclass
class Motif:
    """A DNA motif as a letter-probability matrix.

    Attributes
    ----------
    id
        Identifier (e.g. ``MA0139.2`` or ``filter17``); writers replace spaces and ``=`` by ``_``.
    probs
        ``(W, 4)`` float64, columns A, C, G, T; each row sums to 1.
    nsites
        Number of sites behind the matrix (an integer, as every reader requires).
    alt
        Alternate name, e.g. the transcription factor (``CTCF``).
    background
        ``(4,)`` order-0 background frequencies (uniform by default).
    url
        Optional link (written as MEME's ``URL`` line).
    """

    id: str
    probs: np.ndarray
    nsites: int = 20
    alt: str = ""
    background: np.ndarray = field(default_factory=_uniform)
    url: str = ""

    def __post_init__(self) -> None:
        probs = np.array(self.probs, dtype=np.float64, copy=True)
        if probs.ndim != 2 or probs.shape[1] != 4 or probs.shape[0] == 0:
            raise ValueError(f"motif {self.id!r}: probs must have shape (W>=1, 4), got {probs.shape}")
        if not np.all(np.isfinite(probs)) or np.any(probs < 0):
            raise ValueError(f"motif {self.id!r}: probabilities must be finite and >= 0")
        sums = probs.sum(axis=1, keepdims=True)
        if np.any(sums <= 0):
            raise ValueError(f"motif {self.id!r}: a row of probabilities sums to 0")
        self.probs = probs / sums
        self.nsites = max(1, int(round(float(self.nsites))))
        self.background = _as_background(self.background)
        self.id = str(self.id)
        self.alt = str(self.alt or "")
        self.url = str(self.url or "")

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_counts(cls, id: str, counts, alt: str = "", background=None, url: str = "") -> "Motif":
        """Build a motif from a ``(W, 4)`` count matrix; ``nsites`` = rounded mean row sum."""
        counts = np.asarray(counts, dtype=np.float64)
        if counts.ndim != 2 or counts.shape[1] != 4 or counts.shape[0] == 0:
            raise ValueError(f"motif {id!r}: counts must have shape (W>=1, 4), got {counts.shape}")
        if not np.all(np.isfinite(counts)) or np.any(counts < 0):
            raise ValueError(f"motif {id!r}: counts must be finite and >= 0")
        sums = counts.sum(axis=1)
        if np.any(sums <= 0):
            raise ValueError(f"motif {id!r}: a column of counts sums to 0")
        nsites = max(1, int(round(float(sums.mean()))))
        return cls(id=id, probs=counts / sums[:, None], nsites=nsites, alt=alt,
                   background=_as_background(background), url=url)

    # ------------------------------------------------------------------ properties
    @property
    def width(self) -> int:
        """Number of positions ``W``."""
        return int(self.probs.shape[0])

    @property
    def counts(self) -> np.ndarray:
        """``(W, 4)`` float counts, ``probs * nsites``."""
        return self.probs * self.nsites

    @property
    def consensus(self) -> str:
        """The most likely letter at each position (IUPAC-free, A/C/G/T)."""
        return consensus(self.probs)

    # ------------------------------------------------------------------ scores
    def information_content(self) -> np.ndarray:
        """``(W,)`` information content in bits relative to the background.

        ``IC_i = sum_b p_ib * log2(p_ib / bg_b)`` (Kullback-Leibler divergence; with a uniform
        background this is the familiar ``2 - H_i``). Zero probabilities contribute 0.
        """
        p = self.probs
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = np.where(p > 0, p * np.log2(p / self.background), 0.0)
        return terms.sum(axis=1)

    def total_ic(self) -> float:
        """Sum of the per-position information content (bits)."""
        return float(self.information_content().sum())

    def log_odds(self, pseudocount: float = 0.0) -> np.ndarray:
        """``(W, 4)`` log-odds scores in bits, ``log2(p / bg)``.

        Parameters
        ----------
        pseudocount
            FIMO's ``--motif-pseudo``: with ``pseudocount > 0`` the probabilities become
            ``(p * nsites + pseudocount * bg) / (nsites + pseudocount)`` first. With 0, a zero
            probability gives ``-inf``.
        """
        p = self.probs
        if pseudocount > 0:
            p = (p * self.nsites + pseudocount * self.background) / (self.nsites + pseudocount)
        with np.errstate(divide="ignore"):
            return np.log2(p) - np.log2(self.background)

    # ------------------------------------------------------------------ transforms
    def trim(self, min_ic: float = 0.5) -> "Motif":
        """Drop flanking positions with information content below ``min_ic`` bits.

        Inner low-IC positions are kept (they are part of the spacing). If no position reaches
        ``min_ic``, the single most informative position is kept, so the result is never empty.
        """
        ic = self.information_content()
        keep = np.flatnonzero(ic >= min_ic)
        if keep.size == 0:
            lo = hi = int(np.argmax(ic))
        else:
            lo, hi = int(keep[0]), int(keep[-1])
        return Motif(self.id, self.probs[lo:hi + 1], self.nsites, self.alt,
                     self.background.copy(), self.url)

    def reverse_complement(self) -> "Motif":
        """The motif of the opposite strand (rows reversed, A<->T and C<->G swapped).

        The background is complemented too (A<->T, C<->G).
        """
        return Motif(self.id, self.probs[::-1, ::-1], self.nsites, self.alt,
                     self.background[::-1].copy(), self.url)

    # ------------------------------------------------------------------ comparison helpers
    def allclose(self, other: "Motif", atol: float = 1e-6) -> bool:
        """True when both matrices have the same shape and agree within ``atol``."""
        return self.probs.shape == other.probs.shape and bool(
            np.allclose(self.probs, other.probs, atol=atol, rtol=0))

    def __eq__(self, other: object) -> bool:  # numpy arrays make the dataclass __eq__ ambiguous
        if not isinstance(other, Motif):
            return NotImplemented
        return (self.id == other.id and self.alt == other.alt and self.nsites == other.nsites
                and self.url == other.url and np.array_equal(self.probs, other.probs)
                and np.array_equal(self.background, other.background))

    def __repr__(self) -> str:
        alt = f" {self.alt}" if self.alt else ""
        return f"Motif({self.id}{alt}, w={self.width}, nsites={self.nsites}, {self.consensus})"


def consensus(probs: np.ndarray) -> str:
    """Consensus string of a ``(W, 4)`` matrix: the argmax letter per row."""
    idx = np.argmax(np.asarray(probs), axis=1)
    return "".join(np.array(list(ALPHABET))[idx])
