// classify::StunCacheSync (every worker's nDPI STUN cache kept as one module's) and the packets the capture
// thread stamps for it (may_touch_stun_cache). Across workers end to end: stun-cache.pcap in
// tests/cli/check_workers.py.
#include <pcap/dlt.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "classify/stun_sync.hpp"
#include "decode/decoder.hpp"
#include "packet_builder.hpp"

using namespace sealscope;
using namespace sealscope::testing;
using classify::StunCacheSync;

namespace {

bool touches(const Frame& f) {
  decode::Decoder dec;
  decode::AnomalyCounters an;
  decode::Packet p;
  REQUIRE(dec.decode(DLT_EN10MB, f.ptr(), f.size(), f.size(), p, an) == decode::DecodeResult::Ok);
  return classify::may_touch_stun_cache(p);
}

/// A STUN header (RFC 8489 §5): type, length of the attributes, magic cookie, transaction id; then
/// `attrs` bytes of attributes (zeros).
std::string stun(uint16_t type, uint16_t attrs, uint16_t length_field) {
  std::string s;
  s += static_cast<char>(type >> 8);
  s += static_cast<char>(type & 0xFF);
  s += static_cast<char>(length_field >> 8);
  s += static_cast<char>(length_field & 0xFF);
  s += std::string("\x21\x12\xa4\x42", 4);
  s += std::string(12, '\x07');
  s += std::string(attrs, '\0');
  return s;
}

Frame udp4(uint16_t sport, uint16_t dport, const std::string& payload) {
  return PacketBuilder().eth().ipv4("100.64.0.1", "198.51.100.20").udp(sport, dport).payload(payload).build();
}

std::vector<uint64_t> seqs(StunCacheSync& s, uint32_t w, uint64_t before) {
  std::vector<uint64_t> out;
  s.take(w, before, [&](const StunCacheSync::Write& x) { out.push_back(x.seq); });
  return out;
}

}  // namespace

TEST_CASE("STUN cache sync: the packets stamped are those stun.c and hangout.c can reach the cache with",
          "[classify][stun]") {
  CHECK(touches(udp4(50000, 3478, stun(0x0001, 0, 0))));     // a binding request
  CHECK(touches(udp4(50000, 3478, stun(0x0101, 12, 12))));   // a success response with an attribute
  CHECK(touches(udp4(50000, 3478, std::string(10, 'x'))));   // shorter than a STUN header
  CHECK(touches(udp4(50000, 3478, "RSP/1.0 STUN_whatever"))); // the text STUN stun.c knows
  CHECK(touches(udp4(50000, 19302, std::string(100, 'x'))));  // Hangout's ports, any payload over 24 bytes
  CHECK(touches(udp4(19309, 50000, std::string(100, 'x'))));
  // Tunnelled: what nDPI is given is the inner packet.
  CHECK(touches(PacketBuilder()
                    .eth()
                    .ipv4("10.200.0.1", "10.200.0.254")
                    .udp(2152, 2152)
                    .gtpu(0x1234)
                    .ipv4("100.64.1.10", "198.51.100.20")
                    .udp(50000, 3478)
                    .payload(stun(0x0001, 0, 0))
                    .build()));

  CHECK_FALSE(touches(udp4(50000, 3478, stun(0x0001, 8, 4))));        // length field not the payload's
  CHECK_FALSE(touches(udp4(50000, 3478, stun(0x0001, 500, 500))));    // 520 bytes: stun.c stops at 512
  CHECK_FALSE(touches(udp4(50000, 19310, std::string(100, 'x'))));    // one past Hangout's ports
  CHECK_FALSE(touches(udp4(50000, 19302, std::string(24, 'x'))));     // Hangout wants more than 24 bytes
  CHECK_FALSE(touches(udp4(50000, 53, std::string(100, 'x'))));
  CHECK_FALSE(touches(PacketBuilder().eth().ipv4("100.64.0.1", "198.51.100.20").udp(50000, 3478).build()));  // empty
  CHECK_FALSE(touches(PacketBuilder()  // STUN over IPv6: 4.2's cache keys are IPv4 addresses
                          .eth()
                          .ipv6("2001:db8::1", "2001:db8::2")
                          .udp(50000, 3478)
                          .payload(stun(0x0001, 0, 0))
                          .build()));
  CHECK_FALSE(touches(PacketBuilder()  // STUN over TCP: the dissector is registered for UDP only
                          .eth()
                          .ipv4("100.64.0.1", "198.51.100.20")
                          .tcp(50000, 3478, 0x18)
                          .payload(stun(0x0001, 0, 0))
                          .build()));
}

