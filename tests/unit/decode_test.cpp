// Decoder tests: every link type, tags and encapsulations, IPv4/IPv6/TCP/UDP/ICMP field extraction, GTP-U,
// fragments, each specific anomaly, and a truncation sweep over every good frame. Frames are built byte by
// byte (packet_builder.hpp); expected values come from the headers the test wrote, never from a run.
#include <pcap/dlt.h>

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "decode/decoder.hpp"
#include "packet_builder.hpp"

using namespace sealscope;
using namespace sealscope::decode;
using sealscope::testing::Frame;
using sealscope::testing::GtpExt;
using sealscope::testing::ip;
using sealscope::testing::Ipv4Opts;
using sealscope::testing::L;
using sealscope::testing::PacketBuilder;

namespace {

struct Run {
  DecodeResult r;
  Packet p;
  AnomalyCounters a;
};

Run run(const Frame& f, int linktype, uint32_t caplen, uint32_t wirelen, DecoderOptions o = {}) {
  Run x;
  Decoder d(o);
  x.r = d.decode(linktype, f.ptr(), caplen, wirelen, x.p, x.a);
  return x;
}
Run run(const Frame& f, int linktype) { return run(f, linktype, f.size(), f.size()); }

bool only(const AnomalyCounters& a, Anomaly which) { return a.total() == 1 && a.get(which) == 1; }

/// The bounds every decode result must respect, whatever the input.
void check_bounds(const Run& x, const uint8_t* data, uint32_t caplen) {
  if (x.r != DecodeResult::Ok) return;
  REQUIRE(x.p.l3 != nullptr);
  CHECK(x.p.l3 >= data);
  CHECK(x.p.l3 + x.p.l3_caplen <= data + caplen);
  CHECK(x.p.l3_caplen <= x.p.ip_len);
  if (x.p.payload != nullptr) {
    CHECK(x.p.payload >= x.p.l3);
    CHECK(x.p.payload + x.p.payload_caplen <= data + caplen);
    CHECK(x.p.payload + x.p.payload_caplen <= x.p.l3 + x.p.l3_caplen);
  }
  CHECK(x.p.payload_caplen <= x.p.payload_len);
}

}  // namespace

// ---------------------------------------------------------------------------------------------------------
// Link types

TEST_CASE("decode: every supported link type carries the same IPv4/UDP packet", "[decode]") {
  struct Case {
    const char* name;
    int dlt;
    PacketBuilder b;
  };
  std::vector<Case> cases;
  cases.push_back({"EN10MB", DLT_EN10MB, PacketBuilder().eth()});
  cases.push_back({"LINUX_SLL", DLT_LINUX_SLL, PacketBuilder().sll()});
  cases.push_back({"LINUX_SLL2", DLT_LINUX_SLL2, PacketBuilder().sll2()});
  cases.push_back({"RAW", DLT_RAW, PacketBuilder()});
  cases.push_back({"IPV4", DLT_IPV4, PacketBuilder()});
  cases.push_back({"LINKTYPE_RAW(101)", 101, PacketBuilder()});
  cases.push_back({"NULL little-endian", DLT_NULL, PacketBuilder().null_link(true)});
  cases.push_back({"NULL big-endian", DLT_NULL, PacketBuilder().null_link(false)});
  cases.push_back({"LOOP", DLT_LOOP, PacketBuilder().null_link(false)});
  cases.push_back({"C_HDLC", DLT_C_HDLC, PacketBuilder().chdlc()});
  cases.push_back({"PPP", DLT_PPP, PacketBuilder().ppp()});
  cases.push_back({"PPP without address and control", DLT_PPP, PacketBuilder().ppp(false)});
  cases.push_back({"PPP_SERIAL", DLT_PPP_SERIAL, PacketBuilder().ppp()});
  cases.push_back({"IEEE802_11_RADIO", DLT_IEEE802_11_RADIO, PacketBuilder().wlan()});
  cases.push_back({"IEEE802_11_RADIO QoS data, 4 addresses", DLT_IEEE802_11_RADIO, PacketBuilder().wlan(true, true, true)});
  cases.push_back({"IEEE802_11", DLT_IEEE802_11, PacketBuilder().wlan(false, true)});
  for (Case& c : cases) {
    INFO(c.name);
    const Frame f = c.b.ipv4("10.0.0.1", "10.0.0.2").udp(1111, 2222).payload(10).build();
    const Run x = run(f, c.dlt);
    REQUIRE(x.r == DecodeResult::Ok);
    CHECK(x.a.total() == 0);
    CHECK(x.p.l3 == f.ptr() + f.off(L::Ipv4));
    CHECK(x.p.ip_version == 4);
    CHECK(x.p.src == ip("10.0.0.1"));
    CHECK(x.p.dst == ip("10.0.0.2"));
    CHECK(x.p.l4_proto == 17);
    CHECK(x.p.has_ports);
    CHECK(x.p.sport == 1111);
    CHECK(x.p.dport == 2222);
    CHECK(x.p.ip_len == 20 + 8 + 10);
    CHECK(x.p.l3_caplen == 20 + 8 + 10);
    CHECK(x.p.payload == f.ptr() + f.off(L::Payload));
    CHECK(x.p.payload_len == 10);
    CHECK(x.p.payload_caplen == 10);
    CHECK(x.p.vlan == kNoVlan);
    CHECK(x.p.tunnel.type == TunnelType::None);
  }
}

TEST_CASE("decode: IPv6 over raw, DLT_IPV6, NULL (all AF_INET6 values) and LOOP", "[decode]") {
  struct Case {
    const char* name;
    int dlt;
    PacketBuilder b;
  };
  std::vector<Case> cases;
  cases.push_back({"RAW", DLT_RAW, PacketBuilder()});
  cases.push_back({"IPV6", DLT_IPV6, PacketBuilder()});
  cases.push_back({"NULL LE Linux AF_INET6=10", DLT_NULL, PacketBuilder().null_link(true, 10)});
  cases.push_back({"NULL LE BSD AF_INET6=24", DLT_NULL, PacketBuilder().null_link(true, 24)});
  cases.push_back({"NULL BE FreeBSD AF_INET6=28", DLT_NULL, PacketBuilder().null_link(false, 28)});
  cases.push_back({"NULL LE macOS AF_INET6=30", DLT_NULL, PacketBuilder().null_link(true, 30)});
  cases.push_back({"LOOP OpenBSD AF_INET6=24", DLT_LOOP, PacketBuilder().null_link(false, 24)});
  cases.push_back({"SLL2", DLT_LINUX_SLL2, PacketBuilder().sll2()});
  for (Case& c : cases) {
    INFO(c.name);
    const Frame f = c.b.ipv6("2001:db8::1", "2001:db8::2").tcp(40000, 443, 0x18, 77).payload(33).build();
    const Run x = run(f, c.dlt);
    REQUIRE(x.r == DecodeResult::Ok);
    CHECK(x.a.total() == 0);
    CHECK(x.p.ip_version == 6);
    CHECK(x.p.l3 == f.ptr() + f.off(L::Ipv6));
    CHECK(x.p.src == ip("2001:db8::1"));
    CHECK(x.p.dst == ip("2001:db8::2"));
    CHECK(x.p.l4_proto == 6);
    CHECK(x.p.sport == 40000);
    CHECK(x.p.dport == 443);
    CHECK(x.p.tcp_flags == 0x18);
    CHECK(x.p.tcp_seq == 77);
    CHECK(x.p.ip_len == 40 + 20 + 33);
    CHECK(x.p.payload_len == 33);
    CHECK(x.p.payload == f.ptr() + f.off(L::Payload));
  }
}

