#!/usr/bin/env bash
# Locus vs PyTorch (compare.sh: prefill 4×128 with logits at every position, greedy decode of 64
# tokens with the KV cache, same thread count, same run) on the random-weight checkpoints shaped
# like GPT-2 small and Qwen2-0.5B (issue 12's performance targets: prefill >= 1.1x, decode >= 2x),
# then on the default SmolLM2 GGUF. Makes the checkpoints first if they are missing
# (make_shaped_checkpoints.py, ~2.5 GB in runs/shaped-checkpoints/, git-ignored).
#
# The bf16 Qwen2-0.5B shape (qwen2-0.5b-bf16) is not in the default list: --only qwen2-0.5b-bf16,
# with --peer-dtype float32 or bfloat16 for PyTorch.
#
# usage: scripts/bench/compare_families.sh [--only gpt2-small|qwen2-0.5b|qwen2-0.5b-bf16|smollm2] [compare.sh options]
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PY="${PYTHON:-$ROOT/.venv-ref/bin/python}"
NAMES=(gpt2-small qwen2-0.5b smollm2)
PASS=()
while [ $# -gt 0 ]; do
    case "$1" in
        --only) NAMES=("$2"); shift 2 ;;
        -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) PASS+=("$1"); shift ;;
    esac
done

status=0
for name in "${NAMES[@]}"; do
    echo "######## $name"
    if [ "$name" = smollm2 ]; then
        "$ROOT/scripts/bench/compare.sh" "${PASS[@]}" || status=1
        continue
    fi
    dir="$ROOT/runs/shaped-checkpoints/$name"
    if [ ! -f "$dir/model.safetensors" ]; then
        "$PY" "$ROOT/scripts/bench/make_shaped_checkpoints.py" "$name" || { status=1; continue; }
    fi
    "$ROOT/scripts/bench/compare.sh" --model "$dir" "${PASS[@]}" || status=1
done
exit $status
