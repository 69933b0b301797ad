// The analysis worker end to end: frames built byte by byte, decoded by the real decoder, fed to a Worker
// (flow table + nDPI + fragment tracking); flow records captured by a RecordSink double. Expected counts
// and sizes are sums over the packets each test writes.
#include <pcap/dlt.h>

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "analyze/worker.hpp"
#include "decode/decoder.hpp"
#include "packet_builder.hpp"

using namespace sealscope;
using sealscope::testing::Frame;
using sealscope::testing::Ipv4Opts;
using sealscope::testing::L;
using sealscope::testing::PacketBuilder;
namespace tf = sealscope::decode::tcp_flag;

namespace {

constexpr TimestampUs kMs = 1000;
constexpr TimestampUs kSec = 1000000;
constexpr TimestampUs kT0 = 1700000000 * kSec;

struct Capture : stats::RecordSink {
  std::vector<stats::FlowRecord> recs;
  void write(const stats::FlowRecord& r) override { recs.push_back(r); }
};

analyze::PipelineOptions opts() {
  analyze::PipelineOptions o;
  o.table.close_linger_s = 5;
  o.table.active_s = 0;
  return o;
}

/// Decodes a frame with the real decoder and hands it to the worker at time `ts`.
struct Feeder {
  explicit Feeder(analyze::Worker& worker) : w(worker) {}
  analyze::Worker& w;
  decode::Decoder dec{};
  decode::AnomalyCounters decode_anomalies{};
  void operator()(const Frame& f, TimestampUs ts) {
    decode::Packet p;
    REQUIRE(dec.decode(DLT_EN10MB, f.ptr(), f.size(), f.size(), p, decode_anomalies) == decode::DecodeResult::Ok);
    p.ts = ts;
    w.process(p);
  }
};

const char* kClient = "10.0.0.2";  // numerically above the server: the initiator is not simply "side A"
const char* kServer = "10.0.0.1";

Frame c2s(uint8_t flags, size_t payload = 0, uint16_t cport = 40000) {
  return PacketBuilder().eth().ipv4(kClient, kServer).tcp(cport, 80, flags).payload(payload).build();
}
Frame s2c(uint8_t flags, size_t payload = 0, uint16_t cport = 40000) {
  return PacketBuilder().eth().ipv4(kServer, kClient).tcp(80, cport, flags).payload(payload).build();
}

/// Handshake, one request, one response, FIN both ways, last ACK: 8 packets, 10 ms apart.
void tcp_conversation(Feeder& feed, TimestampUs t0, uint16_t cport = 40000) {
  feed(c2s(tf::SYN, 0, cport), t0 + 0 * kMs);
  feed(s2c(tf::SYN | tf::ACK, 0, cport), t0 + 10 * kMs);
  feed(c2s(tf::ACK, 0, cport), t0 + 20 * kMs);
  feed(c2s(tf::PSH | tf::ACK, 100, cport), t0 + 30 * kMs);
  feed(s2c(tf::PSH | tf::ACK, 300, cport), t0 + 40 * kMs);
  feed(c2s(tf::FIN | tf::ACK, 0, cport), t0 + 50 * kMs);
  feed(s2c(tf::FIN | tf::ACK, 0, cport), t0 + 60 * kMs);
  feed(c2s(tf::ACK, 0, cport), t0 + 70 * kMs);
}

void check_conversation(const stats::FlowRecord& r, TimestampUs t0) {
  CHECK(r.src_ip == kClient);  // the first packet's sender
  CHECK(r.src_port == 40000);
  CHECK(r.dst_ip == kServer);
  CHECK(r.dst_port == 80);
  CHECK(r.l4 == "tcp");
  CHECK(r.vlan == -1);
  // up: SYN, ACK, request, FIN, ACK; down: SYN-ACK, response, FIN.
  CHECK(r.packets[0] == 5);
  CHECK(r.packets[1] == 3);
  CHECK(r.bytes[0] == 40 + 40 + 140 + 40 + 40);  // IP lengths: 20 + 20 + payload
  CHECK(r.bytes[1] == 40 + 340 + 40);
  CHECK(r.payload[0] == 100);
  CHECK(r.payload[1] == 300);
  CHECK(r.first_seen == t0);
  CHECK(r.last_seen == t0 + 70 * kMs);
  // Flag counts by bit: FIN(0) SYN(1) RST(2) PSH(3) ACK(4).
  CHECK(r.tcp_flags[0] == 2);
  CHECK(r.tcp_flags[1] == 2);
  CHECK(r.tcp_flags[2] == 0);
  CHECK(r.tcp_flags[3] == 2);
  CHECK(r.tcp_flags[4] == 7);
  CHECK(r.size[0].n == 8);
  CHECK(r.size[0].max == 340);
  CHECK(r.size[0].min == 40);
  CHECK(r.iat_ms[0].n == 7);
  CHECK(r.iat_ms[0].mean == Approx(10.0));
  // SPLT: [dir, ip_len, ms since previous]; down has the top bit.
  REQUIRE(r.splt.size() == 8);
  const int dirs[8] = {0, 1, 0, 0, 1, 0, 1, 0};
  const uint16_t lens[8] = {40, 40, 40, 140, 340, 40, 40, 40};
  for (int i = 0; i < 8; ++i) {
    INFO("splt " << i);
    const uint32_t dm = r.splt[static_cast<size_t>(i)].dir_ms;
    const uint16_t len = r.splt[static_cast<size_t>(i)].ip_len;
    CHECK((dm >> 31) == static_cast<uint32_t>(dirs[i]));
    CHECK((dm & 0x7FFFFFFF) == (i == 0 ? 0u : 10u));
    CHECK(len == lens[i]);
  }
}

}  // namespace

