#!/usr/bin/env bash
# The main job on the default model, in one command: probe every attention head on a sample of
# TruthfulQA, train IPO steering at the probe's top-16 heads and at 5 random 16-head sets, score
# each on held-out questions, and write the localized-vs-random report (Markdown, HTML, SVG).
# Resumable: rerun it after an interruption and finished steps are skipped.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
threads="${LOCUS_THREADS:-2}"
locus() { "$root/scripts/run.sh" "$@"; }
cd "$root"
mkdir -p runs/demo
if [ ! -f runs/demo/probe.json ]; then
    # All 817 questions: IPO's top-16 are re-ranked on IPO's training questions only, whose
    # activations must be in the probe's cache (issue 11).
    echo "demo: 1/3 probing every head on TruthfulQA (817 questions, activations cached)" >&2
    locus probe --threads "$threads" --top-k 48 --output runs/demo/probe.json >/dev/null
fi
echo "demo: 2/3 IPO at the top-16 heads and at 5 random 16-head sets (Recipes/demo.json)" >&2
locus run Recipes/demo.json --threads "$threads" --results runs/demo/demo.jsonl >/dev/null
echo "demo: 3/3 report" >&2
locus report runs/demo/demo.jsonl --out runs/demo/report >/dev/null
echo "demo: report written to $root/runs/demo/report/report.md (and report.html, figures/)" >&2
cat runs/demo/report/report.md
