"""benchmarks/gpu_check.py: its dry run (the GPU check's own code on CPU at tiny sizes) gives the
table with every row passing; its genome writer's index is right; a crashing check fails its row."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np

from motifscan.io.fasta import IndexedFasta, read_fasta

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "benchmarks" / "gpu_check.py"
ROWS = ["environment", "CUDA tests", "synthetic genome", "model scan -> bigWig", "agreement fp32",
        "agreement bf16", "agreement fp16", "motif-file scan -> FIMO TSV", "motif agreement", "process -> bigWig",
        "variants, model", "variants, motifs", "ISM", "total"]


def _module():
    spec = importlib.util.spec_from_file_location("gpu_check", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["gpu_check"] = mod  # dataclasses look their module up by name
    spec.loader.exec_module(mod)
    return mod


def _rows(markdown: str) -> dict[str, list[str]]:
    lines = [ln for ln in markdown.splitlines() if ln.startswith("| ")][1:]  # no header
    cells = [[c.strip() for c in ln.strip("|").split(" | ")] for ln in lines]
    return {c[0]: c[1:] for c in cells}


def test_dry_run_table(tmp_path):
    out = tmp_path / "table.md"
    res = subprocess.run([sys.executable, str(SCRIPT), "--dry-run", "--out", str(out), "--workdir",
                          str(tmp_path / "work")], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr[-3000:]
    assert out.read_text() == res.stdout  # one table, printed and written
    rows = _rows(res.stdout)
    assert list(rows) == ROWS
    for name, (setting, size, result, ok) in rows.items():
        assert ok == ("" if name in ("environment", "synthetic genome", "total") else "pass"), (name, result)
    assert "device cpu (dry run)" in rows["environment"][0]
    assert "skipped" in rows["CUDA tests"][2]
    assert "Mbp/s" in rows["model scan -> bigWig"][2] and rows["model scan -> bigWig"][1] == "2 Mbp"
    assert "identical" in rows["motif agreement"][2]
    assert "identical" in rows["variants, motifs"][2] and "hg38" in rows["process -> bigWig"][2]
    assert float(rows["variants, model"][2].rsplit(" ", 1)[1]) <= 1e-4
    assert float(rows["ISM"][2].rsplit(" ", 1)[1]) <= 1e-4
    diff = float(rows["agreement fp32"][2].split("max abs diff ")[1].split()[0])
    assert diff <= 1e-4


def test_genome_writer_index(tmp_path):
    """The .fai written beside the genome matches its records (pyfaidx fetches through it)."""
    gc = _module()
    path = tmp_path / "g.fa"
    sizes = gc.write_genome(path, 130_017, 50_000, 2_000, gc.planted_motif())
    assert sizes == {"chr1": 50_000, "chr2": 50_000, "chr3": 30_017}
    records = {r.name: r.codes for r in read_fasta(path)}
    assert {k: len(v) for k, v in records.items()} == sizes
    with IndexedFasta(path) as fa:
        for name, codes in records.items():
            np.testing.assert_array_equal(fa.fetch(name, 0, sizes[name]), codes)
            np.testing.assert_array_equal(fa.fetch(name, 12_345, 12_400), codes[12_345:12_400])
    assert Path(str(path) + ".fai").read_text().splitlines()[1] == "chr2\t50000\t50846\t60\t61"
    allc = np.concatenate(list(records.values()))
    acgt = allc[allc < 4]
    assert 0.39 < np.isin(acgt, (1, 2)).mean() < 0.43  # 41 % GC
    assert (allc == 4).sum() == 3 * 10_000  # one N run per chromosome


def test_a_crashing_check_fails_its_row(tmp_path, monkeypatch):
    gc = _module()

    def check_broken(ctx):
        raise RuntimeError("boom")

    monkeypatch.setattr(gc, "CHECKS", [gc.check_environment, check_broken])
    rows = gc.run_checks(gc.Context("cpu", gc.DRY, tmp_path, True))
    assert [(r.check, r.ok) for r in rows] == [("environment", None), ("broken", False), ("total", None)]
    assert "RuntimeError: boom" in rows[1].result
    assert "| broken | crashed |  | RuntimeError: boom | **FAIL** |" in gc.table(rows)
