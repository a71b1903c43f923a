# Gather: the shards' bigWigs into one bigWig, their peaks into one peak BED (peaks cut at shard
# edges joined): byte for byte the outputs of the unsharded scan (motifscan.io.gather). A
# multi-task experiment gathers each task's files of the shard folders (track.TASK.bw, peaks.TASK.bed).


rule gather:
    input:
        tracks=lambda wc: shard_files(wc, ".bw"),
        peaks=lambda wc: shard_files(wc, ".peaks.bed"),
        manifests=lambda wc: shard_files(wc, ".bw.manifest.json"),
        pvalues=lambda wc: shard_files(wc, ".peaks.bed.pvalues.npz") if scan_fdr(wc) is not None else [],
        sizes=lambda wc: f"{R}/genomes/{scan_genome(wc)}/chrom.sizes",
    output:
        track=f"{R}/{{exp}}/scan/track.bw",
        peaks=f"{R}/{{exp}}/scan/peaks.bed",
    params:
        script=SCRIPTS / "gather.py",
        tracks=lambda wc, input: input.tracks,
        peaks=lambda wc, input: input.peaks,
    conda:
        CONDA_ENV
    log:
        f"{LOGS}/{{exp}}/gather.log",
    benchmark:
        f"{BENCH}/{{exp}}/gather.tsv"
    wildcard_constraints:
        exp=SINGLE_EXP,
    threads: 1
    resources:
        # measured at genome scale: workflows/profiles/slurm/config.yaml
        mem_mb=1000,
        runtime=30,
    shell:
        job_mark("gather") + "python {params.script:q} --sizes {input.sizes:q}"
        " --tracks {params.tracks:q} --peaks {params.peaks:q}"
        " --out-track {output.track:q} --out-peaks {output.peaks:q} 2>> {log:q}"


use rule gather as gather_task with:
    input:
        shards=lambda wc: shard_files(wc, ""),
        sizes=lambda wc: f"{R}/genomes/{scan_genome(wc)}/chrom.sizes",
    output:
        track=f"{R}/{{exp}}/scan/track.{{task}}.bw",
        peaks=f"{R}/{{exp}}/scan/peaks.{{task}}.bed",
    params:
        script=SCRIPTS / "gather.py",
        tracks=lambda wc, input: [f"{d}/track.{wc.task}.bw" for d in input.shards],
        peaks=lambda wc, input: [f"{d}/peaks.{wc.task}.bed" for d in input.shards],
    log:
        f"{LOGS}/{{exp}}/gather_{{task}}.log",
    benchmark:
        f"{BENCH}/{{exp}}/gather_{{task}}.tsv"
    wildcard_constraints:
        exp=MULTI_EXP,