TEST_CASE("worker: TCP handshake, data, FIN both ways: one record, ends fin after the linger", "[worker]") {
  Capture out;
  analyze::Worker w(opts(), out, 1);
  Feeder feed{w};
  tcp_conversation(feed, kT0);
  CHECK(out.recs.empty());  // lingering (TIME_WAIT): not written yet
  CHECK(w.table().size() == 1);
  // Another flow's packet just before the linger (5 s after the last ACK) ends: still lingering.
  const Frame other = PacketBuilder().eth().ipv4("10.9.9.9", "10.8.8.8").udp(1, 2).payload(4).build();
  feed(other, kT0 + 70 * kMs + 5 * kSec - 1);
  CHECK(out.recs.empty());
  feed(other, kT0 + 70 * kMs + 5 * kSec);
  REQUIRE(out.recs.size() == 1);
  CHECK(out.recs[0].end == flow::EndReason::Fin);
  check_conversation(out.recs[0], kT0);
  w.finish();
  REQUIRE(out.recs.size() == 2);
  CHECK(out.recs[1].end == flow::EndReason::Eof);
  CHECK(out.recs[1].l4 == "udp");
  CHECK(out.recs[1].packets[0] == 2);
}

TEST_CASE("worker: the detectors' per-flow state is freed once they are done with the flow", "[worker]") {
  // A client's first segment of 48 bytes may open Threema's handshake: the detectors keep state for the
  // server's answer. An answer of 100 bytes (Threema's is 80) settles it: done, and the state is gone
  // while the flow lives on.
  struct Watch : analyze::PacketObserver {
    std::vector<bool> has_state;
    void on_packet(const flow::Flow& f, const decode::Packet&, flow::Dir, const classify::Classifier&) override {
      has_state.push_back(f.det != nullptr);
    }
  } watch;
  Capture out;
  analyze::Worker w(opts(), out, 1);
  w.add_observer(&watch);
  Feeder feed{w};
  feed(c2s(tf::SYN), kT0);
  feed(s2c(tf::SYN | tf::ACK), kT0 + 10 * kMs);
  feed(c2s(tf::ACK), kT0 + 20 * kMs);
  feed(c2s(tf::PSH | tf::ACK, 48), kT0 + 30 * kMs);
  feed(s2c(tf::PSH | tf::ACK, 100), kT0 + 40 * kMs);
  feed(c2s(tf::PSH | tf::ACK, 48), kT0 + 50 * kMs);
  CHECK(watch.has_state == std::vector<bool>{false, false, false, true, false, false});
  w.finish();
  REQUIRE(out.recs.size() == 1);
  CHECK(out.recs[0].packets[0] == 4);
  CHECK(out.recs[0].packets[1] == 2);
}

TEST_CASE("worker: a closing flow still lingering at finish() ends fin", "[worker]") {
  Capture out;
  analyze::Worker w(opts(), out, 1);
  Feeder feed{w};
  tcp_conversation(feed, kT0);
  w.finish();
  REQUIRE(out.recs.size() == 1);
  CHECK(out.recs[0].end == flow::EndReason::Fin);
  check_conversation(out.recs[0], kT0);
}

