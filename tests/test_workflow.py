"""The Snakemake workflow: lint, dry runs, config validation, profiles, and its scripts.

The end-to-end run of the test config takes 1.5-5 minutes, so it runs in CI's dedicated step
(.ci/workflow.sh, which also runs it through SLURM); here only with MOTIFSCAN_WORKFLOW_E2E=1.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from script_helpers import load_script

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ROOT / "workflows" / "scripts"
BIN = Path(sys.executable).parent  # snakemake's jobs call `motifscan` from this environment


common = load_script(SCRIPTS / "_common.py")
summarise = load_script(SCRIPTS / "summarise.py")
check_jobs = load_script(ROOT / "workflows" / "slurm" / "check_jobs.py")


def snakemake(tmp_path, *args, timeout=120):
    """Run snakemake on the repository's Snakefile with tmp_path as working directory."""
    cmd = [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "-d", str(tmp_path), *args]
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)


# ----------------------------------------------------------------------------- snakemake
def test_lint_is_clean(tmp_path):
    res = snakemake(tmp_path, "--lint")
    assert res.returncode == 0, res.stderr
    out = res.stdout + res.stderr
    assert "Lints for" not in out
    assert "Congratulations" in out


def test_dry_run_of_the_demo_has_every_stage(tmp_path):
    res = snakemake(tmp_path, "-n", "-p")
    assert res.returncode == 0, res.stderr
    stats = dict(re.findall(r"^(\w+)\s+(\d+)$", res.stdout, re.M))
    # workflows/config/config.yaml: shards: 4, peaks at an FDR (the shards also leave p-value counts)
    assert stats["scan_shard_fdr"] == "4" and "scan_shard" not in stats
    for rule in ("simulate_genome", "prepare_peaks", "train", "export", "compare", "enrich", "gather",
                 "evaluate", "summarise", "report"):
        assert stats[rule] == "1", rule
    assert stats["convert_motifs"] == "3"
    # each shard is scanned once, for its track and its peaks together
    scans = re.findall(r"motifscan scan .*--shard (\d)/4 .*", res.stdout)
    assert sorted(scans) == ["1", "2", "3", "4"]
    assert all(".bw --peaks " in ln for ln in re.findall(r"motifscan scan .*--shard .*", res.stdout))
    # the demo calls peaks at an FDR: one calibrate job builds the null every shard scans with
    assert stats["calibrate"] == "1"
    assert "motifscan calibrate results/ctcf/model.h5 " in res.stdout and "--mbp 20" in res.stdout
    assert all("--fdr 0.05 --null results/ctcf/scan/null.h5" in ln
               for ln in re.findall(r"motifscan scan .*--shard .*", res.stdout))
    assert "--null-plot=results/ctcf/scan/null.png --fdr=0.05" in res.stdout
    # paths reach shell commands quoted; the train job asks for the held-out chromosomes
    assert "--test-chroms chr1,chr3,chr6" in res.stdout


