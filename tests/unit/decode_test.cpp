// Decoder tests: every link type, tags and encapsulations, IPv4/IPv6/TCP/UDP/ICMP field extraction, GTP-U,
// fragments, each specific anomaly, and a truncation sweep over every good frame. Frames are built byte by
// byte (packet_builder.hpp); expected values come from the headers the test wrote, never from a run.
#include <pcap/dlt.h>

#include <catch2/catch.hpp>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "decode/decoder.hpp"
#include "packet_builder.hpp"

using namespace sealscope;
using namespace sealscope::decode;
using sealscope::testing::Frame;
using sealscope::testing::GreOpts;
using sealscope::testing::GtpExt;
using sealscope::testing::ip;
using sealscope::testing::Ipv4Opts;
using sealscope::testing::L;
using sealscope::testing::PacketBuilder;
using sealscope::testing::Span;

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

TEST_CASE("decode: GTP-U in GTP-U is followed to the nesting bound, one more is gtp_too_deep", "[decode][gtp]") {
  // kMaxNestedTunnels GTP-U tunnels inside one another: all taken apart; the outermost TEID is the flow's.
  PacketBuilder b;
  b.eth().ipv4("172.16.0.1", "172.16.0.2").udp(2152, 2152).gtpu(111);
  for (int i = 1; i < kMaxNestedTunnels; ++i) b.ipv4("10.10.0.1", "10.10.0.2").udp(2152, 2152).gtpu(111 + i);
  const Frame deepest = PacketBuilder(b).ipv4("10.45.0.7", "10.45.0.8").tcp(1, 2, 0x02).build();
  const Run x = run(deepest, DLT_EN10MB);
  REQUIRE(x.r == DecodeResult::Ok);
  CHECK(x.a.total() == 0);
  CHECK(x.p.l3 == deepest.ptr() + deepest.off(L::Ipv4, kMaxNestedTunnels));
  CHECK(x.p.src == ip("10.45.0.7"));
  CHECK(x.p.l4_proto == 6);
  CHECK(x.p.tunnel.id == 111);
  CHECK(x.p.tunnel.outer_src == ip("172.16.0.1"));

  // One more: gtp_too_deep, and the packet is the last level reached, the UDP datagram to 2152 inside it.
  const Frame deeper = PacketBuilder(b)
                           .ipv4("10.20.0.1", "10.20.0.2")
                           .udp(2152, 2152)
                           .gtpu(999)
                           .ipv4("10.45.0.7", "10.45.0.8")
                           .tcp(1, 2, 0x02)
                           .build();
  const Run y = run(deeper, DLT_EN10MB);
  REQUIRE(y.r == DecodeResult::Ok);
  CHECK(only(y.a, Anomaly::GtpTooDeep));
  CHECK(y.p.l3 == deeper.ptr() + deeper.off(L::Ipv4, kMaxNestedTunnels));
  CHECK(y.p.src == ip("10.20.0.1"));
  CHECK(y.p.l4_proto == 17);
  CHECK(y.p.dport == 2152);
  CHECK(y.p.tunnel.type == TunnelType::GtpU);
  CHECK(y.p.tunnel.id == 111);
}

TEST_CASE("decode: a GTP-U packet whose inner IP packet is malformed stays the outer UDP packet", "[decode][gtp]") {
  Frame f = PacketBuilder()
                .eth()
                .ipv4("172.16.0.1", "172.16.0.2")
                .udp(2152, 2152)
                .gtpu(7)
                .ipv4("10.45.0.7", "10.45.0.8")
                .udp(1, 2)
                .payload(4)
                .build();
  f.data[f.off(L::Ipv4, 1)] = 0x44;  // IHL 4: below the 20-byte minimum
  const Run x = run(f, DLT_EN10MB);
  REQUIRE(x.r == DecodeResult::Ok);  // before: dropped as malformed, its bytes in no flow
  CHECK(only(x.a, Anomaly::Ipv4BadHeaderLength));
  CHECK(x.p.tunnel.type == TunnelType::None);
  CHECK(x.p.src == ip("172.16.0.1"));
  CHECK(x.p.dport == 2152);
  CHECK(x.p.payload_len == 8 + 20 + 8 + 4);
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
  o.decode_tunnels = false;
  const Run x = run(f, DLT_EN10MB, f.size(), f.size(), o);
  REQUIRE(x.r == DecodeResult::Ok);
  CHECK(x.p.tunnel.type == TunnelType::None);
  CHECK(x.p.src == ip("172.16.0.1"));
  CHECK(x.p.payload_len == 8 + 20 + 8);
}

// ---------------------------------------------------------------------------------------------------------
// Other tunnels: VXLAN, Geneve, GRE, ERSPAN, TZSP, CAPWAP, IP-in-IP

namespace {

/// The outermost IP header of a built frame.
const Span& first_ip(const Frame& f) {
  for (const Span& s : f.layers) {
    if (s.kind == L::Ipv4 || s.kind == L::Ipv6) return s;
  }
  throw std::logic_error("frame without IP");
}

/// The frame as it would have been sent had the outer datagram ended at byte `end`: the bytes past it gone,
/// the outer IP length and (when there is one) the outer UDP length saying so. A tunnel cut short on the
/// wire, not by the snap length.
Frame sent_cut(Frame f, size_t end) {
  const Span l3 = first_ip(f);
  f.data.resize(end);
  if (l3.kind == L::Ipv4) f.put16(l3.off + 2, static_cast<uint16_t>(end - l3.off));
  if (l3.kind == L::Ipv6) f.put16(l3.off + 4, static_cast<uint16_t>(end - l3.off - 40));
  for (size_t i = 0; i + 1 < f.layers.size(); ++i) {
    if (f.layers[i].off == l3.off && f.layers[i + 1].kind == L::Udp) {
      f.put16(f.layers[i + 1].off + 4, static_cast<uint16_t>(end - f.layers[i + 1].off));
    }
  }
  return f;
}

/// The checks every packet that stayed the outer one passes: no tunnel, the outer IP header and addresses.
void check_outer(const Run& x, const Frame& f, const char* src) {
  REQUIRE(x.r == DecodeResult::Ok);
  CHECK(x.p.tunnel.type == TunnelType::None);
  CHECK(x.p.l3 == f.ptr() + first_ip(f).off);
  CHECK(x.p.src == ip(src));
}

}  // namespace

TEST_CASE("decode: VXLAN carries an Ethernet frame, its VNI and outer addresses kept", "[decode][tunnel]") {
  const Frame f = PacketBuilder()
                      .eth()
                      .ipv4("198.51.100.1", "198.51.100.2")
                      .udp(49152, 4789)
                      .vxlan(5001)
                      .eth()
                      .vlan(100)
                      .ipv4("192.0.2.10", "198.51.100.53")
                      .udp(53001, 53)
                      .payload(20)
                      .build();
  const Run x = run(f, DLT_EN10MB);
  REQUIRE(x.r == DecodeResult::Ok);
  CHECK(x.a.total() == 0);
  CHECK(x.p.tunnel.type == TunnelType::Vxlan);
  CHECK(x.p.tunnel.has_id);
  CHECK(x.p.tunnel.id == 5001);
  CHECK(x.p.tunnel.outer_src == ip("198.51.100.1"));
  CHECK(x.p.tunnel.outer_dst == ip("198.51.100.2"));
  CHECK(x.p.l3 == f.ptr() + f.off(L::Ipv4, 1));
  CHECK(x.p.src == ip("192.0.2.10"));
  CHECK(x.p.dst == ip("198.51.100.53"));
  CHECK(x.p.sport == 53001);
  CHECK(x.p.dport == 53);
  CHECK(x.p.ip_len == 20 + 8 + 20);
  CHECK(x.p.payload_len == 20);
  CHECK(x.p.payload == f.ptr() + f.off(L::Payload));
  CHECK(x.p.vlan == 100);  // the inner frame's tag: no tag was met before it
  SECTION("a tag outside the tunnel is met first and stays the flow's") {
    const Frame g = PacketBuilder()
                        .eth()
                        .vlan(7)
                        .ipv4("198.51.100.1", "198.51.100.2")
                        .udp(49152, 4789)
                        .vxlan(5001)
                        .eth()
                        .vlan(100)
                        .ipv4("192.0.2.10", "198.51.100.53")
                        .udp(53001, 53)
                        .build();
    const Run y = run(g, DLT_EN10MB);
    REQUIRE(y.r == DecodeResult::Ok);
    CHECK(y.p.vlan == 7);
    CHECK(y.p.src == ip("192.0.2.10"));
  }
  SECTION("QinQ, MPLS and PPPoE inside the inner frame go the Ethernet way") {
    const Frame g = PacketBuilder()
                        .eth()
                        .ipv4("198.51.100.1", "198.51.100.2")
                        .udp(49152, 4789)
                        .vxlan(9)
                        .eth()
                        .vlan(200, 0x88A8)
                        .vlan(300)
                        .mpls(16, true)
                        .ipv6("2001:db8::1", "2001:db8::2")
                        .tcp(40000, 443, 0x02)
                        .build();
    const Run y = run(g, DLT_EN10MB);
    REQUIRE(y.r == DecodeResult::Ok);
    CHECK(y.a.total() == 0);
    CHECK(y.p.vlan == 200);
    CHECK(y.p.l3 == g.ptr() + g.off(L::Ipv6));
    CHECK(y.p.dport == 443);
    const Frame h = PacketBuilder()
                        .eth()
                        .ipv4("198.51.100.1", "198.51.100.2")
                        .udp(49152, 4789)
                        .vxlan(9)
                        .eth()
                        .pppoe()
                        .ipv4("100.64.0.9", "203.0.113.7")
                        .udp(5000, 5001)
                        .build();
    const Run z = run(h, DLT_EN10MB);
    REQUIRE(z.r == DecodeResult::Ok);
    CHECK(z.a.total() == 0);
    CHECK(z.p.src == ip("100.64.0.9"));
    CHECK(z.p.tunnel.id == 9);
  }
}

