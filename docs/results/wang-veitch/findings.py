# Findings of the quick Wang & Veitch sweeps (issue 5): reads runs/sweeps/wv-fig*-quick.jsonl and, if present, runs/helperC/ipo-baseline.jsonl (an IPO run with lr 0 = the unedited model on the IPO test questions).
# p = (1 + #{random >= reference}) / (1 + N), the same formula as `locus report`.
import json, collections, statistics as st
def load(n):
    recs = {}
    for l in open(f'/work/main/runs/sweeps/wv-fig{n}-quick.jsonl'):
        r = json.loads(l)
        if r['status'] == 'ok': recs[r['runID']] = r
    return list(recs.values())
def sets(recs, method=None):
    g = collections.defaultdict(list)
    for r in recs:
        s = r['spec']
        if method and s['methodName'] != method: continue
        g[(s['methodName'], s['headSet']['kind'], s['headSet']['index'], s['headSet']['selection'])].append(r)
    return g
def axis(r): p = r['spec']['parameters']; return p.get('alpha', p.get('tau'))
def best(rs, key='truth_times_info'):
    rs = sorted(rs, key=axis)
    return max(rs, key=lambda r: (r['metrics'].get(key, float('-inf')), -axis(r)))
def p(ref, null): return (1 + sum(v >= ref for v in null)) / (1 + len(null))
def show(name, ref, null):
    print(f"  {name}: reference {ref:.3f}; random N={len(null)} mean {st.mean(null):.3f} "
          f"min {min(null):.3f} max {max(null):.3f}; #random>=ref {sum(v >= ref for v in null)}; p = {p(ref, null):.3f}")

print("(i) ITI, figure 1")
g = sets(load(1))
top = [v for k, v in g.items() if k[1] == 'top'][0]
rnd = [v for k, v in g.items() if k[1] == 'random' and len(v) == len(top)]
show("best True×Info over α", best(top)['metrics']['truth_times_info'], [best(v)['metrics']['truth_times_info'] for v in rnd])
show("max MC2 over α", max(r['metrics']['mc2'] for r in top), [max(r['metrics']['mc2'] for r in v) for v in rnd])
show("MC2 at α = 10", [r for r in top if axis(r) == 10][0]['metrics']['mc2'], [[r for r in v if axis(r) == 10][0]['metrics']['mc2'] for v in rnd])
kl = lambda v, a: [r for r in v if axis(r) == a][0]['metrics']['kl']
print(f"  KL at α=10: top {kl(top, 10):.3f}; random median {st.median([kl(v, 10) for v in rnd]):.3f}")
unedited = [r for r in top if axis(r) == 0][0]['metrics']
print(f"  unedited (α = 0): True×Info {unedited['truth_times_info']:.3f}, MC2 {unedited['mc2']:.3f}")

print("(ii) IPO, figure 5 (τ = 0.3)")
g = sets(load(5))
top = [v for k, v in g.items() if k[1] == 'top'][0]
rnd = [v for k, v in g.items() if k[1] == 'random']
show("True×Info", best(top)['metrics']['truth_times_info'], [best(v)['metrics']['truth_times_info'] for v in rnd])
print("  KL: top %.4f, random median %.4f" % (best(top)['metrics']['kl'], st.median([best(v)['metrics']['kl'] for v in rnd])))
show("IPO validation margin (8 held-out pairs)", best(top)['metrics']['validation_margin'], [best(v)['metrics']['validation_margin'] for v in rnd])

print("(iii) IPO single heads, figure 7 (τ = 0.3)")
g = sets(load(7))
top = [v for k, v in g.items() if k[1] == 'top'][0]
sg = [v for k, v in g.items() if k[1] == 'randomSingle']
show("True×Info (single heads as the null)", best(top)['metrics']['truth_times_info'], [best(v)['metrics']['truth_times_info'] for v in sg])
show("IPO validation margin (8 held-out pairs)", best(top)['metrics']['validation_margin'], [best(v)['metrics']['validation_margin'] for v in sg])
for v in sg:
    b = best(v); print(f"    {b['spec']['headSet']['selection']}: True×Info {b['metrics']['truth_times_info']:.3f} KL {b['metrics']['kl']:.4f}")
try:
    b = json.loads(open('/work/main/runs/helperC/ipo-baseline.jsonl').readline())['metrics']
    print(f"unedited model on the IPO test questions: True×Info {b['truth_times_info']:.3f} (truth {b['truth_bleu_acc']:.3f}, info {b['info_nonrefusal']:.3f}), MC2 {b['mc2']:.3f}")
except Exception as e:
    print("no IPO baseline yet", e)
