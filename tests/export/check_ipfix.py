#!/usr/bin/env python3
"""sealscope analyze --ipfix against a real collector: nfcapd (nfdump 1.7) on 127.0.0.1 receives the flows
of captures/*.pcap; nfdump's reading of its file must equal the --flows records of the same run, flow by
flow (addresses, ports, protocol, packets and bytes per direction, first and last packet in ms, VLAN, the
initiator's first ICMP type and code), and
nfcapd must count no sequence error. Then the test receives the datagrams itself (sealscope with
--workers 2), writes them into a pcap and has tshark decode applicationName: the records' labels.

Arguments: SEALSCOPE ROOT [--labels]: without --labels the nfcapd comparison, with it the tshark check.
Exit 77 (skipped) only when the tool that part needs (nfcapd and nfdump, or tshark) is not installed.
Everything talks to 127.0.0.1 only, is bounded in time and is removed at the end."""
import collections
import datetime
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

PROTO = {"tcp": 6, "udp": 17, "icmp": 1, "icmpv6": 58, "sctp": 132, "gre": 47, "esp": 50, "ah": 51, "igmp": 2}
CAPTURES = ["mixed.pcap", "ipv6.pcap", "vlan.pcap", "tunnels.pcap"]


def ms(rfc3339):
    """'2024-03-01T12:00:00.012188Z' -> ms since the epoch, the µs cut off (as flowStartMilliseconds)."""
    d = datetime.datetime.strptime(rfc3339, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
    return int(d.timestamp()) * 1000 + d.microsecond // 1000


def nfdump_ms(s):
    """nfdump -o json's '2024-03-01T12:00:00.012' (in TZ=UTC) -> ms since the epoch."""
    d = datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%f").replace(tzinfo=datetime.timezone.utc)
    return int(d.timestamp()) * 1000 + d.microsecond // 1000


def from_record(r):
    l4 = r["l4"]
    proto = PROTO[l4] if l4 in PROTO else int(l4.split("-")[1])
    up = (r["icmp"] or {}).get("up") or {"type": 0, "code": 0}  # only the initiator's is exported
    return (r["src_ip"], r["dst_ip"], r.get("src_port") or 0, r.get("dst_port") or 0, proto,
            ms(r["first_seen"]), ms(r["last_seen"]), r["packets"]["up"], r["bytes"]["up"],
            r["packets"]["down"], r["bytes"]["down"], r["vlan"] or 0, up["type"], up["code"])


def nfcapd_flows(flowdir):
    """The FLOW entries nfdump reads from every file nfcapd left in `flowdir`, and the files, or an error.

    nfcapd (-t 3600 here) starts a new file at each full hour, so a run that crosses one leaves two; a run
    of minutes cannot leave more."""
    files = sorted(f for f in os.listdir(flowdir) if f.startswith("nfcapd.") and "current" not in f)
    if not 1 <= len(files) <= 2:
        return None, files, f"nfcapd left {files}, expected one file (two across an hour)"
    flows = []
    for f in files:
        p = subprocess.run(["nfdump", "-r", os.path.join(flowdir, f), "-o", "json"], capture_output=True,
                           timeout=60, env=dict(os.environ, TZ="UTC"))
        if p.returncode != 0:
            return None, files, f"nfdump -r {f}: exit {p.returncode}: {p.stderr.decode('utf-8', 'replace')}"
        # For a file without flows (the hour turned before the first one) nfdump 1.7 prints "[", "No matching
        # flows", "]": not JSON.
        if b"No matching flows" in p.stdout:
            continue
        flows += [x for x in json.loads(p.stdout) if x.get("type") == "FLOW"]
    return flows, files, None


def from_nfdump(f):
    return (f.get("src4_addr") or f.get("src6_addr"), f.get("dst4_addr") or f.get("dst6_addr"),
            f.get("src_port", 0), f.get("dst_port", 0), f["proto"], nfdump_ms(f["first"]), nfdump_ms(f["last"]),
            f.get("in_packets", 0), f.get("in_bytes", 0), f.get("out_packets", 0), f.get("out_bytes", 0),
            f.get("src_vlan", 0), f.get("icmp_type", 0), f.get("icmp_code", 0))


def udp_listening(port):
    """Whether a socket is bound to UDP 127.0.0.1:port (read from /proc, without touching the port)."""
    want = f"0100007F:{port:04X}"
    with open("/proc/net/udp") as f:
        return any(line.split()[1] == want for line in f.readlines()[1:])


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_nfcapd(work):
    """(process, port, flow dir, log path) of an nfcapd listening on 127.0.0.1."""
    for attempt in range(5):
        port = free_port()
        d = os.path.join(work, f"nfcapd-{attempt}")
        os.makedirs(d)
        log = os.path.join(work, f"nfcapd-{attempt}.log")
        p = subprocess.Popen(["nfcapd", "-b", "127.0.0.1", "-p", str(port), "-w", d, "-t", "3600"],
                             stdout=open(log, "wb"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and p.poll() is None and not udp_listening(port):
            time.sleep(0.05)
        if p.poll() is None and udp_listening(port):
            return p, port, d, log
        if p.poll() is None:
            p.kill()
        p.wait()
    raise RuntimeError("nfcapd did not start listening on 127.0.0.1 (see its log in the test's output)")


def stop_nfcapd(p):
    p.send_signal(signal.SIGTERM)  # nfcapd closes its file and renames it nfcapd.YYYYMMDDhhmm
    try:
        p.wait(timeout=15)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        raise RuntimeError("nfcapd did not end within 15 s of SIGTERM")


def pcap_of_datagrams(path, datagrams, dport):
    """A pcap (link type raw IPv4) of UDP datagrams from 127.0.0.1:40000 to 127.0.0.1:dport."""
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 101))
        for i, d in enumerate(datagrams):
            udp = struct.pack("!HHHH", 40000, dport, 8 + len(d), 0) + d
            ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), i & 0xFFFF, 0, 64, 17, 0,
                             bytes([127, 0, 0, 1]), bytes([127, 0, 0, 1])) + udp
            f.write(struct.pack("<IIII", 1700000000 + i, 0, len(ip), len(ip)) + ip)


