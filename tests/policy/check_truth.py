#!/usr/bin/env python3
"""policy test --labels: the ground truth decides intended vs collateral, matched as sealscope eval matches.

Runs the calls-and-chat case (mixed.pcap + gtpu.pcap, calls blocked on Friday afternoons) three ways and reads
the block-calls rule's tally: without labels (the flows' own labels), with a labels file written from analyze's
own records (same judgement), and with that file saying the blocked call is chat (the block is collateral, under
the file's label). The labels file writes the call's IPv4 endpoints with a VLAN our flow lacks (matched through
the any-VLAN fallback), lower-case l4, a comment line and no ndpi42_label column. A malformed row is refused with
file:line:column and exit 2.
  check_truth.py SEALSCOPE REPO_ROOT
"""
import json
import os
import subprocess
import sys
import tempfile

bin_, root = sys.argv[1], sys.argv[2]
case = os.path.join(root, "tests", "policy", "calls-and-chat")
captures = [os.path.join(root, c) for c in open(os.path.join(case, "args")).read().split()]
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)


def policy(tmp, labels=None):
    out = os.path.join(tmp, "report.json")
    argv = [bin_, "policy", "test", "-q", "--rules", os.path.join(case, "rules.yaml"), "--report-json", out]
    if labels:
        argv += ["--labels", labels]
    p = subprocess.run(argv + captures, capture_output=True, text=True)
    if p.returncode != 0:
        return p, None
    rep = json.load(open(out))
    rule = next(r for r in rep["rules"] if r["rule"] == "block-calls")
    return p, (rep["truth"], rule["intended"], rule["collateral"], rule["collateral_labels"])


with tempfile.TemporaryDirectory() as tmp:
    flows = subprocess.run([bin_, "analyze", "-q", "--flows", "-"] + captures, capture_output=True, text=True,
                           check=True).stdout
    recs = [json.loads(line) for line in flows.splitlines()]
    call = [r for r in recs if r["activity"] == "call"]
    check(len(call) == 1, f"want one call flow in the case's captures, found {len(call)}")

    def row(r, family, activity, label, vlan=""):
        ep = lambda ip, port: (f"[{ip}]" if ":" in ip else ip) + f":{port if port is not None else 0}"
        return "\t".join(["mixed.pcap" if r["src_ip"].startswith("192.0.2.") else "gtpu.pcap", r["l4"], vlan,
                          ep(r["src_ip"], r["src_port"]), ep(r["dst_ip"], r["dst_port"]), "1", label, family,
                          activity])

    header = "file\tl4\tvlan\tendpoint_a\tendpoint_b\tpackets\texpected_label\tfamily\tactivity"

    def write(path, rows):
        with open(path, "w") as f:
            f.write(header + "\n# rows from analyze's own records\n" + "\n".join(rows) + "\n")

    own = [row(r, r["family"], r["activity"], r["label"], "7" if r is call[0] else "") for r in recs]
    write(os.path.join(tmp, "own.tsv"), own)
    chat = [row(r, "WhatsApp", "chat", "WhatsApp", "7") if r is call[0] else row(r, r["family"], r["activity"],
                                                                                    r["label"]) for r in recs]
    write(os.path.join(tmp, "chat.tsv"), chat)

    _, base = policy(tmp)
    check(base is not None and base[1:] == (1, 0, {}), f"without labels: want 1 intended, 0 collateral; got {base}")
    _, same = policy(tmp, os.path.join(tmp, "own.tsv"))
    check(same is not None and same[1:] == (1, 0, {}), f"with analyze's own labels: want 1 intended; got {same}")
    check(same is not None and same[0].startswith("labels file "), f"truth not named in the report: {same}")
    _, moved = policy(tmp, os.path.join(tmp, "chat.tsv"))
    check(moved is not None and moved[1:] == (0, 1, {"WhatsApp": 1}),
          f"with the call labelled chat: want 0 intended, 1 collateral under WhatsApp; got {moved}")

    bad = os.path.join(tmp, "bad.tsv")
    with open(bad, "w") as f:
        f.write(header + "\nmixed.pcap\tUDP\t\t192.0.2.10:50020\t198.51.100.20:port\t1\tRTP\tVoIP\tcall\n")
    p, _ = policy(tmp, bad)
    check(p.returncode == 2, f"malformed labels row: want exit 2 (as a rules error), got {p.returncode}")
    check(f"{bad}:2:34: endpoint_b: expected" in p.stderr, f"malformed labels row: message was {p.stderr!r}")

for f in failures:
    print("FAIL:", f)
print("policy --labels truth:", "ok" if not failures else f"{len(failures)} failure(s)")
sys.exit(1 if failures else 0)
