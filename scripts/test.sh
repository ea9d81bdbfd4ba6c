#!/usr/bin/env bash
# Installs what is missing and runs the whole test suite in release mode (the parity tests run
# the real 135M-parameter model; debug builds are too slow for that). -enable-testing lets
# the suites that use @testable import build in release mode.
#
# With no arguments (CI), the suite runs so that order dependence shows (issue 10):
#   1. every test target alone, each in its own process (a test that only passes because
#      another target ran before it in the same process fails here);
#   2. the whole suite in one process (a test broken by state another target leaves behind
#      fails here).
# XCTest on Linux cannot shuffle test order, so these two orders are what is checked. The
# fuzz harness runs LOCUS_FUZZ_CASES_ISOLATED (default 200) cases in pass 1 and the full
# LOCUS_FUZZ_CASES (default 2400) in pass 2. The output ends with pass 2's XCTest summary
# ("Executed N tests, with M failures"); the exit status is non-zero if either pass failed.
#
# Then (CI only) the Examples package is built against this checkout and its first program run
# briefly, and the DocC documentation of the library targets is built (scripts/docs.sh).
#
# With arguments (e.g. `scripts/test.sh --filter LocusModelTests`), one `swift test` with them.
#
# Tests/LocusSlurmTests need a Slurm: this starts the local one-node cluster of
# scripts/slurm/start-local.sh (installing slurm-wlm and munge if missing; needs root) and
# stops it afterwards if it started it. LOCUS_REQUIRE_SLURM=1 makes those tests fail, not skip,
# when the cluster is unusable. LOCUS_SKIP_SLURM=1 runs without a cluster (they then skip).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/ensure-deps.sh"
"$root/scripts/ensure-browser.sh"   # the report's headless-Chromium test
cd "$root"
cleanup=()
trap 'for c in "${cleanup[@]}"; do eval "$c"; done' EXIT
if [ "${LOCUS_SKIP_SLURM:-0}" != 1 ]; then
    slurm_dir="${LOCUS_SLURM_DIR:-/tmp/locus-slurm}"
    running=0
    if [ -f "$slurm_dir/slurm.conf" ] && SLURM_CONF="$slurm_dir/slurm.conf" scontrol ping >/dev/null 2>&1; then running=1; fi
    eval "$("$root/scripts/slurm/start-local.sh")"
    export LOCUS_REQUIRE_SLURM=1
    [ "$running" = 1 ] || cleanup+=('"$root/scripts/slurm/stop-local.sh"')
fi
flags=(-c release -Xswiftc -enable-testing)
if [ "$#" -gt 0 ]; then
    status=0
    swift test "${flags[@]}" "$@" || status=$?
    exit "$status"
fi

swift build "${flags[@]}" --build-tests
targets=$(swift test list "${flags[@]}" --skip-build --disable-swift-testing 2>/dev/null | sed -n 's/^\([A-Za-z0-9_]*\)\..*/\1/p' | sort -u)
[ -n "$targets" ] || { echo "test.sh: no test targets found" >&2; exit 1; }
failed=()
log="$(mktemp)"
cleanup+=('rm -f "$log"')
for target in $targets; do
    if LOCUS_FUZZ_CASES="${LOCUS_FUZZ_CASES_ISOLATED:-200}" \
        swift test "${flags[@]}" --skip-build --disable-swift-testing --filter "^$target\\." >"$log" 2>&1; then
        echo "test.sh: pass 1 (alone): $target:$(grep -E 'Executed [0-9]+ tests?,' "$log" | tail -n 1)"
    else
        failed+=("$target")
        echo "test.sh: pass 1 (alone): $target FAILED:"
        grep -E "error|failed|Executed [0-9]+ tests?,|fuzz:" "$log" | tail -n 30
    fi
done
if [ "${#failed[@]}" -gt 0 ]; then
    echo "test.sh: pass 1 FAILED in: ${failed[*]} (each target alone, own process; rerun with" \
        "swift test -c release -Xswiftc -enable-testing --skip-build --filter '^<Target>\\.')"
else
    echo "test.sh: pass 1 passed: $(echo "$targets" | wc -l) targets, each alone in its own process"
fi
echo "test.sh: pass 2: the whole suite in one process"
status=0
swift test "${flags[@]}" --skip-build --disable-swift-testing || status=$?

# Locus as a dependency (issue 15): the Examples package built against this checkout by path,
# example (a) run briefly on the real model (2 epochs, under a minute), and the DocC archives of
# every library target (scripts/docs.sh, one plugin run).
# SwiftPM refuses unsafe flags in a package depended on by version (a path dependency, as in
# Examples/, does not show it), so the manifest is checked for them here.
if swift package dump-package | grep -q '"unsafeFlags"'; then
    echo "test.sh: Package.swift sets unsafeFlags (issue 15: none allowed)" >&2
    status=1
fi
echo "test.sh: Examples package (swift build -c release --package-path Examples)"
if swift build -c release --package-path Examples \
    && Examples/.build/release/steer-custom-preferences --epochs 2; then
    echo "test.sh: Examples built; steer-custom-preferences ran"
else
    echo "test.sh: Examples FAILED" >&2
    status=1
fi
echo "test.sh: API documentation (scripts/docs.sh)"
"$root/scripts/docs.sh" || { echo "test.sh: documentation FAILED" >&2; status=1; }
if [ "${#failed[@]}" -gt 0 ]; then
    echo "test.sh: pass 1 failed in: ${failed[*]}" >&2
    exit 1
fi
exit "$status"
