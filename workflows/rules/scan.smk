# Scan: the genome-wide scan, scattered into shards (motifscan scan --shard I/N), each shard a
# separate job (a separate SLURM job, GPU if requested, on a cluster). Each shard is scanned once:
# the pass writes its bigWig track and its peaks together (-o I.bw --peaks I.peaks.bed).


rule scan_shard:
    input:
        model=f"{R}/{{exp}}/model.h5",
        genome=lambda wc: genome_fasta(scan_genome(wc)),
        # chrom_sizes indexes the genome first, so parallel shards do not race to write the .fai
        sizes=lambda wc: f"{R}/genomes/{scan_genome(wc)}/chrom.sizes",
    output:
        track=f"{R}/{{exp}}/scan/shards/{{shard}}.bw",
        peaks=f"{R}/{{exp}}/scan/shards/{{shard}}.peaks.bed",
    params:
        shard=lambda wc: f"{wc.shard}/{n_shards(wc)}",
        args=scan_args,
        device=config["device"],
    conda:
        CONDA_ENV
    log:
        f"{LOGS}/{{exp}}/scan_{{shard}}.log",
    benchmark:
        f"{BENCH}/{{exp}}/scan_{{shard}}.tsv"
    threads: 1
    resources:
        # measured at genome scale: workflows/profiles/slurm/config.yaml
        mem_mb=1500,
        runtime=60,
        gpus=1,
    shell:
        job_mark("scan_shard") + "motifscan scan {input.model:q} {input.genome:q} --shard {params.shard}"
        " {params.args} --device {params.device:q} --threads {threads} --quiet"
        " -o {output.track:q} --peaks {output.peaks:q} 2>> {log:q}"
