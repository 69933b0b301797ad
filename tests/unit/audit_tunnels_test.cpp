// The audit's canary search sees tunnelled traffic as the flows see it: the inner packets' payload, one packet
// at a time, reassembled into TCP streams and into IP datagrams. Frames built byte by byte, decoded by the real
// decoder (tunnels taken apart), fed to a Worker with the Auditor attached, as `sealscope audit` does.
#include <pcap/dlt.h>

#include <catch2/catch.hpp>
#include <string>

#include "analyze/worker.hpp"
#include "audit/audit.hpp"
#include "audit/canaries.hpp"
#include "audit/matcher.hpp"
#include "decode/decoder.hpp"
#include "audit_run.hpp"
#include "packet_builder.hpp"

using namespace sealscope;
using sealscope::testing::Frame;
using sealscope::testing::GreOpts;
using sealscope::testing::Ipv4Opts;
using sealscope::testing::L;
using sealscope::testing::PacketBuilder;

namespace {

constexpr TimestampUs kT0 = TimestampUs{1700000000} * 1000000;
const std::string kCanary = "tunnel-canary-7f3e";

struct Run : testing::AuditRun {
  explicit Run(bool tunnels = true) : AuditRun({{1, 1, kCanary}}, {}, decode::DecoderOptions{tunnels}, kT0) {}
};

/// Ethernet / IPv4 / UDP to 4789 / VXLAN (VNI 5001) / Ethernet: the inner packet follows.
PacketBuilder in_vxlan() {
  PacketBuilder b;
  b.eth().ipv4("198.51.100.1", "198.51.100.2").udp(49152, 4789).vxlan(5001).eth();
  return b;
}

/// Ethernet / IPv4 / GRE with key 7: the inner IPv4 packet follows.
PacketBuilder in_gre(bool up) {
  GreOpts o;
  o.keyed = true;
  o.key = 7;
  PacketBuilder b;
  b.eth().ipv4(up ? "203.0.113.1" : "203.0.113.2", up ? "203.0.113.2" : "203.0.113.1").gre(o);
  return b;
}

/// Ethernet / IPv4 / UDP 2152 / GTP-U (TEID 9): the inner IPv4 packet follows.
PacketBuilder in_gtp() {
  PacketBuilder b;
  b.eth().ipv4("10.200.0.1", "10.200.0.254").udp(2152, 2152).gtpu(9);
  return b;
}

}  // namespace

TEST_CASE("audit: a canary in a datagram carried in VXLAN is found in its flow, with tunnels off too",
          "[audit][tunnel]") {
  const std::string pl = std::string(12, 'a') + kCanary + std::string(10, 'b');
  const Frame f = in_vxlan().ipv4("192.0.2.10", "198.51.100.60").udp(40600, 7117).payload(pl).build();
  SECTION("taken apart: a packet hit of the inner flow, at its offset in the inner UDP payload") {
    Run r;
    r.feed(f);
    r.worker.finish();
    CHECK_FALSE(r.auditor.pass());
    CHECK(r.auditor.hits_in_packets() == 1);
    REQUIRE(r.auditor.hits().size() == 1);
    CHECK(r.auditor.hits()[0].offset == 12);
    REQUIRE(r.auditor.flows().size() == 1);
    const stats::FlowRecord& rec = r.auditor.flows()[0].rec;
    CHECK(rec.src_ip == "192.0.2.10");
    CHECK(rec.dst_port == 7117);
    CHECK(rec.tunnel.type == decode::TunnelType::Vxlan);
  }
  SECTION("tunnels off: a packet hit of the outer UDP flow, further into its payload") {
    Run r(false);
    r.feed(f);
    r.worker.finish();
    CHECK(r.auditor.hits_in_packets() == 1);
    REQUIRE(r.auditor.hits().size() == 1);
    CHECK(r.auditor.hits()[0].offset == 8 + 14 + 20 + 8 + 12);  // VXLAN, Ethernet, IPv4, UDP headers before it
    REQUIRE(r.auditor.flows().size() == 1);
    CHECK(r.auditor.flows()[0].rec.dst_port == 4789);
  }
}

TEST_CASE("audit: a canary split across two TCP segments carried in GRE is found in the reassembled stream",
          "[audit][tunnel]") {
  Run r;
  namespace tf = decode::tcp_flag;
  r.feed(in_gre(true).ipv4("192.0.2.10", "203.0.113.50").tcp(50100, 7117, tf::SYN, 999).build());
  r.feed(in_gre(false).ipv4("203.0.113.50", "192.0.2.10").tcp(7117, 50100, tf::SYN | tf::ACK, 4999, 1000).build());
  const std::string pl = std::string(20, 'x') + kCanary + std::string(20, 'y');  // 58 bytes, canary at 20..38
  r.feed(in_gre(true).ipv4("192.0.2.10", "203.0.113.50").tcp(50100, 7117, tf::ACK, 1000, 5000).payload(pl.substr(0, 28)).build());
  r.feed(in_gre(true).ipv4("192.0.2.10", "203.0.113.50").tcp(50100, 7117, tf::ACK | tf::PSH, 1028, 5000).payload(pl.substr(28)).build());
  r.worker.finish();
  CHECK_FALSE(r.auditor.pass());
  CHECK(r.auditor.hits_in_packets() == 0);  // no one packet holds it
  CHECK(r.auditor.hits_in_streams() == 1);
  REQUIRE(r.auditor.hits().size() == 1);
  CHECK(r.auditor.hits()[0].kind == audit::HitKind::Stream);
  CHECK(r.auditor.hits()[0].offset == 20);
  CHECK(r.auditor.hits()[0].dir == flow::kUp);
  REQUIRE(r.auditor.flows().size() == 1);
  CHECK(r.auditor.flows()[0].rec.tunnel.type == decode::TunnelType::Gre);
  CHECK(r.auditor.flows()[0].rec.tunnel.id == 7);
}

TEST_CASE("audit: a canary split across two IP fragments carried in GTP-U is found in the reassembled datagram",
          "[audit][tunnel][defrag]") {
  Run r;
  const std::string pl = std::string(30, 'a') + kCanary + std::string(100 - 30 - kCanary.size(), 'b');
  Ipv4Opts o;
  o.id = 0x7001;
  o.mf = true;
  Frame first = in_gtp().ipv4("100.64.1.10", "198.51.100.60", o).udp(40700, 7117).payload(pl.substr(0, 32)).build();
  first.put16(first.off(L::Udp, 1) + 4, 8 + 100);  // the whole datagram's UDP length
  o.mf = false;
  o.frag_off8 = 5;  // IP payload [40, 108): UDP payload [32, 100)
  Frame last = in_gtp().ipv4("100.64.1.10", "198.51.100.60", o).payload(pl.substr(32)).build();
  last.data[last.off(L::Ipv4, 1) + 9] = 17;
  r.feed(first);
  r.feed(last);
  r.worker.finish();
  CHECK_FALSE(r.auditor.pass());
  CHECK(r.auditor.hits_in_packets() == 0);
  CHECK(r.auditor.hits_in_datagrams() == 1);
  REQUIRE(r.auditor.hits().size() == 1);
  CHECK(r.auditor.hits()[0].kind == audit::HitKind::Datagram);
  CHECK(r.auditor.hits()[0].offset == 30);
  CHECK(r.auditor.hits()[0].frame_no == 2);
  REQUIRE(r.auditor.flows().size() == 1);
  CHECK(r.auditor.flows()[0].rec.tunnel.type == decode::TunnelType::GtpU);
  CHECK(r.auditor.flows()[0].rec.src_ip == "100.64.1.10");
}