TEST_CASE("decode: a datagram to the VXLAN port that is no VXLAN stays an ordinary UDP packet", "[decode][tunnel]") {
  SECTION("I flag clear") {
    const Frame f = PacketBuilder()
                        .eth()
                        .ipv4("198.51.100.1", "198.51.100.2")
                        .udp(40000, 4789)
                        .vxlan(5001, false)
                        .eth()
                        .ipv4("192.0.2.10", "198.51.100.53")
                        .udp(53001, 53)
                        .build();
    const Run x = run(f, DLT_EN10MB);
    check_outer(x, f, "198.51.100.1");
    CHECK(x.a.total() == 0);
    CHECK(x.p.dport == 4789);
    CHECK(x.p.payload_len == 8 + 14 + 20 + 8);
  }
  SECTION("VXLAN is a destination port: a datagram from 4789 is not taken apart") {
    const Frame f = PacketBuilder()
                        .eth()
                        .ipv4("198.51.100.1", "198.51.100.2")
                        .udp(4789, 40000)
                        .vxlan(5001)
                        .eth()
                        .ipv4("192.0.2.10", "198.51.100.53")
                        .udp(53001, 53)
                        .build();
    const Run x = run(f, DLT_EN10MB);
    check_outer(x, f, "198.51.100.1");
    CHECK(x.a.total() == 0);
  }
  SECTION("an empty datagram") {
    const Frame f = PacketBuilder().eth().ipv4("198.51.100.1", "198.51.100.2").udp(40000, 4789).build();
    const Run x = run(f, DLT_EN10MB);
    check_outer(x, f, "198.51.100.1");
    CHECK(x.a.total() == 0);
  }
}

TEST_CASE("decode: Geneve with options, over IPv6, carrying Ethernet or IP", "[decode][tunnel]") {
  SECTION("Ethernet (protocol 0x6558) after 12 bytes of options") {
    const Frame f = PacketBuilder()
                        .eth()
                        .ipv6("2001:db8:6::1", "2001:db8:6::2")
                        .udp(50000, 6081)
                        .geneve(0x123456, 3)
                        .eth()
                        .ipv4("192.0.2.20", "198.51.100.20")
                        .udp(50012, 3478)
                        .payload(28)
                        .build();
    CHECK(f.get16(f.off(L::Geneve) + 2) == 0x6558);
    const Run x = run(f, DLT_EN10MB);
    REQUIRE(x.r == DecodeResult::Ok);
    CHECK(x.a.total() == 0);
    CHECK(x.p.tunnel.type == TunnelType::Geneve);
    CHECK(x.p.tunnel.id == 0x123456);
    CHECK(x.p.tunnel.outer_src == ip("2001:db8:6::1"));
    CHECK(x.p.l3 == f.ptr() + f.off(L::Ipv4));
    CHECK(x.p.dport == 3478);
    CHECK(x.p.payload_len == 28);
  }
  SECTION("IPv4 (protocol 0x0800) right after the header") {
    const Frame f = PacketBuilder()
                        .eth()
                        .ipv4("198.51.100.1", "198.51.100.2")
                        .udp(50000, 6081)
                        .geneve(77)
                        .ipv4("192.0.2.20", "198.51.100.20")
                        .tcp(40000, 80, 0x02)
                        .build();
    CHECK(f.get16(f.off(L::Geneve) + 2) == 0x0800);
    const Run x = run(f, DLT_EN10MB);
    REQUIRE(x.r == DecodeResult::Ok);
    CHECK(x.a.total() == 0);
    CHECK(x.p.tunnel.id == 77);
    CHECK(x.p.l3 == f.ptr() + f.off(L::Ipv4, 1));
  }
  SECTION("version 1 and an unknown protocol type are not taken apart, and not anomalies") {
    Frame f = PacketBuilder()
                  .eth()
                  .ipv4("198.51.100.1", "198.51.100.2")
                  .udp(50000, 6081)
                  .geneve(77)
                  .ipv4("192.0.2.20", "198.51.100.20")
                  .tcp(40000, 80, 0x02)
                  .build();
    Frame v1 = f;
    v1.data[v1.off(L::Geneve)] = 0x40;
    const Run x = run(v1, DLT_EN10MB);
    check_outer(x, v1, "198.51.100.1");
    CHECK(x.a.total() == 0);
    f.put16(f.off(L::Geneve) + 2, 0x8847);
    const Run y = run(f, DLT_EN10MB);
    check_outer(y, f, "198.51.100.1");
    CHECK(y.a.total() == 0);
  }
}

TEST_CASE("decode: GRE version 0 carrying IPv4, IPv6 and Ethernet, and its key when K is set", "[decode][tunnel]") {
  SECTION("K: the key is the flow's") {
    GreOpts o;
    o.keyed = true;
    o.key = 42;
    const Frame f = PacketBuilder()
                        .eth()
                        .vlan(20)
                        .ipv4("203.0.113.1", "203.0.113.2")
                        .gre(o)
                        .ipv4("10.1.0.1", "10.2.0.1")
                        .udp(53002, 53)
                        .payload(10)
                        .build();
    const Run x = run(f, DLT_EN10MB);
    REQUIRE(x.r == DecodeResult::Ok);
    CHECK(x.a.total() == 0);
    CHECK(x.p.tunnel.type == TunnelType::Gre);
    CHECK(x.p.tunnel.has_id);
    CHECK(x.p.tunnel.id == 42);
    CHECK(x.p.tunnel.outer_dst == ip("203.0.113.2"));
    CHECK(x.p.vlan == 20);
    CHECK(x.p.l3 == f.ptr() + f.off(L::Ipv4, 1));
    CHECK(x.p.payload_len == 10);
  }
  SECTION("no key; IPv6 inside, GRE over IPv6") {
    const Frame f = PacketBuilder()
                        .eth()
                        .ipv6("2001:db8:a::1", "2001:db8:a::2")
                        .gre()
                        .ipv6("2001:db8:1::10", "2001:db8:53::53")
                        .udp(53003, 53)
                        .build();
    const Run x = run(f, DLT_EN10MB);
    REQUIRE(x.r == DecodeResult::Ok);
    CHECK(x.a.total() == 0);
    CHECK(x.p.tunnel.type == TunnelType::Gre);
    CHECK_FALSE(x.p.tunnel.has_id);
    CHECK(x.p.l3 == f.ptr() + f.off(L::Ipv6, 1));
  }
  SECTION("checksum, key and sequence number before an Ethernet frame (0x6558)") {
    GreOpts o;
    o.csum = o.keyed = o.seq = true;
    o.key = 0xDEADBEEF;
    const Frame f = PacketBuilder()
                        .eth()
                        .ipv4("203.0.113.1", "203.0.113.2")
                        .gre(o)
                        .eth()
                        .vlan(30)
                        .ipv4("10.1.0.1", "10.2.0.1")
                        .tcp(40000, 80, 0x02)
                        .build();
    CHECK(f.get16(f.off(L::Gre) + 2) == 0x6558);
    const Run x = run(f, DLT_EN10MB);
    REQUIRE(x.r == DecodeResult::Ok);
    CHECK(x.a.total() == 0);
    CHECK(x.p.tunnel.id == 0xDEADBEEFu);
    CHECK(x.p.vlan == 30);
    CHECK(x.p.l3 == f.ptr() + f.off(L::Ipv4, 1));
  }
  SECTION("MPLS (0x8847): the label stack popped, the packet under it") {
    const Frame f = PacketBuilder()
                        .eth()
                        .ipv4("203.0.113.1", "203.0.113.2")
                        .gre()
                        .mpls(1000, false)
                        .mpls(2000, true)
                        .ipv4("10.1.0.1", "10.2.0.1")
                        .udp(53004, 53)
                        .build();
    CHECK(f.get16(f.off(L::Gre) + 2) == 0x8847);
    const Run x = run(f, DLT_EN10MB);
    REQUIRE(x.r == DecodeResult::Ok);
    CHECK(x.a.total() == 0);
    CHECK(x.p.tunnel.type == TunnelType::Gre);
    CHECK_FALSE(x.p.tunnel.has_id);
    CHECK(x.p.tunnel.outer_src == ip("203.0.113.1"));
    CHECK(x.p.l3 == f.ptr() + f.off(L::Ipv4, 1));
    CHECK(x.p.dport == 53);
    // The stack cut short: the inner packet is malformed, so the GRE packet stays, counted by MPLS's reason.
    const Frame cut = sent_cut(f, f.off(L::Mpls) + 6);
    const Run y = run(cut, DLT_EN10MB);
    check_outer(y, cut, "203.0.113.1");
    CHECK(only(y.a, Anomaly::EncapTruncated));
  }
  SECTION("version 1 that is not PPTP's, source routing and other protocols stay the GRE packet, not anomalies") {
    const Frame f = PacketBuilder()
                        .eth()
                        .ipv4("203.0.113.1", "203.0.113.2")
                        .gre()
                        .ipv4("10.1.0.1", "10.2.0.1")
                        .tcp(40000, 80, 0x02)
                        .build();
    for (uint16_t flags : {uint16_t{0x0001}, uint16_t{0x4000}}) {
      Frame g = f;
      g.put16(g.off(L::Gre), flags);
      const Run x = run(g, DLT_EN10MB);
      check_outer(x, g, "203.0.113.1");
      CHECK(x.a.total() == 0);
      CHECK(x.p.l4_proto == 47);
    }
    Frame g = f;
    g.put16(g.off(L::Gre) + 2, 0x880B);  // PPP
    const Run x = run(g, DLT_EN10MB);
    check_outer(x, g, "203.0.113.1");
    CHECK(x.a.total() == 0);
  }
}

