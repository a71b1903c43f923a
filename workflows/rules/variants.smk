# Variants: the effect of every allele of a VCF on binding (motifscan variants), by the
# experiment's model and by the motif database, when the experiment names a VCF (or a simulated
# genome draws demo SNVs).


rule simulate_snvs:
    input:
        fasta=f"{R}/genomes/{{genome}}/genome.fa",
        truth=f"{R}/genomes/{{genome}}/truth.bed",
        sizes=f"{R}/genomes/{{genome}}/chrom.sizes",  # the genome is indexed first
    output:
        f"{R}/genomes/{{genome}}/snvs.vcf",
    params:
        script=SCRIPTS / "simulate_snvs.py",
        n=lambda wc: config["genomes"][wc.genome]["simulate"]["snvs"],
        seed=lambda wc: config["genomes"][wc.genome]["simulate"]["seed"],
    conda:
        CONDA_ENV
    log:
        f"{LOGS}/genomes/{{genome}}/simulate_snvs.log",
    benchmark:
        f"{BENCH}/genomes/{{genome}}/simulate_snvs.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    shell:
        job_mark("simulate_snvs") + "python {params.script:q} {input.fasta:q} --truth {input.truth:q}"
        " --n {params.n} --seed {params.seed} -o {output:q} 2>> {log:q}"


rule variants_model:
    input:
        model=f"{R}/{{exp}}/model.h5",
        vcf=variants_vcf,
        genome=lambda wc: genome_fasta(variants_cfg(wc)["genome"]),
        sizes=lambda wc: f"{R}/genomes/{variants_cfg(wc)['genome']}/chrom.sizes",
    output:
        effects=f"{R}/{{exp}}/variants/effects.tsv",
        vcf=f"{R}/{{exp}}/variants/annotated.vcf.gz",
        # declared (after the VCF) so that Snakemake, which touches a job's outputs when it ends,
        # leaves the index newer than its file; else htslib warns that it is older on every query
        tbi=f"{R}/{{exp}}/variants/annotated.vcf.gz.tbi",
    params:
        extra=lambda wc: variants_cfg(wc)["extra"],
        device=config["device"],
    conda:
        CONDA_ENV
    log:
        f"{LOGS}/{{exp}}/variants_model.log",
    benchmark:
        f"{BENCH}/{{exp}}/variants_model.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=60,
    shell:
        job_mark("variants_model") + "motifscan variants {input.model:q} {input.vcf:q} --genome {input.genome:q}"
        " --vcf-out {output.vcf:q} {params.extra} --device {params.device:q} --threads {threads}"
        " -o {output.effects:q} 2>> {log:q}"


rule variants_motifs:
    input:
        vcf=variants_vcf,
        genome=lambda wc: genome_fasta(variants_cfg(wc)["genome"]),
        sizes=lambda wc: f"{R}/genomes/{variants_cfg(wc)['genome']}/chrom.sizes",
        db=motif_db(),
    output:
        f"{R}/{{exp}}/variants/motif_breaks.tsv",
    params:
        pvalue=lambda wc: variants_cfg(wc)["pvalue"],
        device=config["device"],
    conda:
        CONDA_ENV
    log:
        f"{LOGS}/{{exp}}/variants_motifs.log",
    benchmark:
        f"{BENCH}/{{exp}}/variants_motifs.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=60,
    shell:
        job_mark("variants_motifs") + "motifscan variants {input.db:q} {input.vcf:q} --genome {input.genome:q}"
        " --pvalue {params.pvalue} --device {params.device:q} --threads {threads} -o {output:q} 2>> {log:q}"
