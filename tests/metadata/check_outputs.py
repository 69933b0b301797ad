#!/usr/bin/env python3
"""The metadata-only guarantee: "No output of sealscope ever contains payload bytes. Tests prove it."

Runs every sealscope command with every option on captures full of canaries (known plaintext) and fails if
any output file, any stdout or any stderr holds a canary in any encoding sealscope audit searches for: raw,
hex (either case), base64 (three alignments; standard and URL-safe alphabets), UTF-16LE/BE and URL-encoded
(%XX in either case, '+' or %20 for a space), also after undoing JSON, CSV and HTML escaping.

* Commands and options come from the binary's own --help. An option that no run below uses and that is not
  exempted (with a reason) fails the test, and so does a command or policy sub-command this test does not
  know: a new output option or command cannot be forgotten.
* Inputs: captures/canary.pcap (its canaries in captures/canary-canaries.txt, placements in
  captures/canary-placements.tsv) and, when tests/audit/make_controls.sh can record it, the sealchat
  null-cipher control (control-null.pcap with its canaries.txt). Without sealchat or the script, that part
  is skipped with a message; `sealscope audit` is skipped the same way while it does not exist.
* The search is written here, independently of the audit's. Before anything else a self-check plants each
  canary in each encoding (made with Python's own binascii/base64/urllib/json/csv/html encoders) into temporary
  files and requires the search to find it, requires it to find nothing in files holding every encoding of a
  canary shortened by one character, and requires it to find every single-packet placement of
  canary-placements.tsv in captures/canary.pcap and nothing in captures/canary-clean.pcap.
* --ipfix sends to a UDP socket of this test's own on 127.0.0.1; the datagrams it receives are searched like
  an output file.
* The policy pcap outputs are also decoded record by record: no record may hold a byte past its transport
  header.

usage: check_outputs.py --sealscope BIN --root REPO --build BUILD [--self-test-only] [--keep DIR]
Exit status 0: no canary in any output; 1: a leak or a failed check (each is listed).
"""

import argparse
import base64
import binascii
import csv
import html
import io
import json
import os
import random
import re
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

# ---- what this test knows about the command line ---------------------------------------------------------

KNOWN_COMMANDS = {"analyze", "policy", "eval", "audit"}
KNOWN_POLICY_SUBCOMMANDS = {"check", "test", "enforce"}

# Options that no run uses, and why. Everything else that --help lists must appear in a run below.
EXEMPT = {
    "analyze": {
        "help": "prints the help text (scanned like every other output)",
        "interface": "live capture needs an interface and privileges; it feeds the same writers as files",
        "duration": "live capture only",
        "no-promisc": "live capture only (tests/live checks it takes effect)",
        "buffer-mib": "live capture only (tests/live checks it takes effect)",
    },
    "eval": {"help": "prints the help text (scanned)"},
    "policy check": {"help": "prints the help text (scanned)"},
    "policy test": {"help": "prints the help text (scanned)"},
    "audit": {"help": "prints the help text (scanned)"},
}
# policy enforce judges the packets of a netfilter queue, which needs root and a network namespace of its
# own: tests/live/enforce_nfqueue.py runs it, sends its canary through the queue in payloads, and searches
# every output with this file's Searcher (every encoding and view). Its options are listed here so that a
# new one fails this test until that test covers it.
_ENFORCE_RUN = "run by tests/live/enforce_nfqueue.py (needs a netfilter queue), outputs searched there"
EXEMPT["policy enforce"] = {o: _ENFORCE_RUN for o in (
    "help", "rules", "queue", "duration", "fail-open", "queue-maxlen", "flows", "ipfix", "ipfix-domain", "report-json",
    "html", "quiet",
    "tcp-timeout", "udp-timeout", "other-timeout", "max-tcp-packets", "max-udp-packets", "no-guess", "no-tunnels")}

# ---- canaries and the search -----------------------------------------------------------------------------


class Canary:
    def __init__(self, source, line, data):
        self.source = source  # which canaries file
        self.line = line
        self.data = data
        self.text = data.decode("utf-8")  # canaries files are UTF-8; anything else is an error here

    def name(self):
        return f"{self.source} line {self.line}"


def load_canaries(path, source):
    out = []
    with open(path, "rb") as f:
        for n, raw in enumerate(f.read().split(b"\n"), 1):
            line = raw.rstrip(b"\r")
            if not line.strip() or line.lstrip().startswith(b"#"):
                continue
            # Searching the stripped text is the stricter test: it also matches wherever the full line would.
            data = line.strip()
            if len(data) < 6:
                raise SystemExit(f"{path}:{n}: a canary of {len(data)} bytes is too short to search for")
            out.append(Canary(source, n, data))
    if not out:
        raise SystemExit(f"{path}: no canary")
    return out


