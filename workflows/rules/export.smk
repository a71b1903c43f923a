# Export: the model's filters as motifs (MEME with a TSV of influence and best JASPAR match,
# logos), then the same motifs in the other formats. Filters that learned the same motif are
# written once per group (the TSV lists the members); the influence contrasts the peaks with the
# negatives the model was trained with. A multi-task model's table has one influence column per task.


rule export:
    input:
        model=f"{R}/{{exp}}/model.h5",
        peaks=peaks,
        genome=train_genome,
        negatives=negatives_input,
    output:
        meme=f"{R}/{{exp}}/motifs/motifs.meme",
        table=f"{R}/{{exp}}/motifs/motifs.tsv",
        logos=directory(f"{R}/{{exp}}/motifs/logos"),
    params:
        sequences=export_sequences,
        # a samplesheet names each task's genome and negatives
        genome=lambda wc, input: shlex.join(["--genome", input.genome[0]])
        if input.genome and "samplesheet" not in exp_cfg(wc) else "",
        negatives=lambda wc, input: "" if "samplesheet" in exp_cfg(wc) else shlex.join(
            ["--negatives", input.negatives[0] if input.negatives else exp_cfg(wc)["negatives"]]),
        trim=lambda wc: "--trim" if exp_cfg(wc)["export"]["trim"] else "",
        extra=lambda wc: exp_cfg(wc)["export"]["extra"],
        db=motif_db(),
        device=config["device"],
    conda:
        CONDA_ENV
    log:
        f"{LOGS}/{{exp}}/export.log",
    benchmark:
        f"{BENCH}/{{exp}}/export.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    shell:
        job_mark("export") + "motifscan export {input.model:q} {params.sequences} {params.genome}"
        " {params.negatives} {params.trim} --db {params.db:q} --logos {output.logos:q} {params.extra}"
        " --device {params.device:q} --threads {threads} -o {output.meme:q} 2>> {log:q}"


rule convert_motifs:
    input:
        f"{R}/{{exp}}/motifs/motifs.meme",
    output:
        f"{R}/{{exp}}/motifs/motifs.{{fmt}}",
    params:
        script=SCRIPTS / "convert_motifs.py",
    conda:
        CONDA_ENV
    log:
        f"{LOGS}/{{exp}}/convert_{{fmt}}.log",
    benchmark:
        f"{BENCH}/{{exp}}/convert_{{fmt}}.tsv"
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    shell:
        job_mark("convert_motifs") + "python {params.script:q} {input:q} -o {output:q} 2>> {log:q}"