TEST_CASE("decode: PPTP's enhanced GRE (version 1) carrying PPP, the call ID as the key", "[decode][tunnel]") {
  SECTION("sequence and acknowledgment numbers, PPP address and control, IPv4 inside") {
    const Frame f = PacketBuilder()
                        .eth()
                        .ipv4("203.0.113.1", "203.0.113.2")
                        .gre_pptp(0x4a21)
                        .ppp()
                        .ipv4("192.168.60.10", "198.51.100.53")
                        .udp(53005, 53)
                        .payload(12)
                        .build();
    CHECK(f.get16(f.off(L::Ppp) + 2) == 0x0021);
    const Run x = run(f, DLT_EN10MB);
    REQUIRE(x.r == DecodeResult::Ok);
    CHECK(x.a.total() == 0);
    CHECK(x.p.tunnel.type == TunnelType::Gre);
    CHECK(x.p.tunnel.has_id);
    CHECK(x.p.tunnel.id == 0x4a21);
    CHECK(x.p.tunnel.outer_dst == ip("203.0.113.2"));
    CHECK(x.p.l3 == f.ptr() + f.off(L::Ipv4, 1));
    CHECK(x.p.payload_len == 12);
  }
  SECTION("a sequence number only, no address and control, IPv6 inside") {
    const Frame f = PacketBuilder()
                        .eth()
                        .ipv4("203.0.113.1", "203.0.113.2")
                        .gre_pptp(7, true, false)
                        .ppp(false)
                        .ipv6("2001:db8:60::10", "2001:db8:53::53")
                        .udp(53006, 53)
                        .build();
    const Run x = run(f, DLT_EN10MB);
    REQUIRE(x.r == DecodeResult::Ok);
    CHECK(x.a.total() == 0);
    CHECK(x.p.tunnel.id == 7);
    CHECK(x.p.ip_version == 6);
    CHECK(x.p.l3 == f.ptr() + f.off(L::Ipv6));
  }
  SECTION("a compressed protocol field (0x21): one byte") {
    const Frame f = PacketBuilder()
                        .eth()
                        .ipv4("203.0.113.1", "203.0.113.2")
                        .gre_pptp(7)
                        .ppp(false)
                        .ipv4("192.168.60.10", "198.51.100.53")
                        .udp(53007, 53)
                        .build();
    // The PPP protocol field 00 21 becomes 21: the bytes from it on move one back.
    const size_t at = f.off(L::Ppp);
    std::vector<uint8_t> bytes(f.data.begin(), f.data.begin() + static_cast<std::ptrdiff_t>(at));
    bytes.insert(bytes.end(), f.data.begin() + static_cast<std::ptrdiff_t>(at + 1), f.data.end());
    Frame g = f;
    g.data = bytes;
    g.put16(f.off(L::Ipv4) + 2, static_cast<uint16_t>(g.data.size() - f.off(L::Ipv4)));  // outer total length
    const Run x = run(g, DLT_EN10MB);
    REQUIRE(x.r == DecodeResult::Ok);
    CHECK(x.a.total() == 0);
    CHECK(x.p.tunnel.type == TunnelType::Gre);
    CHECK(x.p.l3 == g.ptr() + at + 1);
    CHECK(x.p.dport == 53);
  }
  SECTION("an acknowledgment alone, compressed or encrypted PPP (CCP), and a malformed version 1 header stay "
          "the GRE packet, not anomalies") {
    const Frame ack = PacketBuilder().eth().ipv4("203.0.113.1", "203.0.113.2").gre_pptp(7, false, true).build();
    const Run a = run(ack, DLT_EN10MB);
    check_outer(a, ack, "203.0.113.1");
    CHECK(a.a.total() == 0);
    CHECK(a.p.l4_proto == 47);
    const Frame f = PacketBuilder()
                        .eth()
                        .ipv4("203.0.113.1", "203.0.113.2")
                        .gre_pptp(7)
                        .ppp()
                        .ipv4("192.168.60.10", "198.51.100.53")
                        .udp(53005, 53)
                        .build();
    const size_t g = f.off(L::Gre), p = f.off(L::Ppp);
    const std::vector<std::pair<size_t, uint16_t>> edits = {
        {p + 2, 0x80FD},  // CCP
        {p + 2, 0x00FD},  // a compressed datagram
        {g, 0x1081},      // K clear
        {g, 0xB081},      // C set
        {g, 0x3089},      // a flag bit set
        {g + 2, 0x0800},  // not PPP
    };
    for (const auto& [at, value] : edits) {
      INFO("bytes at " << at << " = " << value);
      Frame e = f;
      e.put16(at, value);
      const Run x = run(e, DLT_EN10MB);
      check_outer(x, e, "203.0.113.1");
      CHECK(x.a.total() == 0);
    }
  }
}

TEST_CASE("decode: ERSPAN types I, II and III", "[decode][tunnel]") {
  GreOpts seq;
  seq.seq = true;
  SECTION("type I: no header, no session") {
    const Frame f = PacketBuilder()
                        .eth()
                        .ipv4("192.0.2.100", "192.0.2.200")
                        .gre()
                        .erspan(1)
                        .eth()
                        .ipv4("192.0.2.30", "198.51.100.53")
                        .udp(53100, 53)
                        .build();
    const Run x = run(f, DLT_EN10MB);
    REQUIRE(x.r == DecodeResult::Ok);
    CHECK(x.a.total() == 0);
    CHECK(x.p.tunnel.type == TunnelType::Erspan);
    CHECK_FALSE(x.p.tunnel.has_id);
    CHECK(x.p.tunnel.outer_src == ip("192.0.2.100"));
    CHECK(x.p.l3 == f.ptr() + f.off(L::Ipv4, 1));
    CHECK(x.p.sport == 53100);
  }
  SECTION("type II: 8-byte header, 10-bit session ID") {
    const Frame f = PacketBuilder()
                        .eth()
                        .ipv4("192.0.2.100", "192.0.2.200")
                        .gre(seq)
                        .erspan(2, 0x3FF)
                        .eth()
                        .ipv4("192.0.2.30", "198.51.100.53")
                        .udp(53100, 53)
                        .build();
    const Run x = run(f, DLT_EN10MB);
    REQUIRE(x.r == DecodeResult::Ok);
    CHECK(x.a.total() == 0);
    CHECK(x.p.tunnel.type == TunnelType::Erspan);
    CHECK(x.p.tunnel.has_id);
    CHECK(x.p.tunnel.id == 0x3FF);
    CHECK(x.p.l3 == f.ptr() + f.off(L::Ipv4, 1));
    CHECK(x.p.vlan == kNoVlan);  // the ERSPAN header's VLAN field is the mirrored port's, not a tag
  }
  SECTION("type III: 12-byte header, and the platform sub-header when O is set") {
    for (bool o : {false, true}) {
      const Frame f = PacketBuilder()
                          .eth()
                          .ipv4("192.0.2.100", "192.0.2.200")
                          .gre(seq)
                          .erspan(3, 300, o)
                          .eth()
                          .ipv4("192.0.2.30", "198.51.100.20")
                          .udp(50012, 3478)
                          .build();
      INFO("O flag " << o);
      const Run x = run(f, DLT_EN10MB);
      REQUIRE(x.r == DecodeResult::Ok);
      CHECK(x.a.total() == 0);
      CHECK(x.p.tunnel.id == 300);
      CHECK(x.p.l3 == f.ptr() + f.off(L::Ipv4, 1));
      CHECK(x.p.l3 == f.ptr() + f.off(L::Erspan) + (o ? 20 : 12) + 14);
    }
  }
  SECTION("a wrong version or a frame type other than Ethernet is not taken apart") {
    Frame f = PacketBuilder()
                  .eth()
                  .ipv4("192.0.2.100", "192.0.2.200")
                  .gre(seq)
                  .erspan(3, 300)
                  .eth()
                  .ipv4("192.0.2.30", "198.51.100.20")
                  .udp(50012, 3478)
                  .build();
    Frame v = f;
    v.data[v.off(L::Erspan)] = 0x10;  // version 1 under the type III protocol
    const Run x = run(v, DLT_EN10MB);
    check_outer(x, v, "192.0.2.100");
    CHECK(x.a.total() == 0);
    f.data[f.off(L::Erspan) + 10] = 2 << 2;  // frame type 2 (IP)
    const Run y = run(f, DLT_EN10MB);
    check_outer(y, f, "192.0.2.100");
    CHECK(y.a.total() == 0);
  }
}

