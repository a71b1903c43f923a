"""The shared-filter CNN and its HDF5 model file.

Architecture: a bank of ``n_filters`` convolution filters of width ``filter_width`` shared across
every position -> ReLU -> global max pooling -> dropout -> (optional hidden layer) -> linear head
with one logit per task.

Reverse-complement parameter sharing (``rc_sharing``, on by default): the same filters also scan
the reverse complement, and each filter's pooled output is the max over both strands. The
reverse strand is computed by running the *same* convolution over the reverse-complemented
input, so ``score(x)`` and ``score(revcomp(x))`` take the max of the same two numbers and are
equal exactly, not just to rounding.

Model files are HDF5 only: datasets for weights, JSON attributes for the config, metrics and
provenance, and a format version that :func:`load_model` checks. Nothing is ever unpickled.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ._version import __version__
from .atomic import atomic_path
from .codes import ALPHABET, one_hot_torch
from .errors import ModelFileError

__all__ = ["ModelConfig", "MotifCNN", "save_model", "load_model", "file_sha256", "FORMAT_NAME", "FORMAT_VERSION"]

FORMAT_NAME = "motifscan-model"
FORMAT_VERSION = 1


@dataclass
class ModelConfig:
    """Architecture and input contract of a :class:`MotifCNN`.

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


