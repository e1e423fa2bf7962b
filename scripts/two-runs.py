#!/usr/bin/env python3
"""Two runs of one workload side by side: the no-fault cells' throughput
interval half-widths per run, and each cell's judgement in both runs (the
table of issue 12). Usage: scripts/two-runs.py A/results.json B/results.json"""
import json, sys
def load(p):
    d = json.load(open(p))
    minev = d['run']['workload']['fixed'].get('min_events', 20)
    out = {}
    for c in d['cells']:
        o = c['outcome']
        if o['status'] != 'measured':
            out[c['id']] = (o['status'], None, None); continue
        v = o['verdict']
        viol = v['reorders']['count'] + v['log_duplicates']['count'] + v['losses']['count']
        # verdict.events: per fault kind, events injected and followed by a violation.
        ev = sum(e['injected'] for e in (v.get('events') or {}).values()) or sum(o['exposure']['faults_injected'].values())
        inj = sum(o['exposure']['faults_injected'].values())
        if viol > 0:
            j = 'violations'
        elif inj == 0:
            j = 'not exposed'
        elif ev >= minev:
            j = 'no violation (bound %.1f%%)' % (100*(1-0.05**(1/ev)))
        else:
            j = 'too few events'
        out[c['id']] = (j, viol, ev)
    return out
a, b = load(sys.argv[1]), load(sys.argv[2])
agree = 0
print('| cell | run A | run B | agree |'); print('|---|---|---|---|')
for k in a:
    ja, jb = a[k], b.get(k)
    same = jb is not None and ja[0] == jb[0]
    agree += same
    fa = ja[0] + ('' if ja[1] is None else f' ({ja[1]} in {ja[2]} events)')
    fb = '-' if jb is None else jb[0] + ('' if jb[1] is None else f' ({jb[1]} in {jb[2]} events)')
    if 'faults=none' in k: continue
    print(f'| {k} | {fa} | {fb} | {"yes" if same else "**no**"} |')
print(f'\n{agree} of {len(a)} cells agree (faults=none rows omitted above: all not exposed)')

import statistics
for p in sys.argv[1:3]:
    d = json.load(open(p))
    hw = sorted(c['outcome']['throughput']['ci_half_width_pct'] for c in d['cells'] if c['outcome']['status'] == 'measured' and c['faults'] == 'none')
    print(f'{p}: no-fault cells {len(hw)}, interval half-width median ±{statistics.median(hw):.1f}%, worst ±{hw[-1]:.1f}%, {sum(h <= 5 for h in hw)} within ±5%')
