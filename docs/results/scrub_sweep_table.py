"""Loss recovered per head set of a scrub sweep's records (docs/results/scrubbing.md).
Usage: python3 docs/results/scrub_sweep_table.py runs/sweeps/scrub-truthfulqa-sweep.jsonl
"""
import json,sys
rs=[json.loads(l) for l in open(sys.argv[1])]
top=None; rnd=[]; allh=None
for d in rs:
    m=d['metrics']; hs=d['spec']['headSet']
    row=(hs['name'], hs.get('selection'), m['lossRecovered'], m['lossRecoveredCI95'], m['baselineMetric'], m['modelMetric'], m['scrubbedMetric'], d['seconds'], d['finished'])
    print(*[f"{x:.3f}" if isinstance(x,float) else x for x in row[:3]], [round(x,3) for x in row[3]], *[f"{x:.3f}" if isinstance(x,float) else x for x in row[4:]])
    if hs['name']=='top': top=m['lossRecovered']
    elif hs['name']=='all': allh=m['lossRecovered']
    else: rnd.append(m['lossRecovered'])
if rnd:
    print("random sets", len(rnd), "mean %.3f min %.3f max %.3f"%(sum(rnd)/len(rnd), min(rnd), max(rnd)), ">= top:", sum(r>=top for r in rnd), "p = %.3f"%((1+sum(r>=top for r in rnd))/(1+len(rnd))))
