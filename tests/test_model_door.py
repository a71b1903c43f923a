"""The one door to a model's parts: ``model.bank()`` and ``model.head_params()`` give what the fast
paths compute with, and every fast path refuses, with one ModelFileError, an architecture it does not
reproduce (it would otherwise scan it silently wrong)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from motifscan.errors import ModelFileError
from motifscan.model import ModelConfig, MotifCNN


def _model(hidden: int = 0) -> MotifCNN:
    torch.manual_seed(0)
    return MotifCNN(ModelConfig(n_filters=6, filter_width=5, seq_length=40, hidden=hidden, tasks=["a", "b"])).eval()


class MeanPooled(MotifCNN):
    """Average pooling instead of max: the window-max scans would compute something else."""

    def pool(self, x):
        fwd, _ = self.strand_activations(x)
        return fwd.mean(dim=-1)


def _dilated():
    m = _model()
    m.conv = nn.Conv1d(4, 6, 5, dilation=2)
    return m


def _no_bias():
    m = _model()
    m.conv = nn.Conv1d(4, 6, 5, bias=False)
    return m


def _sigmoid_head():
    m = _model()
    m.head = nn.Sequential(nn.Dropout(0.2), nn.Linear(6, 2), nn.Sigmoid())
    return m


# each foreign architecture, and the parts of the model it changes
FOREIGN = {
    "mean pooling": (lambda: MeanPooled(ModelConfig(n_filters=6, filter_width=5, seq_length=40, tasks=["a", "b"])),
                     {"bank", "head"}),
    "dilated conv": (_dilated, {"bank"}),
    "conv without bias": (_no_bias, {"bank"}),
    "head with a sigmoid": (_sigmoid_head, {"head"}),
}


def _scanner(m):
    from motifscan.scan.model_scan import ModelScanner
    return ModelScanner(m)


def _mutations(m):
    from motifscan.kernels.mutations import MutationScorer
    return MutationScorer(m)


def _weight_motifs(m):
    from motifscan.motifs.extract import weight_motifs
    return weight_motifs(m)


def _activation_motifs(m):
    from motifscan.motifs.extract import activation_motifs
    return activation_motifs(m, [np.random.default_rng(0).integers(0, 4, 40).astype(np.uint8)])


def _pooled(m):
    from motifscan.motifs.extract import pooled_outputs
    return pooled_outputs(m, [np.zeros(40, np.uint8)])


def _influence(m):
    from motifscan.motifs.influence import filter_influence
    return filter_influence(m, np.ones((3, 6), np.float32))


def _export(m, tmp_path):
    from motifscan.motifs.export import export_motifs
    return export_motifs(m, tmp_path / "m.meme")


# each fast path, and the parts of the model it reads
FAST_PATHS = {"scan": (_scanner, {"bank", "head"}), "mutations (variants, ISM)": (_mutations, {"bank", "head"}),
              "weight motifs": (_weight_motifs, {"bank"}), "activation motifs": (_activation_motifs, {"bank"}),
              "pooled outputs": (_pooled, {"bank"}), "influence": (_influence, {"head"})}


def test_the_door_gives_the_models_parts():
    for hidden in (0, 3):
        m = _model(hidden)
        bank, head = m.bank(), m.head_params()
        assert torch.equal(bank.weight, m.conv.weight) and torch.equal(bank.bias, m.conv.bias)
        assert (bank.width, bank.n_filters, bank.rc_sharing) == (5, 6, True)
        assert head.module is m.head and head.is_linear == (hidden == 0)
        assert [lin.out_features for lin in head.linears] == ([3, 2] if hidden else [2])
        pooled = torch.rand(4, 6)
        assert torch.equal(head.module(pooled), m.forward_pooled(pooled))
        with pytest.raises(Exception):  # frozen
            bank.width = 7


@pytest.mark.parametrize("path", FAST_PATHS)
@pytest.mark.parametrize("arch", FOREIGN)
def test_every_fast_path_refuses_another_architecture(arch, path):
    """A path refuses a model whose changed parts it reads, and computes on the parts it does not read."""
    (build, changed), (run, reads) = FOREIGN[arch], FAST_PATHS[path]
    if changed & reads:
        with pytest.raises(ModelFileError, match="model architecture not supported"):
            run(build())
    else:
        run(build())


@pytest.mark.parametrize("arch", FOREIGN)
def test_export_refuses_another_architecture(arch, tmp_path):
    with pytest.raises(ModelFileError, match="model architecture not supported"):
        _export(FOREIGN[arch][0](), tmp_path)
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("path", FAST_PATHS)
def test_the_trained_architecture_passes_every_fast_path(path):
    FAST_PATHS[path][0](_model())