TEST_CASE("decode: TZSP walks its tags to END, then Ethernet or 802.11", "[decode][tunnel]") {
  SECTION("Ethernet after padding, a type-length-value tag and END") {
    const Frame f = PacketBuilder()
                        .eth()
                        .ipv4("192.0.2.150", "192.0.2.200")
                        .udp(40001, 37008)
                        .tzsp(1, {0x00, 0x0A, 0x01, 0xC8, 0x00, 0x01})
                        .eth()
                        .ipv4("192.0.2.10", "198.51.100.53")
                        .udp(53004, 53)
                        .payload(6)
                        .build();
    const Run x = run(f, DLT_EN10MB);
    REQUIRE(x.r == DecodeResult::Ok);
    CHECK(x.a.total() == 0);
    CHECK(x.p.tunnel.type == TunnelType::Tzsp);
    CHECK_FALSE(x.p.tunnel.has_id);
    CHECK(x.p.tunnel.outer_src == ip("192.0.2.150"));
    CHECK(x.p.l3 == f.ptr() + f.off(L::Tzsp) + 4 + 6 + 14);
    CHECK(x.p.sport == 53004);
  }
  SECTION("802.11 QoS data with HT control (encapsulation 18), type 1 (transmitted), from port 37008") {
    const Frame f = PacketBuilder()
                        .eth()
                        .ipv4("192.0.2.150", "192.0.2.200")
                        .udp(37008, 40001)
                        .tzsp(18, {0x12, 0x01, 0x06, 0x01}, 1)
                        .wlan(false, true, false, true)
                        .ipv4("192.0.2.10", "198.51.100.53")
                        .udp(53005, 53)
                        .build();
    const Run x = run(f, DLT_EN10MB);
    REQUIRE(x.r == DecodeResult::Ok);
    CHECK(x.a.total() == 0);
    CHECK(x.p.tunnel.type == TunnelType::Tzsp);
    CHECK(x.p.l3 == f.ptr() + f.off(L::Wlan) + 24 + 2 + 4 + 8);
    CHECK(x.p.sport == 53005);
  }
  SECTION("other types, encapsulations and versions are not taken apart, and not anomalies") {
    const Frame f = PacketBuilder()
                        .eth()
                        .ipv4("192.0.2.150", "192.0.2.200")
                        .udp(40001, 37008)
                        .tzsp()
                        .eth()
                        .ipv4("192.0.2.10", "198.51.100.53")
                        .udp(53004, 53)
                        .build();
    for (auto [at, value] : {std::pair<size_t, uint8_t>{0, 2}, {1, 3}, {1, 4}, {3, 119}}) {
      Frame g = f;
      g.data[g.off(L::Tzsp) + at] = value;
      INFO("byte " << at << " = " << int(value));
      const Run x = run(g, DLT_EN10MB);
      check_outer(x, g, "192.0.2.150");
      CHECK(x.a.total() == 0);
    }
  }
}

TEST_CASE("decode: CAPWAP data with native 802.11 frames and with 802.3 frames", "[decode][tunnel]") {
  SECTION("T, WBID 1, HLEN 4 (a radio MAC field): plain and four-address QoS data frames") {
    for (bool wds : {false, true}) {
      const Frame f = PacketBuilder()
                          .eth()
                          .ipv4("203.0.113.100", "203.0.113.1")
                          .udp(12223, 5247)
                          .capwap(true, 4)
                          .wlan(false, wds, wds)
                          .ipv4("192.0.2.60", "203.0.113.10")
                          .tcp(51000, 443, 0x02)
                          .build();
      INFO("four addresses and QoS: " << wds);
      const Run x = run(f, DLT_EN10MB);
      REQUIRE(x.r == DecodeResult::Ok);
      CHECK(x.a.total() == 0);
      CHECK(x.p.tunnel.type == TunnelType::Capwap);
      CHECK_FALSE(x.p.tunnel.has_id);
      CHECK(x.p.tunnel.outer_dst == ip("203.0.113.1"));
      CHECK(x.p.l3 == f.ptr() + f.off(L::Capwap) + 16 + (wds ? 32 : 24) + 8);
      CHECK(x.p.dport == 443);
    }
  }
  SECTION("T clear: an 802.3 frame, from the AC's port") {
    const Frame f = PacketBuilder()
                        .eth()
                        .ipv4("203.0.113.1", "203.0.113.100")
                        .udp(5247, 12223)
                        .capwap(false)
                        .eth()
                        .ipv4("198.51.100.53", "192.0.2.60")
                        .udp(53, 53006)
                        .build();
    const Run x = run(f, DLT_EN10MB);
    REQUIRE(x.r == DecodeResult::Ok);
    CHECK(x.a.total() == 0);
    CHECK(x.p.tunnel.type == TunnelType::Capwap);
    CHECK(x.p.l3 == f.ptr() + f.off(L::Ipv4, 1));
  }
  SECTION("LLC/SNAP with the IEEE 802.1H OUI (00-00-F8) names an ethertype too") {
    Frame f = PacketBuilder()
                  .eth()
                  .ipv4("203.0.113.100", "203.0.113.1")
                  .udp(12223, 5247)
                  .capwap(true)
                  .wlan(false)
                  .ipv4("192.0.2.60", "203.0.113.10")
                  .tcp(51000, 443, 0x02)
                  .build();
    f.data[f.off(L::Wlan) + 24 + 5] = 0xF8;
    const Run x = run(f, DLT_EN10MB);
    REQUIRE(x.r == DecodeResult::Ok);
    CHECK(x.a.total() == 0);
    CHECK(x.p.src == ip("192.0.2.60"));
  }
  SECTION("fragments, keep-alives, DTLS, other wireless bindings and non-data 802.11 frames stay the outer packet") {
    const Frame f = PacketBuilder()
                        .eth()
                        .ipv4("203.0.113.100", "203.0.113.1")
                        .udp(12223, 5247)
                        .capwap(true)
                        .wlan(false)
                        .ipv4("192.0.2.60", "203.0.113.10")
                        .tcp(51000, 443, 0x02)
                        .build();
    const size_t c = f.off(L::Capwap), w = f.off(L::Wlan);
    const std::vector<std::pair<size_t, uint8_t>> edits = {
        {c + 3, 0x80},                                     // F: a fragment
        {c + 3, 0x08},                                     // K: a keep-alive
        {c, 0x01},                                         // preamble type 1: DTLS
        {c + 2, static_cast<uint8_t>((1 << 6) | (2 << 1) | 1)},  // WBID 2
        {w, 0x80},                                         // 802.11 beacon
        {w + 1, 0x41},                                     // protected data frame
        {w + 24 + 5, 0x01},                                // an LLC/SNAP OUI that names no ethertype
    };
    for (auto [at, value] : edits) {
      Frame g = f;
      g.data[at] = value;
      INFO("byte " << at << " = " << int(value));
      const Run x = run(g, DLT_EN10MB);
      check_outer(x, g, "203.0.113.100");
      CHECK(x.a.total() == 0);
    }
  }
}

TEST_CASE("decode: IP in IP: 4in4, 6in4, 4in6, 6in6", "[decode][tunnel]") {
  struct Case {
    const char* name;
    Frame f;
    const char* outer_src;
    const char* inner_src;
  };
  const std::vector<Case> cases = {
      {"4in4", PacketBuilder().eth().ipv4("192.0.2.1", "192.0.2.2").ipv4("10.0.0.1", "10.0.0.2").udp(5, 53).build(),
       "192.0.2.1", "10.0.0.1"},
      {"6in4", PacketBuilder().eth().ipv4("192.0.2.1", "192.0.2.2").ipv6("2001:db8::1", "2001:db8::2").udp(5, 53).build(),
       "192.0.2.1", "2001:db8::1"},
      {"4in6", PacketBuilder().eth().ipv6("2001:db8:f::1", "2001:db8:f::2").ipv4("10.0.0.1", "10.0.0.2").udp(5, 53).build(),
       "2001:db8:f::1", "10.0.0.1"},
      {"6in6", PacketBuilder().eth().ipv6("2001:db8:f::1", "2001:db8:f::2").ipv6("2001:db8::1", "2001:db8::2").udp(5, 53).build(),
       "2001:db8:f::1", "2001:db8::1"},
  };
  for (const Case& c : cases) {
    INFO(c.name);
    const Run x = run(c.f, DLT_EN10MB);
    REQUIRE(x.r == DecodeResult::Ok);
    CHECK(x.a.total() == 0);
    CHECK(x.p.tunnel.type == TunnelType::IpInIp);
    CHECK_FALSE(x.p.tunnel.has_id);
    CHECK(x.p.tunnel.outer_src == ip(c.outer_src));
    CHECK(x.p.src == ip(c.inner_src));
    CHECK(x.p.l3 == c.f.ptr() + c.f.layers[2].off);
    CHECK(x.p.dport == 53);
  }
}

