# Scan: the genome-wide scan, scattered into shards (motifscan scan --shard I/N), each shard a
# separate job (a separate SLURM job, GPU if requested, on a cluster). Each shard is scanned once:
# the pass writes its bigWig track and its peaks together (-o I.bw --peaks I.peaks.bed). A
# multi-task model's shard is a folder I/ with every task's track and peaks from the same pass
# (track.TASK.bw, peaks.TASK.bed: the CLI's naming).
#
# With `scan: {fdr: Q}` one calibrate job first builds the null of the model's window scores on the
# scan genome (null.h5, and its QQ plot null.png); every shard scans with it (--null), and leaves
# its p-value counts beside its peaks (PEAKS.pvalues.npz) for gather's genome-wide q-values.


rule calibrate:
    input:
        model=f"{R}/{{exp}}/model.h5",
        genome=lambda wc: genome_fasta(scan_genome(wc)),
        sizes=lambda wc: f"{R}/genomes/{scan_genome(wc)}/chrom.sizes",
    output:
        null=f"{R}/{{exp}}/scan/null.h5",
        plot=f"{R}/{{exp}}/scan/null.png",
    params:
        args=calibrate_args,
        device=config["device"],
    conda:
        CONDA_ENV
    log:
        f"{LOGS}/{{exp}}/calibrate.log",
    benchmark:
        f"{BENCH}/{{exp}}/calibrate.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=60,
        gpus=1,
    shell:
        job_mark("calibrate") + "motifscan calibrate {input.model:q} {input.genome:q} {params.args}"
        " --device {params.device:q} --threads {threads} --quiet -o {output.null:q} --plot {output.plot:q} 2>> {log:q}"


rule scan_shard:
    input:
        model=f"{R}/{{exp}}/model.h5",
        genome=lambda wc: genome_fasta(scan_genome(wc)),
        # chrom_sizes indexes the genome first, so parallel shards do not race to write the .fai
        sizes=lambda wc: f"{R}/genomes/{scan_genome(wc)}/chrom.sizes",
        null=lambda wc: [null_file(wc)] if scan_fdr(wc) is not None else [],
    output:
        track=f"{R}/{{exp}}/scan/shards/{{shard}}.bw",
        peaks=f"{R}/{{exp}}/scan/shards/{{shard}}.peaks.bed",
        # what gather checks the set of shards with (motifscan.io.manifest), written with the track
        manifest=f"{R}/{{exp}}/scan/shards/{{shard}}.bw.manifest.json",
    params:
        shard=lambda wc: f"{wc.shard}/{n_shards(wc)}",
        args=scan_args,
        device=config["device"],
        folder=lambda wc, output: str(Path(output.track).parent),
        track=lambda wc, output: output.track,
        peaks=lambda wc, output: output.peaks,
    conda:
        CONDA_ENV
    log:
        f"{LOGS}/{{exp}}/scan_{{shard}}.log",
    benchmark:
        f"{BENCH}/{{exp}}/scan_{{shard}}.tsv"
    wildcard_constraints:
        exp=SINGLE_THRESHOLD_EXP,
    threads: 1
    resources:
        # measured at genome scale: workflows/profiles/slurm/config.yaml
        mem_mb=1500,
        runtime=60,
        gpus=1,
    shell:
        job_mark("scan_shard") + "mkdir -p {params.folder:q} && motifscan scan {input.model:q} {input.genome:q}"
        " --shard {params.shard} {params.args} --device {params.device:q} --threads {threads} --quiet"
        " -o {params.track:q} --peaks {params.peaks:q} 2>> {log:q}"


use rule scan_shard as scan_shard_fdr with:
    output:
        track=f"{R}/{{exp}}/scan/shards/{{shard}}.bw",
        peaks=f"{R}/{{exp}}/scan/shards/{{shard}}.peaks.bed",
        manifest=f"{R}/{{exp}}/scan/shards/{{shard}}.bw.manifest.json",
        # the shard's p-value counts and candidate windows: gather's genome-wide q-values
        pvalues=f"{R}/{{exp}}/scan/shards/{{shard}}.peaks.bed.pvalues.npz",
    wildcard_constraints:
        exp=SINGLE_FDR_EXP,


use rule scan_shard as scan_shard_tasks with:
    output:
        folder=directory(f"{R}/{{exp}}/scan/shards/{{shard}}"),
    params:
        shard=lambda wc: f"{wc.shard}/{n_shards(wc)}",
        args=scan_args,
        device=config["device"],
        folder=lambda wc, output: output.folder,
        track=lambda wc, output: f"{output.folder}/track.bw",
        peaks=lambda wc, output: f"{output.folder}/peaks.bed",
    wildcard_constraints:
        exp=MULTI_EXP,
