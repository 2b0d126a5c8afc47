#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""report.py: bench/insn's report, from the windows tbprof.so wrote.

Per boot and operation: guest instructions per operation (kernel and user
space), the share of them in the driver module, the fuse core and
virtio_ring, and how often per operation a vCPU entered the idle loop and
switched tasks (executions of the first block of do_idle and __switch_to).
Medians over the boots of each driver; the ratio is ours / in-tree.
"""
import argparse
import bisect
import collections
import os
import re
import statistics

OPS = ['pread', 'stat', 'create']
DRIVER_MODULES = {'[virtio_fs]', '[virtiofs]'}
KERNEL_BASE = 0xffff800000000000


def load_symbols(path):
    """Sorted (address, name) of the guest's text symbols."""
    syms = []
    with open(path) as f:
        for line in f:
            fields = line.split()
            if len(fields) < 3 or fields[1] not in 'tTwW':
                continue
            name = fields[2]
            if len(fields) > 3:
                name += ' ' + fields[3]
            syms.append((int(fields[0], 16), name))
    syms.sort()
    return syms


def load_boot(bootdir, counts):
    """{op: {'by_symbol': Counter, 'metrics': dict}} of one boot."""
    syms = load_symbols(os.path.join(bootdir, '.insn-kallsyms'))
    addrs = [a for a, _ in syms]
    entry = {a: n for a, n in syms if n in ('do_idle', '__switch_to')}
    rates = {}
    log = os.path.join(bootdir, 'data.log')
    if os.path.exists(log):
        for line in open(log):
            m = re.match(r'# (\w+) n \d+ per_s (\d+)', line)
            if m:
                rates[m.group(1)] = float(m.group(2))
    result = {}
    for i, op in enumerate(OPS):
        n = counts[op]
        by_symbol = collections.Counter()
        m = collections.Counter()
        with open(os.path.join(bootdir, '.insn-out.%d' % i)) as f:
            for line in f:
                pc, insns, execs = line.split()
                pc = int(pc, 16)
                ins = int(insns) * int(execs)
                if pc < KERNEL_BASE:
                    m['user'] += ins
                    continue
                m['kernel'] += ins
                j = bisect.bisect_right(addrs, pc) - 1
                name = syms[j][1] if j >= 0 else '?'
                by_symbol[name] += ins
                mod = name.split()[-1] if name.endswith(']') else ''
                if mod in DRIVER_MODULES:
                    m['driver'] += ins
                elif mod in ('[fuse]', '[virtio_ring]'):
                    m[mod] += ins
                if pc in entry:
                    m[entry[pc]] += int(execs)
        metrics = {k: v / n for k, v in m.items()}
        metrics['rate'] = rates.get(op)
        result[op] = {'by_symbol': {k: v / n for k, v in by_symbol.items()},
                      'metrics': metrics}
    return result


def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt(v, digits=0):
    return '-' if v is None else '%.*f' % (digits, v)


def main():
    ap = argparse.ArgumentParser()
    for opt in ('raw', 'out', 'stamp', 'cmdline', 'kver', 'tree', 'counts'):
        ap.add_argument('--' + opt, required=True)
    a = ap.parse_args()
    counts = dict(zip(OPS, (int(x) for x in a.counts.split())))
    boots = collections.defaultdict(list)
    failed = []
    for name in sorted(os.listdir(a.raw)):
        driver = name.split('-')[-1]
        try:
            boots[driver].append(load_boot(os.path.join(a.raw, name), counts))
        except (OSError, ValueError, IndexError):
            failed.append(name)
    if not boots['intree'] or not boots['ours']:
        raise SystemExit('insn: no complete boot of one of the drivers '
                         '(failed: %s)' % ' '.join(failed))

    rows = [('kernel', 'guest kernel instructions', 0),
            ('user', 'user-space instructions', 0),
            ('driver', 'in the driver module', 0),
            ('[fuse]', 'in fuse.ko', 0),
            ('[virtio_ring]', 'in virtio_ring', 0),
            ('do_idle', 'idle-loop entries', 2),
            ('__switch_to', 'task switches', 2),
            ('rate', 'ops/s under the plugin (wall clock, noisy)', 0)]
    lines = ['# Guest instructions per operation',
             '',
             '- Date: %s UTC' % re.sub(
                 r'(\d{4})(\d\d)(\d\d)-(\d\d)(\d\d)(\d\d)',
                 r'\1-\2-\3 \4:\5:\6', a.stamp),
             '- Command: `%s`' % a.cmdline,
             '- Kernel (guest): %s; tree: %s' % (a.kver, a.tree),
             '- Boots: in-tree %d, ours %d%s' % (
                 len(boots['intree']), len(boots['ours']),
                 ('; unreadable: ' + ' '.join(failed)) if failed else ''),
             '- Operations per window: %s' % ', '.join(
                 '%s %d' % (op, counts[op]) for op in OPS),
             '',
             'Counted by bench/insn/tbprof.so under single-threaded TCG: '
             'every instruction both vCPUs executed while the operations '
             'ran, divided by their number. Medians per driver (min-max); '
             'for instructions, idle entries and task switches, less is '
             'better.',
             '']
    for op in OPS:
        lines += ['## %s' % op, '',
                  '| per operation | in-tree | ours | ours/in-tree |',
                  '|---|---:|---:|---:|']
        for key, label, digits in rows:
            per = {}
            for d in ('intree', 'ours'):
                vals = [b[op]['metrics'].get(key, 0 if key != 'rate' else None)
                        for b in boots[d]]
                vals = [v for v in vals if v is not None]
                per[d] = (med(vals), min(vals) if vals else None,
                          max(vals) if vals else None)
            ratio = (per['ours'][0] / per['intree'][0]
                     if per['intree'][0] and per['ours'][0] is not None
                     else None)
            lines.append('| %s | %s (%s-%s) | %s (%s-%s) | %s |' % (
                label,
                fmt(per['intree'][0], digits), fmt(per['intree'][1], digits),
                fmt(per['intree'][2], digits),
                fmt(per['ours'][0], digits), fmt(per['ours'][1], digits),
                fmt(per['ours'][2], digits), fmt(ratio, 2)))
        delta = {}
        names = set()
        for d in ('intree', 'ours'):
            for b in boots[d]:
                names |= set(b[op]['by_symbol'])
        for s in names:
            delta[s] = (med([b[op]['by_symbol'].get(s, 0)
                             for b in boots['ours']]) -
                        med([b[op]['by_symbol'].get(s, 0)
                             for b in boots['intree']]))
        lines += ['', 'Largest differences by function (instructions per '
                  'operation, median ours - median in-tree):', '',
                  '| function | ours - in-tree |', '|---|---:|']
        for s, v in sorted(delta.items(), key=lambda x: -abs(x[1]))[:12]:
            lines.append('| `%s` | %+.0f |' % (s, v))
        lines.append('')
    text = '\n'.join(lines)
    for name in ('insn-%s.md' % a.stamp, 'latest-insn.md'):
        with open(os.path.join(a.out, name), 'w') as f:
            f.write(text)
    print(text)


if __name__ == '__main__':
    main()
