"""Motifs: the :class:`Motif` type, motif file formats, logos and database comparison.

>>> from motifscan.motifs import read_motifs, jaspar_path
>>> db = read_motifs(jaspar_path())          # the bundled JASPAR 2024 CORE vertebrates
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from .compare import Match, MotifDatabase, compare_motifs, write_matches
from ..io.motif_formats import FORMATS, detect_format, read_meme_background, read_motifs, write_motifs
from .logos import plot_logo, plot_logos
from .pwm import Motif

__all__ = [
    "Motif",
    "FORMATS",
    "detect_format",
    "read_motifs",
    "write_motifs",
    "read_meme_background",
    "jaspar_path",
    "JASPAR_FILE",
    "Match",
    "MotifDatabase",
    "compare_motifs",
    "write_matches",
    "plot_logo",
    "plot_logos",
]

JASPAR_FILE = "JASPAR2024_CORE_vertebrates.meme"


def jaspar_path() -> Path:
    """Path of the bundled JASPAR 2024 CORE vertebrates collection (879 motifs, MEME format).

    JASPAR 2024 (Rauluseviciute et al., Nucleic Acids Res. 2024), CC BY 4.0; see
    ``motifscan/resources/PROVENANCE.md``.
    """
    ref = resources.files("motifscan") / "resources" / JASPAR_FILE
    return Path(str(ref))
