#!/usr/bin/python3
"""Per-function cost per request from callgrind dumps, side by side.

Usage: bench/cgtable.py [-n ROWS] LABEL=IR_PER_REQUEST:DUMP ...

Each DUMP is a callgrind output file with --cache-sim=yes (bench/sites.sh
BENCH_CALLGRIND=1 writes them); IR_PER_REQUEST (its run's Ir/req) turns the
dump's totals into a request count. Prints, for the ROWS (25) functions with
the most L1 data misses in any column, their instructions and L1 data misses
(D1mr + D1mw) per request: where the per-site and per-file work goes.
"""
import collections
import re
import subprocess
import sys


def functions(path, ir_per_req):
    out = subprocess.run(['callgrind_annotate', '--threshold=100', '--show-percs=no',
                          '--tree=none', '--auto=no', path],
                         capture_output=True, text=True, check=True).stdout
    events, reqs, costs = None, None, {}
    for line in out.splitlines():
        if line.startswith('Events shown:'):
            events = line.split(':', 1)[1].split()
            continue
        parts = line.split()
        if not events or len(parts) <= len(events):
            continue
        nums = parts[:len(events)]
        if not all(re.fullmatch(r'[\d,]+|\.', n) for n in nums):
            continue
        ev = dict(zip(events, (0 if n == '.' else int(n.replace(',', '')) for n in nums)))
        name = ' '.join(parts[len(events):])
        if 'PROGRAM TOTALS' in name:
            reqs = ev['Ir'] / ir_per_req
            continue
        if reqs:
            fn = name.split(' [')[0].rsplit(':', 1)[-1]
            ir, d1 = costs.get(fn, (0.0, 0.0))
            costs[fn] = (ir + ev['Ir'] / reqs, d1 + (ev['D1mr'] + ev['D1mw']) / reqs)
    return costs


def main(argv):
    rows = 25
    if len(argv) > 1 and argv[0] == '-n':
        rows, argv = int(argv[1]), argv[2:]
    if not argv:
        sys.exit(__doc__)
    labels, table = [], collections.defaultdict(dict)
    for arg in argv:
        label, rest = arg.split('=', 1)
        irq, path = rest.split(':', 1)
        labels.append(label)
        for fn, cost in functions(path, float(irq)).items():
            table[fn][label] = cost
    order = sorted(table, key=lambda fn: -max(c[1] for c in table[fn].values()))
    print('%-30s' % 'Ir, D1 misses per request' + ''.join('%20s' % l[:19] for l in labels))
    for fn in order[:rows]:
        print('%-30s' % fn[:30] +
              ''.join('%11.0f %8.2f' % table[fn].get(l, (0, 0)) for l in labels))


if __name__ == '__main__':
    main(sys.argv[1:])
