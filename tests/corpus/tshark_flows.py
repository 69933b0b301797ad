#!/usr/bin/env python3
"""sealscope's flow accounting checked against Wireshark's decoder (tshark), flow by flow.

For each capture, tshark decodes every frame (`-T fields`, one line per frame) and this script builds its
own bidirectional flow table from tshark's fields, following the definitions of sealscope-flows(5); then
every sealscope record must equal its flow here in: initiator (src/dst ip and port), l4, vlan, tunnel
(GTP-U TEID and outer addresses), packets, bytes (IP length) and payload bytes per direction, first_seen,
last_seen, TCP flag counts and the end reason; no flow may be on one side only. The run's summary must
equal the frames tshark read, the frames without IP, the frames dropped as malformed, every anomaly
counter per reason and the later fragments attributed.

tshark is the independent decoder: addresses, ports, lengths, header lengths, flags, VLAN tags, GTP
headers and TEIDs, fragment fields all come from its dissectors. What is modelled here are sealscope's
definitions, each where it is applied, with the reason:
- Flows: idle and active expiry are off (`--*-timeout 0 --active-timeout 0`), since tshark never splits a
  conversation by time; the TCP close rules are sealscope's defaults and are modelled (a closed
  connection ends at a new SYN or after the close linger), since those split a 5-tuple into flows by
  design, as tshark's own tcp.stream does at a new SYN.
- Key: outermost VLAN id, IP version, transport protocol, unordered (address, port) pair; ports only for
  TCP and UDP. For GTP-U (UDP port 2152, G-PDU, one level deep) the inner packet is the flow's; tshark
  shows the layers of both, and of an ICMP error's quoted packet: the flow's layer is picked by its place
  in frame.protocols, and each field by its occurrence in that layer.
- IPv4/IPv6 fragments: tshark runs with reassembly off; later fragments are attributed here to their
  first fragment's flow by (source, destination, protocol, id, VLAN), as sealscope does.
- Malformed frames: sealscope's bound checks are applied to tshark's header fields (the decoder's order),
  and each frame sealscope drops must be one counted under the same reason.

Usage: tshark_flows.py SEALSCOPE CORPUS_DIR          (the real captures in CORPUS_DIR/pcap)
       tshark_flows.py --captures SEALSCOPE DIR      (the project's own captures: DIR/*.pcap, *.pcapng)
       tshark_flows.py --self-test SEALSCOPE DIR     (mutated records and summaries must each be caught)
Exit 0 equal, 1 a difference, 2 usage, 77 skipped (no corpus, no tshark).
"""
import calendar
import collections
import concurrent.futures
import copy
import datetime
import ipaddress
import json
import os
import shutil
import subprocess
import sys
import tempfile

# Expiry by time off (tshark's conversations never end by time); classification idle give-up and parking
# off as in the nDPI parity test; no SPLT (not compared here). The close linger keeps its default.
SEALSCOPE_FLAGS = ["--tcp-timeout", "0", "--udp-timeout", "0", "--other-timeout", "0", "--active-timeout", "0",
                   "--classify-idle", "0", "--park-idle", "0", "--splt", "0"]
CLOSE_LINGER_US = 60 * 1000000       # sealscope's default --close-linger
FRAGMENT_TIMEOUT_US = 30 * 1000000   # FragmentTable::kDefaultTimeoutS
FRAGMENT_MAX_PENDING = 4             # FragmentTable::kMaxPending
GTP_PORT = 2152

FIELDS = [
    "frame.number", "frame.time_epoch", "frame.protocols", "frame.len", "frame.cap_len", "_ws.malformed",
    "vlan.id", "ieee8021ad.id", "sll.ifindex",
    "ip.src", "ip.dst", "ip.len", "ip.hdr_len", "ip.proto", "ip.id", "ip.flags.mf", "ip.frag_offset",
    "ipv6.src", "ipv6.dst", "ipv6.plen", "ipv6.nxt",
    "ipv6.hopopts.len_oct", "ipv6.hopopts.nxt", "ipv6.dstopts.len_oct", "ipv6.dstopts.nxt",
    "ipv6.routing.len_oct", "ipv6.routing.nxt",
    "ipv6.fraghdr.nxt", "ipv6.fraghdr.offset", "ipv6.fraghdr.more", "ipv6.fraghdr.ident",
    "tcp.srcport", "tcp.dstport", "tcp.hdr_len", "tcp.flags",
    "udp.srcport", "udp.dstport", "udp.length",
    "gtp.flags", "gtp.message", "gtp.teid", "gtp.ext_hdr.length",
]
L4_NAMES = {6: "tcp", 17: "udp", 1: "icmp", 58: "icmpv6", 132: "sctp", 47: "gre", 50: "esp", 51: "ah", 2: "igmp"}
TCP_FLAG_NAMES = ["FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR"]  # bit 0 .. bit 7
SYN, RST, FIN, ACK = 0x02, 0x04, 0x01, 0x10
# Link-layer protocols (as frame.protocols names them) that sealscope decodes below IP, with their sizes.
L2_SIZES = {"eth": 14, "ethertype": 0, "vlan": 4, "ieee8021ad": 4, "null": 4, "raw": 0, "pppoes": 6}
IPV6_EXT = {"ipv6.hopopts": "hopopts", "ipv6.dstopts": "dstopts", "ipv6.routing": "routing",
            "ipv6.fraghdr": "fraghdr"}


