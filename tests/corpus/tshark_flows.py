#!/usr/bin/env python3
"""sealscope's flow accounting checked against Wireshark's decoder (tshark), flow by flow.

For each capture, tshark decodes every frame (`-T fields`, one line per frame) and this script builds its
own bidirectional flow table from tshark's fields, following the definitions of sealscope-flows(5); then
every sealscope record must equal its flow here in: initiator (src/dst ip and port), l4, vlan, tunnel
(GTP-U TEID and outer addresses), packets, bytes (IP length) and payload bytes per direction, first_seen,
last_seen, TCP flag counts, the ICMP type and code of the first message each way, the end reason, size
and iat_ms ({all, up, down} x {min, mean, stddev, max}, computed exactly and rounded as the JSONL prints
them), the SPLT (--splt at its default), server_name and
tls ({version, alpn, ja3c, ja3s}, from tshark's own TLS, DTLS, QUIC, HTTP, DNS, DHCP, NetBIOS and STUN
dissectors); no flow may be on one side only. The run's summary must equal the frames tshark read, the
frames without IP, the frames dropped as malformed, every anomaly counter per reason and the later
fragments attributed.

tshark is the independent decoder: addresses, ports, lengths, header lengths, flags, VLAN tags, GTP
headers and TEIDs, fragment fields all come from its dissectors. What is modelled here are sealscope's
definitions, each where it is applied, with the reason:
- Flows: idle and active expiry are off (`--*-timeout 0 --active-timeout 0`), since tshark never splits a
  conversation by time; the TCP close rules are sealscope's defaults and are modelled (a closed
  connection ends at a new SYN or after the close linger), since those split a 5-tuple into flows by
  design, as tshark's own tcp.stream does at a new SYN.
- Key: outermost VLAN id, IP version, transport protocol, unordered (address, port) pair; ports only for
  TCP and UDP. For the tunnels of sealscope(1), TUNNELS (GTP-U, VXLAN, Geneve, GRE, ERSPAN, TZSP, CAPWAP,
  IP in IP; three deep at most) the innermost packet is the flow's; tshark shows the layers of all, and of
  an ICMP error's quoted packet: the flow's layer is picked by its place in frame.protocols, and each field
  by its occurrence in that layer. Each tunnel header's length, identifier and the conditions under which
  sealscope takes it apart come from tshark's fields of that header; CAPWAP's 802.11 frames are read as the
  standard has them (tshark's capwap.swap_fc off: that preference is for Cisco access points).
- IPv4/IPv6 fragments: tshark runs with reassembly off; later fragments are attributed here to their
  first fragment's flow by (source, destination, protocol, id, VLAN), as sealscope does.
- Malformed frames: sealscope's bound checks are applied to tshark's header fields (the decoder's order),
  and each frame sealscope drops must be one counted under the same reason.
- Statistics: exact rationals, rounded half up to three decimals; a value printed one digit lower or higher
  is accepted only at an exact rounding tie and only when replaying sealscope's double arithmetic prints
  it (is_tie_rounding); each such value is listed.
- Names and handshakes: the rules of expected_server_name and expected_tls (which message, which field,
  how nDPI writes a name); what nDPI 4.2 did not read in a corpus flow is listed by flow in KNOWN, with
  what sealscope reports instead and why.

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
import fractions
import ipaddress
import math
import json
import os
import shutil
import subprocess
import sys
import tempfile

# Expiry by time off (tshark's conversations never end by time); classification idle give-up and parking
# off as in the nDPI parity test. The close linger and --splt keep their defaults.
SEALSCOPE_FLAGS = ["--tcp-timeout", "0", "--udp-timeout", "0", "--other-timeout", "0", "--active-timeout", "0",
                   "--classify-idle", "0", "--park-idle", "0"]
SPLT_DEFAULT = 32                    # sealscope's default --splt
CLOSE_LINGER_US = 60 * 1000000       # sealscope's default --close-linger
FRAGMENT_TIMEOUT_US = 30 * 1000000   # FragmentTable::kDefaultTimeoutS
FRAGMENT_MAX_PENDING = 4             # FragmentTable::kMaxPending
GTP_PORT = 2152
VXLAN_PORT, GENEVE_PORT, TZSP_PORT, CAPWAP_PORT = 4789, 6081, 37008, 5247
MAX_NESTED = 3                       # kMaxNestedTunnels: tunnels followed inside one another

FIELDS = [
    "frame.number", "frame.time_epoch", "frame.protocols", "frame.len", "frame.cap_len", "_ws.malformed",
    "vlan.id", "ieee8021ad.id", "sll.ifindex",
    "ip.src", "ip.dst", "ip.len", "ip.hdr_len", "ip.proto", "ip.id", "ip.flags.mf", "ip.frag_offset",
    "ipv6.src", "ipv6.dst", "ipv6.plen", "ipv6.nxt",
    "ipv6.hopopts.len_oct", "ipv6.hopopts.nxt", "ipv6.dstopts.len_oct", "ipv6.dstopts.nxt",
    "ipv6.routing.len_oct", "ipv6.routing.nxt",
    "ipv6.fraghdr.nxt", "ipv6.fraghdr.offset", "ipv6.fraghdr.more", "ipv6.fraghdr.ident",
    "tcp.srcport", "tcp.dstport", "tcp.hdr_len", "tcp.flags",
    "icmp.type", "icmp.code", "icmpv6.type", "icmpv6.code",
    "udp.srcport", "udp.dstport", "udp.length",
    "gtp.flags", "gtp.message", "gtp.teid", "gtp.ext_hdr.length",
    "vxlan.flag_i", "vxlan.vni",
    "geneve.version", "geneve.options", "geneve.proto_type", "geneve.vni",
    "gre.flags_and_version", "gre.proto", "gre.key", "gre.key.payload_length", "gre.key.call_id",
    "ppp.address", "ppp.protocol", "mpls.label", "mpls.bottom",
    "erspan.version", "erspan.spanid", "erspan.ft", "erspan.o",
    "tzsp.version", "tzsp.type", "tzsp.encap", "tzsp.option_tag", "tzsp.option_length",
    "capwap.preamble.version", "capwap.preamble.type", "capwap.header.length", "capwap.header.flags.t",
    "capwap.header.wbid", "capwap.header.flags.f", "capwap.header.flags.k",
    "wlan.fc.version", "wlan.fc.type_subtype", "wlan.fc.ds", "wlan.fc.order", "wlan.fc.protected",
    "wlan.qos.amsdupresent", "llc.dsap", "llc.ssap", "llc.control", "llc.oui", "llc.type",
]
# Handshake metadata and names (server_name, tls), from tshark's own dissectors of the layers above the
# flow's TCP or UDP (see expected_server_name and expected_tls). One tshark pass reads these with the fields
# above.
META_FIELDS = [
    "tls.handshake.type", "tls.handshake.version", "tls.handshake.extensions.supported_version",
    "tls.handshake.extensions_server_name", "tls.handshake.extensions_alpn_str", "tls.handshake.ja3",
    "tls.handshake.ja3s",
    "dtls.handshake.type", "dtls.handshake.version", "dtls.handshake.extensions.supported_version",
    "dtls.handshake.extensions_server_name", "dtls.handshake.extensions_alpn_str", "dtls.handshake.ja3",
    "dtls.handshake.ja3s",
    "gquic.tag.sni", "http.host", "dns.qry.name", "dns.count.answers",
    "dhcp.option.type", "dhcp.option.length", "dhcp.option.hostname", "nbns.name", "nbdgm.source_name",
    "stun.att.realm",
]
FIELDS += META_FIELDS
L4_NAMES = {6: "tcp", 17: "udp", 1: "icmp", 58: "icmpv6", 132: "sctp", 47: "gre", 50: "esp", 51: "ah", 2: "igmp"}
TCP_FLAG_NAMES = ["FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR"]  # bit 0 .. bit 7
SYN, RST, FIN, ACK = 0x02, 0x04, 0x01, 0x10
# Link-layer protocols (as frame.protocols names them) that sealscope decodes below IP, with their sizes.
L2_SIZES = {"eth": 14, "ethertype": 0, "vlan": 4, "ieee8021ad": 4, "null": 4, "raw": 0, "pppoes": 6}
# The ICMP and ICMPv6 error messages, which quote the packet they are about (RFC 1122 §3.2.2, RFC 4443).
ICMP_ERRORS = {1: (3, 4, 5, 11, 12), 58: (1, 2, 3, 4)}
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
                 "tunnel", "fragmented", "later", "frag_id", "app", "icmp", "quote")

    def __init__(self, vlan=None, tunnel=None):
        self.vlan, self.tunnel = vlan, tunnel
        self.sport = self.dport = self.tcp_flags = 0
        self.fragmented = self.later = False
        self.frag_id = self.app = None  # app: index in frame.protocols of the layer after TCP or UDP
        self.icmp = None  # (type, code) of an ICMP or ICMPv6 message
        self.quote = None  # an ICMP error's quoted packet: (ip_version, l4, (src, sport), (dst, dport))

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
        d.app = j + 1
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
        d.app = j + 1
        if tunnels and not d.fragmented:  # the tunnels on UDP, in the order sealscope's decoder tries them
            gcap = min(l4cap - 8, d.payload)
            if GTP_PORT in (d.sport, d.dport):
                return decode_gtp(fr, j + 1, gcap, d, anomalies, depth)
            if d.dport == VXLAN_PORT:
                return decode_vxlan(fr, j + 1, gcap, d, anomalies, depth)
            if d.dport == GENEVE_PORT:
                return decode_geneve(fr, j + 1, gcap, d, anomalies, depth)
            if TZSP_PORT in (d.sport, d.dport):
                return decode_tzsp(fr, j + 1, gcap, d, anomalies, depth)
            if CAPWAP_PORT in (d.sport, d.dport):
                return decode_capwap(fr, j + 1, gcap, d, anomalies, depth)
    elif d.l4 in (1, 58):
        if l4cap < 4:
            anomalies.append("icmp_truncated")
            return False
        d.payload = max(l4len - 4, 0)  # the ICMP message after its type, code and checksum
        name = "icmp" if d.l4 == 1 else "icmpv6"
        if j >= len(fr.layers) or fr.layers[j] != name:
            raise Unmodelled(f"frame {fr.number}: IP protocol {d.l4} shown as "
                             f"{fr.layers[j] if j < len(fr.layers) else 'nothing'}")
        d.icmp = (int(fr.field(f"{name}.type", j)), int(fr.field(f"{name}.code", j)))
        if d.icmp[0] in ICMP_ERRORS[d.l4] and not d.later:
            d.quote = quoted_packet(fr, j + 1, "ip" if d.l4 == 1 else "ipv6")
    else:
        d.payload = l4len  # no transport header sealscope knows: the whole IP payload
        if tunnels and not d.fragmented and d.l4 == 47:
            return decode_gre(fr, j, l4cap, d, anomalies, depth)
        if tunnels and not d.fragmented and d.l4 in (4, 41):
            tunnel = {"type": "ip-in-ip", "outer_src": d.src, "outer_dst": d.dst}
            return decap(fr, j, l4cap, l4len, d, anomalies, depth, tunnel, 4 if d.l4 == 4 else 6, None)
    return True


def quoted_packet(fr, k, want):
    """What an ICMP error quotes, from tshark's dissection of it (the layers from fr.layers[k] on):
    (ip_version, l4, (src, sport), (dst, dport)), or None where sealscope cannot key it (no IP header of the
    error's own version, a later fragment, no ports of a quoted TCP or UDP header)."""
    if k >= len(fr.layers) or fr.layers[k] != want:
        return None
    if want == "ip":
        if int(fr.field("ip.frag_offset", k)):
            return None
        version, src, dst, nxt = 4, addr(fr.field("ip.src", k)), addr(fr.field("ip.dst", k)), int(fr.field("ip.proto", k))
    else:
        version, src, dst = 6, addr(fr.field("ipv6.src", k)), addr(fr.field("ipv6.dst", k))
        nxt = int(fr.field("ipv6.nxt", k))
    j = k + 1
    while version == 6 and nxt in (0, 43, 44, 60, 51, 135, 139, 140):
        name = IPV6_EXT.get(fr.layers[j] if j < len(fr.layers) else "")
        if name is None:
            return None  # the quote ends in the chain
        if name == "fraghdr":
            if int(fr.field("ipv6.fraghdr.offset", j)) != 0:
                return None
            nxt = int(fr.field("ipv6.fraghdr.nxt", j))
        else:
            nxt = int(fr.field(f"ipv6.{name}.nxt", j))
        j += 1
    sport = dport = 0
    if nxt in (6, 17):
        name = "tcp" if nxt == 6 else "udp"
        if j >= len(fr.layers) or fr.layers[j] != name:
            return None  # cut before the ports
        sport, dport = int(fr.field(f"{name}.srcport", j)), int(fr.field(f"{name}.dstport", j))
    return version, nxt, (src, sport), (dst, dport)


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
    tunnel = {"type": "gtp-u", "teid": num(fr.field("gtp.teid", g)), "outer_src": d.src, "outer_dst": d.dst}
    return decap(fr, inner, gcap - hl, d.payload - hl, d, anomalies, depth, tunnel,
                 4 if fr.layers[inner] == "ip" else 6, "gtp_truncated")


def decap(fr, k, cap, wire, d, anomalies, depth, tunnel, ip_version, cut):
    """What a tunnel carries, from fr.layers[k] on (`cap` bytes captured, `wire` on the wire): an IP packet
    (`ip_version` 4 or 6), or an Ethernet or 802.11 frame (`ip_version` None), one level deeper. An IP packet
    found and whole becomes the flow's (in the outermost tunnel); beyond MAX_NESTED, when the carried link
    header is cut short (counted as `cut`), when the frame carries no IP, or when the inner packet is
    malformed (counted by its reason), `d` stays the outer packet: nothing is dropped (sealscope(1), TUNNELS)."""
    if depth >= MAX_NESTED:
        anomalies.append("gtp_too_deep" if tunnel["type"] == "gtp-u" else "tunnel_too_deep")
        return True
    inner = Decoded(d.vlan, d.tunnel if d.tunnel is not None else tunnel)
    if ip_version is not None:
        if cap < 1:
            anomalies.append("ipv4_header_truncated" if ip_version == 4 else "ipv6_header_truncated")
            return True
        if k >= len(fr.layers) or fr.layers[k] not in ("ip", "ipv6"):
            raise Unmodelled(f"frame {fr.number}: a tunnel's IP packet not dissected as IP")
        ok = decode_ip(fr, k, cap, wire, inner, anomalies, True, depth + 1)
    else:
        ok = decode_inner_frame(fr, k, cap, wire, inner, anomalies, depth + 1, cut)
    if ok:
        d.take(inner)
    return True


def decode_inner_frame(fr, k, cap, wire, d, anomalies, depth, cut):
    """An Ethernet or IEEE 802.11 frame a tunnel carries, at fr.layers[k]: True when it held an IP packet that
    is now in `d`; False when it is cut short (`cut`, or the inner reason, counted), malformed or not IP."""
    layer = fr.layers[k] if k < len(fr.layers) else None
    if layer == "eth":
        if cap < 14:
            anomalies.append(cut)
            return False
        off, k = 14, k + 1
    elif layer == "wlan":
        # IEEE 802.11 data frames (sealscope(1), TUNNELS): header length from frame control, then LLC/SNAP.
        if cap < 2:
            anomalies.append(cut)
            return False
        ts = num(fr.field("wlan.fc.type_subtype", k))
        ftype, subtype = ts >> 4, ts & 0xF
        if (num(fr.field("wlan.fc.version", k)) != 0 or ftype != 2 or subtype & 4 or
                flag(fr.field("wlan.fc.protected", k))):
            return False
        qos = bool(subtype & 8)
        order = flag(fr.field("wlan.fc.order", k))
        h = 24 + (6 if num(fr.field("wlan.fc.ds", k)) == 3 else 0) + ((6 if order else 2) if qos else 0)
        if cap < h + 8:
            anomalies.append(cut)
            return False
        if qos and fr.values["wlan.qos.amsdupresent"] and flag(fr.field("wlan.qos.amsdupresent", k)):
            return False
        if k + 1 >= len(fr.layers) or fr.layers[k + 1] != "llc":
            return False
        if (num(fr.field("llc.dsap", k + 1)) != 0xAA or num(fr.field("llc.ssap", k + 1)) != 0xAA or
                num(fr.field("llc.control", k + 1)) != 3 or num(fr.field("llc.oui", k + 1)) not in (0, 0xF8)):
            return False
        off, k = h + 8, k + 2
    else:
        raise Unmodelled(f"frame {fr.number}: a tunnel's frame shown as {layer}")
    while k < len(fr.layers):
        layer = fr.layers[k]
        if layer in ("ip", "ipv6"):
            if cap - off < 1:
                raise Unmodelled(f"frame {fr.number}: an IP layer with no byte captured in a tunnel")
            return decode_ip(fr, k, cap - off, max(wire - off, 0), d, anomalies, True, depth)
        if layer == "ethertype":
            k += 1
        elif layer in ("vlan", "ieee8021ad"):
            if cap - off < 4:
                anomalies.append("vlan_truncated")
                return False
            if d.vlan is None:
                d.vlan = num(fr.field(layer + ".id", k))
            off, k = off + 4, k + 1
        elif any(x in ("ip", "ipv6") for x in fr.layers[k:]):
            raise Unmodelled(f"frame {fr.number}: IP under {layer} in a tunnel, a layer not modelled here")
        else:
            return False  # ARP, LLDP, ...: no IP
    return False


def decode_vxlan(fr, g, gcap, d, anomalies, depth):
    """VXLAN to UDP port 4789 (RFC 7348): the I flag, 8 bytes, an Ethernet frame."""
    if gcap < 1:
        return True
    if g >= len(fr.layers) or fr.layers[g] != "vxlan":
        raise Unmodelled(f"frame {fr.number}: UDP to port 4789 not dissected as VXLAN")
    if not flag(fr.field("vxlan.flag_i", g)):
        return True  # no VXLAN: an ordinary UDP packet
    if gcap < 8:
        anomalies.append("vxlan_truncated")
        return True
    tunnel = {"type": "vxlan", "vni": num(fr.field("vxlan.vni", g)), "outer_src": d.src, "outer_dst": d.dst}
    return decap(fr, g + 1, gcap - 8, d.payload - 8, d, anomalies, depth, tunnel, None, "vxlan_truncated")


def decode_geneve(fr, g, gcap, d, anomalies, depth):
    """Geneve to UDP port 6081 (RFC 8926), version 0: 8 bytes and the options; Ethernet, IPv4 or IPv6."""
    if gcap < 1:
        return True
    if g >= len(fr.layers) or fr.layers[g] != "geneve":
        raise Unmodelled(f"frame {fr.number}: UDP to port 6081 not dissected as Geneve")
    if num(fr.field("geneve.version", g)) != 0:
        return True
    if gcap < 8:
        anomalies.append("geneve_truncated")
        return True
    hl = 8 + (len(bytes.fromhex(fr.field("geneve.options", g).replace(":", "")))
              if len(fr.values["geneve.options"]) > fr.layers[:g].count("geneve") else 0)
    if hl > gcap:
        anomalies.append("geneve_truncated")
        return True
    proto = num(fr.field("geneve.proto_type", g))
    tunnel = {"type": "geneve", "vni": num(fr.field("geneve.vni", g)), "outer_src": d.src, "outer_dst": d.dst}
    if proto == 0x6558:
        return decap(fr, g + 1, gcap - hl, d.payload - hl, d, anomalies, depth, tunnel, None, "geneve_truncated")
    if proto in (0x0800, 0x86DD):
        return decap(fr, g + 1, gcap - hl, d.payload - hl, d, anomalies, depth, tunnel,
                     4 if proto == 0x0800 else 6, None)
    return True


def decode_tzsp(fr, g, gcap, d, anomalies, depth):
    """TZSP on UDP port 37008: version 1, type 0 or 1, encapsulation 1 (Ethernet) or 18 (802.11), the tags
    to END (padding and END one byte, the others type, length, value)."""
    if gcap < 1:
        return True
    if g >= len(fr.layers) or fr.layers[g] != "tzsp":
        raise Unmodelled(f"frame {fr.number}: UDP port 37008 not dissected as TZSP")
    if num(fr.field("tzsp.version", g)) != 1:
        return True
    if gcap < 4:
        anomalies.append("tzsp_truncated")
        return True
    encap = num(fr.field("tzsp.encap", g))
    if num(fr.field("tzsp.type", g)) > 1 or encap not in (1, 18):
        return True
    if fr.layers.count("tzsp") != 1:
        raise Unmodelled(f"frame {fr.number}: TZSP in TZSP (tags are per frame)")
    off, lengths, ended = 4, iter(fr.values["tzsp.option_length"]), False
    for tag in fr.values["tzsp.option_tag"]:
        if num(tag) in (0, 1):
            off += 1
            if num(tag) == 1:
                ended = True
                break
        else:
            off += 2 + num(next(lengths))
    if not ended or off > gcap:
        anomalies.append("tzsp_truncated")
        return True
    tunnel = {"type": "tzsp", "outer_src": d.src, "outer_dst": d.dst}
    return decap(fr, g + 1, gcap - off, d.payload - off, d, anomalies, depth, tunnel, None, "tzsp_truncated")


def decode_capwap(fr, g, gcap, d, anomalies, depth):
    """CAPWAP data on UDP port 5247 (RFC 5415): preamble 0, HLEN words of header; T with wireless binding 1:
    an 802.11 frame, T clear: an 802.3 frame; fragments and keep-alives are left alone."""
    if gcap < 1:
        return True
    if g >= len(fr.layers) or fr.layers[g] != "capwap.data":
        raise Unmodelled(f"frame {fr.number}: UDP port 5247 not dissected as CAPWAP data")
    if num(fr.field("capwap.preamble.version", g)) != 0 or num(fr.field("capwap.preamble.type", g)) != 0:
        return True  # type 1: DTLS
    if gcap < 8:
        anomalies.append("capwap_truncated")
        return True
    hl = 4 * num(fr.field("capwap.header.length", g))
    if hl < 8 or hl > gcap:
        anomalies.append("capwap_truncated")
        return True
    native = flag(fr.field("capwap.header.flags.t", g))
    if (flag(fr.field("capwap.header.flags.f", g)) or flag(fr.field("capwap.header.flags.k", g)) or
            (native and num(fr.field("capwap.header.wbid", g)) != 1)):
        return True
    tunnel = {"type": "capwap", "outer_src": d.src, "outer_dst": d.dst}
    return decap(fr, g + 1, gcap - hl, d.payload - hl, d, anomalies, depth, tunnel, None, "capwap_truncated")


def decode_pptp_gre(fr, j, cap, d, anomalies, depth, flags):
    """PPTP's enhanced GRE, version 1 (RFC 2637): K set, protocol 0x880B, C, R, s, recursion and flags 0; a
    packet only with a sequence number (S); then a PPP frame carrying IPv4 (0x0021) or IPv6 (0x0057). The
    key is the call ID. The PPP header's length is the GRE payload length less the inner IP packet's."""
    if flags & 0xCF78 or not flags & 0x2000 or num(fr.field("gre.proto", j)) != 0x880B:
        return True
    hl = 8 + (4 if flags & 0x1000 else 0) + (4 if flags & 0x0080 else 0)
    if hl > cap:
        anomalies.append("gre_truncated")
        return True
    if not flags & 0x1000:
        return True  # an acknowledgment alone
    k = j + 1
    if k >= len(fr.layers) or fr.layers[k] != "ppp":
        raise Unmodelled(f"frame {fr.number}: PPTP's GRE payload not dissected as PPP")
    proto = num(fr.field("ppp.protocol", k))
    if proto not in (0x0021, 0x0057):
        return True
    if k + 1 >= len(fr.layers) or fr.layers[k + 1] not in ("ip", "ipv6"):
        raise Unmodelled(f"frame {fr.number}: PPP's packet not dissected as IP")
    inner_len = int(fr.field("ip.len" if fr.layers[k + 1] == "ip" else "ipv6.plen", k + 1))
    if fr.layers[k + 1] == "ipv6":
        inner_len += 40
    ph = num(fr.field("gre.key.payload_length", j)) - inner_len
    if ph not in (1, 2, 3, 4) or (ph in (3, 4)) != bool(fr.values["ppp.address"]):
        raise Unmodelled(f"frame {fr.number}: a PPP header of {ph} bytes")
    tunnel = {"type": "gre", "key": num(fr.field("gre.key.call_id", j)), "outer_src": d.src, "outer_dst": d.dst}
    return decap(fr, k + 1, cap - hl - ph, d.payload - hl - ph, d, anomalies, depth, tunnel,
                 4 if proto == 0x0021 else 6, None)


def decode_gre_mpls(fr, j, cap, wire, d, anomalies, depth, tunnel):
    """GRE carrying MPLS (0x8847, 0x8848; RFC 4023): the label stack down to the bottom entry, then IP by the
    first byte's version, as for MPLS over Ethernet. The stack's depth is the count of labels tshark read
    (one MPLS layer per frame modelled)."""
    k = j + 1
    if fr.layers.count("mpls") != 1 or k >= len(fr.layers) or fr.layers[k] != "mpls":
        raise Unmodelled(f"frame {fr.number}: MPLS in GRE other than one stack")
    stack = 4 * len(fr.values["mpls.label"])
    if stack > cap or cap - stack < 1:
        # The packet under the stack is malformed: the GRE packet stays, counted by MPLS's reason.
        anomalies.append("encap_truncated")
        return True
    if k + 1 >= len(fr.layers) or fr.layers[k + 1] not in ("ip", "ipv6"):
        return True  # not IP
    return decap(fr, k + 1, cap - stack, wire - stack, d, anomalies, depth, tunnel,
                 4 if fr.layers[k + 1] == "ip" else 6, None)


def decode_gre(fr, j, cap, d, anomalies, depth):
    """GRE, IP protocol 47 (RFC 2784, RFC 2890), version 0 without source routing: IPv4, IPv6, MPLS, Ethernet
    (0x6558), and ERSPAN types I-III (0x88BE, 0x22EB); version 1, PPTP's (decode_pptp_gre)."""
    if cap < 4:
        anomalies.append("gre_truncated")
        return True
    if j >= len(fr.layers) or fr.layers[j] != "gre":
        raise Unmodelled(f"frame {fr.number}: IP protocol 47 not dissected as GRE")
    flags = num(fr.field("gre.flags_and_version", j))
    if flags & 0x7 == 1:
        return decode_pptp_gre(fr, j, cap, d, anomalies, depth, flags)
    if flags & 0x7 or flags & 0x4000:
        return True
    hl = 4 + (4 if flags & 0x8000 else 0) + (4 if flags & 0x2000 else 0) + (4 if flags & 0x1000 else 0)
    if hl > cap:
        anomalies.append("gre_truncated")
        return True
    proto = num(fr.field("gre.proto", j))
    key = num(fr.field("gre.key", j)) if flags & 0x2000 else None
    tunnel = {"type": "gre", "key": key, "outer_src": d.src, "outer_dst": d.dst}
    if proto in (0x0800, 0x86DD):
        return decap(fr, j + 1, cap - hl, d.payload - hl, d, anomalies, depth, tunnel,
                     4 if proto == 0x0800 else 6, None)
    if proto == 0x6558:
        return decap(fr, j + 1, cap - hl, d.payload - hl, d, anomalies, depth, tunnel, None, "gre_truncated")
    if proto in (0x8847, 0x8848):
        return decode_gre_mpls(fr, j, cap - hl, d.payload - hl, d, anomalies, depth, tunnel)
    if proto not in (0x88BE, 0x22EB):
        return True
    # ERSPAN (draft-foschiano-erspan): type I without a GRE sequence number has no header.
    tunnel = {"type": "erspan", "session": None, "outer_src": d.src, "outer_dst": d.dst}
    e, ecap, eh = j + 1, cap - hl, 0
    if proto == 0x22EB or flags & 0x1000:
        fixed = 12 if proto == 0x22EB else 8
        if ecap < fixed:
            anomalies.append("erspan_truncated")
            return True
        if e >= len(fr.layers) or fr.layers[e] != "erspan":
            raise Unmodelled(f"frame {fr.number}: ERSPAN not dissected as ERSPAN")
        if num(fr.field("erspan.version", e)) != (2 if proto == 0x22EB else 1):
            return True
        eh = fixed
        if proto == 0x22EB:
            if num(fr.field("erspan.ft", e)) != 0:
                return True
            eh += 8 if flag(fr.field("erspan.o", e)) else 0
            if eh > ecap:
                anomalies.append("erspan_truncated")
                return True
        tunnel["session"] = num(fr.field("erspan.spanid", e))
    k = e + 1 if e < len(fr.layers) and fr.layers[e] == "erspan" else e
    return decap(fr, k, ecap - eh, d.payload - hl - eh, d, anomalies, depth, tunnel, None, "erspan_truncated")


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
        self.icmp = [None, None]  # (type, code) of the first ICMP message each way
        self.errors = 0  # ICMP errors quoting a packet of this flow
        self.first_error = None  # the first one's (type, code, direction of the quoted packet, from its destination)
        self.frames = []
        self.series = []  # (time, IP length, direction) of each packet, in the order sealscope counts them
        self.app = []     # (frame, index of its first layer above TCP/UDP, direction): frames with META_FIELDS

    def account(self, ts, ip_len, payload, d, flags, frame):
        self.series.append((ts, ip_len, d))
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
            "icmp": ({dn: ({"type": t[0], "code": t[1]} if t else None) for dn, t in zip(("up", "down"), self.icmp)}
                     if self.l4 in (1, 58) else None),
            "icmp_errors": ({"count": self.errors, "type": self.first_error[0], "code": self.first_error[1],
                             "dir": ("up", "down")[self.first_error[2]],
                             "from": "peer" if self.first_error[3] else "path"} if self.errors else None),
            "end": self.closing or "eof",
        }