TEST_CASE("worker: RST closes the flow with end rst", "[worker]") {
  Capture out;
  analyze::Worker w(opts(), out, 1);
  Feeder feed{w};
  feed(c2s(tf::SYN), kT0);
  feed(s2c(tf::RST | tf::ACK), kT0 + kMs);
  w.finish();
  REQUIRE(out.recs.size() == 1);
  CHECK(out.recs[0].end == flow::EndReason::Rst);
  CHECK(out.recs[0].packets[0] == 1);
  CHECK(out.recs[0].packets[1] == 1);
  CHECK(out.recs[0].tcp_flags[2] == 1);
}

TEST_CASE("worker: a new SYN on a closed 5-tuple starts a second flow", "[worker]") {
  Capture out;
  analyze::Worker w(opts(), out, 1);
  Feeder feed{w};
  tcp_conversation(feed, kT0);
  // Port reuse 1 s later, inside the 5 s linger.
  feed(c2s(tf::SYN), kT0 + 1 * kSec);
  REQUIRE(out.recs.size() == 1);
  CHECK(out.recs[0].end == flow::EndReason::Fin);
  check_conversation(out.recs[0], kT0);
  feed(s2c(tf::SYN | tf::ACK), kT0 + 1 * kSec + 5 * kMs);
  w.finish();
  REQUIRE(out.recs.size() == 2);
  CHECK(out.recs[1].id != out.recs[0].id);
  CHECK(out.recs[1].end == flow::EndReason::Eof);
  CHECK(out.recs[1].src_ip == kClient);
  CHECK(out.recs[1].packets[0] == 1);
  CHECK(out.recs[1].packets[1] == 1);
  CHECK(out.recs[1].first_seen == kT0 + 1 * kSec);
}

TEST_CASE("worker: a stray ACK inside the linger is absorbed by the closing flow", "[worker]") {
  Capture out;
  analyze::Worker w(opts(), out, 1);
  Feeder feed{w};
  tcp_conversation(feed, kT0);
  feed(s2c(tf::ACK), kT0 + 2 * kSec);  // retransmitted ACK: same flow, no new one
  w.finish();
  REQUIRE(out.recs.size() == 1);
  CHECK(out.recs[0].packets[1] == 4);
  CHECK(out.recs[0].end == flow::EndReason::Fin);
}

TEST_CASE("worker: idle expiry writes a record with end idle", "[worker]") {
  analyze::PipelineOptions o = opts();
  o.table.udp_idle_s = 30;
  Capture out;
  analyze::Worker w(o, out, 1);
  Feeder feed{w};
  const Frame q = PacketBuilder().eth().ipv4("10.0.0.5", "192.0.2.53").udp(33333, 53).payload(30).build();
  const Frame r = PacketBuilder().eth().ipv4("192.0.2.53", "10.0.0.5").udp(53, 33333).payload(90).build();
  feed(q, kT0);
  feed(r, kT0 + 20 * kMs);
  const Frame later = PacketBuilder().eth().ipv4("10.0.0.6", "192.0.2.53").udp(1, 53).build();
  feed(later, kT0 + 20 * kMs + 30 * kSec);
  REQUIRE(out.recs.size() == 1);
  CHECK(out.recs[0].end == flow::EndReason::Idle);
  CHECK(out.recs[0].src_ip == "10.0.0.5");
  CHECK(out.recs[0].bytes[0] == 58);
  CHECK(out.recs[0].bytes[1] == 118);
  CHECK(out.recs[0].payload[1] == 90);
  // finish() is required: a Worker destroyed with live flows leaks their nDPI state (reported separately).
  w.finish();
  REQUIRE(out.recs.size() == 2);
  CHECK(out.recs[1].end == flow::EndReason::Eof);
}

// Live capture on a quiet link: no later packet moves the clock, so the capture thread's clock ticks must
// end idle flows (and closed TCP flows past their linger) at their timeout, not at the end of the capture.
TEST_CASE("worker: a clock tick without packets ends idle and lingering flows", "[worker]") {
  analyze::PipelineOptions o = opts();  // close linger 5 s
  o.table.udp_idle_s = 30;
  Capture out;
  analyze::Worker w(o, out, 1);
  Feeder feed{w};
  feed(PacketBuilder().eth().ipv4("10.0.0.5", "192.0.2.53").udp(33333, 53).payload(30).build(), kT0);
  tcp_conversation(feed, kT0 + 1 * kSec);
  w.tick(kT0 + 5 * kSec);  // the TCP flow closed at 1.06 s: still lingering
  CHECK(out.recs.empty());
  w.tick(kT0 + 7 * kSec);
  REQUIRE(out.recs.size() == 1);
  CHECK(out.recs[0].end == flow::EndReason::Fin);
  w.tick(kT0 + 3 * kSec);  // a tick never moves the clock back
  w.tick(kT0 + 29 * kSec);
  CHECK(out.recs.size() == 1);
  w.tick(kT0 + 31 * kSec);
  REQUIRE(out.recs.size() == 2);
  CHECK(out.recs[1].end == flow::EndReason::Idle);
  CHECK(out.recs[1].dst_port == 53);
  CHECK(out.recs[1].last_seen == kT0);  // the record's times are its packets', not the tick's
  w.finish();
  CHECK(out.recs.size() == 2);
}