class Unmodelled(Exception):
    """A frame this script cannot model (reported as a difference: the comparison would be guesswork)."""


def num(text):
    return int(text, 16) if text.startswith("0x") else int(text)


def flag(text):
    """A boolean field: tshark 4.0 writes 1/0, later versions True/False."""
    return text in ("1", "True", "true")


def epoch_us(text):
    """frame.time_epoch ('1709294400.123456789') in whole microseconds, truncated as libpcap does."""
    whole, _, frac = text.partition(".")
    sign = -1 if whole.startswith("-") else 1
    return int(whole) * 1000000 + sign * int((frac + "000000")[:6])


def rfc3339_us(text):
    """A record's time ('2024-03-01T12:00:00.012000Z') in microseconds since the epoch."""
    date, _, frac = text.rstrip("Z").partition(".")
    t = calendar.timegm(datetime.datetime.strptime(date, "%Y-%m-%dT%H:%M:%S").timetuple())
    return t * 1000000 + int((frac + "000000")[:6])


def show_us(us):
    return datetime.datetime.fromtimestamp(us // 1000000, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%S") + f".{us % 1000000:06d}Z"


def addr(text):
    return str(ipaddress.ip_address(text))


class Frame:
    """One line of tshark's output: each field's values (all occurrences) and the protocol layers."""

    def __init__(self, line):
        cells = line.rstrip("\n").split("\t")
        cells += [""] * (len(FIELDS) - len(cells))
        self.values = {f: (c.split("|") if c else []) for f, c in zip(FIELDS, cells)}
        self.number = int(self.values["frame.number"][0])
        self.ts = epoch_us(self.values["frame.time_epoch"][0])
        self.layers = self.values["frame.protocols"][0].split(":") if self.values["frame.protocols"] else []
        self.wire = int(self.values["frame.len"][0])
        self.cap = int(self.values["frame.cap_len"][0])
        self.zero_length = set()  # occurrences of the ip layer whose total length field is 0

    def field(self, name, layer_index):
        """The value of `name` in the layer at `layer_index` of frame.protocols: its occurrence counts the
        earlier layers of the same protocol (tshark lists a field's values in layer order)."""
        proto = self.layers[layer_index]
        k = self.layers[:layer_index].count(proto)
        vals = self.values[name]
        if k >= len(vals):
            raise Unmodelled(f"frame {self.number}: no {name} in layer {layer_index} ({proto})")
        return vals[k]


class Decoded:
    """What sealscope's decoder makes of a frame, from tshark's fields."""
    __slots__ = ("ip_version", "src", "dst", "l4", "sport", "dport", "ip_len", "payload", "tcp_flags", "vlan",
                 "tunnel", "fragmented", "later", "frag_id")

    def __init__(self, vlan=None, tunnel=None):
        self.vlan, self.tunnel = vlan, tunnel
        self.sport = self.dport = self.tcp_flags = 0
        self.fragmented = self.later = False
        self.frag_id = None

    def take(self, other):
        for name in self.__slots__:
            setattr(self, name, getattr(other, name, None))


def decode(fr, tunnels=True):
    """('ip', Decoded, anomalies) for a frame that reaches the flow table, ('not_ip', None, []) or
    ('malformed', None, anomalies). Anomalies are sealscope's reason names, in its decoder's order."""
    vlan, off, i = None, 0, 0
    for i, layer in enumerate(fr.layers):
        if layer in ("ip", "ipv6"):
            break
        if layer == "sll":  # SLL2 (20 bytes) has an interface index, SLL (16 bytes) none
            size = 20 if fr.values["sll.ifindex"] else 16
        elif layer == "ppp" and fr.layers[i - 1] == "pppoes":
            size = 2  # the PPP protocol field of a PPPoE session frame
        elif layer in L2_SIZES:
            size = L2_SIZES[layer]
        elif any(x in ("ip", "ipv6") for x in fr.layers[i:]):
            raise Unmodelled(f"frame {fr.number}: IP under {layer}, a layer not modelled here")
        else:
            return "not_ip", None, []  # ARP, STP, EAPOL, ...: no IP
        if layer in ("vlan", "ieee8021ad") and vlan is None:
            vlan = num(fr.field(layer + ".id", i))
        off += size
    else:
        # No IP layer: a frame too short for its link header is malformed, any other frame carries no IP.
        least = {"eth": 14, "sll": 16, "null": 4}
        if len(fr.layers) == 1 and fr.cap < least.get(fr.layers[0], 0):
            return "malformed", None, ["link_truncated"]
        return "not_ip", None, []
    if fr.cap - off < 1:
        return "malformed", None, ["ipv4_header_truncated" if fr.layers[i] == "ip" else "ipv6_header_truncated"]
    d = Decoded(vlan)
    anomalies = []
    ok = decode_ip(fr, i, fr.cap - off, fr.wire - off, d, anomalies, tunnels, 0)
    return ("ip" if ok else "malformed"), (d if ok else None), anomalies


def decode_ip(fr, i, cap, wire, d, anomalies, tunnels, depth):
    """Fills `d` from the IP layer at fr.layers[i] (`cap` bytes captured, `wire` on the wire from it);
    False (with the anomaly) where sealscope drops the frame."""
    if fr.layers[i] == "ip":
        if cap < 20:
            anomalies.append("ipv4_header_truncated")
            return False
        ihl = int(fr.field("ip.hdr_len", i))
        if ihl < 20:
            anomalies.append("ipv4_bad_header_length")
            return False
        if ihl > cap:
            anomalies.append("ipv4_header_truncated")
            return False
        tot = int(fr.field("ip.len", i))
        if fr.layers[:i].count("ip") in fr.zero_length:
            # Segmentation offload (sealscope(1)): counted, kept, with the frame's IP bytes as its length,
            # which is what tshark's ip.len then says.
            anomalies.append("ipv4_total_length_zero")
            if tot != wire:
                raise Unmodelled(f"frame {fr.number}: total length 0 read by tshark as {tot}, not {wire}")
        if tot < ihl:
            anomalies.append("ipv4_bad_total_length")
            return False
        if tot > wire:
            anomalies.append("ip_length_exceeds_packet")
            return False
        d.ip_version, d.ip_len = 4, tot
        d.src, d.dst = addr(fr.field("ip.src", i)), addr(fr.field("ip.dst", i))
        d.l4 = int(fr.field("ip.proto", i))
        l3cap = min(cap, tot)
        more, offset = flag(fr.field("ip.flags.mf", i)), int(fr.field("ip.frag_offset", i))
        if more or offset:
            d.fragmented, d.frag_id = True, num(fr.field("ip.id", i))
            if offset:
                d.later, d.payload = True, tot - ihl
                return True
        hdrs, j = ihl, i + 1
    else:
        if cap < 40:
            anomalies.append("ipv6_header_truncated")
            return False
        plen, nxt = int(fr.field("ipv6.plen", i)), int(fr.field("ipv6.nxt", i))
        if plen == 0 and nxt == 0:
            raise Unmodelled(f"frame {fr.number}: IPv6 jumbogram")
        tot = 40 + plen
        if tot > wire:
            anomalies.append("ip_length_exceeds_packet")
            return False
        d.ip_version, d.ip_len = 6, tot
        d.src, d.dst = addr(fr.field("ipv6.src", i)), addr(fr.field("ipv6.dst", i))
        l3cap = min(cap, tot)
        hdrs, j = 40, i + 1
        while nxt in (0, 43, 44, 60, 51, 135, 139, 140):
            name = IPV6_EXT.get(fr.layers[j] if j < len(fr.layers) else "")
            if name is None:
                raise Unmodelled(f"frame {fr.number}: IPv6 next header {nxt} shown as "
                                 f"{fr.layers[j] if j < len(fr.layers) else 'nothing'}")
            if hdrs + 8 > l3cap:
                anomalies.append("ipv6_ext_truncated")
                return False
            if name == "fraghdr":
                size, nxt = 8, int(fr.field("ipv6.fraghdr.nxt", j))
                d.fragmented, d.frag_id = True, num(fr.field("ipv6.fraghdr.ident", j))
                if int(fr.field("ipv6.fraghdr.offset", j)) != 0:
                    d.l4, d.later, d.payload = nxt, True, tot - hdrs - 8
                    return True
            else:
                size = int(fr.field(f"ipv6.{name}.len_oct", j))
                nxt = int(fr.field(f"ipv6.{name}.nxt", j))
            if hdrs + size > l3cap:
                anomalies.append("ipv6_ext_truncated")
                return False
            hdrs += size
            j += 1
        d.l4 = nxt
    l4len, l4cap = tot - hdrs, l3cap - hdrs
    if d.l4 == 6:
        if l4cap < 20:
            anomalies.append("tcp_header_truncated")
            return False
        doff = int(fr.field("tcp.hdr_len", j))
        if doff < 20 or doff > l4len:
            anomalies.append("tcp_bad_data_offset")
            return False
        d.sport, d.dport = int(fr.field("tcp.srcport", j)), int(fr.field("tcp.dstport", j))
        d.tcp_flags = num(fr.field("tcp.flags", j)) & 0xFF  # the eight flags of byte 13 (not NS)
        d.payload = l4len - doff
    elif d.l4 == 17:
        if l4cap < 8:
            anomalies.append("udp_header_truncated")
            return False
        ulen = int(fr.field("udp.length", j))
        if ulen < 8 or (ulen > l4len and not d.fragmented):
            anomalies.append("udp_bad_length")
            return False
        d.sport, d.dport = int(fr.field("udp.srcport", j)), int(fr.field("udp.dstport", j))
        # A first fragment holds only its share of the datagram: its payload is what it carries.
        d.payload = (l4len if d.fragmented else ulen) - 8
        if tunnels and not d.fragmented and GTP_PORT in (d.sport, d.dport):
            return decode_gtp(fr, j + 1, min(l4cap - 8, d.payload), d, anomalies, depth)
    elif d.l4 in (1, 58):
        if l4cap < 4:
            anomalies.append("icmp_truncated")
            return False
        d.payload = max(l4len - 4, 0)  # the ICMP message after its type, code and checksum
    else:
        d.payload = l4len  # no transport header sealscope knows: the whole IP payload
    return True


def decode_gtp(fr, g, gcap, d, anomalies, depth):
    """GTP-U on UDP 2152 (the layer at fr.layers[g] when tshark saw one): the inner packet becomes the
    flow's, one level deep; otherwise the outer UDP packet stays the flow's."""
    if g >= len(fr.layers) or fr.layers[g] != "gtp":
        return True
    flags = num(fr.field("gtp.flags", g))
    if flags >> 5 != 1 or not flags & 0x10:
        return True  # GTP' or not version 1: not GTP-U
    if gcap < 8:
        anomalies.append("gtp_truncated")
        return True
    if num(fr.field("gtp.message", g)) != 0xFF:
        return True  # echo, error indication, ...: no inner packet
    hl = 8
    if flags & 0x07:
        hl = 12
        if flags & 0x04:
            if fr.layers.count("gtp") != 1:
                raise Unmodelled(f"frame {fr.number}: GTP extension headers in nested GTP")
            hl += 4 * sum(int(v) for v in fr.values["gtp.ext_hdr.length"])
    inner = g + 1
    if hl >= gcap or fr.values["_ws.malformed"] and (inner >= len(fr.layers) or
                                                    fr.layers[inner] not in ("ip", "ipv6")):
        anomalies.append("gtp_truncated")
        return True
    if inner >= len(fr.layers) or fr.layers[inner] not in ("ip", "ipv6"):
        return True  # a T-PDU that is not IP
    if depth + 1 >= 2 and d.tunnel is not None:
        anomalies.append("gtp_too_deep")
        return True
    tunnel = {"type": "gtp-u", "teid": num(fr.field("gtp.teid", g)), "outer_src": d.src, "outer_dst": d.dst}
    inner_packet = Decoded(d.vlan, tunnel)
    if not decode_ip(fr, inner, gcap - hl, d.payload - hl, inner_packet, anomalies, True, depth + 1):
        return False  # a malformed inner packet drops the frame
    d.take(inner_packet)
    return True


class Flow:
    def __init__(self, key, d, ts):
        self.key = key
        self.initiator = (d.src, d.sport)
        self.responder = (d.dst, d.dport)
        self.l4, self.vlan, self.tunnel = d.l4, d.vlan, d.tunnel
        self.packets, self.bytes, self.payload = [0, 0], [0, 0], [0, 0]
        self.first = self.last = ts
        self.flags = [0] * 8
        self.closing = None  # "fin" or "rst" once closed
        self.fin_seen = 0
        self.frames = []

    def account(self, ts, ip_len, payload, d, flags, frame):
        self.packets[d] += 1
        self.bytes[d] += ip_len
        self.payload[d] += payload
        self.first, self.last = min(self.first, ts), max(self.last, ts)
        for b in range(8):
            if flags >> b & 1:
                self.flags[b] += 1
        self.frames.append(frame)

    def record(self):
        """The record sealscope should write for this flow (the compared fields)."""
        return {
            "src_ip": self.initiator[0], "src_port": self.initiator[1] if self.l4 in (6, 17) else None,
            "dst_ip": self.responder[0], "dst_port": self.responder[1] if self.l4 in (6, 17) else None,
            "l4": L4_NAMES.get(self.l4, f"ip-{self.l4}"), "vlan": self.vlan, "tunnel": self.tunnel,
            "first_seen": show_us(self.first), "last_seen": show_us(self.last),
            "packets": {"up": self.packets[0], "down": self.packets[1]},
            "bytes": {"up": self.bytes[0], "down": self.bytes[1]},
            "payload_bytes": {"up": self.payload[0], "down": self.payload[1]},
            "tcp_flags": dict(zip(TCP_FLAG_NAMES, self.flags)) if self.l4 == 6 else None,
            "end": self.closing or "eof",
        }


def flow_key(vlan, ip_version, l4, a, b):
    return (vlan, ip_version, l4, tuple(sorted([a, b])))


class Model:
    """The flow table sealscope should build from tshark's frames (one input, one worker)."""

    def __init__(self):
        self.open = {}       # key -> Flow
        self.flows = []      # every flow, in creation order
        self.clock = None    # the worker's clock: the latest time of any IP packet
        self.frags = {}      # datagram key -> {"flow", "ts", "pending"}
        self.counts = collections.Counter()
        self.anomalies = collections.Counter()
        self.last_ts = None

    def frame(self, fr, tunnels=True):
        self.counts["frames"] += 1
        if self.last_ts is not None and fr.ts < self.last_ts:
            self.anomalies["timestamp_backwards"] += 1
        self.last_ts = fr.ts
        kind, d, anomalies = decode(fr, tunnels)
        self.anomalies.update(anomalies)
        if kind != "ip":
            self.counts[kind] += 1
            return
        self.clock = fr.ts if self.clock is None else max(self.clock, fr.ts)
        if d.later:
            self.later_fragment(fr, d)
            return
        key = flow_key(d.vlan, d.ip_version, d.l4, (d.src, d.sport), (d.dst, d.dport))
        f = self.open.get(key)
        if f is not None and f.closing and (f.last + CLOSE_LINGER_US <= self.clock or
                                            (d.tcp_flags & SYN and not d.tcp_flags & ACK)):
            del self.open[key]  # a closed connection's linger has passed, or a new SYN reuses its ports
            f = None
        if f is None:
            f = self.open[key] = Flow(key, d, fr.ts)
            self.flows.append(f)
        direction = 0 if (d.src, d.sport) == f.initiator else 1
        f.account(fr.ts, d.ip_len, d.payload, direction, d.tcp_flags if d.l4 == 6 else 0, fr.number)
        if d.fragmented:
            e = self.fragment_entry(d, fr.ts, upsert=True)
            e["flow"] = f
            for ts, ip_len, payload, number in e["pending"]:
                f.account(ts, ip_len, payload, direction, 0, number)
                self.counts["fragments_attributed"] += 1
            e["pending"] = []
        if d.l4 == 6:
            if d.tcp_flags & RST:
                f.closing = f.closing or "rst"
            elif d.tcp_flags & FIN:
                f.fin_seen |= 1 << direction
                if f.fin_seen == 3:
                    f.closing = f.closing or "fin"

    def fragment_entry(self, d, ts, upsert):
        dk = (d.src, d.dst, d.frag_id, d.vlan, d.l4, d.ip_version)
        e = self.frags.get(dk)
        if e is not None and e["ts"] + FRAGMENT_TIMEOUT_US <= self.clock:
            self.anomalies["fragment_orphan"] += len(e["pending"]) if e["flow"] is None else 0
            e = None
        if e is None:
            if not upsert:
                return None
            e = self.frags[dk] = {"flow": None, "ts": ts, "pending": []}
        elif upsert:
            e["ts"] = ts
        return e

    def later_fragment(self, fr, d):
        e = self.fragment_entry(d, fr.ts, upsert=False)
        if e is not None and e["flow"] is not None:
            f = e["flow"]
            if self.open.get(f.key) is not f:
                self.anomalies["fragment_orphan"] += 1
                return
            f.account(fr.ts, d.ip_len, d.payload, 0 if d.src == f.initiator[0] else 1, 0, fr.number)
            self.counts["fragments_attributed"] += 1
            return
        if e is None:
            e = self.fragment_entry(d, fr.ts, upsert=True)
        if len(e["pending"]) < FRAGMENT_MAX_PENDING:
            e["pending"].append((fr.ts, d.ip_len, d.payload, fr.number))
        else:
            self.anomalies["fragment_orphan"] += 1

    def finish(self):
        for e in self.frags.values():
            if e["flow"] is None:
                self.anomalies["fragment_orphan"] += len(e["pending"])


def tshark_fields(capture, tso, only=None):
    """tshark's frames of `capture`: reassembly off (fragments are attributed here, as sealscope does);
    with `tso`, an IPv4 total length of 0 is read as segmentation offload (the frame's length); `only`:
    these frame numbers. The preferences this script relies on are given, whatever the user's are."""
    cmd = ["tshark", "-n", "-r", capture, "-o", "ip.defragment:FALSE", "-o", "ipv6.defragment:FALSE",
           "-o", f"ip.tso_support:{'TRUE' if tso else 'FALSE'}", "-o", "ipv6.tso_support:FALSE",
           "-o", "gtp.dissect_tpdu_as:TPDU Heuristic",
           "-T", "fields", "-E", "separator=/t", "-E", "aggregator=|", "-E", "occurrence=a"]
    if only:
        cmd += ["-Y", "frame.number in {" + " ".join(map(str, only)) + "}"]
    for f in FIELDS:
        cmd += ["-e", f]
    p = subprocess.run(cmd, capture_output=True, text=True)
    # tshark reads a file cut short up to its last whole frame and then says so (status 2): as sealscope.
    cut_short = "appears to have been cut short" in p.stderr
    if p.returncode != 0 and not cut_short:
        return None, f"tshark exit {p.returncode}: {p.stderr.strip()[-300:]}"
    return [Frame(line) for line in p.stdout.splitlines() if line], ("cut short" if cut_short else None)


def run_tshark(capture):
    """tshark's frames, each IPv4 layer with total length 0 marked. Read first as the header says (tshark
    then stops at such a layer); frames with one are read again as segmentation offload, since sealscope
    keeps them (as tshark does by default), with the frame's IP bytes as their length."""
    frames, note = tshark_fields(capture, tso=False)
    if frames is None:
        return frames, note
    zero = {fr.number: {k for k, v in enumerate(fr.values["ip.len"]) if v == "0"} for fr in frames}
    zero = {n: ks for n, ks in zero.items() if ks}
    if zero:
        again, err = tshark_fields(capture, tso=True, only=sorted(zero))
        if again is None:
            return again, err
        by_number = {fr.number: fr for fr in again}
        frames = [by_number.get(fr.number, fr) for fr in frames]
        for fr in frames:
            fr.zero_length = zero.get(fr.number, set())
    return frames, note


def run_sealscope(binary, capture, workdir):
    flows, summary = os.path.join(workdir, "flows.jsonl"), os.path.join(workdir, "summary.json")
    p = subprocess.run([binary, "analyze", "-q", "--no-progress", *SEALSCOPE_FLAGS, "--flows", flows,
                        "--summary-json", summary, capture], capture_output=True, text=True)
    if not os.path.exists(summary):
        return None, None, f"sealscope exit {p.returncode}: {p.stderr.strip()[:300]}"
    with open(flows, encoding="utf-8") as fh:
        records = [json.loads(line) for line in fh]
    with open(summary, encoding="utf-8") as fh:
        return records, json.load(fh), None


def record_key(r):
    a = (addr(r["src_ip"]), r["src_port"] or 0)
    b = (addr(r["dst_ip"]), r["dst_port"] or 0)
    l4 = {v: k for k, v in L4_NAMES.items()}.get(r["l4"]) or int(r["l4"][3:])
    return flow_key(r["vlan"], ipaddress.ip_address(a[0]).version, l4, a, b)


COMPARED = ["src_ip", "src_port", "dst_ip", "dst_port", "l4", "vlan", "tunnel", "first_seen", "last_seen",
            "packets", "bytes", "payload_bytes", "tcp_flags", "end"]


def describe(key):
    vlan, _, l4, ends = key
    (a, pa), (b, pb) = ends
    return f"{L4_NAMES.get(l4, l4)} {a}:{pa} <-> {b}:{pb}" + (f" vlan {vlan}" if vlan is not None else "")


def compare(model, records, summary, tshark_note):
    """Differences between the model built from tshark's frames and sealscope's records and summary."""
    problems = []
    ours = collections.defaultdict(list)
    for r in sorted(records, key=lambda r: r["flow_id"]):
        ours[record_key(r)].append(r)
    theirs = collections.defaultdict(list)
    for f in model.flows:
        theirs[f.key].append(f)
    for key in sorted(set(ours) | set(theirs), key=str):
        rs, fs = ours.get(key, []), theirs.get(key, [])
        for n in range(max(len(rs), len(fs))):
            where = describe(key) + (f" (flow {n + 1} of this key)" if max(len(rs), len(fs)) > 1 else "")
            if n >= len(fs):
                problems.append(f"{where}: only in sealscope's records ({rs[n]['packets']})")
                continue
            if n >= len(rs):
                problems.append(f"{where}: only in tshark's frames (frames {fs[n].frames[:8]})")
                continue
            want, got = fs[n].record(), rs[n]
            for field in COMPARED:
                w, g = want[field], got.get(field)
                if field in ("src_ip", "dst_ip"):
                    g = addr(g)
                if w != g:
                    problems.append(f"{where}: {field} tshark {json.dumps(w)}, sealscope {json.dumps(g)} "
                                    f"(frames {fs[n].frames[:8]}{'...' if len(fs[n].frames) > 8 else ''})")
    expect = {"frames": model.counts["frames"], "not_ip_frames": model.counts["not_ip"],
              "malformed_frames": model.counts["malformed"],
              "fragments_attributed": model.counts["fragments_attributed"]}
    for k, v in expect.items():
        if summary.get(k) != v:
            problems.append(f"summary {k}: tshark {v}, sealscope {summary.get(k)}")
    got = dict(sorted((k, v) for k, v in summary.get("anomalies", {}).items() if v))
    want = dict(sorted((k, v) for k, v in model.anomalies.items() if v))
    if got != want:
        problems.append(f"summary anomalies: tshark {want}, sealscope {got}")
    if (tshark_note == "cut short") != bool(summary.get("problems")):
        problems.append(f"input problems: tshark {tshark_note or 'none'}, sealscope {summary.get('problems')}")
    return problems


def build_model(frames):
    model = Model()
    unmodelled = []
    for fr in frames:
        try:
            model.frame(fr)
        except Unmodelled as e:
            unmodelled.append(f"not modelled: {e}")
    model.finish()
    return model, unmodelled


def coverage(model):
    """What a capture's comparison covered."""
    c = collections.Counter(flows=len(model.flows), packets=sum(sum(f.packets) for f in model.flows),
                            frames=model.counts["frames"], dropped=model.counts["malformed"])
    for f in model.flows:
        c["tcp"] += f.l4 == 6
        c["tunnel"] += f.tunnel is not None
        c["vlan"] += f.vlan is not None
    return c


def check_capture(binary, capture, mutate=None):
    """(name, problems, coverage) for one capture."""
    name = os.path.basename(capture)
    frames, note = run_tshark(capture)
    if frames is None:
        return name, [note], collections.Counter()
    model, problems = build_model(frames)
    with tempfile.TemporaryDirectory(prefix="tshark_flows.") as tmp:
        records, summary, err = run_sealscope(binary, capture, tmp)
    if err:
        return name, problems + [err], collections.Counter()
    if mutate is not None:
        mutate(records, summary)
    problems += compare(model, records, summary, note)
    return name, problems, coverage(model)


def report(results):
    failed, total = 0, collections.Counter()
    for name, problems, covered in results:
        total.update(covered)
        if problems:
            failed += 1
            print(f"FAIL {name}:")
            for p in problems[:25]:
                print(f"  {p}")
            if len(problems) > 25:
                print(f"  ... and {len(problems) - 25} more")
    print(f"{len(results) - failed} of {len(results)} captures equal to tshark's decoding, {failed} differ; "
          f"{total['flows']} flows ({total['tcp']} TCP, {total['vlan']} with a VLAN, {total['tunnel']} in GTP-U) "
          f"of {total['packets']} packets compared, from {total['frames']} frames ({total['dropped']} dropped "
          f"as malformed)")
    return 1 if failed else 0


def run_all(binary, captures):
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        return list(pool.map(lambda c: check_capture(binary, c), captures))


def captures_in(folder):
    return sorted(os.path.join(folder, f) for f in os.listdir(folder)
                  if f.endswith((".pcap", ".pcapng")) and os.path.isfile(os.path.join(folder, f)))


def self_test(binary, folder):
    """Each mutation of sealscope's output (one field of one record, or of the summary) must be reported."""
    def on_record(pick, change):
        def mutate(records, summary):
            change(next(r for r in records if pick(r)))
        return mutate

    def bump(path):
        def change(r):
            node = r
            for p in path[:-1]:
                node = node[p]
            node[path[-1]] += 1
        return change

    def shift_last_seen(r):
        r["last_seen"] = show_us(rfc3339_us(r["last_seen"]) + 1)

    def swap_ends(r):
        r["src_ip"], r["dst_ip"] = r["dst_ip"], r["src_ip"]
        r["src_port"], r["dst_port"] = r["dst_port"], r["src_port"]

    def drop_first(records, summary):
        del records[0]

    def anomaly(records, summary):
        summary["anomalies"]["udp_bad_length"] = summary["anomalies"].get("udp_bad_length", 0) + 1

    tcp = lambda r: r["l4"] == "tcp"  # noqa: E731
    cases = [
        ("mixed.pcap", "bytes.up of one TCP record +1", on_record(tcp, bump(["bytes", "up"]))),
        ("mixed.pcap", "payload_bytes.down of one record +1",
         on_record(lambda r: True, bump(["payload_bytes", "down"]))),
        ("mixed.pcap", "packets.down of one record +1", on_record(lambda r: True, bump(["packets", "down"]))),
        ("mixed.pcap", "one ACK count +1", on_record(tcp, bump(["tcp_flags", "ACK"]))),
        ("mixed.pcap", "last_seen of one record +1 us", on_record(lambda r: True, shift_last_seen)),
        ("mixed.pcap", "initiator and responder swapped", on_record(tcp, swap_ends)),
        ("mixed.pcap", "one record missing", drop_first),
        ("gtpu.pcap", "TEID of one tunnelled record +1", on_record(lambda r: r["tunnel"], bump(["tunnel", "teid"]))),
        ("vlan.pcap", "VLAN of one record +1", on_record(lambda r: r["vlan"] is not None, bump(["vlan"]))),
        ("fragments.pcap", "bytes.up of the fragmented flow +1",
         on_record(lambda r: r["l4"] == "udp", bump(["bytes", "up"]))),
        ("malformed.pcap", "one anomaly more in the summary", anomaly),
    ]
    failed = 0
    name, problems, _ = check_capture(binary, os.path.join(folder, "mixed.pcap"))
    if problems:
        print("FAIL: mixed.pcap differs before any mutation:", *problems[:5], sep="\n  ")
        return 1
    for capture, what, mutate in cases:
        _, problems, _ = check_capture(binary, os.path.join(folder, capture), mutate)
        if problems:
            print(f"caught  {capture}: {what}: {problems[0]}")
        else:
            failed += 1
            print(f"MISSED  {capture}: {what}")
    print(f"{len(cases) - failed} of {len(cases)} mutations caught")
    return 1 if failed else 0


def main():
    args = sys.argv[1:]
    mode = args.pop(0) if args and args[0] in ("--captures", "--self-test") else None
    if len(args) != 2 or args[0].startswith("-"):
        print("\n".join(__doc__.strip().splitlines()[-5:-1]), file=sys.stderr)
        return 2
    binary, folder = args
    if shutil.which("tshark") is None:
        print("SKIP: tshark not installed (Debian package tshark)")
        return 77
    if mode == "--self-test":
        return self_test(binary, folder)
    if mode is None:
        folder = os.path.join(folder, "pcap")
    if not os.path.isdir(folder):
        print(f"SKIP: no captures at {folder}")
        return 77
    return report(run_all(binary, captures_in(folder)))


if __name__ == "__main__":
    sys.exit(main())
