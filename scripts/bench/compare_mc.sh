#!/usr/bin/env bash
# TruthfulQA MC scoring, Locus vs PyTorch, on the same questions and thread count, one after the
# other:
#   locus eval truthfulqa --no-generation --no-side-effects --per-question …   vs   peer_mc.py …
# Prints both scored tokens/s (question + answer tokens run, prefix reused; and the equivalent
# tokens of a scorer without reuse), the ratio Locus/PyTorch, the load average, and checks that
# the two agree: same token counts, |ΔMC2| of the means <= 1e-3 (exit 1 otherwise), and the
# largest per-answer score difference.
#
# Questions: with a probe ranking (default runs/probe/smollm2-135m.json if it exists), the first
# ceil(N / folds) held-out questions of each fold (lowest ids), as ITI evaluations use them;
# without one (--no-probe, or no file), questions 0..N-1.
#
# usage: scripts/bench/compare_mc.sh [--threads N] [--questions N] [--probe FILE | --no-probe]
#                                    [--locus BINARY] [--out DIR]
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
THREADS=1
QUESTIONS=40
PROBE="$ROOT/runs/probe/smollm2-135m.json"
LOCUS="$ROOT/.build/release/locus"
OUT="$ROOT/runs/bench/mc"
while [ $# -gt 0 ]; do
    case "$1" in
        --threads) THREADS="$2"; shift 2 ;;
        --questions) QUESTIONS="$2"; shift 2 ;;
        --probe) PROBE="$2"; shift 2 ;;
        --no-probe) PROBE=""; shift ;;
        --locus) LOCUS="$2"; shift 2 ;;
        --out) OUT="$2"; shift 2 ;;
        -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "compare_mc.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
    esac
done

PY="${PYTHON:-$ROOT/.venv-ref/bin/python}"
[ -x "$PY" ] || { echo "compare_mc.sh: no Python at $PY" >&2; exit 1; }
[ -x "$LOCUS" ] || { echo "compare_mc.sh: no locus binary at $LOCUS" >&2; exit 1; }
mkdir -p "$OUT"
cd "$ROOT"

SELECT=()
if [ -n "$PROBE" ] && [ -f "$PROBE" ]; then
    FOLDS="$("$PY" -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["folds"]))' "$PROBE")"
    PER_FOLD=$(( (QUESTIONS + FOLDS - 1) / FOLDS ))
    SELECT=(--probe "$PROBE" --limit "$PER_FOLD")
    WHAT="held-out questions of $PROBE, $PER_FOLD per fold"
else
    SELECT=(--limit "$QUESTIONS")
    WHAT="questions 0..$((QUESTIONS - 1))"
fi
PEER_SELECT=("${SELECT[@]}")
[ -n "$PROBE" ] && [ -f "$PROBE" ] || PEER_SELECT=(--questions "$QUESTIONS")

echo "== $(date -u +%FT%TZ)  $(nproc) CPUs: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)" >&2
echo "== $WHAT, --threads $THREADS; load average before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
echo "== locus: $LOCUS eval truthfulqa --threads $THREADS --no-generation --no-side-effects --per-question ${SELECT[*]}" >&2
"$LOCUS" eval truthfulqa --threads "$THREADS" --no-generation --no-side-effects --per-question \
    "${SELECT[@]}" > "$OUT/locus.json" 2> "$OUT/locus.log" \
    || { echo "compare_mc.sh: locus failed (see $OUT/locus.log)" >&2; exit 1; }
echo "== peer:  $PY scripts/bench/peer_mc.py --threads $THREADS --per-question ${PEER_SELECT[*]}" >&2
"$PY" scripts/bench/peer_mc.py --threads "$THREADS" --per-question "${PEER_SELECT[@]}" \
    > "$OUT/peer.json" 2> "$OUT/peer.log" \
    || { echo "compare_mc.sh: peer failed (see $OUT/peer.log)" >&2; exit 1; }
echo "== load average after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

"$PY" - "$OUT/locus.json" "$OUT/peer.json" <<'EOF'
import json, sys
locus = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
peer = json.loads(open(sys.argv[2]).read().strip().splitlines()[-1])
lq = {q["id"]: q for g in locus["groups"] for q in g["per_question"]}
pq = {q["id"]: q for q in peer["per_question"]}
assert sorted(lq) == sorted(pq), "the two evaluated different questions"
t = locus["timing"]
score_diff = max(abs(a - b) for i in lq for key in ("true_scores", "false_scores")
                 for a, b in zip(lq[i][key], pq[i][key]))
mc2_q_diff = max(abs(lq[i]["mc2"] - pq[i]["mc2"]) for i in lq)
mc2_diff = abs(locus["metrics"]["mc2"] - peer["mc2"])
rows = [
    ("", "locus", "pytorch", "locus/pytorch"),
    ("tokens run", t["mc_tokens"], peer["tokens"], ""),
    ("seconds", round(t["mc_seconds"], 2), peer["seconds"], ""),
    ("tokens/s", round(t["mc_tokens_per_second"], 1), peer["tokens_per_second"],
     round(t["mc_tokens_per_second"] / peer["tokens_per_second"], 2)),
    ("equivalent tokens/s", round(t["mc_equivalent_tokens_per_second"], 1), peer["equivalent_tokens_per_second"],
     round(t["mc_equivalent_tokens_per_second"] / peer["equivalent_tokens_per_second"], 2)),
    ("MC1", round(locus["metrics"]["mc1"], 4), round(peer["mc1"], 4), ""),
    ("MC2", round(locus["metrics"]["mc2"], 6), round(peer["mc2"], 6), ""),
    ("MC3", round(locus["metrics"]["mc3"], 4), round(peer["mc3"], 4), ""),
]
for r in rows:
    print(f"{str(r[0]):22s}{str(r[1]):>14s}{str(r[2]):>14s}{str(r[3]):>16s}")
print(f"questions {len(lq)}, answers {peer['answers']}; |ΔMC2| mean {mc2_diff:.2e}, per question max {mc2_q_diff:.2e}; "
      f"max |Δ answer score| {score_diff:.2e} nats; peer load average {peer['load_average']}")
summary = {"questions": len(lq), "threads": locus["threads"],
           "locus_tokens_per_second": t["mc_tokens_per_second"], "pytorch_tokens_per_second": peer["tokens_per_second"],
           "ratio": t["mc_tokens_per_second"] / peer["tokens_per_second"],
           "locus_equivalent_tokens_per_second": t["mc_equivalent_tokens_per_second"],
           "pytorch_equivalent_tokens_per_second": peer["equivalent_tokens_per_second"],
           "tokens_equal": t["mc_tokens"] == peer["tokens"], "mc2_locus": locus["metrics"]["mc2"], "mc2_pytorch": peer["mc2"],
           "mc2_abs_diff": mc2_diff, "max_answer_score_diff": score_diff}
print(json.dumps(summary))
if t["mc_tokens"] != peer["tokens"]:
    print("MISMATCH: token counts differ (tokenisation differs)", file=sys.stderr); sys.exit(1)
if mc2_diff > 1e-3:
    print("MISMATCH: MC2 differs by more than 1e-3", file=sys.stderr); sys.exit(1)
EOF