TEST_CASE("worker: active timeout writes an 'active' record and counting goes on", "[worker]") {
  analyze::PipelineOptions o = opts();
  o.table.active_s = 10;
  Capture out;
  analyze::Worker w(o, out, 1);
  Feeder feed{w};
  const Frame up = PacketBuilder().eth().ipv4("10.0.0.5", "10.0.0.6").udp(5004, 5006).payload(160).build();
  for (TimestampUs s : {0, 4, 8}) feed(up, kT0 + s * kSec);
  CHECK(out.recs.empty());
  feed(up, kT0 + 10 * kSec);  // 10 s after the first packet: the active timeout is reached
  REQUIRE(out.recs.size() == 1);
  CHECK(out.recs[0].end == flow::EndReason::Active);
  CHECK(out.recs[0].packets[0] == 4);
  CHECK(out.recs[0].bytes[0] == 4 * 188);
  feed(up, kT0 + 12 * kSec);
  feed(up, kT0 + 13 * kSec);
  w.finish();
  REQUIRE(out.recs.size() == 2);
  CHECK(out.recs[1].end == flow::EndReason::Eof);
  CHECK(out.recs[1].id == out.recs[0].id);  // the same flow, continued
  CHECK(out.recs[1].packets[0] == 2);
  CHECK(out.recs[1].bytes[0] == 2 * 188);
  CHECK(out.recs[1].last_seen == kT0 + 13 * kSec);
  CHECK(out.recs[1].splt.size() == 2);
}

TEST_CASE("worker: an ICMP flow keeps the type and code of its first message each way, per record", "[worker]") {
  analyze::PipelineOptions o = opts();
  o.table.active_s = 10;
  Capture out;
  analyze::Worker w(o, out, 1);
  Feeder feed{w};
  const auto msg = [](const char* src, const char* dst, uint8_t type, uint8_t code, const Ipv4Opts& ip = {}) {
    return PacketBuilder().eth().ipv4(src, dst, ip).icmp(type, code).payload(32).build();
  };
  feed(msg("10.0.0.7", "10.0.0.8", 8, 0), kT0);                 // echo request
  feed(msg("10.0.0.8", "10.0.0.7", 3, 3), kT0 + 1 * kSec);      // port unreachable back
  feed(msg("10.0.0.7", "10.0.0.8", 13, 0), kT0 + 2 * kSec);     // later messages: counted, not the first
  feed(msg("10.0.0.8", "10.0.0.7", 0, 0), kT0 + 3 * kSec);
  // At 10 s the active timeout is reached by the first fragment of a datagram: a record.
  Ipv4Opts first;
  first.id = 0x7777;
  first.mf = true;
  feed(msg("10.0.0.7", "10.0.0.8", 17, 0, first), kT0 + 10 * kSec);
  REQUIRE(out.recs.size() == 1);
  const stats::FlowRecord& a = out.recs[0];
  CHECK(a.l4 == "icmp");
  CHECK(a.packets[0] == 3);
  CHECK(a.packets[1] == 2);
  REQUIRE(a.has_icmp[0]);
  REQUIRE(a.has_icmp[1]);
  CHECK(int{a.icmp_type[0]} == 8);
  CHECK(int{a.icmp_code[0]} == 0);
  CHECK(int{a.icmp_type[1]} == 3);
  CHECK(int{a.icmp_code[1]} == 3);
  // The next record counts afresh. Its first packet up is that datagram's later fragment, which has no
  // ICMP header: counted, and the first whole message after it is the one the record names. Nothing
  // came back in it.
  Ipv4Opts later = first;
  later.mf = false;
  later.frag_off8 = 5;
  Frame tail = PacketBuilder().eth().ipv4("10.0.0.7", "10.0.0.8", later).payload(16).build();
  tail.data[tail.off(L::Ipv4) + 9] = 1;
  feed(tail, kT0 + 11 * kSec);
  feed(msg("10.0.0.7", "10.0.0.8", 15, 0), kT0 + 12 * kSec);
  w.finish();
  REQUIRE(out.recs.size() == 2);
  const stats::FlowRecord& b = out.recs[1];
  CHECK(w.fragments_attributed() == 1);
  CHECK(b.packets[0] == 2);
  CHECK(b.packets[1] == 0);
  REQUIRE(b.has_icmp[0]);
  CHECK(int{b.icmp_type[0]} == 15);
  CHECK_FALSE(b.has_icmp[1]);
}

