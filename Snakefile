"""motifscan workflow: train -> export -> compare -> enrich (known motifs in the peaks) -> genome-wide
scan -> evaluate -> interpret (per-base attributions of the held-out peaks) -> variant effects (when a
VCF is named) -> report.

Run the bundled demo (CTCF peaks, a simulated genome with planted CTCF sites) on 2 cores:

    snakemake -c2

Your own experiments (the config names peaks, genomes and model options; see
workflows/schemas/config.schema.yaml), on a laptop or on a SLURM cluster:

    snakemake --profile workflows/profiles/local --configfile my.yaml
    snakemake --profile workflows/profiles/slurm --configfile my.yaml

Outputs go to results/ (per experiment: model.h5, motifs/, scan/, evaluate/, report.html),
one log per job to logs/, run times to results/benchmarks/.
"""

from snakemake.utils import min_version, validate

min_version("8.0")


# A --configfile replaces the demo config instead of being merged into it.
if not workflow.overwrite_configfiles:

    configfile: f"{workflow.basedir}/workflows/config/config.yaml"


validate(config, "workflows/schemas/config.schema.yaml")


include: "workflows/rules/common.smk"
include: "workflows/rules/prepare.smk"
include: "workflows/rules/train.smk"
include: "workflows/rules/export.smk"
include: "workflows/rules/compare.smk"
include: "workflows/rules/enrich.smk"
include: "workflows/rules/scan.smk"
include: "workflows/rules/gather.smk"
include: "workflows/rules/evaluate.smk"
include: "workflows/rules/interpret.smk"
include: "workflows/rules/variants.smk"
include: "workflows/rules/report.smk"


rule all:
    input:
        [out for exp in EXPS for out in experiment_outputs(exp)],
    default_target: True
