#!/usr/bin/env bash
# Installs what the report's browser test needs (idempotent): Debian's chromium and its driver,
# and selenium in the reference venv (.venv-ref, made by ensure-deps.sh).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if ! dpkg -s chromium chromium-driver >/dev/null 2>&1; then
    echo "ensure-browser: installing chromium chromium-driver" >&2
    sudo_cmd=""
    [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq chromium chromium-driver >/dev/null
fi
if ! "$root/.venv-ref/bin/python" -c "import selenium" 2>/dev/null; then
    echo "ensure-browser: installing selenium into .venv-ref" >&2
    "$root/.venv-ref/bin/pip" install --quiet selenium
fi
