#!/usr/bin/env python3
"""The --html reports of `sealscope analyze`, `sealscope policy test` and `sealscope audit`, read by a real browser.

Runs `sealscope analyze --html` on the project's captures plus two TLS flows made here whose server names are
hostile (markup and quotes; a byte that is not UTF-8), has headless Chromium load the page (--dump-dom: the
DOM after Chromium's own HTML parser), and checks what the browser built against the run's --summary-json
and --flows:

* nothing that runs or fetches: no script element, no src/href/action/srcset attribute, no on* handler, and
  a Content-Security-Policy of default-src 'none';
* the capture figures, the family x activity table, the activity totals, the labels, the flow ends and the
  confidence counts equal the summary JSON, row for row (exact byte counts are in each cell's title);
* the biggest-flows table holds min(25, flows) rows in descending bytes, equal to the largest records of
  --flows, and the hostile server names come back from the browser as the same text (escaping works in a
  real parser); the byte that is not UTF-8 arrives from nDPI as '?', as in the records;
* the time line counts every flow once (the numbers in its interval titles add up to the flows);
* the hour-of-day table counts each record at the hour of its first packet: in UTC by default, and with
  --tz Asia/Kolkata (UTC+5:30) and --tz America/New_York on flows made here on both sides of a half hour
  and of a daylight saving change, as Python's zoneinfo computes it from --flows;
* the page is the same bytes on a second run, and with --html - on standard output.

Then `policy test --html` with rules/hospital-exemption.yaml, its block rule and a region renamed to names
full of markup, on every capture in captures/ (truncated.pcap among them): the page names the truncated
capture first, and its rule, region and time-to-block tables equal --report-json row for row.

Then `audit --html` with captures/canary-canaries.txt (copied to a file name full of markup) on canary.pcap,
the hostile TLS flows, truncated.pcap and sealchat-chat.pcap: verdict, reasons, warnings, and the canary, encoding, hit, flow,
judgement and name tables equal --report-json row for row; no canary's text is anywhere in the page.

usage: check_html.py SEALSCOPE REPO_ROOT       exit 0 pass, 1 fail, 77 skip (no Chromium)
"""

import html.parser
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

HOSTILE = '<script>alert("x")</script>&amp;\'.example'
HOSTILE_BYTES = b"caf\xff.example"
HOSTILE_RULE = 'block <calls> & "more" \'x\''
HOSTILE_REGION = "city <b>"

failures = []


def check(what, ok):
    print(("ok: " if ok else "FAIL: ") + what)
    if not ok:
        failures.append(what)


def client_hello(sni):
    ext = struct.pack("!HH", 0, len(sni) + 5) + struct.pack("!HBH", len(sni) + 3, 0, len(sni)) + sni
    body = (b"\x03\x03" + b"\x11" * 32 + b"\x00" + struct.pack("!H", 2) + b"\x13\x01" + b"\x01\x00" +
            struct.pack("!H", len(ext)) + ext)
    hs = b"\x01" + struct.pack("!I", len(body))[1:] + body
    return b"\x16\x03\x01" + struct.pack("!H", len(hs)) + hs


def tcp(src, dst, sport, dport, seq, ack, flags, payload=b""):
    seg = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(seg), 1, 0x4000, 64, 6, 0, bytes(src), bytes(dst))
    return ip + seg


def hostile_pcap(path):
    """Raw-IP pcap: two TLS handshakes starting 2024-03-01 12:00, one per hostile server name."""
    c, s = [192, 0, 2, 7], [203, 0, 113, 9]
    frames = []
    for port, sni in ((40001, HOSTILE.encode()), (40002, HOSTILE_BYTES)):
        frames += [tcp(c, s, port, 443, 1000, 0, 0x02), tcp(s, c, 443, port, 5000, 1001, 0x12),
                   tcp(c, s, port, 443, 1001, 5001, 0x10), tcp(c, s, port, 443, 1001, 5001, 0x18, client_hello(sni))]
    # By hand with struct: the tests need only Python's standard library (python3-dpkt or scapy would be a
    # test dependency for a 24-byte file header and 16-byte record headers).
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 101))
        for i, d in enumerate(frames):
            f.write(struct.pack("<IIII", 1709294400, i * 1000, len(d), len(d)) + d)


