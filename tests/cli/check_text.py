#!/usr/bin/env python3
"""Names that are not plain ASCII, in every output: the same display text everywhere, and no output lost.

A capture made here holds three HTTP requests whose Host headers are UTF-8 ("café"), not UTF-8 (bytes FF
FE), and a backslash followed by "x41" (which must not read back as "A"). Its file name holds the byte FF,
and a policy rule's name holds the byte FE; another rule's name is longer than the text report's column.
sealscope(1) says each such string is written as its display text: valid UTF-8 as it is, a control
character, the backslash and each byte outside valid UTF-8 as \\xNN.

Checked: analyze (--flows, --csv, --html, --summary-json), policy test (--report-json, --html), audit
(--report-json) and eval (--report-json) all exit 0 (before, every JSON report aborted the program on the
first byte that was not UTF-8); every output is valid UTF-8 and every JSON output parses; the server names
in the flow records, the CSV cells and the HTML text are the display texts expected; the file name and the
rule name appear as display text in the reports; policy test's text table cuts the long name at a
character, with an ellipsis, and keeps its columns aligned.

usage: check_text.py SEALSCOPE REPO_ROOT
"""
import csv
import html
import io
import json
import os
import struct
import subprocess
import sys
import tempfile

HOSTS = [b"caf\xc3\xa9.example", b"bad\xff\xfe.example", b"x\\x41y.example"]
EXPECTED = ["caf\u00e9.example", "bad\\xff\\xfe.example", "x\\x5cx41y.example"]
CAPTURE = b"cap\xff.pcap"
RULE = b"block-h\xfe"
# Longer than the text table's 24-character column; the two bytes of its "ß" are bytes 23 and 24.
LONG_RULE = "block-whatsapp-calls-Gi\u00dfen-nights"

failures = []


def check(what, ok, detail=""):
    print(("ok: " if ok else "FAIL: ") + what + ("" if ok else f" ({detail})"))
    if not ok:
        failures.append(what)


def tcp(src, dst, sport, dport, seq, ack, flags, payload=b""):
    seg = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0) + payload
    return struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(seg), 1, 0x4000, 64, 6, 0, bytes(src), bytes(dst)) + seg


def make_pcap(path):
    """Raw-IP pcap (link type 101), one HTTP exchange per host name. By hand with struct, as the other
    tests: a 24-byte file header and 16-byte record headers need no capture library."""
    c, s = [192, 0, 2, 10], [203, 0, 113, 20]
    frames = []
    for i, host in enumerate(HOSTS):
        port = 41000 + i
        req = b"GET / HTTP/1.1\r\nHost: " + host + b"\r\n\r\n"
        frames += [tcp(c, s, port, 80, 1, 0, 0x02), tcp(s, c, 80, port, 100, 2, 0x12),
                   tcp(c, s, port, 80, 2, 101, 0x10), tcp(c, s, port, 80, 2, 101, 0x18, req),
                   tcp(s, c, 80, port, 101, 2 + len(req), 0x18, b"HTTP/1.1 204 No Content\r\n\r\n")]
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 101))
        for i, d in enumerate(frames):
            f.write(struct.pack("<IIII", 1709294400, i * 1000, len(d), len(d)) + d)


def run(args, what):
    r = subprocess.run(args, capture_output=True)
    check(f"{what}: exit 0", r.returncode == 0, f"exit {r.returncode}: {r.stderr.decode(errors='replace')[:300]}")
    return r


def utf8(path, what):
    data = open(path, "rb").read()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        check(f"{what}: valid UTF-8", False, str(e))
        return ""


def strings(obj):
    """Every string and key in a JSON value."""
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, list):
        for v in obj:
            yield from strings(v)
    elif isinstance(obj, dict):
        for k, v in obj.items():
            yield k
            yield from strings(v)