def test_configfile_replaces_the_demo(tmp_path):
    peaks = ROOT / "examples" / "ctcf" / "ctcf_gm12878_top500.fa"
    genome, bed, truth = tmp_path / "g.fa", tmp_path / "p.bed", tmp_path / "t.bed"
    genome.write_text(">chr1\nACGT\n")
    bed.write_text("chr1\t0\t4\n")
    truth.write_text("chr1\t0\t4\n")
    mine = tmp_path / "mine.yaml"
    mine.write_text(yaml.safe_dump({
        "genomes": {"mygenome": {"fasta": str(genome), "truth": str(truth)}},
        "experiments": {
            "only": {"peaks": str(peaks)},
            "frombed": {"peaks": str(bed), "genome": str(genome), "negatives": "background",
                        "scan": {"genome": "mygenome", "shards": 2}},
            "fastagenome": {"peaks": str(peaks), "genome": str(genome)},
        }}))
    res = snakemake(tmp_path, "-n", "-p", "--configfile", str(mine))
    assert res.returncode == 0, res.stderr
    assert "results/only/model.h5" in res.stdout and "results/ctcf" not in res.stdout
    assert "results/only/scan" not in res.stdout  # no scan section: no genome-wide scan
    train = next(ln for ln in res.stdout.splitlines() if "motifscan train " + str(bed) in ln)
    assert f"--genome {genome}" in train and "--negatives background" in train
    # export contrasts the peaks with the model's own negatives; a FASTA with a genome is read
    # as a FASTA (export's --genome only serves background negatives then)
    export = next(ln for ln in res.stdout.splitlines() if "motifscan export results/frombed/" in ln)
    assert f"--sequences {bed} --genome {genome} --negatives background" in export
    export = next(ln for ln in res.stdout.splitlines() if "motifscan export results/fastagenome/" in ln)
    assert f"--sequences {peaks} --genome {genome} --negatives shuffle" in export
    assert res.stdout.count("--shard ") == 2 and "--shard 2/2" in res.stdout
    assert f"--truth {truth}" in res.stdout  # recovery of the known sites is measured


def _multitask_config(tmp_path, experiments):
    genome = tmp_path / "g.fa"
    genome.write_text(">chr1\n" + "ACGT" * 50 + "\n")
    cfg = tmp_path / "mt.yaml"
    cfg.write_text(yaml.safe_dump({"genomes": {"g": {"fasta": str(genome)}}, "experiments": experiments}))
    return cfg


def test_dry_run_of_a_multi_task_experiment_schedules_per_task_outputs(tmp_path):
    ctcf = ROOT / "examples" / "ctcf" / "ctcf_gm12878_top500.fa"
    mafk = ROOT / "examples" / "mafk" / "mafk_first500.fa"
    sheet = tmp_path / "sheet" / "tasks.tsv"
    sheet.parent.mkdir()
    (sheet.parent / "c.fa").write_text(ctcf.read_text())
    sheet.write_text(f"name\tpeaks\tnegatives\nc\tc.fa\tshuffle\nm\t{mafk}\t\n")
    cfg = _multitask_config(tmp_path, {
        "mt": {"peaks": {"ctcf": str(ctcf), "mafk": str(mafk)}, "scan": {"genome": "g", "shards": 2}},
        "sheet": {"samplesheet": str(sheet)},
        "one": {"peaks": str(ctcf), "scan": {"genome": "g", "shards": 2}},
    })
    res = snakemake(tmp_path, "-n", "-p", "--configfile", str(cfg))
    assert res.returncode == 0, res.stderr
    out = res.stdout
    stats = dict(re.findall(r"^(\w+)\s+(\d+)$", out, re.M))
    # one model per experiment; each multi-task shard is scanned once, for every task
    assert stats["train"] == "3" and stats["scan_shard_tasks"] == "2" and stats["scan_shard"] == "2"
    assert stats["gather_task"] == "2" and stats["gather"] == "1"
    assert stats["prepare_tasks"] == "2" and stats["prepare_peaks"] == "1"
    assert stats["interpret"] == "1"  # multi-task experiments skip the attributions (for now)
    train = next(ln for ln in out.splitlines() if "motifscan train" in ln and "results/mt/" in ln)
    assert f"motifscan train {ctcf} {mafk} --task-names ctcf,mafk --negatives shuffle" in train
    train = next(ln for ln in out.splitlines() if "motifscan train" in ln and "results/sheet/" in ln)
    assert re.search(rf"motifscan train --samplesheet {re.escape(str(sheet))} +--length", train)
    export = next(ln for ln in out.splitlines() if "motifscan export results/mt/" in ln)
    assert f"--sequences {ctcf} --sequences {mafk} --task-names ctcf,mafk" in export
    assert "--samplesheet " + str(sheet) in next(ln for ln in out.splitlines() if "motifscan export results/sheet/" in ln)
    assert "motifscan evaluate results/mt/model.h5 --samplesheet results/mt/prepare/heldout/samplesheet.tsv" in out
    for task in ("ctcf", "mafk"):  # the CLI's naming: track.TASK.bw, peaks.TASK.bed
        assert (f"--tracks results/mt/scan/shards/1/track.{task}.bw results/mt/scan/shards/2/track.{task}.bw"
                in out)
        assert f"--out-track results/mt/scan/track.{task}.bw --out-peaks results/mt/scan/peaks.{task}.bed" in out
    assert "--peaks results/mt/scan/peaks.ctcf.bed results/mt/scan/peaks.mafk.bed" in out  # summarise
    assert "--tasks ctcf,mafk" in out
    # the one-task experiment keeps its file names
    assert "--out-track results/one/scan/track.bw --out-peaks results/one/scan/peaks.bed" in out
    assert "results/one/prepare/heldout.peaks" in out
    # known-motif enrichment of each experiment's training peaks, one table per task
    assert stats["enrich"] == "3"
    assert f"motifscan enrich {ctcf} {mafk} --names ctcf,mafk --background shuffle --motifs " in out
    assert f"motifscan enrich --samplesheet {sheet} --motifs " in out
    assert "-o results/one/enrich/enrichment.tsv --plot results/one/enrich/enrichment.png" in out
    assert "--enrich results/mt/enrich" in out  # the report shows them


