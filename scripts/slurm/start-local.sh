#!/usr/bin/env bash
# Starts a single-node Slurm on this machine for tests and small sweeps (DATA.md, "Slurm"):
# munged as the munge user, slurmctld + slurmd on 127.0.0.1 with proctrack/linuxproc,
# task/none and select/cons_tres, all state, spool, logs and pid files under one folder
# ($LOCUS_SLURM_DIR, default /tmp/locus-slurm). Installs slurm-wlm and munge with apt if they
# are missing. Needs root. Idempotent: if this folder's cluster already answers, it only
# prints the environment. Prints `export SLURM_CONF=…` on stdout (eval it, or source
# $LOCUS_SLURM_DIR/env.sh); everything else goes to stderr. Stop it with stop-local.sh.
set -euo pipefail
dir="${LOCUS_SLURM_DIR:-/tmp/locus-slurm}"
say() { echo "start-local: $*" >&2; }
# Root is needed (slurmd runs jobs as their users; munged is started as munge): use sudo.
if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || { say "needs root or sudo"; exit 1; }
    exec sudo -E LOCUS_SLURM_DIR="$dir" "$0" "$@"
fi

if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v munged >/dev/null \
    || ! command -v sbatch >/dev/null; then
    say "installing slurm-wlm and munge (apt)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update >&2
    apt-get install -y --no-install-recommends slurm-wlm munge >&2
fi

mkdir -p "$dir"/{state,spool,log,run}
conf="$dir/slurm.conf"
export SLURM_CONF="$conf"

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
if alive "$dir/run/slurmctld.pid" && alive "$dir/run/slurmd.pid" && scontrol ping >/dev/null 2>&1; then
    say "already running ($conf)"
    echo "export SLURM_CONF=$conf"
    exit 0
fi

# munge: a key, the folders owned by munge, munged started as munge (only if none answers).
mkdir -p /etc/munge /var/lib/munge /var/log/munge /run/munge
[ -s /etc/munge/munge.key ] || mungekey --create --keyfile=/etc/munge/munge.key >&2
chown -R munge:munge /etc/munge /var/lib/munge /var/log/munge /run/munge
chmod 0700 /etc/munge /var/lib/munge /var/log/munge
chmod 0755 /run/munge
chmod 0400 /etc/munge/munge.key
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
    say "starting munged as munge"
    runuser -u munge -- /usr/sbin/munged
    for _ in $(seq 50); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.1; done
    munge -n | unmunge >/dev/null || { say "munged does not answer"; exit 1; }
    cat /run/munge/munged.pid > "$dir/run/munged.pid.started-here" 2>/dev/null || pgrep -u munge -n munged > "$dir/run/munged.pid.started-here"
fi

host="$(hostname -s)"
cpus="$(nproc)"
# Memory is not a consumable resource here (CR_CPU), so --mem only has to fit RealMemory.
mem_mb="$(awk '/MemTotal/ { printf "%d", $2 / 1024 * 0.9 }' /proc/meminfo)"
cat > "$conf" <<CONF
# Written by scripts/slurm/start-local.sh: a one-node cluster on 127.0.0.1 for Locus tests.
ClusterName=locus-local
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort=${LOCUS_SLURM_PORT:-6817}
SlurmdPort=$(( ${LOCUS_SLURM_PORT:-6817} + 1 ))
AuthType=auth/munge
CredType=cred/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
MpiDefault=none
ReturnToService=2
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/run/slurmctld.pid
SlurmdPidFile=$dir/run/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MinJobAge=300
KillWait=5
SlurmctldTimeout=30
SlurmdTimeout=60
InactiveLimit=0
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF

say "starting slurmctld and slurmd ($conf)"
# -c: start with a clean state (no jobs of an earlier session); -i: ignore unreadable state.
slurmctld -c -i
slurmd
for _ in $(seq 100); do
    state="$(sinfo -h -n "$host" -o %T 2>/dev/null || true)"
    case "$state" in idle*|mix*|alloc*) break ;; esac
    sleep 0.2
done
state="$(sinfo -h -n "$host" -o %T 2>/dev/null || true)"
case "$state" in
    idle*|mix*|alloc*) ;;
    *) scontrol update nodename="$host" state=resume >/dev/null 2>&1 || true
       sleep 1
       state="$(sinfo -h -n "$host" -o %T 2>/dev/null || true)" ;;
esac
case "$state" in
    idle*|mix*|alloc*) say "node $host is $state ($cpus CPUs)" ;;
    *) say "node $host did not come up (state '$state'); logs: $dir/log"; tail -n 20 "$dir"/log/*.log >&2 || true; exit 1 ;;
esac
echo "export SLURM_CONF=$conf" > "$dir/env.sh"
echo "export SLURM_CONF=$conf"