def _hex_digit_class(d):
    """A regex for one hex digit in either case."""
    return b"[" + d.lower() + d.upper() + b"]" if d.isalpha() else d


def patterns(c):
    """(encoding, compiled regex) pairs for one canary."""
    data, out = c.data, []
    out.append(("raw", re.compile(re.escape(data))))
    out.append(("hex", re.compile(re.escape(binascii.hexlify(data)), re.IGNORECASE)))
    # base64 of k bytes + canary + anything: the characters whose 6 bits all come from the canary are
    # fixed, whatever precedes or follows it. They start at ceil(8k/6) and end before floor(8(k+n)/6).
    for alphabet, label in ((None, "base64"), (b"-_", "base64url")):
        for k in range(3):
            enc = base64.b64encode(b"\0" * k + data, altchars=alphabet)
            core = enc[(8 * k + 5) // 6:(8 * (k + len(data))) // 6]
            out.append((f"{label}/{k}", re.compile(re.escape(core))))
    out.append(("utf16le", re.compile(re.escape(c.text.encode("utf-16-le")))))
    out.append(("utf16be", re.compile(re.escape(c.text.encode("utf-16-be")))))
    if any(b >= 0x80 for b in data):  # the UTF-8 bytes widened one by one, should an encoder do that
        out.append(("utf16le-of-bytes", re.compile(re.escape(b"".join(bytes([b, 0]) for b in data)))))
        out.append(("utf16be-of-bytes", re.compile(re.escape(b"".join(bytes([0, b]) for b in data)))))
    # URL encoding: each byte as %XX (either case), as itself when printable, a space also as '+'.
    parts = []
    for b in data:
        hx = b"%02X" % b
        alts = [b"%" + _hex_digit_class(hx[0:1]) + _hex_digit_class(hx[1:2])]
        if 0x21 <= b <= 0x7E:
            alts.append(re.escape(bytes([b])))
        if b == 0x20:
            alts += [b"\\+", b" "]
        parts.append(b"(?:" + b"|".join(alts) + b")")
    out.append(("url", re.compile(b"".join(parts))))
    return out


class Searcher:
    def __init__(self, canaries):
        self.canaries = canaries
        self.compiled = [(c, enc, rx) for c in canaries for enc, rx in patterns(c)]

    def search(self, blob):
        """[(canary, encoding, offset)] for every canary found in blob."""
        hits = []
        for c, enc, rx in self.compiled:
            m = rx.search(blob)
            if m:
                hits.append((c, enc, m.start()))
        return hits


_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})|\\x([0-9a-fA-F]{2})")


def views(path, blob):
    """The bytes of an output, plus its text after undoing JSON / CSV / HTML / backslash escaping."""
    out = [("bytes", blob)]
    try:
        text = blob.decode("utf-8")
    except UnicodeDecodeError:
        return out  # binary (pcap): the bytes are what a reader gets
    strings = []

    def walk(v):
        if isinstance(v, str):
            strings.append(v)
        elif isinstance(v, dict):
            for k, x in v.items():
                strings.append(k)
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)

    try:
        walk(json.loads(text))
    except ValueError:
        for line in text.splitlines():  # JSON lines, or JSON after a text preamble
            line = line.strip()
            if line.startswith(("{", "[")):
                try:
                    walk(json.loads(line))
                except ValueError:
                    pass
    if strings:
        out.append(("json-strings", "\n".join(strings).encode("utf-8", "surrogatepass")))
    if path.endswith(".csv") or text.count(",") > 10:
        try:
            fields = [f for row in csv.reader(io.StringIO(text)) for f in row]
            out.append(("csv-fields", "\n".join(fields).encode("utf-8")))
        except csv.Error:
            pass

    def unescape(m):
        return chr(int(m.group(1) or m.group(2), 16))

    if _ESCAPE.search(text):
        out.append(("unescaped", _ESCAPE.sub(unescape, text).encode("utf-8", "surrogatepass")))
    if "&" in text and (path.endswith(".html") or "<html" in text):
        plain = html.unescape(text)  # character references (&amp; &lt; &#39; ...), then backslash escapes
        out.append(("html-text", _ESCAPE.sub(unescape, plain).encode("utf-8", "surrogatepass")))
    return out


def scan_file(searcher, path):
    with open(path, "rb") as f:
        blob = f.read()
    found = []
    for view, data in views(path, blob):
        for c, enc, off in searcher.search(data):
            found.append((view, c, enc, off))
    return found, len(blob)