@pytest.mark.parametrize("sheet, match", [
    ("name\tpeaks\na\tp.fa\na\tp.fa\n", "named twice"),
    ("name\tpeaks\na.b\tp.fa\nc\tp.fa\n", "not usable in file names"),
    ("name\tpeaks\na\tp.fa\n", "two or more tasks"),
    ("name\tpeaks\na\tmissing.fa\nb\tp.fa\n", "missing.fa not found"),
])
def test_bad_samplesheets_stop_the_dag(tmp_path, sheet, match):
    (tmp_path / "p.fa").write_text(">chr1:0-4\nACGT\n")
    (tmp_path / "tasks.tsv").write_text(sheet)
    cfg = _multitask_config(tmp_path, {"x": {"samplesheet": str(tmp_path / "tasks.tsv")}})
    res = snakemake(tmp_path, "-n", "--configfile", str(cfg))
    assert res.returncode != 0
    out = res.stdout + res.stderr
    assert "experiment x" in out and match in out, out[-2000:]


def test_config_schema_fills_defaults_and_rejects_unknown_keys():
    from snakemake.exceptions import WorkflowError
    from snakemake.utils import validate

    schema = str(ROOT / "workflows/schemas/config.schema.yaml")
    for name in ("config.yaml", "test.yaml"):
        validate(yaml.safe_load((ROOT / "workflows/config" / name).read_text()), schema)
    cfg = {"experiments": {"x": {"peaks": "p.fa", "scan": {"genome": "g"}}}}
    validate(cfg, schema)  # fills in the defaults
    assert cfg["results"] == "results" and cfg["device"] == "auto"
    assert cfg["experiments"]["x"]["train"]["test_chroms"] == ["chr1", "chr3", "chr6"]
    assert cfg["experiments"]["x"]["scan"]["shards"] == 4
    assert "threshold" not in cfg["experiments"]["x"]["scan"]  # 0.5 unless fdr is given
    with pytest.raises(WorkflowError):  # fdr or threshold, not both
        validate({"experiments": {"x": {"peaks": "p.fa", "scan": {"genome": "g", "fdr": 0.05, "threshold": 0.5}}}},
                 schema)
    with pytest.raises(WorkflowError):
        validate({"experiments": {"x": {"peaks": "p.fa", "scan": {"genome": "g", "fdr": 0}}}}, schema)
    with pytest.raises(WorkflowError, match="epochs"):
        validate({"experiments": {"x": {"peaks": "p.fa", "epochs": 3}}}, schema)
    with pytest.raises(WorkflowError):
        validate({"experiments": {"bad name": {"peaks": "p.fa"}}}, schema)