TEST_CASE("worker: an ICMP error counts in the live flow of the packet it quotes, per record", "[worker]") {
  analyze::PipelineOptions o = opts();
  o.table.active_s = 10;
  Capture out;
  analyze::Worker w(o, out, 1);
  Feeder feed{w};
  const char* c = "10.0.0.7";
  const char* s = "10.0.0.8";
  const char* router = "10.9.9.9";
  const auto dgram = [](const char* src, const char* dst, uint16_t sp, uint16_t dp) {
    return PacketBuilder().eth().ipv4(src, dst).udp(sp, dp).payload(20).build();
  };
  const auto error = [](const char* from, const char* to, uint8_t type, uint8_t code, const char* qsrc,
                        const char* qdst, uint16_t sp, uint16_t dp) {
    return PacketBuilder().eth().ipv4(from, to).icmp(type, code).ipv4(qsrc, qdst).udp(sp, dp).build();
  };
  feed(dgram(c, s, 40000, 53), kT0);
  feed(dgram(s, c, 53, 40000), kT0 + 1 * kMs);
  // The first error is the client's, about the answer (a packet that went down, reported by its own
  // destination); then the server's about the query, and a router's about it.
  feed(error(c, s, 3, 3, s, c, 53, 40000), kT0 + 2 * kMs);
  feed(error(s, c, 3, 10, c, s, 40000, 53), kT0 + 3 * kMs);
  feed(error(router, c, 11, 0, c, s, 40000, 53), kT0 + 4 * kMs);
  // Tied to nothing: an error about a datagram of no flow here, and one whose quote ends before the ports.
  feed(error(s, c, 3, 3, c, s, 40001, 53), kT0 + 5 * kMs);
  Frame cut = PacketBuilder().eth().ipv4(s, c).icmp(3, 3).ipv4(c, s).build();
  cut.data[cut.off(L::Ipv4, 1) + 9] = 17;
  feed(cut, kT0 + 6 * kMs);
  // The active timeout at 10 s writes the datagram flow's record; the next one starts without errors.
  feed(dgram(c, s, 40000, 53), kT0 + 10 * kSec);
  feed(dgram(c, s, 40000, 53), kT0 + 11 * kSec);
  w.finish();
  REQUIRE(out.recs.size() == 4);
  const stats::FlowRecord& a = out.recs[0];
  CHECK(a.l4 == "udp");
  CHECK(a.end == flow::EndReason::Active);
  CHECK(a.icmp_errors == 3);
  CHECK(int{a.icmp_error_type} == 3);
  CHECK(int{a.icmp_error_code} == 3);
  CHECK(a.icmp_error_dir == flow::kDown);
  CHECK(a.icmp_error_from_peer);
  // The errors are not the flow's packets: its counters are its own datagrams' (with the one at 10 s).
  CHECK(a.packets[0] == 2);
  CHECK(a.packets[1] == 1);
  CHECK(out.recs[1].l4 == "udp");
  CHECK(out.recs[1].icmp_errors == 0);
  CHECK(out.recs[1].packets[0] == 1);
  // The messages themselves are the ICMP flows' packets: client and server (four), router and client (one).
  CHECK(out.recs[2].l4 == "icmp");
  CHECK(out.recs[2].packets[0] + out.recs[2].packets[1] == 4);
  CHECK(out.recs[3].l4 == "icmp");
  CHECK(out.recs[3].src_ip == router);
  for (size_t i = 2; i < 4; ++i) CHECK(out.recs[i].icmp_errors == 0);
}