# ---- self-check: the search can fail ----------------------------------------------------------------------


def plantings(c):
    """(encoding, file suffix, bytes) of c in every encoding, made with the standard library's encoders."""
    rnd = random.Random(c.line * 7919 + len(c.data))
    out = [
        ("raw", ".bin", c.data),
        ("hex-lower", ".txt", binascii.hexlify(c.data)),
        ("hex-upper", ".txt", binascii.hexlify(c.data).upper()),
        ("utf16le", ".bin", c.text.encode("utf-16-le")),
        ("utf16be", ".bin", c.text.encode("utf-16-be")),
        ("url-upper-plus", ".txt", urllib.parse.quote_plus(c.text).encode()),
        ("url-lower", ".txt",
         re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), urllib.parse.quote(c.text, safe="")).encode()),
        ("url-every-byte", ".txt", "".join("%%%02X" % b for b in c.data).encode()),
        ("json-ascii-escaped", ".json", json.dumps({"v": c.text}, ensure_ascii=True).encode()),
        ("csv-quoted", ".csv", ('a,b,c\n1,"' + c.text.replace('"', '""') + '",3\n').encode()),
        ("html-escaped", ".html",
         ("<!DOCTYPE html><html><body><td>" + html.escape(c.text, quote=True).replace(" ", "&#32;") +
          "</td></body></html>").encode()),
    ]
    for k in range(3):
        prefix, suffix = bytes(rnd.randrange(256) for _ in range(k)), bytes(rnd.randrange(256) for _ in range(2))
        out.append((f"base64-{k}", ".txt", base64.b64encode(prefix + c.data + suffix)))
        out.append((f"base64url-{k}", ".txt", base64.urlsafe_b64encode(prefix + c.data + suffix)))
    return out


def expected_encoding(planting):
    """The search's encoding that must find a planting (JSON, CSV, HTML: the raw text, once unescaped)."""
    if planting.startswith(("hex-",)):
        return "hex"
    if planting.startswith(("base64-", "base64url-")):
        return planting.replace("-", "/")
    if planting.startswith("url-"):
        return "url"
    if planting in ("json-ascii-escaped", "csv-quoted", "html-escaped"):
        return "raw"
    return planting


