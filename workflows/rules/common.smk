# Shared settings and helpers of the motifscan workflow: paths, config lookups, job marker.

import shlex
from pathlib import Path

R = config["results"]
LOGS = config["logs"]
BENCH = f"{R}/benchmarks"
REPO = Path(workflow.basedir)
SCRIPTS = REPO / "workflows" / "scripts"
EXPS = sorted(config["experiments"])
GENOMES = sorted(config["genomes"])
SIMULATED = [g for g in GENOMES if "simulate" in config["genomes"][g]]
MOTIF_FORMATS = {"jaspar": "jaspar", "transfac": "transfac", "homer": "motif"}

wildcard_constraints:
    exp="|".join(EXPS) or "(?!)",
    genome="|".join(GENOMES) or "(?!)",
    shard=r"\d+",
    fmt="|".join(MOTIF_FORMATS.values()),


# Software of every rule for --sdm conda (without it, the motifscan on PATH is used).
CONDA_ENV = "../envs/motifscan.yaml"


def job_mark(rule):
    """Shell prefix that starts a job's log with its rule, host and SLURM job id.

    The SLURM test checks that every job ran under a SLURM job id (never "none").
    """
    return (f'echo "motifscan-workflow job: rule={rule} host=$(hostname) '
            'slurm_job_id=${{SLURM_JOB_ID:-none}}" > {log:q}; ')


def inpath(path):
    """A user path: absolute, or relative to the working directory, else to the repository."""
    p = Path(path)
    if p.is_absolute() or p.exists() or not (REPO / p).exists():
        return str(p)
    return str(REPO / p)


def exp_cfg(wc_or_name):
    name = getattr(wc_or_name, "exp", wc_or_name)
    return config["experiments"][name]


def peaks(wc):
    return inpath(exp_cfg(wc)["peaks"])


def heldout(wc):
    """The peaks on the test chromosomes, written by prepare_peaks."""
    return f"{R}/{wc.exp}/prepare/heldout.peaks"


def train_genome(wc):
    """The genome the peaks refer to: an input only when the experiment names one."""
    g = exp_cfg(wc).get("genome")
    return [inpath(g)] if g else []


def negatives_input(wc):
    neg = exp_cfg(wc)["negatives"]
    return [] if neg in ("shuffle", "background") else [inpath(neg)]


def data_args(wc):
    """--genome/--negatives options shared by train and evaluate."""
    e = exp_cfg(wc)
    args = []
    if e.get("genome"):
        args += ["--genome", inpath(e["genome"])]
    neg = e["negatives"]
    args += ["--negatives", neg if neg in ("shuffle", "background") else inpath(neg)]
    return shlex.join(args)


def train_args(wc):
    t = exp_cfg(wc)["train"]
    args = ["--length", t["length"], "--filters", t["filters"], "--filter-width", t["filter_width"],
            "--seed", t["seed"]]
    if "epochs" in t:
        args += ["--epochs", t["epochs"]]
    if "neg_ratio" in t:
        args += ["--neg-ratio", t["neg_ratio"]]
    if not t["rc"]:
        args += ["--no-rc"]
    for key in ("valid_chroms", "test_chroms"):
        args += [f"--{key.replace('_', '-')}", ",".join(t[key])]
    return f"{shlex.join(str(a) for a in args)} {t['extra']}"


def motif_db():
    """The comparison database as a path (the bundled JASPAR file for "jaspar")."""
    db = config["motif_db"]
    if db == "jaspar":
        from motifscan.motifs import jaspar_path

        return str(jaspar_path())
    return inpath(db)


# ----------------------------------------------------------------------------- genomes
def genome_fasta(name):
    g = config["genomes"][name]
    return f"{R}/genomes/{name}/genome.fa" if "simulate" in g else inpath(g["fasta"])


def genome_truth(name):
    g = config["genomes"][name]
    if "simulate" in g:
        return f"{R}/genomes/{name}/truth.bed"
    return inpath(g["truth"]) if g.get("truth") else None


# ----------------------------------------------------------------------------- scans
def scanned(exp):
    return "scan" in exp_cfg(exp)


def scan_cfg(wc):
    return exp_cfg(wc)["scan"]


def scan_genome(wc):
    return scan_cfg(wc)["genome"]


def n_shards(wc):
    return scan_cfg(wc)["shards"]


def scan_args(wc):
    s = scan_cfg(wc)
    args = ["--stride", s["stride"], "--threshold", s["threshold"]]
    if "window" in s:
        args += ["--window", s["window"]]
    return f"{shlex.join(str(a) for a in args)} {s['extra']}"


def shard_files(wc, suffix):
    return [f"{R}/{wc.exp}/scan/shards/{i}{suffix}" for i in range(1, n_shards(wc) + 1)]


# ----------------------------------------------------------------------------- variants, interpret
def interpreted(exp):
    return exp_cfg(exp)["interpret"]["enabled"]


def has_variants(exp):
    return "variants" in exp_cfg(exp)


def variants_cfg(wc):
    return exp_cfg(wc)["variants"]


def variants_vcf(wc):
    """The experiment's VCF, or the SNVs drawn on its simulated genome."""
    v = variants_cfg(wc)
    if v.get("vcf"):
        return inpath(v["vcf"])
    g = v["genome"]
    if g not in SIMULATED or not config["genomes"][g]["simulate"].get("snvs"):
        raise ValueError(f"experiment {wc.exp}: variants needs a vcf, or a simulated genome with snvs > 0")
    return f"{R}/genomes/{g}/snvs.vcf"


