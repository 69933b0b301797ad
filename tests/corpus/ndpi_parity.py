#!/usr/bin/env python3
"""Parity with nDPI's own driver, flow by flow.

For every capture in CORPUS/pcap, sealscope's records (`ndpi_label`, packets per direction) must equal
what Debian's `ndpiReader -q -t -v 2` lists for the same flow, and so must the number of flows per nDPI
label (what issue 2 asks for; equal labels flow by flow imply it, it is checked on its own so that a
matching error here cannot hide a count that differs).

ndpiReader 4.2 never expires flows when it reads a file, so sealscope runs with idle and active expiry
and the idle give-up of classification off; everything else (packet limits, give-up, guessing, tunnels)
is sealscope's default.

Flows are matched by (L4 protocol, unordered endpoints, VLAN). Two known differences in how the two
print a flow, and one in what they count, are allowed for, and counted in the last line:
- ndpiReader 4.2 may shorten two runs of zero groups of an IPv6 address with '::' (text RFC 4291 does not
  allow, e.g. '2600:1900:4160:5999::19::'); such text stands for every address it can be read as.
- With two VLAN tags (QinQ) ndpiReader shows the inner one, the records the outer one (sealscope-flows(5),
  the flow-record contract). A flow whose VLAN differs is matched only when neither side is untagged and no
  flow with the same VLAN is left.
- An IPv4 packet with total length 0 (a large TCP segment captured before the network card cut it up,
  segmentation offload) is dropped by ndpiReader 4.2 and kept by sealscope, as Wireshark, tcpdump and
  Zeek keep it (counted as the anomaly ipv4_total_length_zero): flows may have that many more packets in
  sealscope's records than in ndpiReader's list, and together exactly that many.
Bytes are not compared: ndpiReader counts whole frames, sealscope IP bytes.

Usage: ndpi_parity.py SEALSCOPE CORPUS_DIR
       ndpi_parity.py --files NDPIREADER_V2_OUTPUT FLOWS.jsonl [SUMMARY.json]
                      (saved outputs; packets in total: bench/run.sh)
Exit 0 equal, 1 a difference, 2 usage, 77 skipped (no corpus, no ndpiReader).
"""
import collections
import ipaddress
import itertools
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

PARITY_FLAGS = ["--tcp-timeout", "100000000", "--udp-timeout", "100000000", "--other-timeout", "100000000",
                "--active-timeout", "0", "--classify-idle", "0"]

# "\t12\tUDP 10.0.0.1:5000 <-> 10.0.0.2:53 [VLAN: 113][proto: 5/DNS]...[3 pkts/300 bytes <-> 2 pkts/400 bytes]"
FLOW_LINE = re.compile(r"^\s*\d+\s+(\S+) (\S+) (?:<->|->) (\S+) (.*)$")
VLAN = re.compile(r"\[VLAN: (\d+)\]")
PROTO = re.compile(r"\[proto: [^/\]]*/([^\]]*)\]")
COUNTS = re.compile(r"\[(\d+) pkts/\d+ bytes (?:<->|->) (\d+) pkts/\d+ bytes\]")


def addresses(text):
    """The addresses (as sealscope prints them) that ndpiReader's text can stand for: one for valid text;
    for IPv6 text with several '::', every way of filling those with zero groups; none for other text."""
    try:
        return {str(ipaddress.ip_address(text))}
    except ValueError:
        pass
    pieces = text.split("::")
    if len(pieces) < 3:
        return set()
    groups = [p.split(":") if p else [] for p in pieces]
    free = 8 - sum(len(g) for g in groups)
    out = set()
    for fill in itertools.product(range(1, free + 1), repeat=len(pieces) - 1):
        if sum(fill) != free:
            continue
        full = []
        for i, g in enumerate(groups):
            full += g + (["0"] * fill[i] if i < len(fill) else [])
        try:
            out.add(str(ipaddress.ip_address(":".join(full))))
        except ValueError:
            pass
    return out


def endpoint(text):
    """'1.2.3.4:80' or '[2001:db8::1]:443' as ndpiReader prints them: (host text, port)."""
    host, _, port = text.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host, int(port)


def parse_ndpireader(text):
    """ndpiReader -v 2 output -> (flows, lines with a [proto: ...] that are not understood)."""
    flows, unparsed = [], []
    for line in text.splitlines():
        if "[proto:" not in line:
            continue
        m = FLOW_LINE.match(line)
        proto, counts = (PROTO.search(line), COUNTS.search(line)) if m else (None, None)
        if not (m and proto and counts):
            unparsed.append(line[:160])
            continue
        (ha, pa), (hb, pb) = endpoint(m.group(2)), endpoint(m.group(3))
        vlan = VLAN.search(m.group(4))
        flows.append({
            "l4": m.group(1).lower(),
            "vlan": int(vlan.group(1)) if vlan else None,
            "ends": [(addresses(ha), pa, ha), (addresses(hb), pb, hb)],
            "packets": [int(counts.group(1)), int(counts.group(2))],
            "label": proto.group(1),
        })
    return flows, unparsed


