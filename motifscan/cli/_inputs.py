"""What the positional arguments of a command are: a model, a motif file, or swapped arguments.

One check for every command that takes a model (``scan``, ``variants``, ``evaluate``,
``attribute``) or, for ``scan`` and ``variants``, a motif file in its place. It runs before any
output name is looked at, so a wrong first argument is the one error a command line gets.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Sequence

from ..errors import InputError, ModelFileError, UsageError

#: Endings of the inputs scan reads (FASTA, reads): named first, the arguments were swapped.
SEQUENCE_ENDINGS = (".fa", ".fasta", ".fna", ".fas", ".fa.gz", ".fasta.gz", ".fna.gz", ".fa.bgz",
                    ".bam", ".cram", ".sam")
#: Endings of the VCF that variants reads.
VCF_ENDINGS = (".vcf", ".vcf.gz", ".vcf.bgz", ".bcf")
#: Endings of peak files (evaluate, attribute).
PEAK_ENDINGS = (*SEQUENCE_ENDINGS[:8], ".bed", ".bed.gz", ".narrowpeak", ".narrowpeak.gz")
_MODEL_ENDINGS = (".h5", ".hdf5", ".hdf")

Kind = Literal["model", "motifs"]
#: The commands whose first argument may be a motif file instead of a model.
_OR_MOTIFS = {"scan": " or a motif file", "variants": " or a motif file"}


def _is_model(path: str) -> bool:
    import h5py

    return path != "-" and Path(path).is_file() and h5py.is_hdf5(path)


def _swapped(command: str, first: str, second: str, what: str, endings: Sequence[str], usage: str) -> UsageError:
    """The error of a command line whose first argument is ``what`` (the second one's kind)."""
    head = f"the first argument must be a model (.h5){_OR_MOTIFS.get(command, '')}, and the second the {what}"
    if Path(first).resolve() == Path(second).resolve() or (
            not _is_model(second) and second.lower().endswith(tuple(endings))):
        # both arguments are inputs: swapping them would not help
        return UsageError(f"{head}; {first} is the {what}", hint=f"motifscan {command} {usage}")
    return UsageError(f"{head}; {first} looks like the {what}",
                      hint=f"motifscan {command} {usage} (did you mean: motifscan {command} {second} {first} ...?)")


def model_or_motifs(first: str, second: str, *, command: str, usage: str, what: str,
                    endings: Sequence[str], motif_format: str | None = None) -> tuple[Kind, str]:
    """``("model" | "motifs", path)``: what the first argument of ``scan``/``variants`` is.

    Parameters
    ----------
    first
        A model file, a motif file, or ``jaspar`` (the bundled JASPAR 2024 collection, unless a
        file of that name exists).
    second
        The input (``-`` for stdin), whose kind ``what`` and ``endings`` name in messages and
        recognise when the two arguments were swapped.
    usage
        The command's usage after its name, for the hint of a swapped command line.
    motif_format
        ``--motif-format``: without it a motif file's extension must name its format.

    Returns
    -------
    tuple
        The kind and the path to read (the bundled file for ``jaspar``).

    Raises
    ------
    InputError
        A file that does not exist.
    UsageError
        Swapped arguments, or a first file that is neither a model nor a motif file by its name.
    ModelFileError
        A model's name (``.h5``) on a file that is not HDF5.
    """
    from ..io.motif_formats import detect_format
    from ..motifs import motif_file

    if not Path(first).exists():
        if not motif_file(first).exists():  # 'jaspar': the bundled collection
            raise InputError("model or motif file not found", path=first)
        first = str(motif_file(first))
    if second != "-" and not Path(second).exists():
        raise InputError(f"{what} file not found", path=second)
    if _is_model(first):
        return "model", first
    if first.lower().endswith(tuple(endings)) or _is_model(second):
        raise _swapped(command, first, second, what, endings, usage)
    if first.lower().endswith(_MODEL_ENDINGS):
        # every non-HDF5 file would be read as motifs: a model name means a broken model
        raise ModelFileError("not an HDF5 model file (corrupt, truncated or another format)", path=first,
                             hint="give a model written by 'motifscan train', or a motif file "
                                  "(.meme, .jaspar, .pfm, .transfac, .motif)")
    if motif_format is None:
        try:
            detect_format(first)
        except UsageError:
            raise UsageError("not a model (.h5) or a motif file (.meme, .jaspar, .pfm, .transfac, .motif)",
                             path=first, hint="give a model or a motif file, or name the motif file's "
                                              "format with --motif-format") from None
    return "motifs", first


def model_first(first: str, others: Sequence[str], *, command: str, usage: str, what: str,
                endings: Sequence[str] = PEAK_ENDINGS) -> None:
    """Check that the first argument of ``evaluate``/``attribute`` is a model, not a swapped input."""
    if not Path(first).exists() or _is_model(first):
        return  # a missing model is reported where it is read
    for other in others:
        if _is_model(other):
            raise _swapped(command, first, other, what, endings, usage)
