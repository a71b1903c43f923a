"""Model files without torch: the HDF5 format's reading and checks, the config, and the digest.

A model file (:func:`read_model_file`) is read and checked here into a :class:`ModelFile` of numpy
arrays, named as :class:`~motifscan.model.MotifCNN`'s ``state_dict``; :func:`~motifscan.model.load_model`
and :func:`~motifscan.model.model_from_file` build the torch module from it. The CPU window scan needs no more than these arrays
(:meth:`ModelFile.bank_arrays`, :meth:`ModelFile.linear_head`), so ``motifscan scan`` on a CPU
never imports torch (1-2 s of every start; :mod:`motifscan.device`).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from .codes import ALPHABET
from .errors import ModelFileError
from .text import plural

__all__ = ["ModelConfig", "ModelFile", "read_model_file", "state_shapes", "model_digest", "check_task_names",
           "FORMAT_NAME", "FORMAT_VERSION"]

FORMAT_NAME = "motifscan-model"
FORMAT_VERSION = 1


@dataclass
class ModelConfig:
    """Architecture and input contract of a model (:class:`~motifscan.model.MotifCNN`).

    Attributes
    ----------
    n_filters, filter_width
        Size of the shared filter bank.
    rc_sharing
        Scan both strands with the same filters (max over strands).
    hidden
        Units of a hidden dense layer after pooling; 0 for a linear head on the pooled filters.
    dropout
        Dropout rate after pooling (and after the hidden layer).
    seq_length
        Length of the training sequences; the default scan window.
    tasks
        Names of the output tasks (one logit each).
    """

    n_filters: int = 64
    filter_width: int = 19
    rc_sharing: bool = True
    hidden: int = 0
    dropout: float = 0.2
    seq_length: int = 200
    tasks: list[str] = field(default_factory=lambda: ["bound"])

    def __post_init__(self) -> None:
        self.tasks = list(self.tasks)
        if self.n_filters < 1 or self.filter_width < 1:
            raise ValueError("n_filters and filter_width must be >= 1")
        if self.seq_length < self.filter_width:
            raise ValueError("seq_length must be at least filter_width")
        if not self.tasks:
            raise ValueError("a model needs at least one task")




def state_shapes(config: ModelConfig) -> dict[str, tuple[int, ...]]:
    """The shape of every weight of a model of ``config``, named as in its ``state_dict``.

    The head is ``Sequential(Dropout, [Linear, ReLU, Dropout,] Linear)``: its ``Linear`` layers
    are entries 1 and (with a hidden layer) 4.
    """
    F, W, T, H = config.n_filters, config.filter_width, len(config.tasks), config.hidden
    shapes: dict[str, tuple[int, ...]] = {"conv.weight": (F, 4, W), "conv.bias": (F,)}
    if H:
        shapes.update({"head.1.weight": (H, F), "head.1.bias": (H,), "head.4.weight": (T, H), "head.4.bias": (T,)})
    else:
        shapes.update({"head.1.weight": (T, F), "head.1.bias": (T,)})
    return shapes


@dataclass
class ModelFile:
    """A model file's contents, checked, as numpy (no torch).

    Attributes
    ----------
    config
        The architecture.
    weights
        float32 arrays named as the model's ``state_dict`` (:func:`state_shapes`).
    metrics, provenance
        What training recorded.
    source
        The file it was read from.
    """

    config: ModelConfig
    weights: dict[str, np.ndarray]
    metrics: dict[str, Any] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)
    source: Path | None = None

    def filter_names(self) -> list[str]:
        """``filter0 .. filter{F-1}``, as :meth:`motifscan.model.MotifCNN.filter_names`."""
        return [f"filter{i}" for i in range(self.config.n_filters)]

    def bank_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """The filter bank: weights ``(F, 4, W)`` (channels ``A, C, G, T``) and bias ``(F,)``, float32."""
        return self.weights["conv.weight"], self.weights["conv.bias"]

    def linear_head(self) -> tuple[np.ndarray, np.ndarray] | None:
        """The head's ``Linear`` as ``(weight (T, F), bias (T,))`` float32, or ``None`` when the
        model has a hidden layer (its head is not one affine map)."""
        if self.config.hidden:
            return None
        return self.weights["head.1.weight"], self.weights["head.1.bias"]


def read_model_file(path: str | os.PathLike) -> ModelFile:
    """Read and check a model written by :func:`~motifscan.model.save_model`, data only (never unpickling).

    Raises
    ------
    ModelFileError
        The file is missing, not HDF5 (a pickle or torch checkpoint renamed ``.h5``, say),
        truncated, not a motifscan model, of an unknown format version, or inconsistent.
    """
    import h5py

    path = Path(path)
    if not path.exists():
        raise ModelFileError("model file not found", path=path)
    if path.is_dir() or not h5py.is_hdf5(path):
        raise ModelFileError(
            "not an HDF5 model file (motifscan never loads pickles or torch checkpoints)",
            path=path,
            hint="give a model written by 'motifscan train'",
        )
    try:
        with h5py.File(path, "r") as h5:
            attrs = _Attributes(h5, path)  # reads only the attributes named below, each size-capped
            fmt = _text(attrs.get("format"))
            if fmt != FORMAT_NAME:
                raise ModelFileError(
                    "HDF5 file is not a motifscan model (no 'format' attribute)",
                    path=path,
                    hint="give a model written by 'motifscan train'",
                )
            version = int(attrs.get("format_version", -1))
            if version != FORMAT_VERSION:
                raise ModelFileError(
                    f"unknown model format version {version} (this motifscan reads {FORMAT_VERSION})",
                    path=path,
                    hint="use the motifscan version that wrote it, or retrain",
                )
            if _text(attrs.get("alphabet")) != ALPHABET:
                raise ModelFileError("model alphabet is not ACGT", path=path)
            config = _config(json.loads(_text(attrs["config"])), path)
            metrics = json.loads(_text(attrs.get("metrics", "{}")))
            provenance = json.loads(_text(attrs.get("provenance", "{}")))
            if "weights" not in h5:
                raise ModelFileError("model file has no 'weights' group", path=path)
            _check_shapes(config, h5["weights"], path)  # before any allocation: a stranger's file may lie
            weights = {k: np.ascontiguousarray(h5["weights"][k][()], dtype=np.float32) for k in h5["weights"]}
            _check_finite(weights, path)
    except ModelFileError:
        raise
    except (OSError, KeyError, ValueError, TypeError, RuntimeError, json.JSONDecodeError) as exc:
        # h5py raises RuntimeError for some damaged structures (e.g. attribute heaps)
        raise ModelFileError(f"truncated or corrupt model file ({exc})", path=path) from None
    return ModelFile(config, weights, metrics, provenance, path)


def model_digest(model: Any) -> str:
    """SHA-256 of a model's config and weights: the same for any copy of its file, for the model
    in memory (a :class:`~motifscan.model.MotifCNN`) and for its :class:`ModelFile` (what a null
    file or a shard manifest records to refuse another model)."""
    if isinstance(model, ModelFile):
        weights: Mapping[str, np.ndarray] = model.weights
    else:
        weights = {k: v.detach().cpu().contiguous().numpy() for k, v in model.state_dict().items()}
    h = hashlib.sha256()
    h.update(json.dumps(asdict(model.config), sort_keys=True, default=str).encode())
    for key, value in sorted(weights.items()):
        h.update(key.encode())
        h.update(np.ascontiguousarray(value).tobytes())
    return h.hexdigest()


# Far above any real motif model (64 filters x 19 bp is ~5,000), far below what exhausts memory.
MAX_PARAMETERS = 1 << 27

#: The largest value of each model dimension a model file may ask for: far above any motif model
#: (tens to hundreds of filters of width 10-30 on windows of 100-1,000 bp), far below what would
#: exhaust memory when scanning (each dimension alone scales a scan's buffers).
MAX_DIMENSIONS = {
    "seq_length": 100_000,
    "n_filters": 16_384,
    "filter_width": 1_000,
    "hidden": 16_384,
    "tasks": 10_000,
}

#: The largest text attribute (config, metrics, provenance) read from a model file, in bytes.
MAX_ATTRIBUTE_BYTES = 16 << 20

_NAME_FORBIDDEN = re.compile(r"[/\\\x00-\x1f\x7f]")


def check_task_names(tasks) -> list[str]:
    """``tasks`` as a list if every name is usable in column and file names, else ``ValueError``.

    The rule: at least one task; every name a non-empty string, not ``.`` or ``..``, without a
    path separator (``/`` or ``\\``) or a control character (tab, newline, ...), and no name twice
    (two tasks of one name would write one file).
    """
    if isinstance(tasks, (str, bytes)) or not isinstance(tasks, (list, tuple)) or not tasks:
        raise ValueError("a model needs a list of one or more task names")
    seen: set[str] = set()
    for name in tasks:
        if not isinstance(name, str) or name in ("", ".", "..") or _NAME_FORBIDDEN.search(name):
            raise ValueError(f"task name {name!r} is not usable in column and file names "
                             "(empty, '.', '..', a path separator or a control character)")
        if name in seen:
            raise ValueError(f"task name {name!r} is given twice (two tasks would write one file)")
        seen.add(name)
    return list(tasks)


def _config(raw, path) -> ModelConfig:
    """The :class:`ModelConfig` a file's ``config`` attribute describes, refused (one line) when a
    dimension is out of :data:`MAX_DIMENSIONS` or a task name is unusable; before any allocation."""
    if not isinstance(raw, dict):
        raise ModelFileError("model config is not a JSON object", path=path)
    for key, limit in MAX_DIMENSIONS.items():
        value = raw.get(key)
        if key == "tasks":
            try:
                check_task_names(value if value is not None else ["bound"])
            except ValueError as exc:
                raise ModelFileError(str(exc), path=path) from None
            value = len(value) if value is not None else 1
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= limit:
            raise ModelFileError(f"model config {key} = {value!r} is out of range (0 to {limit:,})", path=path)
    try:
        return ModelConfig(**raw)
    except (TypeError, ValueError) as exc:
        raise ModelFileError(f"model config is not valid ({exc})", path=path) from None


class _Attributes:
    """Root attributes of a model file, read one by name (never all: a stranger's file may carry
    a huge unused attribute), each refused above :data:`MAX_ATTRIBUTE_BYTES`."""

    def __init__(self, h5, path) -> None:
        self._attrs, self._path = h5.attrs, path

    def get(self, name: str, default=None):
        if name not in self._attrs:
            return default
        size = self._attrs.get_id(name).get_storage_size()
        if size > MAX_ATTRIBUTE_BYTES:
            raise ModelFileError(f"model attribute {name!r} is {size:,} bytes (at most {MAX_ATTRIBUTE_BYTES:,})",
                                 path=self._path)
        return self._attrs[name]

    def __getitem__(self, name: str):
        value = self.get(name)
        if value is None:
            raise KeyError(name)
        return value


def _check_finite(weights: Mapping[str, np.ndarray], path) -> None:
    """Refuse NaN or infinite weights: they make every score NaN or saturated without a word."""
    for key, value in weights.items():
        finite = np.isfinite(value)
        if not finite.all():
            bad = int((~finite).sum())
            raise ModelFileError(f"weights/{key} has {plural(bad, 'non-finite value', commas=True)} (NaN or inf)", path=path,
                                 hint="the model diverged in training or the file was damaged; retrain")


def _check_shapes(config: ModelConfig, group, path) -> None:
    """Refuse weights that do not match ``config``, or a config too large to build, reading shapes only."""
    expected = state_shapes(config)
    total = sum(int(np.prod(s)) for s in expected.values())
    if total > MAX_PARAMETERS:
        raise ModelFileError(f"model config asks for {total:,} parameters (at most {MAX_PARAMETERS:,})", path=path)
    found = {k: tuple(getattr(group[k], "shape", ()) or ()) for k in group}
    if found != expected:
        diff = sorted(k for k in set(found) | set(expected) if found.get(k) != expected.get(k))
        raise ModelFileError(
            f"weights do not fit the model config ({diff[0]}: {found.get(diff[0])} in the file, "
            f"{expected.get(diff[0])} expected)",
            path=path,
        )


def _text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        return value.decode("utf-8")
    return str(value)
