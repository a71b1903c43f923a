# Shared settings and helpers of the motifscan workflow: paths, config lookups, job marker.

import functools
import re
import shlex
from pathlib import Path

import yaml

R = config["results"]
LOGS = config["logs"]
BENCH = f"{R}/benchmarks"
REPO = Path(workflow.basedir)
SCRIPTS = REPO / "workflows" / "scripts"
EXPS = sorted(config["experiments"])
GENOMES = sorted(config["genomes"])
SIMULATED = [g for g in GENOMES if "simulate" in config["genomes"][g]]
MOTIF_FORMATS = {"jaspar": "jaspar", "transfac": "transfac", "homer": "motif"}

# Names used in file names (experiments, tasks): the schema's pattern, defined there once.
NAME_PATTERN = yaml.safe_load((REPO / "workflows/schemas/config.schema.yaml").read_text())["$defs"]["name"]["pattern"]

wildcard_constraints:
    exp="|".join(EXPS) or "(?!)",
    genome="|".join(GENOMES) or "(?!)",
    shard=r"\d+",
    fmt="|".join(MOTIF_FORMATS.values()),
    task=NAME_PATTERN.strip("^$"),


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


# ----------------------------------------------------------------------------- tasks
# A one-task experiment names one peak file (`peaks: FILE`); a multi-task one several
# (`peaks: {task: FILE}`) or a samplesheet. Task names are known here, when the DAG is built.
def _exp_name(wc_or_name):
    return getattr(wc_or_name, "exp", wc_or_name)


@functools.cache
def task_specs(exp):
    """The tasks of a multi-task experiment (motifscan TaskSpecs, in config/sheet order); () for one task."""
    from motifscan.errors import MotifscanError
    from motifscan.io.samplesheet import TaskSpec, read_samplesheet

    e = exp_cfg(exp)
    if "samplesheet" in e:
        if e.get("genome"):
            raise ValueError(f"experiment {exp}: give genomes in the samplesheet's genome column, not `genome:`")
        try:
            specs = tuple(read_samplesheet(inpath(e["samplesheet"])))
        except MotifscanError as exc:
            raise ValueError(f"experiment {exp}: {exc}") from None
    elif isinstance(e["peaks"], dict):
        neg = e["negatives"]
        specs = tuple(TaskSpec(name, inpath(p), neg if neg in ("shuffle", "background") else inpath(neg),
                               inpath(e["genome"]) if e.get("genome") else None)
                      for name, p in e["peaks"].items())
    else:
        return ()
    bad = [t.name for t in specs if not re.fullmatch(NAME_PATTERN, t.name)]
    if bad or len(specs) < 2:
        raise ValueError(f"experiment {exp}: " + (f"task name {bad[0]!r} is not usable in file names (letters, "
                         "digits, _ and - only)" if bad else "a multi-task experiment needs two or more tasks "
                         "(for one, give `peaks: FILE`)"))
    return specs


def tasks(wc_or_name):
    """Task names of a multi-task experiment; [] for a one-task experiment."""
    return [t.name for t in task_specs(_exp_name(wc_or_name))]


SINGLE = [e for e in EXPS if not tasks(e)]
MULTI = [e for e in EXPS if tasks(e)]
# rules that only one kind of experiment uses are constrained to it
SINGLE_EXP = "|".join(SINGLE) or "(?!)"
MULTI_EXP = "|".join(MULTI) or "(?!)"


def task_files(exp, what):
    """Distinct peaks/negatives/genome files of a multi-task experiment's tasks (rule inputs)."""
    files = [getattr(t, what) for t in task_specs(exp)]
    return list(dict.fromkeys(f for f in files if f and f not in ("shuffle", "background")))


def task_args(wc):
    """The positives of train: the peak file; several with --task-names; or --samplesheet."""
    e = exp_cfg(wc)
    if "samplesheet" in e:
        return shlex.join(["--samplesheet", inpath(e["samplesheet"])])
    if tasks(wc):
        return shlex.join([*(t.peaks for t in task_specs(wc.exp)), "--task-names", ",".join(tasks(wc))])
    return shlex.quote(peaks(wc))


def peaks(wc):
    """The experiment's peak file(s) (with a samplesheet: the sheet and every file it names)."""
    e = exp_cfg(wc)
    if not tasks(wc):
        return inpath(e["peaks"])
    sheet = [inpath(e["samplesheet"])] if "samplesheet" in e else []
    return sheet + task_files(wc.exp, "peaks")