TEST_CASE("decode: a tunnel header cut short leaves the outer packet and counts the tunnel's anomaly",
          "[decode][tunnel][anomaly]") {
  struct Case {
    const char* name;
    Frame f;
    size_t end;  ///< where the outer datagram is made to end
    Anomaly want;
  };
  GreOpts keyed;
  keyed.keyed = true;
  GreOpts seq;
  seq.seq = true;
  const Frame vx = PacketBuilder().eth().ipv4("198.51.100.1", "198.51.100.2").udp(49152, 4789).vxlan(1).eth()
                       .ipv4("10.0.0.1", "10.0.0.2").udp(1, 2).build();
  const Frame gn = PacketBuilder().eth().ipv4("198.51.100.1", "198.51.100.2").udp(49152, 6081).geneve(1, 2).eth()
                       .ipv4("10.0.0.1", "10.0.0.2").udp(1, 2).build();
  const Frame gr = PacketBuilder().eth().ipv4("198.51.100.1", "198.51.100.2").gre(keyed).eth()
                       .ipv4("10.0.0.1", "10.0.0.2").udp(1, 2).build();
  const Frame e2 = PacketBuilder().eth().ipv4("198.51.100.1", "198.51.100.2").gre(seq).erspan(2, 5).eth()
                       .ipv4("10.0.0.1", "10.0.0.2").udp(1, 2).build();
  const Frame e3 = PacketBuilder().eth().ipv4("198.51.100.1", "198.51.100.2").gre(seq).erspan(3, 5, true).eth()
                       .ipv4("10.0.0.1", "10.0.0.2").udp(1, 2).build();
  const Frame tz = PacketBuilder().eth().ipv4("198.51.100.1", "198.51.100.2").udp(40000, 37008)
                       .tzsp(1, {0x00, 0x0A, 0x01, 0xC8, 0x01}).eth().ipv4("10.0.0.1", "10.0.0.2").udp(1, 2).build();
  const Frame tw = PacketBuilder().eth().ipv4("198.51.100.1", "198.51.100.2").udp(40000, 37008).tzsp(18)
                       .wlan(false, true).ipv4("10.0.0.1", "10.0.0.2").udp(1, 2).build();
  const Frame cw = PacketBuilder().eth().ipv4("198.51.100.1", "198.51.100.2").udp(40000, 5247).capwap(true, 4)
                       .wlan(false).ipv4("10.0.0.1", "10.0.0.2").udp(1, 2).build();
  const Frame pp = PacketBuilder().eth().ipv4("198.51.100.1", "198.51.100.2").gre_pptp(7).ppp()
                       .ipv4("10.0.0.1", "10.0.0.2").udp(1, 2).build();
  const size_t v = vx.off(L::Vxlan), g = gn.off(L::Geneve), r = gr.off(L::Gre), s2 = e2.off(L::Erspan),
               s3 = e3.off(L::Erspan), t = tz.off(L::Tzsp), u = tw.off(L::Tzsp), c = cw.off(L::Capwap),
               pg = pp.off(L::Gre);
  const std::vector<Case> cases = {
      {"VXLAN header", vx, v + 5, Anomaly::VxlanTruncated},
      {"VXLAN's Ethernet header", vx, v + 8 + 10, Anomaly::VxlanTruncated},
      {"Geneve header", gn, g + 7, Anomaly::GeneveTruncated},
      {"Geneve options", gn, g + 12, Anomaly::GeneveTruncated},
      {"Geneve's Ethernet header", gn, g + 16 + 13, Anomaly::GeneveTruncated},
      {"GRE: nothing", gr, r, Anomaly::GreTruncated},
      {"GRE header", gr, r + 3, Anomaly::GreTruncated},
      {"GRE key", gr, r + 6, Anomaly::GreTruncated},
      {"GRE's Ethernet header", gr, r + 8 + 1, Anomaly::GreTruncated},
      {"PPTP GRE header", pp, pg + 7, Anomaly::GreTruncated},
      {"PPTP GRE sequence number", pp, pg + 10, Anomaly::GreTruncated},
      {"PPTP GRE acknowledgment number", pp, pg + 15, Anomaly::GreTruncated},
      {"PPTP's PPP header", pp, pg + 16 + 3, Anomaly::GreTruncated},
      {"ERSPAN II header", e2, s2 + 7, Anomaly::ErspanTruncated},
      {"ERSPAN II's Ethernet header", e2, s2 + 8 + 12, Anomaly::ErspanTruncated},
      {"ERSPAN III header", e3, s3 + 11, Anomaly::ErspanTruncated},
      {"ERSPAN III platform sub-header", e3, s3 + 12 + 4, Anomaly::ErspanTruncated},
      {"TZSP header", tz, t + 3, Anomaly::TzspTruncated},
      {"TZSP: tags without END", tz, t + 5, Anomaly::TzspTruncated},
      {"TZSP: a tag's length past the end", tz, t + 6, Anomaly::TzspTruncated},
      {"TZSP: a tag's value past the end", tz, t + 7, Anomaly::TzspTruncated},
      {"TZSP's Ethernet header", tz, t + 9 + 13, Anomaly::TzspTruncated},
      {"TZSP's 802.11 header", tw, u + 5 + 20, Anomaly::TzspTruncated},
      {"TZSP's LLC/SNAP header", tw, u + 5 + 26 + 7, Anomaly::TzspTruncated},
      {"CAPWAP header", cw, c + 7, Anomaly::CapwapTruncated},
      {"CAPWAP: HLEN past the end", cw, c + 12, Anomaly::CapwapTruncated},
      {"CAPWAP's 802.11 header", cw, c + 16 + 23, Anomaly::CapwapTruncated},
      {"CAPWAP's LLC/SNAP header", cw, c + 16 + 24 + 6, Anomaly::CapwapTruncated},
  };
  for (const Case& k : cases) {
    INFO(k.name);
    const Frame f = sent_cut(k.f, k.end);
    const Run x = run(f, DLT_EN10MB);
    check_outer(x, f, "198.51.100.1");
    CHECK(only(x.a, k.want));
    CHECK(x.p.ip_len == k.end - f.off(L::Ipv4));
  }
  SECTION("CAPWAP HLEN below 2 words") {
    Frame f = cw;
    f.data[c + 1] = 1 << 3;
    const Run x = run(f, DLT_EN10MB);
    check_outer(x, f, "198.51.100.1");
    CHECK(only(x.a, Anomaly::CapwapTruncated));
  }
}

TEST_CASE("decode: an inner packet cut short or malformed leaves the outer packet and counts its own anomaly",
          "[decode][tunnel][anomaly]") {
  const Frame vx = PacketBuilder().eth().ipv4("198.51.100.1", "198.51.100.2").udp(49152, 4789).vxlan(1).eth()
                       .vlan(5).ipv4("10.0.0.1", "10.0.0.2").tcp(1, 2, 0x02).payload(4).build();
  const size_t in4 = vx.off(L::Ipv4, 1), vl = vx.off(L::Vlan), tcp = vx.off(L::Tcp);
  SECTION("cut on the wire") {
    const Frame a = sent_cut(vx, vl + 2);
    const Run x = run(a, DLT_EN10MB);
    check_outer(x, a, "198.51.100.1");
    CHECK(only(x.a, Anomaly::VlanTruncated));
    CHECK(x.p.vlan == kNoVlan);  // the inner tag was not whole: no VLAN
    // The inner IP header says more than the tunnel holds.
    const Frame b = sent_cut(vx, in4 + 20 + 10);
    const Run y = run(b, DLT_EN10MB);
    check_outer(y, b, "198.51.100.1");
    CHECK(only(y.a, Anomaly::IpLengthExceedsPacket));
  }
  SECTION("cut by the snap length") {
    for (auto [cut, want] : {std::pair<size_t, Anomaly>{in4, Anomaly::Ipv4HeaderTruncated},
                             {in4 + 19, Anomaly::Ipv4HeaderTruncated},
                             {tcp + 12, Anomaly::TcpHeaderTruncated}}) {
      INFO("captured " << cut << " of " << vx.size());
      const Run x = run(vx, DLT_EN10MB, static_cast<uint32_t>(cut), vx.size());
      check_outer(x, vx, "198.51.100.1");
      CHECK(only(x.a, want));
      CHECK(x.p.payload_len == vx.size() - vx.off(L::Udp) - 8);  // the whole tunnel payload, as sent
    }
  }
  SECTION("IP-in-IP whose inner packet has a bad version is the outer packet") {
    Frame f = PacketBuilder().eth().ipv4("192.0.2.1", "192.0.2.2").ipv4("10.0.0.1", "10.0.0.2").udp(5, 53).build();
    f.data[f.off(L::Ipv4, 1)] = 0x55;
    const Run x = run(f, DLT_EN10MB);
    check_outer(x, f, "192.0.2.1");
    CHECK(only(x.a, Anomaly::BadIpVersion));
    CHECK(x.p.l4_proto == 4);
  }
}