def main():
    sealscope, root = sys.argv[1], sys.argv[2]
    with tempfile.TemporaryDirectory() as work:
        w = work.encode()
        cap = os.path.join(w, CAPTURE)
        make_pcap(cap)
        out = lambda name: os.path.join(work, name)

        run([sealscope, "analyze", "-q", "--no-progress", "--flows", out("f.jsonl"), "--csv", out("f.csv"),
             "--html", out("a.html"), "--summary-json", out("s.json"), cap], "analyze")
        records = [json.loads(line) for line in utf8(out("f.jsonl"), "--flows").splitlines() if line]
        got = sorted(r["server_name"] or "" for r in records)
        check("--flows: server names are the display texts", got == sorted(EXPECTED), got)
        rows = list(csv.DictReader(io.StringIO(utf8(out("f.csv"), "--csv"))))
        got = sorted(r["server_name"] for r in rows)
        check("--csv: server names are the display texts", got == sorted(EXPECTED), got)
        page = html.unescape(utf8(out("a.html"), "--html"))
        for name in EXPECTED:
            check(f"--html: holds {name!r}", name in page)
        check("--html: no byte of the capture's name raw", "cap\ufffd" not in page and "cap\\xff.pcap" in page)
        summary = json.loads(utf8(out("s.json"), "--summary-json"))
        check("--summary-json: the capture's name as display text",
              any(s.endswith("cap\\xff.pcap") for s in strings(summary)), list(strings(summary))[:40])

        rules = os.path.join(w, b"rules.yaml")
        with open(rules, "wb") as f:
            f.write(b"rules:\n  - name: \"" + RULE + b"\"\n    label: HTTP\n    action: block\n"
                    b"  - name: \"" + LONG_RULE.encode() + b"\"\n    label: WhatsApp\n    action: block\n"
                    b"default: allow\n")
        r = run([sealscope.encode(), b"policy", b"test", b"--rules", rules, cap, b"--report-json", out("p.json").encode(),
             b"--html", out("p.html").encode()], "policy test")
        text = r.stdout.decode("utf-8", errors="replace")
        check("policy test: the text report is valid UTF-8", "\ufffd" not in text)
        rows = {line.split(" ")[0]: line for line in text.splitlines()}
        # The long name is cut at a character, not a byte: 23 characters and an ellipsis, then the columns
        # line up with the header's (before, a cut at 24 bytes split the ß and showed half of it as \\xc3).
        cut = LONG_RULE[:23] + "\u2026"
        check("policy test: a long rule name is cut whole characters wide, with an ellipsis", cut in rows, list(rows))
        header = next((line for line in text.splitlines() if line.startswith("rule ")), "")
        check("policy test: the cut name's row lines up with the header",
              cut in rows and rows[cut].index(" block ") + 1 == header.index("action"), (header, rows.get(cut)))
        check("policy test: the short rule's name as display text", "block-h\\xfe" in rows, list(rows))
        report = json.loads(utf8(out("p.json"), "policy --report-json"))
        check("policy --report-json: the rule's name as display text", "block-h\\xfe" in set(strings(report)))
        check("policy --html: the rule's name as display text",
              "block-h\\xfe" in html.unescape(utf8(out("p.html"), "policy --html")))

        canaries = out("canaries.txt")
        with open(canaries, "w") as f:
            f.write("a canary that is not in this capture\n")
        run([sealscope.encode(), b"audit", b"--canaries", canaries.encode(), cap, b"--report-json",
             out("au.json").encode()], "audit")
        report = json.loads(utf8(out("au.json"), "audit --report-json"))
        check("audit --report-json: the capture's name as display text",
              any(s.endswith("cap\\xff.pcap") for s in strings(report)))

        labels = os.path.join(w, b"labels.tsv")
        with open(labels, "wb") as f:
            f.write(b"file\tl4\tvlan\tendpoint_a\tendpoint_b\tpackets\texpected_label\tfamily\tactivity\tndpi42_label\n")
            f.write(CAPTURE + b"\tTCP\t\t192.0.2.10:41000\t203.0.113.20:80\t5\tWhatsApp\tWhatsApp\tchat\tHTTP\n")
        run([sealscope.encode(), b"eval", b"--labels", labels, w, b"--report-json", out("e.json").encode()], "eval")
        report = json.loads(utf8(out("e.json"), "eval --report-json"))
        check("eval --report-json: the capture's name as display text", "cap\\xff.pcap" in set(strings(report)))

    print(f"{len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
