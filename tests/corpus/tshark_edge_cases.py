#!/usr/bin/env python3
"""The tshark comparison (tshark_flows.py) on cases neither the corpus nor captures/ holds.

Writes one capture into a temporary folder (nothing is kept) with the cases below, checks that tshark's
decoding of it shows each case as meant (so the capture keeps testing what it says), then compares
sealscope's records and summary with the flow table built from tshark's fields, as tshark_flows.py does.

Cases: a TCP 5-tuple reused (closed by FIN, a stray ACK inside the close linger, a new SYN, an RST, a
packet after the linger); IPv6 fragments in and out of order; a UDP flow whose first datagram's last
fragment comes first (first_seen); a reply stamped before its request (first_seen); ICMPv6 behind a
destination options header; GTP-U with a sequence number and with an extension header; GTP-U in GTP-U
(taken apart), and four deep (one more than sealscope follows: gtp_too_deep); an ICMP error inside GTP-U
quoting UDP; the first fragment of a datagram to UDP port 2152 (not decapsulated); a frame cut by the snap
length; a UDP length past the IP payload; a TCP data offset below 5; a frame padded to 60 bytes; ARP; an
IPv4 total length of 0 (segmentation offload); QinQ with a 0x9100 outer tag; IP in IP (taken apart); IPv6
in UDP (Teredo's port); IPv6 over PPPoE; an orphan fragment; tunnels that stay the outer packet (a datagram
to VXLAN's port without the I flag; VXLAN, GRE, ERSPAN, TZSP and CAPWAP headers and an 802.11 header in
CAPWAP cut short; an IPv4 packet in VXLAN longer than the datagram holds); a TLS 1.3
handshake whose server name is longer than nDPI keeps, in mixed case, with a UTF-8 letter; an HTTP Host
in capitals with a port; a DNS name with UTF-8 letters.

Usage: tshark_edge_cases.py SEALSCOPE
Exit 0 equal, 1 a difference, 2 usage, 77 skipped (no tshark).
"""
import collections
import ipaddress
import os
import shutil
import struct
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tshark_flows  # noqa: E402

SYN, ACK, FIN, RST, PSH = 0x02, 0x10, 0x01, 0x04, 0x08
CLIENT, SERVER = "192.0.2.10", "198.51.100.40"
CELL, CORE, UE = "10.200.0.1", "10.200.0.254", "100.64.1.10"


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def ipv4(src, dst, proto, payload, ident=1, more=False, offset8=0, total=None):
    total = 20 + len(payload) if total is None else total
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, ident, (more << 13) | offset8, 64, proto, 0,
                    ipaddress.IPv4Address(src).packed, ipaddress.IPv4Address(dst).packed)
    return h[:10] + struct.pack("!H", checksum(h)) + h[12:] + payload


def ipv6(src, dst, nxt, payload):
    return (struct.pack("!IHBB", 0x60000000, len(payload), nxt, 64) + ipaddress.IPv6Address(src).packed +
            ipaddress.IPv6Address(dst).packed + payload)


def frag6(nxt, offset8, more, ident):
    return struct.pack("!BBHI", nxt, 0, (offset8 << 3) | more, ident)


def udp(sport, dport, data, length=None):
    return struct.pack("!HHHH", sport, dport, 8 + len(data) if length is None else length, 0) + data


def tcp(sport, dport, flags, data=b"", doff=5):
    return struct.pack("!HHIIBBHHH", sport, dport, 1, 0, doff << 4, flags, 1000, 0, 0) + data


def gtp(inner, teid, flags=0x30, extra=b""):
    return struct.pack("!BBHI", flags, 0xFF, len(extra) + len(inner), teid) + extra + inner


def eth(payload, ethertype=0x0800, tags=()):
    head = bytes.fromhex("00005e005301") + bytes.fromhex("00005e005302")
    for tpid, vid in tags:
        head += struct.pack("!HH", tpid, vid)
    return head + struct.pack("!H", ethertype) + payload


