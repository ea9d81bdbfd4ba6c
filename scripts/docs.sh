#!/usr/bin/env bash
# Builds the DocC API documentation of every library target in one swift-docc-plugin run (the
# symbol graphs come from the release build scripts/test.sh makes); the archives land in
# .build/plugins/Swift-DocC/outputs/<Target>.doccarchive. Any DocC error fails the script, and so
# does a broken reference in a doc comment (a link to a missing symbol, a parameter documented
# under the wrong name), which is printed; other warnings are counted. --verbose-log (first) prints DocC's whole log; further arguments go to
# `generate-documentation`.
#
# usage: scripts/docs.sh [--verbose-log] [generate-documentation options]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
# The library targets (Package.swift's `libraryModules` and the umbrella `Locus`).
targets=$(sed -n '/^let libraryModules = \[/,/^\]/p' Package.swift | grep -o '"Locus[A-Za-z]*"' | tr -d '"')
[ -n "$targets" ] || { echo "docs.sh: no library targets found in Package.swift" >&2; exit 1; }
args=()
for t in $targets Locus; do args+=(--target "$t"); done
log="$(mktemp)"
verbose=0
if [ "${1:-}" = --verbose-log ]; then verbose=1; shift; fi
trap 'rm -f "$log"' EXIT
status=0
# The release configuration with -enable-testing, as scripts/test.sh builds: the symbol graphs are
# then extracted from that build instead of a second (debug) build of every module.
swift package -c release -Xswiftc -enable-testing generate-documentation "${args[@]}" "$@" >"$log" 2>&1 || status=$?
if [ "$status" -ne 0 ]; then
    grep -E "error|warning" "$log" | tail -n 40 >&2
    echo "docs.sh: generate-documentation failed (status $status); last lines:" >&2
    tail -n 20 "$log" >&2
    exit "$status"
fi
[ "$verbose" = 1 ] && cat "$log"
# Broken references fail (a link to a symbol that does not exist, a parameter documented under a
# name the function does not have); other DocC warnings (e.g. an undocumented parameter) are
# counted and shown.
if grep -A4 -E "warning: .*(doesn't exist|not found|cannot be resolved|No symbol matched|External name .* used to document parameter|is not a parameter|Parameter .* not found)" "$log" >&2; then
    echo "docs.sh: the doc comments above have broken references" >&2
    exit 1
fi
others=$(grep -c "warning:" "$log" || true)
if [ "$others" -gt 0 ]; then
    grep -A2 "warning:" "$log" | head -n 30 >&2
    echo "docs.sh: $others other DocC warnings (not failures)" >&2
fi
echo "docs.sh: documentation built for $(echo $targets Locus | wc -w) targets in .build/plugins/Swift-DocC/outputs/"
