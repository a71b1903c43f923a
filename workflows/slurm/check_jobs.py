"""Check that every job of a workflow run went through SLURM; exit 1 (and say why) if not.

    python workflows/slurm/check_jobs.py --logs WORKDIR/logs --snakemake-log run.log \
        --ctld-log /tmp/motifscan-slurm/log/slurmctld.log

Every rule's log starts with the line ``motifscan-workflow job: rule=R host=H slurm_job_id=ID``
(ID is ``$SLURM_JOB_ID``, or ``none`` outside SLURM). A run passes when:

1. every job log names a SLURM job id (none says ``none``), ids are distinct;
2. the controller log shows each of those ids completing with exit status 0;
3. Snakemake's own output ran no rule locally (``localrule X`` for anything but ``all``), and
   counted as many jobs as there are job logs.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

MARK = re.compile(r"^motifscan-workflow job: rule=(\S+) host=(\S*) slurm_job_id=(\S+)")
LOCAL_RULE = re.compile(r"^localrule (\w+):", re.M)
REMOTE_RULE = re.compile(r"^rule (\w+):", re.M)


def check(logs: Path, snakemake_log: Path, ctld_log: Path) -> list[str]:
    """Return the problems found (empty: every job ran under SLURM)."""
    problems: list[str] = []
    jobs: dict[str, str] = {}
    files = sorted(logs.rglob("*.log"))
    if not files:
        return [f"no job logs under {logs}"]
    for f in files:
        first = f.read_text(errors="replace").split("\n", 1)[0]
        m = MARK.match(first)
        if not m:
            problems.append(f"{f}: no job marker line (did the job run at all?)")
            continue
        rule, _host, job_id = m.groups()
        if not job_id.isdigit():
            problems.append(f"{f}: rule {rule} ran outside SLURM (slurm_job_id={job_id})")
        elif job_id in jobs:
            problems.append(f"{f}: SLURM job {job_id} also ran {jobs[job_id]}")
        else:
            jobs[job_id] = f"{rule} ({f.name})"

    ctld = ctld_log.read_text(errors="replace") if ctld_log.exists() else ""
    if not ctld:
        problems.append(f"{ctld_log}: missing or empty controller log")
    for job_id, what in jobs.items():
        if not re.search(rf"_job_complete: JobId={job_id} WEXITSTATUS 0\b", ctld):
            problems.append(f"controller log has no successful completion of job {job_id} ({what})")

    text = snakemake_log.read_text(errors="replace")
    local = [r for r in LOCAL_RULE.findall(text) if r != "all"]
    if local:
        problems.append(f"{snakemake_log}: rules ran locally, not through SLURM: {sorted(set(local))}")
    remote = REMOTE_RULE.findall(text)
    if len(remote) != len(files):
        problems.append(f"{snakemake_log}: {len(remote)} jobs submitted but {len(files)} job logs")
    return problems


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--logs", type=Path, required=True, help="the workflow's logs/ folder")
    ap.add_argument("--snakemake-log", type=Path, required=True, help="Snakemake's output")
    ap.add_argument("--ctld-log", type=Path, required=True, help="slurmctld's log file")
    args = ap.parse_args()
    problems = check(args.logs, args.snakemake_log, args.ctld_log)
    for p in problems:
        print(f"check_jobs: FAIL: {p}", file=sys.stderr)
    if problems:
        sys.exit(1)
    n = len(list(args.logs.rglob("*.log")))
    print(f"check_jobs: OK: all {n} jobs ran as SLURM jobs and completed with exit status 0",
          file=sys.stderr)


if __name__ == "__main__":
    main()