def write_pcap(path, frames):
    """frames: (seconds, bytes[, captured length])."""
    with open(path, "wb") as fh:
        fh.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for ts, data, *cut in frames:
            cap = data[:cut[0]] if cut else data
            us = round(ts * 1000000)
            fh.write(struct.pack("<IIII", us // 1000000, us % 1000000, len(cap), len(data)) + cap)


def tls_record(handshake_type, body):
    return struct.pack("!BHH", 22, 0x0301, 4 + len(body)) + struct.pack("!I", handshake_type << 24 | len(body)) + body


def extension(kind, data):
    return struct.pack("!HH", kind, len(data)) + data


def client_hello(sni, alpn):
    """A TLS 1.3 ClientHello offering `alpn`, with server name `sni` (bytes)."""
    protocols = b"".join(bytes([len(p)]) + p for p in alpn)
    exts = (extension(0, struct.pack("!HBH", len(sni) + 3, 0, len(sni)) + sni) +
            extension(10, struct.pack("!HHH", 4, 0x001D, 0x0017)) + extension(11, b"\x01\x00") +
            extension(16, struct.pack("!H", len(protocols)) + protocols) +
            extension(43, b"\x04\x03\x04\x03\x03"))
    body = (struct.pack("!H", 0x0303) + bytes(range(32)) + b"\x00" + struct.pack("!HHH", 4, 0x1301, 0xC02F) +
            b"\x01\x00" + struct.pack("!H", len(exts)) + exts)
    return tls_record(1, body)


def server_hello():
    """A TLS 1.3 ServerHello (supported_versions: TLS 1.3)."""
    exts = extension(43, b"\x03\x04")
    body = (struct.pack("!H", 0x0303) + bytes(range(32, 64)) + b"\x00" + struct.pack("!H", 0x1301) + b"\x00" +
            struct.pack("!H", len(exts)) + exts)
    return tls_record(2, body)


def dns_message(ident, name, answer=None):
    """A query for `name` (bytes, dotted), or its answer when `answer` (an IPv4 address) is given."""
    question = b"".join(bytes([len(p)]) + p for p in name.split(b".")) + b"\x00" + struct.pack("!HH", 1, 1)
    if answer is None:
        return struct.pack("!HHHHHH", ident, 0x0100, 1, 0, 0, 0) + question
    return (struct.pack("!HHHHHH", ident, 0x8180, 1, 1, 0, 0) + question +
            struct.pack("!HHHIH", 0xC00C, 1, 1, 60, 4) + ipaddress.IPv4Address(answer).packed)


# Names and handshakes: a ClientHello whose server name is 109 bytes, in mixed case, with a UTF-8 letter
# among its last 79 bytes; an HTTP Host in capitals with a port; a DNS name with UTF-8 letters.
LONG_SNI = b"Label" * 19 + "\u00e9".encode() + b".Example.COM"
HTTP_HOST = b"WWW.Example.COM:8080"
DNS_NAME = "\u00dcn\u00efcode.Example".encode()


def edge_frames():
    t0 = 1709294400.0
    f = []

    def add(dt, data, *cut):
        f.append((t0 + dt, data, *cut))

    # A TCP 5-tuple used three times: closed by FIN both ways (a stray ACK 10 s later stays in it, inside
    # the 60 s close linger), reopened by a SYN and reset, then a packet 89 s after the reset (a new flow
    # whose initiator is the server).
    for i, (up, flags) in enumerate([(1, SYN), (0, SYN | ACK), (1, ACK), (1, FIN | ACK), (0, FIN | ACK), (1, ACK)]):
        add(i * 0.01, eth(ipv4(CLIENT, SERVER, 6, tcp(40000, 80, flags)) if up else
                          ipv4(SERVER, CLIENT, 6, tcp(80, 40000, flags))))
    add(10, eth(ipv4(CLIENT, SERVER, 6, tcp(40000, 80, ACK))))
    add(11, eth(ipv4(CLIENT, SERVER, 6, tcp(40000, 80, SYN))))
    add(11.01, eth(ipv4(SERVER, CLIENT, 6, tcp(80, 40000, SYN | ACK))))
    add(11.02, eth(ipv4(CLIENT, SERVER, 6, tcp(40000, 80, RST | ACK))))
    add(100, eth(ipv4(SERVER, CLIENT, 6, tcp(80, 40000, PSH | ACK, b"late"))))
    # IPv6 fragments: one datagram in order, one last fragment first (the flow exists by then).
    dgram = udp(5000, 5001, b"z" * 100)
    for ident, order in ((77, (0, 1)), (78, (1, 0))):
        for k, n in enumerate(order):
            part = frag6(17, 0, 1, ident) + dgram[:64] if n == 0 else frag6(17, 8, 0, ident) + dgram[64:]
            add(101 + ident - 77 + k * 0.001, eth(ipv6("2001:db8::1", "2001:db8::2", 44, part), 0x86DD))
    # A UDP flow whose first datagram's last fragment comes 1 ms before its first fragment.
    dgram = udp(40001, 5004, b"y" * 2000)
    add(102.5, eth(ipv4(CLIENT, SERVER, 17, dgram[1480:], ident=7, offset8=185)))
    add(102.501, eth(ipv4(CLIENT, SERVER, 17, dgram[:1480], ident=7, more=True)))
    # A reply stamped 300 ms before its request (the capture's clock stepped back).
    add(102.9, eth(ipv4(CLIENT, SERVER, 17, udp(40002, 53, b"q" * 10))))
    add(102.6, eth(ipv4(SERVER, CLIENT, 17, udp(53, 40002, b"r" * 20))))
    # ICMPv6 echo behind a destination options header (8 bytes: PadN).
    opts = struct.pack("!BB", 58, 0) + bytes.fromhex("010400000000")
    add(103, eth(ipv6("2001:db8::1", "2001:db8::3", 60, opts + struct.pack("!BBHHH", 128, 0, 0, 1, 1) + b"p" * 16),
                 0x86DD))
    # GTP-U with a sequence number (12-byte header), and with a PDU session container extension header.
    add(104, eth(ipv4(CELL, CORE, 17, udp(2152, 2152, gtp(ipv4(UE, SERVER, 6, tcp(41000, 443, SYN)), 0x1111, 0x32,
                                                         struct.pack("!HBB", 7, 0, 0))))))
    ext = struct.pack("!HBB", 0, 0, 0x85) + struct.pack("!BBBB", 1, 0x10, 9, 0)
    add(104.01, eth(ipv4(CORE, CELL, 17, udp(2152, 2152, gtp(ipv4(SERVER, UE, 6, tcp(443, 41000, SYN | ACK)), 0x2222,
                                                            0x34, ext)))))
    # GTP-U in GTP-U: both taken apart, the flow in the outer tunnel. Four deep: the fourth is one more than
    # sealscope follows (gtp_too_deep), and the flow is the UDP datagram to 2152 inside the third.
    nested = gtp(ipv4("172.16.0.1", SERVER, 17, udp(1, 2, b"x")), 0x3333)
    deep = ipv4("100.64.1.11", SERVER, 17, udp(2152, 2152, nested))
    add(105, eth(ipv4(CELL, CORE, 17, udp(2152, 2152, gtp(deep, 0x4444)))))
    four = gtp(ipv4("172.16.4.1", "172.16.4.2", 17, udp(3, 4, b"y")), 0x7774)
    for teid, inner in ((0x7773, "172.16.3.1"), (0x7772, "172.16.2.1"), (0x7771, "172.16.1.1")):
        four = gtp(ipv4(inner, SERVER, 17, udp(2152, 2152, four)), teid)
    add(105.5, eth(ipv4(CELL, CORE, 17, udp(2152, 2152, four))))
    # An ICMP error inside GTP-U quoting a UDP header: the flow is the ICMP one, not the quoted one's.
    quoted = ipv4(SERVER, UE, 17, udp(53, 40003, b"q" * 4))[:28]
    error = ipv4(UE, SERVER, 1, struct.pack("!BBHI", 3, 3, 0, 0) + quoted)
    add(106, eth(ipv4(CELL, CORE, 17, udp(2152, 2152, gtp(error, 0x5555)))))
    # Cut by the snap length inside the payload; a UDP length past the IP payload; a TCP data offset of 4.
    add(107, eth(ipv4(CLIENT, SERVER, 6, tcp(40100, 443, PSH | ACK, b"d" * 500))), 64)
    add(108, eth(ipv4(CLIENT, SERVER, 17, udp(40200, 53, b"u" * 10, length=100))))
    add(109, eth(ipv4(CLIENT, SERVER, 6, tcp(40300, 80, ACK, doff=4) + b"\0" * 8)))
    # An empty UDP datagram in a frame padded to 60 bytes; ARP.
    add(110, eth(ipv4(CLIENT, SERVER, 17, udp(40400, 9, b""))) + b"\0" * 18)
    add(111, eth(bytes.fromhex("0001080006040001") + b"\0" * 20, 0x0806))
    # A 3000-byte TCP segment captured before segmentation offload (IPv4 total length 0).
    add(112, eth(ipv4(CLIENT, SERVER, 6, tcp(40500, 443, PSH | ACK, b"w" * 3000), total=0)))
    # QinQ with the old 0x9100 outer tag; IP in IP; IPv6 in UDP to Teredo's port; IPv6 over PPPoE.
    add(113, eth(ipv4(CLIENT, SERVER, 17, udp(40600, 53, b"v" * 12)), 0x0800, [(0x9100, 300), (0x8100, 10)]))
    add(114, eth(ipv4(CLIENT, SERVER, 4, ipv4("172.16.0.1", "172.16.0.2", 17, udp(1, 2, b"i" * 5)))))
    add(115, eth(ipv4(CLIENT, SERVER, 17, udp(40700, 3544, ipv6("2001::1", "2001::2", 59, b"")))))
    v6 = ipv6("2001:db8::5", "2001:db8::6", 17, udp(5, 6, b"k"))
    add(116, eth(struct.pack("!BBHH", 0x11, 0, 0x1234, 2 + len(v6)) + b"\x00\x57" + v6, 0x8864))
    # The first fragment of a datagram to UDP port 2152 is not decapsulated (and the rest follows it).
    g = udp(2152, 2152, gtp(ipv4(UE, SERVER, 17, udp(7, 8, b"f" * 40)), 0x6666))
    add(117, eth(ipv4(CELL, CORE, 17, g[:48], ident=99, more=True)))
    add(117.001, eth(ipv4(CELL, CORE, 17, g[48:], ident=99, offset8=6)))
    # A later fragment whose first fragment never comes.
    add(118, eth(ipv4(CLIENT, SERVER, 17, b"o" * 16, ident=555, offset8=10)))
    # Tunnels that stay the outer packet: a datagram to VXLAN's port without the I flag (no VXLAN); VXLAN,
    # GRE (K set, its key missing), ERSPAN type II, TZSP (tags without END) and CAPWAP (HLEN 4 words, 12
    # bytes sent) headers cut short; CAPWAP with 20 bytes of an 802.11 header; an IPv4 packet in VXLAN whose
    # total length is more than the datagram holds.
    inner_frame = eth(ipv4("172.16.9.1", "172.16.9.2", 17, udp(9, 10, b"v" * 8)))
    add(119, eth(ipv4(CLIENT, SERVER, 17, udp(40900, 4789, struct.pack("!II", 0, 77 << 8) + inner_frame))))
    add(119.1, eth(ipv4(CLIENT, SERVER, 17, udp(40901, 4789, b"\x08\x00\x00\x00\x00"))))
    add(119.2, eth(ipv4("203.0.113.201", "203.0.113.202", 47, struct.pack("!HH", 0x2000, 0x0800) + b"\x00\x00")))
    add(119.3, eth(ipv4("192.0.2.100", "192.0.2.200", 47, struct.pack("!HHI", 0x1000, 0x88BE, 1) + b"\x10\x00\x00\x07\x00")))
    add(119.4, eth(ipv4("192.0.2.150", "192.0.2.200", 17, udp(40150, 37008, b"\x01\x00\x00\x01\x0a\x01\xc8"))))
    add(119.5, eth(ipv4("203.0.113.100", "203.0.113.1", 17, udp(12223, 5247, bytes.fromhex("0020430000000000") + b"\x06\x00\x00\x5e"))))
    add(119.6, eth(ipv4("203.0.113.100", "203.0.113.1", 17, udp(12223, 5247, bytes.fromhex("0010430000000000") +
                                                                       bytes.fromhex("0801") + b"\x00" * 18))))
    long_inner = eth(ipv4("172.16.9.3", "172.16.9.4", 17, udp(9, 10, b"w" * 8), total=200))
    add(119.7, eth(ipv4(CLIENT, SERVER, 17, udp(40902, 4789, struct.pack("!II", 0x08000000, 78 << 8) + long_inner))))
    # TLS 1.3 handshake with a long server name; HTTP with a Host in capitals and a port; DNS with UTF-8.
    for i, (up, flags, data) in enumerate([(1, SYN, b""), (0, SYN | ACK, b""), (1, ACK, b""),
                                           (1, PSH | ACK, client_hello(LONG_SNI, [b"h2", b"http/1.1"])),
                                           (0, PSH | ACK, server_hello())]):
        add(120 + i * 0.01, eth(ipv4(CLIENT, SERVER, 6, tcp(40800, 443, flags, data)) if up else
                                ipv4(SERVER, CLIENT, 6, tcp(443, 40800, flags, data))))
    request = b"GET / HTTP/1.1\r\nHost: " + HTTP_HOST + b"\r\nAccept: */*\r\n\r\n"
    for i, (up, flags, data) in enumerate([(1, SYN, b""), (0, SYN | ACK, b""), (1, ACK, b""),
                                           (1, PSH | ACK, request)]):
        add(121 + i * 0.01, eth(ipv4(CLIENT, SERVER, 6, tcp(40900, 8080, flags, data)) if up else
                                ipv4(SERVER, CLIENT, 6, tcp(8080, 40900, flags, data))))
    add(122, eth(ipv4(CLIENT, SERVER, 17, udp(41000, 53, dns_message(9, DNS_NAME)))))
    add(122.01, eth(ipv4(SERVER, CLIENT, 17, udp(53, 41000, dns_message(9, DNS_NAME, "192.0.2.99")))))
    return f


def check_cases(model):
    """The capture shows each case as meant: problems (text) if not."""
    problems = []
    per_key = collections.Counter(f.key for f in model.flows)
    tcp80 = [f for f in model.flows if f.l4 == 6 and 80 in (f.initiator[1], f.responder[1])
             and 40000 in (f.initiator[1], f.responder[1])]
    if [(f.closing, f.packets) for f in tcp80] != [("fin", [5, 2]), ("rst", [2, 1]), (None, [1, 0])]:
        problems.append(f"TCP reuse: flows {[(f.closing, f.packets) for f in tcp80]}")
    late = [f for f in model.flows if f.initiator == (CLIENT, 40001)]
    if not late or late[0].first != tshark_flows.epoch_us("1709294502.500000"):
        problems.append("fragment first: the flow does not begin with the late first datagram's last fragment")
    back = [f for f in model.flows if f.initiator == (CLIENT, 40002)]
    if not back or back[0].first != tshark_flows.epoch_us("1709294502.600000"):
        problems.append("clock back: the flow does not begin with the reply")
    want = {"gtp_too_deep": 1, "udp_bad_length": 1, "tcp_bad_data_offset": 1, "ipv4_total_length_zero": 1,
            "fragment_orphan": 1, "timestamp_backwards": 1, "vxlan_truncated": 1, "gre_truncated": 1,
            "erspan_truncated": 1, "tzsp_truncated": 1, "capwap_truncated": 2, "ip_length_exceeds_packet": 1}
    got = {k: model.anomalies.get(k, 0) for k in want}
    if got != want:
        problems.append(f"anomalies: {got}, meant {want}")
    tunnels = sorted(f.tunnel["teid"] for f in model.flows if f.tunnel and f.tunnel["type"] == "gtp-u")
    if tunnels != [0x1111, 0x4444, 0x5555, 0x7771]:
        problems.append(f"tunnelled flows' TEIDs {tunnels}")
    deep = [f for f in model.flows if f.tunnel and f.tunnel.get("teid") == 0x7771]
    if not deep or deep[0].initiator != ("172.16.3.1", 2152):
        problems.append("GTP-U four deep: the flow is not the UDP datagram inside the third tunnel")
    ipip = [f for f in model.flows if f.tunnel and f.tunnel["type"] == "ip-in-ip"]
    if [f.initiator for f in ipip] != [("172.16.0.1", 1)]:
        problems.append(f"IP in IP: flows {[f.initiator for f in ipip]}")
    outer = {f.initiator for f in model.flows if f.tunnel is None}
    for end in [(CLIENT, 40900), (CLIENT, 40901), ("203.0.113.201", 0), ("192.0.2.100", 0), ("192.0.2.150", 40150),
                ("203.0.113.100", 12223), (CLIENT, 40902)]:
        if end not in outer:
            problems.append(f"the outer packet from {end} is in no flow of its own")
    if not any(f.vlan == 300 for f in model.flows):
        problems.append("QinQ: no flow with the 0x9100 tag's VLAN 300")
    if model.counts["fragments_attributed"] != 4 or model.counts["not_ip"] != 1:
        problems.append(f"counts {dict(model.counts)}")
    if max(per_key.values()) != 3:
        problems.append("no key with three flows")
    by_port = {f.initiator[1]: f for f in model.flows if f.l4 in (6, 17)}
    ch, sh = tshark_flows.hellos(by_port[40800]) if 40800 in by_port else (None, None)
    shown = LONG_SNI.decode("ascii", "replace").replace("?", "\ufffd")  # tshark reads the SNI as ASCII
    if not ch or ch["sni"] != shown or ch["alpn"] != ["h2", "http/1.1"] or not ch["ja3"]:
        problems.append(f"TLS: tshark's ClientHello {ch}")
    if not sh or sh["chosen"] != 0x0304 or not sh["ja3s"]:
        problems.append(f"TLS: tshark's ServerHello {sh}")
    if 40900 not in by_port or tshark_flows.expected_server_name(by_port[40900]) != "www.example.com":
        problems.append("HTTP: the Host is not read as www.example.com")
    if 41000 not in by_port or tshark_flows.expected_server_name(by_port[41000]) != "??n??code.example":
        problems.append("DNS: the query name is not read as ??n??code.example")
    return problems


def main():
    if len(sys.argv) != 2 or sys.argv[1].startswith("-"):
        print("\n".join(__doc__.strip().splitlines()[-2:-1]), file=sys.stderr)
        return 2
    if shutil.which("tshark") is None:
        print("SKIP: tshark not installed (Debian package tshark)")
        return 77
    with tempfile.TemporaryDirectory(prefix="tshark_edge.") as tmp:
        capture = os.path.join(tmp, "edge.pcap")
        write_pcap(capture, edge_frames())
        frames, _ = tshark_flows.run_tshark(capture)
        model, problems = tshark_flows.build_model(frames)
        problems += [f"case not as meant: {p}" for p in check_cases(model)]
        _, found, covered, _ = tshark_flows.check_capture(sys.argv[1], capture)
        problems += found
    for p in problems:
        print(f"  {p}")
    print(f"edge cases: {covered['flows']} flows of {covered['packets']} packets compared, from "
          f"{covered['frames']} frames ({covered['dropped']} dropped as malformed); {len(problems)} differences")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
