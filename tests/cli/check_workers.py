#!/usr/bin/env python3
"""Several workers give one worker's flow records, apart from their order and flow ids.

For every capture the project makes (captures/*.pcap, each read alone, and one written here with flows idle
at the end of input), `analyze --workers N` for N = 2, 3, 4
must write the same records as `--workers 1` once flow_id is left out (the multiset: the order may differ,
sealscope(1)); this covers the end reason of flows still idle at the end of input, which each worker must
judge by the latest packet of any shard, not of its own. Flow ids must be unique in the run: 0..n-1 with
one worker, worker k of N numbering its flows k, k+N, ... (sealscope-flows(5)). stun-cache.pcap checks
that nDPI's STUN cache spans workers: most of its labels come from another subscriber's flow, which
another worker may hold; teams-cache.pcap checks the same of nDPI's Teams cache, where another
subscriber's flow takes a call's Teams label away. All captures in one run
(several timelines: each later capture that starts before the clock restarts every worker's clock at the
same place, where one worker restarts its own) must give the same records too, end reasons included, and
unique ids.

Arguments: the sealscope binary and the repository root.
"""
import collections
import glob
import json
import os
import subprocess
import sys
import tempfile

bin_, root = sys.argv[1], sys.argv[2]
failures = []


def records(workdir, workers, captures):
    out = os.path.join(workdir, f"w{workers}.jsonl")
    r = subprocess.run([bin_, "analyze", "-q", "--no-progress", "--workers", str(workers), "--flows", out] + captures,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    # truncated.pcap is cut short on purpose: exit 1, the flows seen kept (sealscope(1)).
    expected = 1 if any(os.path.basename(c) == "truncated.pcap" for c in captures) else 0
    if r.returncode != expected:
        names = " ".join(os.path.basename(c) for c in captures)
        failures.append(f"{names} --workers {workers}: exit {r.returncode}: {r.stderr.strip()}")
        return []
    with open(out) as f:
        return [json.loads(line) for line in f]


def without_ids(recs):
    c = collections.Counter()
    for r in recs:
        r = dict(r)
        del r["flow_id"]
        c[json.dumps(r, sort_keys=True)] += 1
    return c


def check_ids(name, workers, recs):
    ids = [r["flow_id"] for r in recs]
    if len(set(ids)) != len(ids):
        dup = [i for i, n in collections.Counter(ids).items() if n > 1]
        failures.append(f"{name} --workers {workers}: {len(dup)} flow ids used twice, e.g. {dup[:5]}")
    if workers == 1 and sorted(ids) != list(range(len(ids))):
        failures.append(f"{name} --workers 1: flow ids are not 0..{len(ids) - 1}")


def idle_at_end_pcap(path):
    """20 subscribers send one UDP datagram each at t=0; one more goes on every 10 s until t=300 s. One worker
    ends the 20 flows idle (UDP idle timeout 120 s) when the clock passes 120 s; with several, the workers
    that do not own the long flow see no packet after t=0 and must still end theirs idle, not eof."""
    import struct

    def frame(src, dst, sport, dport, payload):
        udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0, bytes(src), bytes(dst))
        return b"\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01\x08\x00" + ip + udp

    packets = [(0, frame([10, 0, 0, i], [198, 51, 100, 7], 40000 + i, 5000, b"x" * 16)) for i in range(1, 21)]
    packets += [(t, frame([10, 0, 1, 1], [198, 51, 100, 8], 41000, 5001, b"y" * 16)) for t in range(0, 301, 10)]
    packets.sort(key=lambda p: p[0])
    # By hand with struct: the tests need only Python's standard library (python3-dpkt or scapy would be a
    # test dependency for a 24-byte file header and 16-byte record headers).
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for t, data in packets:
            f.write(struct.pack("<IIII", 1700000000 + t, 0, len(data), len(data)) + data)


