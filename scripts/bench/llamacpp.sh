#!/usr/bin/env bash
# Locus vs llama.cpp on the same GGUF files and thread count, in the same run, A/B interleaved:
#   decode   locus bench decode --tokens N --runs R      vs  llamacpp_peer.py decode  --tokens N
#   prefill  locus bench forward --batch 1 --tokens 128 vs  llamacpp_peer.py forward --tokens 128
# (prefill = one sequence of 128 seeded random ids, logits at every position). Each pair runs
# Locus then llama.cpp as separate processes (so load time and peak RSS are per process); PAIRS
# pairs per workload and file. Two ratios pair by pair, Locus speed ÷ llama.cpp speed (> 1: Locus
# faster): "ratio" from wall time (tok/s), "cpu ratio" from the median process CPU seconds of the
# timed runs (llama.cpp's ÷ Locus's), which a shared, overloaded machine disturbs much less; the
# medians of both are printed with the load average before and after. Quote ratios, not absolute
# speeds. --activation-quantization decode|all|none (default $LOCUS_ACTIVATION_QUANTIZATION, else
# decode) is passed to Locus as its option of that name; --workload decode|prefill runs one only.
#
# Needs: the release build (.build/release/locus) and the peer venv (scripts/bench/install-llamacpp.sh,
# not run by CI). Files: SmolLM2 Q4_1 (models/), its Q8_0 requantisation (made once under /tmp by
# llama.cpp's quantizer), and any extra GGUF given with --model (e.g. the 7B-shaped files of
# scripts/reference/make_7b_gguf.py).
#
# usage: scripts/bench/llamacpp.sh [--threads N] [--pairs P] [--decode-tokens N] [--model F.gguf]...
#                                  [--prefill-tokens N (128)] [--runs R (3)] [--no-smollm]
#                                  [--out FILE.jsonl] [--weights stored|f32]
#                                  [--activation-quantization decode|all|none] [--workload decode|prefill]
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
THREADS=1
PAIRS=3
DECODE_TOKENS=32
PREFILL_TOKENS=128
RUNS=3
WEIGHTS=stored
SMOLLM=1
OUT=""
MODELS=()
AQ="${LOCUS_ACTIVATION_QUANTIZATION:-decode}"
WORKLOADS="decode prefill"
while [ $# -gt 0 ]; do
    case "$1" in
        --threads) THREADS="$2"; shift 2 ;;
        --pairs) PAIRS="$2"; shift 2 ;;
        --decode-tokens) DECODE_TOKENS="$2"; shift 2 ;;
        --prefill-tokens) PREFILL_TOKENS="$2"; shift 2 ;;
        --runs) RUNS="$2"; shift 2 ;;
        --model) MODELS+=("$2"); shift 2 ;;
        --no-smollm) SMOLLM=0; shift ;;
        --out) OUT="$2"; shift 2 ;;
        --weights) WEIGHTS="$2"; shift 2 ;;
        --activation-quantization) AQ="$2"; shift 2 ;;
        --workload) WORKLOADS="$2"; shift 2 ;;
        -h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "llamacpp.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
    esac
done

LOCUS="$ROOT/.build/release/locus"
PY="${LLAMACPP_PYTHON:-$ROOT/.venv-llamacpp/bin/python}"
PEER="$ROOT/scripts/bench/llamacpp_peer.py"
[ -x "$LOCUS" ] || { echo "llamacpp.sh: build first (swift build -c release)" >&2; exit 1; }
[ -x "$PY" ] || { echo "llamacpp.sh: no peer venv at $PY: run scripts/bench/install-llamacpp.sh" >&2; exit 1; }
OUT="${OUT:-$ROOT/runs/bench/llamacpp-$(date -u +%Y%m%dT%H%M%SZ).jsonl}"
mkdir -p "$(dirname "$OUT")"

if [ "$SMOLLM" = 1 ]; then
    Q41="$ROOT/models/SmolLM2-135M-Instruct.Q4_1.gguf"
    Q80="/tmp/locus-bench-SmolLM2-135M-Instruct.Q8_0.gguf"
    if [ ! -f "$Q80" ]; then
        "$PY" "$PEER" requantize --model "$Q41" --out "$Q80" --type q8_0 --threads "$THREADS" 2>/dev/null || exit 1
    fi
    MODELS=("$Q41" "$Q80" "${MODELS[@]}")