TEST_CASE("decode: DLT_NULL with a non-IP family is NotIp, not an anomaly", "[decode]") {
  Frame f = PacketBuilder().null_link(true).ipv4("10.0.0.1", "10.0.0.2").udp(1, 2).build();
  f.data[0] = 7;  // AF 7 (neither AF_INET 2 nor any AF_INET6)
  const Run x = run(f, DLT_NULL);
  CHECK(x.r == DecodeResult::NotIp);
  CHECK(x.a.total() == 0);
}

TEST_CASE("decode: non-IP ethertypes (ARP, LLDP) are NotIp without anomaly", "[decode]") {
  for (uint16_t type : {uint16_t{0x0806}, uint16_t{0x88CC}, uint16_t{0x8863}}) {
    const Frame f = PacketBuilder().eth(type).payload(28).build(18);
    const Run x = run(f, DLT_EN10MB);
    CHECK(x.r == DecodeResult::NotIp);
    CHECK(x.a.total() == 0);
  }
}

TEST_CASE("decode: unknown link type is counted", "[decode]") {
  const Frame f = PacketBuilder().eth().ipv4("10.0.0.1", "10.0.0.2").udp(1, 2).build();
  const Run x = run(f, 147 /* DLT_USER0 */);
  CHECK(x.r == DecodeResult::Malformed);
  CHECK(only(x.a, Anomaly::UnknownLinkType));
  CHECK_FALSE(Decoder::supports(147));
  CHECK_FALSE(Decoder::supports(192 /* DLT_PPI */));
  for (int dlt : {DLT_EN10MB, DLT_LINUX_SLL, DLT_LINUX_SLL2, DLT_RAW, DLT_IPV4, DLT_IPV6, DLT_NULL, DLT_LOOP, DLT_PPP,
                  DLT_PPP_SERIAL, DLT_C_HDLC, DLT_IEEE802_11, DLT_IEEE802_11_RADIO}) {
    INFO(dlt);
    CHECK(Decoder::supports(dlt));
  }
}

TEST_CASE("decode: PPP protocols other than IP are NotIp, a compressed protocol field is read", "[decode]") {
  Frame lcp = PacketBuilder().ppp().ipv4("10.0.0.1", "10.0.0.2").udp(1, 2).build();
  lcp.put16(2, 0xC021);  // LCP
  const Run x = run(lcp, DLT_PPP);
  CHECK(x.r == DecodeResult::NotIp);
  CHECK(x.a.total() == 0);
  // Protocol-field compression: the one byte 0x21 is IPv4 (RFC 1661 §6.5).
  Frame full = PacketBuilder().ppp().ipv4("10.0.0.1", "10.0.0.2").udp(1, 2).payload(3).build();
  std::vector<uint8_t> pfc(full.data);
  pfc.erase(pfc.begin() + 2);  // drop the protocol's high byte (0x00)
  Packet p;
  AnomalyCounters a;
  REQUIRE(Decoder().decode(DLT_PPP, pfc.data(), static_cast<uint32_t>(pfc.size()), static_cast<uint32_t>(pfc.size()),
                           p, a) == DecodeResult::Ok);
  CHECK(p.l3 == pfc.data() + 3);
  CHECK(p.dport == 2);
}

TEST_CASE("decode: 802.11 frames without readable IP are NotIp, not anomalies", "[decode]") {
  const Frame f = PacketBuilder().wlan().ipv4("10.0.0.1", "10.0.0.2").udp(1, 2).payload(4).build();
  auto variant = [&](size_t at, uint8_t value) {
    Frame g = f;
    g.data.at(at) = value;
    return run(g, DLT_IEEE802_11_RADIO);
  };
  const size_t fc = 8;  // after the radiotap header
  CHECK(variant(fc + 1, 0x41).r == DecodeResult::NotIp);  // protected (WPA): the body is encrypted
  CHECK(variant(fc, 0x80).r == DecodeResult::NotIp);      // a beacon (management)
  CHECK(variant(fc, 0xD4).r == DecodeResult::NotIp);      // an ACK (control)
  CHECK(variant(fc, 0x48).r == DecodeResult::NotIp);      // null data: no body
  CHECK(variant(fc + 24, 0x42).r == DecodeResult::NotIp); // not LLC/SNAP
  const Run bad_rt = variant(2, 4);                        // radiotap length below its own 8 bytes
  CHECK(bad_rt.r == DecodeResult::Malformed);
  CHECK(only(bad_rt.a, Anomaly::LinkTruncated));
  const Run ok = run(f, DLT_IEEE802_11_RADIO);
  REQUIRE(ok.r == DecodeResult::Ok);
  CHECK(ok.p.l3 == f.ptr() + 8 + 24 + 8);
}

// ---------------------------------------------------------------------------------------------------------
// Tags and encapsulations

TEST_CASE("decode: 802.1Q tag gives the VLAN id without the PCP bits", "[decode]") {
  const Frame f = PacketBuilder().eth().vlan(100, 0x8100, 7).ipv4("10.0.0.1", "10.0.0.2").udp(5, 6).build();
  const Run x = run(f, DLT_EN10MB);
  REQUIRE(x.r == DecodeResult::Ok);
  CHECK(x.p.vlan == 100);  // TCI 0xE064: PCP 7 must be masked off
  CHECK(x.p.l3 == f.ptr() + 18);
  CHECK(x.p.sport == 5);
}

TEST_CASE("decode: QinQ keeps the OUTER VLAN id (802.1ad, and the old 0x9100 TPID)", "[decode]") {
  for (uint16_t tpid : {uint16_t{0x88A8}, uint16_t{0x9100}}) {
    const Frame f = PacketBuilder()
                        .eth()
                        .vlan(200, tpid)
                        .vlan(100)
                        .ipv6("fe80::1", "fe80::2")
                        .udp(5353, 5353)
                        .payload(4)
                        .build();
    const Run x = run(f, DLT_EN10MB);
    REQUIRE(x.r == DecodeResult::Ok);
    CHECK(x.p.vlan == 200);
    CHECK(x.p.l3 == f.ptr() + 22);
    CHECK(x.p.ip_version == 6);
  }
}

TEST_CASE("decode: VLAN over Linux cooked capture", "[decode]") {
  const Frame f = PacketBuilder().sll().vlan(42).ipv4("10.0.0.1", "10.0.0.2").udp(5, 6).build();
  const Run x = run(f, DLT_LINUX_SLL);
  REQUIRE(x.r == DecodeResult::Ok);
  CHECK(x.p.vlan == 42);
}

TEST_CASE("decode: 8 stacked tags are followed, a 9th is vlan_too_deep", "[decode]") {
  PacketBuilder b8;
  b8.eth();
  for (int i = 0; i < 8; ++i) b8.vlan(static_cast<uint16_t>(10 + i));
  const Run ok = run(b8.ipv4("10.0.0.1", "10.0.0.2").udp(5, 6).build(), DLT_EN10MB);
  REQUIRE(ok.r == DecodeResult::Ok);
  CHECK(ok.p.vlan == 10);
  CHECK(ok.a.total() == 0);

  PacketBuilder b9;
  b9.eth();
  for (int i = 0; i < 9; ++i) b9.vlan(static_cast<uint16_t>(10 + i));
  const Run bad = run(b9.ipv4("10.0.0.1", "10.0.0.2").udp(5, 6).build(), DLT_EN10MB);
  CHECK(bad.r == DecodeResult::Malformed);
  CHECK(only(bad.a, Anomaly::VlanTooDeep));
}

