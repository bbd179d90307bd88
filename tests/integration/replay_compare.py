#!/usr/bin/env python3
"""replay_compare: the answers of `tcpshake-mon --read` against the live run.

    replay_compare.py prom LIVE.prom REPLAY.prom [--any-iface]
    replay_compare.py events LIVE.events REPLAY.events [--any-iface]

prom: every sample of every counter, gauge and histogram _count must be
equal. Left out: histogram buckets and sums (the live hooks and the capture
take their timestamps at different points, microseconds apart), the
update retry/conflict counters (races between CPUs, which one thread
reading a file cannot have) and what the live process itself costs
(tcpshake_self_*, tcpshake_bpf_*: no BPF runs in a replay). One gauge is compared within a bound instead
of exactly: the SYN-flood detector's learned baseline (see PHASED below).

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

SKIP_PROM = re.compile(r"_(bucket|sum)$|^tcpshake_update_(retries|conflicts)_total$|^tcpshake_(self|bpf)_")
IFACE_LABEL = re.compile(r'iface="[^"]*"')

# The SYN-flood detector's baseline of uncompleted attempts per second is an
# EWMA (time constant TAU_S) updated at every tick, over windows that end at
# the ticks: wall-clock ticks of the live monitor, capture-time ticks of the
# replay, which start at the first packet. The phase differs, so which window
# an attempt falls in, and which completions it is netted against, differs:
# no exact match is possible. The bound: a tick adds (1 - e^(-dt/TAU_S)) *
# U/w <= U/TAU_S to the baseline (w >= dt), where U is the window's attempts
# left without completion; lag 0 is among the lags tried, so U is at most
# attempts - completions of the tick-to-tick window, and those sum to at
# most N_u, the attempts that never completed, plus one for a handshake
# whose SYN and completion fall either side of a tick (handshakes on the
# tests' veths take tens of microseconds, far below the 0.5 s interval).
# So each run's baseline lies in [0, (N_u + 1) / TAU_S] and so does their
# difference; N_u comes from the live run's exact counters (attempts =
# SYNs - SYN retransmissions, minus handshakes), plus 0.001 for the two
# values' rounding to 3 decimals. Every other rate gauge of the detector is
# over the last interval, free of handshakes at the end of both runs
# (test_replay.sh ends its capture with seconds of quiet), so exact.
PHASED = {"tcpshake_syn_uncompleted_baseline_per_second"}
TAU_S = 300.0        # src/flood.c: flood_params_default(), tau_s


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


def phased_bound(samples, series):
    """The largest difference of a PHASED gauge allowed (see above)."""
    label = IFACE_LABEL.search(series).group(0)
    attempts = samples.get(f"tcpshake_syn_packets_total{{{label}}}", 0) - \
        samples.get(f"tcpshake_syn_retransmits_total{{{label}}}", 0)
    done = sum(v for k, v in samples.items()
               if k.startswith(f"tcpshake_handshakes_total{{{label},"))
    return (max(attempts - done, 0) + 1) / TAU_S + 0.001


def same_sample(series, live, replay, samples):
    if live is None or replay is None or series.split("{", 1)[0] not in PHASED:
        return live == replay
    return abs(live - replay) <= phased_bound(samples, series)


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
            if not same_sample(k, a.get(k), b.get(k), a):
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
