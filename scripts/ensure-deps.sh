#!/usr/bin/env bash
# Installs what Locus needs on a fresh Debian machine (idempotent): OpenBLAS, the real models
# (SmolLM2-135M-Instruct, the default; Gemma-3-270M, whose tokenizer the tests check), and a
# check that the shared data matches the manifest's checksums.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

if ! dpkg -s libopenblas-dev >/dev/null 2>&1; then
    echo "ensure-deps: installing libopenblas-dev" >&2
    sudo_cmd=""
    [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq libopenblas-dev >/dev/null
fi
"$root/scripts/fetch-model.sh"
"$root/scripts/verify-data.sh"

# The tokenizer.json loader test reads SmolLM2's faithful tokenizer.json, exported from the GGUF
# by the reference library (transformers, whose GGUF reader imports torch; the CPU wheel is local).
if [ ! -f "$root/models/smollm2-tokenizer.json" ]; then
    venv="$root/.venv-ref"
    if ! "$venv/bin/python" -c "import torch, transformers, tokenizers, gguf" 2>/dev/null; then
        echo "ensure-deps: creating $venv for the tokenizer export" >&2
        python3 -m venv "$venv"
        # The full reference venv of scripts/reference/README.md, so the benchmark peers
        # (scripts/bench) run from it too (transformers needs accelerate to load a GGUF).
        "$venv/bin/pip" install --quiet "torch==2.13.0+cpu" transformers accelerate tokenizers gguf numpy sentencepiece safetensors
    fi
    "$venv/bin/python" "$root/scripts/reference/make_tokenizer_fixtures.py" --export-only
fi