TEST_CASE("decode: PPPoE session carrying IPv4 and IPv6", "[decode]") {
  const Frame f4 = PacketBuilder().eth().pppoe().ipv4("100.64.0.1", "8.8.8.8").udp(3333, 53).payload(20).build();
  const Run x4 = run(f4, DLT_EN10MB);
  REQUIRE(x4.r == DecodeResult::Ok);
  CHECK(x4.p.l3 == f4.ptr() + 14 + 8);  // 6-byte PPPoE header + 2-byte PPP protocol
  CHECK(x4.p.dst == ip("8.8.8.8"));
  CHECK(x4.p.dport == 53);

  const Frame f6 = PacketBuilder().eth().pppoe().ipv6("2001:db8::a", "2001:db8::b").icmp(128, 0).build();
  const Run x6 = run(f6, DLT_EN10MB);
  REQUIRE(x6.r == DecodeResult::Ok);
  CHECK(x6.p.l4_proto == 58);
  CHECK(x6.p.icmp_type == 128);
  CHECK(x6.p.payload_len == 4);  // ICMPv6 echo: identifier + sequence after the 4-byte header

  Frame lcp = PacketBuilder().eth().pppoe().ipv4("1.1.1.1", "2.2.2.2").build();
  lcp.put16(14 + 6, 0xC021);  // PPP LCP, not IP
  CHECK(run(lcp, DLT_EN10MB).r == DecodeResult::NotIp);
}

TEST_CASE("decode: MPLS label stack popped to the bottom, then IP by version nibble", "[decode]") {
  const Frame f = PacketBuilder()
                      .eth()
                      .mpls(1000, false)
                      .mpls(2000, true)
                      .ipv4("10.1.1.1", "10.2.2.2")
                      .tcp(1234, 80, 0x02)
                      .build();
  const Run x = run(f, DLT_EN10MB);
  REQUIRE(x.r == DecodeResult::Ok);
  CHECK(x.p.l3 == f.ptr() + 14 + 8);
  CHECK(x.p.sport == 1234);
  CHECK(x.p.tcp_flags == 0x02);

  const Frame f6 = PacketBuilder().eth().mpls(16, true).ipv6("2001:db8::1", "2001:db8::2").udp(1, 2).build();
  const Run x6 = run(f6, DLT_EN10MB);
  REQUIRE(x6.r == DecodeResult::Ok);
  CHECK(x6.p.ip_version == 6);

  // Ethernet pseudowire control word (first nibble 0) after the stack: not IP.
  const Frame pw = PacketBuilder().eth().mpls(16, true).payload(40, 0x00).build();
  const Run xp = run(pw, DLT_EN10MB);
  CHECK(xp.r == DecodeResult::NotIp);
  CHECK(xp.a.total() == 0);

  // Nine labels without the bottom-of-stack bit: more than the decoder follows (8).
  PacketBuilder deep;
  deep.eth();
  for (int i = 0; i < 9; ++i) deep.mpls(static_cast<uint32_t>(100 + i), false);
  const Run xd = run(deep.ipv4("10.0.0.1", "10.0.0.2").udp(1, 2).build(), DLT_EN10MB);
  CHECK(xd.r == DecodeResult::Malformed);
  CHECK(only(xd.a, Anomaly::EncapTruncated));
}

// ---------------------------------------------------------------------------------------------------------
// IPv4 / IPv6 / L4 fields

TEST_CASE("decode: IPv4 with options and TCP with options: offsets and lengths", "[decode]") {
  Ipv4Opts o;
  o.options = {0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x00};  // NOPs + EOL: IHL 7
  o.df = true;
  const Frame f = PacketBuilder()
                      .eth()
                      .ipv4("192.0.2.1", "198.51.100.7", o)
                      .tcp(49152, 8443, 0x12, 0xA1B2C3D4, 1, 12)
                      .payload(30)
                      .build();
  const Run x = run(f, DLT_EN10MB);
  REQUIRE(x.r == DecodeResult::Ok);
  CHECK(x.a.total() == 0);
  CHECK(x.p.ip_len == 28 + 32 + 30);
  CHECK(x.p.l3_caplen == 28 + 32 + 30);
  CHECK(x.p.payload == x.p.l3 + 28 + 32);
  CHECK(x.p.payload_len == 30);
  CHECK(x.p.payload_caplen == 30);
  CHECK(x.p.tcp_flags == (tcp_flag::SYN | tcp_flag::ACK));
  CHECK(x.p.tcp_seq == 0xA1B2C3D4u);
  CHECK_FALSE(x.p.fragmented);  // DF alone is not fragmentation
}

TEST_CASE("decode: Ethernet padding is not part of the IP packet", "[decode]") {
  // 14 + 20 + 8 + 2 = 44 bytes; Ethernet pads to 60. The IP length (30) bounds what nDPI may read.
  const Frame f = PacketBuilder().eth().ipv4("10.0.0.1", "10.0.0.2").udp(1000, 53).payload(2).build(16);
  REQUIRE(f.size() == 60);
  const Run x = run(f, DLT_EN10MB);
  REQUIRE(x.r == DecodeResult::Ok);
  CHECK(x.a.total() == 0);
  CHECK(x.p.ip_len == 30);
  CHECK(x.p.l3_caplen == 30);
  CHECK(x.p.payload_len == 2);
  CHECK(x.p.payload_caplen == 2);

  // Same for IPv6: 14 + 40 + 0-byte... use ICMPv6 echo (8): 62 bytes, pad to 64 as some NICs do.
  const Frame f6 = PacketBuilder().eth().ipv6("fe80::1", "fe80::2").icmp(135, 0).build(2);
  const Run x6 = run(f6, DLT_EN10MB);
  REQUIRE(x6.r == DecodeResult::Ok);
  CHECK(x6.p.ip_len == 48);
  CHECK(x6.p.l3_caplen == 48);
  CHECK(x6.p.icmp_type == 135);
}

TEST_CASE("decode: snaplen-truncated capture (wirelen > caplen) is not an anomaly", "[decode]") {
  const Frame f = PacketBuilder().eth().ipv4("10.0.0.1", "10.0.0.2").tcp(1, 2, 0x10).payload(1000).build();
  const uint32_t caplen = 14 + 20 + 20 + 100;
  const Run x = run(f, DLT_EN10MB, caplen, f.size());
  REQUIRE(x.r == DecodeResult::Ok);
  CHECK(x.a.total() == 0);
  CHECK(x.p.ip_len == 1040);        // what the header says: the flow's bytes
  CHECK(x.p.l3_caplen == 140);      // what was captured: what nDPI may read
  CHECK(x.p.payload_len == 1000);
  CHECK(x.p.payload_caplen == 100);

  // IPv6 + UDP cut by snaplen in the payload.
  const Frame f6 = PacketBuilder().eth().ipv6("2001:db8::1", "2001:db8::2").udp(1, 2).payload(500).build();
  const Run x6 = run(f6, DLT_EN10MB, 14 + 40 + 8 + 10, f6.size());
  REQUIRE(x6.r == DecodeResult::Ok);
  CHECK(x6.a.total() == 0);
  CHECK(x6.p.ip_len == 548);
  CHECK(x6.p.payload_len == 500);
  CHECK(x6.p.payload_caplen == 10);

  // Cut inside the TCP options: the header fields are there, the payload starts past the capture.
  const Frame fo = PacketBuilder().eth().ipv4("10.0.0.1", "10.0.0.2").tcp(7, 8, 0x02, 1, 0, 20).payload(9).build();
  const Run xo = run(fo, DLT_EN10MB, 14 + 20 + 24, fo.size());
  REQUIRE(xo.r == DecodeResult::Ok);
  CHECK(xo.p.sport == 7);
  CHECK(xo.p.payload_caplen == 0);
  CHECK(xo.p.payload_len == 9);
}

TEST_CASE("decode: ICMP type/code and UDP length shorter than the IP payload", "[decode]") {
  const Frame fi = PacketBuilder().eth().ipv4("10.0.0.1", "10.0.0.2").icmp(3, 13).payload(28).build();
  const Run xi = run(fi, DLT_EN10MB);
  REQUIRE(xi.r == DecodeResult::Ok);
  CHECK(xi.p.icmp_type == 3);
  CHECK(xi.p.icmp_code == 13);
  CHECK_FALSE(xi.p.has_ports);
  CHECK(xi.p.payload_len == 4 + 28);

  // UDP length 8+4 inside a 20-byte IP payload: the UDP length wins for the payload.
  Frame fu = PacketBuilder().eth().ipv4("10.0.0.1", "10.0.0.2").udp(9, 10).payload(12).build();
  fu.put16(fu.off(L::Udp) + 4, 12);
  const Run xu = run(fu, DLT_EN10MB);
  REQUIRE(xu.r == DecodeResult::Ok);
  CHECK(xu.p.payload_len == 4);
  CHECK(xu.p.payload_caplen == 4);
}

