// The audit's canary search sees later IPv4 fragments that reach no flow when they arrive: held for a first
// fragment that comes later, or orphaned because it never comes. Before, their payload reached no observer,
// so a plaintext canary in them gave a PASS. And a canary split across two fragments of one datagram is found
// in the reassembled datagram (IPv4 and IPv6, in and out of order, overlaps, TCP segments into the stream too),
// while a datagram that never completes — timed out, over the cap — is counted and its fragments are still
// searched one by one. Frames built byte by byte, decoded by the real decoder, fed to a Worker with the Auditor
// attached, as `sealscope audit` does.
#include <pcap/dlt.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "analyze/worker.hpp"
#include "audit/audit.hpp"
#include "audit/canaries.hpp"
#include "audit/matcher.hpp"
#include "audit/report.hpp"
#include "decode/decoder.hpp"
#include "audit_run.hpp"
#include "packet_builder.hpp"

using namespace sealscope;
using sealscope::testing::Frame;
using sealscope::testing::Ipv4Opts;
using sealscope::testing::L;
using sealscope::testing::PacketBuilder;

namespace {

constexpr TimestampUs kT0 = TimestampUs{1700000000} * 1000000;
const std::string kCanary = "fragment-canary-0c1d";

/// testing::three_udp_fragments with the canary wholly inside the second fragment, 20 bytes in.
std::vector<Frame> fragments_with_canary(uint16_t id) {
  const std::string middle = std::string(20, 'x') + kCanary + std::string(72 - 20 - kCanary.size(), 'y');
  return testing::three_udp_fragments(id, &middle);
}

const std::string kCanary2 = "second-canary-77aa";

struct Run : testing::AuditRun {
  explicit Run(const audit::AuditOptions& o = {}) : AuditRun({{1, 1, kCanary}, {2, 2, kCanary2}}, o, {}, kT0) {}
  const audit::DefragCounters& defrag() const { return auditor.defrag().counters(); }
};

/// One IPv4 fragment of a UDP datagram 10.0.0.1:5000 -> 10.0.0.2:5001 (`reply`: the other way). `off` counts
/// bytes of the IP payload (UDP header included); the fragment at 0 carries the UDP header before `bytes`,
/// its length field set for `udp_payload` bytes in all.
Frame v4_frag(uint16_t id, uint32_t off, bool more, const std::string& bytes, uint32_t udp_payload = 0,
              bool reply = false) {
  const char* a = reply ? "10.0.0.2" : "10.0.0.1";
  const char* b = reply ? "10.0.0.1" : "10.0.0.2";
  Ipv4Opts o;
  o.id = id;
  o.mf = more;
  o.frag_off8 = static_cast<uint16_t>(off / 8);
  if (off == 0) {
    Frame f = PacketBuilder().eth().ipv4(a, b, o).udp(reply ? 5001 : 5000, reply ? 5000 : 5001).payload(bytes).build();
    f.put16(f.off(L::Udp) + 4, static_cast<uint16_t>(8 + udp_payload));
    return f;
  }
  Frame f = PacketBuilder().eth().ipv4(a, b, o).payload(bytes).build();
  f.data[f.off(L::Ipv4) + 9] = 17;
  return f;
}

/// The same with an IPv6 fragment header, 2001:db8::1 port 7000 -> 2001:db8::2 port 7001.
Frame v6_frag(uint32_t id, uint32_t off, bool more, const std::string& bytes, uint32_t udp_payload = 0) {
  if (off == 0) {
    Frame f = PacketBuilder()
                  .eth()
                  .ipv6("2001:db8::1", "2001:db8::2")
                  .ipv6_frag(0, more, id)
                  .udp(7000, 7001)
                  .payload(bytes)
                  .build();
    f.put16(f.off(L::Udp) + 4, static_cast<uint16_t>(8 + udp_payload));
    return f;
  }
  Frame f = PacketBuilder()
                .eth()
                .ipv6("2001:db8::1", "2001:db8::2")
                .ipv6_frag(static_cast<uint16_t>(off / 8), more, id)
                .payload(bytes)
                .build();
  f.data[f.off(L::Ipv6Ext)] = 17;
  return f;
}

/// 100 bytes of UDP payload with the canary at 30..50: cut after 32 bytes (IP payload 40), it straddles.
std::string straddling_payload(const std::string& canary = kCanary) {
  std::string p = std::string(30, 'a') + canary;
  return p + std::string(100 - p.size(), 'b');
}

}  // namespace