TEST_CASE("STUN cache sync: a worker takes the others' writes from before its packet, each once, in order",
          "[classify][stun]") {
  StunCacheSync s(3);
  s.publish(1, {5, 10, 0x1111});
  s.publish(1, {9, 11, 0x2222});
  s.publish(2, {7, 10, 0x3333});
  s.publish(1, {12, 10, 0x4444});
  s.publish(0, {8, 10, 0x5555});  // worker 0's own: never handed back to it

  CHECK(seqs(s, 0, 10) == std::vector<uint64_t>{5, 9, 7});  // writer by writer, each in its order
  CHECK(seqs(s, 0, 10).empty());                              // taken once
  CHECK(seqs(s, 0, 13) == std::vector<uint64_t>{12});
  CHECK(seqs(s, 1, 100) == std::vector<uint64_t>{8, 7});      // worker 1 gets 0's and 2's, not its own
  CHECK(seqs(s, 2, 9) == std::vector<uint64_t>{8, 5});        // only those before 9
  CHECK(seqs(s, 2, 100) == std::vector<uint64_t>{9, 12});

  std::vector<StunCacheSync::Write> got;
  StunCacheSync t(2);
  t.publish(1, {3, 1023, 0xABCDEF0123456789ull});
  t.take(0, 4, [&](const StunCacheSync::Write& x) { got.push_back(x); });
  REQUIRE(got.size() == 1);
  CHECK(got[0].slot == 1023);
  CHECK(got[0].entry == 0xABCDEF0123456789ull);
}

TEST_CASE("STUN cache sync: writes every reader has taken are dropped, later ones still come in order",
          "[classify][stun]") {
  StunCacheSync s(2);
  uint64_t seq = 0, next_expected = 1;
  for (int round = 0; round < 10; ++round) {
    for (int i = 0; i < 1500; ++i) s.publish(1, {++seq, static_cast<uint32_t>(seq % 1024), seq});
    const std::vector<uint64_t> got = seqs(s, 0, seq + 1);
    REQUIRE(got.size() == 1500);
    for (uint64_t v : got) CHECK(v == next_expected++);
  }
}

TEST_CASE("STUN cache sync: a worker that never takes holds back only the last write per slot once caught up",
          "[classify][stun]") {
  // Worker 0 has no STUN to look at, so it never takes; worker 1 writes slots 0, 1 and 2 in turn.
  auto run = [](uint64_t caught_up) {
    auto s = std::make_unique<StunCacheSync>(2);
    for (uint64_t seq = 1; seq <= 10000; ++seq) s->publish(1, {seq, static_cast<uint32_t>(seq % 3), seq}, caught_up);
    return s;
  };
  // Worker 0 has finished every frame sent to it before each write: its next take is for a later packet.
  auto idle = run(0b01);
  std::vector<StunCacheSync::Write> got;
  idle->take(0, 10001, [&](const StunCacheSync::Write& x) { got.push_back(x); });
  // The last write of each slot, in order (what taking all 10 000 would have left in the module) and
  // nothing else: the log did not keep the rest.
  REQUIRE(got.size() <= 2 * StunCacheSync::kSlots);
  REQUIRE(got.size() >= 3);
  for (size_t i = 1; i < got.size(); ++i) CHECK(got[i - 1].seq < got[i].seq);
  CHECK(got[got.size() - 3].seq == 9998);
  CHECK(got[got.size() - 2].seq == 9999);
  CHECK(got[got.size() - 1].seq == 10000);
  // Without that, worker 0 might take at any packet: every write stays, in order.
  auto lagging = run(0);
  got.clear();
  lagging->take(0, 5001, [&](const StunCacheSync::Write& x) { got.push_back(x); });
  REQUIRE(got.size() == 5000);
  CHECK(got.front().seq == 1);
  CHECK(got.back().seq == 5000);
}

TEST_CASE("STUN cache sync: wait returns once the other workers have finished the frames the stamp names",
          "[classify][stun]") {
  StunCacheSync s(3);
  const uint64_t none[3] = {0, 0, 0};
  s.wait(0, none);  // nothing to wait for

  std::atomic<int> stage{0};
  std::thread other([&] {
    for (int i = 0; i < 3; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      s.frame_done(1);
    }
    stage = 1;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    s.frame_done(2);
  });
  const uint64_t need[3] = {99, 3, 1};  // its own count (99) is not waited for
  s.wait(0, need);
  CHECK(s.frames_done(1) >= 3);
  CHECK(s.frames_done(2) >= 1);
  CHECK(stage.load() == 1);
  other.join();

  // abandon(): a worker that stopped will never finish its frames; waiting must end anyway.
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    s.abandon();
  });
  const uint64_t never[3] = {0, 1000, 0};
  s.wait(0, never);
  CHECK(s.frames_done(1) < 1000);
  stopper.join();
}
