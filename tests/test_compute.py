"""One rule per choice: device x convolution method x precision (and the motif search) is resolved
by :func:`motifscan.kernels.methods.resolve_compute` for every command, with the outcome of its
documented table, logged once and never before an argument error.

A CUDA device is injected on the CPU by replacing the resolver's device probe; the resolver's one
log line is replaced by a stop, so each command ends right after choosing (nothing runs on the
injected device)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from motifscan.cli import _main as main
from motifscan.errors import MotifscanError, UsageError
from motifscan.io.motif_formats import write_motifs
from motifscan.kernels import methods
from motifscan.kernels.methods import CONV_METHODS, PRECISIONS, conv_method, motif_method
from motifscan.model import ModelConfig, MotifCNN, save_model
from motifscan.motifs.pwm import Motif

from conftest import write_fasta

ERROR = 2  # the outcome "usage error, exit 2"

#: The documented table (kernels/methods.py) on a CPU in fp32, per job and method.
CPU_FP32 = {
    "scan": {"auto": "fused", "fused": "fused", "table": "table", "dense": "dense"},
    "substitutions": {"auto": "table", "fused": "table", "table": "table", "dense": "dense"},
    "export": {"auto": "dense", "fused": "table", "table": "table", "dense": "dense"},
}


@pytest.mark.parametrize("job", ["scan", "substitutions", "export"])
@pytest.mark.parametrize("device", ["cpu", "cuda", "mps"])
@pytest.mark.parametrize("method", CONV_METHODS)
@pytest.mark.parametrize("precision", PRECISIONS)
def test_the_table(job, device, method, precision):
    """Every combination has one outcome: a method, or a usage error."""
    if job != "scan" and precision != "fp32":
        expected = ERROR  # only scans have --precision
    elif method in ("fused", "table") and (device != "cpu" or precision != "fp32"):
        expected = ERROR  # the k-mer table is CPU fp32 code
    elif device == "cpu" and precision == "fp32":
        expected = CPU_FP32[job][method]
        if job == "export":
            expected = "dense"  # export has one method: the model's own convolution
    else:
        expected = "dense"
    if job == "export" and method in ("fused", "table") and expected != ERROR:
        expected = "dense"
    if expected == ERROR:
        with pytest.raises(UsageError):
            conv_method(job, device, method, precision)
    else:
        assert conv_method(job, device, method, precision) == expected


@pytest.mark.parametrize("device", ["cpu", "cuda", "mps"])
def test_motif_search(device):
    assert motif_method("auto", device) == ("dense" if device == "cuda" else "lookahead")
    assert motif_method("lookahead", device) == "lookahead" and motif_method("dense", device) == "dense"
    with pytest.raises(UsageError):
        motif_method("fast", device)


# ---------------------------------------------------------------------------------- through the CLI
class _Stop(MotifscanError):
    """Raised where the resolver would log its choice: the command stops right after choosing."""

    exit_code = 99


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("compute")
    torch.manual_seed(0)
    save_model(MotifCNN(ModelConfig(n_filters=4, filter_width=7, seq_length=40)).eval(), d / "m.h5")
    rng = np.random.default_rng(0)
    genome = "".join("ACGT"[i] for i in rng.integers(0, 4, 600))
    write_fasta(d / "g.fa", ["chr1"], [genome])
    write_fasta(d / "s.fa", ["a", "b"], [genome[:40], genome[100:140]])
    lines = ["##fileformat=VCFv4.2", "##contig=<ID=chr1,length=600>", "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO"]
    for pos in (100, 250, 400):
        ref = genome[pos - 1]
        lines.append(f"chr1\t{pos}\t.\t{ref}\t{'A' if ref != 'A' else 'C'}\t.\t.\t.")
    (d / "v.vcf").write_text("\n".join(lines) + "\n")
    write_motifs([Motif("M1", np.eye(4)[[0, 1, 2, 3, 0, 1, 2, 3, 3, 2, 1, 0]] * 0.9 + 0.025)], d / "m.meme")
    return d


def _commands(d, out):
    """Each command that computes, as (name, argv without the method option, method option)."""
    m, g = str(d / "m.h5"), str(d / "g.fa")
    return {
        "scan": (["scan", m, g, "-o", str(out / "x.bedGraph")], "--conv-method"),
        "variants": (["variants", m, str(d / "v.vcf"), "--genome", g, "-o", str(out / "x.tsv")], "--conv-method"),
        "attribute": (["attribute", m, str(d / "s.fa"), "-o", str(out / "x.npz")], "--conv-method"),
        "export": (["export", m, "-o", str(out / "x.meme")], None),
        "scan motifs": (["scan", str(d / "m.meme"), g, "-o", str(out / "x.tsv")], "--motif-method"),
        "variants motifs": (["variants", str(d / "m.meme"), str(d / "v.vcf"), "--genome", g, "-o",
                             str(out / "x.tsv")], "--motif-method"),
    }


#: The outcome on a CUDA device of each command x method (the table's row for cuda, fp32).
ON_CUDA = {"auto": "dense", "fused": ERROR, "table": ERROR, "dense": "dense"}
ON_CUDA_MOTIFS = {"auto": "dense", "lookahead": "lookahead", "dense": "dense"}
ON_CPU = {"scan": CPU_FP32["scan"], "variants": CPU_FP32["substitutions"], "attribute": CPU_FP32["substitutions"]}
ON_CPU_MOTIFS = {"auto": "lookahead", "lookahead": "lookahead", "dense": "dense"}

CASES = [(cmd, dev, meth) for dev in ("cpu", "cuda")
         for cmd in ("scan", "variants", "attribute") for meth in CONV_METHODS] + \
        [(cmd, dev, meth) for dev in ("cpu", "cuda") for cmd in ("scan motifs", "variants motifs")
         for meth in ("auto", "lookahead", "dense")] + [("export", dev, None) for dev in ("cpu", "cuda")]


@pytest.mark.parametrize("command,device,method", CASES)
def test_every_command_and_method(files, tmp_path, monkeypatch, capsys, command, device, method):
    if device == "cuda":  # the injected device
        monkeypatch.setattr(methods, "probe_device", lambda spec: (torch.device("cuda"), "cuda (injected)"))
    chosen = []

    def stop(line):
        chosen.append(line)
        raise _Stop("chosen")

    monkeypatch.setattr(methods, "_announce", stop)
    argv, option = _commands(files, tmp_path)[command]
    code = main(argv + ([option, method] if option else []) + ["--device", "auto"])
    err = capsys.readouterr().err
    if command == "export":
        expected = "dense"
    elif command.endswith("motifs"):
        expected = (ON_CUDA_MOTIFS if device == "cuda" else ON_CPU_MOTIFS)[method]
    else:
        expected = ON_CUDA[method] if device == "cuda" else ON_CPU[command][method]
    if expected == ERROR:
        assert code == 2, err
        assert f"--conv-method {method} runs on CPU in fp32 only" in err
        assert err.count("\n") == 1 and not chosen, err  # one line, and no device line before it
    else:
        assert code == 99, err
        (line,) = chosen
        what = "motif search" if command.endswith("motifs") else "convolution"
        assert line.startswith(f"device: {'cuda (injected)' if device == 'cuda' else 'cpu'}")
        assert line.endswith(f"{what}: {expected}"), line
    assert not list(tmp_path.iterdir())  # nothing written


@pytest.mark.parametrize("command", ["scan", "variants", "attribute", "export", "scan motifs"])
def test_device_is_logged_once(files, tmp_path, capsys, command):
    argv, _ = _commands(files, tmp_path)[command]
    assert main(argv + ["--device", "cpu", "--threads", "1"]) == 0
    err = capsys.readouterr().err
    assert err.count("device: ") == 1, err


@pytest.mark.parametrize("command", ["scan", "variants", "attribute"])
def test_no_device_line_before_an_argument_error(files, tmp_path, capsys, command):
    argv, _ = _commands(files, tmp_path)[command]
    bad = {"scan": ["--window", "3"], "variants": ["--window", "3"], "attribute": ["--length", "3"]}[command]
    assert main(argv + bad + ["--device", "cpu"]) == 2
    err = capsys.readouterr().err
    assert "device:" not in err and err.count("\n") == 1, err