def test_config_schema_multi_task_experiments():
    from snakemake.exceptions import WorkflowError
    from snakemake.utils import validate

    schema = str(ROOT / "workflows/schemas/config.schema.yaml")
    cfg = {"experiments": {"m": {"peaks": {"a": "a.fa", "b-2": "b.bed"}, "genome": "g.fa"},
                           "s": {"samplesheet": "tasks.tsv"}}}
    validate(cfg, schema)
    assert cfg["experiments"]["m"]["negatives"] == "shuffle"  # defaults as for one task
    assert cfg["experiments"]["s"]["train"]["filters"] == 64
    for bad in ({"peaks": {"a.b": "a.fa", "c": "c.fa"}},     # a task name unusable in file names
                {"peaks": {"a b": "a.fa", "c": "c.fa"}},
                {"peaks": {"a": "a.fa"}},                     # one task: give `peaks: FILE`
                {"peaks": {}},                                # empty
                {"peaks": {"a": "", "b": "b.fa"}},            # an empty path
                {"peaks": ""},
                {"peaks": {"a": "a.fa", "b": "b.fa"}, "samplesheet": "t.tsv"},  # both
                {"train": {"epochs": 2}}):                    # neither
        with pytest.raises(WorkflowError):
            validate({"experiments": {"x": bad}}, schema)


def test_profiles():
    slurm = yaml.safe_load((ROOT / "workflows/profiles/slurm/config.yaml").read_text())
    assert slurm["executor"] == "slurm"
    assert slurm["slurm-status-command"] == "squeue"  # else: a silent endless hang (sacct)
    assert "slurm_partition" in slurm["default-resources"]
    assert slurm["set-resources"]["train"]["gres"] == "gpu:1"
    assert slurm["set-resources"]["scan_shard"]["gres"] == "gpu:1"
    local = yaml.safe_load((ROOT / "workflows/profiles/local/config.yaml").read_text())
    assert local["cores"] == 2
    assert slurm["set-resources"]["scan_shard_tasks"]["gres"] == "gpu:1"  # multi-task shards
    text = "".join(p.read_text() for p in (ROOT / "workflows/rules").glob("*.smk"))
    # `use rule X as Y with:` blocks inherit X's directives (and override some)
    derived = re.findall(r"^use rule (\w+) as (\w+) with:", text, re.M)
    rules = re.sub(r"^use rule .*?(?=^\S|\Z)", "", text, flags=re.M | re.S)
    n_rules = len(re.findall(r"^rule \w+:", rules, re.M))
    for key in ("threads:", "mem_mb=", "runtime=", "\n    log:", "job_mark(\""):
        assert rules.count(key) == n_rules, key
    assert rules.count("gpus=1") == 3  # train, scan_shard and calibrate
    assert slurm["set-resources"]["calibrate"]["gres"] == "gpu:1"
    assert ("scan_shard", "scan_shard_tasks") in derived and ("gather", "gather_task") in derived
    assert ("scan_shard", "scan_shard_fdr") in derived
    assert slurm["set-resources"]["scan_shard_fdr"] == slurm["set-resources"]["scan_shard"]


# ----------------------------------------------------------------------------- scripts
def _bed(rows):
    return {"chrom": np.array([r[0] for r in rows], dtype=object),
            "start": np.array([r[1] for r in rows], dtype=np.int64),
            "end": np.array([r[2] for r in rows], dtype=np.int64)}


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["a", "b"]), st.integers(0, 200), st.integers(1, 40)),
                max_size=15),
       st.lists(st.tuples(st.sampled_from(["a", "b"]), st.integers(0, 200), st.integers(1, 40)),
                max_size=15))
