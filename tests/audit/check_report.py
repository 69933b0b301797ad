#!/usr/bin/env python3
"""Assertions on a `sealscope audit --report-json` report, for the audit's ctest cases.

usage: check_report.py REPORT.json CHECK [ARGS...]
  controls-pass                  verdict PASS, no hit, every listed flow PASS with content judged random-like
  controls-fail CANARIES.txt     verdict FAIL, every canary of the file found, the call flows flagged
  placements PLACEMENTS.tsv      every placement of captures/canary-placements.tsv found where it is (flow
                                 direction, packet, payload, stream or datagram offset, encoding), and nothing
                                 else; the datagrams reassembled and none given up
  clean                          verdict PASS and no hit (captures/canary-clean.pcap)
  corpus                         on ../shared/corpus: end-to-end encrypted messengers' flows PASS, the
                                 plaintext XMPP (jabber.pcap) and SIP flows FAIL
Exits 1 with one line per failed assertion.
"""
import json
import sys

failures = []


def check(cond, msg):
    if not cond:
        failures.append(msg)


def canary_count(path):
    n = 0
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n").rstrip("\r")
            if line and not line.startswith("#"):
                n += 1
    return n


def main():
    report = json.load(open(sys.argv[1]))
    what = sys.argv[2]
    flows = report["listed_flows"]
    if what == "controls-pass":
        check(report["verdict"] == "PASS", f"verdict {report['verdict']}, expected PASS")
        check(report["hits"]["total"] == 0, f"{report['hits']['total']} canary hits in the encrypted control")
        check(len(flows) >= 4, f"only {len(flows)} messaging flows listed (chat, blob and call flows expected)")
        judged = 0
        for f in flows:
            check(f["verdict"] == "PASS", f"flow {f['flow']} {f['label']} FAIL: {f['findings']}")
            check(f["family"] == "SealChat", f"flow {f['flow']} labelled {f['label']}, expected the SealChat family")
            for name, d in f["directions"].items():
                if d["judgement"] != "too-few":
                    judged += 1
                    check(d["judgement"] == "random-like", f"flow {f['flow']} {name}: {d['judgement']}")
        check(judged >= 8, f"only {judged} directions had enough content to judge")
        check(any(d["framing"] == "sealchat-media" and d["units"] >= 40
                  for f in flows for d in f["directions"].values()),
              "no call direction with 40+ SRTP payloads measured")
    elif what == "controls-fail":
        n = canary_count(sys.argv[3])
        check(report["verdict"] == "FAIL", f"verdict {report['verdict']}, expected FAIL")
        found = {c["canary"] for c in report["hits"]["per_canary"]}
        check(found == set(range(1, n + 1)), f"canaries found {sorted(found)}, expected 1..{n}")
        check(report["hits"]["in_streams"] > 0 and report["hits"]["in_packets"] > 0,
              "hits expected both in packets and in reassembled streams")
        for h in report["hits"]["listed"]:
            check(h["packet"] > 0 and h["flow"] >= 0, f"hit without a position: {h}")
        # The detector knows the null-cipher prologue: every flow is SealChat's, and every one fails.
        check(len(flows) >= 4 and all(f["family"] == "SealChat" for f in flows),
              f"flows not all SealChat: {[(f['flow'], f['label']) for f in flows]}")
        check(all(f["verdict"] == "FAIL" for f in flows), "a null-cipher flow passed")
        chat = [f for f in flows if f["l4"] == "tcp" and f["canary_hits"]["streams"] > 0]
        check(any(d["framing"] == "sealchat" for f in chat for d in f["directions"].values()),
              "no null-cipher chat direction parsed with sealchat framing")
        calls = [f for f in flows if f["label"] == "SealChatCall"]
        check(len(calls) >= 1, "no SealChatCall flow listed")
        for f in calls:
            check(f["verdict"] == "FAIL", f"call flow {f['flow']} not flagged: plain RTP must fail")
            check(any(d["judgement"] in ("fixed-lead", "cleartext-like") for d in f["directions"].values()),
                  f"call flow {f['flow']}: no direction judged fixed-lead or cleartext-like")
    elif what == "placements":
        enc_names = {"base64-0": "base64/0", "base64-1": "base64/1", "base64-2": "base64/2", "utf16le": "utf-16le",
                     "utf16be": "utf-16be", "url-upper-plus": "url-form"}
        hits = report["hits"]["listed"]
        check(not report["hits"]["listed_truncated"], "hit list truncated")
        expected = 0
        streams = set()
        for row in open(sys.argv[3], encoding="utf-8").read().splitlines()[1:]:
            case, line, _canary, enc, l4, _ini, _resp, direction, frames, poff, soff, doff, _length, _note = \
                row.split("\t")
            enc = enc_names.get(enc, enc)
            line = int(line)
            frames = [int(x) for x in frames.split(",")]
            want_dir = "initiator" if direction == "up" else "responder"

            def match(h, where):
                return (h["line"] == line and h["encoding"] == enc and h["where"] == where
                        and h["direction"] == want_dir)
            # base64 with 1 or 2 bytes before the canary in its quantum: the audit reports where the characters
            # made of canary bits only begin, 2 or 3 characters into the base64 text (the table's offset).
            poff = int(poff) + {"base64/1": 2, "base64/2": 3}.get(enc, 0)
            if len(frames) == 1:  # the whole canary in one packet
                expected += 1
                check(any(match(h, "packet") and h["packet"] == frames[0] and h["payload_offset"] == poff
                          for h in hits),
                      f"case {case} line {line} {enc}: no packet hit at frame {frames[0]} offset {poff}")
            if doff != "-":  # across the fragments of one datagram: found in it, named by the fragment completing it
                expected += 1
                check(any(match(h, "datagram") and h["datagram_offset"] == int(doff) and h["packet"] == max(frames)
                          for h in hits),
                      f"case {case} line {line}: no datagram hit at offset {doff} completed in frame {max(frames)}")
            if l4 == "tcp" and (line, soff) not in streams:
                streams.add((line, soff))
                expected += 1
                # A stream hit names the packet holding the canary's last byte (frames are listed in byte order).
                check(any(match(h, "stream") and h["stream_offset"] == int(soff) and h["packet"] == frames[-1]
                          for h in hits),
                      f"case {case} line {line}: no stream hit at offset {soff} ending in frame {frames[-1]}")
        check(report["hits"]["total"] == expected, f"{report['hits']['total']} hits, expected exactly {expected}")
        df = report["defragmentation"]
        want = sum(1 for row in open(sys.argv[3], encoding="utf-8").read().splitlines()[1:]
                   if row.split("\t")[11] != "-")
        check(df["reassembled"] == df["datagrams"] == want and df["fragments"] == 2 * want,
              f"defragmentation {df}: expected {want} datagrams of 2 fragments, all reassembled")
        check(not any("never reassembled" in w for w in report["warnings"]), f"warnings: {report['warnings']}")
        check(report["verdict"] == "FAIL", "verdict PASS with canaries in the capture")
    elif what == "clean":
        check(report["verdict"] == "PASS", f"verdict {report['verdict']}, expected PASS: {report['reasons']}")
        check(report["hits"]["total"] == 0, f"{report['hits']['total']} canary hits in a capture without canaries")
    elif what == "corpus":
        by_family = {}
        for f in flows:
            by_family.setdefault(f["family"], []).append(f)
        # End-to-end encrypted messengers (TLS, Noise, MTProto, SRTP): nothing of theirs may be flagged.
        for fam in ("WhatsApp", "Signal", "Telegram", "Threema", "Snapchat", "GoogleMeet", "Messenger", "WeChat"):
            fl = by_family.get(fam, [])
            check(len(fl) > 0, f"no {fam} flow in the corpus report")
            bad = [f"{f['input'].split('/')[-1]}#{f['flow']}: {f['findings']}" for f in fl if f["verdict"] == "FAIL"]
            check(not bad, f"{fam}: {len(bad)} flow(s) flagged: {bad[:3]}")
            judged = sum(d["judgement"] == "random-like" for f in fl for d in f["directions"].values())
            check(judged > 0, f"{fam}: no direction judged random-like")
        # Plaintext by design: XMPP without TLS in jabber.pcap, SIP in sip.pcap.
        jab = [f for f in by_family.get("Jabber", []) if f["input"].endswith("jabber.pcap")]
        check(any(f["verdict"] == "FAIL" for f in jab), "jabber.pcap: plaintext XMPP not flagged")
        sip = [f for f in flows if f["input"].endswith("/sip.pcap") and f["label"].startswith("SIP")]
        check(any(any("SIP" in s for s in f["findings"]) for f in sip), "sip.pcap: SIP not flagged as cleartext")
        check(report["hits"]["total"] == 0, "canary hits in the corpus (the canaries are made up)")
    else:
        print(f"unknown check {what}", file=sys.stderr)
        return 2
    for m in failures:
        print(f"check_report.py {what}: {m}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
