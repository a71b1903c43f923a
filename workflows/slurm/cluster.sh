#!/usr/bin/env bash
# A one-node SLURM cluster on localhost, for testing the workflow's SLURM profile.
#
#   workflows/slurm/cluster.sh start    # munged (as munge), slurmctld, slurmd -N localhost
#   workflows/slurm/cluster.sh status
#   workflows/slurm/cluster.sh stop     # scancel, then TERM each daemon by its pid file
#
# Needs root and Debian's packages (apt-get install slurmctld slurmd slurm-client munge).
# Writes /etc/slurm/slurm.conf and gres.conf (the node offers FAKE_GPUS "gpu" generic
# resources with no device behind them, so jobs that request --gres=gpu:1 are scheduled as on a
# GPU cluster; the jobs themselves run on the CPU). State, logs and pid files go to STATE.
# Everything listens on 127.0.0.1 only. Daemons are stopped by pid, never by name.
# Recipe and pitfalls: the project notes on a local SLURM cluster (status command squeue,
# MinJobAge >= 3x the plugin's init seconds, DefMemPerCPU).
set -euo pipefail

STATE=${SLURM_STATE:-/tmp/motifscan-slurm}
FAKE_GPUS=${FAKE_GPUS:-2}
WAIT_S=${WAIT_S:-60}
MUNGE_PID=/run/munge/munged.pid

log() { echo "cluster.sh: $*" >&2; }

stop_pidfile() {  # TERM the process in a pid file, wait (bounded) for it to exit, KILL if not
    local f=$1 pid
    [[ -s $f ]] || return 0
    pid=$(cat "$f")
    if [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null; then
        log "stopping $(basename "$f" .pid) (pid $pid)"
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
        kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$f"
}

stop() {
    if [[ -s $STATE/run/slurmctld.pid ]] && command -v scancel >/dev/null; then
        timeout 10 scancel --user="$(id -un)" 2>/dev/null || true
    fi
    stop_pidfile "$STATE/run/slurmd.pid"
    stop_pidfile "$STATE/run/slurmctld.pid"
    # munged: only if this script started it (the marker holds the pid it was started with)
    if [[ -s $STATE/run/munged.started ]] && [[ -s $MUNGE_PID ]] \
        && [[ $(cat "$MUNGE_PID") == $(cat "$STATE/run/munged.started") ]]; then
        stop_pidfile "$MUNGE_PID"
    fi
    rm -f "$STATE/run/munged.started"
}

write_conf() {
    local cpus mem
    cpus=$(nproc)
    mem=$(( $(awk '/MemTotal/ {print int($2 / 1024)}' /proc/meminfo) - 1024 ))
    mkdir -p "$STATE"/{ctld,d,run,log} /etc/slurm
    cat > /etc/slurm/slurm.conf <<EOF
ClusterName=ci
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=1024
SchedulerType=sched/backfill
ReturnToService=2
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/d
SlurmctldPidFile=$STATE/run/slurmctld.pid
SlurmdPidFile=$STATE/run/slurmd.pid
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdLogFile=$STATE/log/slurmd.log
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MinJobAge=300
GresTypes=gpu
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem Gres=gpu:$FAKE_GPUS State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
    # slurmd counts a GPU per device file; copies of /dev/null stand in for real GPUs.
    mkdir -p "$STATE/dev"
    local i
    for (( i = 0; i < FAKE_GPUS; i++ )); do
        [[ -e $STATE/dev/gpu$i ]] || mknod "$STATE/dev/gpu$i" c 1 3
    done
    cat > /etc/slurm/gres.conf <<EOF
NodeName=localhost Name=gpu File=$STATE/dev/gpu[0-$(( FAKE_GPUS - 1 ))]
EOF
}

wait_for() {  # wait_for DESCRIPTION COMMAND...: retry for up to WAIT_S seconds
    local what=$1; shift
    local deadline=$(( SECONDS + WAIT_S ))
    until "$@" >/dev/null 2>&1; do
        if (( SECONDS >= deadline )); then
            log "timed out after ${WAIT_S}s waiting for $what"
            return 1
        fi
        sleep 0.5
    done
}

node_idle() { [[ $(sinfo -h -n localhost -o %t 2>/dev/null) == idle ]]; }

start() {
    [[ $(id -u) == 0 ]] || { log "must run as root"; exit 1; }
    for exe in /usr/sbin/munged /usr/sbin/slurmctld /usr/sbin/slurmd; do
        [[ -x $exe ]] || { log "$exe missing: apt-get install slurmctld slurmd slurm-client munge"; exit 1; }
    done
    stop  # leftovers of an earlier, interrupted run
    write_conf
    # fresh daemon logs, so a check of this run's job ids never reads an earlier run's lines
    local f
    for f in "$STATE"/log/*.log; do if [[ -e $f ]]; then mv -f "$f" "$f.prev"; fi; done
    if ! { [[ -s $MUNGE_PID ]] && kill -0 "$(cat "$MUNGE_PID")" 2>/dev/null; }; then
        mkdir -p /run/munge && chown munge:munge /run/munge
        runuser -u munge -- /usr/sbin/munged
        wait_for "munged's pid file" test -s "$MUNGE_PID"
        cat "$MUNGE_PID" > "$STATE/run/munged.started"
    fi
    wait_for "munge" sh -c 'munge -n | unmunge'
    /usr/sbin/slurmctld
    wait_for "slurmctld" scontrol ping
    /usr/sbin/slurmd -N localhost
    wait_for "the node to be idle" node_idle
    log "up: $(sinfo -h -o '%P %D %t %G' | head -1); logs in $STATE/log"
}

status() {
    sinfo -o '%P %D %t %c %m %G' || true
    squeue || true
}

case ${1:-} in
    start) start ;;
    stop) stop ;;
    status) status ;;
    *) echo "usage: $0 start|stop|status  (env: SLURM_STATE=$STATE FAKE_GPUS=$FAKE_GPUS)" >&2; exit 2 ;;
esac
