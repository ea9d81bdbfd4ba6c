"""ROME over CounterFact: statistics of a `locus eval counterfact` JSON-lines file, and their
combination with the 56-record means of records 0-55 (docs/results/editing.md section 0).

Usage: python3 docs/results/editing/rome_means.py runs/fid/rome-56-99.jsonl
Rates are exact counts; combined mean scores are (56 * m_0_55 + n * m_file) / (56 + n), with
m_0_55 the three-decimal means printed in editing.md.
"""
import json, sys, statistics as st
recs=[json.loads(l) for l in open(sys.argv[1]) if l.startswith('{"case_id"')]
n=len(recs)
def rate(k): return sum(r[k] for r in recs)/n
def mean(k): return sum(r[k] for r in recs)/n
print("records", n, "case ids", recs[0]['case_id'], "-", recs[-1]['case_id'])
for k in ['efficacy','paraphrase','neighbourhood']: print(k, f"{sum(r[k] for r in recs)}/{n} = {100*rate(k):.1f}%")
for k in ['rewrite_score','paraphrase_score','neighbourhood_score']: print(k, f"{mean(k):.4f}")
ups=[r['optimisation']['updates'] for r in recs]; print("updates mean", sum(ups)/n, min(ups), max(ups))
print("median p_new before/after", st.median(r['p_new_before'] for r in recs), st.median(r['p_new_after'] for r in recs))
print("median p_true before/after", st.median(r['p_true_before'] for r in recs), st.median(r['p_true_after'] for r in recs))
print("median delta norm", st.median(r['optimisation']['delta_norm'] for r in recs))
print("failures", [r['case_id'] for r in recs if not r['efficacy']])
# combine with the 56-record means of 2026-11-30 (docs/results/editing.md §0)
prev={'n':56,'efficacy':56/56,'paraphrase':51/56,'neighbourhood':23/56,'rewrite_score':0.908,'paraphrase_score':0.289,'neighbourhood_score':0.970}
N=prev['n']+n
for k in ['efficacy','paraphrase','neighbourhood']:
    c=round(prev[k]*prev['n'])+sum(r[k] for r in recs); print("all", N, k, f"{c}/{N} = {100*c/N:.1f}%")
for k in ['rewrite_score','paraphrase_score','neighbourhood_score']:
    print("all", N, k, f"{(prev[k]*prev['n']+mean(k)*n)/N:.3f}")