def prepared(wc):
    """The checked peaks' summary (prepare_peaks; prepare_tasks for a multi-task experiment)."""
    return f"{R}/{wc.exp}/prepare/{'tasks' if tasks(wc) else 'peaks'}.json"


def heldout(wc):
    """The peaks on the test chromosomes: a file (prepare_peaks), or for a multi-task experiment
    a folder with one file per task and a samplesheet of them (prepare_tasks)."""
    return f"{R}/{wc.exp}/prepare/heldout" + ("" if tasks(wc) else ".peaks")


def train_genome(wc):
    """The genome the peaks refer to: an input only when the experiment (or a task) names one."""
    if tasks(wc):
        return task_files(wc.exp, "genome")
    g = exp_cfg(wc).get("genome")
    return [inpath(g)] if g else []


def negatives_input(wc):
    if tasks(wc):
        return task_files(wc.exp, "negatives")
    neg = exp_cfg(wc)["negatives"]
    return [] if neg in ("shuffle", "background") else [inpath(neg)]


def data_args(wc):
    """--genome/--negatives options shared by train and evaluate (a samplesheet names its own)."""
    e = exp_cfg(wc)
    args = []
    if "samplesheet" in e:
        return ""
    if e.get("genome"):
        args += ["--genome", inpath(e["genome"])]
    neg = e["negatives"]
    args += ["--negatives", neg if neg in ("shuffle", "background") else inpath(neg)]
    return shlex.join(args)


def evaluate_args(wc, input):
    """The held-out peaks and their data options (a multi-task experiment: prepare_tasks' samplesheet)."""
    if tasks(wc):
        return shlex.join(["--samplesheet", f"{input.heldout}/samplesheet.tsv"])
    return f"{shlex.quote(input.heldout)} {data_args(wc)}"


def export_sequences(wc):
    """export's --sequences: the peaks; per task with --task-names; or --samplesheet."""
    e = exp_cfg(wc)
    if "samplesheet" in e:
        return shlex.join(["--samplesheet", inpath(e["samplesheet"])])
    if tasks(wc):
        seqs = [a for t in task_specs(wc.exp) for a in ("--sequences", t.peaks)]
        return shlex.join([*seqs, "--task-names", ",".join(tasks(wc))])
    return shlex.join(["--sequences", peaks(wc)])


def enrich_args(wc):
    """enrich's peak sets: the peaks (several with --names, or --samplesheet), genome, background.

    The controls follow the training negatives: shuffles, GC-matched genome regions
    ('background'), or the negatives file; a samplesheet names each task's own.
    """
    e = exp_cfg(wc)
    if "samplesheet" in e:
        return shlex.join(["--samplesheet", inpath(e["samplesheet"])])
    args = [t.peaks for t in task_specs(wc.exp)] + ["--names", ",".join(tasks(wc))] if tasks(wc) else [peaks(wc)]
    if e.get("genome"):
        args += ["--genome", inpath(e["genome"])]
    neg = e["negatives"]
    args += ["--background", {"shuffle": "shuffle", "background": "genome"}.get(neg) or inpath(neg)]
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


def scan_fdr(wc_or_name):
    """The FDR of an experiment's peaks, or None (peaks by probability threshold)."""
    return exp_cfg(wc_or_name).get("scan", {}).get("fdr")


# a one-task experiment with `scan: {fdr: Q}`: its shards also leave the p-value counts beside their
# peaks (PEAKS.pvalues.npz) for gather's q-values, declared as outputs by scan_shard_fdr
SINGLE_FDR_EXP = "|".join(e for e in SINGLE if scan_fdr(e) is not None) or "(?!)"
SINGLE_THRESHOLD_EXP = "|".join(e for e in SINGLE if scan_fdr(e) is None) or "(?!)"


def null_file(wc_or_name, suffix="h5"):
    """The null of the experiment's model on its scan genome (calibrate's output; .png: its QQ plot)."""
    return f"{R}/{_exp_name(wc_or_name)}/scan/null.{suffix}"


def scan_args(wc):
    s = scan_cfg(wc)
    args = ["--stride", s["stride"]]
    if scan_fdr(wc) is not None:
        args += ["--fdr", s["fdr"], "--null", null_file(wc)]
    else:
        args += ["--threshold", s.get("threshold", 0.5)]
    if "window" in s:
        args += ["--window", s["window"]]
    return f"{shlex.join(str(a) for a in args)} {s['extra']}"


