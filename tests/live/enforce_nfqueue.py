#!/usr/bin/env python3
"""`sealscope policy enforce` for real: a netfilter queue in network namespaces this test makes.

Two namespaces joined by a veth pair; in the client's, iptables and ip6tables send every packet to and
from the server (IPv4, and UDP over IPv6) through one NFQUEUE (--queue-bypass). sealscope judges them with
a rules file that blocks DNS (over IPv4 and IPv6) and throttles port 9998 to 80 kbit/s. What the server and the client really received is compared with what the report
says passed and was dropped, rule by rule and packet by packet, and with the flow records. Also: traffic
flows again once sealscope has stopped (bypass), a second program cannot take the same queue, a user
without CAP_NET_ADMIN gets one clear line, usage errors exit 2, and no output (--flows, --report-json,
--html, stdout, stderr) holds the canary sent in the payloads, searched in every encoding and view by
tests/metadata/check_outputs.py's Searcher. Two more runs with a queue of one packet
(--queue-maxlen 1) and a burst that overflows it: by default the kernel drops what does not fit, counts it,
and the report gives that count and says INCOMPLETE; with --fail-open it all goes through, judged or not,
and the report says that what was not judged is not counted. When nfdump is installed, the main run also
sends its records with --ipfix to nfcapd on the client namespace's loopback, and nfdump's reading of what
nfcapd stored must equal the --flows records flow by flow (and hold no canary).

Traffic stays inside the namespaces (at most 230 datagrams and one TCP exchange); everything made is
removed at the end. Skips (77) without root, iproute2, iptables or the kernel's NFQUEUE target.
usage: enforce_nfqueue.py SEALSCOPE REPO
"""
import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time

BIN = sys.argv[1]
sys.path.insert(0, os.path.join(sys.argv[2], "tests", "metadata"))
import check_outputs  # noqa: E402  (the metadata test's canary search, one search for every output test)
sys.path.insert(0, os.path.join(sys.argv[2], "tests", "export"))
import check_ipfix  # noqa: E402  (how --flows records and nfdump's flows are put side by side)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from queue_lab import SKIP, Lab, fail, run, skip_reason  # noqa: E402  (the namespaces and queue rules)
QUEUE = 7000 + os.getpid() % 1000
lab = Lab(f"se{os.getpid()}", 79, QUEUE, ipv6=True)
A, B = lab.a, lab.b
CANARY = b"sealscope-enforce-canary-5e9c"
RULES = """\
regions:
  lab:
    subscribers: [10.79.0.0/24, "fd79::/64"]
rules:
  - name: block-dns
    region: lab
    label: DNS
    action: block
  - name: throttle-bulk
    region: lab
    ports: [9998]
    action: {throttle: 80}
default: allow
"""

SERVER = r"""
import json, select, socket, sys, time
udp = {}
for port in (53, 9996, 9997, 9998, 9999):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    s.bind(("10.79.0.2", port))
    udp[s] = port
t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t.bind(("10.79.0.2", 8080))
t.listen(4)
v6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
v6.bind(("fd79::2", 53))
udp[v6] = "53v6"
got = {"53": 0, "53v6": 0, "9996": 0, "9997": 0, "9998": 0, "9999": 0, "tcp_bytes": 0}
open(sys.argv[1] + ".ready", "w").close()
end = time.time() + 60
while time.time() < end and not __import__("os").path.exists(sys.argv[1] + ".stop"):
    ready, _, _ = select.select(list(udp) + [t], [], [], 0.1)
    for s in ready:
        if s is t:
            c, _ = t.accept()
            c.settimeout(5)
            data = b""
            while not data.endswith(b"\r\n\r\n"):
                chunk = c.recv(4096)
                if not chunk:
                    break
                data += chunk
            got["tcp_bytes"] += len(data)
            body = b"ok " * 100
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body)
            c.close()
            continue
        data, peer = s.recvfrom(4096)
        port = udp[s]
        got[str(port)] += 1
        if port in (53, "53v6"):  # an answer-less response: the query with QR set
            s.sendto(data[:2] + b"\x81\x80" + data[4:], peer)
        elif port == 9999:
            s.sendto(data, peer)
json.dump(got, open(sys.argv[1], "w"))
"""




def dns_query(qid):
    return struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + b"\x03lab\x07example\x03org\x00\x00\x01\x00\x01"


