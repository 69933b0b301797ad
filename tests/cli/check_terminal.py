#!/usr/bin/env python3
"""Names from outside never reach a terminal as control sequences.

Every file made here (captures, a rules file, a canaries file, a labels file, a pcap output, sealchat's
state, sealrelay's configuration) has a name that holds ESC [31m and the UTF-8 C1 control U+009B (the
one-character CSI, bytes C2 9B); so do a rule's name, a region's name, a label in the rules and the
fields of a labels-file row. A terminal shown those bytes would recolour, clear or retitle itself.
sealscope(1) says such a string is shown as its display text: a control as \\xNN, per byte.

Checked, for analyze (progress bar, error lines, the summary's INCOMPLETE line), policy check (FILE:LINE:
COLUMN diagnostics, the summary line), policy test (the rule and region tables, the pcap output, its
error and INCOMPLETE lines), audit (inputs, canaries file, INCOMPLETE), eval (per-file table, --diff rows,
warnings), sealchat and sealrelay (error lines naming a file): neither standard output nor standard error
holds ESC, the bytes C2 9B or any other C0/C1 control but line breaks (and the progress bar's carriage
returns), and each shows the name's display text where it names it. The JSON, CSV and HTML files written on
the way hold no control either.

usage: check_terminal.py BUILD_DIR REPO_ROOT
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

# What a hostile name holds, and what sealscope must show instead.
EVIL = b"\x1b[31m\xc2\x9b2J"
SHOWN = b"\\x1b[31m\\xc2\\x9b2J"

failures = []


def check(what, ok, detail=b""):
    print(("ok: " if ok else "FAIL: ") + what + ("" if ok else f" ({detail[:600]!r})"))
    if not ok:
        failures.append(what)


def run(args, what, codes):
    r = subprocess.run([os.fsencode(a) for a in args], capture_output=True, timeout=120)
    check(f"{what}: exit {codes}", r.returncode in codes, r.stderr)
    for name, data in (("stdout", r.stdout), ("stderr", r.stderr)):
        # C0 controls but \n (and \r, the progress bar's own), DEL, raw C1 bytes or UTF-8 C1 controls.
        bad = re.search(rb"[\x00-\x09\x0b\x0c\x0e-\x1f\x7f]|\xc2[\x80-\x9f]", data)
        check(f"{what}: no control character on {name}", bad is None,
              data[max(0, bad.start() - 80):bad.end() + 80] if bad else b"")
    return r


def no_control(what, path):
    """The files written (JSON, CSV, HTML) hold no control either: sealscope writes names there as display
    text too (sealscope(1)), with the format's own quoting on top."""
    data = open(path, "rb").read()
    bad = re.search(rb"[\x00-\x09\x0b\x0c\x0e-\x1f\x7f]|\xc2[\x80-\x9f]", data)
    check(f"{what}: no control character in {os.path.basename(path)!r}", bad is None,
          data[max(0, bad.start() - 80):bad.end() + 80] if bad else b"")


def shows(what, data, text):
    check(f"{what}: shows {text!r}", text in data, data)


