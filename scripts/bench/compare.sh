#!/usr/bin/env bash
# Locus vs PyTorch on the same workloads and thread count, one after the other:
#   prefill  locus bench forward --batch 4 --tokens 128   vs  peer.py forward --batch 4 --tokens 128
#   decode   locus bench decode --tokens 64               vs  peer.py decode --tokens 64
# and prints tokens/s, the ratio Locus/PyTorch, the ratio of CPU seconds per run PyTorch/Locus
# (less distorted than wall time when other jobs share the CPUs), peak RSS, the date, the CPU and
# the load average (the machine is shared: a load above the thread count makes every number
# unreliable). --model takes a GGUF file or a Hugging Face directory (e.g. the GPT-2-small- and
# Qwen2-0.5B-shaped checkpoints of make_shaped_checkpoints.py; compare_families.sh runs them all).
#
# Before each measurement it waits (up to --wait-max seconds, default 300) until the CPUs are
# >= 90% idle for 5 s, because other jobs on a 2-core machine distort results up to 5x.
#
# usage: scripts/bench/compare.sh [--threads N] [--model FILE.gguf|DIR] [--out FILE.jsonl] [--no-build]
#                                 [--wait-max SECONDS (0: do not wait)] [--batch B (4)]
#                                 [--tokens T (128)] [--decode-tokens N (64)] [--runs R (5 and 3)]
#                                 [--peer-dtype float32|bfloat16 (float32): PyTorch's dtype]
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
THREADS=2
MODEL=""
OUT=""
BUILD=1
WAIT_MAX=300
BATCH=4
TOKENS=128
DECODE_TOKENS=64
RUNS=()
PEER_DTYPE=float32
while [ $# -gt 0 ]; do
    case "$1" in
        --threads) THREADS="$2"; shift 2 ;;
        --model) MODEL="$2"; shift 2 ;;
        --out) OUT="$2"; shift 2 ;;
        --no-build) BUILD=0; shift ;;
        --wait-max) WAIT_MAX="$2"; shift 2 ;;
        --batch) BATCH="$2"; shift 2 ;;
        --tokens) TOKENS="$2"; shift 2 ;;
        --decode-tokens) DECODE_TOKENS="$2"; shift 2 ;;
        --runs) RUNS=(--runs "$2"); shift 2 ;;
        --peer-dtype) PEER_DTYPE="$2"; shift 2 ;;
        -h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "compare.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
    esac
done

PY="${PYTHON:-$ROOT/.venv-ref/bin/python}"
if [ ! -x "$PY" ]; then
    echo "compare.sh: no Python at $PY; create the reference venv (scripts/reference/README.md)" >&2
    exit 1
fi
LOCUS="$ROOT/.build/release/locus"
MODEL_ARGS=()
PEER_MODEL_ARGS=()
if [ -n "$MODEL" ]; then
    MODEL_ARGS=(--model "$MODEL")
    PEER_MODEL_ARGS=(--model "$MODEL")
fi

if [ ! -x "$LOCUS" ] && [ "$BUILD" = 1 ]; then
    echo "== building locus (swift build -c release) …" >&2
    (cd "$ROOT" && swift build -c release --product locus) >&2 \
        || echo "compare.sh: swift build -c release failed" >&2
fi

# Percentage of idle CPU time over the next 5 seconds.
idle_percent() {
    local a b c d e f g h t1 i1 t2 i2
    read -r _ a b c d e f g h _ < /proc/stat; t1=$((a+b+c+d+e+f+g+h)); i1=$((d+e))
    sleep 5
    read -r _ a b c d e f g h _ < /proc/stat; t2=$((a+b+c+d+e+f+g+h)); i2=$((d+e))
    echo $(( 100 * (i2 - i1) / (t2 - t1 > 0 ? t2 - t1 : 1) ))
}

wait_idle() {
    [ "$WAIT_MAX" -gt 0 ] || return 0
    local waited=0 idle
    while [ "$waited" -lt "$WAIT_MAX" ]; do
        idle="$(idle_percent)"
        [ "$idle" -ge 90 ] && return 0
        waited=$((waited + 5))
    done
    echo "   warning: CPUs still busy (${idle}% idle) after ${WAIT_MAX} s; measuring anyway" >&2
}

# Runs a command, keeps the last stdout line that looks like a JSON object; on failure prints
# a JSON object carrying the error so the table can show it.
json_of() {
    local label="$1"; shift
    local err; err="$(mktemp)"
    wait_idle
    echo "== $label: $*" >&2
    local out; out="$(mktemp)"
    "$@" >"$out" 2>"$err"
    local status=$?
    local line; line="$(grep '^{' "$out" | tail -n 1)"
    rm -f "$out"
    if [ "$status" != 0 ] || [ -z "$line" ]; then
        local why; why="$(tail -n 3 "$err" | tr '\n"\\' '   ')"
        line="{\"error\":\"exit $status: ${why}\"}"
        echo "   failed (exit $status); stderr tail:" >&2
        tail -n 5 "$err" | sed 's/^/   /' >&2
    fi
    rm -f "$err"
    echo "$line"
}