TEST_CASE("audit: a canary in a fragment that comes before its first fragment is found", "[audit][frag]") {
  Run r;
  const auto fr = fragments_with_canary(0x5151);
  r.feed(fr[2]);
  r.feed(fr[1]);  // frame 2: the canary
  r.feed(fr[0]);
  r.worker.finish();
  CHECK(r.worker.fragments_attributed() == 2);  // still counted into the flow
  CHECK_FALSE(r.auditor.pass());
  CHECK(r.auditor.hits_total() == 1);
  CHECK(r.auditor.hits_without_flow() == 1);
  CHECK(r.auditor.fragments_without_flow() == 2);
  REQUIRE(r.auditor.hits().size() == 1);
  CHECK(r.auditor.hits()[0].flow_id == audit::Hit::kNoFlow);
  CHECK(r.auditor.hits()[0].frame_no == 2);
  CHECK(r.auditor.hits()[0].offset == 20);
  CHECK(r.auditor.hits()[0].kind == audit::HitKind::Packet);
}

TEST_CASE("audit: a canary in a fragment whose first fragment never comes is found", "[audit][frag]") {
  Run r;
  const auto fr = fragments_with_canary(0x5252);
  r.feed(fr[1]);
  r.feed(fr[2]);
  r.worker.finish();
  CHECK(r.worker.anomalies().get(decode::Anomaly::FragmentOrphan) == 2);
  CHECK_FALSE(r.auditor.pass());
  CHECK(r.auditor.hits_total() == 1);
  CHECK(r.auditor.hits_without_flow() == 1);
  CHECK(r.auditor.fragments_without_flow() == 2);
}

TEST_CASE("audit: fragments in order are searched within their flow", "[audit][frag]") {
  Run r;
  const auto fr = fragments_with_canary(0x5353);
  for (const Frame& f : fr) r.feed(f);
  r.worker.finish();
  CHECK_FALSE(r.auditor.pass());
  CHECK(r.auditor.hits_total() == 1);
  CHECK(r.auditor.hits_without_flow() == 0);
  CHECK(r.auditor.fragments_without_flow() == 0);
  REQUIRE(r.auditor.hits().size() == 1);
  CHECK(r.auditor.hits()[0].flow_id != audit::Hit::kNoFlow);
  REQUIRE(r.auditor.flows().size() == 1);  // listed: a flow with a canary
  CHECK(r.auditor.flows()[0].hits_packet == 1);
}

TEST_CASE("audit: a canary split across two IPv4 fragments is a datagram hit of the first fragment's flow and "
          "direction", "[audit][frag][defrag]") {
  Run r;
  const std::string pl = straddling_payload();
  // The peer speaks first, so the fragmented datagram goes from the responder.
  r.feed(PacketBuilder().eth().ipv4("10.0.0.2", "10.0.0.1").udp(5001, 5000).payload("hello, fragments").build());
  r.feed(v4_frag(0x4001, 0, true, pl.substr(0, 32), 100));
  r.feed(v4_frag(0x4001, 40, false, pl.substr(32)));
  r.worker.finish();
  CHECK_FALSE(r.auditor.pass());
  CHECK(r.auditor.hits_total() == 1);  // in no single packet: only the datagram holds it
  CHECK(r.auditor.hits_in_packets() == 0);
  CHECK(r.auditor.hits_in_datagrams() == 1);
  REQUIRE(r.auditor.hits().size() == 1);
  const audit::Hit& h = r.auditor.hits()[0];
  CHECK(h.kind == audit::HitKind::Datagram);
  CHECK(h.offset == 30);        // in the datagram's UDP payload
  CHECK(h.frame_no == 3);       // the fragment that completed it
  CHECK(h.dir == flow::kDown);  // from the responder, as its first fragment
  REQUIRE(r.auditor.flows().size() == 1);
  CHECK(r.auditor.flows()[0].rec.id == h.flow_id);
  CHECK(r.auditor.flows()[0].hits_datagram == 1);
  CHECK(r.auditor.flows()[0].fails);
  CHECK(r.defrag().fragments == 2);
  CHECK(r.defrag().reassembled == 1);
  CHECK(r.auditor.defrag().incomplete_now() == 0);
  CHECK(audit::warnings(r.auditor).size() == 1);  // no messaging flow; nothing about datagrams
}