TEST_CASE("worker: the first ICMP error tied to a flow says whether a router sent it", "[worker]") {
  Capture out;
  analyze::Worker w(opts(), out, 1);
  Feeder feed{w};
  feed(PacketBuilder().eth().ipv6("2001:db8::7", "2001:db8::8").tcp(52300, 8080, tf::SYN).build(), kT0);
  feed(PacketBuilder().eth().ipv6("2001:db8::1", "2001:db8::7").icmp(1, 1)
           .ipv6("2001:db8::7", "2001:db8::8").tcp(52300, 8080, tf::SYN).build(), kT0 + 1 * kMs);
  feed(PacketBuilder().eth().ipv6("2001:db8::8", "2001:db8::7").icmp(1, 4)
           .ipv6("2001:db8::7", "2001:db8::8").tcp(52300, 8080, tf::SYN).build(), kT0 + 2 * kMs);
  w.finish();
  REQUIRE(out.recs.size() == 3);
  const stats::FlowRecord& a = out.recs[0];
  CHECK(a.l4 == "tcp");
  CHECK(a.icmp_errors == 2);
  CHECK(int{a.icmp_error_type} == 1);
  CHECK(int{a.icmp_error_code} == 1);
  CHECK(a.icmp_error_dir == flow::kUp);
  CHECK_FALSE(a.icmp_error_from_peer);
  // Nor do they move the flow's times or counters.
  CHECK(a.packets[0] == 1);
  CHECK(a.packets[1] == 0);
  CHECK(a.last_seen == kT0);
}

TEST_CASE("worker: records of flows other than ICMP have no ICMP type", "[worker]") {
  Capture out;
  analyze::Worker w(opts(), out, 1);
  Feeder feed{w};
  tcp_conversation(feed, kT0);
  feed(PacketBuilder().eth().ipv4("10.0.0.5", "10.0.0.6").udp(5004, 5006).payload(8).build(), kT0);
  w.finish();
  REQUIRE(out.recs.size() == 2);
  for (const auto& r : out.recs) {
    CHECK_FALSE(r.has_icmp[0]);
    CHECK_FALSE(r.has_icmp[1]);
  }
}

namespace {

std::vector<Frame> three_fragments(uint16_t id) { return testing::three_udp_fragments(id); }

void check_fragmented_flow(const stats::FlowRecord& r) {
  CHECK(r.src_ip == "10.0.0.1");
  CHECK(r.src_port == 5000);
  CHECK(r.dst_port == 5001);
  CHECK(r.packets[0] == 3);
  CHECK(r.packets[1] == 0);
  CHECK(r.bytes[0] == 92 + 92 + 60);  // 20-byte IP header on each fragment
  CHECK(r.payload[0] == 176);         // 64 after the UDP header, then 72 and 40
}

}  // namespace

TEST_CASE("worker: IPv4 fragments in order are attributed to the first fragment's flow", "[worker][frag]") {
  Capture out;
  analyze::Worker w(opts(), out, 1);
  Feeder feed{w};
  const auto fr = three_fragments(0x4242);
  for (size_t i = 0; i < 3; ++i) feed(fr[i], kT0 + static_cast<TimestampUs>(i) * kMs);
  CHECK(w.fragments_attributed() == 2);
  w.finish();
  CHECK(w.anomalies().get(decode::Anomaly::FragmentOrphan) == 0);
  REQUIRE(out.recs.size() == 1);
  check_fragmented_flow(out.recs[0]);
}

TEST_CASE("worker: IPv4 fragments out of order (last first) wait for the first fragment", "[worker][frag]") {
  Capture out;
  analyze::Worker w(opts(), out, 1);
  Feeder feed{w};
  const auto fr = three_fragments(0x4343);
  feed(fr[2], kT0);
  feed(fr[1], kT0 + 1 * kMs);
  CHECK(w.table().size() == 0);  // no ports yet: no flow
  CHECK(w.fragments_attributed() == 0);
  feed(fr[0], kT0 + 2 * kMs);
  CHECK(w.fragments_attributed() == 2);
  w.finish();
  CHECK(w.anomalies().get(decode::Anomaly::FragmentOrphan) == 0);
  REQUIRE(out.recs.size() == 1);
  check_fragmented_flow(out.recs[0]);
  // The flow began with the fragments that waited, not with the first fragment that created it.
  CHECK(out.recs[0].first_seen == kT0);
  CHECK(out.recs[0].last_seen == kT0 + 2 * kMs);
}