class MotifCNN(nn.Module):
    """Shared-filter 1D CNN over one-hot DNA (channel order ``A, C, G, T``).

    Attributes set by :func:`load_model` / training: ``metrics`` and ``provenance`` (dicts);
    ``source``: the file it was loaded from (``None`` for a model built in memory), so that a job
    can refuse an output that would overwrite it.
    """

    def __init__(self, config: ModelConfig | None = None, **kwargs: Any) -> None:
        super().__init__()
        self.config = config or ModelConfig(**kwargs)
        c = self.config
        self.conv = nn.Conv1d(4, c.n_filters, c.filter_width)
        layers: list[nn.Module] = [nn.Dropout(c.dropout)]
        width = c.n_filters
        if c.hidden:
            layers += [nn.Linear(width, c.hidden), nn.ReLU(), nn.Dropout(c.dropout)]
            width = c.hidden
        layers.append(nn.Linear(width, len(c.tasks)))
        self.head = nn.Sequential(*layers)
        self.metrics: dict[str, Any] = {}
        self.provenance: dict[str, Any] = {}
        self.source: Path | None = None

    # -- building blocks shared by training, scanning and export ------------------------------
    def strand_activations(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Filter activations (after ReLU) on each strand.

        Parameters
        ----------
        x
            One-hot input, ``(B, 4, L)``.

        Returns
        -------
        forward, reverse
            ``(B, F, L - W + 1)`` each. ``reverse[..., p]`` is the filter applied to the reverse
            complement of ``x[..., p:p+W]`` (aligned to forward coordinates); ``None`` without
            RC sharing.
        """
        if not self.config.rc_sharing:
            return torch.relu(self.conv(x)), None
        both = torch.relu(self.conv(torch.cat([x, x.flip((1, 2))], dim=0)))
        fwd, rev = both.chunk(2, dim=0)
        return fwd, rev.flip(-1)

    def pool(self, x: torch.Tensor) -> torch.Tensor:
        """Global max pooled filter outputs, ``(B, F)`` (max over positions and strands)."""
        fwd, rev = self.strand_activations(x)
        pooled = fwd.amax(dim=-1)
        if rev is not None:
            pooled = torch.maximum(pooled, rev.amax(dim=-1))
        return pooled

    def forward_pooled(self, pooled: torch.Tensor) -> torch.Tensor:
        """Logits ``(B, T)`` from pooled filter outputs ``(B, F)``."""
        return self.head(pooled)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``(B, T)`` for one-hot input ``(B, 4, L)``."""
        return self.forward_pooled(self.pool(x))

    @torch.no_grad()
    def predict_codes(self, codes: np.ndarray, *, batch_size: int = 256, device=None) -> np.ndarray:
        """Probabilities ``(N, T)`` for equal-length uint8 code sequences ``(N, L)``."""
        device = torch.device(device) if device is not None else next(self.parameters()).device
        was_training = self.training
        self.eval()
        out = []
        try:
            for i in range(0, len(codes), batch_size):
                batch = torch.from_numpy(np.ascontiguousarray(codes[i : i + batch_size])).to(device)
                out.append(torch.sigmoid(self(one_hot_torch(batch))).float().cpu().numpy())
        finally:
            self.train(was_training)
        return np.concatenate(out) if out else np.zeros((0, len(self.config.tasks)), np.float32)


def _json_default(obj):
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating,)):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def file_sha256(path: str | os.PathLike) -> str:
    """SHA-256 of a file's bytes: how a model's provenance records its training inputs."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def save_model(model: MotifCNN, path: str | os.PathLike) -> Path:
    """Write ``model`` to an HDF5 file (atomically).

    Layout: root attributes ``format``, ``format_version``, ``motifscan_version``, ``alphabet``,
    ``config``, ``metrics`` and ``provenance`` (the last three JSON text); group ``weights`` with
    one float32 dataset per parameter, named as in ``state_dict``.
    """
    import h5py

    path = Path(path)
    # Damage is caught by checksums, not parsed: the HDF5 1.10 format checksums all metadata,
    # text attributes are fixed-length (kept in the checksummed object header, not the
    # unchecksummed global heap, where a flipped byte can hang libhdf5), and every dataset has a
    # Fletcher-32 checksum. Any HDF5 >= 1.10 reads the file.
    # The file is built in memory (libhdf5's core driver: the same bytes as on disk) and written
    # with one plain write: on a full disk that is a clean OSError naming the file, where libhdf5
    # writing itself fails half-way and can crash the interpreter as it cleans up (exit 139).
    with h5py.File(f"{path}.in-memory", "w", libver=("v110", "v110"), driver="core", backing_store=False) as h5:
        h5.attrs["format"] = _fixed(FORMAT_NAME)
        h5.attrs["format_version"] = FORMAT_VERSION
        h5.attrs["motifscan_version"] = _fixed(__version__)
        h5.attrs["alphabet"] = _fixed(ALPHABET)
        h5.attrs["config"] = _fixed(json.dumps(asdict(model.config)))
        h5.attrs["metrics"] = _fixed(json.dumps(model.metrics, default=_json_default))
        h5.attrs["provenance"] = _fixed(json.dumps(model.provenance, default=_json_default))
        weights = h5.create_group("weights")
        for key, tensor in model.state_dict().items():
            weights.create_dataset(key, data=tensor.detach().cpu().float().numpy(), fletcher32=True)
        h5.flush()
        image = h5.id.get_file_image()
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        fh.write(image)
    return path


def _fixed(text: str) -> np.bytes_:
    """A fixed-length UTF-8 string attribute value."""
    return np.bytes_(text.encode("utf-8"))


def load_model(path: str | os.PathLike, device: str | torch.device | None = None) -> MotifCNN:
    """Load a model written by :func:`save_model`, reading data only (never unpickling).

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
            attrs = dict(h5.attrs)
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
            config = ModelConfig(**json.loads(_text(attrs["config"])))
            metrics = json.loads(_text(attrs.get("metrics", "{}")))
            provenance = json.loads(_text(attrs.get("provenance", "{}")))
            if "weights" not in h5:
                raise ModelFileError("model file has no 'weights' group", path=path)
            _check_shapes(config, h5["weights"], path)  # before any allocation: a stranger's file may lie
            state = {k: torch.from_numpy(np.asarray(h5["weights"][k][()], dtype=np.float32)) for k in h5["weights"]}
    except ModelFileError:
        raise
    except (OSError, KeyError, ValueError, TypeError, RuntimeError, json.JSONDecodeError) as exc:
        # h5py raises RuntimeError for some damaged structures (e.g. attribute heaps)
        raise ModelFileError(f"truncated or corrupt model file ({exc})", path=path) from None
    try:
        model = MotifCNN(config)
        model.load_state_dict(state, strict=True)
    except (RuntimeError, TypeError, ValueError) as exc:
        first = str(exc).splitlines()[0]
        raise ModelFileError(f"weights do not fit the model config ({first})", path=path) from None
    model.metrics, model.provenance = metrics, provenance
    model.source = path
    model.eval()
    if device is not None:
        model.to(device)
    return model


# Far above any real motif model (64 filters x 19 bp is ~5,000), far below what exhausts memory.
MAX_PARAMETERS = 1 << 27


def _check_shapes(config: ModelConfig, group, path) -> None:
    """Refuse weights that do not match ``config``, or a config too large to build, reading shapes only."""
    with torch.device("meta"):  # shapes without memory
        expected = {k: tuple(v.shape) for k, v in MotifCNN(config).state_dict().items()}
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