def ndpi_flows(capture):
    out = subprocess.run(["ndpiReader", "-q", "-t", "-v", "2", "-i", capture], capture_output=True, text=True)
    flows, unparsed = parse_ndpireader(out.stdout)
    return flows, unparsed, out.returncode


def zero_length_kept(summary):
    """IPv4 packets with total length 0 that sealscope kept and ndpiReader 4.2 drops (see above)."""
    return summary.get("anomalies", {}).get("ipv4_total_length_zero", 0)


def our_flows(binary, capture):
    """sealscope's records for `capture` and the packets it kept that ndpiReader drops, or an error."""
    with tempfile.TemporaryDirectory(prefix="ndpi_parity.") as tmp:
        summary = os.path.join(tmp, "summary.json")
        p = subprocess.run([binary, "analyze", "-q", "--no-progress", *PARITY_FLAGS, "--flows", "-",
                            "--summary-json", summary, capture], capture_output=True, text=True)
        if p.returncode != 0:
            first = (p.stderr.strip().splitlines() or [""])[0]
            return None, 0, f"sealscope exit {p.returncode}: {first}"
        with open(summary, encoding="utf-8") as fh:
            kept = zero_length_kept(json.load(fh))
    return [json.loads(line) for line in p.stdout.splitlines()], kept, None


def oriented(n, ours):
    """ndpiReader flow `n` seen from `ours`: its packet counts as (up, down), or None if the ends differ."""
    src = (ours["src_ip"], ours["src_port"] or 0)
    dst = (ours["dst_ip"], ours["dst_port"] or 0)

    def same(end, want):
        addrs, port, _ = end
        return port == want[1] and want[0] in addrs

    a, b = n["ends"]
    if same(a, src) and same(b, dst):
        return n["packets"][0], n["packets"][1]
    if same(a, dst) and same(b, src):
        return n["packets"][1], n["packets"][0]
    return None


def compare(theirs, ours, directions=True, zero_length=0):
    """Problems found between ndpiReader's flows and sealscope's records (as text), and counts of the
    flows compared and of those matched through one of the allowed differences. Without `directions`, a
    flow's packets are compared in total, and flows whose split differs are only counted. `zero_length`
    packets (IPv4 total length 0, kept by sealscope only) must be the flows' extra packets, all of them."""
    problems = []
    stats = {"flows": 0, "odd_text": 0, "qinq": 0, "split": 0, "zero_length": 0}
    per_label_theirs = collections.Counter(n["label"] for n in theirs)
    per_label_ours = collections.Counter(f["ndpi_label"] for f in ours)
    for label in sorted(set(per_label_theirs) | set(per_label_ours)):
        if per_label_theirs[label] != per_label_ours[label]:
            problems.append(f"label {label}: ndpiReader {per_label_theirs[label]} flows, "
                            f"sealscope {per_label_ours[label]}")
    # Ports always parse, addresses not always: index ndpiReader's flows by protocol and port pair.
    left = collections.defaultdict(list)
    for n in theirs:
        ports = sorted((n["ends"][0][1], n["ends"][1][1]))
        left[(n["l4"], *ports)].append(n)
    for f in ours:
        stats["flows"] += 1
        bucket = left[(f["l4"], *sorted((f["src_port"] or 0, f["dst_port"] or 0)))]
        cands = [(n, oriented(n, f)) for n in bucket]
        cands = [(n, pk) for n, pk in cands if pk is not None and
                 (n["vlan"] == f["vlan"] or (n["vlan"] is not None and f["vlan"] is not None))]
        want = (f["packets"]["up"], f["packets"]["down"])
        # Prefer the same VLAN, then the same packet counts (flows that share endpoints must still pair up
        # one to one).
        cands.sort(key=lambda c: (c[0]["vlan"] != f["vlan"], c[1] != want))
        where = (f"{f['l4']} {f['src_ip']}:{f['src_port']} -> {f['dst_ip']}:{f['dst_port']}"
                 f"{' vlan ' + str(f['vlan']) if f['vlan'] is not None else ''}")
        if not cands:
            problems.append(f"{where}: no such flow in ndpiReader's list (sealscope: {f['ndpi_label']})")
            continue
        n, pk = cands[0]
        bucket.remove(n)
        if any(e[2].count("::") > 1 for e in n["ends"]):
            stats["odd_text"] += 1
        if n["vlan"] != f["vlan"]:
            stats["qinq"] += 1
        if n["label"] != f["ndpi_label"]:
            problems.append(f"{where}: ndpiReader {n['label']}, sealscope {f['ndpi_label']}")
        extra = sum(want) - sum(pk)
        if (0 < extra <= zero_length - stats["zero_length"] and
                (not directions or (want[0] >= pk[0] and want[1] >= pk[1]))):
            stats["zero_length"] += extra  # ndpiReader dropped that many packets of this flow (see above)
        elif pk != want and (directions or sum(pk) != sum(want)):
            problems.append(f"{where}: packets up/down ndpiReader {pk[0]}/{pk[1]}, sealscope {want[0]}/{want[1]}")
        elif pk != want:
            stats["split"] += 1
    for bucket in left.values():
        for n in bucket:
            a, b = n["ends"]
            problems.append(f"{n['l4']} {a[2]}:{a[1]} <-> {b[2]}:{b[1]}: only in ndpiReader's list ({n['label']})")
    if stats["zero_length"] != zero_length:
        problems.append(f"sealscope kept {zero_length} packets with IPv4 total length 0, but its flows have "
                        f"{stats['zero_length']} more packets than ndpiReader's for them")
    return problems, stats