locus_json() {
    if [ ! -x "$LOCUS" ]; then
        echo "== locus $1: $LOCUS does not exist (build it: swift build -c release)" >&2
        echo "{\"error\":\"$LOCUS not built (swift build -c release)\"}"
        return
    fi
    json_of "locus $1" "$LOCUS" bench "$@" --threads "$THREADS" --json "${MODEL_ARGS[@]}"
}

LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"
LF="$(locus_json forward --batch "$BATCH" --tokens "$TOKENS" "${RUNS[@]}")"
PF="$(json_of "pytorch forward" "$PY" "$ROOT/scripts/bench/peer.py" forward \
        --batch "$BATCH" --tokens "$TOKENS" "${RUNS[@]}" --threads "$THREADS" --dtype "$PEER_DTYPE" "${PEER_MODEL_ARGS[@]}")"
LD="$(locus_json decode --tokens "$DECODE_TOKENS" "${RUNS[@]}")"
PD="$(json_of "pytorch decode" "$PY" "$ROOT/scripts/bench/peer.py" decode \
        --tokens "$DECODE_TOKENS" "${RUNS[@]}" --threads "$THREADS" --dtype "$PEER_DTYPE" "${PEER_MODEL_ARGS[@]}")"
LOAD_AFTER="$(cut -d' ' -f1-3 /proc/loadavg)"
CPU="$(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -n 1)"

if [ -n "$OUT" ]; then
    printf '%s\n' "$LF" "$PF" "$LD" "$PD" >> "$OUT"
fi

echo "model ${MODEL:-models/SmolLM2-135M-Instruct.Q4_1.gguf (default)}  pytorch dtype $PEER_DTYPE"
"$PY" - "$THREADS" "$CPU" "$LOAD_BEFORE" "$LOAD_AFTER" "$LF" "$PF" "$LD" "$PD" <<'EOF'
import datetime, json, sys

threads, cpu, load_before, load_after = sys.argv[1:5]
lf, pf, ld, pd = (json.loads(s) for s in sys.argv[5:9])

def num(d, key, fmt):
    return format(d[key], fmt) if key in d else "n/a"

def ratio(a, b):
    if "tokens_per_second" in a and "tokens_per_second" in b and b["tokens_per_second"] > 0:
        return f"{a['tokens_per_second'] / b['tokens_per_second']:.2f}x"
    return "n/a"

print(f"date {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}  cpu {cpu}  "
      f"threads {threads}  load avg before {load_before}, after {load_after}")
def best(d):
    runs = d.get("runs")
    if not runs or "tokens" not in d:
        return "n/a"
    return f"{d.get('batch', 1) * d['tokens'] / min(runs):.1f}"

def cpu_ratio(a, b):
    if a.get("cpu_seconds") and b.get("cpu_seconds"):
        return f"{b['cpu_seconds'] / a['cpu_seconds']:.2f}x"
    return "n/a"

head = f"{'workload':<22}{'locus tok/s':>12}{'torch tok/s':>12}{'locus/torch':>12}" \
       f"{'(best runs)':>16}{'cpu ratio':>10}{'locus MB':>10}{'torch MB':>10}"
print(head)
print("-" * len(head))
for name, l, p in ((f"forward B={lf.get('batch', '?')} T={lf.get('tokens', '?')}", lf, pf),
                   (f"decode {ld.get('tokens', '?')} new tokens", ld, pd)):
    print(f"{name:<22}{num(l, 'tokens_per_second', '.1f'):>12}{num(p, 'tokens_per_second', '.1f'):>12}"
          f"{ratio(l, p):>12}{best(l) + ' / ' + best(p):>16}{cpu_ratio(l, p):>10}"
          f"{num(l, 'peak_rss_mb', '.0f'):>10}{num(p, 'peak_rss_mb', '.0f'):>10}")
print("tok/s = median of the timed runs; (best runs) = fastest run, locus / torch; cpu ratio = "
      "median CPU seconds per run (all threads), torch / locus.")
for name, d in (("locus forward", lf), ("torch forward", pf), ("locus decode", ld), ("torch decode", pd)):
    if "error" in d:
        print(f"{name}: {d['error']}")
print("MB = peak RSS of the whole process (PyTorch's includes dequantising the GGUF at load; "
      f"its resident size after loading: forward {num(pf, 'rss_after_load_mb', '.0f')} MB).")
EOF