# ----------------------------------------------------------------------------- targets
def experiment_outputs(exp):
    out = [
        f"{R}/{exp}/model.h5",
        f"{R}/{exp}/motifs/motifs.meme",
        f"{R}/{exp}/motifs/matches.tsv",
        *[f"{R}/{exp}/motifs/motifs.{ext}" for ext in MOTIF_FORMATS.values()],
        f"{R}/{exp}/evaluate/metrics.json",
        f"{R}/{exp}/evaluate/summary.json",
        f"{R}/{exp}/report.html",
    ]
    if scanned(exp):
        out += [f"{R}/{exp}/scan/track.bw", f"{R}/{exp}/scan/peaks.bed"]
    if interpreted(exp):
        out += [f"{R}/{exp}/interpret/logos", f"{R}/{exp}/interpret/seqlets.bed"]
    if has_variants(exp):
        out += [f"{R}/{exp}/variants/effects.tsv", f"{R}/{exp}/variants/annotated.vcf.gz",
                f"{R}/{exp}/variants/motif_breaks.tsv"]
    return out


def stage_benchmarks(wc):
    """Benchmark files of every job behind an experiment's report (for the run-time table)."""
    exp = wc.exp
    files = {
        "prepare": [f"{BENCH}/{exp}/prepare.tsv"],
        "train": [f"{BENCH}/{exp}/train.tsv"],
        "export": [f"{BENCH}/{exp}/export.tsv",
                   *(f"{BENCH}/{exp}/convert_{ext}.tsv" for ext in MOTIF_FORMATS.values())],
        "compare": [f"{BENCH}/{exp}/compare.tsv"],
        "evaluate": [f"{BENCH}/{exp}/evaluate.tsv", f"{BENCH}/{exp}/summarise.tsv"],
    }
    if scanned(exp):
        g = scan_genome(wc)
        if g in SIMULATED:
            files["simulate"] = [f"{BENCH}/genomes/{g}/simulate.tsv"]
        files["scan"] = [f"{BENCH}/{exp}/scan_{i}.tsv" for i in range(1, n_shards(wc) + 1)]
        files["gather"] = [f"{BENCH}/{exp}/gather.tsv", f"{BENCH}/genomes/{g}/chrom_sizes.tsv"]
    if interpreted(exp):
        files["interpret"] = [f"{BENCH}/{exp}/interpret.tsv", f"{BENCH}/{exp}/contribution_logos.tsv"]
    if has_variants(exp):
        files["variants"] = [f"{BENCH}/{exp}/variants_model.tsv", f"{BENCH}/{exp}/variants_motifs.tsv"]
        g = variants_cfg(wc)["genome"]
        if not variants_cfg(wc).get("vcf"):
            files["variants"].append(f"{BENCH}/genomes/{g}/simulate_snvs.tsv")
    return files


# ----------------------------------------------------------------------------- rule inputs/params
def simulate_args(wc):
    s = config["genomes"][wc.genome]["simulate"]
    args = ["--length", s["length"], "--chroms", s["chroms"], "--n-sites", s["n_sites"],
            "--motif-id", s["motif_id"], "--gc", s["gc"], "--seed", s["seed"]]
    if s.get("motifs"):
        args += ["--motifs", inpath(s["motifs"])]
    return shlex.join(str(a) for a in args)


def summary_inputs(wc):
    files = {"model": f"{R}/{wc.exp}/model.h5", "metrics": f"{R}/{wc.exp}/evaluate/metrics.json"}
    if scanned(wc.exp):
        files["called"] = f"{R}/{wc.exp}/scan/peaks.bed"
        files["sizes"] = f"{R}/genomes/{scan_genome(wc)}/chrom.sizes"
        truth = genome_truth(scan_genome(wc))
        if truth:
            files["truth"] = truth
    return files


def report_inputs(wc):
    files = {
        "data": f"{R}/{wc.exp}/prepare/peaks.json",
        "summary": f"{R}/{wc.exp}/evaluate/summary.json",
        "metrics": f"{R}/{wc.exp}/evaluate/metrics.json",
        "roc": f"{R}/{wc.exp}/evaluate/roc.png",
        "pr": f"{R}/{wc.exp}/evaluate/pr.png",
        "table": f"{R}/{wc.exp}/motifs/motifs.tsv",
        "logos": f"{R}/{wc.exp}/motifs/logos",
        "matches": f"{R}/{wc.exp}/motifs/matches.tsv",
        "benchmarks": [f for fs in stage_benchmarks(wc).values() for f in fs],
    }
    if scanned(wc.exp):
        files["track"] = f"{R}/{wc.exp}/scan/track.bw"
    if interpreted(wc.exp):
        files["contrib"] = f"{R}/{wc.exp}/interpret/logos"
        files["seqlets"] = f"{R}/{wc.exp}/interpret/seqlets.bed"
    if has_variants(wc.exp):
        files["effects"] = f"{R}/{wc.exp}/variants/effects.tsv"
        files["breaks"] = f"{R}/{wc.exp}/variants/motif_breaks.tsv"
    return files


def bench_args(wc):
    return shlex.join(f"{stage}={f}" for stage, fs in stage_benchmarks(wc).items() for f in fs)