def report(problems, most=20):
    for p in problems[:most]:
        print(f"  {p}")
    if len(problems) > most:
        print(f"  ... and {len(problems) - most} more")


def compare_files(ndpi_output, flows_jsonl, summary_json=None):
    """--files: one comparison of saved outputs (bench/run.sh: ndpiReader -v 2 and sealscope on its capture).
    Packets are compared per flow in total: on the bench capture (many shifted copies of the corpus in one
    file) ndpiReader 4.2 counts every packet of a few hundred flows in one direction, flows it splits like
    sealscope (and like tshark) when they are read alone; how many is printed."""
    with open(ndpi_output, encoding="utf-8", errors="replace") as fh:
        theirs, unparsed = parse_ndpireader(fh.read())
    with open(flows_jsonl, encoding="utf-8") as fh:
        ours = [json.loads(line) for line in fh]
    kept = 0
    if summary_json is not None:
        with open(summary_json, encoding="utf-8") as fh:
            kept = zero_length_kept(json.load(fh))
    problems = [f"ndpiReader line not understood: {line}" for line in unparsed]
    found, stats = compare(theirs, ours, directions=False, zero_length=kept)
    problems += found
    print(f"{stats['flows']} flows compared (label, packets), {len(problems)} differences; {stats['split']} with "
          f"the same packets split otherwise by ndpiReader ({stats['odd_text']} matched through IPv6 text with "
          f"several '::', {stats['qinq']} QinQ flows through the inner VLAN, {stats['zero_length']} packets with "
          f"IPv4 total length 0 that ndpiReader drops)")
    report(problems, 10)
    return 1 if problems else 0


def main():
    if len(sys.argv) in (4, 5) and sys.argv[1] == "--files":
        return compare_files(*sys.argv[2:])
    if len(sys.argv) != 3 or sys.argv[1].startswith("-"):
        print("\n".join(__doc__.strip().splitlines()[-4:-1]), file=sys.stderr)
        return 2
    binary, corpus = sys.argv[1], sys.argv[2]
    if not os.path.isdir(os.path.join(corpus, "pcap")):
        print(f"SKIP: no corpus at {corpus}")
        return 77
    if shutil.which("ndpiReader") is None:
        print("SKIP: ndpiReader not installed (package libndpi-bin)")
        return 77
    captures = sorted(os.path.join(corpus, "pcap", f) for f in os.listdir(os.path.join(corpus, "pcap")))
    failed, total_flows, odd_text, qinq, zero_length = 0, 0, 0, 0, 0
    for cap in captures:
        name = os.path.basename(cap)
        problems = []
        theirs, unparsed, rc = ndpi_flows(cap)
        ours, kept, err = our_flows(binary, cap)
        if err:
            problems.append(err)
        elif not theirs:
            problems.append(f"ndpiReader listed no flow (exit {rc}): cannot compare")
        for line in unparsed:
            problems.append(f"ndpiReader line not understood: {line}")
        if not problems:
            found, stats = compare(theirs, ours, zero_length=kept)
            problems += found
            total_flows += stats["flows"]
            odd_text += stats["odd_text"]
            qinq += stats["qinq"]
            zero_length += stats["zero_length"]
        if problems:
            failed += 1
            print(f"FAIL {name}:")
            report(problems)
    print(f"{len(captures) - failed} of {len(captures)} captures equal, {failed} differ; {total_flows} flows compared "
          f"({odd_text} where ndpiReader printed IPv6 text with several '::', {qinq} QinQ flows where it printed "
          f"the inner VLAN, {zero_length} packets with IPv4 total length 0 that ndpiReader drops)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
