# Interpret: per-base attributions of the held-out peaks (motifscan attribute: exact ISM by
# default), seqlets named after their best database match, and contribution logos of the
# top-scoring peaks for the report.


rule interpret:
    input:
        model=f"{R}/{{exp}}/model.h5",
        heldout=heldout,
        genome=train_genome,
    output:
        attributions=f"{R}/{{exp}}/interpret/attributions.npz",
        sequences=f"{R}/{{exp}}/interpret/sequences.npz",
        seqlets=f"{R}/{{exp}}/interpret/seqlets.bed",
    params:
        genome=lambda wc, input: shlex.join(["--genome", input.genome[0]]) if input.genome else "",
        method=lambda wc: exp_cfg(wc)["interpret"]["method"],
        extra=lambda wc: exp_cfg(wc)["interpret"]["extra"],
        db=motif_db(),
        device=config["device"],
    conda:
        CONDA_ENV
    log:
        f"{LOGS}/{{exp}}/interpret.log",
    benchmark:
        f"{BENCH}/{{exp}}/interpret.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    shell:
        job_mark("interpret") + "motifscan attribute {input.model:q} {input.heldout:q} {params.genome}"
        " --method {params.method} --center --onehot-out {output.sequences:q} --seqlets {output.seqlets:q}"
        " --motifs {params.db:q} {params.extra} --device {params.device:q} --threads {threads}"
        " -o {output.attributions:q} 2>> {log:q}"


rule contribution_logos:
    input:
        attributions=f"{R}/{{exp}}/interpret/attributions.npz",
        sequences=f"{R}/{{exp}}/interpret/sequences.npz",
    output:
        directory(f"{R}/{{exp}}/interpret/logos"),
    params:
        script=SCRIPTS / "contribution_logos.py",
        top=lambda wc: exp_cfg(wc)["interpret"]["top"],
    conda:
        CONDA_ENV
    log:
        f"{LOGS}/{{exp}}/contribution_logos.log",
    benchmark:
        f"{BENCH}/{{exp}}/contribution_logos.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    shell:
        job_mark("contribution_logos") + "python {params.script:q} {input.attributions:q}"
        " --sequences {input.sequences:q} --top {params.top} -o {output:q} 2>> {log:q}"
