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
provenance, and a format version that :func:`load_model` checks. Nothing is ever unpickled. The
file is read and checked without torch in :mod:`motifscan.model_file` (the CPU scan's way in);
here it becomes the torch module.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ._version import __version__
from .atomic import atomic_path
from .codes import ALPHABET, one_hot_torch
from .errors import ModelFileError
from .model_file import (FORMAT_NAME, FORMAT_VERSION, MAX_ATTRIBUTE_BYTES, MAX_DIMENSIONS, MAX_PARAMETERS, ModelConfig,
                         ModelFile, check_task_names, model_digest, read_model_file, state_shapes)

__all__ = ["ModelConfig", "MotifCNN", "FilterBank", "HeadParams", "save_model", "load_model", "model_from_file",
           "file_sha256", "model_digest", "check_task_names", "state_shapes", "FORMAT_NAME", "FORMAT_VERSION",
           "MAX_PARAMETERS", "MAX_DIMENSIONS", "MAX_ATTRIBUTE_BYTES"]


@dataclass(frozen=True)
class FilterBank:
    """The model's filter bank, as every fast path (scans, variants, ISM, export) reads it.

    Attributes
    ----------
    weight
        ``(F, 4, W)`` float32, detached (on the model's device); channel order ``A, C, G, T``.
    bias
        ``(F,)`` float32, detached.
    width, n_filters
        ``W`` and ``F``.
    rc_sharing
        Strand pairing: the reverse strand runs through the same weights (the reverse complement
        of filter ``f`` is ``flip(weight[f])``) and each filter's output is the max over strands.
    """

    weight: torch.Tensor
    bias: torch.Tensor
    width: int
    n_filters: int
    rc_sharing: bool


@dataclass(frozen=True)
class HeadParams:
    """The model's head over the pooled filters: ``(B, F)`` after ReLU -> logits ``(B, T)``.

    Attributes
    ----------
    module
        The head itself (dropout, an optional hidden ``Linear -> ReLU -> Dropout``, then one
        ``Linear``); callers copy it before changing its device or dtype.
    linears
        Its ``Linear`` layers in order: one for a linear head, two with a hidden layer.
    """

    module: nn.Sequential
    linears: tuple[nn.Linear, ...]

    @property
    def is_linear(self) -> bool:
        """True when the logits are one affine map of the pooled filters (no hidden layer)."""
        return len(self.linears) == 1


# the methods that define what a fast path computes: a subclass that overrides one is another model
_FORWARD_PATH = ("strand_activations", "pool", "forward_pooled", "forward")


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

    # -- the one door to the model's parts, for every fast path -------------------------------
    def bank(self) -> FilterBank:
        """The filter bank (weights, bias, width, strand pairing), checked to be what the fast paths compute.

        Raises
        ------
        ModelFileError
            The model is not the architecture the fast paths reproduce: a convolution with
            stride, padding, dilation, groups or no bias, another layer in its place, or a
            subclass with its own forward path.
        """
        self._check_forward_path()
        conv, c = self.conv, self.config
        if type(conv) is not nn.Conv1d:
            self._refuse(f"its filter bank is a {type(conv).__name__}, not a Conv1d")
        plain = (conv.in_channels == 4 and conv.out_channels == c.n_filters
                 and tuple(conv.kernel_size) == (c.filter_width,) and tuple(conv.stride) == (1,)
                 and conv.padding in ((0,), "valid") and tuple(conv.dilation) == (1,) and conv.groups == 1
                 and conv.bias is not None and conv.padding_mode == "zeros")
        if not plain:
            self._refuse(f"its convolution is {conv!r}, not Conv1d(4, {c.n_filters}, {c.filter_width}) with a bias")
        return FilterBank(conv.weight.detach(), conv.bias.detach(), c.filter_width, c.n_filters, c.rc_sharing)

    def head_params(self) -> HeadParams:
        """The head over the pooled filters, checked to be dropout, an optional hidden layer and one ``Linear``.

        Raises
        ------
        ModelFileError
            The head has other layers (or another order) than the fast paths reproduce.
        """
        self._check_forward_path()
        c, head = self.config, self.head
        kinds = [type(m) for m in head] if type(head) is nn.Sequential else [type(head)]
        expected = [nn.Dropout] + ([nn.Linear, nn.ReLU, nn.Dropout] if c.hidden else []) + [nn.Linear]
        if kinds != expected:
            self._refuse("its head is " + " -> ".join(k.__name__ for k in kinds) + ", not "
                         + " -> ".join(k.__name__ for k in expected))
        linears = tuple(m for m in head if isinstance(m, nn.Linear))
        if linears[0].in_features != c.n_filters or linears[-1].out_features != len(c.tasks):
            self._refuse(f"its head maps {linears[0].in_features} inputs to {linears[-1].out_features} logits, "
                         f"not {c.n_filters} filters to {len(c.tasks)} tasks")
        return HeadParams(head, linears)

    def _check_forward_path(self) -> None:
        changed = [name for name in _FORWARD_PATH if getattr(type(self), name) is not getattr(MotifCNN, name)]
        if changed:
            self._refuse(f"{type(self).__name__} has its own {', '.join(changed)}")

    def _refuse(self, why: str) -> None:
        raise ModelFileError(f"model architecture not supported by motifscan's scans: {why}",
                             hint="give a model written by 'motifscan train'")

    def filter_names(self) -> list[str]:
        """Names of the filters in hit files, TSVs and exported motifs: ``filter0 .. filter{F-1}``."""
        return [f"filter{i}" for i in range(self.config.n_filters)]

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
    try:
        check_task_names(model.config.tasks)
    except ValueError as exc:
        raise ModelFileError(f"cannot write the model: {exc}", path=path) from None
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

    The file is read and checked by :func:`motifscan.model_file.read_model_file`.

    Raises
    ------
    ModelFileError
        The file is missing, not HDF5 (a pickle or torch checkpoint renamed ``.h5``, say),
        truncated, not a motifscan model, of an unknown format version, or inconsistent.
    """
    return model_from_file(read_model_file(path), device)


def model_from_file(file: ModelFile, device: str | torch.device | None = None) -> MotifCNN:
    """The :class:`MotifCNN` of a read model file, in eval mode, on ``device`` (default: the CPU)."""
    state = {k: torch.from_numpy(v) for k, v in file.weights.items()}
    try:
        model = MotifCNN(file.config)
        model.load_state_dict(state, strict=True)
    except (RuntimeError, TypeError, ValueError) as exc:
        first = str(exc).splitlines()[0]
        raise ModelFileError(f"weights do not fit the model config ({first})", path=file.source) from None
    model.metrics, model.provenance = file.metrics, file.provenance
    model.source = file.source
    model.eval()
    if device is not None:
        model.to(device)
    return model
