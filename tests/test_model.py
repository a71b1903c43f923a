import json
import pickle
import subprocess
import sys

import h5py
import numpy as np
import pytest
import torch

from motifscan.errors import ModelFileError
from motifscan.model import FORMAT_VERSION, ModelConfig, MotifCNN, load_model, save_model
from motifscan.codes import one_hot_torch, reverse_complement


@pytest.fixture
def model():
    torch.manual_seed(0)
    m = MotifCNN(ModelConfig(n_filters=16, filter_width=9, seq_length=60, hidden=8))
    m.metrics = {"test": {"auroc": 0.9}}
    m.provenance = {"seed": 0}
    return m.eval()


@pytest.fixture
def codes():
    return np.random.default_rng(0).integers(0, 5, (32, 60), dtype=np.uint8)


def test_strand_symmetry_is_exact(model, codes, device):
    model.to(device)
    x = torch.from_numpy(codes).to(device)
    xr = torch.from_numpy(reverse_complement(codes)).to(device)
    with torch.no_grad():
        assert torch.equal(model(one_hot_torch(x)), model(one_hot_torch(xr)))


def test_without_rc_sharing_strands_differ(codes):
    torch.manual_seed(0)
    m = MotifCNN(ModelConfig(n_filters=16, filter_width=9, seq_length=60, rc_sharing=False)).eval()
    with torch.no_grad():
        a = m(one_hot_torch(torch.from_numpy(codes)))
        b = m(one_hot_torch(torch.from_numpy(reverse_complement(codes))))
    assert not torch.allclose(a, b)


def test_reverse_activations_align_with_forward_coordinates(model, codes):
    x = one_hot_torch(torch.from_numpy(codes))
    with torch.no_grad():
        fwd, rev = model.strand_activations(x)
        p, w = 7, model.config.filter_width
        window = torch.from_numpy(reverse_complement(codes[:, p : p + w]))
        expect = torch.relu(model.conv(one_hot_torch(window)))[..., 0]
    assert torch.allclose(rev[..., p], expect, atol=1e-5)
    assert fwd.shape == rev.shape == (32, 16, 60 - w + 1)


def test_save_load_gives_identical_outputs(model, codes, tmp_path):
    path = save_model(model, tmp_path / "m.h5")
    loaded = load_model(path)
    assert loaded.config == model.config
    assert loaded.metrics == model.metrics and loaded.provenance == model.provenance
    x = one_hot_torch(torch.from_numpy(codes))
    with torch.no_grad():
        assert torch.equal(loaded(x), model(x))
    with h5py.File(path) as h5:
        assert h5.attrs["format_version"] == FORMAT_VERSION
        assert "weights/conv.weight" in h5


class _Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_pickle_renamed_h5_is_refused_without_running(tmp_path):
    marker = tmp_path / "PWNED"
    path = tmp_path / "evil.h5"
    path.write_bytes(pickle.dumps(_Payload(str(marker))))
    with pytest.raises(ModelFileError, match="not an HDF5 model"):
        load_model(path)
    assert not marker.exists()


def test_torch_checkpoint_is_refused(tmp_path, model):
    path = tmp_path / "ckpt.h5"
    torch.save(model.state_dict(), path)
    with pytest.raises(ModelFileError, match="not an HDF5"):
        load_model(path)


def test_unknown_version_and_foreign_hdf5_refused(tmp_path, model):
    path = save_model(model, tmp_path / "m.h5")
    with h5py.File(path, "a") as h5:
        h5.attrs["format_version"] = FORMAT_VERSION + 1
    with pytest.raises(ModelFileError, match="unknown model format version"):
        load_model(path)
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as h5:
        h5["x"] = np.zeros(3)
    with pytest.raises(ModelFileError, match="not a motifscan model"):
        load_model(other)


def test_truncated_model_refused(tmp_path, model):
    path = save_model(model, tmp_path / "m.h5")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFileError):
        load_model(path)


def test_weights_that_do_not_fit_config_refused(tmp_path, model):
    path = save_model(model, tmp_path / "m.h5")
    with h5py.File(path, "a") as h5:
        cfg = json.loads(h5.attrs["config"])
        cfg["n_filters"] = 4
        h5.attrs["config"] = json.dumps(cfg)
    with pytest.raises(ModelFileError, match="do not fit"):
        load_model(path)


def test_cli_refuses_pickle_with_one_line(tmp_path):
    marker = tmp_path / "PWNED"
    path = tmp_path / "evil.h5"
    path.write_bytes(pickle.dumps(_Payload(str(marker))))
    seqs = tmp_path / "s.fa"
    seqs.write_text(">a\n" + "ACGT" * 50 + "\n")
    out = subprocess.run(
        [sys.executable, "-m", "motifscan", "evaluate", str(path), str(seqs), "-o", str(tmp_path / "ev")],
        capture_output=True, text=True,
    )
    assert out.returncode == 1
    assert out.stderr.strip().splitlines()[-1].startswith("motifscan: error: ")
    assert "evil.h5" in out.stderr and "Traceback" not in out.stderr
    assert not marker.exists() and not (tmp_path / "ev").exists()
