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
from .model import ModelConfig, MotifCNN, load_model, save_model

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
