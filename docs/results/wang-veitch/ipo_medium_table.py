# The table of docs/results/wang-veitch.md "Findings (ii) and (iii) with IPO trained for real" from the
# records of `locus run Recipes/wv-ipo-medium.json` (any number of shard files; later records of a run
# replace earlier ones, failed runs are skipped). Prints one row per run: MC1/MC2/MC3 on the IPO test
# questions, the gain over the lr = 0 run, the validation margin, the heads, and the p-values of
# findings (ii)/(iii) among the runs present, p = (1 + #{random >= top}) / (1 + N) as `locus report`.
# Usage: python3 docs/results/wang-veitch/ipo_medium_table.py runs/sweeps/wv-ipo-medium*.jsonl
import json, statistics as st, sys

recs = {}
for path in sys.argv[1:]:
    for line in open(path):
        r = json.loads(line)
        if r.get('status') == 'ok':
            recs[r['runID']] = r
if not recs:
    sys.exit('no finished records in ' + ' '.join(sys.argv[1:]))

def kind(r): return r['spec']['methodName'], r['spec']['headSet']['kind'], r['spec']['headSet']['index']
rows = sorted(recs.values(), key=lambda r: (['unedited', 'ipo', 'ipo-single'].index(kind(r)[0]),
                                            ['top', 'random', 'randomSingle'].index(kind(r)[1]), kind(r)[2]))
base = [r['metrics']['mc2'] for r in rows if kind(r)[0] == 'unedited']
base = base[0] if base else None
print(f"{len(recs)} finished runs")
print("| run | method · head set | MC1 | MC2 | MC3 | ΔMC2 vs lr 0 | validation margin | train loss | heads |")
print("|---|---|---|---|---|---|---|---|---|")
for r in rows:
    m = r['metrics']
    gain = f"{m['mc2'] - base:+.3f}" if base is not None else "–"
    heads = ' '.join(m['heads']) if len(m['heads']) <= 2 else f"{len(m['heads'])} heads"
    print(f"| {r['runID'][:8]} | {kind(r)[0]} · {kind(r)[1]}#{kind(r)[2]} | {m['mc1']:.3f} | {m['mc2']:.3f} | "
          f"{m['mc3']:.3f} | {gain} | {m['validation_margin']:.2f} | {m['train_loss']:.2f} | {heads} |")

top = [r['metrics']['mc2'] for r in rows if kind(r)[:2] == ('ipo', 'top')]
for name, k in [('(ii) random 16-head sets', 'random'), ('(iii) random single heads', 'randomSingle')]:
    null = [r['metrics']['mc2'] for r in rows if kind(r)[1] == k and kind(r)[0] != 'unedited']
    if top and null:
        ge = sum(v >= top[0] for v in null)
        print(f"{name}: N = {len(null)}, MC2 mean {st.mean(null):.3f} (min {min(null):.3f}, max {max(null):.3f}), "
              f"top-16 {top[0]:.3f}, #random >= top {ge}, p = {(1 + ge) / (1 + len(null)):.3f}")
for r in rows:
    if kind(r)[1] == 'top' and 'head_ranking' in r['metrics']:
        h = r['metrics']['head_ranking']
        print(f"top set of {r['runID'][:8]}: re-ranked on {h['question_count']} {h['questions']}: "
              f"{' '.join(r['metrics']['heads'])} (file's own top-16: {' '.join(h['file_top'])})")
        break