def main():
    build, root = sys.argv[1], sys.argv[2]
    sealscope = os.path.join(build, "sealscope")
    with tempfile.TemporaryDirectory() as work:
        w = work.encode()
        caps = os.path.join(w, b"caps")
        os.mkdir(caps)
        cap = os.path.join(caps, b"cap" + EVIL + b".pcap")
        cap_shown = os.path.join(caps, b"cap" + SHOWN + b".pcap")
        shutil.copy(os.path.join(root, "captures", "mixed.pcap"), cap)
        data = open(cap, "rb").read()
        cut = os.path.join(caps, b"cut" + EVIL + b".pcap")
        cut_shown = os.path.join(caps, b"cut" + SHOWN + b".pcap")
        with open(cut, "wb") as f:
            f.write(data[:len(data) * 2 // 3])
        missing = os.path.join(w, b"missing" + EVIL + b".pcap")

        # analyze: the progress bar, the error lines (cut short, missing) and the summary on stdout.
        out = lambda name: os.path.join(w, name)
        r = run([sealscope, "analyze", "--progress", cap, cut, missing, "--flows", out(b"f.jsonl"), "--csv",
                 out(b"f.csv"), "--summary-json", out(b"s.json"), "--html", out(b"a.html")], "analyze", {1})
        for name in (b"f.jsonl", b"f.csv", b"s.json", b"a.html"):
            no_control("analyze", out(name))
        shows("analyze progress bar", r.stderr, b"\r" + cap_shown + b" [")
        shows("analyze error line (cut short)", r.stderr, b"sealscope analyze: " + cut_shown + b": ")
        shows("analyze error line (missing)", r.stderr, b"sealscope analyze: " + os.path.join(w, b"missing" + SHOWN))
        shows("analyze summary INCOMPLETE line", r.stdout, b"INCOMPLETE: " + cut_shown + b": ")

        # policy check: diagnostics FILE:LINE:COLUMN: ... naming the file and an unknown label from it.
        rules = os.path.join(w, b"rules" + EVIL + b".yaml")
        rules_shown = os.path.join(w, b"rules" + SHOWN + b".yaml")
        with open(rules, "wb") as f:
            f.write(b"regions:\n  \"reg\\e[31m\\u009b\":\n    subscribers: [0.0.0.0/0, \"::/0\"]\n"
                    b"rules:\n  - name: \"r\\e[31m\\u009b2J\"\n    region: \"reg\\e[31m\\u009b\"\n"
                    b"    label: \"Whats\\e[31m\\u009bApp\"\n    action: block\ndefault: allow\n")
        r = run([sealscope, "policy", "check", rules], "policy check", {1})
        shows("policy check diagnostic", r.stderr, rules_shown + b":7:")
        shows("policy check diagnostic quotes the label", r.stderr, b"Whats" + SHOWN[:-2] + b"App")
        shows("policy check summary line", r.stdout, rules_shown + b": 1 region(s)")

        # policy test: the rule and region tables, the pcap written, the cut capture.
        pass_pcap = os.path.join(w, b"pass" + EVIL + b".pcap")
        r = run([sealscope, "policy", "test", "--rules", rules, "--pass-pcap", pass_pcap, cap, cut, "--report-json",
                 out(b"p.json"), "--html", out(b"p.html")], "policy test", {1})
        for name in (b"p.json", b"p.html"):
            no_control("policy test", out(name))
        shows("policy test header", r.stdout, b"policy dry-run: " + rules_shown)
        shows("policy test rule row", r.stdout, b"\nr" + SHOWN)
        shows("policy test region row", r.stdout, b"\nreg" + SHOWN[:-2])
        shows("policy test pcap line", r.stdout, b"-> " + os.path.join(w, b"pass" + SHOWN + b".pcap"))
        shows("policy test INCOMPLETE line", r.stdout, b"INCOMPLETE: " + cut_shown)
        shows("policy test error line", r.stderr, b"sealscope policy test: " + cut_shown)

        # audit: the inputs, the canaries file, the cut capture.
        canaries = os.path.join(w, b"canaries" + EVIL + b".txt")
        with open(canaries, "wb") as f:
            f.write(b"a canary that is not in this capture\n")
        r = run([sealscope, "audit", "--canaries", canaries, cap, cut, "--html", out(b"au.html")], "audit", {1})
        no_control("audit", out(b"au.html"))
        shows("audit inputs line", r.stdout, b"inputs: " + cap_shown + b", " + cut_shown)
        shows("audit canaries line", r.stdout, b"from " + os.path.join(w, b"canaries" + SHOWN + b".txt"))
        shows("audit INCOMPLETE line", r.stdout, b"INCOMPLETE: " + cut_shown)
        shows("audit error line", r.stderr, b"sealscope audit: " + cut_shown)

        # eval: the per-file table, the --diff rows (fields of the labels file), the warnings naming it.
        labels = os.path.join(w, b"labels" + EVIL + b".tsv")
        with open(labels, "wb") as f:
            f.write(b"file\tl4\tvlan\tendpoint_a\tendpoint_b\tpackets\texpected_label\tfamily\tactivity\tndpi42_label\n")
            for name in (b"cap", b"cut"):
                f.write(name + EVIL + b".pcap\tUDP\t\t192.0.2.1:1\t192.0.2.2:2\t1\tApp" + EVIL +
                        b"\tWhatsApp\tcall\tSTUN\n")
        r = run([sealscope, "eval", "--labels", labels, caps, "--by-file", "--diff", "--report-json", out(b"e.json")],
                "eval", {1})
        no_control("eval", out(b"e.json"))
        shows("eval per-file table", r.stdout, b"\ncap" + SHOWN + b".pcap")
        shows("eval --diff row", r.stdout, b"  cap" + SHOWN + b".pcap UDP")
        shows("eval --diff row's expected label", r.stdout, b"App" + SHOWN)
        shows("eval warning names the labels file", r.stderr, os.path.join(w, b"labels" + SHOWN + b".tsv"))
        shows("eval error line", r.stderr, b"sealscope eval: " + cut_shown)

        # sealchat and sealrelay: error lines that name a file.
        sealchat, sealrelay = os.path.join(build, "sealchat"), os.path.join(build, "sealrelay")
        if os.path.exists(sealchat) and os.path.exists(sealrelay):
            r = run([sealchat, "--state", os.path.join(w, b"state" + EVIL), "send", "bob", "hi"], "sealchat", {1})
            shows("sealchat error line", r.stderr, os.path.join(w, b"state" + SHOWN))
            r = run([sealchat, "scenario", os.path.join(w, b"play" + EVIL + b".yaml")], "sealchat scenario", {1})
            shows("sealchat scenario error line", r.stderr, os.path.join(w, b"play" + SHOWN + b".yaml"))
            r = run([sealrelay, "--config", os.path.join(w, b"relay" + EVIL + b".yaml")], "sealrelay", {1})
            shows("sealrelay error line", r.stderr, os.path.join(w, b"relay" + SHOWN + b".yaml"))
        else:
            print("skipped: sealchat and sealrelay not built (-DSEALSCOPE_E2EE=OFF)")

    print(f"{len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
