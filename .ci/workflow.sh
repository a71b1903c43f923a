#!/usr/bin/env bash
# CI for the Snakemake workflow (called by .ci/run, inside its virtual environment):
#   1. snakemake --lint and a dry run of the demo config;
#   2. the demo workflow end to end with the test config (local profile), outputs checked (the
#      one-task experiment ctcf and the two-task ctcf_mafk, per-task outputs included);
#   3. the SLURM test: Debian's slurm + munge, a one-node cluster on localhost, the same workflow
#      (its one-task experiment) through the slurm profile, and a check that every job ran as a SLURM job (FAIL otherwise;
#      the check is also run on step 2's local logs and must fail there). Daemons are stopped by
#      PID from a trap.
# Env: SKIP_SLURM=1 skips step 3; SLURM_STATE (default /tmp/motifscan-slurm) holds its state.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WORK=$(mktemp -d "${TMPDIR:-/tmp}/motifscan-ci-workflow.XXXXXX")
TEST_CONFIG=$ROOT/workflows/config/test.yaml
SM=(snakemake -s "$ROOT/Snakefile" --configfile "$TEST_CONFIG")
# the scan options of workflows/config/test.yaml: the gathered scan must equal an unsharded one
SCAN_ARGS="--stride 50 --threshold 0.5"
# the two-task experiment ctcf_mafk: each task's top motif (by its own influence) is its factor's
MT_MATCH=(--expect-match ctcf=CTCF --expect-match 'mafk=MAF.*|NFE2.*')
t0=$(date +%s)
say() { echo "ci/workflow: $*"; }

say "snakemake $(snakemake --version), slurm plugin $(python -c 'import importlib.metadata as m; print(m.version("snakemake-executor-plugin-slurm"))')"

# --- 1. lint and dry run --------------------------------------------------------------------
snakemake --lint
snakemake -n -q
say "lint and dry run clean"

# --- 2. demo workflow end to end, locally ---------------------------------------------------
t=$(date +%s)
"${SM[@]}" -d "$WORK/local" --profile "$ROOT/workflows/profiles/local" > "$WORK/local.log" 2>&1 \
    || { tail -50 "$WORK/local.log"; say "FAIL: local workflow run"; exit 1; }
python workflows/scripts/check_outputs.py "$WORK/local/results" --exp ctcf --expect-match CTCF \
    --unsharded "$WORK/local/results/genomes/demo/genome.fa" --scan-args "$SCAN_ARGS"
python workflows/scripts/check_outputs.py "$WORK/local/results" --exp ctcf_mafk "${MT_MATCH[@]}" \
    --unsharded "$WORK/local/results/genomes/demo/genome.fa" --scan-args "$SCAN_ARGS"
say "local run: $(( $(date +%s) - t )) s"

# --- 3. SLURM ---------------------------------------------------------------------------------
if [[ ${SKIP_SLURM:-0} == 1 ]]; then
    say "SKIP_SLURM=1: skipping the SLURM test"
    exit 0
fi
t=$(date +%s)
if ! command -v slurmctld >/dev/null && [[ ! -x /usr/sbin/slurmctld ]]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        slurmctld slurmd slurm-client munge > "$WORK/apt.log" 2>&1 \
        || { tail -20 "$WORK/apt.log"; say "FAIL: apt-get install slurm"; exit 1; }
fi
say "slurm $(/usr/sbin/slurmctld -V 2>/dev/null || true) installed ($(( $(date +%s) - t )) s)"
export SLURM_STATE=${SLURM_STATE:-/tmp/motifscan-slurm}
trap 'workflows/slurm/cluster.sh stop || true' EXIT
workflows/slurm/cluster.sh start
CTLD_LOG=$SLURM_STATE/log/slurmctld.log

t=$(date +%s)
# The SLURM run tests the executor and the profile on the one-task experiment (every rule kind but
# the two per-task ones, which step 2 ran): the multi-task experiment's 12 jobs would add ~100 s.
SLURM_CONFIG=$WORK/slurm.yaml
python - "$TEST_CONFIG" "$SLURM_CONFIG" <<'PY'
import sys, yaml
cfg = yaml.safe_load(open(sys.argv[1]))
cfg["experiments"] = {"ctcf": cfg["experiments"]["ctcf"]}
yaml.safe_dump(cfg, open(sys.argv[2], "w"))
PY
# timeout -k: Snakemake catches TERM and keeps waiting on jobs, so KILL it 20 s later.
# Init seconds 2 (default 40) keeps the test short; MinJobAge=300 stays above 3x that.
timeout -k 20 900 snakemake -s "$ROOT/Snakefile" --configfile "$SLURM_CONFIG" -d "$WORK/slurm" \
    --profile "$ROOT/workflows/profiles/slurm" \
    --jobs 4 --slurm-init-seconds-before-status-checks 2 --latency-wait 5 \
    > "$WORK/slurm.log" 2>&1 \
    || { rc=$?; tail -50 "$WORK/slurm.log"; tail -20 "$CTLD_LOG" || true;
         say "FAIL: workflow through SLURM (exit $rc)"; exit 1; }
say "workflow through SLURM: $(( $(date +%s) - t )) s"
python workflows/slurm/check_jobs.py --logs "$WORK/slurm/logs" --snakemake-log "$WORK/slurm.log" \
    --ctld-log "$CTLD_LOG"
python workflows/scripts/check_outputs.py "$WORK/slurm/results" --exp ctcf --expect-match CTCF \
    --unsharded "$WORK/slurm/results/genomes/demo/genome.fa" --scan-args "$SCAN_ARGS"
# The check must catch jobs that ran outside SLURM: step 2's jobs did.
if python workflows/slurm/check_jobs.py --logs "$WORK/local/logs" --snakemake-log "$WORK/local.log" \
    --ctld-log "$CTLD_LOG" 2> "$WORK/negative.log"; then
    say "FAIL: check_jobs.py passed a run whose jobs ran outside SLURM"; exit 1
fi
say "check_jobs.py rejects the local run ($(grep -c FAIL "$WORK/negative.log") problems found)"
say "OK in $(( $(date +%s) - t0 )) s (work dir $WORK)"