TEST_CASE("audit: a canary split across two IPv6 fragments is found, in order and the later fragment first",
          "[audit][frag][defrag]") {
  const std::string pl = straddling_payload();
  const Frame first = v6_frag(0xABCD0001, 0, true, pl.substr(0, 32), 100);
  const Frame last = v6_frag(0xABCD0001, 40, false, pl.substr(32));
  SECTION("in order") {
    Run r;
    r.feed(first);
    r.feed(last);
    r.worker.finish();
    REQUIRE(r.auditor.hits().size() == 1);
    CHECK(r.auditor.hits()[0].kind == audit::HitKind::Datagram);
    CHECK(r.auditor.hits()[0].offset == 30);
    CHECK(r.auditor.hits()[0].frame_no == 2);
    CHECK(r.auditor.hits()[0].dir == flow::kUp);
    REQUIRE(r.auditor.flows().size() == 1);
    CHECK(r.auditor.flows()[0].rec.id == r.auditor.hits()[0].flow_id);
    CHECK(r.auditor.flows()[0].rec.l4 == "udp");
  }
  SECTION("the later fragment first: it reaches no flow when it comes, the datagram still gets the flow") {
    Run r;
    r.feed(last);
    r.feed(first);
    r.worker.finish();
    CHECK(r.auditor.fragments_without_flow() == 1);
    REQUIRE(r.auditor.hits().size() == 1);
    const audit::Hit& h = r.auditor.hits()[0];
    CHECK(h.kind == audit::HitKind::Datagram);
    CHECK(h.offset == 30);
    CHECK(h.frame_no == 2);  // the first fragment completed it
    CHECK(h.flow_id != audit::Hit::kNoFlow);
    REQUIRE(r.auditor.flows().size() == 1);
    CHECK(r.auditor.flows()[0].rec.id == h.flow_id);
    CHECK(r.auditor.flows()[0].hits_datagram == 1);
  }
}

TEST_CASE("audit: IPv4 fragments out of order, the last one first", "[audit][frag][defrag]") {
  Run r;
  const std::string pl = straddling_payload();
  r.feed(v4_frag(0x4002, 72, false, pl.substr(64)));  // IP payload [72, 108)
  r.feed(v4_frag(0x4002, 40, true, pl.substr(32, 32)));  // [40, 72)
  r.feed(v4_frag(0x4002, 0, true, pl.substr(0, 32), 100));
  r.worker.finish();
  CHECK(r.auditor.fragments_without_flow() == 2);
  CHECK(r.auditor.hits_total() == 1);
  REQUIRE(r.auditor.hits().size() == 1);
  CHECK(r.auditor.hits()[0].kind == audit::HitKind::Datagram);
  CHECK(r.auditor.hits()[0].offset == 30);
  CHECK(r.auditor.hits()[0].frame_no == 3);
  CHECK(r.defrag().reassembled == 1);
}

TEST_CASE("audit: a canary inside one fragment of a reassembled datagram is reported once, as a packet hit",
          "[audit][frag][defrag]") {
  Run r;
  const std::string pl = std::string(40, 'a') + kCanary + std::string(40, 'b');  // [40, 60) of 100
  r.feed(v4_frag(0x4003, 0, true, pl.substr(0, 32), 100));
  r.feed(v4_frag(0x4003, 40, false, pl.substr(32)));
  r.worker.finish();
  CHECK(r.defrag().reassembled == 1);
  CHECK(r.auditor.hits_total() == 1);
  CHECK(r.auditor.hits_in_packets() == 1);
  CHECK(r.auditor.hits_in_datagrams() == 0);
  REQUIRE(r.auditor.hits().size() == 1);
  CHECK(r.auditor.hits()[0].frame_no == 2);
  CHECK(r.auditor.hits()[0].offset == 40 - 32);  // in the second fragment's own payload
}

