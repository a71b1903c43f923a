# Train: one shared-filter CNN per experiment (multi-task: one logit per task, the tasks' peak
# files with --task-names, or the samplesheet); held-out metrics are stored in the model file.


rule train:
    input:
        peaks=peaks,
        genome=train_genome,
        negatives=negatives_input,
        checked=prepared,  # train only on checked peaks
    output:
        model=f"{R}/{{exp}}/model.h5",
        metrics=f"{R}/{{exp}}/train_metrics.json",
    params:
        tasks=task_args,
        data=data_args,
        train=train_args,
        device=config["device"],
    conda:
        CONDA_ENV
    log:
        f"{LOGS}/{{exp}}/train.log",
    benchmark:
        f"{BENCH}/{{exp}}/train.tsv"
    threads: 2
    resources:
        mem_mb=4000,
        runtime=120,
        gpus=1,
    shell:
        job_mark("train") + "motifscan train {params.tasks} {params.data} {params.train}"
        " --device {params.device:q} --threads {threads} --metrics {output.metrics:q}"
        " -o {output.model:q} 2>> {log:q}"
