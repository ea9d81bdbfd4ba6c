#!/usr/bin/env bash
# Installs what is missing, builds Locus in release mode and runs `locus ARGS`.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/ensure-deps.sh" >&2
(cd "$root" && swift build -c release --product locus >&2)
exec "$root/.build/release/locus" "$@"