CLIENT = r"""
import json, socket, struct, sys
q = struct.pack("!HHHHHH", 0x4242, 0x0100, 1, 0, 0, 0) + b"\x03lab\x07example\x03org\x00\x00\x01\x00\x01"
out = {"dns_replies": 0, "dns6_replies": 0, "echo_replies": 0, "http": ""}
for family, server, key in ((socket.AF_INET, "10.79.0.2", "dns_replies"), (socket.AF_INET6, "fd79::2", "dns6_replies")):
    d = socket.socket(family, socket.SOCK_DGRAM)
    d.settimeout(0.3)
    for _ in range(5):
        d.sendto(q, (server, 53))
        try:
            d.recv(4096)
            out[key] += 1
        except socket.timeout:
            pass
e = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
e.settimeout(1)
for i in range(5):
    e.sendto(sys.argv[1].encode() + b" echo %d" % i, ("10.79.0.2", 9999))
    try:
        e.recv(4096)
        out["echo_replies"] += 1
    except socket.timeout:
        pass
c = socket.create_connection(("10.79.0.2", 8080), timeout=5)
c.sendall(b"GET /" + sys.argv[1].encode() + b" HTTP/1.1\r\nHost: lab.example.org\r\n\r\n")
resp = b""
while True:
    chunk = c.recv(4096)
    if not chunk:
        break
    resp += chunk
out["http"] = resp.decode(errors="replace")
b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for _ in range(200):
    b.sendto(sys.argv[1].encode() * 30, ("10.79.0.2", 9998))
print(json.dumps(out))
"""



