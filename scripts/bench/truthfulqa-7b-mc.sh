#!/usr/bin/env bash
# The full TruthfulQA MC evaluation (817 questions, no generation, no CE/KL) on the
# Llama-2-7B-shaped Q8_0 GGUF, as SHARDS resumable shards (issue 13: "a full TruthfulQA MC
# evaluation on the 7B-shaped model: measured wall time"). Each shard appends one fsynced line
# per finished question to its journal under DIR (outside any worktree, so it survives the
# session); rerunning `start` resumes every shard where it stopped (a journal of other settings
# is refused, naming the field). `merge` writes the one record once all shards are done;
# `status` counts finished questions. Runs under `nice -n 15` with one BLAS thread per shard.
# The binary is copied into DIR once (DIR/locus) so rebuilding the worktree cannot change it
# between a shard's units; delete DIR/locus to start a new binary (its rounding may differ in
# the last bits: results of the two binaries would then mix).
#
# usage: scripts/bench/truthfulqa-7b-mc.sh start|status|merge
#   env: MODEL (/work/big/llama2-7b-shape-q8_0.gguf), DIR (/work/big/7b-mc), SHARDS (2), LIMIT,
#        LOCUS_DATA (../shared/data), ACTIVATION_QUANTIZATION (decode|all|none; unset = locus's
#        default, `decode`: `all` also quantises the prefill activations to 8 bits, ~2× faster
#        on the 7B shape; it is part of the journal's fingerprint, so a run cannot mix the two)
# Never run next to another 7B process (see `ps aux | grep llama2-7b`): memory.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
MODEL="${MODEL:-/work/big/llama2-7b-shape-q8_0.gguf}"
DIR="${DIR:-/work/big/7b-mc}"
SHARDS="${SHARDS:-2}"
export LOCUS_DATA="${LOCUS_DATA:-$(cd "$ROOT/../shared/data" && pwd)}"
export LOCUS_PROGRESS_SECONDS="${LOCUS_PROGRESS_SECONDS:-60}"
mkdir -p "$DIR"
[ -x "$DIR/locus" ] || { cp "$ROOT/.build/release/locus" "$DIR/locus"; git -C "$ROOT" rev-parse HEAD > "$DIR/locus.commit"; }
ARGS=(eval truthfulqa --model "$MODEL" --threads 1 --no-generation --no-side-effects --per-question)
[ -n "${LIMIT:-}" ] && ARGS+=(--limit "$LIMIT")  # a smaller trial (a different journal fingerprint)
[ -n "${ACTIVATION_QUANTIZATION:-}" ] && ARGS+=(--activation-quantization "$ACTIVATION_QUANTIZATION")

case "${1:-}" in
start)
    for ((i = 0; i < SHARDS; i++)); do
        log="$DIR/shard-$i-of-$SHARDS.log"
        echo "$(date -u +%FT%TZ) start shard $i/$SHARDS (load: $(cut -d' ' -f1-3 /proc/loadavg))" >> "$log"
        nohup nice -n 15 /usr/bin/time -v "$DIR/locus" "${ARGS[@]}" --journal "$DIR/shard-$i-of-$SHARDS.jsonl" \
            --shard "$i/$SHARDS" --output "$DIR/shard-$i-of-$SHARDS.json" >> "$log" 2>&1 < /dev/null &
        echo "shard $i/$SHARDS: pid $! log $log"
    done
    ;;
status)
    for ((i = 0; i < SHARDS; i++)); do
        j="$DIR/shard-$i-of-$SHARDS.jsonl"
        echo "shard $i/$SHARDS: $(($(wc -l < "$j" 2>/dev/null || echo 1) - 1)) units done; last: $(grep -h 'eval:' "$DIR/shard-$i-of-$SHARDS.log" 2>/dev/null | tail -1)"
    done
    ;;
merge)
    files=()
    for ((i = 0; i < SHARDS; i++)); do files+=("$DIR/shard-$i-of-$SHARDS.jsonl"); done
    "$DIR/locus" "${ARGS[@]}" --merge "${files[@]}" --output "$DIR/record.json" > /dev/null
    echo "wrote $DIR/record.json"
    ;;
*) echo "usage: $0 start|status|merge" >&2; exit 2 ;;
esac
