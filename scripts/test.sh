#!/usr/bin/env bash
# Installs what is missing and runs the whole test suite in release mode (the parity tests run
# the real 135M-parameter model; debug builds are too slow for that). -enable-testing lets
# the suites that use @testable import build in release mode.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/ensure-deps.sh"
"$root/scripts/ensure-browser.sh"   # the report's headless-Chromium test
cd "$root"
swift test -c release -Xswiftc -enable-testing "$@"
