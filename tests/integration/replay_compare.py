#!/usr/bin/env python3
"""replay_compare: the answers of `tcpshake-mon --read` against the live run.

    replay_compare.py prom LIVE.prom REPLAY.prom [--any-iface]
    replay_compare.py events LIVE.events REPLAY.events [--any-iface]

prom: every sample of every counter, gauge and histogram _count must be
equal. Left out: histogram buckets and sums (the live hooks and the capture
take their timestamps at different points, microseconds apart) and the
update retry/conflict counters (races between CPUs, which one thread
reading a file cannot have).

events: the same multiset of events, every field compared except the
timestamps and durations (same reason).

--any-iface: interface names are not compared (a capture on "any", or
standard input, names its interface differently from the live monitor).
Prints the differences and exits 1 when there are any.
"""

import collections
import json
import re
import sys

SKIP_PROM = re.compile(r"_(bucket|sum)$|^tcpshake_update_(retries|conflicts)_total$")
IFACE_LABEL = re.compile(r'iface="[^"]*"')


def prom_samples(path, any_iface):
    out = {}
    with open(path) as f:
        for line in f:
            if not line.strip() or line.startswith("#"):
                continue
            series, value = line.rsplit(" ", 1)
            name = series.split("{", 1)[0]
            if SKIP_PROM.search(name) or name == "tcpshake_build_info":
                continue
            if any_iface:
                series = IFACE_LABEL.sub('iface="*"', series)
            out[series] = out.get(series, 0) + float(value)
    return out


def events(path, any_iface):
    out = collections.Counter()
    with open(path) as f:
        for line in f:
            e = json.loads(line)
            for k in list(e):
                if k == "ts" or k.endswith("_s") or (any_iface and k == "iface"):
                    del e[k]
            out[json.dumps(e, sort_keys=True)] += 1
    return out


def main():
    what, live, replay = sys.argv[1:4]
    any_iface = "--any-iface" in sys.argv[4:]
    bad = []
    if what == "prom":
        a, b = prom_samples(live, any_iface), prom_samples(replay, any_iface)
        if not a:
            bad.append("the live textfile has no samples")
        for k in sorted(set(a) | set(b)):
            if a.get(k) != b.get(k):
                bad.append(f"{k}: live {a.get(k)}, replay {b.get(k)}")
        summary = f"{len(a)} samples"
    else:
        a, b = events(live, any_iface), events(replay, any_iface)
        if not a:
            bad.append("the live run wrote no events")
        for k in sorted(set(a) | set(b)):
            if a[k] != b[k]:
                bad.append(f"live {a[k]} x, replay {b[k]} x: {k}")
        summary = f"{sum(a.values())} events"
    if bad:
        print("\n".join(bad[:40]))
        return 1
    print(summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
