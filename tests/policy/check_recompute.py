#!/usr/bin/env python3
"""policy test's figures equal an independent recomputation (recompute.py) on the project's captures.

The rules (recompute/headline.yaml) block calls 18:00-06:00 Berlin time, throttle files and, in a New York
night window, web; a weekday 02:00-03:00 Berlin block on ports overlaps them (first match wins), a Kolkata window
crosses midnight. The captures run on 2024-03-01 12:00 UTC, where most windows are shut, so copies are made with
their times shifted (classic pcap headers rewritten here) to put the windows' edges inside the flows:
  * 17:59:10 CET: mixed.pcap's call (40.05 s to 60.18 s) straddles 18:00, the block opens mid-flow;
  * Saturday 2024-03-02 05:59:30 CET: 06:00 closes the block mid-call; New York is Friday night;
  * 2024-03-31 00:59:30 UTC: Berlin skips 02:00-03:00 (CET -> CEST), the 02:00-03:00 block never opens;
  * 2024-10-27 00:59:30 UTC: Berlin repeats 02:00-03:00 (CEST -> CET), the block is open across the change;
  * 2024-03-01 17:59:50 UTC = 23:29:50 IST: the Kolkata window opens during the capture;
  * the throttle: mixed.pcap's TLS flows in the New York Friday-night window (32 kbit/s, one second deep).
For each, every figure of --report-json (totals, per rule, per region, time to block) must equal the
recomputation, every frame must be put into a flow by the independent reader, and the case must exercise what it
is for (a drop, a pass after the verdict, a throttle), so that a vacuous agreement fails.
../shared/corpus WhatsApp captures are checked too when present.
  check_recompute.py SEALSCOPE REPO_ROOT
"""
import calendar
import json
import os
import struct
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import recompute  # noqa: E402

bin_, root = sys.argv[1], sys.argv[2]
rules = os.path.join(root, "tests", "policy", "recompute", "headline.yaml")
failures = []


def shifted(src, dst, start_utc):
    """Copies a little-endian µs classic pcap with its times moved by whole seconds so that its first frame's
    second becomes start_utc."""
    buf = bytearray(open(os.path.join(root, src), "rb").read())
    assert buf[:4] == b"\xd4\xc3\xb2\xa1", src
    delta = calendar.timegm(start_utc) - struct.unpack_from("<I", buf, 24)[0]
    off = 24
    while off + 16 <= len(buf):
        sec, _, incl, _ = struct.unpack_from("<IIII", buf, off)
        struct.pack_into("<I", buf, off, sec + delta)
        off += 16 + incl
    open(dst, "wb").write(buf)
    return dst


def records_packets(path):
    """The packets sealscope analyze's flow records count in a capture."""
    out = subprocess.run([bin_, "analyze", "-q", "--no-progress", "--flows", "-", path], capture_output=True,
                         text=True, check=True).stdout
    return sum(sum(json.loads(line)["packets"].values()) for line in out.splitlines() if line)