// ---------------------------------------------------------------------------------------------------------
// Specific anomalies

TEST_CASE("decode: IPv4 header anomalies", "[decode][anomaly]") {
  const Frame good = PacketBuilder().eth().ipv4("10.0.0.1", "10.0.0.2").udp(1, 2).payload(10).build();
  const size_t l3 = good.off(L::Ipv4);

  SECTION("IHL below 5") {
    Frame f = good;
    f.data[l3] = 0x44;  // version 4, IHL 4 (16 bytes)
    const Run x = run(f, DLT_EN10MB);
    CHECK(x.r == DecodeResult::Malformed);
    CHECK(only(x.a, Anomaly::Ipv4BadHeaderLength));
  }
  SECTION("IHL past the capture") {
    Frame f = good;
    f.data[l3] = 0x4F;  // 60-byte header, but only 38 bytes of IP were captured
    const Run x = run(f, DLT_EN10MB);
    CHECK(x.r == DecodeResult::Malformed);
    CHECK(only(x.a, Anomaly::Ipv4HeaderTruncated));
  }
  SECTION("total length below the header length") {
    Frame f = good;
    f.put16(l3 + 2, 19);
    const Run x = run(f, DLT_EN10MB);
    CHECK(x.r == DecodeResult::Malformed);
    CHECK(only(x.a, Anomaly::Ipv4BadTotalLength));
  }
  SECTION("total length 0 (segmentation offload): the frame's IP bytes, packet kept") {
    Frame f = good;
    f.put16(l3 + 2, 0);
    const Run x = run(f, DLT_EN10MB);
    REQUIRE(x.r == DecodeResult::Ok);
    CHECK(only(x.a, Anomaly::Ipv4TotalLengthZero));
    CHECK(x.p.ip_len == good.ip_end - l3);
    CHECK(x.p.sport == 1);
    CHECK(x.p.payload_len == 10);
  }
  SECTION("total length past the wire length") {
    Frame f = good;
    f.put16(l3 + 2, static_cast<uint16_t>(good.ip_end - l3 + 1));
    const Run x = run(f, DLT_EN10MB);
    CHECK(x.r == DecodeResult::Malformed);
    CHECK(only(x.a, Anomaly::IpLengthExceedsPacket));
  }
  SECTION("version nibble neither 4 nor 6") {
    Frame f = good;
    f.data[l3] = 0x55;
    const Run x = run(f, DLT_EN10MB);
    CHECK(x.r == DecodeResult::Malformed);
    CHECK(only(x.a, Anomaly::BadIpVersion));
  }
}

TEST_CASE("decode: IPv6 payload length past the wire length", "[decode][anomaly]") {
  Frame f = PacketBuilder().eth().ipv6("2001:db8::1", "2001:db8::2").udp(1, 2).payload(10).build();
  f.put16(f.off(L::Ipv6) + 4, 19);  // 18 bytes follow the fixed header
  const Run x = run(f, DLT_EN10MB);
  CHECK(x.r == DecodeResult::Malformed);
  CHECK(only(x.a, Anomaly::IpLengthExceedsPacket));
}

TEST_CASE("decode: TCP data offset anomalies", "[decode][anomaly]") {
  const Frame good = PacketBuilder().eth().ipv4("10.0.0.1", "10.0.0.2").tcp(1, 2, 0x10).payload(10).build();
  const size_t t = good.off(L::Tcp);
  SECTION("data offset below 5") {
    Frame f = good;
    f.data[t + 12] = 0x40;
    const Run x = run(f, DLT_EN10MB);
    CHECK(x.r == DecodeResult::Malformed);
    CHECK(only(x.a, Anomaly::TcpBadDataOffset));
  }
  SECTION("data offset past the segment") {
    Frame f = good;
    f.data[t + 12] = 0xF0;  // 60 bytes, the segment has 30
    const Run x = run(f, DLT_EN10MB);
    CHECK(x.r == DecodeResult::Malformed);
    CHECK(only(x.a, Anomaly::TcpBadDataOffset));
  }
  SECTION("data offset exactly the segment: no payload, fine") {
    Frame f = good;
    f.data[t + 12] = 0x70;  // 28 bytes <= 30
    const Run x = run(f, DLT_EN10MB);
    REQUIRE(x.r == DecodeResult::Ok);
    CHECK(x.p.payload_len == 2);
  }
}

TEST_CASE("decode: UDP length anomalies", "[decode][anomaly]") {
  const Frame good = PacketBuilder().eth().ipv4("10.0.0.1", "10.0.0.2").udp(1, 2).payload(10).build();
  const size_t u = good.off(L::Udp);
  SECTION("UDP length below 8") {
    Frame f = good;
    f.put16(u + 4, 7);
    const Run x = run(f, DLT_EN10MB);
    CHECK(x.r == DecodeResult::Malformed);
    CHECK(only(x.a, Anomaly::UdpBadLength));
  }
  SECTION("UDP length past the IP payload") {
    Frame f = good;
    f.put16(u + 4, 19);
    const Run x = run(f, DLT_EN10MB);
    CHECK(x.r == DecodeResult::Malformed);
    CHECK(only(x.a, Anomaly::UdpBadLength));
  }
}

TEST_CASE("decode: IPv6 extension header chain", "[decode][anomaly]") {
  SECTION("hop-by-hop, routing, destination options, then UDP") {
    const Frame f = PacketBuilder()
                        .eth()
                        .ipv6("2001:db8::1", "2001:db8::2")
                        .ipv6_ext(0)
                        .ipv6_ext(43, 3)
                        .ipv6_ext(60, 2)
                        .udp(546, 547)
                        .payload(6)
                        .build();
    const Run x = run(f, DLT_EN10MB);
    REQUIRE(x.r == DecodeResult::Ok);
    CHECK(x.p.l4_proto == 17);
    CHECK(x.p.sport == 546);
    CHECK(x.p.payload == f.ptr() + f.off(L::Payload));
    CHECK(x.p.payload == x.p.l3 + 40 + 8 + 24 + 16 + 8);
    CHECK(x.p.ip_len == 40 + 48 + 8 + 6);
  }
  SECTION("16 extension headers are followed, 17 are too many") {
    PacketBuilder b16;
    b16.eth().ipv6("2001:db8::1", "2001:db8::2");
    for (int i = 0; i < 16; ++i) b16.ipv6_ext(60);
    const Run ok = run(b16.udp(1, 2).build(), DLT_EN10MB);
    REQUIRE(ok.r == DecodeResult::Ok);
    CHECK(ok.p.l4_proto == 17);
    CHECK(ok.p.dport == 2);

    PacketBuilder b17;
    b17.eth().ipv6("2001:db8::1", "2001:db8::2");
    for (int i = 0; i < 17; ++i) b17.ipv6_ext(60);
    const Run bad = run(b17.udp(1, 2).build(), DLT_EN10MB);
    CHECK(bad.r == DecodeResult::Malformed);
    CHECK(only(bad.a, Anomaly::Ipv6ExtChainTooLong));
  }
  SECTION("an extension header that runs past the packet") {
    Frame f = PacketBuilder().eth().ipv6("2001:db8::1", "2001:db8::2").ipv6_ext(0).udp(1, 2).build();
    f.data[f.off(L::Ipv6Ext) + 1] = 10;  // claims 88 bytes; the IPv6 payload is 16
    const Run x = run(f, DLT_EN10MB);
    CHECK(x.r == DecodeResult::Malformed);
    CHECK(only(x.a, Anomaly::Ipv6ExtTruncated));
  }
  SECTION("AH length is in 4-byte units plus 2") {
    Frame f = PacketBuilder().eth().ipv6("2001:db8::1", "2001:db8::2").ipv6_ext(51, 2).udp(7, 8).build();
    f.data[f.off(L::Ipv6Ext) + 1] = 2;  // AH: (2 + 2) * 4 = 16 bytes = the two 8-byte units written
    const Run x = run(f, DLT_EN10MB);
    REQUIRE(x.r == DecodeResult::Ok);
    CHECK(x.p.sport == 7);
  }
}

