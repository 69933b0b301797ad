#!/usr/bin/env python3
"""An independent recomputation of `sealscope policy test`'s figures, from the raw capture and the rules file.

It shares no code with sealscope's policy engine: the capture is read here (classic pcap and pcapng; Ethernet
with VLAN/QinQ tags, Linux SLL/SLL2, raw IP, null/loopback; IPv4 with fragments, IPv6 with extension headers,
GTP-U), every packet is put into its flow from `sealscope analyze --flows` (the classifier's label,
family, activity, server name and `classified_after`, which this script takes as given: the dry-run's subject
is what the rules do with a verdict, not the verdict), and the rules are applied as sealscope-rules(5) and
sealscope(1) POLICY describe them:

* a flow's packets up to and including its `classified_after.packets`-th pass (before the verdict);
* a later fragment that came before its first fragment is counted with that first one (just before it), at
  most MAX_PENDING per datagram and within FRAG_TIMEOUT_US, and passes whatever the rules say: no flow can be
  told from it when it comes;
* afterwards the first rule whose conditions hold acts, its window read at each packet's capture time in its
  zone (python's zoneinfo over the same system tzdata), block drops, throttle is a token bucket per flow
  (kbit/s, one second deep, full at the first packet it sees), allow and log pass;
* per rule: flows it acted on (the rule at the verdict, and any rule that acted on a later packet), distinct
  subscribers, packets/bytes (all, passed, dropped, throttled, before the verdict: the verdict rule's);
  per region and in total the same over every packet of its flows; intended and collateral flows of the
  rule acting at the verdict, judged on the flow's own label (or the labels file); time to block per label
  over the flows whose rule at the verdict blocks or throttles (packets, bytes and ms before the verdict:
  the verdict's packet time minus the flow's first).
It takes each flow's record label as its label from the verdict on, so it does not model a label the classifier
revises after the verdict (the dry-run follows such revisions, see label-revised/): use rules whose conditions
hold alike before and after a revision (activity, family, ports, regions), as check_recompute.py does.

Library use: `recompute(bin, rules_path, captures, labels=None)` returns (expected, notes): the report
fields recomputed, and notes on anything this reader could not account for (frames it cannot parse,
flows whose packet counts differ from the record's). Command line:
    recompute.py SEALSCOPE RULES.yaml CAPTURE... [--labels FILE]   prints the differences, exit 1 if any
"""
import ipaddress
import json
import os
import struct
import subprocess
import sys
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import yaml

# ------------------------------------------------------------------------------------------- capture reading

# How the worker holds later fragments that come before their first (src/flow/fragments.hpp): at most
# MAX_PENDING per datagram, let go FRAG_TIMEOUT_US after the first of them came.
MAX_PENDING = 4
FRAG_TIMEOUT_US = 30 * 1000000