def fragments_held_and_orphaned(dst):
    """Writes an Ethernet pcap (1 ms apart, from 2024-03-05 02:10 Berlin time, in block-calls' night window; 3478
    is STUN's port, a call) of UDP fragments 192.0.2.10:5000 (district-7) -> 10.0.0.2:3478 that arrive before
    their first fragment: datagram 100 has 6 (the worker holds 4 and counts them, orphans 2); datagram 300
    has one, and its first comes 31 s later (timed out: not counted); 40 000 later fragments whose first
    never comes (more than the worker's fragment table, and the dry run, hold); then datagram 200's one held
    fragment and its first (counted; the held one passed when it came, as no flow can be told from it).
    The flow counts 8 frames; returns the number no flow takes."""
    def ip(ident, off8, more, payload):
        h = bytearray(struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident, (0x2000 if more else 0) | off8,
                                  64, 17, 0, bytes([192, 0, 2, 10]), bytes([10, 0, 0, 2])))
        c = sum(struct.unpack("!10H", h))
        c = (c & 0xFFFF) + (c >> 16)
        struct.pack_into("!H", h, 10, ~((c & 0xFFFF) + (c >> 16)) & 0xFFFF)
        return b"\x02" * 6 + b"\x04" * 6 + b"\x08\x00" + bytes(h) + payload
    udp = lambda n: struct.pack("!HHHH", 5000, 3478, 8 + n, 0)  # noqa: E731
    frames = [ip(100, k, k < 6, b"y" * 8) for k in range(6, 0, -1)] + [ip(100, 0, True, udp(48))]
    frames += [ip(300, 1, False, b"y" * 8), ip(300, 0, True, udp(8))]
    frames += [ip(10000 + i, 1, False, b"z" * 8) for i in range(40000)]
    frames += [ip(200, 1, False, b"y" * 8), ip(200, 0, True, udp(8))]
    t = calendar.timegm((2024, 3, 5, 1, 10, 0)) * 1000000
    with open(dst, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i, fr in enumerate(frames):
            us = t + i * 1000 + (31000000 if i >= 8 else 0)  # datagram 300's first fragment is 31 s after its other
            f.write(struct.pack("<IIII", us // 1000000, us % 1000000, len(fr), len(fr)) + fr)
    return 6 + 40000 - 4 + 1


def run(name, caps, want, unplaced=0):
    with tempfile.TemporaryDirectory() as tmp:
        rep = recompute.policy_report(bin_, rules, caps, tmp)
    exp, notes = recompute.recompute(bin_, rules, caps)
    for n in notes:
        if unplaced and n == f"{unplaced} frame(s) not put into a flow by this reader":
            continue  # the frames the case means to leave out
        failures.append(f"{name}: {n}")
    for d in recompute.compare(exp, rep):
        failures.append(f"{name}: {d}")
    rule = {r["rule"]: r for r in rep["rules"]}
    for what, ok in want(rule, rep).items():
        if not ok:
            failures.append(f"{name}: the case does not exercise what it is for: {what}")
    print(f"{name}: {rep['totals']['packets']} packets, dropped {rep['totals']['dropped']['packets']}, "
          f"throttled {rep['totals']['throttled']['packets']}")


with tempfile.TemporaryDirectory() as tmp:
    cap = lambda n: os.path.join(root, "captures", n)  # noqa: E731
    run("as recorded", [cap("gtpu.pcap"), cap("mixed.pcap"), cap("vlan.pcap"), cap("ipv6.pcap")],
        lambda r, rep: {"calls pass at 13:00 CET": r["block-calls"]["dropped"]["packets"] == 0,
                        "the default carries the rest": r["default"]["packets"] > 0})
    # Frame 5 of fragments.pcap is a later fragment that comes before its first: the worker holds it, and the
    # dry run must count it into its flow (and a pcap) as the flow record does.
    run("fragments, one before its first", [cap("fragments.pcap")],
        lambda r, rep: {"every frame of the records": rep["totals"]["packets"] == records_packets(cap("fragments.pcap"))})
    # The worker holds at most 4 later fragments per datagram, lets them go after 30 s, and orphans those
    # whose first never comes: the dry run must count (and, inline, pass) exactly the ones it counts, however
    # many orphans came before.
    fr = os.path.join(tmp, "fragments-held.pcap")
    left_out = fragments_held_and_orphaned(fr)
    run("later fragments held, timed out and orphaned", [fr],
        lambda r, rep: {"every frame of the records": rep["totals"]["packets"] == records_packets(fr) == 8,
                        "blocked after the verdict": r["block-calls"]["dropped"]["packets"] == 2,
                        "but a fragment held then passed": r["block-calls"]["passed"]["packets"] ==
                        r["block-calls"]["before_verdict"]["packets"] + 1},
        unplaced=left_out)
    for c in ("sealchat-call.pcap", "sealchat-files.pcap", "sealchat-chat.pcap", "sealchat-ipv6.pcap"):
        run(c, [cap(c)], lambda r, rep: {"some flow": rep["totals"]["flows"] > 0})
    m = shifted("captures/mixed.pcap", os.path.join(tmp, "evening.pcap"), (2024, 3, 1, 16, 59, 10))
    run("block opens mid-call", [m],
        lambda r, rep: {"the call is cut": r["block-calls"]["dropped"]["packets"] > 0,
                        "but passed after its verdict until 18:00": r["default"]["passed"]["packets"] >
                        r["default"]["before_verdict"]["packets"] + 100})
    m = shifted("captures/mixed.pcap", os.path.join(tmp, "morning.pcap"), (2024, 3, 2, 4, 59, 10))
    run("block closes mid-call at 06:00, New York Friday night", [m],
        lambda r, rep: {"dropped before 06:00": r["block-calls"]["dropped"]["packets"] > 0,
                        "passed after": r["default"]["passed"]["packets"] > r["default"]["before_verdict"]["packets"],
                        "web throttled": r["throttle-web-night"]["throttled"]["packets"] > 0})
    m = shifted("captures/mixed.pcap", os.path.join(tmp, "spring.pcap"), (2024, 3, 31, 0, 59, 30))
    run("DST spring forward: 02:00-03:00 never opens", [m],
        lambda r, rep: {"no port block": r["block-port-3478"]["flows"] == 0,
                        "calls blocked (night)": r["block-calls"]["dropped"]["packets"] > 0})
    m = shifted("captures/mixed.pcap", os.path.join(tmp, "autumn.pcap"), (2024, 10, 28, 0, 59, 30))
    run("DST fall back: 02:00-03:00 twice (Monday)", [m],
        lambda r, rep: {"calls blocked by the earlier rule": r["block-calls"]["dropped"]["packets"] > 0})
    m = shifted("captures/mixed.pcap", os.path.join(tmp, "kolkata.pcap"), (2024, 3, 1, 17, 59, 50))
    run("Kolkata window opens", [m], lambda r, rep: {"logged": r["log-kolkata-evening"]["flows"] > 0})
    c = shifted("captures/sealchat-call.pcap", os.path.join(tmp, "sealcall.pcap"), (2024, 3, 1, 16, 59, 55))
    run("sealchat call at 18:00 Berlin", [c], lambda r, rep: {"some flow": rep["totals"]["flows"] > 0})

corpus = os.path.join(root, "..", "shared", "corpus", "pcap")
if os.path.isdir(corpus):
    for c in ("wa_voice.pcap", "stun_wa_call.pcapng", "whatsapp_voice_and_message.pcap", "whatsappfiles.pcap"):
        if os.path.exists(os.path.join(corpus, c)):
            exp, notes = recompute.recompute(bin_, rules, [os.path.join(corpus, c)])
            with tempfile.TemporaryDirectory() as tmp:
                rep = recompute.policy_report(bin_, rules, [os.path.join(corpus, c)], tmp)
            for d in recompute.compare(exp, rep):
                failures.append(f"corpus {c}: {d}")
            print(f"corpus {c}: compared")
else:
    print("../shared/corpus absent: corpus captures skipped")

for x in failures:
    print("FAIL:", x)
print("policy figures recomputed:", "ok" if not failures else f"{len(failures)} failure(s)")
sys.exit(1 if failures else 0)