TEST_CASE("decode: tunnels nest to the bound, the outermost tunnel and VLAN are the flow's", "[decode][tunnel]") {
  GreOpts seq;
  seq.seq = true;
  // ERSPAN II carrying VXLAN carrying GTP-U: the three nested encapsulations kMaxNestedTunnels allows.
  static_assert(kMaxNestedTunnels == 3, "the frames below nest exactly to the bound");
  PacketBuilder three;
  three.eth()
      .ipv4("192.0.2.100", "192.0.2.200")
      .gre(seq)
      .erspan(2, 7)
      .eth()
      .vlan(40)
      .ipv4("198.51.100.1", "198.51.100.2")
      .udp(49152, 4789)
      .vxlan(5001)
      .eth()
      .vlan(41)
      .ipv4("10.200.0.1", "10.200.0.254")
      .udp(2152, 2152)
      .gtpu(0x1234abcd);
  const Frame f = PacketBuilder(three).ipv4("100.64.1.10", "198.51.100.53").udp(40001, 53).build();
  const Run x = run(f, DLT_EN10MB);
  REQUIRE(x.r == DecodeResult::Ok);
  CHECK(x.a.total() == 0);
  CHECK(x.p.l3 == f.ptr() + f.off(L::Ipv4, 3));
  CHECK(x.p.src == ip("100.64.1.10"));
  CHECK(x.p.tunnel.type == TunnelType::Erspan);
  CHECK(x.p.tunnel.id == 7);
  CHECK(x.p.tunnel.outer_src == ip("192.0.2.100"));
  CHECK(x.p.vlan == 40);  // the first tag on the way in, in the frame ERSPAN carries

  SECTION("a fourth encapsulation that is not GTP-U: tunnel_too_deep, the packet of the third level") {
    const Frame g = PacketBuilder(three)
                        .ipv4("100.64.1.10", "198.51.100.99")
                        .ipv4("10.9.9.1", "10.9.9.2")
                        .tcp(1, 2, 0x02)
                        .build();
    const Run y = run(g, DLT_EN10MB);
    REQUIRE(y.r == DecodeResult::Ok);
    CHECK(only(y.a, Anomaly::TunnelTooDeep));
    CHECK(y.p.l3 == g.ptr() + g.off(L::Ipv4, 3));
    CHECK(y.p.l4_proto == 4);
    CHECK(y.p.tunnel.type == TunnelType::Erspan);
  }
  SECTION("a fourth that is GTP-U: gtp_too_deep") {
    const Frame g = PacketBuilder()
                        .eth()
                        .ipv4("203.0.113.1", "203.0.113.2")
                        .gre()
                        .ipv4("198.51.100.1", "198.51.100.2")
                        .ipv4("198.51.100.3", "198.51.100.4")
                        .udp(49152, 4789)
                        .vxlan(3)
                        .eth()
                        .ipv4("10.200.0.1", "10.200.0.254")
                        .udp(2152, 2152)
                        .gtpu(9)
                        .ipv4("100.64.1.10", "198.51.100.53")
                        .udp(40001, 53)
                        .build();
    const Run y = run(g, DLT_EN10MB);
    REQUIRE(y.r == DecodeResult::Ok);
    CHECK(only(y.a, Anomaly::GtpTooDeep));
    CHECK(y.p.src == ip("10.200.0.1"));
    CHECK(y.p.dport == 2152);
    CHECK(y.p.tunnel.type == TunnelType::Gre);
    CHECK_FALSE(y.p.tunnel.has_id);
  }
}

TEST_CASE("decode: with tunnels off every encapsulation is the outer packet, and fragments are never taken apart",
          "[decode][tunnel]") {
  GreOpts seq;
  seq.seq = true;
  const std::vector<Frame> frames = {
      PacketBuilder().eth().ipv4("198.51.100.1", "198.51.100.2").udp(1, 4789).vxlan(1).eth().ipv4("10.0.0.1", "10.0.0.2").udp(1, 2).build(),
      PacketBuilder().eth().ipv4("198.51.100.1", "198.51.100.2").udp(1, 6081).geneve(1).eth().ipv4("10.0.0.1", "10.0.0.2").udp(1, 2).build(),
      PacketBuilder().eth().ipv4("198.51.100.1", "198.51.100.2").gre().ipv4("10.0.0.1", "10.0.0.2").udp(1, 2).build(),
      PacketBuilder().eth().ipv4("198.51.100.1", "198.51.100.2").gre(seq).erspan(2, 1).eth().ipv4("10.0.0.1", "10.0.0.2").udp(1, 2).build(),
      PacketBuilder().eth().ipv4("198.51.100.1", "198.51.100.2").udp(1, 37008).tzsp().eth().ipv4("10.0.0.1", "10.0.0.2").udp(1, 2).build(),
      PacketBuilder().eth().ipv4("198.51.100.1", "198.51.100.2").udp(1, 5247).capwap().wlan(false).ipv4("10.0.0.1", "10.0.0.2").udp(1, 2).build(),
      PacketBuilder().eth().ipv4("198.51.100.1", "198.51.100.2").ipv6("2001:db8::1", "2001:db8::2").udp(1, 2).build(),
  };
  for (size_t i = 0; i < frames.size(); ++i) {
    INFO("frame " << i);
    const Frame& f = frames[i];
    REQUIRE(run(f, DLT_EN10MB).p.tunnel.type != TunnelType::None);
    DecoderOptions off;
    off.decode_tunnels = false;
    const Run x = run(f, DLT_EN10MB, f.size(), f.size(), off);
    check_outer(x, f, "198.51.100.1");
    CHECK(x.a.total() == 0);
    // A first fragment of the same datagram (MF set, the lengths of the whole) is not taken apart either.
    Frame first = f;
    first.put16(first.off(L::Ipv4) + 6, 0x2000);
    const Run y = run(first, DLT_EN10MB);
    check_outer(y, first, "198.51.100.1");
    CHECK(y.p.fragmented);
    CHECK(y.a.total() == 0);
  }
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
      PacketBuilder().eth().ipv4("172.16.0.1", "172.16.0.2").udp(2152, 2152).gtpu(1).ipv4("10.0.0.1", "10.0.0.2").udp(2152, 2152).gtpu(2).ipv4("10.9.0.1", "10.9.0.2").tcp(1, 2, 0x02).build());
  GreOpts keyed;
  keyed.keyed = true;
  keyed.key = 9;
  GreOpts all;
  all.csum = all.keyed = all.seq = true;
  GreOpts seq;
  seq.seq = true;
  add("vxlan eth vlan ipv4 udp", DLT_EN10MB,
      PacketBuilder().eth().ipv4("198.51.100.1", "198.51.100.2").udp(49152, 4789).vxlan(5).eth().vlan(6).ipv4("10.0.0.1", "10.0.0.2").udp(3, 4).payload(3).build());
  add("geneve+opts eth ipv6 tcp", DLT_EN10MB,
      PacketBuilder().eth().ipv6("2001:db8:6::1", "2001:db8:6::2").udp(49152, 6081).geneve(5, 2).eth().ipv6("2001:db8::1", "2001:db8::2").tcp(1, 2, 0x02).build());
  add("geneve ipv4 udp", DLT_EN10MB,
      PacketBuilder().eth().ipv4("198.51.100.1", "198.51.100.2").udp(49152, 6081).geneve(5).ipv4("10.0.0.1", "10.0.0.2").udp(3, 4).build());
  add("gre+key ipv4 udp", DLT_EN10MB,
      PacketBuilder().eth().vlan(3).ipv4("203.0.113.1", "203.0.113.2").gre(keyed).ipv4("10.0.0.1", "10.0.0.2").udp(3, 4).payload(2).build());
  add("gre+csum+key+seq eth qinq ipv4 tcp", DLT_EN10MB,
      PacketBuilder().eth().ipv4("203.0.113.1", "203.0.113.2").gre(all).eth().vlan(1, 0x88A8).vlan(2).ipv4("10.0.0.1", "10.0.0.2").tcp(1, 2, 0x10).build());
  add("gre mpls mpls ipv4 udp", DLT_EN10MB,
      PacketBuilder().eth().ipv4("203.0.113.1", "203.0.113.2").gre().mpls(1000, false).mpls(2000, true).ipv4("10.0.0.1", "10.0.0.2").udp(3, 4).payload(2).build());
  add("pptp gre ppp ipv4 tcp", DLT_EN10MB,
      PacketBuilder().eth().ipv4("203.0.113.1", "203.0.113.2").gre_pptp(7).ppp().ipv4("10.0.0.1", "10.0.0.2").tcp(1, 2, 0x18).payload(4).build());
  add("pptp gre (seq only) ppp ipv6 udp", DLT_EN10MB,
      PacketBuilder().eth().ipv4("203.0.113.1", "203.0.113.2").gre_pptp(9, true, false).ppp(false).ipv6("2001:db8::1", "2001:db8::2").udp(3, 4).build());
  add("ipv6 gre ipv6 icmpv6", DLT_EN10MB,
      PacketBuilder().eth().ipv6("2001:db8:a::1", "2001:db8:a::2").gre().ipv6("2001:db8::1", "2001:db8::2").icmp(128, 0).build());
  add("erspan1 eth ipv4 udp", DLT_EN10MB,
      PacketBuilder().eth().ipv4("192.0.2.100", "192.0.2.200").gre().erspan(1).eth().ipv4("10.0.0.1", "10.0.0.2").udp(3, 4).build());
  add("erspan2 eth ipv4 tcp", DLT_EN10MB,
      PacketBuilder().eth().ipv4("192.0.2.100", "192.0.2.200").gre(seq).erspan(2, 7).eth().ipv4("10.0.0.1", "10.0.0.2").tcp(1, 2, 0x02).payload(5).build());
  add("erspan3+platform eth ipv6 udp", DLT_EN10MB,
      PacketBuilder().eth().ipv4("192.0.2.100", "192.0.2.200").gre(seq).erspan(3, 300, true).eth().ipv6("2001:db8::1", "2001:db8::2").udp(3, 4).build());
  add("tzsp tags eth ipv4 udp", DLT_EN10MB,
      PacketBuilder().eth().ipv4("192.0.2.150", "192.0.2.200").udp(40000, 37008).tzsp(1, {0x00, 0x0A, 0x01, 0xC8, 0x01}).eth().ipv4("10.0.0.1", "10.0.0.2").udp(3, 4).payload(1).build());
  add("tzsp wlan qos+htc ipv4 udp", DLT_EN10MB,
      PacketBuilder().eth().ipv4("192.0.2.150", "192.0.2.200").udp(40000, 37008).tzsp(18).wlan(false, true, false, true).ipv4("10.0.0.1", "10.0.0.2").udp(3, 4).build());
  add("capwap+radio mac wlan ipv4 tcp", DLT_EN10MB,
      PacketBuilder().eth().ipv4("203.0.113.100", "203.0.113.1").udp(12223, 5247).capwap(true, 4).wlan(false).ipv4("10.0.0.1", "10.0.0.2").tcp(1, 2, 0x02).build());
  add("capwap wlan wds ipv6 udp", DLT_EN10MB,
      PacketBuilder().eth().ipv4("203.0.113.100", "203.0.113.1").udp(12223, 5247).capwap().wlan(false, true, true).ipv6("2001:db8::1", "2001:db8::2").udp(3, 4).build());
  add("capwap 802.3 ipv4 udp", DLT_EN10MB,
      PacketBuilder().eth().ipv4("203.0.113.1", "203.0.113.100").udp(5247, 12223).capwap(false).eth().ipv4("10.0.0.1", "10.0.0.2").udp(3, 4).build());
  add("4in4 udp", DLT_EN10MB, PacketBuilder().eth().ipv4("192.0.2.1", "192.0.2.2").ipv4("10.0.0.1", "10.0.0.2").udp(3, 4).build());
  add("6in4 tcp", DLT_EN10MB, PacketBuilder().eth().ipv4("192.0.2.1", "192.0.2.2").ipv6("2001:db8::1", "2001:db8::2").tcp(1, 2, 0x02).build());
  add("4in6 icmp", DLT_EN10MB, PacketBuilder().eth().ipv6("2001:db8:f::1", "2001:db8:f::2").ipv4("10.0.0.1", "10.0.0.2").icmp(8, 0).build());
  add("6in6+ext udp", DLT_EN10MB,
      PacketBuilder().eth().ipv6("2001:db8:f::1", "2001:db8:f::2").ipv6_ext(60).ipv6("2001:db8::1", "2001:db8::2").udp(3, 4).build());
  add("erspan vxlan gtp ipv4 udp (the bound)", DLT_EN10MB,
      PacketBuilder().eth().ipv4("192.0.2.100", "192.0.2.200").gre(seq).erspan(2, 7).eth().ipv4("198.51.100.1", "198.51.100.2").udp(49152, 4789).vxlan(5).eth().ipv4("10.200.0.1", "10.200.0.254").udp(2152, 2152).gtpu(1).ipv4("10.0.0.1", "10.0.0.2").udp(3, 4).build());
  add("gre ipip vxlan gtp ipv4 (one past the bound)", DLT_EN10MB,
      PacketBuilder().eth().ipv4("203.0.113.1", "203.0.113.2").gre().ipv4("198.51.100.1", "198.51.100.2").ipv4("198.51.100.3", "198.51.100.4").udp(49152, 4789).vxlan(5).eth().ipv4("10.200.0.1", "10.200.0.254").udp(2152, 2152).gtpu(1).ipv4("10.0.0.1", "10.0.0.2").udp(3, 4).build());
  return g;
}

