#!/usr/bin/env bash
# Stops the single-node Slurm that start-local.sh started in $LOCUS_SLURM_DIR (default
# /tmp/locus-slurm): cancels its jobs, then ends slurmd, slurmctld and (only if start-local.sh
# started it) munged, each by the pid recorded in that folder. Removes nothing else.
set -euo pipefail
dir="${LOCUS_SLURM_DIR:-/tmp/locus-slurm}"
export SLURM_CONF="$dir/slurm.conf"
say() { echo "stop-local: $*" >&2; }
if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null; then exec sudo -E LOCUS_SLURM_DIR="$dir" "$0" "$@"; fi
if [ -f "$dir/run/slurmctld.pid" ] && command -v scancel >/dev/null; then
    jobs="$(squeue -h -o %A 2>/dev/null | sort -u | tr '\n' ' ' || true)"
    [ -z "${jobs// }" ] || scancel $jobs >/dev/null 2>&1 || true
fi
stop() {  # stop NAME PIDFILE
    local f="$2"
    [ -f "$f" ] || return 0
    local pid; pid="$(cat "$f")"
    if kill -0 "$pid" 2>/dev/null; then
        kill "$pid"
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
        say "stopped $1 ($pid)"
    fi
    rm -f "$f"
}
stop slurmd "$dir/run/slurmd.pid"
stop slurmctld "$dir/run/slurmctld.pid"
stop munged "$dir/run/munged.pid.started-here"
