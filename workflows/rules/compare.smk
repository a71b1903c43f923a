# Compare: every exported motif against the motif database (Tomtom-style p/E/q-values).


rule compare:
    input:
        motifs=f"{R}/{{exp}}/motifs/motifs.meme",
        db=motif_db(),
    output:
        f"{R}/{{exp}}/motifs/matches.tsv",
    conda:
        CONDA_ENV
    log:
        f"{LOGS}/{{exp}}/compare.log",
    benchmark:
        f"{BENCH}/{{exp}}/compare.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=15,
    shell:
        job_mark("compare") + "motifscan compare {input.motifs:q} --db {input.db:q} -o {output:q} 2>> {log:q}"
