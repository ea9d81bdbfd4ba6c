#!/usr/bin/env bash
# Wall time of one recipe on the local Slurm at several shard counts (BENCHMARKS.md, issue 14):
#   scripts/slurm/scaling.sh RECIPE SOURCE_WORKDIR [SHARD COUNTS, default "1 2 3"]
# SOURCE_WORKDIR holds what the recipe's relative paths need (runs/probe/…); each count gets a
# fresh copy of its runs/probe in a temporary work directory, then `locus slurm submit` and a
# wait until the report job has left the queue. Prints one Markdown row per count: shards,
# wall seconds (submit → report done), sum of the runs' seconds, load average before/after.
# Needs SLURM_CONF (eval "$(scripts/slurm/start-local.sh)") and a built .build/release/locus.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
recipe="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
source_dir="$2"
counts="${3:-1 2 3}"
locus="$root/.build/release/locus"
name="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["name"])' "$recipe")"
echo "| shards | wall time (s) | sum of run times (s) | load average (1 min) before → after |"
echo "|---|---|---|---|"
for n in $counts; do
    dir="$(mktemp -d /tmp/locus-scaling-XXXXXX)"
    mkdir -p "$dir/runs"
    cp -r "$source_dir/runs/probe" "$dir/runs/"
    load0="$(cut -d' ' -f1 /proc/loadavg)"
    t0="$(date +%s.%N)"
    out="$("$locus" slurm submit "$recipe" --shards "$n" --workdir "$dir" 2>/dev/null)"
    report="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["report_job"])' "$out")"
    array="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["array_job"])' "$out")"
    while squeue -h -r -o '%F %i' | awk -v a="$array" -v r="$report" '$1 == a || $2 == r' | grep -q .; do sleep 1; done
    t1="$(date +%s.%N)"
    load1="$(cut -d' ' -f1 /proc/loadavg)"
    [ -f "$dir/runs/report/$name/report.md" ] || { echo "no report for $n shards (see $dir/runs/slurm/$name/logs)" >&2; exit 1; }
    runsum="$(python3 -c 'import json,sys; print(round(sum(json.loads(l)["seconds"] for l in open(sys.argv[1])), 1))' "$dir/runs/slurm/$name/merged.jsonl")"
    printf '| %d | %.0f | %s | %s → %s |\n' "$n" "$(echo "$t1 - $t0" | bc)" "$runsum" "$load0" "$load1"
done