# What nDPI 4.2 did not read in a flow of the real-capture corpus although tshark shows it, where no
# definition below models why: capture -> {(flow, field): (what sealscope reports instead, reason)}. The
# record must then equal the model with that change (None for server_name; the tls subfields given), so
# nothing else is let through; an entry whose flow no longer differs fails. For each flow, ndpiReader 4.2
# (Debian's libndpi-bin) shows the same gap: no Hostname/SNI, or no JA3S.
_TLS_OUT_OF_ORDER = ("the server's first TCP segment, which holds the ServerHello, reached the capture after "
                     "later ones; nDPI 4.2's TLS reassembly keeps a direction's segments only in sequence "
                     "(tls.c, next_seq) and never reads that ServerHello")
_REALM_UNREAD = ("nDPI 4.2 left the name empty although the REALM is in a packet it inspected, at or before "
                 "its verdict (the same servers' REALMs were read in other flows)")
_TEAMS_REALM = ("nDPI 4.2 takes its verdict (STUN.Teams) at the first packet and copies no REALM from the "
                "third, where it is (MS-TURN's, binary)")
_DTLS_AFTER_STUN = ("nDPI 4.2 takes its verdict at this flow's DTLS ClientHello, which follows its STUN "
                    "exchange, and reads no JA3S from the ServerHello after it")
