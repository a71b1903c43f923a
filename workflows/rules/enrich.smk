# Enrich: which known motifs (the motif database, JASPAR by default) are enriched in the training
# peaks against controls (motifscan enrich: FIMO-exact sites, Fisher's test, BH q-values), one
# table and plot per peak set; the report puts the top motifs next to the motifs the model learned.


rule enrich:
    input:
        peaks=peaks,
        genome=train_genome,
        negatives=negatives_input,
        db=motif_db(),
    output:
        directory(f"{R}/{{exp}}/enrich"),
    params:
        sets=enrich_args,
        length=lambda wc: exp_cfg(wc)["train"]["length"],
    conda:
        CONDA_ENV
    log:
        f"{LOGS}/{{exp}}/enrich.log",
    benchmark:
        f"{BENCH}/{{exp}}/enrich.tsv"
    threads: 2
    resources:
        mem_mb=2000,
        runtime=30,
    shell:
        job_mark("enrich") + "mkdir -p {output:q} && motifscan enrich {params.sets} --motifs {input.db:q}"
        " --length {params.length} --top 10 --threads {threads} -o {output:q}/enrichment.tsv"
        " --plot {output:q}/enrichment.png 2>> {log:q}"