TEST_CASE("decode: truncated L4 headers", "[decode][anomaly]") {
  // Wire and capture both end inside the L4 header, with the IP length agreeing: the L4 header itself
  // is short (not a capture cut).
  const Frame tcp = PacketBuilder().eth().ipv4("10.0.0.1", "10.0.0.2").tcp(1, 2, 0x02).build();
  Frame t = tcp;
  t.data.resize(t.data.size() - 1);
  t.put16(t.off(L::Ipv4) + 2, 20 + 19);
  CHECK(only(run(t, DLT_EN10MB).a, Anomaly::TcpHeaderTruncated));

  Frame u = PacketBuilder().eth().ipv4("10.0.0.1", "10.0.0.2").udp(1, 2).build();
  u.data.resize(u.data.size() - 1);
  u.put16(u.off(L::Ipv4) + 2, 20 + 7);
  CHECK(only(run(u, DLT_EN10MB).a, Anomaly::UdpHeaderTruncated));

  Frame i = PacketBuilder().eth().ipv4("10.0.0.1", "10.0.0.2").icmp(8, 0).build();
  i.data.resize(i.data.size() - 5);
  i.put16(i.off(L::Ipv4) + 2, 20 + 3);
  CHECK(only(run(i, DLT_EN10MB).a, Anomaly::IcmpTruncated));
}

// ---------------------------------------------------------------------------------------------------------
// GTP-U

TEST_CASE("decode: GTP-U G-PDU is decapsulated, outer addresses and TEID kept", "[decode][gtp]") {
  const Frame f = PacketBuilder()
                      .eth()
                      .vlan(300)
                      .ipv4("172.16.0.1", "172.16.0.2")
                      .udp(2152, 2152)
                      .gtpu(0xCAFEF00D)
                      .ipv4("10.45.0.7", "93.184.216.34")
                      .tcp(51000, 443, 0x02)
                      .payload(12)
                      .build();
  const Run x = run(f, DLT_EN10MB);
  REQUIRE(x.r == DecodeResult::Ok);
  CHECK(x.a.total() == 0);
  CHECK(x.p.vlan == 300);
  CHECK(x.p.tunnel.type == TunnelType::GtpU);
  CHECK(x.p.tunnel.has_id);
  CHECK(x.p.tunnel.id == 0xCAFEF00Du);
  CHECK(x.p.tunnel.outer_src == ip("172.16.0.1"));
  CHECK(x.p.tunnel.outer_dst == ip("172.16.0.2"));
  CHECK(x.p.l3 == f.ptr() + f.off(L::Ipv4, 1));
  CHECK(x.p.src == ip("10.45.0.7"));
  CHECK(x.p.dst == ip("93.184.216.34"));
  CHECK(x.p.sport == 51000);
  CHECK(x.p.dport == 443);
  CHECK(x.p.ip_len == 20 + 20 + 12);  // the inner IP length, not the outer
  CHECK(x.p.payload_len == 12);
}

TEST_CASE("decode: GTP-U with sequence number and with an extension header chain", "[decode][gtp]") {
  SECTION("S flag: 12-byte header") {
    const Frame f = PacketBuilder()
                        .eth()
                        .ipv4("172.16.0.1", "172.16.0.2")
                        .udp(2152, 2152)
                        .gtpu(5, {}, true)
                        .ipv6("2001:db8::7", "2001:db8::8")
                        .udp(4000, 4001)
                        .build();
    const Run x = run(f, DLT_EN10MB);
    REQUIRE(x.r == DecodeResult::Ok);
    CHECK(x.a.total() == 0);
    CHECK(x.p.ip_version == 6);
    CHECK(x.p.l3 == f.ptr() + f.off(L::Ipv6));
    CHECK(x.p.sport == 4000);
  }
  SECTION("E flag: PDU session container (1 unit) then a 2-unit header") {
    const Frame f = PacketBuilder()
                        .eth()
                        .ipv4("172.16.0.1", "172.16.0.2")
                        .udp(40000, 2152)
                        .gtpu(6, {GtpExt{0x85, 1}, GtpExt{0x40, 2}})
                        .ipv4("10.45.0.7", "10.45.0.8")
                        .udp(1, 2)
                        .payload(3)
                        .build();
    const Run x = run(f, DLT_EN10MB);
    REQUIRE(x.r == DecodeResult::Ok);
    CHECK(x.a.total() == 0);
    CHECK(x.p.l3 == f.ptr() + f.off(L::Gtp) + 12 + 4 + 8);
    CHECK(x.p.tunnel.id == 6);
    CHECK(x.p.src == ip("10.45.0.7"));
    CHECK(x.p.payload_len == 3);
  }
  SECTION("an extension header of length 0 is malformed: counted, packet stays the outer UDP") {
    Frame f = PacketBuilder()
                  .eth()
                  .ipv4("172.16.0.1", "172.16.0.2")
                  .udp(2152, 2152)
                  .gtpu(6, {GtpExt{0x85, 1}})
                  .ipv4("10.45.0.7", "10.45.0.8")
                  .udp(1, 2)
                  .build();
    f.data[f.off(L::Gtp) + 12] = 0;
    const Run x = run(f, DLT_EN10MB);
    REQUIRE(x.r == DecodeResult::Ok);
    CHECK(only(x.a, Anomaly::GtpTruncated));
    CHECK(x.p.tunnel.type == TunnelType::None);
    CHECK(x.p.src == ip("172.16.0.1"));
    CHECK(x.p.dport == 2152);
  }
}

TEST_CASE("decode: truncated GTP-U is counted and decodes as the outer UDP", "[decode][gtp]") {
  // The outer UDP length says the GTP header is 5 bytes long (less than the 8 a GTP-U header has).
  Frame f = PacketBuilder()
                .eth()
                .ipv4("172.16.0.1", "172.16.0.2")
                .udp(2152, 2152)
                .gtpu(9)
                .ipv4("10.0.0.1", "10.0.0.2")
                .udp(1, 2)
                .build();
  const size_t u = f.off(L::Udp);
  f.data.resize(u + 8 + 5);
  f.put16(u + 4, 8 + 5);
  f.put16(f.off(L::Ipv4) + 2, static_cast<uint16_t>(20 + 8 + 5));
  const Run x = run(f, DLT_EN10MB);
  REQUIRE(x.r == DecodeResult::Ok);
  CHECK(only(x.a, Anomaly::GtpTruncated));
  CHECK(x.p.tunnel.type == TunnelType::None);
  CHECK(x.p.src == ip("172.16.0.1"));
  CHECK(x.p.sport == 2152);
  CHECK(x.p.payload_len == 5);
}

TEST_CASE("decode: GTP-U in GTP-U: the second level is gtp_too_deep", "[decode][gtp]") {
  const Frame f = PacketBuilder()
                      .eth()
                      .ipv4("172.16.0.1", "172.16.0.2")
                      .udp(2152, 2152)
                      .gtpu(111)
                      .ipv4("10.10.0.1", "10.10.0.2")
                      .udp(2152, 2152)
                      .gtpu(222)
                      .ipv4("10.45.0.7", "10.45.0.8")
                      .tcp(1, 2, 0x02)
                      .build();
  const Run x = run(f, DLT_EN10MB);
  REQUIRE(x.r == DecodeResult::Ok);
  CHECK(only(x.a, Anomaly::GtpTooDeep));
  // The packet is what the first decapsulation found: the middle UDP flow, in the outer tunnel.
  CHECK(x.p.l3 == f.ptr() + f.off(L::Ipv4, 1));
  CHECK(x.p.src == ip("10.10.0.1"));
  CHECK(x.p.l4_proto == 17);
  CHECK(x.p.dport == 2152);
  CHECK(x.p.tunnel.id == 111);
  CHECK(x.p.tunnel.outer_src == ip("172.16.0.1"));
}