KNOWN = {
    "1kxun.pcap": {
        ("tcp 192.168.2.126:37100 <-> 52.29.177.177:80", "server_name"): (
            None, "the first request's 1942 header bytes span three segments and the Host line is in the "
                  "third; nDPI 4.2 parses HTTP headers within one packet"),
    },
    "android.pcap": {("tcp 172.217.18.3:443 <-> 192.168.2.16:36888", "tls"): ({"ja3s": None}, _TLS_OUT_OF_ORDER)},
    "viber.pcap": {
        ("tcp 151.101.1.130:443 <-> 192.168.0.17:55746", "tls"): ({"ja3s": None}, _TLS_OUT_OF_ORDER),
        ("tcp 192.168.0.17:36988 <-> 54.69.166.226:443", "tls"): ({"ja3s": None}, _TLS_OUT_OF_ORDER),
    },
    "teams.pcap": {
        ("tcp 104.40.187.151:443 <-> 192.168.1.6:60562", "tls"): ({"ja3s": None}, _TLS_OUT_OF_ORDER),
        ("tcp 192.168.1.6:60563 <-> 52.169.186.119:443", "tls"): ({"ja3s": None}, _TLS_OUT_OF_ORDER),
        ("udp 192.168.1.6:50016 <-> 52.114.250.141:3478", "server_name"): (None, _TEAMS_REALM),
        ("udp 192.168.1.6:50017 <-> 52.114.250.141:3478", "server_name"): (None, _TEAMS_REALM),
        ("udp 192.168.1.6:50036 <-> 52.114.250.137:3478", "server_name"): (None, _TEAMS_REALM),
        ("udp 192.168.1.6:50037 <-> 52.114.250.137:3478", "server_name"): (None, _TEAMS_REALM),
    },
    "stun.pcap": {
        ("udp 142.250.82.99:3478 <-> 192.168.12.169:49153", "tls"): ({"ja3s": None}, _DTLS_AFTER_STUN),
        ("tcp 54.1.57.155:37257 <-> 87.47.100.17:3478", "server_name"): (
            None, "nDPI 4.2 does not recognise this STUN over TCP (ndpiReader: Unknown) and reads no attribute"),
    },
    "stun_google_meet.pcapng": {
        ("udp 2001:4860:4864:6::81:19305 <-> 2001:b07:a3d:c112:48a1:1094:1227:281e:45572", "tls"): (
            {"ja3s": None}, _DTLS_AFTER_STUN),
    },
    "stun_signal.pcapng": {
        ("udp 192.168.12.169:37970 <-> 35.158.122.211:3478", "server_name"): (None, _REALM_UNREAD),
        ("udp 192.168.12.169:39950 <-> 35.158.183.167:3478", "server_name"): (None, _REALM_UNREAD),
        ("udp 192.168.12.169:43068 <-> 35.158.183.167:3478", "server_name"): (None, _REALM_UNREAD),
        ("udp 192.168.12.169:47204 <-> 35.158.183.167:3478", "server_name"): (None, _REALM_UNREAD),
    },
    "telegram_videocall.pcapng": {
        ("udp 192.168.12.169:37530 <-> 91.108.13.23:1400", "server_name"): (None, _REALM_UNREAD),
    },
}


