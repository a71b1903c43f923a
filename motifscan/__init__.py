"""motifscan: find transcription-factor binding motifs with a shared-filter 1D CNN.

The library is the product; the ``motifscan`` command is a thin layer over it. Entry points:

* :func:`motifscan.train.train_model` -- learn a filter bank from bound vs. unbound sequences;
* :func:`load_model` / :func:`save_model` -- HDF5 model files (never pickles);
* :mod:`motifscan.scan` -- stream genomes and reads through a model or a motif file;
* :mod:`motifscan.interpret` -- variant effects and attributions (what a model or motif file explains);
* :mod:`motifscan.motifs` -- PWMs: formats, export from filters, comparison, p-values.
"""

from ._version import __version__
from .errors import (
    InputError,
    ModelFileError,
    MotifscanError,
    MotifscanWarning,
    UsageError,
)

#: Names exported from :mod:`motifscan.model`, imported when first used: ``import motifscan`` (and
#: the command line, whose CPU scans never need it) does not load torch (1-2 s of every start).
_FROM_MODEL = ("ModelConfig", "MotifCNN", "load_model", "save_model")


def __getattr__(name: str):
    if name in _FROM_MODEL:
        from . import model

        return getattr(model, name)
    raise AttributeError(f"module 'motifscan' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_FROM_MODEL))


__all__ = [
    "__version__",
    "MotifscanError",
    "UsageError",
    "InputError",
    "ModelFileError",
    "MotifscanWarning",
    "ModelConfig",
    "MotifCNN",
    "load_model",
    "save_model",
]