TEST_CASE("decode: GTP-U decapsulation can be turned off", "[decode][gtp]") {
  const Frame f = PacketBuilder()
                      .eth()
                      .ipv4("172.16.0.1", "172.16.0.2")
                      .udp(2152, 2152)
                      .gtpu(1)
                      .ipv4("10.0.0.1", "10.0.0.2")
                      .udp(1, 2)
                      .build();
  DecoderOptions o;
  o.decode_gtp = false;
  const Run x = run(f, DLT_EN10MB, f.size(), f.size(), o);
  REQUIRE(x.r == DecodeResult::Ok);
  CHECK(x.p.tunnel.type == TunnelType::None);
  CHECK(x.p.src == ip("172.16.0.1"));
  CHECK(x.p.payload_len == 8 + 20 + 8);
}

// ---------------------------------------------------------------------------------------------------------
// Fragments

TEST_CASE("decode: IPv4 fragments", "[decode][frag]") {
  SECTION("first fragment: ports, fragmented, UDP length of the whole datagram accepted") {
    Ipv4Opts o;
    o.id = 0xBEEF;
    o.mf = true;
    Frame f = PacketBuilder().eth().ipv4("10.0.0.1", "10.0.0.2", o).udp(5000, 5001).payload(64).build();
    f.put16(f.off(L::Udp) + 4, 8 + 64 + 80);  // the datagram continues in a later fragment
    const Run x = run(f, DLT_EN10MB);
    REQUIRE(x.r == DecodeResult::Ok);
    CHECK(x.a.total() == 0);
    CHECK(x.p.fragmented);
    CHECK_FALSE(x.p.later_fragment);
    CHECK(x.p.frag_id == 0xBEEF);
    CHECK(x.p.has_ports);
    CHECK(x.p.sport == 5000);
    CHECK(x.p.payload_len == 64);  // this fragment's share
  }
  SECTION("later fragment: no ports, payload right after the IP header") {
    Ipv4Opts o;
    o.id = 0xBEEF;
    o.frag_off8 = 9;  // 72 bytes = 8 UDP + 64
    const Frame f = PacketBuilder().eth().ipv4("10.0.0.1", "10.0.0.2", o).payload(80).build();
    Frame g = f;
    g.data[g.off(L::Ipv4) + 9] = 17;
    const Run x = run(g, DLT_EN10MB);
    REQUIRE(x.r == DecodeResult::Ok);
    CHECK(x.p.fragmented);
    CHECK(x.p.later_fragment);
    CHECK(x.p.frag_id == 0xBEEF);
    CHECK_FALSE(x.p.has_ports);
    CHECK(x.p.sport == 0);
    CHECK(x.p.dport == 0);
    CHECK(x.p.l4_proto == 17);
    CHECK(x.p.payload == x.p.l3 + 20);
    CHECK(x.p.payload_len == 80);
    CHECK(x.p.ip_len == 100);
  }
  SECTION("a later fragment of a TCP segment is not parsed as TCP (junk where a header would be)") {
    Ipv4Opts o;
    o.frag_off8 = 3;
    Frame f = PacketBuilder().eth().ipv4("10.0.0.1", "10.0.0.2", o).payload(4, 0x00).build();
    f.data[f.off(L::Ipv4) + 9] = 6;  // 4 bytes: a TCP header here would be truncated
    const Run x = run(f, DLT_EN10MB);
    REQUIRE(x.r == DecodeResult::Ok);
    CHECK(x.a.total() == 0);
    CHECK(x.p.later_fragment);
  }
}

TEST_CASE("decode: IPv6 fragment header", "[decode][frag]") {
  SECTION("first fragment") {
    const Frame f = PacketBuilder()
                        .eth()
                        .ipv6("2001:db8::1", "2001:db8::2")
                        .ipv6_frag(0, true, 0xDEADBEEF)
                        .udp(7000, 7001)
                        .payload(40)
                        .build();
    const Run x = run(f, DLT_EN10MB);
    REQUIRE(x.r == DecodeResult::Ok);
    CHECK(x.p.fragmented);
    CHECK_FALSE(x.p.later_fragment);
    CHECK(x.p.frag_id == 0xDEADBEEFu);
    CHECK(x.p.l4_proto == 17);
    CHECK(x.p.sport == 7000);
    CHECK(x.p.payload == x.p.l3 + 40 + 8 + 8);
  }
  SECTION("later fragment") {
    Frame f = PacketBuilder()
                  .eth()
                  .ipv6("2001:db8::1", "2001:db8::2")
                  .ipv6_frag(6, false, 0xDEADBEEF)
                  .payload(24)
                  .build();
    f.data[f.off(L::Ipv6Ext)] = 17;  // the fragmentable part is UDP
    const Run x = run(f, DLT_EN10MB);
    REQUIRE(x.r == DecodeResult::Ok);
    CHECK(x.p.fragmented);
    CHECK(x.p.later_fragment);
    CHECK(x.p.frag_id == 0xDEADBEEFu);
    CHECK(x.p.l4_proto == 17);
    CHECK_FALSE(x.p.has_ports);
    CHECK(x.p.payload == x.p.l3 + 48);
    CHECK(x.p.payload_len == 24);
    CHECK(x.p.ip_len == 40 + 8 + 24);
  }
}

TEST_CASE("decode: fragment_fields reads offset, MF and the fragment's data again", "[decode][frag]") {
  FragmentFields ff;
  SECTION("IPv4 first fragment with options: data from the end of the IP header, UDP header included") {
    Ipv4Opts o;
    o.id = 0x0102;
    o.mf = true;
    o.options = {1, 1, 1, 0};  // NOP NOP NOP EOL: IHL 6
    Frame f = PacketBuilder().eth().ipv4("10.0.0.1", "10.0.0.2", o).udp(5000, 5001).payload(64).build();
    f.put16(f.off(L::Udp) + 4, 8 + 64 + 80);
    const Run x = run(f, DLT_EN10MB);
    REQUIRE(x.r == DecodeResult::Ok);
    REQUIRE(fragment_fields(x.p, ff));
    CHECK(ff.offset == 0);
    CHECK(ff.more);
    CHECK(ff.next == 17);
    CHECK(ff.data == x.p.l3 + 24);
    CHECK(ff.len == 8 + 64);
    CHECK(ff.caplen == 8 + 64);
    CHECK(x.p.payload - ff.data == 8);  // where the transport payload starts in the datagram
  }
  SECTION("IPv4 last fragment cut by the snap length") {
    Ipv4Opts o;
    o.frag_off8 = 185;
    Frame f = PacketBuilder().eth().ipv4("10.0.0.1", "10.0.0.2", o).payload(48).build();
    f.data[f.off(L::Ipv4) + 9] = 17;
    const Run x = run(f, DLT_EN10MB, f.size() - 10, f.size());
    REQUIRE(x.r == DecodeResult::Ok);
    REQUIRE(fragment_fields(x.p, ff));
    CHECK(ff.offset == 1480);
    CHECK_FALSE(ff.more);
    CHECK(ff.data == x.p.payload);
    CHECK(ff.len == 48);
    CHECK(ff.caplen == 38);
  }
  SECTION("IPv6 first fragment behind hop-by-hop options, a destination options header in the fragmentable part") {
    const Frame f = PacketBuilder()
                        .eth()
                        .ipv6("2001:db8::1", "2001:db8::2")
                        .ipv6_ext(0)
                        .ipv6_frag(0, true, 0xCAFE0001)
                        .ipv6_ext(60)
                        .udp(7000, 7001)
                        .payload(40)
                        .build();
    const Run x = run(f, DLT_EN10MB);
    REQUIRE(x.r == DecodeResult::Ok);
    REQUIRE(fragment_fields(x.p, ff));
    CHECK(ff.offset == 0);
    CHECK(ff.more);
    CHECK(ff.next == 60);        // the fragment header's next header, not the transport's (17)
    CHECK(x.p.l4_proto == 17);
    CHECK(ff.data == x.p.l3 + 40 + 8 + 8);
    CHECK(ff.len == 8 + 8 + 40);
    CHECK(x.p.payload - ff.data == 16);
  }
  SECTION("IPv6 later fragment: the fragment header's fields, data where decode() put the payload") {
    Frame f = PacketBuilder().eth().ipv6("2001:db8::1", "2001:db8::2").ipv6_frag(6, false, 7).payload(24).build();
    f.data[f.off(L::Ipv6Ext)] = 17;
    const Run x = run(f, DLT_EN10MB);
    REQUIRE(x.r == DecodeResult::Ok);
    REQUIRE(fragment_fields(x.p, ff));
    CHECK(ff.offset == 48);
    CHECK_FALSE(ff.more);
    CHECK(ff.next == 17);
    CHECK(ff.data == x.p.payload);
    CHECK(ff.len == 24);
  }
  SECTION("not a fragment") {
    const Frame f = PacketBuilder().eth().ipv4("10.0.0.1", "10.0.0.2").udp(1, 2).payload(8).build();
    const Run x = run(f, DLT_EN10MB);
    REQUIRE(x.r == DecodeResult::Ok);
    CHECK_FALSE(fragment_fields(x.p, ff));
  }
}