TEST_CASE("worker: a packet older than the flow's first spans the flow from its time", "[worker]") {
  Capture out;
  analyze::Worker w(opts(), out, 1);
  Feeder feed{w};
  feed(c2s(tf::PSH | tf::ACK, 10), kT0 + 500 * kMs);
  feed(s2c(tf::PSH | tf::ACK, 20), kT0 + 200 * kMs);  // the capture's clock went back
  feed(c2s(tf::ACK), kT0 + 600 * kMs);
  w.finish();
  REQUIRE(out.recs.size() == 1);
  CHECK(out.recs[0].src_ip == kClient);  // still the first packet's sender
  CHECK(out.recs[0].first_seen == kT0 + 200 * kMs);
  CHECK(out.recs[0].last_seen == kT0 + 600 * kMs);
}

TEST_CASE("worker: fragments of two datagrams interleaved stay with their own flows", "[worker][frag]") {
  Capture out;
  analyze::Worker w(opts(), out, 1);
  Feeder feed{w};
  const auto a = three_fragments(1);
  auto b = three_fragments(2);
  for (Frame& f : b) f.put16(f.off(L::Ipv4) + 12 + 2, 0x0063);  // source 10.0.0.99 for datagram 2
  b[0].put16(b[0].off(L::Udp), 6000);
  feed(a[0], kT0);
  feed(b[2], kT0 + 1 * kMs);
  feed(a[1], kT0 + 2 * kMs);
  feed(b[0], kT0 + 3 * kMs);
  feed(b[1], kT0 + 4 * kMs);
  feed(a[2], kT0 + 5 * kMs);
  CHECK(w.fragments_attributed() == 4);
  w.finish();
  REQUIRE(out.recs.size() == 2);
  for (const auto& r : out.recs) {
    CHECK(r.packets[0] == 3);
    CHECK(r.payload[0] == 176);
  }
}

TEST_CASE("worker: orphan fragments are counted at finish()", "[worker][frag]") {
  Capture out;
  analyze::Worker w(opts(), out, 1);
  Feeder feed{w};
  const auto fr = three_fragments(0x4444);
  feed(fr[1], kT0);
  feed(fr[2], kT0 + kMs);
  CHECK(w.anomalies().get(decode::Anomaly::FragmentOrphan) == 0);  // they may still find their first
  w.finish();
  CHECK(w.anomalies().get(decode::Anomaly::FragmentOrphan) == 2);
  CHECK(w.fragments_attributed() == 0);
  CHECK(out.recs.empty());
}

TEST_CASE("worker: observers are told which later fragments it holds and how many it counts", "[worker][frag]") {
  // The policy dry run keeps its own copies of held fragments and must count exactly the ones the flow
  // record counts: at most kMaxPending per datagram, and none once the fragment table has let them go.
  struct Watch : analyze::PacketObserver {
    std::vector<std::string> calls;
    void on_packet(const flow::Flow& f, const decode::Packet& p, flow::Dir, const classify::Classifier&) override {
      calls.push_back("packet " + std::to_string(p.later_fragment) + " " + std::to_string(f.packets[0]));
    }
    void on_unattributed(const decode::Packet&, bool held) override {
      calls.push_back(held ? "held" : "orphan");
    }
    void on_held_counted(const flow::Flow& f, const decode::Packet& first, flow::Dir, uint32_t n,
                         const classify::Classifier&) override {
      calls.push_back("counted " + std::to_string(n) + " of " + std::to_string(first.frag_id) + " " +
                      std::to_string(f.packets[0]));
    }
  } watch;
  Capture out;
  analyze::Worker w(opts(), out, 1);
  w.add_observer(&watch);
  Feeder feed{w};
  const auto a = three_fragments(7);
  for (int i = 0; i < 6; ++i) feed(a[1 + i % 2], kT0 + i * kMs);  // six later fragments before the first
  feed(a[0], kT0 + 6 * kMs);
  feed(a[2], kT0 + 7 * kMs);  // the datagram has its first: counted straight away
  const auto b = three_fragments(8);
  feed(b[2], kT0 + 1 * kSec);
  feed(b[0], kT0 + 32 * kSec);  // more than the fragment table's 30 s later: b[2] was let go
  CHECK(watch.calls == std::vector<std::string>{"held", "held", "held", "held", "orphan", "orphan",
                                                "counted 4 of 7 5", "packet 0 5", "packet 1 6", "held",
                                                "packet 0 7"});
  w.finish();
  CHECK(w.anomalies().get(decode::Anomaly::FragmentOrphan) == 2 + 1);
  REQUIRE(out.recs.size() == 1);
  CHECK(out.recs[0].packets[0] == 7);
}