TEST_CASE("audit: overlapping fragments, the first copy wins", "[audit][frag][defrag]") {
  const std::string pl = straddling_payload();
  SECTION("a repeated, identical overlap: the canary is found, the overlap counted, nothing differed") {
    Run r;
    r.feed(v4_frag(0x4004, 0, true, pl.substr(0, 32), 100));   // IP payload [0, 40): canary bytes 38, 39
    r.feed(v4_frag(0x4004, 32, true, pl.substr(24, 24)));      // [32, 56): overlaps [32, 40) with the same bytes
    r.feed(v4_frag(0x4004, 56, false, pl.substr(48)));         // [56, 108): the canary's last 2 bytes
    r.worker.finish();
    CHECK(r.defrag().overlapping_fragments == 1);
    CHECK(r.defrag().conflicting_bytes == 0);
    REQUIRE(r.auditor.hits().size() == 1);
    CHECK(r.auditor.hits()[0].kind == audit::HitKind::Datagram);
    CHECK(r.auditor.hits()[0].offset == 30);
  }
  SECTION("an agreeing overlap that holds the whole canary: one packet hit, not a second as a datagram hit") {
    Run r;
    r.feed(v4_frag(0x4004, 0, true, pl.substr(0, 32), 100));   // [0, 40)
    r.feed(v4_frag(0x4004, 32, true, pl.substr(24, 40)));      // [32, 72): all of the canary, in its own payload
    r.feed(v4_frag(0x4004, 72, false, pl.substr(64)));
    r.worker.finish();
    CHECK(r.defrag().reassembled == 1);
    CHECK(r.auditor.hits_total() == 1);
    REQUIRE(r.auditor.hits().size() == 1);
    CHECK(r.auditor.hits()[0].kind == audit::HitKind::Packet);
    CHECK(r.auditor.hits()[0].frame_no == 2);
    CHECK(r.auditor.hits()[0].offset == 6);
  }
  SECTION("a differing copy of the canary's tail that comes first is the one kept: counted, not searched whole") {
    Run r;
    std::string decoy = pl.substr(32, 32);
    for (size_t i = 0; i < 18; ++i) decoy[i] = 'z';  // where the canary's last 18 bytes are
    r.feed(v4_frag(0x4005, 0, true, pl.substr(0, 32), 100));
    r.feed(v4_frag(0x4005, 40, true, decoy));             // [40, 72), first copy
    r.feed(v4_frag(0x4005, 40, false, pl.substr(32)));    // [40, 108): its first 32 bytes overlap
    r.worker.finish();
    CHECK(r.defrag().reassembled == 1);
    CHECK(r.defrag().overlapping_fragments == 1);
    CHECK(r.defrag().conflicting_bytes == 18);
    CHECK(r.auditor.hits_total() == 0);  // what a first-copy host reassembles holds no canary
  }
}

TEST_CASE("audit: a datagram that never completes is counted and its fragments are still searched one by one",
          "[audit][frag][defrag]") {
  Run r;
  const std::string pl = straddling_payload() + std::string(8, 'c') + kCanary2 + std::string(12, 'd');  // 138
  r.feed(v4_frag(0x4006, 0, true, pl.substr(0, 32), 138));
  r.feed(v4_frag(0x4006, 104, true, pl.substr(96, 40)));  // UDP payload [96, 136): kCanary2 at 108..126
  r.worker.finish();
  CHECK(r.defrag().reassembled == 0);
  CHECK(r.auditor.defrag().incomplete_now() == 1);
  CHECK(r.auditor.hits_total() == 1);  // kCanary2, whole in the second fragment; kCanary is split: not found
  REQUIRE(r.auditor.hits().size() == 1);
  CHECK(r.auditor.hits()[0].kind == audit::HitKind::Packet);
  CHECK(r.auditor.hits()[0].frame_no == 2);
  CHECK(r.auditor.hits()[0].offset == 108 - 96);
  const auto w = audit::warnings(r.auditor);
  CHECK(std::count_if(w.begin(), w.end(), [](const std::string& s) {
          return s.rfind("1 fragmented IP datagram(s) were never reassembled", 0) == 0;
        }) == 1);
}

TEST_CASE("audit: an incomplete datagram times out (counted), so its last fragment completes nothing",
          "[audit][frag][defrag]") {
  audit::AuditOptions o;
  o.defrag.timeout_s = 30;
  Run r(o);
  const std::string pl = straddling_payload();
  r.feed(v4_frag(0x4007, 0, true, pl.substr(0, 32), 100), kT0);
  r.feed(PacketBuilder().eth().ipv4("10.9.9.9", "10.8.8.8").udp(1, 2).payload("tick").build(), kT0 + 31000000);
  CHECK(r.defrag().timed_out == 1);
  r.feed(v4_frag(0x4007, 40, false, pl.substr(32)), kT0 + 31000001);
  r.worker.finish();
  CHECK(r.defrag().reassembled == 0);
  CHECK(r.auditor.hits_total() == 0);
  CHECK(r.auditor.defrag().incomplete_now() == 1);  // the last fragment began a datagram of its own
}

