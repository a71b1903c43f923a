"""A model scan on the CPU runs without torch: the model file read as numpy
(motifscan.model_file), the fused window scan and its linear head on those arrays, the device
chosen without asking torch (motifscan.device), each command's module imported when it runs
(cli._base._Commands). The outputs are the bytes the torch route writes, and every other route
(records, hits, a hidden layer, other methods) still loads torch and builds the module itself."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

from conftest import write_fasta
from motifscan.device import cpu_threads, device_type, probe_device
from motifscan.model import MotifCNN, ModelConfig, load_model, model_digest, model_from_file, save_model
from motifscan.model_file import read_model_file, state_shapes
from motifscan.scan.batching import iter_batches
from motifscan.scan.model_scan import ModelScanner
from motifscan.scan.options import OutputOptions, WindowOptions
from motifscan.scan.run import scan_model
from motifscan.scan.sources import FastaSource
from scan_helpers import engine_windows, motif_model, random_model

# Runs a command in a fresh interpreter where importing torch fails, and says whether it was asked for.
NO_TORCH = textwrap.dedent("""
    import sys
    class Refuse:
        def find_spec(self, name, path=None, target=None):
            if name == "torch" or name.startswith("torch."):
                raise ImportError("torch asked for by a CPU scan")
    sys.meta_path.insert(0, Refuse())
    from motifscan.cli._base import main
    sys.exit(main(sys.argv[1:]))