def test_overlapped_matches_brute_force(a, b):
    a = [(c, s, s + w) for c, s, w in a]
    b = [(c, s, s + w) for c, s, w in b]
    got = common.overlapped(_bed(a), _bed(b))
    want = [any(c == c2 and s < e2 and s2 < e for c2, s2, e2 in b) for c, s, e in a]
    assert got.tolist() == want


def test_recovery_counts(tmp_path):
    truth = tmp_path / "t.bed"
    truth.write_text("chr1\t100\t115\tM\t0\t+\nchr1\t500\t515\tM\t0\t-\nchr2\t50\t65\tM\t0\t+\n")
    peaks = tmp_path / "p.bed"
    peaks.write_text("chr1\t0\t101\tp\t900\t.\nchr1\t300\t400\tp\t800\t.\nchr2\t60\t90\tp\t700\t.\n")
    r = summarise.recovery(str(peaks), str(truth), genome_bp=10_000)
    assert (r["n_truth"], r["truth_found"], r["n_peaks"]) == (3, 2, 3)
    assert r["recall"] == pytest.approx(2 / 3) and r["precision"] == pytest.approx(2 / 3)
    assert r["peak_bp"] == 231
    assert 0 < r["chance_recall"] < 0.1


def _job_logs(root: Path, ids):
    for i, (rule, job_id) in enumerate(ids):
        f = root / "logs" / f"{rule}_{i}.log"
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(f"motifscan-workflow job: rule={rule} host=n1 slurm_job_id={job_id}\nok\n")
    ctld = root / "ctld.log"
    ctld.write_text("".join(f"[t] _job_complete: JobId={j} WEXITSTATUS 0\n[t] _job_complete: "
                            f"JobId={j} done\n" for _r, j in ids if j.isdigit()))
    sm = root / "run.log"
    sm.write_text("".join(f"rule {r}:\n    jobid: 1\n" for r, _j in ids) + "localrule all:\n")
    return root / "logs", sm, ctld


def test_check_jobs_passes_slurm_runs_and_fails_local_jobs(tmp_path):
    logs, sm, ctld = _job_logs(tmp_path / "ok", [("train", "7"), ("scan_shard", "8")])
    assert check_jobs.check(logs, sm, ctld) == []

    logs, sm, ctld = _job_logs(tmp_path / "local", [("train", "7"), ("scan_shard", "none")])
    problems = check_jobs.check(logs, sm, ctld)
    assert any("scan_shard ran outside SLURM" in p for p in problems)

    logs, sm, ctld = _job_logs(tmp_path / "nodone", [("train", "7")])
    ctld.write_text("[t] _job_complete: JobId=7 WEXITSTATUS 1\n")
    assert any("no successful completion of job 7" in p for p in check_jobs.check(logs, sm, ctld))

    logs, sm, ctld = _job_logs(tmp_path / "localrule", [("train", "7")])
    sm.write_text(sm.read_text() + "localrule gather:\n")
    assert any("ran locally" in p for p in check_jobs.check(logs, sm, ctld))


# ----------------------------------------------------------------------------- end to end
@pytest.mark.slow
@pytest.mark.skipif(os.environ.get("MOTIFSCAN_WORKFLOW_E2E") != "1",
                    reason="set MOTIFSCAN_WORKFLOW_E2E=1 (CI runs it in .ci/workflow.sh)")
def test_end_to_end_test_config(tmp_path):
    res = snakemake(tmp_path, "-c2", "--configfile", str(ROOT / "workflows/config/test.yaml"),
                    timeout=900)
    assert res.returncode == 0, res.stderr[-3000:]
    chk = subprocess.run([sys.executable, str(SCRIPTS / "check_outputs.py"),
                          str(tmp_path / "results"), "--exp", "ctcf", "--expect-match", "CTCF"],
                         capture_output=True, text=True)
    assert chk.returncode == 0, chk.stderr