struct Want {
  DecodeResult r = DecodeResult::Ok;
  bool anomaly = false;
  Anomaly which = Anomaly::Count;
  size_t l3 = 0;  ///< offset of the IP header an Ok result must point at
};

Want malformed(Anomaly a) { return {DecodeResult::Malformed, true, a, 0}; }

/// The anomaly a tunnel layer's header counts when cut short (and the link header it carries, for
/// Ethernet and 802.11 inside it).
Anomaly tunnel_cut(L k) {
  switch (k) {
    case L::Gtp: return Anomaly::GtpTruncated;
    case L::Vxlan: return Anomaly::VxlanTruncated;
    case L::Geneve: return Anomaly::GeneveTruncated;
    case L::Gre: return Anomaly::GreTruncated;
    case L::Erspan: return Anomaly::ErspanTruncated;
    case L::Tzsp: return Anomaly::TzspTruncated;
    case L::Capwap: return Anomaly::CapwapTruncated;
    default: throw std::logic_error("not a tunnel layer");
  }
}

/// What decoding the first `cut` bytes must give, derived from the layers the builder wrote.
/// `wire_cut`: the frame really ended there (wirelen == caplen); otherwise the capture was cut by the
/// snaplen (wirelen == full length).
///
/// Inside a tunnel (once a tunnel header is whole), whatever is cut short beyond it is counted by its own
/// reason and the packet is the one that carried the innermost tunnel (its IP header at `fallback`): nothing
/// is dropped. A tunnel header cut short, a GRE header of which nothing was captured included, is counted as
/// the tunnel's anomaly; no byte of a UDP tunnel's header is no tunnel at all.
Want expect_cut(const Frame& f, size_t cut, bool wire_cut) {
  Want w;
  bool outer_ip = true;
  int depth = 0;              // tunnels taken apart so far
  bool in_tunnel = false;     // a failure now leaves the packet at `fallback`
  size_t fallback = 0;        // IP header of the packet that carried the innermost tunnel
  Anomaly carried = Anomaly::Count;  // what a link header right after a tunnel counts when cut
  L prev = L::Payload;
  auto fail = [&](Anomaly a) { return in_tunnel ? Want{DecodeResult::Ok, true, a, fallback} : malformed(a); };
  auto enter = [&](Anomaly cut_as) {
    ++depth;
    in_tunnel = true;
    fallback = w.l3;
    carried = cut_as;
  };
  for (size_t i = 0; i < f.layers.size(); ++i) {
    const auto& s = f.layers[i];
    const bool whole = cut >= s.off + s.need;
    const bool after_tunnel = i > 0 && (prev == L::Vxlan || prev == L::Geneve || prev == L::Gre ||
                                        prev == L::Erspan || prev == L::Tzsp || prev == L::Capwap);
    prev = s.kind;
    switch (s.kind) {
      case L::Eth:
      case L::Wlan:
      case L::Ppp:  // after GRE: PPTP's PPP header, part of the tunnel's as an Ethernet header is
        if (after_tunnel) {
          if (!whole) return fail(carried);
          break;
        }
        [[fallthrough]];
      case L::Sll:
      case L::Sll2:
      case L::Null:
      case L::Chdlc:
        if (!whole) return malformed(Anomaly::LinkTruncated);
        break;
      case L::Vlan:
        if (!whole) return fail(Anomaly::VlanTruncated);
        break;
      case L::Pppoe:
      case L::Mpls:
        if (!whole) return fail(Anomaly::EncapTruncated);
        break;
      case L::Ipv4:
      case L::Ipv6: {
        const Anomaly hdr = s.kind == L::Ipv4 ? Anomaly::Ipv4HeaderTruncated : Anomaly::Ipv6HeaderTruncated;
        const L before = i > 0 ? f.layers[i - 1].kind : L::Payload;
        if (!outer_ip && (before == L::Ipv4 || before == L::Ipv6 || before == L::Ipv6Ext)) {
          // IP in IP: a tunnel of its own, with no header but the inner packet's.
          if (depth == kMaxNestedTunnels) return {DecodeResult::Ok, true, Anomaly::TunnelTooDeep, w.l3};
          enter(Anomaly::Count);
        }
        if (cut <= s.off) {
          // Not one byte of the IP header. Raw IP: the link layer itself is empty. After MPLS: the stack's
          // payload is missing (its type is unknown without it). Otherwise the announced IP header is short.
          if (i == 0) return malformed(Anomaly::LinkTruncated);
          if (f.layers[i - 1].kind == L::Mpls) return fail(Anomaly::EncapTruncated);
          return fail(hdr);
        }
        if (!whole) return fail(hdr);
        if (wire_cut && outer_ip && cut < f.ip_end) return malformed(Anomaly::IpLengthExceedsPacket);
        outer_ip = false;
        w.l3 = s.off;
        break;
      }
      case L::Ipv6Ext:
        if (!whole) return fail(Anomaly::Ipv6ExtTruncated);
        break;
      case L::Tcp:
        if (!whole) return fail(Anomaly::TcpHeaderTruncated);
        break;
      case L::Udp:
        if (!whole) return fail(Anomaly::UdpHeaderTruncated);
        break;
      case L::Icmp:
        if (!whole) return fail(Anomaly::IcmpTruncated);
        break;
      case L::Gtp:
      case L::Vxlan:
      case L::Geneve:
      case L::Tzsp:
      case L::Capwap:
      case L::Gre:
      case L::Erspan: {
        // Zero captured bytes of a UDP tunnel's header: nothing says it is one, the packet is plain UDP. Of
        // GRE, the IP header announced it. Some but not all of the header: counted, the packet stays the one
        // that carried it. (GTP-U's `need` holds one byte of the inner packet, whose version it reads.)
        const Anomaly a = tunnel_cut(s.kind);
        const bool udp_tunnel = s.kind != L::Gre && s.kind != L::Erspan;
        if (udp_tunnel && cut <= s.off) return w;
        if (!whole) return {DecodeResult::Ok, true, a, w.l3};
        // GRE carrying ERSPAN: the ERSPAN layer is the tunnel's (type, session).
        if (s.kind == L::Gre && i + 1 < f.layers.size() && f.layers[i + 1].kind == L::Erspan) break;
        if (depth == kMaxNestedTunnels) {
          const bool gtp = s.kind == L::Gtp;
          return {DecodeResult::Ok, true, gtp ? Anomaly::GtpTooDeep : Anomaly::TunnelTooDeep, w.l3};
        }
        enter(a);
        break;
      }
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
      if (g.exact) REQUIRE(a.total() == (expect_cut(g.f, g.f.size(), true).anomaly ? 1u : 0u));
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

TEST_CASE("decode: quoted_packet reads the flow fields of the packet an ICMP error quotes", "[decode][icmp]") {
  Packet q;
  SECTION("ICMP port unreachable quoting a UDP datagram: addresses, protocol, ports, the error's VLAN") {
    Frame f = PacketBuilder().eth().vlan(7).ipv4("198.51.100.20", "192.0.2.10").icmp(3, 3)
                  .ipv4("192.0.2.10", "198.51.100.20").udp(50100, 3478).build();
    Run x = run(f, DLT_EN10MB);
    REQUIRE(x.r == DecodeResult::Ok);
    REQUIRE(quoted_packet(x.p, q));
    CHECK(q.ip_version == 4);
    CHECK(q.src == ip("192.0.2.10"));
    CHECK(q.dst == ip("198.51.100.20"));
    CHECK(int{q.l4_proto} == 17);
    CHECK(q.has_ports);
    CHECK(q.sport == 50100);
    CHECK(q.dport == 3478);
    CHECK(q.vlan == 7);
    // Cut before the ports (the quote ends 3 bytes into the UDP header): nothing to key it by.
    Run cut = run(f, DLT_EN10MB, static_cast<uint32_t>(f.off(L::Udp) + 3), f.size());
    REQUIRE(cut.r == DecodeResult::Ok);
    CHECK_FALSE(quoted_packet(cut.p, q));
    // The ports are the first 4 bytes: enough.
    Run four = run(f, DLT_EN10MB, static_cast<uint32_t>(f.off(L::Udp) + 4), f.size());
    REQUIRE(quoted_packet(four.p, q));
    CHECK(q.dport == 3478);
  }
  SECTION("every ICMP error type quotes; other messages do not") {
    for (int type = 0; type < 256; ++type) {
      Frame f = PacketBuilder().eth().ipv4("192.0.2.1", "192.0.2.10").icmp(static_cast<uint8_t>(type), 0)
                    .ipv4("192.0.2.10", "203.0.113.10").tcp(44100, 80, 0x02).build();
      Run x = run(f, DLT_EN10MB);
      REQUIRE(x.r == DecodeResult::Ok);
      const bool error = type == 3 || type == 4 || type == 5 || type == 11 || type == 12;
      INFO("ICMP type " << type);
      CHECK(is_icmp_error(1, static_cast<uint8_t>(type)) == error);
      CHECK(quoted_packet(x.p, q) == error);
      CHECK(is_icmp_error(58, static_cast<uint8_t>(type)) == (type >= 1 && type <= 4));
    }
  }
  SECTION("a quoted protocol without ports keys by addresses alone; a quoted later fragment is not keyed") {
    Frame echo = PacketBuilder().eth().ipv4("192.0.2.1", "192.0.2.10").icmp(11, 0)
                     .ipv4("192.0.2.10", "203.0.113.10").icmp(8, 0).build();
    Run x = run(echo, DLT_EN10MB);
    REQUIRE(quoted_packet(x.p, q));
    CHECK(int{q.l4_proto} == 1);
    CHECK_FALSE(q.has_ports);
    CHECK(q.sport == 0);
    Ipv4Opts later;
    later.frag_off8 = 185;
    Frame frag = PacketBuilder().eth().ipv4("192.0.2.1", "192.0.2.10").icmp(11, 1)
                     .ipv4("192.0.2.10", "203.0.113.10", later).udp(5000, 5001).build();
    CHECK_FALSE(quoted_packet(run(frag, DLT_EN10MB).p, q));
    Ipv4Opts first;
    first.mf = true;
    Frame head = PacketBuilder().eth().ipv4("192.0.2.1", "192.0.2.10").icmp(11, 1)
                     .ipv4("192.0.2.10", "203.0.113.10", first).udp(5000, 5001).build();
    REQUIRE(quoted_packet(run(head, DLT_EN10MB).p, q));
    CHECK(q.sport == 5000);
  }
  SECTION("a quote of the other IP version, or not IP at all, is not keyed") {
    Frame v6in4 = PacketBuilder().eth().ipv4("192.0.2.1", "192.0.2.10").icmp(3, 3)
                      .ipv6("2001:db8::1", "2001:db8::2").udp(1, 2).build();
    CHECK_FALSE(quoted_packet(run(v6in4, DLT_EN10MB).p, q));
    Frame junk = PacketBuilder().eth().ipv4("192.0.2.1", "192.0.2.10").icmp(3, 3).payload(28).build();
    CHECK_FALSE(quoted_packet(run(junk, DLT_EN10MB).p, q));
    // An IPv4 header length of 4 words, or one past the quote.
    Frame f = PacketBuilder().eth().ipv4("192.0.2.1", "192.0.2.10").icmp(3, 3)
                  .ipv4("192.0.2.10", "203.0.113.10").udp(5000, 5001).build();
    const size_t inner = f.off(L::Ipv4, 1);
    for (uint8_t ihl : {uint8_t{0x44}, uint8_t{0x4F}}) {
      Frame g = f;
      g.data[inner] = ihl;
      Run x = run(g, DLT_EN10MB);
      REQUIRE(x.r == DecodeResult::Ok);
      CHECK_FALSE(quoted_packet(x.p, q));
    }
  }
  SECTION("ICMPv6: the quoted extension chain is walked to the ports; a later fragment is not keyed") {
    Frame f = PacketBuilder().eth().ipv6("2001:db8:1::1", "2001:db8:1::10").icmp(1, 1)
                  .ipv6("2001:db8:1::10", "2001:db8:113::10").ipv6_ext(0).ipv6_ext(60, 2).ipv6_frag(0, true, 9)
                  .tcp(52300, 8080, 0x02).build();
    Run x = run(f, DLT_EN10MB);
    REQUIRE(x.r == DecodeResult::Ok);
    REQUIRE(quoted_packet(x.p, q));
    CHECK(q.ip_version == 6);
    CHECK(q.src == ip("2001:db8:1::10"));
    CHECK(q.dst == ip("2001:db8:113::10"));
    CHECK(int{q.l4_proto} == 6);
    CHECK(q.sport == 52300);
    CHECK(q.dport == 8080);
    // The quote cut inside the chain.
    Run cut = run(f, DLT_EN10MB, static_cast<uint32_t>(f.off(L::Ipv6Ext, 1) + 4), f.size());
    REQUIRE(cut.r == DecodeResult::Ok);
    CHECK_FALSE(quoted_packet(cut.p, q));
    Frame later = PacketBuilder().eth().ipv6("2001:db8:1::1", "2001:db8:1::10").icmp(3, 1)
                      .ipv6("2001:db8:1::10", "2001:db8:113::10").ipv6_frag(100, false, 9).payload(16).build();
    CHECK_FALSE(quoted_packet(run(later, DLT_EN10MB).p, q));
    // ICMPv6 messages that are not errors (echo request 128) quote nothing.
    Frame echo = PacketBuilder().eth().ipv6("2001:db8:1::1", "2001:db8:1::10").icmp(128, 0)
                     .ipv6("2001:db8:1::10", "2001:db8:113::10").udp(1, 2).build();
    CHECK_FALSE(quoted_packet(run(echo, DLT_EN10MB).p, q));
  }
}