# Sizes, inter-arrival times and SPLT (sealscope-flows(5)). The model computes each statistic exactly (sizes
# are whole bytes, times whole microseconds: rationals), then rounds it as the JSONL prints it: three
# decimals, a tie away from zero. Compared in thousandths.
STAT_NAMES = ("min", "mean", "stddev", "max")
SERIES = ("all", "up", "down")


def thousandths(q):
    """A non-negative rational in thousandths, rounded half up (the JSONL's three decimals)."""
    return math.floor(q * 1000 + fractions.Fraction(1, 2))


def sqrt_thousandths(v):
    """sqrt(v) for a non-negative rational v, in thousandths rounded half up: the largest k with
    (2k - 1)^2 <= 4 * v * 10^6, from the integer square root, so no floating point is involved."""
    u = math.isqrt(math.floor(4 * v * 1000000))
    return (u + 1) // 2


def exact_moments(values):
    """{min, mean, stddev, max} of rationals in thousandths, with the exact values behind them (for the
    rounding-tie check); None without values. stddev is the population one (sealscope-flows(5))."""
    if not values:
        return None
    n = len(values)
    mean = sum(values, fractions.Fraction(0)) / n
    var = sum(((v - mean) ** 2 for v in values), fractions.Fraction(0)) / n
    return {"min": thousandths(min(values)), "mean": thousandths(mean), "stddev": sqrt_thousandths(var),
            "max": thousandths(max(values)), "exact": {"mean": mean, "var": var}}


