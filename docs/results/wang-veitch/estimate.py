# Full-recipe run-time estimate from the quick runs' measured per-unit times (issue 5; BENCHMARKS.md).
import json, glob, statistics as st, csv, random
recs = []
for f in sorted(glob.glob('/work/main/runs/sweeps/wv-fig*-quick.jsonl')):
    for l in open(f):
        r = json.loads(l)
        if r['status'] == 'ok' and not r.get('reusedFrom') and not r['metrics'].get('unedited_copied'):
            recs.append(r)
def rate(method, key, per):
    xs = [r['metrics'][key] / per(r) for r in recs if r['spec']['method'] == method and key in r['metrics']]
    return st.median(xs), len(xs)
q = lambda r: r['metrics']['questions']
mc_iti, n1 = rate('iti', 'mc_seconds', q)
gen_iti, n2 = rate('iti', 'generation_seconds', q)
mc_ipo, n3 = rate('ipo', 'mc_seconds', q)
gen_ipo, n4 = rate('ipo', 'generation_seconds', q)
side, n5 = rate('iti', 'side_effect_seconds', lambda r: r['spec']['data']['sideEffectDocuments'] * r['spec']['data']['sideEffectTokens'])
side_ipo, _ = rate('ipo', 'side_effect_seconds', lambda r: r['spec']['data']['sideEffectDocuments'] * r['spec']['data']['sideEffectTokens'])
train, n6 = rate('ipo', 'training_seconds', lambda r: r['metrics']['train_pairs'] * r['spec']['parameters'].get('epochs', 1))
wall = [r['seconds'] for r in recs]
print(f"quick runs measured: {len(recs)} computed; median wall per run ITI {st.median([r['seconds'] for r in recs if r['spec']['method']=='iti']):.0f} s, IPO {st.median([r['seconds'] for r in recs if r['spec']['method']=='ipo']):.0f} s")
print(f"per-unit medians: ITI MC {mc_iti:.2f} s/question (n={n1}), ITI generation {gen_iti:.2f} s/question at 32 tokens (n={n2}); "
      f"IPO MC {mc_ipo:.2f} s/q (n={n3}), IPO generation {gen_ipo:.2f} s/q (n={n4}); side effects {side*1000:.1f} ms/token ITI (2 folds), {side_ipo*1000:.1f} ms/token IPO; "
      f"IPO training {train:.2f} s per pair-epoch incl. validation (n={n6})")
# Full sizes.
rows = list(csv.DictReader(open('/work/shared/data/truthfulqa/TruthfulQA.csv', encoding='utf-8-sig')))
split = lambda s: [x for x in (y.strip() for y in s.split(';')) if x]
pairs = [len(split(r['Correct Answers'])) * len(split(r['Incorrect Answers'])) for r in rows]
total_pairs = sum(pairs)
train_pairs = 0.6 * total_pairs  # 60 % of questions (seeded split; expectation)
test_q = round(0.2 * len(rows))
gen_scale = 50 / 32  # full answers ≤ 50 new tokens (upper bound: answers stop at the next "Q:")
iti_run = len(rows) * (mc_iti + gen_iti * gen_scale) + 100 * 128 * side
ipo_run = train_pairs * 2 * train + test_q * (mc_ipo + gen_ipo * gen_scale) + 100 * 128 * side_ipo
iti_runs, ipo_runs = 306 + 1, 290
print(f"full per run: ITI {iti_run/3600:.2f} h (817 held-out questions, 100×128 tokens), IPO {ipo_run/3600:.2f} h ({train_pairs:.0f} training pairs × 2 epochs, {test_q} test questions)")
print(f"full unique runs with --reuse: ITI {iti_runs} evaluated (357 in fig 1, α = 0 copied), IPO {ipo_runs}")
print(f"estimate: ITI {iti_runs*iti_run/3600:.0f} h + IPO {ipo_runs*ipo_run/3600:.0f} h = {(iti_runs*iti_run+ipo_runs*ipo_run)/3600:.0f} h single-thread on this contended machine")
iti_nogen = len(rows) * mc_iti + 100 * 128 * side
ipo_nogen = ipo_run - test_q * gen_ipo * gen_scale
for n, (iti, ipo, gen) in {1: (307, 0, 1), 2: (67, 0, 1), 3: (67, 0, 0), 4: (7, 10, 1), 5: (0, 153, 1), 6: (0, 55, 1), 7: (0, 93, 1), 8: (0, 55, 1), 9: (0, 55, 0)}.items():
    a, b = (iti_run, ipo_run) if gen else (iti_nogen, ipo_nogen)
    print(f"  fig{n} alone (no reuse): {iti} ITI + {ipo} IPO runs evaluated ≈ {(iti*a + ipo*b)/3600:.0f} h")