""")


def _no_torch(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", NO_TORCH, *args], capture_output=True, text=True, timeout=600)


@pytest.fixture
def files(tmp_path):
    rng = np.random.default_rng(7)
    model = motif_model(seq_length=60)
    model_path = save_model(model, tmp_path / "m.h5")
    seqs = ["".join(rng.choice(list("ACGT"), n)) for n in (5000, 1200, 59, 3000)]
    seqs[0] = seqs[0][:2000] + "N" * 300 + seqs[0][2300:]
    genome = write_fasta(tmp_path / "g.fa", ["chr1", "chr2", "tiny", "chr3"], seqs)
    return model_path, genome


@pytest.mark.parametrize("suffix", ["bw", "bedGraph"])
def test_cpu_scan_never_imports_torch_and_writes_the_torch_routes_bytes(tmp_path, files, suffix):
    model_path, genome = files
    out = tmp_path / f"free.{suffix}"
    res = _no_torch("scan", str(model_path), str(genome), "-o", str(out), "--peaks", str(tmp_path / "free.bed"),
                    "--stride", "10", "--quiet")
    assert res.returncode == 0, res.stderr
    # the same scan through the module (torch), in this process
    ref = tmp_path / f"ref.{suffix}"
    scan_model(load_model(model_path), genome, OutputOptions(ref, peaks=tmp_path / "ref.bed"),
               windows=WindowOptions(stride=10))
    assert out.read_bytes() == ref.read_bytes()
    assert (tmp_path / "free.bed").read_bytes() == (tmp_path / "ref.bed").read_bytes()


def test_the_workflows_jobs_need_no_torch(tmp_path, files):
    # calibrate, the shards' scans (with the null, --fdr, --threads, --device) and gather, as the
    # workflow runs them; gathered, the same bytes as one scan through the module
    model_path, genome = files
    null = tmp_path / "null.h5"
    res = _no_torch("calibrate", str(model_path), str(genome), "-o", str(null), "--mbp", "0.2", "--stride", "10",
                    "--quiet")
    assert res.returncode == 0, res.stderr
    for i in (1, 2):
        res = _no_torch("scan", str(model_path), str(genome), "-o", str(tmp_path / f"s{i}.bw"), "--peaks",
                        str(tmp_path / f"s{i}.bed"), "--stride", "10", "--null", str(null), "--fdr", "0.5",
                        "--shard", f"{i}/2", "--threads", "1", "--device", "auto", "--quiet")
        assert res.returncode == 0, res.stderr
    res = _no_torch("gather", str(tmp_path / "s1.bw"), str(tmp_path / "s2.bw"), "-o", str(tmp_path / "all.bw"),
                    "--shard-peaks", str(tmp_path / "s1.bed"), "--shard-peaks", str(tmp_path / "s2.bed"),
                    "--peaks", str(tmp_path / "all.bed"), "--quiet")
    assert res.returncode == 0, res.stderr
    from motifscan.interpret.calibrate import load_null

    model = load_model(model_path)
    scan_model(model, genome, OutputOptions(tmp_path / "ref.bw", peaks=tmp_path / "ref.bed"),
               windows=WindowOptions(stride=10, fdr=0.5), null=load_null(null, model, window=60, stride=10))
    assert (tmp_path / "all.bw").read_bytes() == (tmp_path / "ref.bw").read_bytes()
    assert (tmp_path / "all.bed").read_bytes() == (tmp_path / "ref.bed").read_bytes()


def test_what_needs_torch_still_gets_it(tmp_path, files):
    # hits: the scan asks for torch, and the refusing interpreter says so (one line, exit 1)
    model_path, genome = files
    res = _no_torch("scan", str(model_path), str(genome), "-o", str(tmp_path / "o.bw"), "--hits",
                    str(tmp_path / "h.bed"), "--quiet")
    assert res.returncode != 0 and "torch" in res.stderr
    assert not (tmp_path / "o.bw").exists()


def test_model_file_holds_what_the_module_holds(tmp_path):
    for hidden, tasks in ((0, ["a"]), (8, ["a", "b", "c"])):
        config = ModelConfig(n_filters=5, filter_width=7, hidden=hidden, seq_length=30, tasks=tasks)
        with torch.device("meta"):
            shapes = {k: tuple(v.shape) for k, v in MotifCNN(config).state_dict().items()}
        assert state_shapes(config) == shapes
        torch.manual_seed(1)
        net = MotifCNN(config).eval()
        path = save_model(net, tmp_path / f"h{hidden}.h5")
        file = read_model_file(path)
        assert model_digest(file) == model_digest(net) == model_digest(load_model(path))
        assert file.filter_names() == net.filter_names()
        weight, bias = file.bank_arrays()
        assert np.array_equal(weight, net.conv.weight.detach().numpy())
        assert np.array_equal(bias, net.conv.bias.detach().numpy())
        head = file.linear_head()
        assert (head is None) == bool(hidden)
        if head is not None:
            assert np.array_equal(head[0], net.head[1].weight.detach().numpy())
        module = model_from_file(file)
        assert all(torch.equal(a, b) for a, b in zip(module.state_dict().values(), net.state_dict().values()))
        assert module.source == path and not module.training


@pytest.mark.parametrize("hidden", [0, 6])
def test_scanner_of_a_model_file_scores_as_the_modules(tmp_path, hidden):
    torch.manual_seed(3)
    net = MotifCNN(ModelConfig(n_filters=4, filter_width=5, hidden=hidden, seq_length=24, tasks=["x", "y"])).eval()
    file = read_model_file(save_model(net, tmp_path / "m.h5"))
    rng = np.random.default_rng(0)
    path = write_fasta(tmp_path / "g.fa", ["c1", "c2"], ["".join(rng.choice(list("ACGTN"), n)) for n in (3000, 700)])
    for method in ("fused", "table", "dense"):
        got = engine_windows(file, FastaSource(path), 24, 6, chunk_size=500, conv_method=method)
        want = engine_windows(net, FastaSource(path), 24, 6, chunk_size=500, conv_method=method)
        assert got[0] == want[0] and len(got[1]) > 50, method
        assert np.array_equal(got[1], want[1]) and np.array_equal(got[2], want[2]), method


def test_records_of_a_model_file_load_torch_when_asked(tmp_path):
    net = random_model()
    file = read_model_file(save_model(net, tmp_path / "m.h5"))
    free, ref = (ModelScanner(m, window=24, stride=4) for m in (file, net))
    assert not free._torch_ready and ref._torch_ready
    rng = np.random.default_rng(2)
    lengths = rng.integers(3, 400, 30)
    path = write_fasta(tmp_path / "r.fa", [f"r{i}" for i in range(30)],
                       ["".join(rng.choice(list("ACGT"), int(n))) for n in lengths])

    def records(scanner):
        batches = iter_batches(FastaSource(path), overlap=4, chunk_size=128)
        return [r for _b, res in scanner.process_all(batches, windows=False, records=True, hits=False)
                for r in res.records]

    got, want = records(free), records(ref)
    assert len(got) == 30
    assert free._torch_ready
    assert [(r.name, r.best_position, r.strand, r.top_filter) for r in got] == \
           [(r.name, r.best_position, r.strand, r.top_filter) for r in want]
    for a, b in zip(got, want):
        assert (a.score is None and b.score is None) or np.array_equal(a.score, b.score)


def test_threads_and_device_without_torch():
    script = textwrap.dedent("""
        import sys
        from motifscan import device
        device._GPU_DRIVER_FILES = ()  # as on a machine without a GPU driver
        device.gpu_possible = lambda: False
        device.set_threads(1)
        assert device.cpu_threads() == 1
        dev, said = device.probe_device("auto")
        assert dev == "cpu" and said.startswith("cpu (1 thread; no GPU found)"), said
        assert device.probe_device("cpu") == ("cpu", "cpu")
        assert "torch" not in sys.modules
        torch = device.use_torch()
        assert torch.get_num_threads() == 1 and device.cpu_threads() == 1
        assert device.probe_device("cpu")[0] == torch.device("cpu")  # torch loaded: torch's device
    """)
    res = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    # with torch loaded, devices stay torch's
    assert probe_device("cpu")[0] == torch.device("cpu")
    assert cpu_threads() == torch.get_num_threads()
    assert device_type("cuda:1") == "cuda" and device_type(torch.device("cpu")) == "cpu"


def test_a_gpu_driver_means_torch_is_asked(tmp_path, monkeypatch):
    from motifscan import device

    monkeypatch.setattr(device.sys, "platform", "linux")
    monkeypatch.setattr(device.glob, "glob", lambda pattern: [])
    monkeypatch.setattr(device, "_GPU_DRIVER_FILES", (str(tmp_path / "no-driver"),))
    assert not device.gpu_possible()
    (tmp_path / "dxg").touch()  # WSL2's GPU bridge, say
    monkeypatch.setattr(device, "_GPU_DRIVER_FILES", (str(tmp_path / "no-driver"), str(tmp_path / "dxg")))
    assert device.gpu_possible()
    monkeypatch.setattr(device, "_GPU_DRIVER_FILES", ())
    monkeypatch.setattr(device.glob, "glob", lambda pattern: ["/dev/nvidia0"] if "nvidia" in pattern else [])
    assert device.gpu_possible()
    monkeypatch.setattr(device.sys, "platform", "darwin")  # MPS may be there
    monkeypatch.setattr(device.glob, "glob", lambda pattern: [])
    assert device.gpu_possible()


def test_every_command_is_listed_and_runs(tmp_path):
    from click.testing import CliRunner

    from motifscan.cli import cli

    res = CliRunner().invoke(cli, ["--help"])
    assert res.exit_code == 0
    for name in ("attribute", "calibrate", "compare", "enrich", "evaluate", "export", "gather", "scan",
                 "simulate", "train", "variants"):
        assert f"  {name} " in res.output
        sub = CliRunner().invoke(cli, [name, "--help"])
        assert sub.exit_code == 0 and "Usage:" in sub.output, name
    res = CliRunner().invoke(cli, ["no-such-command"])
    assert res.exit_code == 2 and "No such command" in res.output
