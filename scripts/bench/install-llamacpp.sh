#!/usr/bin/env bash
# Installs the llama.cpp peer of scripts/bench/llamacpp_peer.py into its own venv, .venv-llamacpp:
# llama-cpp-python from PyPI at a pinned version, built from source on install (it vendors
# llama.cpp; CMake compiles it for this CPU, ~10-20 minutes on 2 cores). CI does NOT run this:
# only a benchmark needs it. Idempotent: does nothing when the pinned version imports already.
#
# Usage (from the package root): scripts/bench/install-llamacpp.sh
# Environment: LLAMACPP_VENV (default .venv-llamacpp), JOBS (default 2).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
version="0.3.36"
venv="${LLAMACPP_VENV:-$root/.venv-llamacpp}"

if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c "import llama_cpp, sys; sys.exit(llama_cpp.__version__ != '$version')" 2>/dev/null; then
    echo "install-llamacpp: llama-cpp-python $version already in $venv" >&2
    exit 0
fi
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --upgrade pip
# CPU build for this machine's instruction set (AVX2/FMA), no BLAS: llama.cpp's own quantised
# kernels are the peer of Locus's. numpy for the script's logits checks.
export CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=ON -DGGML_BLAS=OFF -DLLAMA_CURL=OFF}"
export CMAKE_BUILD_PARALLEL_LEVEL="${JOBS:-2}"
"$venv/bin/pip" install --no-cache-dir --verbose "llama-cpp-python==$version" numpy gguf > "$venv.install.log" 2>&1 \
    || { tail -40 "$venv.install.log" >&2; exit 1; }
"$venv/bin/python" -c "import llama_cpp; print('install-llamacpp: llama-cpp-python', llama_cpp.__version__, 'in $venv')"