def replay_moments(values):
    """sealscope's own arithmetic on the same values (doubles, Welford's running mean and M2 in the order
    the packets were counted, llround of value x 1000), to show that a last-digit difference at a rounding
    tie comes from floating-point rounding and nothing else. Never the expectation itself."""
    mean = m2 = 0.0
    for n, v in enumerate(values, 1):
        d = v - mean
        mean += d / n
        m2 += d * (v - mean)
    sd = math.sqrt(m2 / len(values)) if len(values) > 1 else 0.0
    away = lambda x: math.floor(x * 1000.0 + 0.5)  # noqa: E731  (llround on non-negative values)
    return {"mean": away(mean), "stddev": away(sd)}


def shape(series, splt_n):
    """What sealscope-flows(5) defines over a flow's packets (in the order they are counted): size and
    iat_ms moments per series, and the SPLT. An inter-arrival time is the time since the latest earlier
    packet of the flow (of the same direction for up and down), 0 for a packet stamped no later than that
    (a capture's clock stepping back, a later fragment counted after its first fragment); the SPLT's
    milliseconds are the whole ones of the same time for all packets, 0 for the first."""
    sizes = {k: [] for k in SERIES}
    iats = {k: [] for k in SERIES}
    doubles = {k: [] for k in SERIES}  # the iat values as sealscope adds them (us / 1000.0)
    splt = []
    latest, latest_dir = None, [None, None]
    for ts, ip_len, d in series:
        side = SERIES[1 + d]
        gap = 0
        if latest is not None:
            gap = max(0, ts - latest)
            iats["all"].append(fractions.Fraction(gap, 1000))
            doubles["all"].append(gap / 1000.0)
        if latest_dir[d] is not None:
            g = max(0, ts - latest_dir[d])
            iats[side].append(fractions.Fraction(g, 1000))
            doubles[side].append(g / 1000.0)
        sizes["all"].append(fractions.Fraction(ip_len))
        sizes[side].append(fractions.Fraction(ip_len))
        if len(splt) < splt_n:
            splt.append([d, min(ip_len, 0xFFFF), gap // 1000])
        latest = ts if latest is None else max(latest, ts)
        latest_dir[d] = ts if latest_dir[d] is None else max(latest_dir[d], ts)
    return {"size": {k: exact_moments(v) for k, v in sizes.items()},
            "iat_ms": {k: exact_moments(v) for k, v in iats.items()},
            "replay": {"size": {k: [float(x) for x in v] for k, v in sizes.items()}, "iat_ms": doubles},
            "splt": splt}


def is_tie_rounding(exact, stat, got, want):
    """True when `got` differs from the exact rounding `want` by one in the last printed digit only because
    the exact value lies on (or within a double's rounding error of) a half-thousandth: the exact value is
    there, and sealscope's own double arithmetic, replayed, prints `got`."""
    if abs(got - want) != 1:
        return False
    if stat == "mean":
        t = exact["mean"] * 1000
    else:
        t = fractions.Fraction(math.sqrt(exact["var"])) * 1000
    edge = fractions.Fraction(min(got, want)) + fractions.Fraction(1, 2)
    return abs(t - edge) <= fractions.Fraction(1, 10 ** 9) * max(1, t)


def compare_shape(model_shape, got, where, problems, ties):
    """Appends the differences in size, iat_ms and splt between the model and one record."""
    for field in ("size", "iat_ms"):
        for k in SERIES:
            w, g = model_shape[field][k], (got.get(field) or {}).get(k)
            if (w is None) != (g is None):
                problems.append(f"{where}: {field}.{k} tshark {'null' if w is None else 'a value'}, "
                                f"sealscope {json.dumps(g)}")
                continue
            if w is None:
                continue
            for stat in STAT_NAMES:
                gv = round(g[stat] * 1000) if isinstance(g.get(stat), (int, float)) else g.get(stat)
                if gv == w[stat]:
                    continue
                replay = None
                if stat in ("mean", "stddev") and isinstance(gv, int):
                    replay = replay_moments(model_shape["replay"][field][k])[stat]
                if replay == gv and is_tie_rounding(w["exact"], stat, gv, w[stat]):
                    ties.append(f"rounding tie: {where}: {field}.{k}.{stat} {gv / 1000:.3f}, exactly "
                                f"{float(w['exact']['mean'] if stat == 'mean' else math.sqrt(w['exact']['var'])):.6f}")
                    continue
                problems.append(f"{where}: {field}.{k}.{stat} tshark {w[stat] / 1000:.3f}, "
                                f"sealscope {json.dumps(g[stat])}")
    if model_shape["splt"] != got.get("splt"):
        w, g = model_shape["splt"], got.get("splt") or []
        i = next((i for i in range(max(len(w), len(g))) if i >= len(w) or i >= len(g) or w[i] != g[i]), 0)
        problems.append(f"{where}: splt entry {i} tshark {json.dumps(w[i] if i < len(w) else None)}, sealscope "
                        f"{json.dumps(g[i] if i < len(g) else None)} ({len(w)} and {len(g)} entries)")


# server_name and tls (sealscope-flows(5)): the values nDPI 4.2 copies out of a flow, or, for a QUIC
# ClientHello nDPI 4.2 cannot read, the ones sealscope's own QUIC parser takes from it. tshark dissects the
# handshakes and names itself (TLS and DTLS hellos with their JA3 and JA3S, QUIC after decrypting the
# client's Initial packets, gQUIC tags, HTTP, DNS/MDNS/LLMNR, DHCP, NetBIOS, STUN); what the functions below
# model are the definitions of sealscope-flows(5), each with its reason.
TLS_VERSION_NAMES = {0x0300: "SSLv3", 0x0301: "TLSv1.0", 0x0302: "TLSv1.1", 0x0303: "TLSv1.2", 0x0304: "TLSv1.3",
                     0xFEFF: "DTLSv1.0", 0xFEFD: "DTLSv1.2", 0xFEFC: "DTLSv1.3"}
TLS_LIKE = {"TLS", "DTLS", "QUIC"}
NAME_MAX = 79                                      # nDPI 4.2's host_server_name[80]
# A packet inside the flow's (a tunnel the flow did not take apart, an ICMP error's quoted packet): its
# fields are not the flow's.
NESTED = {"ip", "ipv6", "icmp", "icmpv6", "gtp", "vxlan", "geneve", "gre", "erspan", "tzsp", "capwap.data", "eth",
          "wlan"}
DNS_LAYERS = ("dns", "mdns", "llmnr")


def version_name(v):
    return None if v is None else TLS_VERSION_NAMES.get(v, f"0x{v:04x}")


def display_text(raw):
    """Bytes as every sealscope output writes a name (sealscope-flows(5), report/text_escape): valid UTF-8
    kept, except controls (U+0000-U+001F, U+007F-U+009F) and the backslash, which, like each byte that is
    not UTF-8, become \\xNN."""
    out, i = [], 0
    while i < len(raw):
        for n in (4, 3, 2, 1):
            try:
                ch = raw[i:i + n].decode("utf-8") if i + n <= len(raw) else None
            except UnicodeDecodeError:
                ch = None
            if ch is not None and len(ch) == 1:
                break
        else:
            ch, n = None, 1
        if ch is None or ch == "\\" or ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F:
            out.extend(f"\\x{b:02x}" for b in raw[i:i + n])
        else:
            out.append(ch)
        i += n
    return "".join(out)


def ndpi_name(text, frame, printable, ascii_field=False):
    """A name as sealscope writes it (sealscope-flows(5), as nDPI 4.2 stores host names): ASCII letters in
    lower case, its last 79 bytes (nDPI's ndpi_hostname_sni_set keeps the tail; no name in the corpus is
    longer than 60 bytes, tshark_edge_cases.py has longer ones), with `printable` (TLS, DTLS and QUIC SNI,
    DNS names: nDPI 4.2 passes them through ndpi_is_printable_string) each byte outside printable ASCII as
    '?'; then as display text. tshark shows a byte it cannot decode as U+FFFD: in an `ascii_field` (the
    SNI) that is one byte above 0x7f, elsewhere the bytes are unknown."""
    if ascii_field and all(ord(c) < 0x80 or c == "\ufffd" for c in text):
        raw = bytes(0x80 if c == "\ufffd" else ord(c) for c in text)
    elif "\ufffd" in text:
        raise Unmodelled(f"frame {frame}: a name with bytes that are not UTF-8 ({text!r})")
    else:
        raw = text.encode("utf-8")
    raw = bytes(c + 32 if 0x41 <= c <= 0x5A else c for c in raw[-NAME_MAX:])
    if printable:
        raw = bytes(c if 0x20 <= c <= 0x7E else 0x3F for c in raw)
    return display_text(raw)


def app_frames(flow, layer_names):
    """(frame, its layers above the flow's TCP/UDP, direction) of the flow's frames with one of `layer_names`
    there; frames whose layers hold a packet of their own (an ICMP error's quoted packet, IP in UDP) are
    left out, since those fields belong to that packet."""
    for fr, app, direction in flow.app:
        rest = fr.layers[app:]
        if not NESTED & set(rest) and any(n in rest for n in layer_names):
            yield fr, rest, direction


def first(values):
    return values[0] if values else None


def hellos(flow):
    """The flow's first ClientHello and first ServerHello as tshark dissects them (TLS, DTLS, and TLS in
    QUIC's CRYPTO frames), each a dict, or None."""
    ch = sh = None
    for fr, rest, _ in app_frames(flow, ("tls", "dtls")):
        pre = "dtls" if "dtls" in rest else "tls"
        v = fr.values
        types = v[pre + ".handshake.type"]
        if "1" in types and "2" in types:
            raise Unmodelled(f"frame {fr.number}: a ClientHello and a ServerHello in one frame")
        if "1" in types and ch is None:
            legacy = first(v[pre + ".handshake.version"])
            ch = {"frame": fr.number, "quic": "quic" in rest, "version": num(legacy) if legacy else None,
                  "sni": first(v[pre + ".handshake.extensions_server_name"]),
                  "alpn": v[pre + ".handshake.extensions_alpn_str"], "ja3": first(v[pre + ".handshake.ja3"])}
        if "2" in types and sh is None:
            chosen = first(v[pre + ".handshake.extensions.supported_version"])
            sh = {"frame": fr.number, "quic": "quic" in rest, "chosen": num(chosen) if chosen else None,
                  "ja3s": first(v[pre + ".handshake.ja3s"])}
    return ch, sh


def expected_tls(flow, ndpi_label):
    """The tls object sealscope-flows(5) defines, from tshark's dissection of the flow's first hellos.
    - Whether there is one follows nDPI's label (TLS, DTLS or QUIC in it; tests/corpus/ndpi_parity.py checks
      ndpi_label against ndpiReader), or a QUIC ClientHello (sealscope's own QUIC parser reads it).
    - version: the version the ServerHello chooses in its supported_versions extension, else the
      ClientHello's version field (nDPI 4.2 never reads the ServerHello's version field; a TLS 1.3 client
      writes TLSv1.2 there); TLSv1.3 for QUIC (RFC 9001 §4.2).
    - alpn: the protocols the ClientHello offers, joined with commas (not the one the server picks).
    - ja3c / ja3s: JA3 of the first ClientHello, JA3S of the first ServerHello (tshark computes both, GREASE
      left out as in the JA3 definition); no JA3S for QUIC: neither nDPI 4.2 nor sealscope decrypts the
      server's Initial packets."""
    ch, sh = hellos(flow)
    if not TLS_LIKE & set(ndpi_label.split(".")) and not (ch and ch["quic"]):
        return None
    quic = bool(ch and ch["quic"] or sh and sh["quic"])
    if quic:
        version = 0x0304 if ch else None
    elif sh and sh["chosen"] is not None:
        version = sh["chosen"]
    else:
        version = ch["version"] if ch else None
    return {"version": version_name(version),
            "alpn": ",".join(ch["alpn"]) if ch and ch["alpn"] else None,
            "ja3c": ch["ja3"] if ch else None,
            "ja3s": sh["ja3s"] if sh and not quic else None}


def dhcp_host_name(fr):
    """Option 12 of a DHCP message as nDPI 4.2 reads it: its option walk stops at the first option of
    length 0 (such as Rapid Commit, RFC 4039), so a host name after one is not read."""
    lengths = iter(fr.values["dhcp.option.length"])
    for t in fr.values["dhcp.option.type"]:
        if t in ("0", "255"):  # pad, end: no length byte
            continue
        length = next(lengths, None)
        if length is None or int(length) == 0:
            return None
        if t == "12":
            return first(fr.values["dhcp.option.hostname"])
    return None


def netbios_name(text):
    """A NetBIOS name as tshark shows it ('NAME<20>', '<01><02>__MSBROWSE__<02><01>') as its bytes: the
    suffix byte after the 15 name characters dropped (nDPI decodes the first 15), padding spaces too."""
    text = text.split(" (")[0]
    if len(text) >= 4 and text[-4] == "<" and text[-1] == ">":
        text = text[:-4]
    out, i = "", 0
    while i < len(text):
        if text[i] == "<" and i + 3 < len(text) and text[i + 3] == ">":
            byte = int(text[i + 1:i + 3], 16)
            if byte > 0x7F:
                raise Unmodelled(f"NetBIOS name {text!r}: a byte above 0x7f")
            out += chr(byte)
            i += 4
        else:
            out += text[i]
            i += 1
    return out.rstrip(" ")


def expected_server_name(flow):
    """server_name as sealscope-flows(5) defines it: the first name the flow carries, by protocol:
    - TLS, DTLS and QUIC: the SNI of the first ClientHello; gQUIC: the SNI tag;
    - HTTP (over TCP; SSDP's HTTP over UDP is not HTTP to nDPI): the first request's Host without its port;
    - DNS, MDNS, LLMNR: the first question of the first message that carries answers (nDPI 4.2 reads the
      flow's messages until one carries answers, and takes the name from that one), else of the first
      message;
    - DHCP: the host name (option 12) of the flow's first DHCP message (nDPI names DHCP at once), as
      dhcp_host_name reads it; NetBIOS: the first name (name service) or source name (datagrams);
    - STUN: the first REALM.
    Written as ndpi_name does."""
    found = []  # (frame index in the flow, name)
    order = {fr.number: k for k, (fr, _, _) in enumerate(flow.app)}
    ch, _ = hellos(flow)
    if ch and ch["sni"] is not None:
        found.append((order[ch["frame"]], ndpi_name(ch["sni"], ch["frame"], True, ascii_field=True)))
    for fr, rest, _ in app_frames(flow, ("gquic",)):
        if fr.values["gquic.tag.sni"]:
            found.append((order[fr.number], ndpi_name(fr.values["gquic.tag.sni"][0], fr.number, False)))
            break
    if flow.l4 == 6:
        for fr, rest, _ in app_frames(flow, ("http",)):
            if fr.values["http.host"]:
                host = fr.values["http.host"][0]
                if host.startswith("["):
                    host = host[:host.index("]") + 1] if "]" in host else host
                else:
                    host = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
                found.append((order[fr.number], ndpi_name(host, fr.number, False)))
                break
    dns = [(fr, rest) for fr, rest, _ in app_frames(flow, DNS_LAYERS) if fr.values["dns.qry.name"]]
    if dns:
        answered = [fr for fr, _ in dns if int(first(fr.values["dns.count.answers"]) or 0) > 0]
        fr = answered[0] if answered else dns[0][0]
        found.append((order[dns[0][0].number], ndpi_name(fr.values["dns.qry.name"][0], fr.number, True)))
    dhcp = [fr for fr, _, _ in app_frames(flow, ("dhcp",))]
    if dhcp and dhcp_host_name(dhcp[0]) is not None:
        found.append((order[dhcp[0].number], ndpi_name(dhcp_host_name(dhcp[0]), dhcp[0].number, False)))
    for fr, rest, _ in app_frames(flow, ("nbns", "nbdgm")):
        name = first(fr.values["nbns.name"]) or first(fr.values["nbdgm.source_name"])
        if name:
            found.append((order[fr.number], ndpi_name(netbios_name(name), fr.number, False)))
            break
    for fr, rest, _ in app_frames(flow, ("stun",)):
        if fr.values["stun.att.realm"]:
            found.append((order[fr.number], ndpi_name(fr.values["stun.att.realm"][0], fr.number, False)))
            break
    return min(found)[1] if found else None


def compare_meta(flow, got, where, problems, known, seen, counts):
    """Appends the differences in server_name and tls between the model and one record; a difference
    listed in `known` (where, field) -> reason is counted in `seen` instead."""
    for field, expect in (("server_name", lambda: expected_server_name(flow)),
                          ("tls", lambda: expected_tls(flow, got["ndpi_label"]))):
        try:
            want = expect()
        except Unmodelled as e:
            want = f"not modelled: {e}"
        if (where, field) in known and want != got.get(field):
            instead, _ = known[where, field]
            want = dict(want, **instead) if isinstance(instead, dict) and isinstance(want, dict) else instead
            if want == got.get(field):
                seen.add((where, field))
                continue
            problems.append(f"{where}: {field} tshark with KNOWN's change {json.dumps(want)}, sealscope "
                            f"{json.dumps(got.get(field))}")
            continue
        if want != got.get(field):
            g = got.get(field)
            if isinstance(want, dict) and isinstance(g, dict):
                parts = [f"{field}.{k} tshark {json.dumps(want[k])}, sealscope {json.dumps(g.get(k))}"
                         for k in want if want[k] != g.get(k)]
                problems.append(f"{where}: {'; '.join(parts)}")
            else:
                problems.append(f"{where}: {field} tshark {json.dumps(want)}, sealscope {json.dumps(g)}")
        elif field == "server_name":
            counts["named"] += want is not None
        elif want is not None:
            counts["tls"] += 1
            counts.update(k for k, v in want.items() if v is not None)


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
        if d.icmp is not None and f.icmp[direction] is None:
            f.icmp[direction] = d.icmp
        if d.quote is not None:
            self.tie_error(d)
        if d.app is not None and any(fr.values[m] for m in META_FIELDS):
            f.app.append((fr, d.app, direction))
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

    def tie_error(self, d):
        """Counts an ICMP error into the open flow of the packet it quotes, if there is one."""
        version, l4, src, dst = d.quote
        q = self.open.get(flow_key(d.vlan, version, l4, src, dst))
        if q is None or (q.closing and q.last + CLOSE_LINGER_US <= self.clock):
            return
        if not q.errors:
            q.first_error = (d.icmp[0], d.icmp[1], 0 if src == q.initiator else 1, d.src == dst[0])
        q.errors += 1
        self.counts["icmp_errors_tied"] += 1

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
    these frame numbers. TCP sequence analysis is off, so tshark dissects every segment's payload as it
    comes, retransmissions and segments out of order included, as nDPI is given them (with analysis on,
    tshark skips a retransmission's payload and would miss a ServerHello nDPI reads there). The
    preferences this script relies on are given, whatever the user's are."""
    cmd = ["tshark", "-n", "-r", capture, "-o", "ip.defragment:FALSE", "-o", "ipv6.defragment:FALSE",
           "-o", f"ip.tso_support:{'TRUE' if tso else 'FALSE'}", "-o", "ipv6.tso_support:FALSE",
           "-o", "gtp.dissect_tpdu_as:TPDU Heuristic", "-o", "tcp.analyze_sequence_numbers:FALSE",
           "-o", "capwap.swap_fc:FALSE",
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
            "packets", "bytes", "payload_bytes", "tcp_flags", "icmp", "icmp_errors", "end"]


def describe(key):
    vlan, _, l4, ends = key
    (a, pa), (b, pb) = ends
    return f"{L4_NAMES.get(l4, l4)} {a}:{pa} <-> {b}:{pb}" + (f" vlan {vlan}" if vlan is not None else "")


def compare(model, records, summary, tshark_note, notes=None, known=None, counts=None):
    """Differences between the model built from tshark's frames and sealscope's records and summary;
    `notes` receives the statistics printed one digit apart at a rounding tie (see is_tie_rounding) and the
    known differences met; `known`: this capture's entries of KNOWN."""
    problems = []
    notes = [] if notes is None else notes
    known = known or {}
    seen = set()
    counts = collections.Counter() if counts is None else counts
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
            compare_shape(shape(fs[n].series, SPLT_DEFAULT), got, where, problems, notes)
            compare_meta(fs[n], got, where, problems, known, seen, counts)
            counts["splt"] += len(got.get("splt") or [])
    for (where, field), (_, reason) in sorted(known.items()):
        if (where, field) in seen:
            notes.append(f"known: {where}: {field}: {reason}")
        else:
            problems.append(f"{where}: {field} is listed in KNOWN but equal or gone: remove the entry")
    expect = {"frames": model.counts["frames"], "not_ip_frames": model.counts["not_ip"],
              "malformed_frames": model.counts["malformed"],
              "fragments_attributed": model.counts["fragments_attributed"],
              "icmp_errors": {"flows": sum(1 for f in model.flows if f.errors),
                              "messages": model.counts["icmp_errors_tied"]}}
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
        c["gtp"] += f.tunnel is not None and f.tunnel["type"] == "gtp-u"
        c["vlan"] += f.vlan is not None
        c["icmp"] += f.l4 in (1, 58)
        c["icmp_types"] += sum(t is not None for t in f.icmp)
        c["icmp_errors"] += f.errors
    return c


def check_capture(binary, capture, mutate=None, known=None):
    """(name, problems, coverage, notes) for one capture; `known`: KNOWN, for the real-capture corpus."""
    name = os.path.basename(capture)
    frames, note = run_tshark(capture)
    if frames is None:
        return name, [note], collections.Counter(), []
    model, problems = build_model(frames)
    with tempfile.TemporaryDirectory(prefix="tshark_flows.") as tmp:
        records, summary, err = run_sealscope(binary, capture, tmp)
    if err:
        return name, problems + [err], collections.Counter(), []
    if mutate is not None:
        mutate(records, summary)
    notes = []
    covered = coverage(model)
    problems += compare(model, records, summary, note, notes, (known or {}).get(name), covered)
    covered["ties"] = sum(n.startswith("rounding tie") for n in notes)
    covered["known"] = sum(n.startswith("known") for n in notes)
    return name, problems, covered, [f"{name}: {n}" for n in notes]


def report(results):
    failed, total = 0, collections.Counter()
    for name, problems, covered, notes in results:
        total.update(covered)
        for n in notes:
            print(n)
        if problems:
            failed += 1
            print(f"FAIL {name}:")
            for p in problems[:25]:
                print(f"  {p}")
            if len(problems) > 25:
                print(f"  ... and {len(problems) - 25} more")
    print(f"{len(results) - failed} of {len(results)} captures equal to tshark's decoding, {failed} differ; "
          f"{total['flows']} flows ({total['tcp']} TCP, {total['icmp']} ICMP with {total['icmp_types']} first "
          f"types and codes, {total['icmp_errors']} ICMP errors tied to the flows they quote, {total['vlan']} with a VLAN, {total['tunnel']} in tunnels, "
          f"{total['gtp']} of them GTP-U) "
          f"of {total['packets']} packets compared, from {total['frames']} frames ({total['dropped']} dropped "
          f"as malformed); size, iat_ms and {total['splt']} SPLT entries; {total['named']} server names; "
          f"{total['tls']} tls objects ({total['version']} versions, {total['alpn']} ALPN lists, {total['ja3c']} "
          f"JA3, {total['ja3s']} JA3S); {total['known']} known nDPI gaps (KNOWN); {total['ties']} statistics "
          f"one digit apart at an exact rounding tie (floating point, replayed)")
    return 1 if failed else 0


def run_all(binary, captures, known=None):
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        return list(pool.map(lambda c: check_capture(binary, c, known=known), captures))


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

    def add(path, amount):
        # 0.004: more than the one last digit a rounding tie may differ by
        def change(r):
            node = r
            for p in path[:-1]:
                node = node[p]
            node[path[-1]] = round(node[path[-1]] + amount, 3)
        return change

    def splt_ms(r):
        r["splt"][1][2] += 1

    def put(path, value):
        def change(r):
            node = r
            for p in path[:-1]:
                node = node[p]
            node[path[-1]] = value(node[path[-1]])
        return change

    flip = lambda h: ("0" if h[0] != "0" else "1") + h[1:]  # noqa: E731  (one hex digit of a fingerprint)
    has_tls = lambda r: r["tls"] is not None  # noqa: E731

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
        ("tunnels.pcap", "VNI of the VXLAN records' tunnel +1",
         on_record(lambda r: r["tunnel"] and r["tunnel"]["type"] == "vxlan", bump(["tunnel", "vni"]))),
        ("tunnels.pcap", "an ERSPAN record's tunnel called GRE",
         on_record(lambda r: r["tunnel"] and r["tunnel"]["type"] == "erspan", put(["tunnel", "type"], lambda v: "gre"))),
        ("tunnels.pcap", "a GRE record's key null where it has one",
         on_record(lambda r: r["tunnel"] and r["tunnel"].get("key") is not None, put(["tunnel", "key"], lambda v: None))),
        ("tunnels.pcap", "the outer source of a TZSP record changed",
         on_record(lambda r: r["tunnel"] and r["tunnel"]["type"] == "tzsp",
                   put(["tunnel", "outer_src"], lambda v: "192.0.2.254"))),
        ("tunnels.pcap", "one gtp_too_deep more in the summary",
         lambda records, summary: summary["anomalies"].update(gtp_too_deep=summary["anomalies"]["gtp_too_deep"] + 1)),
        ("mixed.pcap", "the ICMP type of one record's replies changed",
         on_record(lambda r: r["l4"] == "icmp", put(["icmp", "down", "type"], lambda v: v + 1))),
        ("ipv6.pcap", "the ICMPv6 code of one record's first message changed",
         on_record(lambda r: r["l4"] == "icmpv6", put(["icmp", "up", "code"], lambda v: v + 1))),
        ("icmp-errors.pcap", "the count of ICMP errors tied to one record +1",
         on_record(lambda r: r["icmp_errors"], bump(["icmp_errors", "count"]))),
        ("icmp-errors.pcap", "a router's ICMP error said to come from the flow's other end",
         on_record(lambda r: r["icmp_errors"] and r["icmp_errors"]["from"] == "path",
                   put(["icmp_errors", "from"], lambda v: "peer"))),
        ("icmp-errors.pcap", "the ICMP error about a packet that went down said to be about one that went up",
         on_record(lambda r: r["icmp_errors"] and r["icmp_errors"]["dir"] == "down",
                   put(["icmp_errors", "dir"], lambda v: "up"))),
        ("icmp-errors.pcap", "the ICMP errors tied to one record left out",
         on_record(lambda r: r["icmp_errors"], put(["icmp_errors"], lambda v: None))),
        ("icmp-errors.pcap", "one ICMP error more in the summary",
         lambda records, summary: summary["icmp_errors"].update(messages=summary["icmp_errors"]["messages"] + 1)),
        ("vlan.pcap", "VLAN of one record +1", on_record(lambda r: r["vlan"] is not None, bump(["vlan"]))),
        ("fragments.pcap", "bytes.up of the fragmented flow +1",
         on_record(lambda r: r["l4"] == "udp", bump(["bytes", "up"]))),
        ("malformed.pcap", "one anomaly more in the summary", anomaly),
        ("mixed.pcap", "size.all.mean of one record +0.004",
         on_record(lambda r: True, add(["size", "all", "mean"], 0.004)), "size.all.mean"),
        ("mixed.pcap", "iat_ms.down.stddev of one record +0.004",
         on_record(lambda r: r["iat_ms"]["down"] is not None, add(["iat_ms", "down", "stddev"], 0.004)),
         "iat_ms.down.stddev"),
        ("mixed.pcap", "size.up.max of one record +1", on_record(tcp, add(["size", "up", "max"], 1)), "size.up.max"),
        ("mixed.pcap", "ms of one record's second SPLT entry +1",
         on_record(lambda r: len(r["splt"]) > 1, splt_ms), "splt entry 1"),
        ("tls-sni.pcap", "server_name of one TLS record changed",
         on_record(lambda r: r["server_name"], put(["server_name"], lambda v: "x" + v)), "server_name"),
        ("dns.pcap", "server_name of one DNS record changed",
         on_record(lambda r: r["server_name"], put(["server_name"], lambda v: v[:-1])), "server_name"),
        ("tls-sni.pcap", "tls.version of one record changed",
         on_record(has_tls, put(["tls", "version"], lambda v: "TLSv1.2" if v != "TLSv1.2" else "TLSv1.3")),
         "tls.version"),
        ("tls-sni.pcap", "tls.alpn of one record changed",
         on_record(has_tls, put(["tls", "alpn"], lambda v: "http/1.1" if v != "http/1.1" else "h2")), "tls.alpn"),
        ("tls-sni.pcap", "tls.ja3c of one record changed", on_record(has_tls, put(["tls", "ja3c"], flip)), "tls.ja3c"),
        ("tls-sni.pcap", "tls.ja3s of one record changed", on_record(has_tls, put(["tls", "ja3s"], flip)), "tls.ja3s"),
        ("tls-sni.pcap", "tls of one record null", on_record(has_tls, put(["tls"], lambda v: None)), "tls tshark"),
    ]
    failed = 0
    name, problems, _, _ = check_capture(binary, os.path.join(folder, "mixed.pcap"))
    if problems:
        print("FAIL: mixed.pcap differs before any mutation:", *problems[:5], sep="\n  ")
        return 1
    for capture, what, mutate, *field in cases:
        _, problems, _, _ = check_capture(binary, os.path.join(folder, capture), mutate)
        # Where the case names the field it changes, the difference reported must be in that field.
        problems = [p for p in problems if not field or field[0] in p]
        if problems:
            print(f"caught  {capture}: {what}: {problems[0]}")
        else:
            failed += 1
            print(f"MISSED  {capture}: {what}")
    # KNOWN lets through exactly the change it names, and an entry whose flow does not differ fails.
    flow = "tcp 192.0.2.10:51000 <-> 203.0.113.10:443"
    known = {"tls-sni.pcap": {(flow, "tls"): ({"ja3s": None}, "self-test")}}
    no_ja3s = on_record(lambda r: r["src_port"] == 51000, put(["tls", "ja3s"], lambda v: None))
    also_ja3c = on_record(lambda r: r["src_port"] == 51000, put(["tls", "ja3c"], flip))
    known_cases = [
        ("a KNOWN change met: nothing reported", lambda rs, sm: no_ja3s(rs, sm), None),
        ("a KNOWN change met and ja3c changed too", lambda rs, sm: (no_ja3s(rs, sm), also_ja3c(rs, sm)),
         "tls tshark with KNOWN's change"),
        ("a KNOWN entry whose flow is equal", None, "listed in KNOWN"),
    ]
    for what, mutate, want in known_cases:
        _, problems, _, _ = check_capture(binary, os.path.join(folder, "tls-sni.pcap"), mutate, known)
        ok = not problems if want is None else any(want in p for p in problems)
        failed += not ok
        print(f"{'caught ' if ok else 'MISSED '} tls-sni.pcap: {what}: {problems[0] if problems else 'no difference'}")
    total = len(cases) + len(known_cases)
    print(f"{total - failed} of {total} mutations caught")
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
    return report(run_all(binary, captures_in(folder), KNOWN if mode is None else None))


if __name__ == "__main__":
    sys.exit(main())