def main():
    bin_, root = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    # --labels: only part 2 (tshark); otherwise only part 1 (nfcapd). Two ctest entries, so a machine without
    # tshark (scripts/install-deps.sh does not install it) still runs the collector comparison.
    labels_only = len(sys.argv) > 3 and sys.argv[3] == "--labels"
    missing = [t for t in (("tshark",) if labels_only else ("nfcapd", "nfdump")) if shutil.which(t) is None]
    if missing:
        print(f"SKIP: {', '.join(missing)} not installed (apt-get install {'tshark' if labels_only else 'nfdump'})")
        return 77
    work = tempfile.mkdtemp(prefix="sealscope-ipfix-")
    nfcapd = None
    failures = []
    try:
        if labels_only:
            return check_labels(bin_, root, work, failures)
        # 1. nfcapd: one run per capture, each its own observation domain (its own sequence numbers).
        nfcapd, port, flowdir, log = start_nfcapd(work)
        want = collections.Counter()
        per_capture = {}
        for i, cap in enumerate(CAPTURES):
            jsonl = os.path.join(work, cap + ".jsonl")
            summary = os.path.join(work, cap + ".summary.json")
            p = subprocess.run([bin_, "analyze", os.path.join(root, "captures", cap), "--flows", jsonl, "--ipfix",
                                f"127.0.0.1:{port}", "--ipfix-domain", str(i + 1), "--no-progress",
                                "--summary-json", summary], capture_output=True, timeout=120)
            out = p.stdout.decode("utf-8", "replace")
            if p.returncode != 0:
                failures.append(f"{cap}: sealscope exit {p.returncode}: {p.stderr.decode('utf-8', 'replace')}")
                continue
            recs = [json.loads(x) for x in open(jsonl, encoding="utf-8") if x.strip()]
            if not recs:
                failures.append(f"{cap}: no records: the comparison would prove nothing")
            line = [x for x in out.splitlines() if x.startswith("IPFIX to ")]
            if not line or f" with {len(recs)} records sent" not in line[0]:
                failures.append(f"{cap}: the summary does not say {len(recs)} records were sent: {line}")
            x = json.load(open(summary)).get("ipfix") or {}
            if (x.get("collector") != f"127.0.0.1:{port}" or x.get("records") != len(recs) or
                    not x.get("messages") or x.get("failed_messages") != 0 or x.get("refused") is not False or
                    x.get("error") is not None):
                failures.append(f"{cap}: --summary-json's ipfix counts do not say {len(recs)} records sent: {x}")
            per_capture[cap] = len(recs)
            want.update(from_record(r) for r in recs)
        time.sleep(0.3)  # the last datagrams into nfcapd's socket before it stops
        stop_nfcapd(nfcapd)
        nfcapd = None
        logtext = open(log, encoding="utf-8", errors="replace").read()
        flows, files, error = nfcapd_flows(flowdir)
        if error:
            failures.append(f"{error}; its log:\n{logtext}")
            return report(failures)
        got = collections.Counter(from_nfdump(f) for f in flows)
        total = sum(want.values())
        print(f"records in --flows: {total} ({per_capture}); flows nfdump read from nfcapd's {len(files)} file(s): {len(flows)}")
        if sum(got.values()) != total:
            failures.append(f"nfdump read {sum(got.values())} flows, the runs wrote {total} records")
        for k in sorted((want - got).keys(), key=str):
            failures.append(f"in --flows, not as such in nfdump: {k}")
        for k in sorted((got - want).keys(), key=str):
            failures.append(f"in nfdump, not as such in --flows: {k}")
        matched = sum((want & got).values())
        print(f"flows equal field by field (addresses, ports, protocol, packets and bytes each way, first and "
              f"last ms, VLAN, ICMP type and code): {matched} of {total}")
        if "Sequence Errors: 0" not in logtext or f"Flows: {total}," not in logtext:
            failures.append(f"nfcapd's own count: expected 'Flows: {total}, ... Sequence Errors: 0' in its log:\n"
                            + logtext)
        if not any(k[12] for k in want) or not any(k[4] == 58 and k[12] for k in want):
            failures.append("no ICMP and ICMPv6 record with a type: icmpTypeCodeIPv4/IPv6 are not checked")
        if not any(k[11] for k in want):
            failures.append("no record has a VLAN: vlanId is not checked (captures/vlan.pcap changed?)")
        if not any(":" in k[0] for k in want):
            failures.append("no IPv6 record: the IPv6 template is not checked (captures/ipv6.pcap changed?)")

    finally:
        if nfcapd is not None:
            nfcapd.kill()
            nfcapd.wait()
        shutil.rmtree(work, ignore_errors=True)
    return report(failures)