fi

load() { cut -d' ' -f1 /proc/loadavg; }
field() { python3 -c "import json,sys; print(json.loads(sys.stdin.read().strip().splitlines()[-1])['$1'])"; }

echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) CPUs; threads $THREADS; locus --weights $WEIGHTS, activation quantisation $AQ; $("$PY" -c 'import llama_cpp; print("llama-cpp-python", llama_cpp.__version__)')"
printf '%-44s %-8s %4s %12s %12s %7s %9s %9s %9s %9s %8s %8s %s\n' file workload pair "locus tok/s" "llama tok/s" ratio "locus cpu" "llama cpu" "cpu ratio" "locus MB" "llama MB" "locus ld" "llama ld" "load avg"
for model in "${MODELS[@]}"; do
    name="$(basename "$model")"
    for workload in $WORKLOADS; do
        if [ "$workload" = decode ]; then
            A=("$LOCUS" bench decode --model "$model" --threads "$THREADS" --weights "$WEIGHTS" --activation-quantization "$AQ" --tokens "$DECODE_TOKENS" --runs "$RUNS" --json)
            B=("$PY" "$PEER" decode --model "$model" --threads "$THREADS" --tokens "$DECODE_TOKENS" --runs "$RUNS")
        else
            A=("$LOCUS" bench forward --model "$model" --threads "$THREADS" --weights "$WEIGHTS" --activation-quantization "$AQ" --batch 1 --tokens "$PREFILL_TOKENS" --runs "$RUNS" --json)
            B=("$PY" "$PEER" forward --model "$model" --threads "$THREADS" --tokens "$PREFILL_TOKENS" --runs "$RUNS")
        fi
        ratios=(); cpuratios=()
        for pair in $(seq 1 "$PAIRS"); do
            before="$(load)"
            a="$(OPENBLAS_NUM_THREADS=$THREADS "${A[@]}" 2>/dev/null | tail -1)"
            b="$("${B[@]}" 2>/dev/null | tail -1)"
            after="$(load)"
            if [ -z "$a" ] || [ -z "$b" ]; then echo "$name $workload pair $pair: a run failed" >&2; continue; fi
            at="$(echo "$a" | field tokens_per_second)"; bt="$(echo "$b" | field tokens_per_second)"
            ratio="$(python3 -c "print(f'{$at/$bt:.3f}')")"
            ac="$(echo "$a" | field cpu_seconds)"; bc="$(echo "$b" | field cpu_seconds)"
            cpuratio="$(python3 -c "print(f'{$bc/$ac:.3f}')")"
            ratios+=("$ratio"); cpuratios+=("$cpuratio")
            printf '%-44s %-8s %4s %12.2f %12.2f %7s %9.3f %9.3f %9s %9.0f %9.0f %8.2f %8.2f %s\n' "$name" "$workload" "$pair" "$at" "$bt" "$ratio" "$ac" "$bc" "$cpuratio" \
                "$(echo "$a" | field peak_rss_mb)" "$(echo "$b" | field peak_rss_mb)" \
                "$(echo "$a" | field load_seconds)" "$(echo "$b" | field load_seconds)" "$before→$after"
            python3 -c "import json,sys; print(json.dumps({'file': sys.argv[1], 'workload': sys.argv[2], 'pair': int(sys.argv[3]), 'locus': json.loads(sys.argv[4]), 'llama_cpp': json.loads(sys.argv[5]), 'ratio': float(sys.argv[6]), 'cpu_ratio': float(sys.argv[9]), 'load_before': sys.argv[7], 'load_after': sys.argv[8]}))" \
                "$name" "$workload" "$pair" "$a" "$b" "$ratio" "$before" "$after" "$cpuratio" >> "$OUT"
        done
        if [ "${#ratios[@]}" -gt 0 ]; then
            med() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
            echo "  $name $workload: median ratio locus/llama.cpp wall $(med "${ratios[@]}"), cpu $(med "${cpuratios[@]}") over ${#ratios[@]} pairs"
        fi
    done
done
echo "# records: $OUT"