TEST_CASE("worker: VLAN and GTP-U tunnel reach the flow record", "[worker]") {
  Capture out;
  analyze::Worker w(opts(), out, 1);
  Feeder feed{w};
  const Frame g = PacketBuilder()
                      .eth()
                      .vlan(321)
                      .ipv4("172.16.0.1", "172.16.0.2")
                      .udp(2152, 2152)
                      .gtpu(0x01020304)
                      .ipv4("10.45.0.7", "10.45.0.8")
                      .udp(7000, 7001)
                      .payload(20)
                      .build();
  feed(g, kT0);
  w.finish();
  REQUIRE(out.recs.size() == 1);
  const auto& r = out.recs[0];
  CHECK(r.vlan == 321);
  CHECK(r.src_ip == "10.45.0.7");
  CHECK(r.src_port == 7000);
  CHECK(r.tunnel.type == decode::TunnelType::GtpU);
  CHECK(r.tunnel.id == 0x01020304u);
  CHECK(r.tunnel_outer_src == "172.16.0.1");
  CHECK(r.tunnel_outer_dst == "172.16.0.2");
  CHECK(r.bytes[0] == 20 + 8 + 20);  // the inner IP length
}

TEST_CASE("worker: IPv6 fragments with a destination options header after the fragment header stay together",
          "[worker][frag]") {
  // RFC 8200 §4.5: a header after the fragment header is part of the fragmentable part, so the first fragment
  // decodes to UDP while the later one's fragment header says 60 (destination options). The datagram is
  // (source, destination, identification): the later fragment belongs to the UDP flow, in either order.
  Frame first = PacketBuilder()
                    .eth()
                    .ipv6("2001:db8::1", "2001:db8::2")
                    .ipv6_frag(0, true, 0x99)
                    .ipv6_ext(60)
                    .udp(6000, 6001)
                    .payload(40)
                    .build();
  first.put16(first.off(L::Udp) + 4, 8 + 40 + 32);
  Frame second = PacketBuilder().eth().ipv6("2001:db8::1", "2001:db8::2").ipv6_frag(7, false, 0x99).payload(32).build();
  second.data[second.off(L::Ipv6Ext)] = 60;
  for (const bool later_first : {false, true}) {
    INFO("later fragment first: " << later_first);
    Capture out;
    analyze::Worker w(opts(), out, 1);
    Feeder feed{w};
    feed(later_first ? second : first, kT0);
    feed(later_first ? first : second, kT0 + kMs);
    CHECK(w.fragments_attributed() == 1);
    w.finish();
    CHECK(w.anomalies().get(decode::Anomaly::FragmentOrphan) == 0);
    REQUIRE(out.recs.size() == 1);
    CHECK(out.recs[0].l4 == "udp");
    CHECK(out.recs[0].src_port == 6000);
    CHECK(out.recs[0].packets[0] == 2);
    CHECK(out.recs[0].bytes[0] == (40 + 8 + 8 + 8 + 40) + (40 + 8 + 32));
  }
}

TEST_CASE("worker: IPv6 fragments (fragment header) are attributed like IPv4 ones", "[worker][frag]") {
  Capture out;
  analyze::Worker w(opts(), out, 1);
  Feeder feed{w};
  // 8 UDP + 48 payload in the first fragment (offset 0, M=1), 40 more bytes at offset 7 (56 / 8).
  Frame first = PacketBuilder()
                    .eth()
                    .ipv6("2001:db8::1", "2001:db8::2")
                    .ipv6_frag(0, true, 0x77)
                    .udp(6000, 6001)
                    .payload(48)
                    .build();
  first.put16(first.off(L::Udp) + 4, 8 + 48 + 40);
  Frame second = PacketBuilder().eth().ipv6("2001:db8::1", "2001:db8::2").ipv6_frag(7, false, 0x77).payload(40).build();
  second.data[second.off(L::Ipv6Ext)] = 17;
  feed(second, kT0);  // out of order again
  feed(first, kT0 + kMs);
  CHECK(w.fragments_attributed() == 1);
  w.finish();
  CHECK(w.anomalies().get(decode::Anomaly::FragmentOrphan) == 0);
  REQUIRE(out.recs.size() == 1);
  CHECK(out.recs[0].l4 == "udp");
  CHECK(out.recs[0].packets[0] == 2);
  CHECK(out.recs[0].bytes[0] == (40 + 8 + 8 + 48) + (40 + 8 + 40));
  CHECK(out.recs[0].payload[0] == 48 + 40);
}
