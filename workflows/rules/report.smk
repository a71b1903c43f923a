# Report: one self-contained HTML page per experiment (metrics, curves, logos with their best
# database matches, recovery of planted sites, contribution logos of top held-out peaks,
# variant effects, run time of each stage; for a multi-task model, metrics, recovery and top
# motifs per task and the filters the tasks share).


rule report:
    input:
        unpack(report_inputs),
    output:
        f"{R}/{{exp}}/report.html",
    params:
        script=SCRIPTS / "report.py",
        bench=bench_args,
        track=lambda wc, input: shlex.join(["--track", *input.track]) if "track" in input.keys() else "",
        more=lambda wc, input: shlex.join([f"--{k.replace('_', '-')}={input[k]}" for k in
                                           ("contrib", "seqlets", "effects", "breaks", "null_plot")
                                           if k in input.keys()]
                                          + ([f"--fdr={scan_fdr(wc)}"] if scan_fdr(wc) is not None else [])),
    conda:
        CONDA_ENV
    log:
        f"{LOGS}/{{exp}}/report.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    shell:
        job_mark("report") + "python {params.script:q} --name {wildcards.exp:q} --data {input.data:q}"
        " --summary {input.summary:q} --metrics {input.metrics:q} --roc {input.roc:q}"
        " --pr {input.pr:q} --table {input.table:q} --logos {input.logos:q}"
        " --matches {input.matches:q} --enrich {input.enrich:q} {params.track} {params.more} --benchmarks {params.bench} -o {output:q} 2>> {log:q}"