class Dom(html.parser.HTMLParser):
    """Just enough of the DOM: every element (tag, attrs), the text of table cells by table id, titles."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.elements = []
        self.tables = {}  # id -> [[(text, attrs), ...] per row]
        self.stack = []
        self.table = None
        self.cell = None
        self.svg_titles = []
        self.in_svg = False
        self.title = None
        self.text = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.elements.append((tag, a))
        if tag == "table":
            self.table = a.get("id")
            if self.table:
                self.tables[self.table] = []
        elif tag == "tr" and self.table:
            self.tables[self.table].append([])
        elif tag in ("td", "th") and self.table:
            self.cell = ([], a)
        elif tag == "svg":
            self.in_svg = True
        elif tag == "title":
            self.title = []

    def handle_endtag(self, tag):
        if tag == "table":
            self.table = None
        elif tag in ("td", "th") and self.table and self.cell is not None:
            self.tables[self.table][-1].append(("".join(self.cell[0]).strip(), self.cell[1]))
            self.cell = None
        elif tag == "svg":
            self.in_svg = False
        elif tag == "title" and self.title is not None:
            if self.in_svg:
                self.svg_titles.append("".join(self.title))
            self.title = None

    def handle_data(self, data):
        self.text.append(data)
        if self.cell is not None:
            self.cell[0].append(data)
        if self.title is not None:
            self.title.append(data)


def exact_bytes(cell):
    m = re.fullmatch(r"(\d+) bytes", cell[1].get("title", ""))
    return int(m.group(1)) if m else None


def dump_dom(browser, page, work):
    """The DOM Chromium builds from `page` (its own HTML parser), or None when it cannot load it."""
    profile = os.path.join(work, "profile")
    b = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                        f"--user-data-dir={profile}", "--dump-dom", "file://" + page],
                       capture_output=True, timeout=120, env=dict(os.environ, HOME=work))
    check(f"Chromium loads {os.path.basename(page)}", b.returncode == 0 and b"</html>" in b.stdout)
    if b.returncode != 0:
        print(b.stderr.decode(errors="replace")[-2000:])
        return None
    dom = Dom()
    dom.feed(b.stdout.decode("utf-8"))
    return dom


def check_inert(dom, what):
    """Nothing in the page runs or fetches."""
    tags = {t for t, _ in dom.elements}
    check(f"{what}: no script, iframe, object, embed, img or link element",
          not {"script", "iframe", "object", "embed", "img", "link"} & tags)
    bad = [(t, k) for t, a in dom.elements for k in a if k in ("src", "href", "action", "srcset") or k.startswith("on")]
    check(f"{what}: no attribute that fetches or runs ({bad[:3]})", not bad)
    csp = [a.get("content", "") for t, a in dom.elements
           if t == "meta" and a.get("http-equiv", "").lower() == "content-security-policy"]
    check(f"{what}: a Content-Security-Policy of default-src 'none'", len(csp) == 1 and "default-src 'none'" in csp[0])


def hours_pcap(path):
    """Raw-IP pcap: one UDP datagram per flow at times around 12:30 UTC (18:00 in Kolkata) and around the
    2024 spring change in New York (2024-03-10 07:00 UTC, 02:00 EST -> 03:00 EDT)."""
    times = [1709296199, 1709296200, 1709296201, 1710053999, 1710054000, 1710057600]
    frames = []
    for i, t in enumerate(times):
        udp = struct.pack("!HHHH", 40000 + i, 5000, 8 + 4, 0) + b"\x00\x01\x02\x03"
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0, bytes([192, 0, 2, 8]),
                         bytes([198, 51, 100, 8])) + udp
        frames.append((t, ip))
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 101))
        for t, d in frames:
            f.write(struct.pack("<IIII", t, 0, len(d), len(d)) + d)


def check_hours(dom, records, zone, what):
    """The hour-of-day table equals the records counted at the local hour of their first_seen."""
    tz = ZoneInfo(zone)
    want = {}
    for r in records:
        t = datetime.strptime(r["first_seen"][:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc)
        h = want.setdefault(t.astimezone(tz).hour, {})
        h[r["activity"]] = h.get(r["activity"], 0) + 1
    rows = dom.tables.get("hour-of-day", [])
    if len(rows) != 25:
        check(f"{what}: the hour-of-day table has a header and 24 rows (got {len(rows)})", False)
        return
    head = [c[0] for c in rows[0]]
    got = {}
    ok = head[0] == "hour" and head[-1] == "all"
    for hour, row in enumerate(rows[1:]):
        ok = ok and row[0][0] == f"{hour:02}:00\u2013{hour + 1:02}:00"
        counts = {a: int(c[0]) for a, c in zip(head[1:-1], row[1:-1]) if int(c[0]) > 0}
        ok = ok and sum(counts.values()) == int(row[-1][0])
        if counts:
            got[hour] = counts
    check(f"{what}: the hour-of-day table ({zone}) counts each record at the local hour of its first packet "
          f"({sorted(got)})", ok and got == want and sum(sum(h.values()) for h in got.values()) == len(records))


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    binary, root = sys.argv[1], sys.argv[2]
    browser = next((shutil.which(b) for b in ("chromium", "chromium-browser", "google-chrome") if shutil.which(b)), None)
    if browser is None:
        print("SKIP: no Chromium (apt install chromium) to read the page with")
        return 77
    work = tempfile.mkdtemp(prefix="sealscope-html-")
    try:
        run(binary, root, browser, work)
        run_policy(binary, root, browser, work)
        run_audit(binary, root, browser, work)
        print("html reports: " + ("PASS" if not failures else f"FAILED ({len(failures)})"))
        return 0 if not failures else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(binary, root, browser, work):
    hostile_pcap(os.path.join(work, "hostile.pcap"))
    caps = [os.path.join(root, "captures", c) for c in ("mixed.pcap", "gtpu.pcap", "vlan.pcap", "stun.pcap",
                                                        "tunnels.pcap", "icmp-errors.pcap")]
    caps.append(os.path.join(work, "hostile.pcap"))
    page, summary, flows = (os.path.join(work, n) for n in ("report.html", "summary.json", "flows.jsonl"))
    args = [binary, "analyze", "-q", "--no-progress", "--html", page, "--summary-json", summary, "--flows", flows]
    r = subprocess.run(args + caps, capture_output=True, timeout=120)
    check(f"analyze --html exits 0 (stderr: {r.stderr.decode(errors='replace')[:200]!r})", r.returncode == 0)
    if r.returncode != 0:
        return 1
    s = json.load(open(summary))
    records = [json.loads(line) for line in open(flows, encoding="utf-8", errors="surrogateescape")]
    blob = open(page, "rb").read()

    # Deterministic, and the same on standard output.
    again = subprocess.run([binary, "analyze", "-q", "--no-progress", "--html", "-"] + caps, capture_output=True,
                           timeout=120)
    check("--html - writes the same bytes to standard output (and a second run the same page)",
          again.returncode == 0 and again.stdout == blob)

    dom = dump_dom(browser, page, work)
    if dom is None:
        return 1
    check_inert(dom, "analyze")

    # Capture figures.
    cap = {row[0][0]: row[1] for row in dom.tables.get("capture", []) if len(row) == 2}
    check("capture: flows", cap.get("flows", ("",))[0] == str(s["flows"]["flows"]))
    check("capture: packets in flows", cap.get("packets in flows", ("",))[0] == str(s["flows"]["packets"]))
    check("capture: ICMP errors about flows (icmp-errors.pcap has some)",
          s["icmp_errors"]["flows"] > 0 and cap.get("ICMP errors about flows", ("",))[0]
          == f"{s['icmp_errors']['messages']} messages about {s['icmp_errors']['flows']} flows")
    check("capture: frames read", cap.get("frames read", ("",))[0].startswith(f"{s['frames']} ("))
    check("capture: first packet", cap.get("first packet (UTC)", ("",))[0] == s["capture"]["first_seen"][:19].replace("T", " "))
    check("capture: last packet", cap.get("last packet (UTC)", ("",))[0] == s["capture"]["last_seen"][:19].replace("T", " "))

    # Family x activity, in the text summary's order: named families first, then by bytes.
    rows = dom.tables.get("family-activity", [])[1:]
    got = [(c[0][0], c[1][0], int(c[2][0]), int(c[3][0]), exact_bytes(c[4])) for c in rows]
    want = sorted(((r["family"] or "-", r["activity"], r["flows"], r["packets"], r["bytes"]) for r in s["by_family_activity"]),
                  key=lambda x: (x[0] == "-", -x[4]))
    check(f"family x activity: {len(got)} rows equal the summary's", sorted(got) == sorted(want))
    check("family x activity: named families first, then by bytes",
          [(g[0] == "-", -g[4]) for g in got] == sorted((g[0] == "-", -g[4]) for g in got))
    check("family x activity: the flows add up to all flows", sum(g[2] for g in got) == s["flows"]["flows"])

    # Activity totals.
    acts = {}
    for r in s["by_family_activity"]:
        a = acts.setdefault(r["activity"], [0, 0, 0])
        a[0] += r["flows"]; a[1] += r["packets"]; a[2] += r["bytes"]
    got = {c[0][0]: [int(c[1][0]), int(c[2][0]), exact_bytes(c[3])] for c in dom.tables.get("activity", [])[1:]}
    check(f"activity totals equal the summary's ({sorted(got)})", got == acts)

    # Labels, flow ends, confidence.
    got = {c[0][0]: {"flows": int(c[1][0]), "packets": int(c[2][0]), "bytes": exact_bytes(c[3])} for c in dom.tables.get("labels", [])[1:]}
    check(f"labels: {len(got)} rows equal the summary's", got == s["by_label"])
    for tid, key in (("ends", "by_end"), ("confidence", "by_confidence")):
        got = {c[0][0]: int(c[1][0]) for c in dom.tables.get(tid, [])[1:]}
        check(f"{tid}: equal the summary's {key}", got == s[key])

    # The biggest flows.
    rows = dom.tables.get("top-flows", [])[1:]
    by_bytes = sorted(records, key=lambda r: (-(r["bytes"]["up"] + r["bytes"]["down"]), r["flow_id"]))
    n = min(25, len(records))
    check(f"biggest flows: {len(rows)} rows, want {n}", len(rows) == n)
    got = [exact_bytes(c[8]) for c in rows]
    check("biggest flows: the largest records' bytes, in descending order",
          got == [r["bytes"]["up"] + r["bytes"]["down"] for r in by_bytes[:n]])
    if rows and by_bytes:
        top = by_bytes[0]
        check("biggest flows: row 1 is the largest record's endpoints and label",
              rows[0][1][0] == f"{top['src_ip']}:{top['src_port']}" and rows[0][2][0] == f"{top['dst_ip']}:{top['dst_port']}"
              and rows[0][4][0] == top["label"])
    # Each tunnel type's name on the page and its identifier's (sealscope(1), --html).
    names = {"gtp-u": ("GTP-U", "teid", "TEID"), "vxlan": ("VXLAN", "vni", "VNI"), "geneve": ("Geneve", "vni", "VNI"),
             "gre": ("GRE", "key", "key"), "erspan": ("ERSPAN", "session", "session"), "tzsp": ("TZSP", None, None),
             "capwap": ("CAPWAP", None, None), "ip-in-ip": ("IP-in-IP", None, None)}

    def via(r):
        parts = [f"VLAN {r['vlan']}"] if r["vlan"] is not None else []
        if r["tunnel"]:
            t = r["tunnel"]
            name, field, shown = names[t["type"]]
            ident = t.get(field) if field else None
            if t["type"] == "gtp-u":
                head = f"GTP-U TEID {ident} (0x{ident:08x})"
            else:
                head = name if ident is None else f"{name} {shown} {ident}"
            parts.append(f"{head} {t['outer_src']} \u2192 {t['outer_dst']}")
        return ", ".join(parts)

    got_via, want_via = [c[12][0] for c in rows], [via(r) for r in by_bytes[:n]]
    kinds = {r["tunnel"]["type"] for r in by_bytes[:n] if r["tunnel"]}
    check(f"biggest flows: the via column is each record's VLAN and tunnel "
          f"({sum(1 for r in by_bytes[:n] if r['tunnel'])} tunnelled: {', '.join(sorted(kinds))}; "
          f"{sum(1 for v in want_via if 'VLAN' in v)} tagged)",
          got_via == want_via and {"gtp-u", "vxlan", "erspan", "tzsp", "capwap"} <= kinds and
          any("VLAN" in v for v in want_via))
    servers = [c[11][0] for c in rows]
    check("a server name full of markup comes back from the browser as the same text", HOSTILE in servers)
    check("biggest flows: each row's server name is its record's (nDPI gives the byte that is not UTF-8 as '?')",
          servers == [r["server_name"] or "" for r in by_bytes[:n]] and "caf?.example" in servers)

    # The time line counts each flow once.
    total = sum(int(m) for t in dom.svg_titles for m in re.findall(r" (?:call|chat|files|signalling|dns|other) (\d+)", t))
    check(f"time line: {len(dom.svg_titles)} intervals, {total} new flows, want {s['flows']['flows']}",
          total == s["flows"]["flows"] and len(dom.svg_titles) > 0)
    check_hours(dom, records, "UTC", "analyze")

    # --tz: the same table in other zones, on flows on both sides of a half hour and of a DST change.
    hours_pcap(os.path.join(work, "hours.pcap"))
    for zone, want_hours in (("Asia/Kolkata", {17, 18, 12, 13}), ("America/New_York", {7, 1, 3, 4})):
        zpage, zflows = os.path.join(work, "hours.html"), os.path.join(work, "hours.jsonl")
        r = subprocess.run([binary, "analyze", "-q", "--no-progress", "--tz", zone, "--html", zpage, "--flows", zflows,
                            os.path.join(work, "hours.pcap")], capture_output=True, timeout=120)
        check(f"analyze --tz {zone} --html exits 0", r.returncode == 0)
        zrecords = [json.loads(line) for line in open(zflows)]
        zdom = dump_dom(browser, zpage, work)
        if zdom is None:
            return 1
        check(f"--tz {zone}: the page names the zone", f"New flows by hour of day ({zone}), by activity" in "".join(zdom.text))
        check_hours(zdom, zrecords, zone, f"--tz {zone}")
        got_hours = {i for i, row in enumerate(zdom.tables.get("hour-of-day", [])[1:]) if row[-1][0] != "0"}
        check(f"--tz {zone}: flows fall in hours {sorted(want_hours)} (got {sorted(got_hours)})", got_hours == want_hours)



def run_policy(binary, root, browser, work):
    """policy test --html: every table equals --report-json; rule and region names from YAML stay text."""
    rules = os.path.join(work, "rules.yaml")
    with open(os.path.join(root, "rules", "hospital-exemption.yaml")) as f:
        text = f.read()
    text = text.replace("- name: block-calls", "- name: " + json.dumps(HOSTILE_RULE))
    text = text.replace("  city:", "  " + json.dumps(HOSTILE_REGION) + ":").replace("region: city", "region: " + json.dumps(HOSTILE_REGION))
    check("policy: the hostile names are in the rules file",
          json.dumps(HOSTILE_RULE) in text and text.count(json.dumps(HOSTILE_REGION)) == 2)
    with open(rules, "w") as f:
        f.write(text)
    caps = [os.path.join(root, "captures", c) for c in sorted(os.listdir(os.path.join(root, "captures"))) if c.endswith(".pcap")]
    page, report = os.path.join(work, "policy.html"), os.path.join(work, "policy.json")
    r = subprocess.run([binary, "policy", "test", "-q", "--rules", rules, "--html", page, "--report-json", report] + caps,
                       capture_output=True, timeout=120)
    # captures/truncated.pcap is cut short on purpose: exit 1, and the page must say so first.
    check(f"policy test --html exits 1 for the truncated capture (got {r.returncode})", r.returncode == 1)
    if not os.path.exists(page):
        return
    j = json.load(open(report))
    # Captures without a flow: the page and the text report say the dry run tried no rule.
    empty, empty_page = os.path.join(work, "no-flows.pcap"), os.path.join(work, "policy-empty.html")
    with open(empty, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 101))
    e = subprocess.run([binary, "policy", "test", "--rules", rules, "--html", empty_page, empty],
                       capture_output=True, text=True, timeout=60)
    no_flow = "no flow in the captures: no rule was tried"
    check("policy: captures without a flow are said to test nothing, on the page and in the text",
          e.returncode == 0 and no_flow in open(empty_page).read() and "warning: " + no_flow in e.stdout)
    check("policy: captures with flows are not", no_flow not in open(page).read())
    dom = dump_dom(browser, page, work)
    if dom is None:
        return
    check_inert(dom, "policy")
    notices = [t for t in "".join(dom.text).splitlines() if t.startswith("INCOMPLETE: ")]
    check("policy: the truncated capture is named in the warnings",
          any(n.startswith("INCOMPLETE: " + os.path.join(root, "captures", "truncated.pcap")) for n in notices))
    check("policy: the JSON report's capture object names it too, and no interruption",
          [p["input"].rsplit("/", 1)[1] for p in j["capture"]["problems"]] == ["truncated.pcap"]
          and j["capture"]["interrupted"] is False and j["capture"]["frames"] > 0)

    def num(c):
        return None if c[0] == "-" else int(c[0])

    rows = [c for c in dom.tables.get("rules", [])[1:] if len(c) == 13]
    got = [(c[0][0], int(c[1][0]), c[2][0], int(c[3][0]), int(c[4][0]), int(c[5][0]), exact_bytes(c[6]), int(c[7][0]),
            exact_bytes(c[8]), int(c[9][0]), int(c[10][0]), num(c[11]), num(c[12])) for c in rows]
    want = [(x["rule"], x["line"], x["action"], x["flows"], x["subscribers"], x["packets"], x["bytes"], x["dropped"]["packets"],
             x["dropped"]["bytes"], x["throttled"]["packets"], x["before_verdict"]["packets"], x.get("intended"),
             x.get("collateral")) for x in j["rules"]]
    check(f"policy: {len(got)} rule rows equal the JSON report's (name, line, action, counts)", got == want)
    check("policy: a rule name full of markup comes back from the browser as the same text",
          any(g[0] == HOSTILE_RULE for g in got))
    check("policy: some packets were dropped (the test exercises a blocking rule)", any(g[7] > 0 for g in got))
    rows = dom.tables.get("regions", [])[1:]
    got = [(c[0][0], int(c[1][0]), int(c[2][0]), int(c[3][0]), exact_bytes(c[4]), int(c[5][0]), exact_bytes(c[6]),
            int(c[7][0]), int(c[8][0])) for c in rows]
    want = [(x["region"], x["flows"], x["subscribers"], x["packets"], x["bytes"], x["dropped"]["packets"], x["dropped"]["bytes"],
             x["throttled"]["packets"], x["before_verdict"]["packets"]) for x in j["regions"]]
    check(f"policy: {len(got)} region rows equal the JSON report's, the markup-laden name as text",
          got == want and any(g[0] == HOSTILE_REGION for g in got))
    rows = dom.tables.get("time-to-block", [])[1:]
    got = [(c[0][0], int(c[1][0]), int(c[2][0]), exact_bytes(c[3]), c[4][0], c[5][0], c[6][0], c[7][0]) for c in rows]
    want = [(x["label"], x["flows"], x["packets"], x["bytes"]) + tuple(f"{x['ms'][k]:.1f}" for k in ("min", "p50", "p90", "max"))
            for x in j["time_to_block"]]
    check(f"policy: {len(got)} time-to-block rows equal the JSON report's", got == want and len(got) > 0)


def run_audit(binary, root, browser, work):
    """audit --html: verdict and every table equal --report-json; the page never holds a canary's text."""
    canaries = os.path.join(work, 'canaries <b>"&.txt')
    shutil.copyfile(os.path.join(root, "captures", "canary-canaries.txt"), canaries)
    texts = [l for l in open(canaries, encoding="utf-8").read().splitlines() if l and not l.startswith("#")]
    caps = [os.path.join(root, "captures", "canary.pcap"), os.path.join(work, "hostile.pcap"),
            os.path.join(root, "captures", "truncated.pcap"), os.path.join(root, "captures", "sealchat-chat.pcap")]
    page, report = os.path.join(work, "audit.html"), os.path.join(work, "audit.json")
    r = subprocess.run([binary, "audit", "-q", "--canaries", canaries, "--html", page, "--report-json", report] + caps,
                       capture_output=True, timeout=120)
    check(f"audit --html exits 3 (FAIL: canary.pcap holds canaries; got {r.returncode})", r.returncode == 3)
    if not os.path.exists(page):
        return
    j = json.load(open(report))
    blob = open(page, "rb").read()
    again = subprocess.run([binary, "audit", "-q", "--canaries", canaries, "--html", "-"] + caps, capture_output=True,
                           timeout=120)
    check("audit: --html - writes the same bytes to standard output, the verdict line to standard error",
          again.returncode == 3 and again.stdout == blob and again.stderr.startswith(b"audit verdict: FAIL\n"))
    dom = dump_dom(browser, page, work)
    if dom is None:
        return
    check_inert(dom, "audit")
    text = "".join(dom.text)
    leaked = [t for t in texts if t in text or t.encode() in blob]
    check(f"audit: no canary's text in the page or its DOM ({len(texts)} canaries; leaked: {len(leaked)})",
          len(texts) == 10 and not leaked)
    check("audit: the canaries file name full of markup comes back as the same text",
          f"Canaries from {canaries} (10 canaries," in text)
    lines = text.splitlines()
    check(f"audit: the verdict is the JSON report's ({j['verdict']})", "FAIL" in lines and j["verdict"] == "FAIL")
    check("audit: the reasons are the JSON report's", all(x in lines for x in j["reasons"]) and len(j["reasons"]) > 0)
    check("audit: the truncated capture is named in the warnings",
          any(t.startswith("INCOMPLETE: " + caps[2]) for t in lines)
          and [p["input"] for p in j["capture"]["problems"]] == [caps[2]])
    totals = {row[0][0]: row[1][0] for row in dom.tables.get("totals", []) if len(row) == 2}
    check("audit: totals (frames, flows, occurrences, failing) equal the JSON report's",
          totals.get("frames") == str(j["capture"]["frames"])
          and totals.get("flows") == f"{j['flows']['total']} ({j['flows']['messaging']} messaging)"
          and totals.get("canary occurrences") == f"{j['hits']['total']} ({j['hits']['in_packets']} in packets, "
                                                  f"{j['hits']['in_streams']} in reassembled streams, "
                                                  f"{j['hits']['in_datagrams']} across the fragments of IP datagrams)"
          and totals.get("flows failing") == str(j["flows"]["failing"]))

    kv = {row[0][0]: row[1][0] for row in dom.tables.get("defragmentation", []) if len(row) == 2}
    df = j["defragmentation"]
    check("audit: the IP datagram reassembly table equals the JSON report's defragmentation",
          kv.get("fragments") == str(df["fragments"])
          and kv.get("datagrams reassembled and searched") == f"{df['reassembled']} of {df['datagrams']}"
          and kv.get("never reassembled") == f"{df['timed_out']} timed out, {df['incomplete_at_end']} incomplete at the "
                                             f"end, {df['dropped_at_cap']} dropped at the cap, "
                                             f"{df['not_captured_in_full']} not captured in full, {df['invalid']} invalid"
          and kv.get("overlapping fragments (first copy kept)")
          == f"{df['overlapping_fragments']} ({df['conflicting_overlap_bytes']} bytes differed)")

    rows = [(int(c[0][0]), int(c[1][0]), int(c[2][0])) for c in dom.tables.get("canaries", [])[1:]]
    check(f"audit: {len(rows)} canary rows, one per canary, the found ones equal the JSON report's per_canary",
          len(rows) == j["canaries"]["count"] == 10
          and [x for x in rows if x[2] > 0] == [(x["canary"], x["line"], x["hits"]) for x in j["hits"]["per_canary"]]
          and any(x[2] == 0 for x in rows))
    got = {c[0][0]: int(c[1][0]) for c in dom.tables.get("encodings", [])[1:]}
    check(f"audit: encodings found equal the JSON report's ({len(got)})",
          got == j["hits"]["per_encoding"] and len(got) > 1)
    rows = [tuple(c[0] for c in row) for row in dom.tables.get("hits", [])[1:]]
    want = [(str(h["canary"]), str(h["line"]), h["encoding"], str(h["length"]), h["where"],
             str(h.get("stream_offset", h.get("datagram_offset", h.get("payload_offset")))), h["input"],
             str(h["packet"]), str(h["flow"]),
             h["direction"]) for h in j["hits"]["listed"]]
    check(f"audit: {len(rows)} hit rows equal the JSON report's listed hits", rows == want and len(rows) == j["hits"]["total"])

    def side(d):
        sync = d.get("tcp", {}).get("framing_sync_lost", False)
        return (d["framing"] + (" (sync lost)" if sync else ""), str(d["content_bytes"]), d["judgement"])

    listed = [f for f in j["listed_flows"] if f["verdict"] == "FAIL"] + [f for f in j["listed_flows"] if f["verdict"] == "PASS"]
    want, want_sub = [], []
    for f in listed:
        want.append((str(f["flow"]), f["l4"], f["src"], f["dst"], f["label"], f["family"] if f["messaging"] else "not messaging",
                     f["verdict"], str(f["canary_hits"]["packets"]), str(f["canary_hits"]["streams"]),
                     str(f["canary_hits"]["datagrams"]))
                    + side(f["directions"]["from_initiator"]) + side(f["directions"]["from_responder"]))
        if f["findings"] or f["notes"]:
            want_sub.append("".join("finding: " + x for x in f["findings"]) + "".join("note: " + x for x in f["notes"]))
    table = dom.tables.get("flows", [])[1:]
    got = [tuple(c[0] for c in row) for row in table if len(row) == 16]
    got_sub = [row[1][0] for row in table if len(row) == 2]
    check(f"audit: {len(got)} flow rows equal the JSON report's listed flows, failing first (sealchat's pass)",
          got == want and {g[6] for g in got} == {"FAIL", "PASS"})
    check(f"audit: {len(got_sub)} rows of findings and notes equal the JSON report's", got_sub == want_sub and got_sub)
    got = {c[0][0]: int(c[1][0]) for c in dom.tables.get("judgements", [])[1:]}
    check("audit: directions by judgement equal the JSON report's", got == j["flows"]["directions_by_judgement"])
    got = [(c[0][0], c[1][0]) for c in dom.tables.get("names", [])[1:]]
    want = [(n["name"], n["family"]) for n in j["visible_metadata"]["names"]]
    check(f"audit: {len(got)} names seen equal the JSON report's, the markup-laden server name as text",
          got == want and any(g[0] == HOSTILE for g in got))


if __name__ == "__main__":
    sys.exit(main())