captures = sorted(glob.glob(os.path.join(root, "captures", "*.pcap")))
if len(captures) < 10:
    print(f"FAIL: only {len(captures)} captures under {root}/captures")
    sys.exit(1)
compared = 0
with tempfile.TemporaryDirectory() as work:
    idle = os.path.join(work, "idle-at-end.pcap")
    idle_at_end_pcap(idle)
    for cap in captures + [idle]:
        name = os.path.basename(cap)
        one = records(work, 1, [cap])
        check_ids(name, 1, one)
        if name == "stun-cache.pcap":
            # 16 of its 17 flows take their label from nDPI's STUN cache, written by a flow of another
            # subscriber (captures/gen/mkcaptures.cpp): with one module all 17 are STUN.AmazonAWS. Several
            # workers give the same only if each module's cache is kept as one module's (stun_sync.hpp).
            labels = collections.Counter(r["ndpi_label"] for r in one)
            if labels != {"STUN.AmazonAWS": 17}:
                failures.append(f"{name} --workers 1: ndpi_label {dict(labels)}, expected 17 STUN.AmazonAWS")
        if name == "teams-cache.pcap":
            # Four subscribers' Teams entries are replaced by another subscriber's, 1 024 addresses up, before
            # they call; a fifth keeps its own (captures/gen/mkcaptures.cpp). With one module: four calls
            # STUN.SkypeCall and one STUN.Teams, as nDPI reads the cache on a packet; then, read when nDPI
            # gives up on them at their end (in the worker that has the last packet, or at the end of input),
            # four Skype_Teams flows and one Teams, and the last packet's flow Skype_Teams. Several workers
            # give the same only if each module's Teams cache is kept as one module's (teams_sync.hpp).
            labels = collections.Counter(r["ndpi_label"] for r in one)
            want = {"TLS.Teams": 9, "STUN.SkypeCall": 4, "STUN.Teams": 1, "Skype_Teams": 5, "Teams": 1}
            if labels != want:
                failures.append(f"{name} --workers 1: ndpi_label {dict(labels)}, expected {want}")
        if cap == idle:
            ends = collections.Counter(r["end"] for r in one)
            if ends != {"idle": 20, "eof": 1}:
                failures.append(f"{name} --workers 1: end reasons {dict(ends)}, expected 20 idle and 1 eof")
        for workers in (2, 3, 4):
            many = records(work, workers, [cap])
            check_ids(name, workers, many)
            a, b = without_ids(one), without_ids(many)
            if a != b:
                only1 = list((a - b).elements())[:2]
                onlyn = list((b - a).elements())[:2]
                failures.append(f"{name} --workers {workers}: {sum((a - b).values())} records differ from "
                                f"--workers 1's; only with 1: {only1}; only with {workers}: {onlyn}")
            compared += len(many)
    one = records(work, 1, captures)
    check_ids("all captures", 1, one)
    ends = collections.Counter(r["end"] for r in one)
    if ends["eof"] < 10:
        failures.append(f"all captures --workers 1: {ends['eof']} flows end eof; each timeline restart should end some")
    for workers in (2, 3, 4):
        many = records(work, workers, captures)
        check_ids("all captures", workers, many)
        a, b = without_ids(one), without_ids(many)
        if a != b:
            only1 = [(r["src_ip"], r["src_port"], r["end"]) for r in map(json.loads, list((a - b).elements())[:3])]
            onlyn = [(r["src_ip"], r["src_port"], r["end"]) for r in map(json.loads, list((b - a).elements())[:3])]
            failures.append(f"all captures --workers {workers}: {sum((a - b).values())} of {len(one)} records differ "
                            f"from --workers 1's; only with 1: {only1}; only with {workers}: {onlyn}")
        compared += len(many)

for f in failures:
    print("FAIL:", f)
if failures:
    sys.exit(1)
print(f"ok: {len(captures) + 1} captures, {compared} records with 2-4 workers equal to one worker's; ids unique")
