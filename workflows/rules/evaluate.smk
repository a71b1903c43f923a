# Evaluate: metrics and curves on the held-out peaks (motifscan evaluate; per task and their mean for a
# multi-task model), then one summary with the model file's held-out metrics and, when the scanned
# genome has a truth BED, the recovery of its sites (by each task's peaks).


rule evaluate:
    input:
        model=f"{R}/{{exp}}/model.h5",
        heldout=heldout,
        genome=train_genome,
        negatives=negatives_input,
    output:
        metrics=f"{R}/{{exp}}/evaluate/metrics.json",
        roc=f"{R}/{{exp}}/evaluate/roc.png",
        pr=f"{R}/{{exp}}/evaluate/pr.png",
    params:
        data=evaluate_args,
        outdir=lambda wc, output: str(Path(output.metrics).parent),
        device=config["device"],
    conda:
        CONDA_ENV
    log:
        f"{LOGS}/{{exp}}/evaluate.log",
    benchmark:
        f"{BENCH}/{{exp}}/evaluate.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    shell:
        job_mark("evaluate") + "motifscan evaluate {input.model:q} {params.data}"
        " --device {params.device:q} --threads {threads} -o {params.outdir:q} 2>> {log:q}"


rule summarise:
    input:
        unpack(summary_inputs),
    output:
        f"{R}/{{exp}}/evaluate/summary.json",
    params:
        script=SCRIPTS / "summarise.py",
        scan=lambda wc, input: (
            shlex.join(["--peaks", *input.called, "--sizes", input.sizes]
                       + (["--tasks", ",".join(tasks(wc))] if tasks(wc) else [])
                       + (["--truth", input.truth] if "truth" in input.keys() else []))
            if "called" in input.keys() else ""
        ),
    conda:
        CONDA_ENV
    log:
        f"{LOGS}/{{exp}}/summarise.log",
    benchmark:
        f"{BENCH}/{{exp}}/summarise.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    shell:
        job_mark("summarise") + "python {params.script:q} {input.model:q} --metrics {input.metrics:q}"
        " {params.scan} -o {output:q} 2>> {log:q}"
