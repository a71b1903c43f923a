# Gather: the shards' bigWigs into one bigWig, their peaks into one peak BED (peaks cut at shard
# edges joined): byte for byte the outputs of the unsharded scan (motifscan.io.gather).


rule gather:
    input:
        tracks=lambda wc: shard_files(wc, ".bw"),
        peaks=lambda wc: shard_files(wc, ".peaks.bed"),
        sizes=lambda wc: f"{R}/genomes/{scan_genome(wc)}/chrom.sizes",
    output:
        track=f"{R}/{{exp}}/scan/track.bw",
        peaks=f"{R}/{{exp}}/scan/peaks.bed",
    params:
        script=SCRIPTS / "gather.py",
    conda:
        CONDA_ENV
    log:
        f"{LOGS}/{{exp}}/gather.log",
    benchmark:
        f"{BENCH}/{{exp}}/gather.tsv"
    threads: 1
    resources:
        # measured at genome scale: workflows/profiles/slurm/config.yaml
        mem_mb=1000,
        runtime=30,
    shell:
        job_mark("gather") + "python {params.script:q} --sizes {input.sizes:q}"
        " --tracks {input.tracks:q} --peaks {input.peaks:q}"
        " --out-track {output.track:q} --out-peaks {output.peaks:q} 2>> {log:q}"
