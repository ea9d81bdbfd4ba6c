#!/usr/bin/env bash
# Installs what is missing and runs the whole test suite in release mode (the parity tests run
# the real 135M-parameter model; debug builds are too slow for that). -enable-testing lets
# the suites that use @testable import build in release mode.
#
# Tests/LocusSlurmTests need a Slurm: this starts the local one-node cluster of
# scripts/slurm/start-local.sh (installing slurm-wlm and munge if missing; needs root) and
# stops it afterwards if it started it. LOCUS_REQUIRE_SLURM=1 makes those tests fail, not skip,
# when the cluster is unusable. LOCUS_SKIP_SLURM=1 runs without a cluster (they then skip).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/ensure-deps.sh"
cd "$root"
if [ "${LOCUS_SKIP_SLURM:-0}" != 1 ]; then
    slurm_dir="${LOCUS_SLURM_DIR:-/tmp/locus-slurm}"
    running=0
    if [ -f "$slurm_dir/slurm.conf" ] && SLURM_CONF="$slurm_dir/slurm.conf" scontrol ping >/dev/null 2>&1; then running=1; fi
    eval "$("$root/scripts/slurm/start-local.sh")"
    export LOCUS_REQUIRE_SLURM=1
    [ "$running" = 1 ] || trap '"$root/scripts/slurm/stop-local.sh"' EXIT
fi
swift test -c release -Xswiftc -enable-testing "$@"