def calibrate_args(wc):
    """The scan's window and stride (the null serves only them), and the null's size."""
    s = scan_cfg(wc)
    args = ["--stride", s["stride"]]
    if "window" in s:
        args += ["--window", s["window"]]
    if "null_mbp" in s:
        args += ["--mbp", s["null_mbp"]]
    return shlex.join(str(a) for a in args)


def shard_files(wc, suffix):
    """The shards' outputs; a multi-task experiment's shards are folders (one file per task inside)."""
    return [f"{R}/{wc.exp}/scan/shards/{i}{suffix}" for i in range(1, n_shards(wc) + 1)]


def task_suffix(exp):
    """"" for a one-task experiment, else one ".TASK" per task: the CLI's file naming
    (motifscan.io.outputs.task_path: track.bw -> track.TASK.bw)."""
    return [f".{t}" for t in tasks(exp)] or [""]


def scan_outputs(exp):
    return [f"{R}/{exp}/scan/{kind}{t}.{ext}" for t in task_suffix(exp) for kind, ext in (("track", "bw"), ("peaks", "bed"))]


# ----------------------------------------------------------------------------- variants, interpret
def interpreted(exp):
    """Per-base attributions: one-task experiments (multi-task ones skip the stage, for now)."""
    return exp_cfg(exp)["interpret"]["enabled"] and not tasks(exp)


def has_variants(exp):
    if "variants" in exp_cfg(exp) and tasks(exp):
        raise ValueError(f"experiment {exp}: the variants stage is for one-task experiments (for now); "
                         "remove `variants:` or run `motifscan variants` on the model")
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
    has_variants(exp)  # says now when a multi-task experiment asks for variants
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
        out += scan_outputs(exp)
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
        "enrich": [f"{BENCH}/{exp}/enrich.tsv"],
        "evaluate": [f"{BENCH}/{exp}/evaluate.tsv", f"{BENCH}/{exp}/summarise.tsv"],
    }
    if scanned(exp):
        g = scan_genome(wc)
        if g in SIMULATED:
            files["simulate"] = [f"{BENCH}/genomes/{g}/simulate.tsv"]
        files["scan"] = [f"{BENCH}/{exp}/scan_{i}.tsv" for i in range(1, n_shards(wc) + 1)]
        if scan_fdr(exp) is not None:
            files["scan"].append(f"{BENCH}/{exp}/calibrate.tsv")
        files["gather"] = [f"{BENCH}/{exp}/gather_{t}.tsv" for t in tasks(exp)] or [f"{BENCH}/{exp}/gather.tsv"]
        files["gather"].append(f"{BENCH}/genomes/{g}/chrom_sizes.tsv")
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
        files["called"] = [f"{R}/{wc.exp}/scan/peaks{t}.bed" for t in task_suffix(wc.exp)]
        files["sizes"] = f"{R}/genomes/{scan_genome(wc)}/chrom.sizes"
        truth = genome_truth(scan_genome(wc))
        if truth:
            files["truth"] = truth
    return files


def report_inputs(wc):
    files = {
        "data": prepared(wc),
        "summary": f"{R}/{wc.exp}/evaluate/summary.json",
        "metrics": f"{R}/{wc.exp}/evaluate/metrics.json",
        "roc": f"{R}/{wc.exp}/evaluate/roc.png",
        "pr": f"{R}/{wc.exp}/evaluate/pr.png",
        "table": f"{R}/{wc.exp}/motifs/motifs.tsv",
        "logos": f"{R}/{wc.exp}/motifs/logos",
        "matches": f"{R}/{wc.exp}/motifs/matches.tsv",
        "enrich": f"{R}/{wc.exp}/enrich",
        "benchmarks": [f for fs in stage_benchmarks(wc).values() for f in fs],
    }
    if scanned(wc.exp):
        files["track"] = [f"{R}/{wc.exp}/scan/track{t}.bw" for t in task_suffix(wc.exp)]
        if scan_fdr(wc) is not None:
            files["null_plot"] = null_file(wc, "png")
    if interpreted(wc.exp):
        files["contrib"] = f"{R}/{wc.exp}/interpret/logos"
        files["seqlets"] = f"{R}/{wc.exp}/interpret/seqlets.bed"
    if has_variants(wc.exp):
        files["effects"] = f"{R}/{wc.exp}/variants/effects.tsv"
        files["breaks"] = f"{R}/{wc.exp}/variants/motif_breaks.tsv"
    return files


def bench_args(wc):
    return shlex.join(f"{stage}={f}" for stage, fs in stage_benchmarks(wc).items() for f in fs)