def main():
    why = skip_reason(("ip", "iptables", "ip6tables"))
    if why:
        print("SKIP:", why)
        return SKIP
    tmp = tempfile.mkdtemp()
    os.chmod(tmp, 0o755)  # the rules file is read by an unprivileged user too (the CAP_NET_ADMIN check)
    try:
        why = lab.up()
        if why:
            print("SKIP:", why)
            return SKIP

        rules = os.path.join(tmp, "rules.yaml")
        with open(rules, "w") as f:
            f.write(RULES)
        counts = os.path.join(tmp, "server.json")
        server = lab.start(B, [sys.executable, "-c", SERVER, counts])
        for _ in range(100):
            if os.path.exists(counts + ".ready"):
                break
            time.sleep(0.05)
        else:
            fail("the test server did not start")

        # Usage errors: the command line alone is at fault (2), nothing is bound.
        for args, want in ((["--rules", rules], "--queue N is required"),
                           (["--queue", "1"], "--rules FILE is required"),
                           (["--rules", rules, "--queue", "70000"], "--queue must be between 0 and 65535"),
                           (["--rules", rules, "--queue", "-1"], "--queue must be between 0 and 65535"),
                           (["--rules", rules, "--queue", "1", "--duration", "-3"], "--duration must be")):
            r = run(BIN, "policy", "enforce", *args, check=False)
            if r.returncode != 2 or want not in r.stderr:
                fail(f"enforce {args}: exit {r.returncode}, stderr {r.stderr!r}; wanted 2 and {want!r}")

        flows = os.path.join(tmp, "flows.jsonl")
        report = os.path.join(tmp, "report.json")
        page = os.path.join(tmp, "report.html")
        # A real IPFIX collector on the client namespace's own loopback (nothing leaves the namespace).
        ipfix_args, nfcapd, flowdir, ipfix_note = [], None, os.path.join(tmp, "nfcapd"), "--ipfix not checked"
        if shutil.which("nfcapd") and shutil.which("nfdump"):
            os.makedirs(flowdir)
            nfcapd = lab.start(A, ["nfcapd", "-b", "127.0.0.1", "-p", "4739", "-w", flowdir, "-t", "3600"],
                               stdout=open(os.path.join(tmp, "nfcapd.log"), "wb"), stderr=subprocess.STDOUT)
            for _ in range(200):
                if "0100007F:1283" in lab.ns(A, "cat", "/proc/net/udp").stdout:
                    break
                time.sleep(0.05)
            else:
                fail("nfcapd did not start listening on the namespace's 127.0.0.1:4739")
            ipfix_args = ["--ipfix", "127.0.0.1:4739", "--ipfix-domain", "9"]
        else:
            print("note: nfcapd/nfdump not installed: --ipfix not checked here (tests/export covers it on analyze)")
        for args, want in ((["--rules", rules, "--queue", "1", "--ipfix-domain", "3"], "give --ipfix HOST:PORT too"),
                           (["--rules", rules, "--queue", "1", "--ipfix", "127.0.0.1"], "--ipfix")):
            r = run(BIN, "policy", "enforce", *args, check=False)
            if r.returncode != 2 or want not in r.stderr:
                fail(f"enforce {args}: exit {r.returncode}, stderr {r.stderr!r}; wanted 2 and {want!r}")
        enforcer = lab.start(A, [BIN, "policy", "enforce", "--rules", rules, "--queue", str(QUEUE), "--duration", "40",
                                 "--flows", flows, "--report-json", report, "--html", page] + ipfix_args,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        lab.wait_bound(enforcer)

        # A second program cannot take the queue: one line naming it, exit 1.
        r = lab.ns(A, BIN, "policy", "enforce", "--rules", rules, "--queue", str(QUEUE), "--duration", "1", check=False)
        if r.returncode != 1 or f"nfqueue {QUEUE}: cannot bind the queue" not in r.stderr or len(r.stderr.splitlines()) != 1:
            fail(f"a second enforce on the same queue: exit {r.returncode}, stderr {r.stderr!r}")
        # Nor can a user without CAP_NET_ADMIN.
        if shutil.which("setpriv"):
            r = lab.ns(A, "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", BIN, "policy",
                   "enforce", "--rules", rules, "--queue", str(QUEUE + 1), "--duration", "1", check=False)
            if r.returncode != 1 or "CAP_NET_ADMIN" not in r.stderr:
                fail(f"enforce without CAP_NET_ADMIN: exit {r.returncode}, stderr {r.stderr!r}")

        client = json.loads(lab.ns(A, sys.executable, "-c", CLIENT, CANARY.decode(), timeout=60).stdout)
        time.sleep(0.5)  # the last datagrams' verdicts
        enforcer.send_signal(signal.SIGINT)
        out, err = enforcer.communicate(timeout=30)
        if enforcer.returncode != 0:
            fail(f"enforce stopped by SIGINT: exit {enforcer.returncode}, stderr {err!r}")
        if lab.queue_bound():
            fail("the queue is still bound after sealscope ended")

        # Bypass: with nobody on the queue, a DNS query goes through and is answered.
        after = lab.ns(A, sys.executable, "-c", "import socket,sys\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
                   "s.settimeout(2)\ns.sendto(bytes.fromhex(sys.argv[1]),('10.79.0.2',53))\nprint(len(s.recv(4096)))",
                   dns_query(7).hex(), check=False)
        if after.returncode != 0:
            fail(f"after sealscope ended, a DNS query got no answer (--queue-bypass): {after.stderr}")

        # A queue of one packet: a burst of 200 datagrams (to a port no rule names) overflows it. By default
        # the kernel drops what does not fit and counts it; with --fail-open it lets it through and counts
        # nothing (the kernel's code: only a drop increments queue_dropped).
        overflow = {}
        for port, extra in ((9996, []), (9997, ["--fail-open"])):
            rep_path = os.path.join(tmp, f"overflow-{port}.json")
            p = lab.start(A, [BIN, "policy", "enforce", "--rules", rules, "--queue", str(QUEUE), "--queue-maxlen", "1",
                              "--duration", "30", "--report-json", rep_path] + extra,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            lab.wait_bound(p, f"enforce {extra}")
            lab.ns(A, sys.executable, "-c", "import socket,sys\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
               "for _ in range(200): s.sendto(sys.argv[1].encode(), ('10.79.0.2', int(sys.argv[2])))",
               CANARY.decode(), str(port), timeout=30)
            time.sleep(0.5)
            p.send_signal(signal.SIGINT)
            pout, perr = p.communicate(timeout=30)
            if p.returncode != 0:
                fail(f"enforce {extra} with --queue-maxlen 1: exit {p.returncode}, stderr {perr!r}")
            overflow[port] = (json.load(open(rep_path))["capture"]["queue"], pout, perr, rep_path)

        open(counts + ".stop", "w").close()
        server.wait(timeout=10)
        got = json.load(open(counts))
        got_dns = got["53"] - 1  # the query after sealscope ended

        rep = json.load(open(report))
        by_rule = {r["rule"]: r for r in rep["rules"]}
        checks = []

        # block-dns: the query that gave the verdict passed, nothing after it.
        dns = by_rule["block-dns"]
        got_dns6 = got["53v6"]
        checks.append(("DNS flows (IPv4 and IPv6)", dns["flows"], 2))
        checks.append(("DNS packets counted (10 queries + the answers sent)", dns["packets"], 10 + got_dns + got_dns6))
        checks.append(("DNS packets passed = queries the server got + answers the client got", dns["passed"]["packets"],
                       got_dns + got_dns6 + client["dns_replies"] + client["dns6_replies"]))
        checks.append(("DNS packets dropped", dns["dropped"]["packets"], dns["packets"] - dns["passed"]["packets"]))
        if not (1 <= got_dns < 5 and 1 <= got_dns6 < 5):
            fail(f"block-dns: the server got {got_dns} (IPv4) and {got_dns6} (IPv6) of 5 queries each; the verdict "
                 "should stop all but the first few")
        # throttle-bulk: what the server got is what the report says passed; the rest was throttled.
        bulk = by_rule["throttle-bulk"]
        checks.append(("throttled flow's packets", bulk["packets"], 200))
        checks.append(("throttled flow's packets passed = datagrams the server got", bulk["passed"]["packets"], got["9998"]))
        checks.append(("throttled packets", bulk["throttled"]["packets"], 200 - got["9998"]))
        if not 0 < got["9998"] < 200:
            fail(f"throttle-bulk: the server got {got['9998']} of 200 datagrams")
        # default (allow): the echo flow and the TCP exchange went through whole.
        checks.append(("echo replies", client["echo_replies"], 5))
        checks.append(("echo datagrams the server got", got["9999"], 5))
        checks.append(("default rule's drops", by_rule["default"]["dropped"]["packets"], 0))
        if not client["http"].startswith("HTTP/1.1 200 OK") or not client["http"].endswith("ok " * 100):
            fail(f"the allowed TCP exchange did not complete: {client['http'][:80]!r}")

        # The queue's own account: every packet judged is one the report counted.
        q = rep["capture"]["queue"]
        checks.append(("queue packets = report packets", q["packets"], rep["totals"]["packets"]))
        checks.append(("queue drops = report drops", q["dropped"], rep["totals"]["dropped"]["packets"]))
        checks.append(("queue accepted + dropped", q["accepted"] + q["dropped"], q["packets"]))
        for k in ("overflow", "undelivered", "lost_messages", "verdict_errors"):
            checks.append((f"queue {k}", q[k], 0))
        if f"nfqueue {QUEUE}: {q['packets']} packets judged: {q['accepted']} let through, {q['dropped']} dropped" not in out:
            fail(f"the printed summary does not give the queue's counts: {out[:300]!r}")

        # The records: every judged packet counted in its flow, dropped or not; labels and names.
        recs = {(r["l4"], r["dst_port"], ":" in r["dst_ip"]): r for r in map(json.loads, open(flows))}
        recs.update({k[:2]: r for k, r in recs.items() if not k[2]})
        d = recs[("udp", 53)]
        checks.append(("DNS record label", d["label"], "DNS"))
        checks.append(("DNS record server name", d["server_name"], "lab.example.org"))
        checks.append(("DNS record packets", (d["packets"]["up"], d["packets"]["down"]), (5, got_dns)))
        d6 = recs[("udp", 53, True)]
        checks.append(("IPv6 DNS record", (d6["src_ip"], d6["dst_ip"], d6["label"], d6["packets"]["up"],
                                           d6["packets"]["down"]), ("fd79::1", "fd79::2", "DNS", 5, got_dns6)))
        checks.append(("bulk record packets up", recs[("udp", 9998)]["packets"]["up"], 200))
        checks.append(("echo record packets", tuple(recs[("udp", 9999)]["packets"].values()), (5, 5)))
        checks.append(("TCP record label", recs[("tcp", 8080)]["label"], "HTTP"))

        # --ipfix: what the collector stored is the records, flow by flow; the report and stdout say how many.
        if nfcapd is not None:
            all_recs = [json.loads(x) for x in open(flows) if x.strip()]
            x = rep["capture"].get("ipfix") or {}
            checks.append(("capture.ipfix", (x.get("collector"), x.get("records"), x.get("failed_messages"),
                                             x.get("refused")), ("127.0.0.1:4739", len(all_recs), 0, False)))
            if f"IPFIX to 127.0.0.1:4739: {x.get('messages')} messages with {len(all_recs)} records sent" not in out:
                fail(f"the printed report does not say {len(all_recs)} IPFIX records were sent: {out[:400]!r}")
            time.sleep(0.3)
            nfcapd.send_signal(signal.SIGTERM)
            nfcapd.wait(timeout=15)
            flows_stored, files, error = check_ipfix.nfcapd_flows(flowdir)
            if error:
                fail(error)
            stored = sorted(check_ipfix.from_nfdump(f) for f in flows_stored)
            checks.append(("flows nfcapd stored = --flows records", stored,
                           sorted(check_ipfix.from_record(r) for r in all_recs)))
            if len(all_recs) < 5:
                fail(f"only {len(all_recs)} records: the IPFIX comparison would prove little")
            ipfix_note = f"nfcapd stored the {len(stored)} records, field by field"

        bad = [f"{what}: {have!r}, expected {want!r}" for what, have, want in checks if have != want]
        if bad:
            fail("\n  ".join(["the report does not match what crossed the queue:"] + bad))

        # The overflow runs. Fail-closed (the default): every datagram judged or counted as dropped by the
        # kernel, and the server got exactly those judged and let through. Fail-open: the server got all 200,
        # fewer were judged, and the kernel counted nothing.
        q2, text = overflow[9996][0], overflow[9996][1]
        if q2["fail_open"] or not q2["overflow"] or q2["dropped"] != 0 or q2["packets"] + q2["overflow"] != 200:
            fail(f"--queue-maxlen 1: {q2}; wanted overflow > 0, no rule drop, judged + overflow = 200 sent")
        if got["9996"] != q2["accepted"]:
            fail(f"--queue-maxlen 1: the server got {got['9996']} datagrams, the queue let {q2['accepted']} through")
        line = f"INCOMPLETE: nfqueue {QUEUE}: {q2['overflow']} packets found the queue full and were dropped unjudged"
        if line not in text:
            fail(f"the printed report does not say {line!r}: {text[-400:]!r}")
        q3, text = overflow[9997][0], overflow[9997][1]
        if not q3["fail_open"] or q3["overflow"] != 0 or q3["packets"] >= 200 or got["9997"] != 200:
            fail(f"--queue-maxlen 1 --fail-open: {q3}, the server got {got['9997']}; wanted all 200 through, "
                 "fewer judged, none counted as overflow")
        if "--fail-open: packets that found the queue full went through unjudged, uncounted" not in text:
            fail(f"the printed report does not say that --fail-open leaves packets uncounted: {text[:300]!r}")

        # Metadata only: the canary was in every echo, bulk, overflow and HTTP payload; no output may hold it,
        # in any encoding the metadata test searches for.
        searcher = check_outputs.Searcher([check_outputs.Canary("enforce test", 1, CANARY)])
        outputs = {"--flows": flows, "--report-json": report, "--html": page}
        for port in overflow:
            outputs[f"overflow {port} --report-json"] = overflow[port][3]
        if nfcapd is not None:
            for f in os.listdir(flowdir):
                outputs[f"nfcapd's file {f} (--ipfix)"] = os.path.join(flowdir, f)
        for name, data in (("stdout", out), ("stderr", err)) + tuple(
                (f"overflow {port} {which}", overflow[port][i]) for port in overflow for i, which in ((1, "stdout"), (2, "stderr"))):
            path = os.path.join(tmp, name.replace(" ", "-") + ".txt")
            with open(path, "w") as f:
                f.write(data)
            outputs[name] = path
        for name, path in outputs.items():
            found, _ = check_outputs.scan_file(searcher, path)
            if found:
                fail(f"{name} holds payload bytes: the canary as {found[0][2]} in its {found[0][0]}")
        html_text = open(page).read()
        if "block-dns" not in html_text or "throttle-bulk" not in html_text or \
                "sealscope policy enforce" not in html_text or "applied inline to" not in html_text:
            fail("the --html page does not show the rules, or does not say they were enforced")
        if f"policy enforce: {rules} applied inline to nfqueue {QUEUE}" not in out:
            fail(f"the printed report does not say what it is: {out[:200]!r}")
        print(f"ok: DNS {got_dns}/5 (IPv4) and {got_dns6}/5 (IPv6) queries passed, "
              f"{client['dns_replies'] + client['dns6_replies']} answers; bulk {got['9998']}/200 passed "
              f"by the throttle; {q['packets']} packets judged, {q['dropped']} dropped, as the report says; "
              f"queue of 1: {q2['overflow']} of 200 dropped as overflow, counted; --fail-open: "
              f"{q3['packets']} of 200 judged, all through; --ipfix: {ipfix_note}")
        return 0
    finally:
        lab.close()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