// ---------------------------------------------------------------------------------------------------------
// Truncation sweep

namespace {

struct Good {
  std::string name;
  int dlt;
  Frame f;
  bool exact;  ///< the layer walk below predicts the result (false: bounds only)
};

std::vector<Good> good_frames() {
  std::vector<Good> g;
  auto add = [&](const char* name, int dlt, Frame f, bool exact = true) { g.push_back({name, dlt, std::move(f), exact}); };
  Ipv4Opts opt;
  opt.options = {0x94, 0x04, 0x00, 0x00};  // router alert
  Ipv4Opts first;
  first.mf = true;
  first.id = 77;
  Ipv4Opts later;
  later.frag_off8 = 10;
  later.id = 77;

  add("eth ipv4 tcp", DLT_EN10MB, PacketBuilder().eth().ipv4("10.0.0.1", "10.0.0.2").tcp(1, 2, 0x18).payload(20).build());
  add("eth ipv4+opts tcp+opts", DLT_EN10MB,
      PacketBuilder().eth().ipv4("10.0.0.1", "10.0.0.2", opt).tcp(1, 2, 0x02, 5, 0, 12).payload(5).build());
  add("eth vlan ipv4 udp", DLT_EN10MB, PacketBuilder().eth().vlan(7).ipv4("10.0.0.1", "10.0.0.2").udp(3, 4).payload(12).build());
  add("eth qinq ipv6 tcp", DLT_EN10MB,
      PacketBuilder().eth().vlan(9, 0x88A8).vlan(8).ipv6("2001:db8::1", "2001:db8::2").tcp(1, 2, 0x11).payload(3).build());
  add("eth pppoe ipv4 udp", DLT_EN10MB, PacketBuilder().eth().pppoe().ipv4("10.0.0.1", "10.0.0.2").udp(3, 4).payload(6).build());
  add("eth pppoe ipv6 icmpv6", DLT_EN10MB, PacketBuilder().eth().pppoe().ipv6("2001:db8::1", "2001:db8::2").icmp(128, 0).build());
  add("eth mpls mpls ipv4 udp", DLT_EN10MB,
      PacketBuilder().eth().mpls(100, false).mpls(200, true).ipv4("10.0.0.1", "10.0.0.2").udp(3, 4).payload(2).build());
  add("eth mpls ipv6 udp", DLT_EN10MB, PacketBuilder().eth().mpls(100, true).ipv6("2001:db8::1", "2001:db8::2").udp(3, 4).build());
  add("sll ipv4 icmp", DLT_LINUX_SLL, PacketBuilder().sll().ipv4("10.0.0.1", "10.0.0.2").icmp(8, 0).payload(16).build());
  add("sll2 ipv6 udp", DLT_LINUX_SLL2, PacketBuilder().sll2().ipv6("2001:db8::1", "2001:db8::2").udp(3, 4).payload(9).build());
  add("raw ipv4 tcp", DLT_RAW, PacketBuilder().ipv4("10.0.0.1", "10.0.0.2").tcp(1, 2, 0x02).build());
  add("raw ipv6 udp", DLT_RAW, PacketBuilder().ipv6("2001:db8::1", "2001:db8::2").udp(3, 4).payload(1).build());
  add("ipv4 dlt", DLT_IPV4, PacketBuilder().ipv4("10.0.0.1", "10.0.0.2").udp(3, 4).build());
  add("ipv6 dlt", DLT_IPV6, PacketBuilder().ipv6("2001:db8::1", "2001:db8::2").icmp(1, 4).payload(40).build());
  add("null le ipv4", DLT_NULL, PacketBuilder().null_link(true).ipv4("10.0.0.1", "10.0.0.2").udp(3, 4).payload(4).build());
  add("null be ipv6", DLT_NULL, PacketBuilder().null_link(false, 24).ipv6("2001:db8::1", "2001:db8::2").tcp(5, 6, 0x10).build());
  add("chdlc ipv4 udp", DLT_C_HDLC, PacketBuilder().chdlc().ipv4("10.0.0.1", "10.0.0.2").udp(3, 4).payload(5).build());
  add("chdlc mpls ipv6 tcp", DLT_C_HDLC,
      PacketBuilder().chdlc().mpls(7, true).ipv6("2001:db8::1", "2001:db8::2").tcp(1, 2, 0x10).build());
  add("ppp ipv6 udp", DLT_PPP, PacketBuilder().ppp().ipv6("2001:db8::1", "2001:db8::2").udp(3, 4).payload(2).build());
  add("ppp-serial ipv4 tcp", DLT_PPP_SERIAL, PacketBuilder().ppp().ipv4("10.0.0.1", "10.0.0.2").tcp(1, 2, 0x02).build());
  add("radiotap wlan ipv4 udp", DLT_IEEE802_11_RADIO,
      PacketBuilder().wlan().ipv4("10.0.0.1", "10.0.0.2").udp(3, 4).payload(6).build());
  add("wlan qos wds vlan ipv6 tcp", DLT_IEEE802_11,
      PacketBuilder().wlan(false, true, true).vlan(5).ipv6("2001:db8::1", "2001:db8::2").tcp(1, 2, 0x10).build());
  add("loop ipv4", DLT_LOOP, PacketBuilder().null_link(false).ipv4("10.0.0.1", "10.0.0.2").tcp(5, 6, 0x10).payload(1).build());
  add("eth ipv6 ext chain udp", DLT_EN10MB,
      PacketBuilder().eth().ipv6("2001:db8::1", "2001:db8::2").ipv6_ext(0).ipv6_ext(43, 2).ipv6_ext(60).udp(3, 4).payload(5).build());
  add("eth ipv6 frag first", DLT_EN10MB,
      PacketBuilder().eth().ipv6("2001:db8::1", "2001:db8::2").ipv6_frag(0, true, 5).udp(3, 4).payload(16).build());
  add("eth ipv6 frag later", DLT_EN10MB,
      PacketBuilder().eth().ipv6("2001:db8::1", "2001:db8::2").ipv6_frag(3, false, 5).payload(16).build());
  add("eth ipv4 frag first", DLT_EN10MB, PacketBuilder().eth().ipv4("10.0.0.1", "10.0.0.2", first).udp(3, 4).payload(72).build());
  add("eth ipv4 frag later", DLT_EN10MB, PacketBuilder().eth().ipv4("10.0.0.1", "10.0.0.2", later).payload(30).build());
  add("eth ipv4 udp padded", DLT_EN10MB, PacketBuilder().eth().ipv4("10.0.0.1", "10.0.0.2").udp(3, 4).payload(2).build(16));
  add("gtp ipv4 tcp", DLT_EN10MB,
      PacketBuilder().eth().ipv4("172.16.0.1", "172.16.0.2").udp(2152, 2152).gtpu(1).ipv4("10.0.0.1", "10.0.0.2").tcp(1, 2, 0x02).payload(8).build());
  add("gtp seq ipv6 udp", DLT_EN10MB,
      PacketBuilder().eth().ipv4("172.16.0.1", "172.16.0.2").udp(2152, 2152).gtpu(2, {}, true).ipv6("2001:db8::1", "2001:db8::2").udp(3, 4).build());
  add("gtp ext ipv4 udp", DLT_EN10MB,
      PacketBuilder().eth().vlan(4).ipv4("172.16.0.1", "172.16.0.2").udp(2152, 2152).gtpu(3, {GtpExt{0x85, 1}, GtpExt{0x40, 2}}).ipv4("10.0.0.1", "10.0.0.2").udp(3, 4).payload(3).build());
  add("gtp ipv6 outer icmp inner", DLT_EN10MB,
      PacketBuilder().eth().ipv6("2001:db8::a", "2001:db8::b").udp(2152, 2152).gtpu(4).ipv4("10.0.0.1", "10.0.0.2").icmp(0, 0).build());
  add("gtp in gtp", DLT_EN10MB,
      PacketBuilder().eth().ipv4("172.16.0.1", "172.16.0.2").udp(2152, 2152).gtpu(1).ipv4("10.0.0.1", "10.0.0.2").udp(2152, 2152).gtpu(2).ipv4("10.9.0.1", "10.9.0.2").tcp(1, 2, 0x02).build(),
      false);
  return g;
}

struct Want {
  DecodeResult r = DecodeResult::Ok;
  bool anomaly = false;
  Anomaly which = Anomaly::Count;
  size_t l3 = 0;  ///< offset of the IP header an Ok result must point at
};

Want malformed(Anomaly a) { return {DecodeResult::Malformed, true, a, 0}; }

/// What decoding the first `cut` bytes must give, derived from the layers the builder wrote.
/// `wire_cut`: the frame really ended there (wirelen == caplen); otherwise the capture was cut by the
/// snaplen (wirelen == full length).
Want expect_cut(const Frame& f, size_t cut, bool wire_cut) {
  Want w;
  bool outer_ip = true;
  for (size_t i = 0; i < f.layers.size(); ++i) {
    const auto& s = f.layers[i];
    const bool whole = cut >= s.off + s.need;
    switch (s.kind) {
      case L::Eth:
      case L::Sll:
      case L::Sll2:
      case L::Null:
      case L::Chdlc:
      case L::Ppp:
      case L::Wlan:
        if (!whole) return malformed(Anomaly::LinkTruncated);
        break;
      case L::Vlan:
        if (!whole) return malformed(Anomaly::VlanTruncated);
        break;
      case L::Pppoe:
      case L::Mpls:
        if (!whole) return malformed(Anomaly::EncapTruncated);
        break;
      case L::Ipv4:
      case L::Ipv6: {
        const Anomaly hdr = s.kind == L::Ipv4 ? Anomaly::Ipv4HeaderTruncated : Anomaly::Ipv6HeaderTruncated;
        if (cut <= s.off) {
          // Not one byte of the IP header. Raw IP: the link layer itself is empty. After MPLS: the stack's
          // payload is missing (its type is unknown without it). Otherwise the announced IP header is short.
          if (i == 0) return malformed(Anomaly::LinkTruncated);
          if (f.layers[i - 1].kind == L::Mpls) return malformed(Anomaly::EncapTruncated);
          return malformed(hdr);
        }
        if (!whole) return malformed(hdr);
        if (wire_cut && outer_ip && cut < f.ip_end) return malformed(Anomaly::IpLengthExceedsPacket);
        outer_ip = false;
        w.l3 = s.off;
        break;
      }
      case L::Ipv6Ext:
        if (!whole) return malformed(Anomaly::Ipv6ExtTruncated);
        break;
      case L::Tcp:
        if (!whole) return malformed(Anomaly::TcpHeaderTruncated);
        break;
      case L::Udp:
        if (!whole) return malformed(Anomaly::UdpHeaderTruncated);
        break;
      case L::Icmp:
        if (!whole) return malformed(Anomaly::IcmpTruncated);
        break;
      case L::Gtp:
        // Zero captured bytes: nothing says GTP, the packet is plain UDP. Some but not all of the header:
        // counted, and the packet stays the outer UDP one (TS 29.281 header is needed to find the inner).
        if (cut <= s.off) return w;
        if (!whole) {
          w.anomaly = true;
          w.which = Anomaly::GtpTruncated;
          return w;
        }
        break;
      case L::Payload:
        break;
    }
  }
  return w;
}

}  // namespace

