#!/usr/bin/env bash
# Checks the data files listed in Data/manifest.json against their sha256.
# The data folder is $LOCUS_DATA, or ../shared/data beside the checkout.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
data="${LOCUS_DATA:-$root/../shared/data}"
python3 - "$root/Data/manifest.json" "$data" <<'PY'
import hashlib, json, os, sys
manifest, data = sys.argv[1], sys.argv[2]
entries = json.load(open(manifest))["files"]
bad = []
for e in entries:
    path = os.path.join(data, e["path"])
    if not os.path.exists(path):
        bad.append(f"missing {path}")
        continue
    h = hashlib.sha256(open(path, "rb").read()).hexdigest()
    if h != e["sha256"]:
        bad.append(f"sha256 mismatch {path}")
if bad:
    sys.exit("verify-data: " + "; ".join(bad) + f" (data folder: {data}; set LOCUS_DATA)")
print(f"verify-data: {len(entries)} files ok in {os.path.realpath(data)}")
PY
