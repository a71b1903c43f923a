"""Motifs: the :class:`Motif` type (a PWM), exact p-values, comparison, logos, and filters -> motifs.

* :mod:`.pwm` -- the :class:`Motif` type;
* :mod:`.pvalues` -- FIMO's integer PSSMs and exact p-value tables;
* :mod:`.compare` -- Tomtom-style comparison with a motif database;
* :mod:`.logos` -- sequence logos;
* :mod:`.extract`, :mod:`.influence`, :mod:`.groups`, :mod:`.export` -- a model's filters as
  motifs: activation PWMs, class-balanced filter influence, groups of redundant filters, and the
  export that writes them.

Motif *files* (MEME, JASPAR, TRANSFAC, HOMER) are read and written by
:mod:`motifscan.io.motif_formats`; their functions are also reachable from here:

>>> from motifscan.motifs import read_motifs, jaspar_path
>>> db = read_motifs(jaspar_path())          # the bundled JASPAR 2024 CORE vertebrates
"""

from __future__ import annotations

import os
from importlib import import_module, resources
from pathlib import Path

from .pwm import Motif

__all__ = [
    "Motif",
    "FORMATS",
    "detect_format",
    "read_motifs",
    "write_motifs",
    "read_meme_background",
    "jaspar_path",
    "motif_file",
    "JASPAR_FILE",
    "JASPAR_KEYWORD",
    "Match",
    "MotifDatabase",
    "compare_motifs",
    "write_matches",
    "plot_logo",
    "plot_logos",
]

JASPAR_FILE = "JASPAR2024_CORE_vertebrates.meme"
#: The word that names the bundled collection wherever a motif file is taken.
JASPAR_KEYWORD = "jaspar"

# Loaded on first use: motifscan.io.motif_formats imports the Motif type from here, so importing
# it back eagerly would be a cycle (and the logos would pull in matplotlib for every import).
_LAZY = {
    "FORMATS": "motifscan.io.motif_formats",
    "detect_format": "motifscan.io.motif_formats",
    "read_motifs": "motifscan.io.motif_formats",
    "write_motifs": "motifscan.io.motif_formats",
    "read_meme_background": "motifscan.io.motif_formats",
    "Match": "motifscan.motifs.compare",
    "MotifDatabase": "motifscan.motifs.compare",
    "compare_motifs": "motifscan.motifs.compare",
    "write_matches": "motifscan.motifs.compare",
    "plot_logo": "motifscan.motifs.logos",
    "plot_logos": "motifscan.motifs.logos",
}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def jaspar_path() -> Path:
    """Path of the bundled JASPAR 2024 CORE vertebrates collection (879 motifs, MEME format).

    JASPAR 2024 (Rauluseviciute et al., Nucleic Acids Res. 2024), CC BY 4.0; see
    ``motifscan/resources/PROVENANCE.md``.
    """
    ref = resources.files("motifscan") / "resources" / JASPAR_FILE
    return Path(str(ref))


def motif_file(path: str | os.PathLike) -> Path:
    """The motif file a command line names: ``jaspar`` is the bundled JASPAR 2024 collection.

    The keyword (any case) names the bundled file only when no file of that name exists, so a
    file called ``jaspar`` in the working directory is still read. Anything else is returned
    as a path, unchecked.
    """
    if str(path).lower() == JASPAR_KEYWORD and not Path(path).exists():
        return jaspar_path()
    return Path(path)