TEST_CASE("decode: every good frame cut at every length decodes or fails with the right anomaly", "[decode][truncate]") {
  Decoder dec;
  for (const Good& g : good_frames()) {
    // The whole frame first: it must be good.
    {
      Packet p;
      AnomalyCounters a;
      INFO(g.name);
      REQUIRE(dec.decode(g.dlt, g.f.ptr(), g.f.size(), g.f.size(), p, a) == DecodeResult::Ok);
      if (g.exact) REQUIRE(a.total() == 0);
    }
    for (int mode = 0; mode < 2; ++mode) {
      const bool wire_cut = mode == 1;
      for (size_t cut = 0; cut <= g.f.size(); ++cut) {
        // A copy of exactly `cut` bytes, so the sanitizer build catches any read past the capture.
        std::vector<uint8_t> buf(g.f.data.begin(), g.f.data.begin() + static_cast<std::ptrdiff_t>(cut));
        const uint8_t* data = buf.empty() ? nullptr : buf.data();
        Run x;
        x.r = dec.decode(g.dlt, data, static_cast<uint32_t>(cut),
                         wire_cut ? static_cast<uint32_t>(cut) : g.f.size(), x.p, x.a);
        INFO(g.name << (wire_cut ? " [wire cut]" : " [snaplen cut]") << " at " << cut << " of " << g.f.size());
        check_bounds(x, data, static_cast<uint32_t>(cut));
        CHECK(x.a.total() <= 1);
        if (x.r == DecodeResult::Malformed) CHECK(x.a.total() == 1);
        if (!g.exact) continue;
        const Want w = expect_cut(g.f, cut, wire_cut);
        CHECK(static_cast<int>(x.r) == static_cast<int>(w.r));
        if (w.anomaly) {
          INFO("want " << anomaly_name(w.which));
          CHECK(x.a.get(w.which) == 1);
        } else {
          CHECK(x.a.total() == 0);
        }
        if (x.r == DecodeResult::Ok && w.r == DecodeResult::Ok) {
          CHECK(x.p.l3 == data + w.l3);
        }
      }
    }
  }
}

TEST_CASE("decode: anomaly names are distinct and snake_case", "[decode]") {
  std::vector<std::string> seen;
  for (int i = 0; i < static_cast<int>(Anomaly::Count); ++i) {
    const std::string n = anomaly_name(static_cast<Anomaly>(i));
    CHECK(n != "unknown");
    for (char c : n) CHECK(((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'));
    for (const std::string& s : seen) CHECK(s != n);
    seen.push_back(n);
  }
}