TEST_CASE("audit: datagrams over --defrag-cap are given up oldest first, counted, and the cap holds",
          "[audit][frag][defrag]") {
  audit::AuditOptions o;
  o.defrag.held = 2000;
  Run r(o);
  const std::string big = std::string(1170, 'q') + straddling_payload();  // 1270; the canary at 1200..1220
  r.feed(v4_frag(0x4008, 0, true, big.substr(0, 1208), 1270));  // datagram X: IP payload [0, 1216)
  r.feed(v4_frag(0x4009, 0, true, big.substr(0, 1208), 1270));  // datagram Y: X is given up to make room
  CHECK(r.defrag().dropped_at_cap == 1);
  r.feed(v4_frag(0x4009, 1216, false, big.substr(1208)));  // Y completes: the canary across its two fragments
  r.feed(v4_frag(0x4008, 1216, false, big.substr(1208)));  // X's first fragment is gone
  r.worker.finish();
  CHECK(r.defrag().reassembled == 1);
  CHECK(r.defrag().peak <= 2000);
  CHECK(r.auditor.hits_in_datagrams() == 1);
  REQUIRE(r.auditor.hits().size() == 1);
  CHECK(r.auditor.hits()[0].frame_no == 3);
  CHECK(r.auditor.hits()[0].offset == 1200);
  CHECK(r.auditor.defrag().incomplete_now() == 1);
}

TEST_CASE("audit: a fragmented TCP segment is a datagram hit and reaches the stream whole, without a gap",
          "[audit][frag][defrag]") {
  Run r;
  const std::string pl = straddling_payload();
  r.feed(PacketBuilder().eth().ipv4("10.0.0.1", "10.0.0.2").tcp(40000, 7117, decode::tcp_flag::SYN, 999).build());
  r.feed(PacketBuilder()
             .eth()
             .ipv4("10.0.0.2", "10.0.0.1")
             .tcp(7117, 40000, decode::tcp_flag::SYN | decode::tcp_flag::ACK, 5000, 1000)
             .build());
  Ipv4Opts o;
  o.id = 0x400A;
  o.mf = true;
  r.feed(PacketBuilder()  // IP payload [0, 56): TCP header + payload [0, 36)
             .eth()
             .ipv4("10.0.0.1", "10.0.0.2", o)
             .tcp(40000, 7117, decode::tcp_flag::ACK | decode::tcp_flag::PSH, 1000, 5001)
             .payload(pl.substr(0, 36))
             .build());
  o.mf = false;
  o.frag_off8 = 7;
  Frame tail = PacketBuilder().eth().ipv4("10.0.0.1", "10.0.0.2", o).payload(pl.substr(36)).build();
  tail.data[tail.off(L::Ipv4) + 9] = 6;
  r.feed(tail);
  r.feed(PacketBuilder()
             .eth()
             .ipv4("10.0.0.1", "10.0.0.2")
             .tcp(40000, 7117, decode::tcp_flag::ACK | decode::tcp_flag::PSH, 1100, 5001)
             .payload("next segment")
             .build());
  r.worker.finish();
  CHECK(r.auditor.hits_in_datagrams() == 1);
  CHECK(r.auditor.hits_in_streams() == 1);
  CHECK(r.auditor.hits_in_packets() == 0);
  for (const audit::Hit& h : r.auditor.hits()) {
    CHECK(h.offset == 30);  // in the segment's payload, and in the stream from the byte after the SYN
    CHECK(h.frame_no == 4);
    CHECK(h.dir == flow::kUp);
  }
  CHECK(r.auditor.tcp_totals().delivered == 100 + 12);
  CHECK(r.auditor.tcp_totals().gaps == 0);  // without the datagram, bytes 36..100 would be a gap
  REQUIRE(r.auditor.flows().size() == 1);
  CHECK(r.auditor.flows()[0].hits_datagram == 1);
  CHECK(r.auditor.flows()[0].hits_stream == 1);
}