def self_check(canaries, root, work):
    """Returns a list of failures (empty = the search finds what it must and only that)."""
    failures = []
    searcher = Searcher(canaries)
    if not any(b" " in c.data for c in canaries):
        failures.append("self-check: no canary has a space, so URL '+' encoding would go untested")
    if not any(any(b >= 0x80 for b in c.data) for c in canaries):
        failures.append("self-check: no canary is non-ASCII")
    d = os.path.join(work, "self-check")
    os.makedirs(d)
    rnd = random.Random(20261122)
    planted = 0
    for c in canaries:
        for enc, suffix, blob in plantings(c):
            path = os.path.join(d, f"{c.line}-{enc}{suffix}")
            if suffix == ".bin":
                blob = bytes(rnd.randrange(256) for _ in range(64)) + blob + bytes(rnd.randrange(256) for _ in range(64))
            elif suffix == ".txt":
                blob = b"some text before, " + blob + b" and after\n"
            with open(path, "wb") as f:
                f.write(blob)
            found, _ = scan_file(searcher, path)
            planted += 1
            # Each planting must be found by the pattern of its own encoding (not merely by another one).
            want = expected_encoding(enc)
            if not any(h[1] is c and h[2] == want for h in found):
                failures.append(f"self-check: {c.name()} planted as {enc} is not found as {want}")
        # The same encodings of the canary minus its last character must not match it.
        short = Canary(c.source, c.line, c.text[:-1].encode("utf-8"))
        path = os.path.join(d, f"{c.line}-shortened.bin")
        with open(path, "wb") as f:
            f.write(b"\n".join(b for _, _, b in plantings(short)))
        found, _ = scan_file(searcher, path)
        if any(h[1] is c for h in found):
            failures.append(f"self-check: {c.name()} is reported in a file that holds only a shorter string")
    # The capture itself: every placement that one packet holds whole must be found (the table's encodings
    # map onto the search's), and the clean twin must give nothing.
    family = {"raw": "raw", "hex-lower": "hex", "hex-upper": "hex", "base64-0": "base64/0", "base64-1": "base64/1",
              "base64-2": "base64/2", "utf16le": "utf16le", "utf16be": "utf16be", "url-upper-plus": "url",
              "url-lower": "url"}
    capture_found, _ = scan_file(searcher, os.path.join(root, "captures", "canary.pcap"))
    with open(os.path.join(root, "captures", "canary-placements.tsv"), encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    checked = 0
    for r in rows:
        if "," in r["frames"]:
            continue  # split over packets: only a stream reassembly sees it whole
        want = family.get(r["encoding"])
        if want is None:
            failures.append(f"self-check: canary-placements.tsv has an encoding this test does not know: {r['encoding']}")
            continue
        checked += 1
        if not any(h[1].source == "canary-canaries.txt" and h[1].line == int(r["line"]) and h[2] == want
                   for h in capture_found):
            failures.append(f"self-check: canary.pcap frame {r['frames']}: line {r['line']} as {r['encoding']} not found")
    clean_found, _ = scan_file(searcher, os.path.join(root, "captures", "canary-clean.pcap"))
    for view, c, enc, off in clean_found:
        failures.append(f"self-check: canary-clean.pcap holds {c.name()} as {enc} at {off} (a false positive)")
    print(f"self-check: {planted} plantings found, shortened canaries not matched, "
          f"{checked} single-packet placements of canary.pcap found, canary-clean.pcap clean"
          + (" -- FAILED" if failures else ""))
    return failures


# ---- the command line, from --help ------------------------------------------------------------------------

_OPT = re.compile(r"^\s+(?:-([A-Za-z0-9]) \[ )?--([a-z][a-z0-9-]*)")


def help_text(binary, words):
    p = subprocess.run([binary] + words + ["--help"], capture_output=True, timeout=60)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def options_of(text):
    """{long name: short letter or None} of a boost::program_options help text."""
    out = {}
    for line in text.splitlines():
        m = _OPT.match(line)
        if m:
            out[m.group(2)] = m.group(1)
    return out


def used_options(argv, opts):
    used = set()
    short = {s: l for l, s in opts.items() if s}
    for a in argv:
        if a.startswith("--"):
            used.add(a[2:].split("=", 1)[0])
        elif a.startswith("-") and len(a) == 2 and a[1] in short:
            used.add(short[a[1]])
    return used


# ---- pcap outputs: headers only -----------------------------------------------------------------------------


def pcap_records(path):
    # By hand with struct: the tests need only Python's standard library (python3-dpkt or scapy would be a
    # test dependency for a 24-byte file header and 16-byte record headers).
    with open(path, "rb") as f:
        blob = f.read()
    if len(blob) < 24:
        raise ValueError("shorter than a pcap header")
    magic = struct.unpack("<I", blob[:4])[0]
    if magic in (0xA1B2C3D4, 0xA1B23C4D):
        e = "<"
    elif magic in (0xD4C3B2A1, 0x4D3CB2A1):
        e = ">"
    else:
        raise ValueError("not a classic pcap file")
    linktype = struct.unpack(e + "I", blob[20:24])[0] & 0x0FFFFFFF
    off, recs = 24, []
    while off + 16 <= len(blob):
        _, _, caplen, wirelen = struct.unpack(e + "IIII", blob[off:off + 16])
        recs.append((blob[off + 16:off + 16 + caplen], caplen, wirelen))
        off += 16 + caplen
    if off != len(blob):
        raise ValueError("trailing bytes after the last record")
    return linktype, recs


def header_end(linktype, frame, wirelen):
    """Bytes of headers before the L4 payload of an Ethernet/raw-IP frame, or None if it cannot be told from
    what was captured (then the record must still stop before the transport header's end, checked by caller)."""
    i = 0
    if linktype == 1:
        i = 12
        etype = int.from_bytes(frame[i:i + 2], "big") if len(frame) >= 14 else None
        while etype in (0x8100, 0x88A8) and len(frame) >= i + 6:
            i += 4
            etype = int.from_bytes(frame[i:i + 2], "big")
        i += 2
        if etype not in (0x0800, 0x86DD):
            return None
    elif linktype not in (101, 228, 229, 12):
        return None
    if len(frame) < i + 1:
        return None
    version = frame[i] >> 4
    if version == 4 and len(frame) >= i + 20:
        ihl = (frame[i] & 15) * 4
        proto = frame[i + 9]
        if int.from_bytes(frame[i + 6:i + 8], "big") & 0x1FFF:
            return i + ihl  # a later fragment: all payload
        l4 = i + ihl
    elif version == 6 and len(frame) >= i + 40:
        proto, l4 = frame[i + 6], i + 40
        while proto in (0, 43, 60) and len(frame) >= l4 + 2:
            proto, l4 = frame[l4], l4 + (frame[l4 + 1] + 1) * 8
        if proto == 44:
            return None
    else:
        return None
    if proto == 6 and len(frame) >= l4 + 13:
        return l4 + (frame[l4 + 12] >> 4) * 4
    if proto == 17:
        if int.from_bytes(frame[l4 + 2:l4 + 4], "big") == 2152 or int.from_bytes(frame[l4:l4 + 2], "big") == 2152:
            return None  # GTP-U: the cut is after the inner transport header
        return l4 + 8
    if proto in (1, 58):
        return l4 + 4
    return l4


def check_pcap(path, want_records):
    """Failures for one pcap output: unreadable, empty when it must not be, or a record past its headers."""
    failures = []
    try:
        linktype, recs = pcap_records(path)
    except (OSError, ValueError) as ex:
        return [f"{path}: {ex}"], 0
    if want_records and not recs:
        failures.append(f"{path}: no record (the run must put frames with canaries here)")
    cut = 0
    for n, (frame, caplen, wirelen) in enumerate(recs, 1):
        end = header_end(linktype, frame, wirelen)
        if wirelen < caplen:
            failures.append(f"{path} record {n}: len {wirelen} < caplen {caplen}")
        if end is not None and caplen > end:
            failures.append(f"{path} record {n}: {caplen - end} bytes past the transport header")
        if wirelen > caplen:
            cut += 1
    if shutil.which("tshark") and recs:
        p = subprocess.run(["tshark", "-n", "-r", path, "-T", "fields", "-e", "frame.len"], capture_output=True,
                           timeout=120)
        lens = p.stdout.decode().split()
        if p.returncode != 0 or len(lens) != len(recs):
            failures.append(f"{path}: tshark cannot read it (status {p.returncode}, {len(lens)} of {len(recs)} frames)")
        elif [int(x) for x in lens] != [r[2] for r in recs]:
            failures.append(f"{path}: tshark's frame lengths differ from the records' original lengths")
    return failures, cut


# ---- the runs -----------------------------------------------------------------------------------------------


class Run:
    def __init__(self, name, cmd, argv, ok_rc=(0,), files=(), pcaps=(), stdout=True):
        self.name, self.cmd, self.argv = name, cmd, argv
        self.ok_rc, self.files, self.pcaps, self.stdout = ok_rc, files, pcaps, stdout


class IpfixReceiver:
    """A UDP socket on 127.0.0.1 that keeps every datagram it receives, on a thread, until stop()."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.grams, self.done = [], threading.Event()
        self.thread = threading.Thread(target=self._run)
        self.thread.start()

    def _run(self):
        while not self.done.is_set():
            try:
                self.grams.append(self.sock.recv(65535))
            except socket.timeout:
                pass

    def stop(self):
        time.sleep(0.3)  # the last datagrams
        self.done.set()
        self.thread.join()
        self.sock.close()
        return self.grams


def control_capture(root, build, work):
    """(capture path, canaries path) of the sealchat null-cipher control, or None (with the reason printed)."""
    script = os.path.join(root, "tests", "audit", "make_controls.sh")
    if not os.path.exists(script):
        print("SKIP (control capture): tests/audit/make_controls.sh does not exist yet")
        return None
    missing = [b for b in ("sealchat", "sealrelay") if not os.access(os.path.join(build, b), os.X_OK)]
    if missing:
        print(f"SKIP (control capture): {', '.join(missing)} not built in {build} (configured with SEALSCOPE_E2EE=OFF?)")
        return None
    out = os.path.join(work, "control")
    p = subprocess.run(["sh", script, build, out], capture_output=True, timeout=600)
    if p.returncode == 77:
        print("SKIP (control capture): make_controls.sh skipped: "
              + p.stderr.decode("utf-8", "replace").strip().splitlines()[-1])
        return None
    cap, can = os.path.join(out, "control-null.pcap"), os.path.join(out, "canaries.txt")
    if p.returncode != 0 or not os.path.exists(cap) or not os.path.exists(can):
        raise RuntimeError(f"make_controls.sh failed (status {p.returncode}):\n"
                           + p.stderr.decode("utf-8", "replace")[-2000:])
    return cap, can


def labels_for(records, file_name, out_path):
    """A labels file for eval from analyze's flow records: every flow, deliberately labelled as chat."""
    with open(out_path, "w", encoding="utf-8") as f:
        f.write("file\tl4\tvlan\tendpoint_a\tendpoint_b\tpackets\texpected_label\tfamily\tactivity\tndpi42_label\n")
        for r in records:
            def ep(ip, port):
                return (f"[{ip}]" if ":" in ip else ip) + (f":{port}" if port is not None else "")
            f.write(f"{file_name}\t{r['l4'].upper()}\t{'' if r.get('vlan') is None else r['vlan']}\t"
                    f"{ep(r['src_ip'], r.get('src_port'))}\t{ep(r['dst_ip'], r.get('dst_port'))}\t"
                    f"{r['packets']['up'] + r['packets']['down']}\tSignal\tSignal\tchat\tUnknown\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sealscope", required=True)
    ap.add_argument("--root", required=True)
    ap.add_argument("--build", required=True)
    ap.add_argument("--self-test-only", action="store_true")
    ap.add_argument("--keep", help="keep the outputs in this directory (default: a temporary one, removed)")
    a = ap.parse_args()
    bin_, root = os.path.abspath(a.sealscope), os.path.abspath(a.root)
    work = os.path.abspath(a.keep) if a.keep else tempfile.mkdtemp(prefix="sealscope-metadata-")
    if a.keep:
        shutil.rmtree(work, ignore_errors=True)
        os.makedirs(work)
    try:
        return check(a, bin_, root, work)
    finally:
        if not a.keep:
            shutil.rmtree(work, ignore_errors=True)


def check(a, bin_, root, work):
    failures = []
    canary_file = os.path.join(root, "captures", "canary-canaries.txt")
    canaries = load_canaries(canary_file, "canary-canaries.txt")
    failures += self_check(canaries, root, work)
    if a.self_test_only or failures:
        return report(failures, [], 0, 0)

    captures = [os.path.join(root, "captures", "canary.pcap")]
    audit_canaries = os.path.join(work, "canaries-all.txt")
    shutil.copyfile(canary_file, audit_canaries)
    control = None
    try:
        control = control_capture(root, os.path.abspath(a.build), work)
    except (RuntimeError, subprocess.TimeoutExpired) as ex:
        failures.append(f"control capture: {ex}")
    if control:
        captures.append(control[0])
        canaries += load_canaries(control[1], "control canaries.txt")
        with open(audit_canaries, "ab") as f, open(control[1], "rb") as g:
            f.write(b"\n" + g.read())
        print(f"control capture: {control[0]} with {control[1]}")
    searcher = Searcher(canaries)
    if control:
        found, _ = scan_file(searcher, control[0])
        seen = {h[1].line for h in found if h[1].source == "control canaries.txt"}
        print(f"control capture: {len(seen)} of its canaries found in it (the input really holds plaintext)")
        if not seen:
            failures.append("control-null.pcap holds none of its canaries: as an input it proves nothing")

    # Commands and options, from the binary itself.
    rc, top, _ = help_text(bin_, [])
    m = re.search(r"^commands:\n((?:  \S.*\n)+)", top, re.MULTILINE)
    listed = {line.split()[0] for line in m.group(1).splitlines()} if m else set()
    if not listed:
        failures.append("sealscope --help lists no commands")
    for c in sorted(listed - KNOWN_COMMANDS):
        failures.append(f"sealscope has a command this test does not run: '{c}' (add its runs and options here)")
    helps = {}
    for key in ("analyze", "eval", "policy check", "policy test", "policy enforce", "audit"):
        rc, out, err = help_text(bin_, key.split())
        if rc != 0:
            if key == "audit" and "audit" not in listed:
                print(f"SKIP (audit): 'sealscope audit --help' exits {rc}: sealscope audit is not there yet")
                continue
            failures.append(f"'sealscope {key} --help' exits {rc}")
            continue
        helps[key] = (out, err)
    rc, policy_help, _ = help_text(bin_, ["policy"])
    subs = set(re.findall(r"sealscope policy (\w+)", policy_help))
    if not subs:
        failures.append("'sealscope policy --help' names no sub-command (help format changed?)")
    for s in sorted(subs - KNOWN_POLICY_SUBCOMMANDS):
        failures.append(f"sealscope policy has a sub-command this test does not run: '{s}'")
    options = {key: options_of(out) for key, (out, _) in helps.items()}
    for key, opts in options.items():
        if not opts:
            failures.append(f"'sealscope {key} --help' lists no options (help format changed?)")

    rules = os.path.join(root, "tests", "metadata", "rules.yaml")
    labels = os.path.join(root, "tests", "metadata", "canary-labels.tsv")
    tuning = ["--tcp-timeout", "1", "--udp-timeout", "1", "--other-timeout", "1", "--max-tcp-packets", "3",
              "--max-udp-packets", "2", "--no-guess", "--no-tunnels"]
    O = "{out}"
    runs = [
        Run("analyze-files", "analyze",
            captures + ["--flows", f"{O}/flows.jsonl", "--csv", f"{O}/flows.csv", "--summary-json", f"{O}/summary.json",
                        "--html", f"{O}/report.html", "--splt", "255", "--progress", "--workers", "1", "--park-idle", "1"],
            files=("flows.jsonl", "flows.csv", "summary.json", "report.html")),
        # IPFIX: the datagrams sealscope sends are received by this test on 127.0.0.1 and searched like a file.
        Run("analyze-ipfix", "analyze",
            captures + ["--ipfix", "{ipfix}", "--ipfix-domain", "7", "--workers", "2", "-q"],
            files=("ipfix-datagrams.bin",), stdout=False),
        Run("analyze-stdout", "analyze",
            captures + ["--flows", "-", "--no-progress", "--workers", "2", "--bpf", "tcp or udp"]),
        Run("analyze-csv-stdout", "analyze", captures + ["--csv", "-", "-q"]),
        Run("analyze-html-stdout", "analyze", captures + ["--html", "-", "--tz", "Asia/Kolkata", "-q", "--workers", "2"]),
        Run("analyze-tuned", "analyze",
            captures + ["--flows", f"{O}/flows.jsonl", "--summary-json", f"{O}/summary.json", "--active-timeout", "1",
                        "--close-linger", "1", "--classify-idle", "1", "--max-flows", "2", "--splt", "0"] + tuning,
            files=("flows.jsonl", "summary.json")),
        Run("eval-canary", "eval",
            ["--labels", labels, os.path.join(root, "captures"), "--diff", "--by-file", "--report-json",
             f"{O}/eval.json", "--min-agreement", "99", "--min-family-activity", "99", "--expiry"],
            ok_rc=(0, 3), files=("eval.json",)),
        Run("eval-score-column", "eval",
            ["--labels", labels, os.path.join(root, "captures"), "--score-column", "ndpi42_label", "--report-json", "-"]),
        Run("policy-check", "policy check", [rules], ok_rc=(0, 1)),
        Run("policy-check-quiet", "policy check", ["-q", rules], ok_rc=(0, 1), stdout=False),
        Run("policy-test-files", "policy test",
            ["--rules", rules] + captures + ["--report-json", f"{O}/report.json", "--html", f"{O}/report.html",
                                             "--pass-pcap", f"{O}/pass.pcap", "--drop-pcap", f"{O}/drop.pcap",
                                             "--labels", labels],
            files=("report.json", "report.html"), pcaps=("pass.pcap", "drop.pcap")),
        Run("policy-test-html-stdout", "policy test", ["--rules", rules] + captures + ["--html", "-", "-q"]),
        Run("policy-test-stdout", "policy test",
            ["--rules", rules] + captures + ["--report-json", "-", "--pass-pcap", f"{O}/pass.pcap", "--drop-pcap",
                                             f"{O}/drop.pcap", "-q", "--bpf", "tcp or udp"] + tuning,
            pcaps=("pass.pcap", "drop.pcap")),
    ]
    if "audit" in helps:
        runs += [
            Run("audit-files", "audit", ["--canaries", audit_canaries] + captures
                + ["--report-json", f"{O}/audit.json", "--html", f"{O}/audit.html"],
                ok_rc=(0, 3), files=("audit.json", "audit.html")),
            Run("audit-html-stdout", "audit", ["--canaries", audit_canaries] + captures + ["--html", "-", "-q"],
                ok_rc=(0, 3)),
            Run("audit-stdout", "audit",
                ["--canaries", audit_canaries] + captures
                + ["--report-json", "-", "-q", "--max-hits", "3", "--reassembly-stream-cap", "1000",
                   "--reassembly-total-cap", "2000", "--defrag-cap", "100000", "--defrag-timeout", "5",
                   "--bpf", "tcp or udp"] + tuning,
                ok_rc=(0, 3)),
        ]
    if control:
        runs.append(Run("eval-control", "eval", [], ok_rc=(0, 3), files=("eval.json",)))

    # Every option of every command is used by a run or exempted with a reason; no run uses an unknown one.
    for key, opts in options.items():
        used = set()
        for r in runs:
            if r.cmd == key:
                used |= used_options(r.argv, opts)
        if key == "eval" and control:
            used |= {"labels", "report-json", "diff"}
        for o in sorted(set(opts) - used - set(EXEMPT.get(key, {}))):
            failures.append(f"'sealscope {key}' option --{o} is run by no case of this test: add it to a run "
                            "(or to EXEMPT with the reason)")
        for o in sorted(used - set(opts)):
            failures.append(f"this test runs 'sealscope {key} --{o}', which --help does not list")

    # Run everything; keep each run's files, stdout and stderr in its own folder.
    outdirs = []
    for key, (out, err) in helps.items():
        d = os.path.join(work, "help-" + key.replace(" ", "-"))
        os.makedirs(d)
        with open(os.path.join(d, "stdout"), "w") as f:
            f.write(out + top + policy_help)
        with open(os.path.join(d, "stderr"), "w") as f:
            f.write(err)
        outdirs.append(("help " + key, d))
    version = subprocess.run([bin_, "--version"], capture_output=True, timeout=60)
    d = os.path.join(work, "version")
    os.makedirs(d)
    with open(os.path.join(d, "stdout"), "wb") as f:
        f.write(version.stdout + version.stderr)
    outdirs.append(("version", d))

    cut_records = 0
    for r in runs:
        d = os.path.join(work, r.name)
        os.makedirs(d)
        argv = [x.replace(O, d) for x in r.argv]
        if r.name == "eval-control":
            # A labels file for the control capture, from analyze's own records of it.
            p = subprocess.run([bin_, "analyze", control[0], "--flows", "-", "-q"], capture_output=True, timeout=600)
            with open(os.path.join(d, "analyze-for-labels.jsonl"), "wb") as f:
                f.write(p.stdout + p.stderr)
            recs = [json.loads(x) for x in p.stdout.decode().splitlines() if x.strip()]
            labels_for(recs, os.path.basename(control[0]), os.path.join(d, "control-labels.tsv"))
            argv = ["--labels", os.path.join(d, "control-labels.tsv"), os.path.dirname(control[0]), "--diff",
                    "--report-json", os.path.join(d, "eval.json")]
        receiver = IpfixReceiver() if "{ipfix}" in argv else None
        if receiver:
            argv = [x.replace("{ipfix}", f"127.0.0.1:{receiver.port}") for x in argv]
        try:
            p = subprocess.run([bin_] + r.cmd.split() + argv, capture_output=True, timeout=600, cwd=d)
        finally:
            if receiver:
                with open(os.path.join(d, "ipfix-datagrams.bin"), "wb") as f:
                    f.write(b"".join(receiver.stop()))
        with open(os.path.join(d, "stdout"), "wb") as f:
            f.write(p.stdout)
        with open(os.path.join(d, "stderr"), "wb") as f:
            f.write(p.stderr)
        print(f"run {r.name}: sealscope {r.cmd} ... -> exit {p.returncode}, stdout {len(p.stdout)} B, "
              f"stderr {len(p.stderr)} B")
        if p.returncode not in r.ok_rc:
            failures.append(f"run {r.name}: exit status {p.returncode}, expected {r.ok_rc}: "
                            + p.stderr.decode("utf-8", "replace")[-500:])
        if r.stdout and not p.stdout:
            failures.append(f"run {r.name}: nothing on stdout (the run checks nothing)")
        for name in r.files:
            path = os.path.join(d, name)
            if not os.path.exists(path) or os.path.getsize(path) == 0:
                failures.append(f"run {r.name}: {name} missing or empty")
        for name in r.pcaps:
            f_, cut = check_pcap(os.path.join(d, name), want_records=True)
            failures += [f"run {r.name}: {x}" for x in f_]
            cut_records += cut
        outdirs.append((r.name, d))
    if cut_records == 0:
        failures.append("no pcap record was cut: the pcap outputs held no frame with payload, so they prove nothing")

    # The search, over every file every run left.
    leaks, nfiles, nbytes = [], 0, 0
    for name, d in outdirs:
        for dirpath, _, files in os.walk(d):
            for fn in sorted(files):
                if fn == "control-labels.tsv":
                    continue  # our own input for eval, not an output
                path = os.path.join(dirpath, fn)
                found, size = scan_file(searcher, path)
                nfiles += 1
                nbytes += size
                for view, c, enc, off in found:
                    leaks.append(f"LEAK run {name}, {os.path.relpath(path, work)} ({view}): {c.name()} "
                                 f"as {enc} at byte {off}")
    print(f"searched {nfiles} outputs ({nbytes} bytes) of {len(outdirs)} runs for {len(canaries)} canaries in "
          f"{len(searcher.compiled)} patterns; {cut_records} pcap records cut after their headers")
    return report(failures, leaks, nfiles, nbytes)


def report(failures, leaks, nfiles, nbytes):
    for x in failures + leaks:
        print("FAIL " + x)
    if failures or leaks:
        print(f"metadata-only: FAILED ({len(failures)} check(s), {len(leaks)} leak(s))")
        return 1
    print("metadata-only: no canary in any output")
    return 0


if __name__ == "__main__":
    sys.exit(main())