def frames(path):
    """Yields (ts_us, linktype, data, wirelen) for each record of a pcap or pcapng file."""
    with open(path, "rb") as f:
        buf = f.read()
    magic = buf[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d"):
        e = "<" if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
        nano = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
        linktype = struct.unpack(e + "I", buf[20:24])[0] & 0x0FFFFFFF
        off = 24
        while off + 16 <= len(buf):
            sec, frac, incl, orig = struct.unpack(e + "IIII", buf[off:off + 16])
            off += 16
            if off + incl > len(buf):
                break
            us = frac // 1000 if nano else frac
            yield sec * 1000000 + us, linktype, buf[off:off + incl], orig
            off += incl
        return
    if magic != b"\x0a\x0d\x0d\x0a":
        raise ValueError(f"{path}: not a pcap or pcapng file")
    off, e, ifaces = 0, "<", []
    while off + 12 <= len(buf):
        if buf[off:off + 4] == b"\x0a\x0d\x0d\x0a":
            e = "<" if buf[off + 8:off + 12] == b"\x4d\x3c\x2b\x1a" else ">"
            ifaces = []
        btype, blen = struct.unpack(e + "II", buf[off:off + 8])
        if blen < 12 or off + blen > len(buf):
            break
        body = buf[off + 8:off + blen - 4]
        if btype == 1:  # IDB: link type, then options (if_tsresol = 9)
            lt = struct.unpack(e + "H", body[:2])[0]
            res, o = 6, 8
            while o + 4 <= len(body):
                code, ln = struct.unpack(e + "HH", body[o:o + 4])
                if code == 0:
                    break
                if code == 9 and ln >= 1:
                    r = body[o + 4]
                    res = r & 0x7F if not r & 0x80 else None
                    if res is None:
                        raise ValueError(f"{path}: binary if_tsresol not handled")
                o += 4 + ((ln + 3) & ~3)
            ifaces.append((lt, 10 ** res))
        elif btype == 6:  # EPB
            iface, hi, lo, incl, orig = struct.unpack(e + "IIIII", body[:20])
            lt, per_s = ifaces[iface]
            t = (hi << 32) | lo
            yield t * 1000000 // per_s, lt, body[20:20 + incl], orig
        elif btype == 3:  # SPB
            raise ValueError(f"{path}: simple packet blocks carry no time; not handled")
        off += blen


class Pkt:
    __slots__ = ("ts", "l4", "src", "dst", "sport", "dport", "ip_len", "vlan", "tunnel", "frag_key", "later_frag",
                 "first_frag")


def _l2(linktype, d):
    """(ethertype-or-'ip', offset, vlan) of the network layer, or None."""
    vlan = None
    if linktype == 1:
        if len(d) < 14:
            return None
        et, off = struct.unpack(">H", d[12:14])[0], 14
        while et in (0x8100, 0x88A8, 0x9100) and off + 4 <= len(d):
            if vlan is None:
                vlan = struct.unpack(">H", d[off:off + 2])[0] & 0x0FFF
            et = struct.unpack(">H", d[off + 2:off + 4])[0]
            off += 4
        return et, off, vlan
    if linktype == 113:
        return (struct.unpack(">H", d[14:16])[0], 16, None) if len(d) >= 16 else None
    if linktype == 276:
        return (struct.unpack(">H", d[0:2])[0], 20, None) if len(d) >= 20 else None
    if linktype in (12, 14, 101, 228, 229):
        return "ip", 0, None
    if linktype in (0, 108):
        return ("ip", 4, None) if len(d) >= 4 else None
    return None


def decode(ts, linktype, d, gtp=True):
    """A Pkt for an IP frame, or None."""
    l2 = _l2(linktype, d)
    if l2 is None:
        return None
    et, off, vlan = l2
    if et not in ("ip", 0x0800, 0x86DD):
        return None
    p = Pkt()
    p.ts, p.vlan, p.tunnel = ts, vlan, None
    return _ip(p, d[off:], gtp)


def _ip(p, d, gtp):
    if len(d) < 20:
        return None
    v = d[0] >> 4
    p.frag_key, p.later_frag, p.first_frag = None, False, False
    if v == 4:
        ihl = (d[0] & 15) * 4
        tot = struct.unpack(">H", d[2:4])[0]
        p.ip_len = tot
        proto = d[9]
        p.src, p.dst = ipaddress.ip_address(d[12:16]), ipaddress.ip_address(d[16:20])
        fo = struct.unpack(">H", d[6:8])[0]
        mf, offset = bool(fo & 0x2000), fo & 0x1FFF
        l4 = d[ihl:tot]
        if mf or offset:
            p.frag_key = (p.src, p.dst, proto, struct.unpack(">H", d[4:6])[0])
            p.later_frag = offset != 0
            p.first_frag = offset == 0
    elif v == 6:
        plen = struct.unpack(">H", d[4:6])[0]
        p.ip_len = 40 + plen
        p.src, p.dst = ipaddress.ip_address(d[8:24]), ipaddress.ip_address(d[24:40])
        proto, off = d[6], 40
        while proto in (0, 43, 44, 60, 51):
            h = d[off:off + 8]
            if len(h) < 8:
                return None
            if proto == 44:
                fo = struct.unpack(">H", h[2:4])[0]
                p.frag_key = (p.src, p.dst, h[0], struct.unpack(">I", h[4:8])[0])
                p.later_frag = (fo >> 3) != 0
                p.first_frag = not p.later_frag
                ln = 8
            elif proto == 51:
                ln = (h[1] + 2) * 4
            else:
                ln = (h[1] + 1) * 8
            proto = h[0]
            off += ln
        l4 = d[off:40 + plen]
    else:
        return None
    p.l4 = proto
    p.sport = p.dport = None
    if p.later_frag:
        return p
    if proto in (6, 17, 132) and len(l4) >= 4:
        p.sport, p.dport = struct.unpack(">HH", l4[:4])
    if proto == 17 and gtp and 2152 in (p.sport, p.dport) and not p.frag_key and len(l4) >= 16:
        g = l4[8:]
        if (g[0] >> 5) == 1 and g[0] & 0x10 and g[1] == 0xFF:
            hl = 8
            if g[0] & 7:
                hl = 12
                if g[0] & 4:
                    nxt = g[11]
                    while nxt:
                        el = g[hl] * 4
                        if el == 0:
                            return p
                        nxt = g[hl + el - 1]
                        hl += el
            inner = g[hl:]
            if inner and inner[0] >> 4 in (4, 6):
                q = Pkt()
                q.ts, q.vlan = p.ts, p.vlan
                q.tunnel = {"teid": struct.unpack(">I", g[4:8])[0], "outer_src": p.src, "outer_dst": p.dst}
                r = _ip(q, inner, gtp)
                if r is not None:
                    return r
    return p


# ---------------------------------------------------------------------------------------------- the rules

DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def as_list(x):
    return x if isinstance(x, list) else [x]


def parse_days(spec):
    out = set()
    for item in as_list(spec):
        item = str(item).lower()
        if item == "daily":
            out |= set(range(7))
        elif item == "weekdays":
            out |= set(range(5))
        elif item == "weekend":
            out |= {5, 6}
        elif "-" in item:
            a, b = (DAYS.index(x) for x in item.split("-"))
            i = a
            while True:
                out.add(i)
                if i == b:
                    break
                i = (i + 1) % 7
        else:
            out.add(DAYS.index(item))
    return out


def hhmm(s):
    h, m = s.split(":")
    return int(h) * 60 + int(m)


class Window:
    def __init__(self, w):
        self.days = parse_days(w.get("days", "daily"))
        self.start, self.end = hhmm(w.get("start", "00:00")), hhmm(w.get("end", "24:00"))
        self.zone = ZoneInfo(w.get("tz", "UTC"))

    def open_at(self, ts_us):
        t = datetime.fromtimestamp(ts_us // 1000000, tz=timezone.utc).astimezone(self.zone)
        wd, m = t.weekday(), t.hour * 60 + t.minute
        if self.start == self.end or not self.days:
            return False
        if self.start < self.end:
            return wd in self.days and self.start <= m < self.end
        return (wd in self.days and m >= self.start) or ((wd - 1) % 7 in self.days and m < self.end)


def glob(pattern, name):
    """* and ? wildcards, case-insensitive (sealscope-rules(5))."""
    import fnmatch
    return fnmatch.fnmatchcase(name.lower(), pattern.lower().replace("[", "[[]"))


def label_ok(want, label):
    if want == label:
        return True
    if "*" in want or "?" in want:
        return glob(want, label)
    if "." in want:
        return False
    return label.split(".", 1)[-1] == want


L4 = {"tcp": 6, "udp": 17, "icmp": 1, "icmpv6": 58, "sctp": 132}


class Rules:
    def __init__(self, path):
        doc = yaml.safe_load(open(path))
        self.regions = {}
        for name, r in (doc.get("regions") or {}).items():
            r = r or {}
            self.regions[name] = {
                "subscribers": [ipaddress.ip_network(str(x), strict=False) for x in as_list(r.get("subscribers", []))],
                "cells": [ipaddress.ip_network(str(x), strict=False) for x in as_list(r.get("cells", []))],
                "teids": [self._range(x) for x in as_list(r.get("teids", []))],
                "vlans": [int(x) for x in as_list(r.get("vlans", []))],
                "include": as_list(r.get("include", [])),
            }
        self.region_names = list(self.regions)
        self.rules = []
        for i, r in enumerate(doc["rules"]):
            rule = {"name": r.get("name", f"rule {i + 1}"), "action": self._action(r["action"])}
            for k in ("region", "family", "label", "activity", "category", "server_name"):
                rule[k] = [str(x) for x in as_list(r.get(k, []))]
            rule["l4"] = [L4[str(x).lower()] if str(x).lower() in L4 else int(x) for x in as_list(r.get("l4", []))]
            rule["ports"] = [self._range(x) for x in as_list(r.get("ports", []))]
            rule["window"] = Window(r["window"]) if "window" in r else None
            intent = r.get("intent")
            if intent is None:
                intent = {k: rule[k] for k in ("label", "family", "activity", "category") if rule[k]}
            rule["intent"] = {k: [str(x) for x in as_list(v)] for k, v in intent.items()}
            self.rules.append(rule)
        self.default = self._action(doc.get("default", "allow"))

    @staticmethod
    def _range(x):
        s = str(x)
        if "-" in s:
            a, b = s.split("-")
            return int(a, 0), int(b, 0)
        return int(s, 0), int(s, 0)

    @staticmethod
    def _action(a):
        if isinstance(a, dict):
            return ("throttle", int(a["throttle"]))
        return (a, 0)

    def closure(self, name, seen=None):
        """The regions a flow in `name`'s own sets belongs to: name and every region including it."""
        out = set()
        for other in self.regions:
            if self._includes(other, name, set()):
                out.add(other)
        return out

    def _includes(self, outer, inner, seen):
        if outer == inner:
            return True
        if outer in seen:
            return False
        seen.add(outer)
        return any(self._includes(x, inner, seen) for x in self.regions[outer]["include"])

    def place(self, flow):
        """(regions, subscriber address or None), as sealscope-rules(5) Regions says."""
        direct, sub = set(), None
        ini, res = flow["ini"], flow["res"]
        for side, addr in ((0, ini), (1, res)):
            for name, r in self.regions.items():
                if any(addr.version == n.version and addr in n for n in r["subscribers"]):
                    direct.add(name)
                    if sub is None:
                        sub = addr
        tun = flow["tunnel"]
        if tun is not None:
            for name, r in self.regions.items():
                for n in r["cells"]:
                    if tun["outer_src"].version == n.version and tun["outer_src"] in n:
                        direct.add(name)
                        sub = ini if sub is None else sub
                    if tun["outer_dst"].version == n.version and tun["outer_dst"] in n:
                        direct.add(name)
                        sub = res if sub is None else sub
                if any(lo <= tun["teid"] <= hi for lo, hi in r["teids"]):
                    direct.add(name)
                    sub = ini if sub is None else sub
        if flow["vlan"] is not None:
            for name, r in self.regions.items():
                if flow["vlan"] in r["vlans"]:
                    direct.add(name)
        regions = set()
        for name in direct:
            regions |= self.closure(name)
        return regions, sub

    def static(self, rule, flow, regions):
        if rule["region"] and not regions & set(rule["region"]):
            return False
        if rule["l4"] and flow["l4"] not in rule["l4"]:
            return False
        if rule["ports"]:
            if flow["sport"] is None or not any(lo <= p <= hi for lo, hi in rule["ports"]
                                                for p in (flow["sport"], flow["dport"])):
                return False
        if rule["family"] and flow["family"] not in rule["family"]:
            return False
        if rule["activity"] and flow["activity"] not in rule["activity"]:
            return False
        if rule["category"] and flow["category"] not in rule["category"]:
            return False
        if rule["label"] and not any(label_ok(w, flow["label"]) for w in rule["label"]):
            return False
        if rule["server_name"] and not (flow["server_name"] and any(glob(w, flow["server_name"])
                                                                     for w in rule["server_name"])):
            return False
        return True

    def acting(self, flow, regions, ts):
        """Index of the rule acting at ts (-1 = default)."""
        for i, rule in enumerate(self.rules):
            if rule["window"] is not None and not rule["window"].open_at(ts):
                continue
            if self.static(rule, flow, regions):
                return i
        return -1

    def action(self, i):
        return self.default if i < 0 else self.rules[i]["action"]

    def intended(self, i, label, family, activity, category):
        intent = self.rules[i]["intent"]
        return (all(any(label_ok(w, label) for w in intent[k]) for k in ["label"] if intent.get(k))
                and all(family in intent[k] for k in ["family"] if intent.get(k))
                and all(activity in intent[k] for k in ["activity"] if intent.get(k))
                and all(category in intent[k] for k in ["category"] if intent.get(k)))


class Bucket:
    """kbit/s, depth one second, full at the first packet; exact in 1/8000-byte units."""

    def __init__(self, kbit):
        self.rate, self.depth, self.tokens, self.last = kbit, kbit * 1000000, None, None

    def admit(self, ts, nbytes):
        if self.tokens is None:
            self.tokens, self.last = self.depth, ts
        elif ts > self.last:
            self.tokens = min(self.depth, self.tokens + (ts - self.last) * self.rate)
            self.last = ts
        cost = nbytes * 8000
        if self.tokens < cost:
            return False
        self.tokens -= cost
        return True


# ------------------------------------------------------------------------------------------ the recomputation


def new_tally():
    return {"flows": 0, "dropped_flows": 0, "subscribers": set(), "packets": 0, "bytes": 0,
            "passed": [0, 0], "dropped": [0, 0], "throttled": [0, 0], "before_verdict": [0, 0],
            "intended": 0, "collateral": 0, "collateral_labels": {}}


def add(t, key, n):
    t[key][0] += 1
    t[key][1] += n


def rfc3339_us(s):
    # 2024-03-01T12:00:00.123456Z
    d = datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
    return (int(d.timestamp()) * 1000000) + d.microsecond


def load_truth(path, captures):
    """{(l4, vlan, frozenset(endpoints))): (label, family, activity)} from a labels.tsv (corpus format)."""
    names = {os.path.basename(c) for c in captures}
    rows = {}
    for line in open(path):
        if line.startswith("#") or line.startswith("file\t") or not line.strip():
            continue
        c = line.rstrip("\n").split("\t")
        if os.path.basename(c[0]) not in names:
            continue
        rows[(c[1].upper(), c[2], frozenset((c[3], c[4])))] = (c[6], c[7], c[8])
    return rows


def endpoint(ip, port):
    ip = str(ipaddress.ip_address(ip))
    return (f"[{ip}]" if ":" in ip else ip) + f":{port if port is not None else 0}"


def recompute(bin_, rules_path, captures, labels=None, extra=()):
    rules = Rules(rules_path)
    notes = []
    # The captures in the time order of their first frames, as sealscope reads them (stable).
    def first_ts(c):
        return next((ts for ts, _, _, _ in frames(c)), None)
    keyed = sorted((t, i) for i, t in ((i, first_ts(c)) for i, c in enumerate(captures)) if t is not None)
    slots = [i for i, c in enumerate(captures) if first_ts(c) is not None]
    ordered = list(captures)
    for slot, (_, i) in zip(slots, keyed):
        ordered[slot] = captures[i]
    captures = ordered
    out = subprocess.run([bin_, "analyze", "-q", "--active-timeout", "0", "--flows", "-", *extra, *captures],
                         capture_output=True, text=True)
    if out.returncode not in (0, 1):
        raise RuntimeError(f"analyze: {out.stderr}")
    recs = [json.loads(line) for line in out.stdout.splitlines()]
    truth = load_truth(labels, captures) if labels else {}
    # Index the records by transport, VLAN and unordered endpoints; several records may share a key.
    by_key = {}
    for r in recs:
        r["_first"], r["_last"] = rfc3339_us(r["first_seen"]), rfc3339_us(r["last_seen"])
        r["_pk"] = []
        k = (r["l4"], r["vlan"], frozenset(((str(ipaddress.ip_address(r["src_ip"])), r["src_port"]),
                                                       (str(ipaddress.ip_address(r["dst_ip"])), r["dst_port"]))))
        by_key.setdefault(k, []).append(r)
    l4name = {6: "tcp", 17: "udp", 1: "icmp", 58: "icmpv6", 132: "sctp"}
    unparsed = 0
    frags, held = {}, {}
    for cap in captures:
        for ts, lt, data, _ in frames(cap):
            p = decode(ts, lt, data)
            if p is None:
                unparsed += 1
                continue
            if p.later_frag:
                r = frags.get(p.frag_key)
                if r is None:
                    # Before its first fragment: held (at most MAX_PENDING per datagram, for FRAG_TIMEOUT_US
                    # after the first of them came), and counted into the flow right after that first one.
                    h = held.get(p.frag_key)
                    if h is None or ts - h[0][0] >= FRAG_TIMEOUT_US:
                        if h is not None:
                            unparsed += len(h)  # timed out: let go
                        h = held[p.frag_key] = []
                    if len(h) < MAX_PENDING:
                        h.append((ts, p))
                    else:
                        unparsed += 1  # orphaned at once
                    continue
            else:
                has_ports = p.l4 in (6, 17, 132)
                sp, dp = (p.sport, p.dport) if has_ports else (None, None)
                k = (l4name.get(p.l4, str(p.l4)), p.vlan,
                     frozenset(((str(p.src), sp), (str(p.dst), dp))))
                cands = [r for r in by_key.get(k, []) if r["_first"] <= ts <= r["_last"]
                         and r["packets"]["up"] + r["packets"]["down"] > len(r["_pk"])]
                if not cands:
                    unparsed += 1
                    continue
                r = cands[0]
                if p.frag_key is not None:
                    frags[p.frag_key] = r
            up = str(p.src) == str(ipaddress.ip_address(r["src_ip"])) and (
                p.later_frag or r["src_port"] is None or p.sport == r["src_port"])
            if p.first_frag and p.frag_key in held:
                h = held.pop(p.frag_key)
                if ts - h[0][0] < FRAG_TIMEOUT_US:
                    # Counted with the first fragment, before it is classified; they passed when they came
                    # (no flow can be told from a later fragment), whatever the rules say.
                    for hts, hp in h:
                        r["_pk"].append((hts, hp.ip_len, up, hp.tunnel, True))
                else:
                    unparsed += len(h)
            r["_pk"].append((ts, p.ip_len, up, p.tunnel, False))
    unparsed += sum(len(v) for v in held.values())  # fragments whose first never came
    if unparsed:
        notes.append(f"{unparsed} frame(s) not put into a flow by this reader")
    for r in recs:
        n = r["packets"]["up"] + r["packets"]["down"]
        b = r["bytes"]["up"] + r["bytes"]["down"]
        if len(r["_pk"]) != n or sum(x[1] for x in r["_pk"]) != b:
            notes.append(f"flow {r['flow_id']} ({r['src_ip']}:{r['src_port']} {r['l4']}): record has {n} packets / {b} B, "
                         f"this reader found {len(r['_pk'])} / {sum(x[1] for x in r['_pk'])}")

    nrules = len(rules.rules)
    per_rule = [new_tally() for _ in range(nrules + 1)]  # the default last
    per_region = {name: new_tally() for name in rules.region_names}
    total = new_tally()
    no_region = 0
    leaks = {}

    def count(t, nbytes, before, dropped, throttled):
        t["packets"] += 1
        t["bytes"] += nbytes
        if before:
            add(t, "before_verdict", nbytes)
        if dropped:
            add(t, "dropped", nbytes)
            if throttled:
                add(t, "throttled", nbytes)
        else:
            add(t, "passed", nbytes)

    for r in recs:
        pk = r["_pk"]
        if not pk:
            continue
        ini, res = ipaddress.ip_address(r["src_ip"]), ipaddress.ip_address(r["dst_ip"])
        tun = r.get("tunnel")
        tunnel = None
        if tun:
            tunnel = {"teid": tun["teid"], "outer_src": ipaddress.ip_address(tun["outer_src"]),
                      "outer_dst": ipaddress.ip_address(tun["outer_dst"])}
        flow = {"ini": ini, "res": res, "tunnel": tunnel, "vlan": r["vlan"], "l4": {v: k for k, v in l4name.items()}.get(
            r["l4"], None), "sport": r["src_port"], "dport": r["dst_port"], "label": r["label"], "family": r["family"],
            "activity": r["activity"], "category": r.get("category", ""), "server_name": r.get("server_name") or ""}
        regions, sub = rules.place(flow)
        k = r["classified_after"]["packets"]
        touched = {}
        any_drop = False
        bucket, bucket_rate = None, None
        verdict_rule = None
        for i, (ts, nbytes, _, _, passed_unjudged) in enumerate(pk):
            before = i < k
            dropped = throttled = False
            if before:
                rule = None
            else:
                rule = rules.acting(flow, regions, ts)
                kind, rate = rules.action(rule) if not passed_unjudged else ("allow", None)
                if kind == "block":
                    dropped = True
                elif kind == "throttle":
                    if bucket_rate != rate:
                        bucket, bucket_rate = Bucket(rate), rate
                    dropped = throttled = not bucket.admit(ts, nbytes)
            for g in regions:
                count(per_region[g], nbytes, before, dropped, throttled)
            count(total, nbytes, before, dropped, throttled)
            if rule is not None:
                count(per_rule[rule], nbytes, False, dropped, throttled)
                touched[rule] = touched.get(rule, False) or dropped
            any_drop = any_drop or dropped
            if i == k - 1:
                verdict_rule = rules.acting(flow, regions, ts)
        if verdict_rule is None:  # classified at its end: decided at the record's last_seen
            verdict_rule = rules.acting(flow, regions, r["_last"])
        pre = pk[:k]
        t = per_rule[verdict_rule]
        for _, nbytes, _, _, _ in pre:
            count(t, nbytes, True, False, False)
        touched.setdefault(verdict_rule, False)
        for rule, dropped in touched.items():
            per_rule[rule]["flows"] += 1
            per_rule[rule]["dropped_flows"] += dropped
            if sub is not None:
                per_rule[rule]["subscribers"].add(str(sub))
        for g in regions:
            per_region[g]["flows"] += 1
            per_region[g]["dropped_flows"] += any_drop
            if sub is not None:
                per_region[g]["subscribers"].add(str(sub))
        if not regions:
            no_region += 1
        total["flows"] += 1
        total["dropped_flows"] += any_drop
        if sub is not None:
            total["subscribers"].add(str(sub))
        if rules.action(verdict_rule)[0] in ("block", "throttle"):
            lk = leaks.setdefault(r["label"], {"flows": 0, "packets": 0, "bytes": 0, "ms": []})
            lk["flows"] += 1
            lk["packets"] += len(pre)
            lk["bytes"] += sum(x[1] for x in pre)
            vts = pk[k - 1][0] if 1 <= k <= len(pk) else r["_last"]
            lk["ms"].append((vts - pk[0][0]) / 1000.0)
        if verdict_rule >= 0 and rules.rules[verdict_rule]["intent"]:
            label, family, activity = r["label"], r["family"], r["activity"]
            row = truth.get((r["l4"].upper(), str(r["vlan"]) if r["vlan"] is not None else "",
                             frozenset((endpoint(r["src_ip"], r["src_port"]), endpoint(r["dst_ip"], r["dst_port"])))))
            if row is None and truth:
                row = next((v for (l4, vl, eps), v in truth.items() if l4 == r["l4"].upper() and
                            eps == frozenset((endpoint(r["src_ip"], r["src_port"]),
                                              endpoint(r["dst_ip"], r["dst_port"])))), None)
            if row:
                label, family, activity = row
            if rules.intended(verdict_rule, label, family, activity, r.get("category", "")):
                t["intended"] += 1
            else:
                t["collateral"] += 1
                t["collateral_labels"][label] = t["collateral_labels"].get(label, 0) + 1

    def out(t):
        return {"flows": t["flows"], "dropped_flows": t["dropped_flows"], "subscribers": len(t["subscribers"]),
                "packets": t["packets"], "bytes": t["bytes"],
                **{k: {"packets": t[k][0], "bytes": t[k][1]} for k in ("passed", "dropped", "throttled",
                                                                        "before_verdict")},
                "intended": t["intended"], "collateral": t["collateral"], "collateral_labels": t["collateral_labels"]}

    def nearest_rank(ms, q):
        import math
        if not ms:
            return 0
        return ms[max(1, math.ceil(q * len(ms))) - 1]

    expected = {
        "totals": {**out(total), "flows_without_region": no_region},
        "rules": [{"rule": (rules.rules[i]["name"] if i < nrules else "default"), **out(per_rule[i])}
                  for i in range(nrules + 1)],
        "regions": [{"region": g, **out(per_region[g])} for g in rules.region_names],
        "time_to_block": [{"label": lbl, "flows": v["flows"], "packets": v["packets"], "bytes": v["bytes"],
                           "ms": {"min": round(min(v["ms"]), 3), "p50": round(nearest_rank(sorted(v["ms"]), .5), 3),
                                  "p90": round(nearest_rank(sorted(v["ms"]), .9), 3), "max": round(max(v["ms"]), 3)}}
                          for lbl, v in sorted(leaks.items())],
    }
    return expected, notes


def compare(expected, report):
    """Differences between the recomputation and a --report-json report, as lines."""
    diffs = []
    fields = ["flows", "dropped_flows", "subscribers", "packets", "bytes", "passed", "dropped", "throttled",
              "before_verdict"]

    def cmp(where, e, g, keys):
        for k in keys:
            if k in e and e[k] != g.get(k):
                diffs.append(f"{where}: {k}: recomputed {e[k]}, reported {g.get(k)}")

    cmp("totals", expected["totals"], report["totals"], fields + ["flows_without_region"])
    for e, g in zip(expected["rules"], report["rules"]):
        keys = fields + (["intended", "collateral", "collateral_labels"] if "intended" in g else [])
        if "intended" not in g and (e["intended"] or e["collateral"]):
            diffs.append(f"rule {e['rule']}: recomputed intended/collateral {e['intended']}/{e['collateral']}, "
                         "reported none")
        cmp(f"rule {e['rule']}", e, g, keys)
    for e, g in zip(expected["regions"], report["regions"]):
        cmp(f"region {e['region']}", e, g, fields)
    el = {x["label"]: x for x in expected["time_to_block"]}
    gl = {x["label"]: x for x in report["time_to_block"]}
    for lbl in sorted(set(el) | set(gl)):
        if lbl not in el or lbl not in gl:
            diffs.append(f"time_to_block {lbl}: recomputed {el.get(lbl)}, reported {gl.get(lbl)}")
            continue
        e, g = el[lbl], gl[lbl]
        for k in ("flows", "packets", "bytes"):
            if e[k] != g[k]:
                diffs.append(f"time_to_block {lbl}: {k}: recomputed {e[k]}, reported {g[k]}")
        for q in ("min", "p50", "p90", "max"):
            if abs(e["ms"][q] - g["ms"][q]) > 0.0015:
                diffs.append(f"time_to_block {lbl}: ms {q}: recomputed {e['ms'][q]}, reported {g['ms'][q]}")
    return diffs


def policy_report(bin_, rules_path, captures, tmp, labels=None, extra=()):
    path = os.path.join(tmp, "recompute.report.json")
    argv = [bin_, "policy", "test", "-q", "--rules", rules_path, "--report-json", path, *extra]
    if labels:
        argv += ["--labels", labels]
    p = subprocess.run(argv + list(captures), capture_output=True, text=True)
    if p.returncode not in (0, 1):
        raise RuntimeError(f"policy test failed ({p.returncode}): {p.stderr}")
    return json.load(open(path))


if __name__ == "__main__":
    import tempfile
    args = sys.argv[1:]
    labels = None
    if "--labels" in args:
        i = args.index("--labels")
        labels = args[i + 1]
        del args[i:i + 2]
    bin_, rules_path, caps = args[0], args[1], args[2:]
    with tempfile.TemporaryDirectory() as tmp:
        rep = policy_report(bin_, rules_path, caps, tmp, labels)
    exp, notes = recompute(bin_, rules_path, caps, labels)
    for n in notes:
        print("note:", n)
    d = compare(exp, rep)
    for x in d:
        print("DIFF", x)
    if "-v" in os.environ.get("RECOMPUTE", ""):
        print(json.dumps(exp, indent=1, default=list))
    print(f"{len(d)} difference(s)")
    sys.exit(1 if d else 0)
