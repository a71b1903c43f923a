# Prepare: check the peaks and summarise them (each task's, for a multi-task experiment); make the
# simulated genomes; chromosome sizes.


rule prepare_peaks:
    input:
        peaks=peaks,
        genome=train_genome,
    output:
        summary=f"{R}/{{exp}}/prepare/peaks.json",
        # same format as the peaks (FASTA or BED; motifscan reads either by content)
        heldout=f"{R}/{{exp}}/prepare/heldout.peaks",
    params:
        script=SCRIPTS / "prepare_peaks.py",
        genome=lambda wc, input: shlex.join(["--genome", input.genome[0]]) if input.genome else "",
        test=lambda wc: ",".join(exp_cfg(wc)["train"]["test_chroms"]),
    conda:
        CONDA_ENV
    log:
        f"{LOGS}/{{exp}}/prepare.log",
    benchmark:
        f"{BENCH}/{{exp}}/prepare.tsv"
    wildcard_constraints:
        exp=SINGLE_EXP,
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    shell:
        job_mark("prepare_peaks") + "python {params.script:q} {input.peaks:q} {params.genome}"
        " --test-chroms {params.test:q} --heldout {output.heldout:q} -o {output.summary:q}"
        " 2>> {log:q}"


# A multi-task experiment: every task's peaks in one job; the held-out peaks go to a folder with
# a samplesheet of them (each task's negatives and genome) for evaluate.
rule prepare_tasks:
    input:
        peaks=peaks,
        genome=train_genome,
    output:
        summary=f"{R}/{{exp}}/prepare/tasks.json",
        heldout=directory(f"{R}/{{exp}}/prepare/heldout"),
    params:
        script=SCRIPTS / "prepare_peaks.py",
        tasks=task_args,
        data=data_args,
        test=lambda wc: ",".join(exp_cfg(wc)["train"]["test_chroms"]),
    conda:
        CONDA_ENV
    log:
        f"{LOGS}/{{exp}}/prepare.log",
    benchmark:
        f"{BENCH}/{{exp}}/prepare.tsv"
    wildcard_constraints:
        exp=MULTI_EXP,
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    shell:
        job_mark("prepare_tasks") + "python {params.script:q} {params.tasks} {params.data}"
        " --test-chroms {params.test:q} --heldout {output.heldout:q} -o {output.summary:q}"
        " 2>> {log:q}"


rule simulate_genome:
    output:
        fasta=f"{R}/genomes/{{genome}}/genome.fa",
        truth=f"{R}/genomes/{{genome}}/truth.bed",
    params:
        args=simulate_args,
    conda:
        CONDA_ENV
    log:
        f"{LOGS}/genomes/{{genome}}/simulate.log",
    benchmark:
        f"{BENCH}/genomes/{{genome}}/simulate.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    shell:
        job_mark("simulate_genome") + "motifscan simulate -o {output.fasta:q} --truth {output.truth:q} {params.args}"
        " 2>> {log:q}"


rule chrom_sizes:
    input:
        lambda wc: genome_fasta(wc.genome),
    output:
        f"{R}/genomes/{{genome}}/chrom.sizes",
    params:
        script=SCRIPTS / "chrom_sizes.py",
    conda:
        CONDA_ENV
    log:
        f"{LOGS}/genomes/{{genome}}/chrom_sizes.log",
    benchmark:
        f"{BENCH}/genomes/{{genome}}/chrom_sizes.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=30,
    shell:
        job_mark("chrom_sizes") + "python {params.script:q} {input:q} -o {output:q} 2>> {log:q}"