def check_labels(bin_, root, work, failures):
    """2. applicationName, decoded by tshark from the datagrams this test receives, with --workers 2."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        s.settimeout(0.2)
        rport = s.getsockname()[1]
        grams, stop = [], threading.Event()

        def receive():
            while not stop.is_set():
                try:
                    grams.append(s.recv(65535))
                except socket.timeout:
                    pass
        t = threading.Thread(target=receive)
        t.start()
        jsonl = os.path.join(work, "labels.jsonl")
        try:
            p = subprocess.run([bin_, "analyze"] + [os.path.join(root, "captures", c) for c in CAPTURES]
                               + [os.path.join(root, "captures", "tls-sni.pcap"), "--flows", jsonl, "--ipfix",
                                f"127.0.0.1:{rport}", "--workers", "2", "-q"], capture_output=True, timeout=120)
            time.sleep(0.3)
        finally:
            stop.set()
            t.join()
    if p.returncode != 0:
        failures.append(f"labels run: sealscope exit {p.returncode}: {p.stderr.decode('utf-8', 'replace')}")
    recs = [json.loads(x) for x in open(jsonl, encoding="utf-8") if x.strip()]
    if len(grams) < 2:
        failures.append(f"{len(grams)} datagrams: sequence numbers across messages are not checked")
    if any(len(g) > 1472 for g in grams):
        failures.append(f"a datagram is over 1472 bytes: {[len(g) for g in grams]}")
    # The header: version 10, its length the datagram's (the sequence numbers are checked with tshark).
    for g in grams:
        version, length = struct.unpack("!HH", g[:4])
        if version != 10 or length != len(g):
            failures.append(f"datagram header: version {version}, length {length} of {len(g)} bytes")
    pcap = os.path.join(work, "ipfix.pcap")
    pcap_of_datagrams(pcap, grams, rport)
    p = subprocess.run(["tshark", "-r", pcap, "-d", f"udp.port=={rport},cflow", "-T", "fields",
                        "-E", "occurrence=a", "-E", "aggregator=\t", "-e", "cflow.sequence",
                        "-e", "cflow.appl_name"], capture_output=True, timeout=60)
    if p.returncode != 0:
        failures.append(f"tshark exit {p.returncode}: {p.stderr.decode('utf-8', 'replace')}")
    names, seq_want = [], 0
    for line in p.stdout.decode("utf-8").splitlines():
        cols = line.split("\t")
        if int(cols[0]) != seq_want:
            failures.append(f"sequence number {cols[0]}, expected {seq_want} (records in earlier messages)")
        these = [c for c in cols[1:] if c != ""]
        names += these
        seq_want += len(these)
    labels = [r["label"] for r in recs]
    print(f"labels run (--workers 2): {len(grams)} datagrams, {len(names)} applicationName values, "
          f"{len(labels)} records")
    if not labels or sorted(names) != sorted(labels):
        failures.append(f"applicationName values {sorted(names)} differ from the labels {sorted(labels)}")
    if not any(x not in ("", "Unknown") for x in labels):
        failures.append("no record has a label: applicationName is not checked")
    return report(failures)


def report(failures):
    for f in failures:
        print("FAIL:", f)
    print("ok" if not failures else f"{len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
